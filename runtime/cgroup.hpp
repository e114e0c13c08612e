// The container's own cgroup in the unified (cgroup2) hierarchy: the handle that finds and
// kills every process of a container, whatever its PID namespace.
//
// Placed below hutch's own cgroup (<cgroup2 mount>/<hutch's cgroup>/hutch/<id>), so a container
// stays inside whatever limits its caller runs under. clone3(CLONE_INTO_CGROUP) starts the
// child directly in it, which costs nothing; moving a running process into a cgroup v1
// hierarchy instead costs ~7 ms here (the cpu controller's attach waits for an RCU grace
// period), more than a whole start, so on hybrid hosts the v1 hierarchies are left as they are
// and the container sees only its unified cgroup (rootfs.cpp, mount_cgroups). The device policy
// goes on the same directory as an eBPF program before the clone (runtime/devices.hpp).
// A host with no cgroup2 mount gets a cgroup in v1's devices hierarchy instead, where the
// policy is written as devices.deny/devices.allow and the child is moved in before it runs.
// On destruction any process left (possible with --pid host) is killed through cgroup.kill,
// then the directory is removed.
#pragma once

#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "runtime/devices.hpp"
#include "runtime/fd.hpp"
#include "runtime/spec.hpp"

namespace hutch {

struct CgroupHierarchy {
    std::string mount_point;  // /sys/fs/cgroup/cpu, or /sys/fs/cgroup on a cgroup2-only host
    std::string fstype;       // cgroup | cgroup2
    std::string controllers;  // "cpu", "name=systemd", "" for cgroup2
};

// The cgroup hierarchies mounted under /sys/fs/cgroup that this process can see, from
// /proc/self/mountinfo. A hierarchy covered by a later mount (a tmpfs over
// /sys/fs/cgroup/unified, as some tools mount) is left out: paths below its mount point lead
// into the mount on top, so a cgroup "made" there would be a plain directory.
std::vector<CgroupHierarchy> host_cgroup_hierarchies();

// Moves this process into each cgroup v1 directory of `dirs` (so a child it clones starts in
// them, as runc's exec does) and returns the cgroup2 one, for clone3's CLONE_INTO_CGROUP ("" when
// there is none).
std::string join_v1_cgroups(const std::vector<std::string>& dirs);

// A cgroup control file: written whole (SysError naming file and value, with `step`), or read
// without its trailing newline ("" when it cannot be read).
void write_cgroup_file(const std::string& file, const std::string& value, const char* step);
std::string read_cgroup_file(const std::string& file);

// hutch's own cgroup in hierarchy `h` ("/a/b"; "" for the root), from /proc/self/cgroup.
std::string own_cgroup(const CgroupHierarchy& h);
// The same for process `pid` (0: this one), from /proc/<pid>/cgroup ("" when it is gone).
std::string cgroup_of(pid_t pid, const CgroupHierarchy& h);
// The same from the text of a /proc/<pid>/cgroup read once, for a question about every
// hierarchy (a v1 host has ten).
std::string cgroup_in(const std::string& proc_cgroup, const CgroupHierarchy& h);

// Kills whatever still runs in the cgroup at `path`, then removes it and, when empty, its
// "hutch" parent. Missing is fine (the start that made it may have cleaned up already).
// `parent_too`: also remove the parent when it is empty (hutch's own "hutch" or "hutch-oci"
// parent; never one an engine made).
void remove_cgroup(const std::string& path, bool parent_too = true);

// The container `id`'s cgroups: `recorded`, and <every hierarchy>/<own cgroup>/hutch/<id>
// that exists. `hutch update` can give a running container cgroups its record does not list
// (the running hutch rewrites the record from its own copy), so whoever removes a container's
// cgroups looks in every hierarchy rather than trusting a list.
std::vector<std::string> container_cgroups(const std::string& id, const std::vector<std::string>& recorded);
// remove_cgroup of each of them.
void remove_container_cgroups(const std::string& id, const std::vector<std::string>& recorded);

// Whether `h` is a v1 hierarchy holding `controller`.
bool holds(const CgroupHierarchy& h, const std::string& controller);
// Makes `group` (hutch's parent cgroup) and the container's `dir` below it; `cpuset`: a new
// level starts with its parent's cpus and mems (no process could join it otherwise).
void make_container_dir(const std::string& group, const std::string& dir, bool cpuset);
// cgroup2: enables below `group` the controllers `limits` need that no v1 hierarchy of `all`
// holds, where the parent offers them.
void enable_unified_controllers(const std::string& group, const std::vector<CgroupHierarchy>& all,
                                const std::vector<std::string>& controllers);

// How many processes the OOM killer killed in the memory cgroup among `dirs` (v1's
// memory.oom_control, cgroup2's memory.events): 0 when none of them has the memory controller.
long oom_kills(const std::vector<std::string>& dirs);

class Cgroup {
public:
    // The container's cgroup with `policy` on it: in the unified hierarchy with the policy's
    // program attached, else in v1's devices hierarchy with the policy written. An empty Cgroup
    // when the host has neither and the policy allows everything; an Error when it does not.
    // `limits` (--memory, --pids-limit, --cpus...: anything beyond the device rules) also gives
    // the container a cgroup in each v1 hierarchy holding one of their controllers, where they
    // are written (or into the unified cgroup where cgroup2 holds the controller); only such a
    // container pays for the move into v1 (attach). `name` says how a refusal names a setting
    // (runtime/cgroup_resources.hpp). `accounting` (hutch profile) puts the container in the
    // memory and pids controllers too, with no limit written, so their usage can be read.
    static Cgroup create(const std::string& id, const devices::Policy& policy, const Resources& limits = {},
                         std::string (*name)(const std::string&) = nullptr, bool accounting = false);
    // No cgroup at all: rootless hutch's container without limits (runtime/rootless.hpp), whose
    // user namespace cannot make device nodes anyway.
    static Cgroup none() { return Cgroup(); }
    // Rootless hutch's container with `limits`: its cgroups below the user's own cgroup, in each
    // hierarchy the limits' controllers are in, as root's are below hutch's own, but only where
    // that cgroup is delegated to the user (the user may write it: systemd's user@UID.service on
    // cgroup2, a directory an administrator chowned on v1). No device policy. A UsageError names
    // the cgroup the user may not write.
    static Cgroup create_delegated(const std::string& id, const Resources& limits, std::string (*name)(const std::string&));
    // Where create_delegated makes them: the unified cgroup ("" when no controller of the limits
    // is there) and the v1 ones. Recorded before they exist, as path_for's. The same UsageError.
    static std::pair<std::string, std::vector<std::string>> delegated_paths_for(const std::string& id, const Resources& limits);
    // The cgroups a start recorded (path_for, v1_paths_for), for the exit half of that start run
    // by another process image (runtime/monitor.hpp): removed when this goes, as create's.
    static Cgroup adopt(std::string path, std::vector<std::string> v1_paths) {
        Cgroup cgroup;
        cgroup.path_ = std::move(path);
        cgroup.v1_paths_ = std::move(v1_paths);
        return cgroup;
    }
    // Where create(id, ...) makes it ("" on a host with neither cgroup2 nor v1 devices):
    // recorded before it exists, so a start killed right after the mkdir leaves a cgroup `rm` knows.
    static std::string path_for(const std::string& id);
    // The v1 cgroups create(id, policy, limits, name, accounting) makes (recorded the same way).
    static std::vector<std::string> v1_paths_for(const std::string& id, const Resources& limits, bool accounting = false);
    Cgroup(Cgroup&& other) noexcept = default;
    Cgroup(const Cgroup&) = delete;
    Cgroup& operator=(const Cgroup&) = delete;
    ~Cgroup();

    // For clone3's cgroup field (CLONE_INTO_CGROUP); -1 when there is none (or it is v1).
    int fd() const { return fd_.get(); }
    // The v1 cgroups: moves `pid` in (the child waits for "go" until then). Nothing on cgroup2,
    // where clone3 placed it.
    void attach(pid_t pid) const;
    const std::string& path() const { return path_; }
    // The v1 cgroups made for the limits (not the devices one of a host without cgroup2).
    const std::vector<std::string>& v1_paths() const { return v1_paths_; }
    // oom_kills of its cgroups: Docker's State.OOMKilled and `oom` event.
    long oom_kills() const;
    // Keeps the cgroup past this object (an OCI container outlives `create`); whoever deletes
    // the container removes it with remove_cgroup.
    void keep() {
        fd_.reset();
        path_.clear();
        v1_paths_.clear();
    }

private:
    Cgroup() = default;
    // The recorded cgroups and those `hutch update` added (container_cgroups).
    std::vector<std::string> all_paths() const;
    std::string path_;
    std::vector<std::string> v1_paths_;
    Fd fd_;
    bool v1_ = false;
};

}  // namespace hutch
