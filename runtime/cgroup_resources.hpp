// A container's cgroups with resources, a launcher concern (an OCI bundle asks for them today,
// `hutch run`'s resource flags will): linux.cgroupsPath in every mounted hierarchy, with the part of
// linux.resources hutch applies (pids, memory, cpu, cpuset) and the device policy
// (runtime/devices.hpp: resources.devices then runc's defaults) on cgroup2 and v1 alike.
//
// `hutch run` keeps to the unified hierarchy, where clone3(CLONE_INTO_CGROUP) costs nothing
// (runtime/cgroup.hpp). An engine that gives a cgroupsPath or resources expects the container in
// its cgroups everywhere (podman's stats and conmon's OOM watch read the v1 hierarchies at that
// path), so then the first process is also written into each v1 hierarchy before it runs,
// which costs ~7 ms on this kind of host.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "runtime/cgroup.hpp"
#include "runtime/fd.hpp"
#include "runtime/spec.hpp"

namespace hutch {

// A container's cgroups: each hierarchy with the container's directory in it.
using CgroupDirs = std::vector<std::pair<CgroupHierarchy, std::string>>;
// How a refusal names a setting, from its OCI field ("linux.resources.memory"): the
// front-end's words (config.json's field, or the `hutch run` flag a user typed).
using ResourceName = std::string (*)(const std::string& oci_field);
std::string oci_resource_name(const std::string& field);  // "config.json: linux.resources.memory"

// The controllers `r` asks for: memory, pids, cpu, cpuset, blkio (v1's names).
std::vector<std::string> resource_controllers(const Resources& r);
// Writes `r` into the container's cgroups: each setting into the v1 hierarchy holding its
// controller, else into the unified one (with cgroup2's files and units). UsageError naming the
// setting (through `name`) for a controller the host lacks or a limit the kernel no longer
// enforces; SysError naming the file and value for a write the kernel refuses.
void apply_resources(const Resources& r, const CgroupDirs& dirs, ResourceName name);

class ResourceCgroups {
public:
    // Creates the container's cgroups and applies its resources; throws UsageError for a path or
    // resource hutch cannot honour here, before anything is created.
    // `holder` names the container of this runtime a cgroup directory is already recorded for
    // ("" for none): an existing cgroupsPath is joined only when it is empty and nobody's.
    using Holder = std::function<std::string(const std::string& dir)>;
    static ResourceCgroups create(const LinuxSection& linux, const std::string& id, const Holder& holder = {});
    ResourceCgroups(ResourceCgroups&&) = default;
    ~ResourceCgroups();

    // The cgroup2 directory for clone3's CLONE_INTO_CGROUP; -1 without one.
    int clone_into_fd() const { return unified_fd_.get(); }
    // Moves `pid` into the v1 hierarchies' cgroups (cgroup2 took it at clone).
    void attach(pid_t pid) const;
    const std::vector<std::string>& paths() const { return paths_; }
    // The highest level create made above each path (for delete to remove again).
    const std::vector<std::string>& made_parents() const { return made_parents_; }
    // The cgroups outlive this object (create returns; delete removes them).
    void keep() {
        paths_.clear();
        made_parents_.clear();
        unified_fd_.reset();
        kept_ = true;
    }

private:
    ResourceCgroups() = default;
    std::vector<std::string> paths_;   // every directory made, the unified one first if any
    std::vector<std::string> v1_paths_;
    std::vector<std::string> made_parents_;
    Fd unified_fd_;
    bool kept_ = false;
};

// The cgroups a container without cgroupsPath gets (hutch-oci/<id> below hutch's own), for a
// create that was killed before it recorded them.
void remove_default_cgroups(const std::string& id);

// `hutch-oci --systemd-cgroup`: runc's systemd form of linux.cgroupsPath, "SLICE:PREFIX:NAME"
// (Docker's "system.slice:docker:<id>", podman's "machine.slice:libpod:<id>"), turned into the
// cgroupfs path systemd gives that unit: the slice with its parents ("a-b.slice" is
// /a.slice/a-b.slice; an empty SLICE is system.slice), then PREFIX-NAME.scope (NAME itself when
// it is a slice). hutch makes those directories itself, as on a host without systemd; it does
// not ask systemd over D-Bus for a scope. UsageError naming the path when it is not that form.
std::string systemd_cgroups_path(const std::string& given);

// delete: kills what is left in each and removes them.
void remove_cgroups(const std::vector<std::string>& paths, const std::vector<std::string>& made_parents);

}  // namespace hutch
