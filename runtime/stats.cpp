#include "runtime/stats.hpp"

#include "runtime/go_template.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace hutch::stats {
namespace {

// go-units' getSizeAndUnit: divide by `base` while the size reaches it.
std::string scaled(double size, double base, const char* const* units, int count, int precision) {
    int i = 0;
    while (size >= base && i < count - 1) {
        size /= base;
        ++i;
    }
    char out[64];
    std::snprintf(out, sizeof out, "%.*g%s", precision, size, units[i]);
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// Each line of `text`, without its newline.
template <typename F>
void each_line(std::string_view text, F&& f) {
    while (!text.empty()) {
        auto nl = text.find('\n');
        f(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

// The whitespace-separated words of a line.
std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

std::optional<std::uint64_t> number(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

bool same_without_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

}  // namespace

std::string bytes_size(double bytes) {
    static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    return scaled(bytes, 1024.0, kUnits, 9, 4);
}

std::string human_size(double bytes, int precision) {
    static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    return scaled(bytes, 1000.0, kUnits, 9, precision);
}

std::string percentage(double value) {
    char out[64];
    std::snprintf(out, sizeof out, "%.2f%%", value);
    return out;
}

std::optional<std::uint64_t> parse_number(std::string_view text) { return number(trim(text)); }

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
    std::optional<std::uint64_t> found;
    each_line(text, [&](std::string_view line) {
        auto w = words(line);
        if (!found && w.size() == 2 && w[0] == key) found = number(w[1]);
    });
    return found;
}

ReadWrite parse_blkio_service_bytes(std::string_view text) {
    ReadWrite rw;
    each_line(text, [&](std::string_view line) {
        auto w = words(line);
        if (w.size() != 3) return;  // "Total N" has two
        auto v = number(w[2]);
        if (!v) return;
        if (same_without_case(w[1], "read")) rw.read += *v;
        else if (same_without_case(w[1], "write")) rw.written += *v;
    });
    return rw;
}

ReadWrite parse_io_stat(std::string_view text) {
    ReadWrite rw;
    each_line(text, [&](std::string_view line) {
        auto w = words(line);
        for (size_t i = 1; i < w.size(); ++i) {
            auto eq = w[i].find('=');
            if (eq == std::string_view::npos) continue;
            auto v = number(w[i].substr(eq + 1));
            if (!v) continue;
            if (w[i].substr(0, eq) == "rbytes") rw.read += *v;
            else if (w[i].substr(0, eq) == "wbytes") rw.written += *v;
        }
    });
    return rw;
}

// "  eth0: 1234 5 0 0 0 0 0 0 648 4 0 0 0 0 0 0": bytes received first, transmitted ninth.
ReadWrite parse_net_dev(std::string_view text) {
    ReadWrite rw;
    each_line(text, [&](std::string_view line) {
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return;  // the two header lines
        if (trim(line.substr(0, colon)) == "lo") return;
        auto w = words(line.substr(colon + 1));
        if (w.size() < 9) return;
        auto rx = number(w[0]), tx = number(w[8]);
        if (!rx || !tx) return;
        rw.read += *rx;
        rw.written += *tx;
    });
    return rw;
}

std::optional<std::uint64_t> parse_system_cpu_ns(std::string_view proc_stat, long ticks_per_second) {
    if (ticks_per_second <= 0) return std::nullopt;
    std::optional<std::uint64_t> out;
    each_line(proc_stat, [&](std::string_view line) {
        auto w = words(line);
        if (out || w.empty() || w[0] != "cpu") return;
        if (w.size() < 8) return;  // user nice system idle iowait irq softirq [steal]
        std::uint64_t ticks = 0;
        for (size_t i = 1; i < w.size() && i <= 8; ++i) {
            auto v = number(w[i]);
            if (!v) return;
            ticks += *v;
        }
        out = ticks * (1000000000ULL / static_cast<std::uint64_t>(ticks_per_second));
    });
    return out;
}

std::optional<std::uint64_t> kb_field(std::string_view text, std::string_view name) {
    std::optional<std::uint64_t> out;
    each_line(text, [&](std::string_view line) {
        auto w = words(line);
        if (out || w.size() != 3 || w[2] != "kB" || w[0].size() != name.size() + 1) return;
        if (w[0].substr(0, name.size()) != name || w[0].back() != ':') return;
        if (auto v = number(w[1])) out = *v * 1024;
    });
    return out;
}

std::optional<std::uint64_t> parse_mem_total(std::string_view meminfo) { return kb_field(meminfo, "MemTotal"); }

std::uint64_t memory_without_cache(std::uint64_t usage, std::string_view memory_stat) {
    // v1's memory.stat has both inactive_file (this cgroup) and total_inactive_file
    // (hierarchical); Docker's CLI takes the total on v1, the only one on cgroup2.
    auto inactive = keyed_value(memory_stat, "total_inactive_file");
    if (!inactive) inactive = keyed_value(memory_stat, "inactive_file");
    if (inactive && *inactive < usage) return usage - *inactive;
    return usage;
}

double cpu_percent(const Sample& before, const Sample& now, unsigned online_cpus) {
    if (!before.cpu_ns || !now.cpu_ns) return 0.0;
    double cpu_delta = static_cast<double>(*now.cpu_ns) - static_cast<double>(*before.cpu_ns);
    double system_delta = static_cast<double>(now.system_ns) - static_cast<double>(before.system_ns);
    if (cpu_delta <= 0.0 || system_delta <= 0.0) return 0.0;
    return cpu_delta / system_delta * online_cpus * 100.0;
}

Row make_row(const std::string& container, const std::string& id, const std::string& name, const Sample& before,
             const Sample& now, unsigned online_cpus) {
    Row row{container, id.substr(0, 12), name.empty() ? "--" : name, "--", "-- / --", "--", "--", "--", "--"};
    if (!now.valid || !before.valid) return row;
    auto memory = static_cast<double>(now.memory), limit = static_cast<double>(now.memory_limit);
    row.cpu = percentage(cpu_percent(before, now, online_cpus));
    row.mem_usage = bytes_size(memory) + " / " + bytes_size(limit);
    row.mem_perc = percentage(limit != 0 ? memory / limit * 100.0 : 0.0);
    row.net_io = human_size(static_cast<double>(now.net.read)) + " / " + human_size(static_cast<double>(now.net.written));
    row.block_io =
        human_size(static_cast<double>(now.block.read)) + " / " + human_size(static_cast<double>(now.block.written));
    row.pids = std::to_string(now.pids);
    return row;
}

std::string format_table(const std::vector<Row>& rows) {
    std::vector<std::vector<std::string>> cells = {
        {"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"}};
    for (const auto& r : rows) cells.push_back({r.id, r.name, r.cpu, r.mem_usage, r.mem_perc, r.net_io, r.block_io, r.pids});
    return docker_table(cells);
}

std::string docker_table(const std::vector<std::vector<std::string>>& cells) {
    std::string text;
    for (const auto& line : cells) {
        for (std::size_t i = 0; i < line.size(); ++i) text += (i ? "\t" : "") + line[i];
        text += '\n';
    }
    return go_template::align_columns(text);
}

std::string human_duration(double seconds) {
    auto n = [](double v) { return std::to_string(static_cast<long long>(v)); };
    const long long secs = static_cast<long long>(seconds);
    if (secs < 1) return "Less than a second";
    if (secs == 1) return "1 second";
    if (secs < 60) return n(secs) + " seconds";
    const long long minutes = secs / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return n(minutes) + " minutes";
    const long long hours = static_cast<long long>(seconds / 3600 + 0.5);
    if (hours == 1) return "About an hour";
    if (hours < 48) return n(hours) + " hours";
    if (hours < 24 * 7 * 2) return n(hours / 24) + " days";
    if (hours < 24 * 30 * 2) return n(hours / 24 / 7) + " weeks";
    if (hours < 24 * 365 * 2) return n(hours / 24 / 30) + " months";
    return n(static_cast<long long>(seconds / 3600) / 24 / 365) + " years";
}

std::string format_json(const Row& row) {
    // nlohmann's object keeps its keys sorted bytewise, as Go's encoding/json sorts a map's.
    nlohmann::json j = {{"BlockIO", row.block_io}, {"CPUPerc", row.cpu},       {"Container", row.container},
                        {"ID", row.id},            {"MemPerc", row.mem_perc},  {"MemUsage", row.mem_usage},
                        {"Name", row.name},        {"NetIO", row.net_io},      {"PIDs", row.pids}};
    // Names come from the state root; dump's replacement keeps a bad byte from breaking the line.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hutch::stats
