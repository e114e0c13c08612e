// `hutch-oci events [--stats] [--interval D] ID`: runc's events command. --stats prints one
// stats record and exits; without it, a stats record every interval (runc's default 5s) and an
// "oom" record whenever the OOM killer killed in the container's memory cgroup since the last
// look, until the container stops (then exit 0). One JSON object per line, as runc prints them:
// {"type":"stats","id":ID,"data":{...}} and {"type":"oom","id":ID}.
//
// runc learns of an OOM kill from an eventfd on memory.oom_control (v1) or an inotify on
// memory.events (cgroup2); hutch reads the same counters every 100 ms, so an "oom" record comes
// at most that late, and two kills within one look are one record.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/cli/cli.hpp"
#include "runtime/cli/oci_internal.hpp"
#include "runtime/error.hpp"
#include "runtime/oci/state.hpp"
#include "runtime/oci/stats.hpp"

namespace hutch::cli::ocicli {

void add_events_command(CLI::App& app, const OciGlobals& g) {
    struct Options {
        std::string id, interval = "5s";
        bool stats = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("events", "Print a container's stats and OOM events as JSON lines (runc's)");
    cmd->add_flag("--stats", o->stats, "Print the stats once and exit");
    cmd->add_option("--interval", o->interval, "How often to print the stats (default 5s)");
    cmd->add_option("id", o->id, "Container id")->required();
    cmd->callback([&g, o] {
        const std::int64_t interval_ms = oci::parse_go_duration_ms(o->interval);
        oci::StateRoot root(g.root);
        oci::State s = root.load(o->id);
        auto running = [&] {
            std::string status = oci::status_of(root, s);
            return status == "running" || status == "paused" || status == "created";
        };
        if (!running()) throw UsageError("container " + o->id + " is not running");
        // In runc's order (type, id, data), which a json object (its keys sorted) would not keep.
        auto print = [&](const char* type, const nlohmann::json& data) {
            std::cout << "{\"type\":" << nlohmann::json(type).dump() << ",\"id\":" << nlohmann::json(o->id).dump()
                      << (data.is_null() ? "" : ",\"data\":" + data.dump()) << "}" << std::endl;  // flushed: read line by line
        };
        if (o->stats) return print("stats", oci::runc_stats(s.cgroups));
        std::optional<std::uint64_t> ooms = oci::oom_kills(s.cgroups);
        auto report_ooms = [&] {
            std::optional<std::uint64_t> seen = oci::oom_kills(s.cgroups);
            if (seen && ooms && *seen > *ooms) print("oom", nullptr);
            if (seen) ooms = seen;
        };
        auto next_stats = std::chrono::steady_clock::now();
        // Until the container stops, or the reader goes away (SIGPIPE is ignored: a failed write).
        while (running() && std::cout) {
            report_ooms();
            if (auto now = std::chrono::steady_clock::now(); now >= next_stats) {
                print("stats", oci::runc_stats(s.cgroups));
                next_stats = now + std::chrono::milliseconds(interval_ms);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(100, interval_ms)));
        }
        report_ooms();  // the kill that ended it: its cgroup stays until delete
    });
}

}  // namespace hutch::cli::ocicli
