// `hutch start [-a] NAME`, `hutch start --all-restartable` and `hutch restart`: a stopped
// container run again from its config.json, by hand, at boot as its restart policy says
// (runtime/restart.hpp), or after a stop.
#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/launch.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/restart.hpp"
#include "runtime/seal.hpp"
#include "runtime/trampoline/trampoline.hpp"

namespace hutch::cli {

namespace {

// `start`, `restart`: runs the stopped container `c` again from its config.json, detached (its
// id printed) unless `attach`.
int start_stopped(const Globals& globals, const ContainerState& c, const std::string& ref, bool attach, char** argv) {
    const Paths& paths = globals.paths;
    if (container_running(paths, c.id)) throw UsageError("container " + ref + " is already running");
    Spec spec = spec_from_json(nlohmann::json::parse(read_file(paths.data_dir(c.id) + "/config.json")));
    spec.hutch.detach = !attach;
    if (!trampoline::available()) ensure_sealed_binary(argv);
    net::HostConfig config = net::read_host_config(globals.config_path);
    int code = spec.hutch.detach ? in_monitor([&](int started) { return run_container(spec, paths, c.id, config, started, true); })
                                 : run_container(spec, paths, c.id, config, -1, true);
    return code;
}

// `start --all-restartable`, for a boot unit: every container with a restart policy that would
// restart it now, as dockerd decides at its start. After a reboot the runtime root is empty and
// only the data dirs remain: such a container's record is made again, under its id and name,
// from its config.json and the last run its data dir recorded (restart::LastRun).
int start_all_restartable(const Globals& globals, char** argv) {
    const Paths& paths = globals.paths;
    std::map<std::string, ContainerState> records;
    for (auto& c : list_containers(paths)) records[c.id] = c;
    int code = 0;
    DIR* dir = ::opendir((paths.data_root + "/containers").c_str());
    if (!dir) return 0;
    std::vector<std::string> ids;
    while (dirent* entry = ::readdir(dir))
        if (std::strlen(entry->d_name) == 64) ids.push_back(entry->d_name);
    ::closedir(dir);
    std::sort(ids.begin(), ids.end());
    for (const auto& id : ids) {
        try {
            Spec spec = spec_from_json(nlohmann::json::parse(read_file(paths.data_dir(id) + "/config.json")));
            if (spec.hutch.restart.name == "no") continue;
            auto record = records.find(id);
            bool wanted = false;
            if (record != records.end()) {
                const ContainerState& c = record->second;
                // Running or waiting to restart: its supervisor has it. Never started: not at boot.
                if (c.status == "running" || c.status == "restarting" || c.status == "created") continue;
                wanted = restart::restart_at_boot(spec.hutch.restart, c.exit_code, c.stopped_by_user, c.restart_count);
            } else {
                const std::optional<restart::LastRun> last = restart::read_last_run(paths.data_dir(id));
                wanted = last && restart::restart_at_boot(spec.hutch.restart, last->exit_code, last->stopped_by_user,
                                                          last->restart_count);
            }
            if (!wanted) continue;
            spec.hutch.detach = true;
            if (!trampoline::available()) ensure_sealed_binary(argv);
            net::HostConfig config = net::read_host_config(globals.config_path);
            // A record made again is made first, as `hutch create` makes one: a start that then
            // fails (a port taken at boot, a volume not mounted yet) leaves it, and its writable
            // layer, as a stopped container, never removes them.
            if (record == records.end()) create_container(spec, paths, id);
            in_monitor([&](int started) { return run_container(spec, paths, id, config, started, true); });
            std::printf("%s\n", spec.hutch.name.empty() ? id.c_str() : spec.hutch.name.c_str());
        } catch (const Error& e) {
            std::fprintf(stderr, "hutch: start %s: %s\n", id.substr(0, 12).c_str(), e.what());
            code = e.exit_code();
        }
    }
    return code;
}

}  // namespace

void add_start_commands(CLI::App& app, const Globals& globals, int& exit_code, char** argv) {
    // `hutch start [-a] NAME`: runs a created (or exited) container, detached unless -a.
    auto* start = app.add_subcommand("start", "Start a created or stopped container");
    auto attach = std::make_shared<bool>(false);
    auto all_restartable = std::make_shared<bool>(false);
    auto refs = std::make_shared<std::vector<std::string>>();
    start->add_flag("-a,--attach", *attach, "Stay attached: output here, exit status the command's");
    start->add_flag("--all-restartable", *all_restartable,
                    "Start every stopped container its restart policy would restart (at boot: what dockerd does)");
    start->add_option("CONTAINER", *refs, "Container names or ids");
    auto start_explain = std::make_shared<bool>(false);
    start->add_flag("--explain", *start_explain, "Print each kernel-level step as the call it makes (stderr)");
    start->callback([&globals, &exit_code, attach, refs, all_restartable, argv, start_explain]() {
        require_run_privilege();
        interrupt::Scope start_scope;
        if (*all_restartable) {
            if (!refs->empty() || *attach)
                throw UsageError("--all-restartable starts what the restart policies say: no CONTAINER and no -a");
            exit_code = start_all_restartable(globals, argv);
            return;
        }
        if (refs->size() != 1) throw UsageError("\"hutch start\" requires exactly 1 argument: CONTAINER");
        refuse_detached_explain(*start_explain, !*attach, "start without -a");
        explain::enable(*start_explain);
        const ContainerState c = find_container(globals.paths, refs->front());
        exit_code = start_stopped(globals, c, refs->front(), *attach, argv);
        if (!*attach) std::cout << c.id << std::endl;
    });

    // `hutch restart [-t N] NAME...`: stop (as hutch stop) and start again, detached.
    auto* restart_cmd = app.add_subcommand("restart", "Restart one or more containers");
    auto restart_time = std::make_shared<int>(10);
    auto restart_refs = std::make_shared<std::vector<std::string>>();
    restart_cmd->add_option("-t,--time", *restart_time, "Seconds to wait before killing (default 10)")
        ->check(CLI::NonNegativeNumber);
    restart_cmd->add_option("CONTAINER", *restart_refs, "Container names or ids")->required();
    restart_cmd->callback([&globals, &exit_code, restart_time, restart_refs, argv]() {
        require_run_privilege();
        interrupt::Scope start_scope;
        for (const auto& ref : *restart_refs) {
            ContainerState c = find_container(globals.paths, ref);
            lifecycle::stop_container(globals.paths, c, ref, std::chrono::seconds(*restart_time));
            start_stopped(globals, find_container(globals.paths, c.id), ref, false, argv);
            events::emit(globals.paths.data_root,
                         {"container", "restart", c.id, {{"image", c.rootfs}, {"name", c.name}}, 0});
            std::printf("%s\n", ref.c_str());
        }
        exit_code = 0;
    });
}

}  // namespace hutch::cli
