#include "runtime/cgroup_update.hpp"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "runtime/cgroup.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"

namespace hutch {
namespace {

// The processes of cgroup `dir` and of the cgroups below it (a container may make its own in
// its cgroup namespace).
std::vector<pid_t> processes(const std::string& dir) {
    std::vector<pid_t> out;
    std::istringstream procs(read_cgroup_file(dir + "/cgroup.procs"));
    for (pid_t pid; procs >> pid;) out.push_back(pid);
    std::vector<std::string> children;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                children.push_back(dir + "/" + e->d_name);
        ::closedir(d);
    }
    for (const auto& child : children) {
        auto more = processes(child);
        out.insert(out.end(), more.begin(), more.end());
    }
    return out;
}

// The cgroup2 `dir` frozen while this lives: its processes stop where they are (none forks)
// until thawed, also when the move fails. Nothing where the kernel has no cgroup2 freezer
// (before 5.2) or `dir` is a v1 cgroup (a host without cgroup2).
class Freeze {
public:
    explicit Freeze(const std::string& dir) {
        if (::access((dir + "/cgroup.freeze").c_str(), F_OK) != 0) return;
        write_cgroup_file(dir + "/cgroup.freeze", "1", "freeze the container to move it");
        dir_ = dir;
    }
    Freeze(const Freeze&) = delete;
    Freeze& operator=(const Freeze&) = delete;
    // cgroup.freeze is a request; cgroup.events says "frozen 1" once every process stopped.
    void wait() const {
        if (dir_.empty()) return;
        for (int i = 0; i < 2000; ++i) {
            if (("\n" + read_cgroup_file(dir_ + "/cgroup.events") + "\n").find("\nfrozen 1\n") != std::string::npos) return;
            timespec pause{0, 1'000'000};
            ::nanosleep(&pause, nullptr);
        }
        throw Error("freeze the container to move it: " + dir_ + "/cgroup.events did not say \"frozen 1\" within 2 s");
    }
    ~Freeze() {
        if (dir_.empty()) return;
        try {
            write_cgroup_file(dir_ + "/cgroup.freeze", "0", "thaw the container");
        } catch (const Error& e) {
            // Not swallowed: a container left frozen must be visible to whoever runs this.
            std::fprintf(stderr, "hutch: warning: %s (write 0 there to thaw it)\n", e.what());
        }
    }

private:
    std::string dir_;
};

// Moves every process of `from` into each of `into`. Frozen, nothing forks and one pass moves
// all; without a freezer, passes repeat until one finds no process it has not moved.
void move_processes(const std::string& from, const std::vector<std::string>& into) {
    std::set<pid_t> moved;
    for (int pass = 0; pass < 100; ++pass) {
        bool found = false;
        for (pid_t pid : processes(from)) {
            if (!moved.insert(pid).second) continue;
            found = true;
            for (const auto& dir : into) {
                try {
                    write_cgroup_file(dir + "/cgroup.procs", std::to_string(pid), "move the container into its new cgroup");
                } catch (const SysError& e) {
                    if (e.error_number() != ESRCH) throw;  // ESRCH: it exited meanwhile, nothing to move
                }
            }
        }
        if (!found) return;
    }
}

// The recorded cgroup in hierarchy `h` (the longest mount point that holds it), "" for none.
std::string recorded_in(const CgroupHierarchy& h, const std::vector<CgroupHierarchy>& all,
                        const std::vector<std::string>& recorded) {
    for (const auto& dir : recorded) {
        const CgroupHierarchy* best = nullptr;
        for (const auto& other : all)
            if (dir.rfind(other.mount_point + "/", 0) == 0 && (!best || other.mount_point.size() > best->mount_point.size()))
                best = &other;
        if (best && best->mount_point == h.mount_point) return dir;
    }
    return "";
}

// Writes the memory settings first: the one a kernel refuses for a running container (EBUSY:
// it cannot reclaim down to a lower limit), named with the value and the usage.
void apply_in_order(const Resources& changes, const CgroupDirs& dirs, ResourceName name) {
    Resources memory, rest = changes;
    std::swap(memory.memory_limit, rest.memory_limit);
    std::swap(memory.memory_swap, rest.memory_swap);
    std::swap(memory.memory_reservation, rest.memory_reservation);
    try {
        apply_resources(memory, dirs, name);
    } catch (const SysError& e) {
        if (e.error_number() != EBUSY || !memory.memory_limit) throw;
        std::string usage;
        for (const auto& [h, dir] : dirs)
            if (h.fstype == "cgroup" && holds(h, "memory")) usage = read_cgroup_file(dir + "/memory.usage_in_bytes");
        throw UsageError(name("linux.resources.memory") + " " + std::to_string(*memory.memory_limit) +
                         ": below what the container uses (" + usage + " bytes), which the kernel could not reclaim");
    }
    apply_resources(rest, dirs, name);
}

}  // namespace

std::vector<std::string> update_cgroups(const RunningCgroups& c, const Resources& changes, ResourceName name) {
    if (c.recorded.empty()) throw Error("update the container's cgroups: container " + c.id + " has none recorded");
    const auto hierarchies = host_cgroup_hierarchies();
    const auto needed = resource_controllers(changes);
    CgroupDirs dirs;
    std::vector<std::string> made;
    for (const auto& h : hierarchies) {
        if (std::string dir = recorded_in(h, hierarchies, c.recorded); !dir.empty()) {
            dirs.emplace_back(h, dir);
            continue;
        }
        if (std::none_of(needed.begin(), needed.end(), [&](const std::string& n) { return holds(h, n); })) continue;
        // Where its first process is in this hierarchy: the place of the hutch that started it.
        std::string place = cgroup_of(c.pid, h);
        if (::access(("/proc/" + std::to_string(c.pid)).c_str(), F_OK) != 0)
            throw UsageError("container " + c.id.substr(0, 12) + " is not running (its process is gone)");
        std::string group = h.mount_point + place + "/" + c.parent, dir = group + "/" + c.id;
        if (place.ends_with("/" + c.parent + "/" + c.id)) dir = h.mount_point + place;  // there already, unrecorded
        explain::comment("update: the container has no cgroup in " + h.mount_point + " for its new limit: " + dir);
        made.push_back(dir);
        make_container_dir(dir.substr(0, dir.find_last_of('/')), dir, holds(h, "cpuset"));
        dirs.emplace_back(h, dir);
    }
    const std::string& main = c.recorded.front();
    try {
        // cgroup2 controllers are enabled below hutch's own parent, never an engine's.
        if (main.ends_with("/" + c.parent + "/" + c.id))
            for (const auto& [h, dir] : dirs)
                if (h.fstype == "cgroup2") enable_unified_controllers(dir.substr(0, dir.find_last_of('/')), hierarchies, resource_controllers(changes));
        // Limits first, into the new cgroups while they are empty: a refusal leaves the
        // container where it was, and the new cgroups are removed again.
        apply_in_order(changes, dirs, name);
    } catch (const Error&) {
        for (const auto& dir : made) remove_cgroup(dir);
        throw;
    }
    if (made.empty()) return made;
    Freeze freeze(main);
    freeze.wait();
    move_processes(main, made);
    return made;
}

}  // namespace hutch
