// `hutch update [--memory ..] [--cpus ..] [--pids-limit ..] ... CONTAINER...`: docker update's
// resource flags, parsed by the same code as run's (runtime/resource_flags.hpp) over the
// container's current limits. A running container's cgroups get the new values at once
// (runtime/cgroup_update.hpp); every container's config.json records them, so `inspect` shows
// them and a later `start` applies them.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "runtime/cgroup_update.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/resource_flags.hpp"
#include "runtime/spec.hpp"

namespace hutch::cli {
namespace {

struct Planned {
    std::string ref;
    ContainerState state;
    Spec spec;
    LimitUpdate limits;
};

// Everything checked before anything changes: every container found, every value valid against
// each one's current limits.
std::vector<Planned> plan(const Paths& paths, const std::vector<std::string>& refs, const RunOptions& flags) {
    if (!has_limit_flags(flags))
        throw UsageError("update: give at least one of --memory, --memory-swap, --memory-reservation, --cpus, "
                         "--cpu-shares, --cpu-period, --cpu-quota, --cpuset-cpus, --cpuset-mems, --pids-limit, --blkio-weight");
    HostFacts host = host_facts("");
    add_resource_facts(host, flags);
    std::vector<Planned> out;
    for (const auto& ref : refs) {
        Planned p{ref, find_container(paths, ref), {}, {}};
        p.spec = spec_from_json(nlohmann::json::parse(read_file(paths.data_dir(p.state.id) + "/config.json")));
        if (p.spec.hutch.rootless)
            throw UsageError("update " + ref + ": rootless hutch sets a container's limits only when it starts (in a cgroup "
                             "delegated to you): run it again with the new limits");
        p.limits = merge_limit_flags(p.spec.linux.resources, flags, host);
        out.push_back(std::move(p));
    }
    return out;
}

// The cgroups update made for a running container join its record, so `hutch exec` places new
// processes in them too (the running hutch finds them at exit by looking, not by this record).
void record_new_cgroups(const Paths& paths, const std::string& id, const std::vector<std::string>& made) {
    if (made.empty()) return;
    const std::string file = paths.runtime_dir(id) + "/state.json";
    ContainerState state = state_from_json(nlohmann::json::parse(read_file(file)));
    for (const auto& dir : made)
        if (std::find(state.limit_cgroups.begin(), state.limit_cgroups.end(), dir) == state.limit_cgroups.end())
            state.limit_cgroups.push_back(dir);
    write_file_atomic(file, to_json(state).dump(2) + "\n", 0644, Durability::kRuntime);
}

void update(const Paths& paths, Planned& p) {
    const ContainerState& c = p.state;
    if (container_running(paths, c.id) && c.status == "running" && c.pid > 0) {
        std::vector<std::string> recorded = c.limit_cgroups;
        if (!c.cgroup.empty()) recorded.insert(recorded.begin(), c.cgroup);
        RunningCgroups running{c.id, "hutch", c.pid, recorded};
        record_new_cgroups(paths, c.id, update_cgroups(running, p.limits.write, resource_flag_name));
    }
    p.spec.linux.resources = p.limits.result;
    // As launch writes it: durable, owner-only.
    write_file_atomic(paths.data_dir(c.id) + "/config.json", to_json(p.spec).dump(2) + "\n", 0600, Durability::kDurable);
}

}  // namespace

void add_update_command(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* cmd = app.add_subcommand("update", "Update the resource limits of one or more containers");
    auto flags = std::make_shared<RunOptions>();
    auto refs = std::make_shared<std::vector<std::string>>();
    add_limit_flags(cmd, *flags);
    cmd->add_option("CONTAINER", *refs, "Container names or ids")->required();
    cmd->callback([&paths, &exit_code, flags, refs] {
        std::vector<Planned> planned = plan(paths, *refs, *flags);
        for (auto& p : planned) {
            update(paths, p);
            std::cout << p.ref << std::endl;  // as docker update prints each container
        }
        exit_code = 0;
    });
}

}  // namespace hutch::cli
