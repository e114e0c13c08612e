// `hutch-oci update [-r FILE|-] [--memory N] ... ID`: runc's update, which engines call to change
// a container's limits (containerd's UpdateContainerResources, `podman update`). The values go
// into the container's recorded cgroups (runtime/cgroup_update.hpp, which also gives a container
// created without a v1 cgroup one where a limit needs it) and into the config.json of its state.
//
// -r reads runc's LinuxResources JSON. Where runc ignores the flags beside -r, hutch refuses the
// mix; where runc's decoder ignores a field it does not know, hutch names it: a limit silently
// not applied is the one an engine believes is there. runc exits 1 on any error; so does this.
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/cgroup_update.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/oci_internal.hpp"
#include "runtime/error.hpp"
#include "runtime/oci/bundle.hpp"
#include "runtime/oci/state.hpp"
#include "runtime/resource_flags.hpp"
#include "runtime/spec.hpp"

namespace hutch::cli::ocicli {
namespace {

using nlohmann::json;

struct UpdateRequest {
    std::string id, resources_file;
    std::string memory, memory_swap, memory_reservation, cpu_period, cpu_quota, cpu_share, cpuset_cpus, cpuset_mems,
        pids_limit, blkio_weight;
};

// The LinuxResources fields hutch applies; the rest of config-linux.md's are refused when they ask
// for something (as create refuses them), and a field config-linux.md does not have is unknown.
const std::map<std::string, std::set<std::string>> kApplied = {
    {"memory", {"limit", "reservation", "swap", "kernel", "disableOOMKiller"}},
    {"cpu", {"shares", "quota", "period", "cpus", "mems"}},
    {"pids", {"limit"}},
    {"blockIO", {"weight"}},
    // runc's update leaves device rules as they are; engines send the container's list back.
    {"devices", {}},
};
const std::set<std::string> kOtherFields = {
    "memory.kernelTCP", "memory.swappiness", "memory.useHierarchy", "memory.checkBeforeUpdate",
    "cpu.realtimeRuntime", "cpu.realtimePeriod", "cpu.idle", "cpu.burst", "blockIO.leafWeight",
    "blockIO.weightDevice", "blockIO.throttleReadBpsDevice", "blockIO.throttleWriteBpsDevice",
    "blockIO.throttleReadIOPSDevice", "blockIO.throttleWriteIOPSDevice", "network", "rdma"};
// Whole sections applied as create applies them (their entries checked where they are read).
const std::set<std::string> kAppliedWhole = {"hugepageLimits", "unified"};

void check_fields(const json& r) {
    if (!r.is_object()) throw UsageError("-r: the resources must be a JSON object");
    for (const auto& [section, value] : r.items()) {
        if (kAppliedWhole.count(section)) continue;
        auto applied = kApplied.find(section);
        if (applied == kApplied.end() || section == "devices") {
            if (applied == kApplied.end() && !kOtherFields.count(section)) throw UsageError("-r: unknown field \"" + section + "\"");
            if (section != "devices" && !oci::asks_nothing(value)) throw UsageError("-r: " + section + " is not supported by hutch");
            continue;
        }
        if (!value.is_object()) throw UsageError("-r: " + section + " must be an object");
        for (const auto& [key, v] : value.items()) {
            std::string field = section + "." + key;
            if (applied->second.count(key)) continue;
            if (!kOtherFields.count(field)) throw UsageError("-r: unknown field \"" + field + "\"");
            if (!oci::asks_nothing(v)) throw UsageError("-r: " + field + " is not supported by hutch");
        }
    }
}

Resources from_file(const std::string& path) {
    std::string text;
    if (path == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        if (text.size() > (1 << 20)) throw UsageError("-r -: more than 1 MiB of resources");
    } else {
        text = read_named_file(path);
    }
    json r = oci::parse_config(text, path == "-" ? "stdin" : path);
    check_fields(r);
    Resources out = resources_from_json(r, "resources");
    out.devices.clear();
    // runc reads 0 as "leave it as it is": dockerd's `docker update --cpus 1` sends every field,
    // the memory limit 0 among them, which written would be memory.max 0 and an OOM kill.
    for (auto* v : {&out.memory_limit, &out.memory_swap, &out.memory_reservation, &out.kernel_memory, &out.cpu_quota,
                    &out.pids_limit})
        if (*v && **v == 0) v->reset();
    for (auto* v : {&out.cpu_shares, &out.cpu_period})
        if (*v && **v == 0) v->reset();
    return out;
}

Resources from_flags(const UpdateRequest& r) {
    Resources out;
    auto memory = [](const char* flag, const std::string& v) -> std::optional<std::int64_t> {
        if (v.empty()) return std::nullopt;
        return v == "-1" ? -1 : parse_bytes(flag, v);  // runc: go-units' RAMInBytes, or -1
    };
    auto number = [](const char* flag, const std::string& v, std::int64_t least) -> std::optional<std::int64_t> {
        if (v.empty()) return std::nullopt;
        std::int64_t n = parse_integer(flag, v);
        if (n < least) throw UsageError(std::string("invalid ") + flag + " \"" + v + "\": must be at least " + std::to_string(least));
        return n;
    };
    out.memory_limit = memory("--memory", r.memory);
    out.memory_swap = memory("--memory-swap", r.memory_swap);
    out.memory_reservation = memory("--memory-reservation", r.memory_reservation);
    if (auto v = number("--cpu-period", r.cpu_period, 0)) out.cpu_period = static_cast<std::uint64_t>(*v);
    out.cpu_quota = number("--cpu-quota", r.cpu_quota, -1);
    if (auto v = number("--cpu-share", r.cpu_share, 0)) out.cpu_shares = static_cast<std::uint64_t>(*v);
    out.pids_limit = number("--pids-limit", r.pids_limit, -1);
    if (auto v = number("--blkio-weight", r.blkio_weight, 0)) {
        if (*v != 0 && (*v < 10 || *v > 1000)) throw UsageError("invalid --blkio-weight \"" + r.blkio_weight + "\": must be from 10 to 1000");
        if (*v != 0) out.blkio_weight = static_cast<std::uint16_t>(*v);
    }
    out.cpus = r.cpuset_cpus;
    out.mems = r.cpuset_mems;
    return out;
}

// A cpuset list ("0-2,4") is written into the cgroup as given: only digits, commas and dashes.
void check_cpuset(const char* what, const std::string& list) {
    if (list.find_first_not_of("0123456789,-") != std::string::npos || list.size() > 4096)
        throw UsageError(std::string(what) + " \"" + list + "\": not a list such as 0-2,4");
}

// `changes` over `r`: what config.json records from now on.
void overlay(Resources& r, const Resources& c) {
    auto set = [](auto& into, const auto& from) {
        if (from) into = from;
    };
    set(r.memory_limit, c.memory_limit);
    set(r.memory_swap, c.memory_swap);
    set(r.memory_reservation, c.memory_reservation);
    set(r.kernel_memory, c.kernel_memory);
    set(r.disable_oom_killer, c.disable_oom_killer);
    set(r.cpu_shares, c.cpu_shares);
    set(r.cpu_quota, c.cpu_quota);
    set(r.cpu_period, c.cpu_period);
    set(r.pids_limit, c.pids_limit);
    set(r.blkio_weight, c.blkio_weight);
    if (!c.cpus.empty()) r.cpus = c.cpus;
    if (!c.mems.empty()) r.mems = c.mems;
}

std::string update_field_name(const std::string& field) { return "update: " + field; }

void update(const OciGlobals& g, const UpdateRequest& r) {
    bool flags = false;
    for (const std::string* f : {&r.memory, &r.memory_swap, &r.memory_reservation, &r.cpu_period, &r.cpu_quota, &r.cpu_share,
                                 &r.cpuset_cpus, &r.cpuset_mems, &r.pids_limit, &r.blkio_weight})
        flags = flags || !f->empty();
    if (!r.resources_file.empty() && flags) throw UsageError("update: -r and resource flags together: give one or the other");
    Resources changes = r.resources_file.empty() ? from_flags(r) : from_file(r.resources_file);
    check_cpuset("--cpuset-cpus", changes.cpus);
    check_cpuset("--cpuset-mems", changes.mems);
    oci::StateRoot root(g.root);
    oci::State s = root.load(r.id);
    std::string status = oci::status_of(root, s);
    if (status != "created" && status != "running" && status != "paused")
        throw UsageError("container " + r.id + " is " + status + ": only a created, running or paused container can be updated");
    std::vector<std::string> made = update_cgroups({s.id, "hutch-oci", s.pid, s.cgroups}, changes, update_field_name);
    if (!made.empty()) {
        s.cgroups.insert(s.cgroups.end(), made.begin(), made.end());  // delete removes them with the rest
        root.save(s);
    }
    Spec spec = spec_from_json(json::parse(read_file(root.file(r.id, "config.json"))));
    overlay(spec.linux.resources, changes);
    write_file_atomic(root.file(r.id, "config.json"), to_json(spec).dump(2) + "\n", 0600, Durability::kRuntime);
}

}  // namespace

void add_update_command(CLI::App& app, const OciGlobals& g) {
    auto r = std::make_shared<UpdateRequest>();
    auto* cmd = app.add_subcommand("update", "Update a container's resource limits (runc's update)");
    cmd->add_option("--resources,-r", r->resources_file, "Read linux.resources JSON from this file (- for stdin)");
    cmd->add_option("--memory", r->memory, "Memory limit (bytes, or with a unit: 64m)");
    cmd->add_option("--memory-swap", r->memory_swap, "Memory plus swap limit; -1: unlimited");
    cmd->add_option("--memory-reservation", r->memory_reservation, "Memory soft limit");
    cmd->add_option("--cpu-period", r->cpu_period, "CPU CFS period (microseconds)");
    cmd->add_option("--cpu-quota", r->cpu_quota, "CPU CFS quota (microseconds; -1: none)");
    cmd->add_option("--cpu-share", r->cpu_share, "CPU shares (relative weight)");
    cmd->add_option("--cpuset-cpus", r->cpuset_cpus, "CPUs to run on (0-3, 0,1)");
    cmd->add_option("--cpuset-mems", r->cpuset_mems, "Memory nodes to use (0-3, 0,1)");
    cmd->add_option("--pids-limit", r->pids_limit, "Maximum number of processes (-1: none)");
    cmd->add_option("--blkio-weight", r->blkio_weight, "Block I/O weight, 10 to 1000");
    cmd->add_option("id", r->id, "Container id")->required();
    cmd->callback([&g, r] {
        try {
            update(g, *r);
        } catch (const Error& e) {
            throw Error(e.what(), 1);  // runc's exit status for any failure
        }
    });
}

}  // namespace hutch::cli::ocicli
