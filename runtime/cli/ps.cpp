// hutch ps: docker ps over hutch's state root. Each container is Docker's list context (the
// fields `docker ps --format` knows, worded as Docker words them: "Up 5 seconds", "Exited (0)
// 3 minutes ago", a command quoted and cut at 20 characters), printed with Docker's default
// table, a --format template (runtime/go_template.hpp), `table ...`, or json.
#include <regex.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "runtime/go_template.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/stats.hpp"

namespace hutch::cli {
namespace {

using nlohmann::json;

constexpr const char* kDefaultTable =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

// The header of each field in a table (Docker's formatter.ContainerContext).
const json& headers() {
    static const json h = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},          {"Command", "COMMAND"},
                           {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
                           {"State", "STATE"},        {"Status", "STATUS"},        {"Names", "NAMES"},
                           {"Labels", "LABELS"},      {"Networks", "NETWORKS"},    {"LocalVolumes", "LOCAL VOLUMES"}};
    return h;
}

// Seconds since an RFC 3339 time of the record; nullopt when it is empty or unreadable.
std::optional<double> seconds_since(const std::string& when, std::int64_t now_ns) {
    if (when.empty()) return std::nullopt;
    auto at = events::parse_time(when, now_ns);
    if (!at) return std::nullopt;
    return static_cast<double>(now_ns - *at) / 1e9;
}

// moby's State.String(); `state` is lifecycle::state_string(c), read once by the caller (a paused
// container's freezer is a file).
std::string status_words(const ContainerState& c, const std::string& state, std::int64_t now_ns) {
    auto ago = [&](const std::string& when) {
        auto s = seconds_since(when, now_ns);
        return stats::human_duration(s.value_or(0)) + " ago";
    };
    if (c.status == "running")
        return "Up " + stats::human_duration(seconds_since(c.started_at, now_ns).value_or(0)) +
               (state == "paused" ? " (Paused)" : "");
    if (c.status == "restarting") return "Restarting (" + std::to_string(c.exit_code) + ") " + ago(c.finished_at);
    if (c.status == "created") return "Created";
    if (c.status == "exited") return "Exited (" + std::to_string(c.exit_code) + ") " + ago(c.finished_at);
    return c.status;  // "unknown": its supervisor is gone without saying how it ended
}

// strconv.Quote of the command as dockerd lists it (an argument with a space in single quotes),
// cut to 20 characters with "…" unless --no-trunc.
std::string quoted_command(const std::vector<std::string>& command, bool truncate) {
    std::string text;
    for (std::size_t i = 0; i < command.size(); ++i) {
        const auto& a = command[i];
        text += (i ? " " : "") + (i > 0 && a.find(' ') != std::string::npos ? "'" + a + "'" : a);
    }
    if (truncate) {
        std::size_t chars = 0, cut = text.size();
        for (std::size_t i = 0; i < text.size(); ++i) {
            if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
            if (++chars == 20) cut = i;
        }
        if (chars > 20) text = text.substr(0, cut) + "…";
    }
    std::string out = "\"";
    for (unsigned char ch : text) {
        if (ch == '"' || ch == '\\') out += '\\', out += static_cast<char>(ch);
        else if (ch == '\n') out += "\\n";
        else if (ch == '\t') out += "\\t";
        else if (ch < 0x20 || ch == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", ch);
            out += hex;
        } else out += static_cast<char>(ch);
    }
    return out + "\"";
}

// Docker's "0.0.0.0:6379->6379/tcp, ..." of a running container's published ports.
std::string ports_text(const ContainerState& c) {
    std::vector<std::string> parts;
    for (const auto& p : c.ports)
        parts.push_back((p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port) + "->" + p.key());
    std::sort(parts.begin(), parts.end());
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
}

// time.Unix(created, 0).String(): local time, "2006-01-02 15:04:05 -0700 MST".
std::string created_at(const std::string& created, std::int64_t now_ns) {
    auto at = events::parse_time(created, now_ns);
    if (!at) return "";
    std::time_t secs = static_cast<std::time_t>(*at / 1'000'000'000);
    std::tm local{};
    ::localtime_r(&secs, &local);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &local);
    return buf;
}

json list_context(const Paths& paths, const ContainerState& c, const std::string& state, bool truncate,
                  std::int64_t now_ns) {
    // From the record; only one written before it kept its network costs a config.json read.
    std::string network = c.network;
    if (network.empty()) {
        try {
            network = json::parse(read_file(paths.data_dir(c.id) + "/config.json")).value("hutch", json::object()).value("network", "");
        } catch (const std::exception&) {
            // A record without its config still lists (no network then).
        }
    }
    auto age = seconds_since(c.created, now_ns);
    return {{"ID", truncate ? c.id.substr(0, 12) : c.id},
            {"Image", c.rootfs},  // the image as the user named it, or the root directory
            {"Command", quoted_command(c.command, truncate)},
            {"CreatedAt", created_at(c.created, now_ns)},
            {"RunningFor", age ? stats::human_duration(*age) + " ago" : ""},
            {"Ports", c.status == "running" ? ports_text(c) : ""},
            {"State", state},
            {"Status", status_words(c, state, now_ns)},
            {"Names", c.name},
            {"Labels", ""},  // hutch keeps no labels
            {"Networks", network.rfind("container:", 0) == 0 ? "" : network},
            {"LocalVolumes", "0"}};  // hutch has no named volumes
}

// A compiled POSIX extended regular expression (regcomp), freed with it. POSIX's ERE is what
// dockerd's RE2 name patterns need (^web$, ^/app-, db|cache), at a fraction of <regex>'s
// compile time.
class Pattern {
public:
    explicit Pattern(const std::string& text) {
        if (::regcomp(&re_, text.c_str(), REG_EXTENDED | REG_NOSUB) != 0) throw UsageError("not a regular expression");
    }
    Pattern(const Pattern&) = delete;
    Pattern& operator=(const Pattern&) = delete;
    ~Pattern() { ::regfree(&re_); }
    bool found_in(const std::string& text) const { return ::regexec(&re_, text.c_str(), 0, nullptr, 0) == 0; }

private:
    regex_t re_{};
};

// --filter KEY=VALUE: values of one key are alternatives, keys must all match (docker ps).
class ListFilter {
public:
    void add(const std::string& key_value) {
        auto eq = key_value.find('=');
        std::string key = key_value.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : key_value.substr(eq + 1);
        if (eq == std::string::npos || value.empty())
            throw UsageError("invalid --filter \"" + key_value + "\": expected KEY=VALUE");
        static const std::vector<std::string> states = {"created", "restarting", "running", "removing", "paused", "exited", "dead"};
        if (key == "status" && std::find(states.begin(), states.end(), value) == states.end())
            throw UsageError("invalid --filter \"" + key_value + "\": a status is one of created, restarting, running, "
                             "removing, paused, exited, dead");
        if (key == "exited" && value.find_first_not_of("0123456789") != std::string::npos)
            throw UsageError("invalid --filter \"" + key_value + "\": an exit code is a number");
        if (key == "name") {
            try {
                names_.push_back(std::make_unique<Pattern>(value));
            } catch (const UsageError&) {
                throw UsageError("invalid --filter \"" + key_value + "\": not a regular expression");
            }
        } else if (key != "id" && key != "status" && key != "exited") {
            throw UsageError("invalid --filter \"" + key_value + "\": hutch filters on id, name, status and exited");
        }
        values_[key].push_back(value);
    }

    // A status filter lists stopped containers too, as dockerd's does.
    bool lists_all() const { return values_.count("status") > 0; }

    // `state`: lifecycle::state_string(c), read once for the filter and the row.
    bool matches(const ContainerState& c, const std::string& state) const {
        auto any = [&](const std::string& key, const auto& pred) {
            auto it = values_.find(key);
            return it == values_.end() || std::any_of(it->second.begin(), it->second.end(), pred);
        };
        // dockerd tries a name filter on "/NAME" and on "NAME": ^web$ and ^/web both match.
        bool named = names_.empty() || std::any_of(names_.begin(), names_.end(), [&](const auto& pattern) {
                         return pattern->found_in("/" + c.name) || pattern->found_in(c.name);
                     });
        return named && any("id", [&](const std::string& v) { return c.id.rfind(v, 0) == 0; }) &&
               any("status", [&](const std::string& v) { return v == state; }) &&
               any("exited", [&](const std::string& v) {
                   return c.status == "exited" && !c.started_at.empty() && std::to_string(c.exit_code) == v;
               });
    }

private:
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::unique_ptr<Pattern>> names_;
};

}  // namespace

void add_ps_command(CLI::App& app, const Paths& paths, int& exit_code) {
    struct Options {
        bool all = false, quiet = false, latest = false, no_trunc = false;
        int last = -1;
        std::string format;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<Options>();
    auto* ps = app.add_subcommand("ps", "List containers");
    ps->add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
    ps->add_flag("-q,--quiet", o->quiet, "Only display container IDs");
    ps->add_option("-f,--filter", o->filters, "Filter output based on conditions provided (id, name, status, exited)");
    ps->add_option("--format", o->format,
                   "Format output using a custom template: 'table' (the default), 'table TEMPLATE', 'json', or a "
                   "Go template");
    ps->add_option("-n,--last", o->last, "Show n last created containers (includes all states)");
    ps->add_flag("-l,--latest", o->latest, "Show the latest created container (includes all states)");
    ps->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    ps->callback([o, &paths, &exit_code]() {
        ListFilter filter;
        for (const auto& f : o->filters) filter.add(f);
        // Parsed before anything is listed: a bad template is one line and exit 125.
        const go_template::Listing listing(o->format, kDefaultTable);

        std::vector<ContainerState> listed = list_containers(paths);
        // Newest first, as dockerd lists them.
        std::stable_sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a.created > b.created; });
        int last = o->latest && o->last == -1 ? 1 : o->last;  // docker: an explicit -n wins over -l
        const bool all = o->all || last > 0 || filter.lists_all();
        // Each shown container with its state ("paused" from its freezer), read once: the filter
        // and the row agree even if it is paused or thawed meanwhile.
        std::vector<std::pair<ContainerState, std::string>> shown;
        for (const auto& c : listed) {
            if (last > 0 && static_cast<int>(shown.size()) >= last) break;
            if (!all && c.status != "running" && c.status != "restarting") continue;
            std::string state = lifecycle::state_string(c);
            if (filter.matches(c, state)) shown.emplace_back(c, std::move(state));
        }
        if (o->quiet) {
            for (const auto& [c, state] : shown) std::printf("%s\n", (o->no_trunc ? c.id : c.id.substr(0, 12)).c_str());
            exit_code = 0;
            return;
        }
        const std::int64_t now = events::now_nano();
        std::vector<json> rows;
        for (const auto& [c, state] : shown) rows.push_back(list_context(paths, c, state, !o->no_trunc, now));
        std::cout << listing.render(headers(), rows);
        exit_code = 0;
    });
}

}  // namespace hutch::cli
