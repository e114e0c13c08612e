// `hutch stats [-a] [--no-stream] [--no-trunc] [--format json] [CONTAINER...]`: docker stats.
//
// CPU % needs two readings. Docker's daemon samples every second and answers --no-stream with
// its second sample against its first; hutch has no daemon, so --no-stream takes a baseline,
// waits kWindow and reads again (the CPU % is over that 0.5 s). Streaming prints a frame every
// second against the previous frame's reading, after the same first window, each frame after
// Docker's clear-screen codes, until a signal ends it. Without names the list is read again
// each frame (running containers, or all with -a), where Docker follows the event stream.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/stats.hpp"
#include "runtime/stats_sample.hpp"

namespace hutch::cli {
namespace {

using namespace std::chrono_literals;
constexpr auto kWindow = 500ms;
constexpr auto kRefresh = 1s;

struct Options {
    bool all = false, no_stream = false, no_trunc = false;
    std::string format;
    std::vector<std::string> refs;
};

struct Target {
    std::string container;  // the column Docker calls Container: what was asked for
    ContainerState state;
};

bool running(const Paths& paths, const ContainerState& c) {
    return c.status == "running" && container_running(paths, c.id);
}

// The containers to show now: those named (each looked up again, so a stop shows), or every
// running one (all with -a), by short id as Docker names them then.
std::vector<Target> targets(const Paths& paths, const Options& opts) {
    std::vector<Target> out;
    if (!opts.refs.empty()) {
        for (const auto& ref : opts.refs) out.push_back({ref, find_container(paths, ref)});
        return out;
    }
    for (auto& c : list_containers(paths))
        if (opts.all || running(paths, c)) out.push_back({c.id.substr(0, 12), std::move(c)});
    return out;
}

// A stopped container reads as zeros, as Docker's daemon reports one.
stats::Sample read(const Paths& paths, const ContainerState& c, const stats::HostFacts& host) {
    if (running(paths, c)) return stats::sample(paths, c, host);
    stats::Sample zero;
    zero.system_ns = stats::system_cpu_ns(host);
    return zero;
}

std::map<std::string, stats::Sample> read_all(const Paths& paths, const std::vector<Target>& ts,
                                              const stats::HostFacts& host) {
    std::map<std::string, stats::Sample> out;
    for (const auto& t : ts) out[t.state.id] = read(paths, t.state, host);
    return out;
}

std::string frame(const Options& opts, const std::vector<Target>& ts, const std::map<std::string, stats::Sample>& before,
                  const std::map<std::string, stats::Sample>& now, const stats::HostFacts& host) {
    std::vector<stats::Row> rows;
    for (const auto& t : ts) {
        const stats::Sample& current = now.at(t.state.id);
        auto prev = before.find(t.state.id);
        rows.push_back(stats::make_row(t.container, t.state.id, t.state.name, prev == before.end() ? current : prev->second,
                                       current, host.online_cpus));
        if (opts.no_trunc) rows.back().id = t.state.id;
    }
    if (opts.format != "json") return stats::format_table(rows);
    std::string out;
    for (const auto& r : rows) out += stats::format_json(r) + "\n";
    return out;
}

// Writes a frame; false once stdout is gone (a closed pipe: SIGPIPE is ignored in hutch).
bool show(const std::string& text, bool clear) {
    if (clear) std::fputs("\033[2J\033[H", stdout);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 && !std::ferror(stdout);
}

void run_stats(const Paths& paths, const Options& opts) {
    if (!opts.format.empty() && opts.format != "json")
        throw UsageError("invalid --format \"" + opts.format + "\": hutch prints a table or json");
    const stats::HostFacts host = stats::host_facts();
    auto ts = targets(paths, opts);  // an unknown name fails here, before any waiting
    auto before = read_all(paths, ts, host);
    std::this_thread::sleep_for(kWindow);
    for (;;) {
        if (opts.refs.empty()) ts = targets(paths, opts);
        auto now = read_all(paths, ts, host);
        if (!show(frame(opts, ts, before, now, host), !opts.no_stream) || opts.no_stream) return;
        before = std::move(now);
        std::this_thread::sleep_for(kRefresh);
    }
}

}  // namespace

void add_stats_command(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* cmd = app.add_subcommand("stats", "Display a live stream of container(s) resource usage statistics");
    auto opts = std::make_shared<Options>();
    cmd->add_flag("-a,--all", opts->all, "Show all containers (default shows just running)");
    cmd->add_flag("--no-stream", opts->no_stream, "Disable streaming stats and only pull the first result");
    cmd->add_flag("--no-trunc", opts->no_trunc, "Do not truncate output");
    cmd->add_option("--format", opts->format, "json: one JSON object per container (Docker's {{json .}})");
    cmd->add_option("CONTAINER", opts->refs, "Container names or ids (default: all running)");
    cmd->callback([opts, &paths, &exit_code]() {
        // Docker's spellings of the two formats hutch has (it has no Go templates).
        if (opts->format == "{{json .}}") opts->format = "json";
        if (opts->format == "table") opts->format.clear();
        run_stats(paths, *opts);
        exit_code = 0;
    });
}

}  // namespace hutch::cli
