#include "runtime/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "runtime/bpf_device_program.hpp"
#include "runtime/cgroup_resources.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/state.hpp"

namespace hutch {
namespace {

const std::string kBase = "/sys/fs/cgroup";


void make_dir(const std::string& dir) {
    if (sys::kernel().mkdirat(AT_FDCWD, dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw SysError("create the container's cgroup", "mkdir", dir, errno);
}

// Whether the mount `mount_id` (device `devno`, "major:minor") is what its mount point shows:
// statx's mount id names the topmost mount there (Linux 5.8); older kernels compare devices.
bool visible(const std::string& point, int mount_id, const std::string& devno) {
    struct statx stx {};
    if (::statx(AT_FDCWD, point.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) != 0)
        return false;
    if (stx.stx_mask & STATX_MNT_ID) return stx.stx_mnt_id == static_cast<std::uint64_t>(mount_id);
    return std::to_string(stx.stx_dev_major) + ":" + std::to_string(stx.stx_dev_minor) == devno;
}

// The container's cgroup in v1's devices hierarchy, for a host without cgroup2.
const CgroupHierarchy* devices_hierarchy(const std::vector<CgroupHierarchy>& all) {
    for (const auto& h : all) {
        std::string list = "," + h.controllers + ",";
        if (h.fstype == "cgroup" && list.find(",devices,") != std::string::npos) return &h;
    }
    return nullptr;
}

// Where a container's cgroup goes: the unified hierarchy, else v1's devices hierarchy (the
// device policy needs one of them); null when the host has neither.
const CgroupHierarchy* container_hierarchy(const std::vector<CgroupHierarchy>& all) {
    for (const auto& h : all)
        if (h.fstype == "cgroup2") return &h;
    return devices_hierarchy(all);
}

}  // namespace

bool holds(const CgroupHierarchy& h, const std::string& controller) {
    return h.fstype == "cgroup" && ("," + h.controllers + ",").find("," + controller + ",") != std::string::npos;
}

namespace {

// The controllers the container's cgroups need: the limits', plus memory and pids for
// `accounting` (hutch profile reads their peaks; no limit is written for them).
std::vector<std::string> wanted_controllers(const Resources& limits, bool accounting) {
    std::vector<std::string> out = resource_controllers(limits);
    if (accounting)
        for (const char* c : {"memory", "pids"})
            if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    return out;
}

// The v1 hierarchies holding one of `controllers`, each once (cpu and cpuacct may share one).
std::vector<const CgroupHierarchy*> limit_hierarchies(const std::vector<CgroupHierarchy>& all,
                                                      const std::vector<std::string>& controllers) {
    std::vector<const CgroupHierarchy*> out;
    for (const auto& controller : controllers)
        for (const auto& h : all)
            if (holds(h, controller) && std::find(out.begin(), out.end(), &h) == out.end()) out.push_back(&h);
    return out;
}

}  // namespace

// Makes `group` (hutch's parent cgroup) and `dir` below it; another container's exit may remove
// the shared parent between the two mkdirs. A new cpuset level starts with its parent's cpus and
// mems, without which no process could join it (ENOSPC).
void make_container_dir(const std::string& group, const std::string& dir, bool cpuset) {
    for (int attempt = 0;; ++attempt) {
        make_dir(group);
        if (cpuset)
            for (const char* file : {"/cpuset.cpus", "/cpuset.mems"})
                if (read_cgroup_file(group + file).empty())
                    write_cgroup_file(group + file, read_cgroup_file(group + "/.." + file), "create the container's cgroup");
        if (sys::kernel().mkdirat(AT_FDCWD, dir.c_str(), 0755) == 0 || errno == EEXIST) break;
        if (errno != ENOENT || attempt == 3) throw SysError("create the container's cgroup", "mkdir", dir, errno);
    }
    if (cpuset)
        for (const char* file : {"/cpuset.cpus", "/cpuset.mems"})
            if (read_cgroup_file(dir + file).empty())
                write_cgroup_file(dir + file, read_cgroup_file(group + file), "create the container's cgroup");
}

// cgroup2: a controller the limits need that no v1 hierarchy holds is enabled for the
// containers below hutch's parent cgroup, where the parent above offers it. Where it does not,
// apply_resources refuses the setting naming the controller.
void enable_unified_controllers(const std::string& group, const std::vector<CgroupHierarchy>& all,
                                const std::vector<std::string>& controllers) {
    std::string available = " " + read_cgroup_file(group + "/cgroup.controllers") + " ";
    for (auto controller : controllers) {
        if (std::any_of(all.begin(), all.end(), [&](const CgroupHierarchy& h) { return holds(h, controller); })) continue;
        if (controller == "blkio") controller = "io";
        if (available.find(" " + controller + " ") != std::string::npos)
            write_cgroup_file(group + "/cgroup.subtree_control", "+" + controller, "enable a controller for the container");
    }
}

void write_cgroup_file(const std::string& file, const std::string& value, const char* step) {
    sys::write_kernel_file(file, value, step, file + " <- " + value);
}

std::string read_cgroup_file(const std::string& file) {
    try {
        std::string v = read_file(file);
        while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
        return v;
    } catch (const Error&) {
        return "";
    }
}

std::string own_cgroup(const CgroupHierarchy& h) { return cgroup_of(0, h); }

std::string cgroup_of(pid_t pid, const CgroupHierarchy& h) {
    return cgroup_in(read_cgroup_file(pid == 0 ? std::string("/proc/self/cgroup") : "/proc/" + std::to_string(pid) + "/cgroup"),
                     h);
}

std::string cgroup_in(const std::string& proc_cgroup, const CgroupHierarchy& h) {
    std::string_view rest = proc_cgroup;
    while (!rest.empty()) {
        const std::string_view line = rest.substr(0, rest.find('\n'));
        rest.remove_prefix(std::min(rest.size(), line.size() + 1));
        // hierarchy-id:controllers:path
        const auto first = line.find(':'), second = line.find(':', first + 1);
        if (first == std::string_view::npos || second == std::string_view::npos) continue;
        const std::string_view controllers = line.substr(first + 1, second - first - 1);
        const std::string_view path = line.substr(second + 1);
        if (h.fstype == "cgroup2" ? controllers.empty() : controllers == h.controllers)
            return path == "/" ? "" : std::string(path);
    }
    return "";
}

std::vector<CgroupHierarchy> host_cgroup_hierarchies() {
    // Split by hand, not by istringstream: every start asks five times, the child once, and
    // the streams' set-up was most of it.
    std::vector<CgroupHierarchy> out;
    const std::string text = read_cgroup_file("/proc/self/mountinfo");
    std::string_view rest = text;
    while (!rest.empty()) {
        const std::string_view line = rest.substr(0, rest.find('\n'));
        rest.remove_prefix(std::min(rest.size(), line.size() + 1));
        // proc(5): id parent major:minor root point options [optional fields...] - fstype source super
        std::vector<std::string_view> f;
        for (std::string_view left = line; !left.empty();) {
            const std::size_t space = left.find(' ');
            f.push_back(left.substr(0, space));
            left.remove_prefix(std::min(left.size(), space == std::string_view::npos ? left.size() : space + 1));
        }
        const auto dash = f.size() > 6 ? std::find(f.begin() + 6, f.end(), "-") : f.end();
        if (dash == f.end() || f.end() - dash < 4) continue;
        const std::string fstype(dash[1]);
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        const std::string point(f[4]);
        if (point != kBase && point.rfind(kBase + "/", 0) != 0) continue;
        if (!visible(point, std::atoi(std::string(f[0]).c_str()), std::string(f[2]))) {
            explain::comment(point + " (" + fstype + ") is covered by a later mount: not used");
            continue;
        }
        CgroupHierarchy h{point, fstype, ""};
        if (fstype == "cgroup") {
            for (std::string_view options = dash[3]; !options.empty();) {
                const std::string_view o = options.substr(0, options.find(','));
                options.remove_prefix(std::min(options.size(), o.size() + 1));
                if (o == "rw" || o == "ro" || o == "relatime" || o == "noatime") continue;
                h.controllers += (h.controllers.empty() ? "" : ",") + std::string(o);
            }
        }
        out.push_back(h);
    }
    return out;
}

std::string join_v1_cgroups(const std::vector<std::string>& dirs) {
    std::string unified;
    for (const auto& dir : dirs) {
        struct statfs fs {};
        if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
            unified = dir;
            continue;
        }
        write_cgroup_file(dir + "/cgroup.procs", std::to_string(::getpid()), "join the container's cgroups");
    }
    return unified;
}

std::string Cgroup::path_for(const std::string& id) {
    const auto hierarchies = host_cgroup_hierarchies();
    const CgroupHierarchy* h = container_hierarchy(hierarchies);
    return h ? h->mount_point + own_cgroup(*h) + "/hutch/" + id : "";
}

std::vector<std::string> Cgroup::v1_paths_for(const std::string& id, const Resources& limits, bool accounting) {
    std::vector<std::string> out;
    if (!limits.limits_anything() && !accounting) return out;
    const auto hierarchies = host_cgroup_hierarchies();
    const CgroupHierarchy* main = container_hierarchy(hierarchies);
    for (const CgroupHierarchy* h : limit_hierarchies(hierarchies, wanted_controllers(limits, accounting)))
        if (h != main) out.push_back(h->mount_point + own_cgroup(*h) + "/hutch/" + id);
    return out;
}

Cgroup Cgroup::create(const std::string& id, const devices::Policy& policy, const Resources& limits,
                      std::string (*name)(const std::string&), bool accounting) {
    Cgroup cgroup;
    const auto hierarchies = host_cgroup_hierarchies();
    const CgroupHierarchy* h = container_hierarchy(hierarchies);
    if (!h) {
        if (limits.limits_anything())
            throw UsageError((name ? name : oci_resource_name)("linux.resources") +
                             ": this host mounts no cgroup hierarchy under /sys/fs/cgroup");
        if (policy.allows_everything()) return cgroup;
        throw Error("apply the device policy: this host mounts neither cgroup2 nor cgroup v1's devices "
                    "controller under /sys/fs/cgroup");
    }
    cgroup.v1_ = h->fstype == "cgroup";
    std::string group = h->mount_point + own_cgroup(*h) + "/hutch";
    cgroup.path_ = group + "/" + id;
    CgroupDirs dirs;
    make_container_dir(group, cgroup.path_, false);
    dirs.emplace_back(*h, cgroup.path_);
    if (limits.limits_anything() || accounting) {
        const std::vector<std::string> controllers = wanted_controllers(limits, accounting);
        // Each recorded as soon as it exists: whatever fails next, the destructor removes it.
        for (const CgroupHierarchy* v1 : limit_hierarchies(hierarchies, controllers)) {
            if (v1 == h) continue;
            std::string v1_group = v1->mount_point + own_cgroup(*v1) + "/hutch";
            cgroup.v1_paths_.push_back(v1_group + "/" + id);
            make_container_dir(v1_group, cgroup.v1_paths_.back(), holds(*v1, "cpuset"));
            dirs.emplace_back(*v1, cgroup.v1_paths_.back());
        }
        if (!cgroup.v1_) enable_unified_controllers(group, hierarchies, controllers);
        if (limits.limits_anything()) apply_resources(limits, dirs, name ? name : oci_resource_name);
    }
    if (cgroup.v1_) {
        devices::apply_v1(cgroup.path_, policy);
        return cgroup;
    }
    // O_RDONLY, not O_PATH: BPF_PROG_ATTACH takes the directory itself (clone3 takes either).
    cgroup.fd_ = Fd(sys::kernel().openat(AT_FDCWD, cgroup.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup.fd_) throw SysError("create the container's cgroup", "open", cgroup.path_, errno);
    bpf::apply_v2(cgroup.fd_.get(), cgroup.path_, policy);
    return cgroup;
}

namespace {

// The hierarchies rootless limits go to (runtime/cgroup.hpp, create_delegated): each v1 one
// holding a controller of theirs, and the unified one when a controller is in none of those.
// Throws UsageError when the user may not write their own cgroup in one of them.
std::vector<const CgroupHierarchy*> delegated_hierarchies(const std::vector<CgroupHierarchy>& all, const Resources& limits) {
    const std::vector<std::string> controllers = wanted_controllers(limits, false);
    std::vector<const CgroupHierarchy*> out = limit_hierarchies(all, controllers);
    const bool all_in_v1 = std::all_of(controllers.begin(), controllers.end(), [&](const std::string& c) {
        return std::any_of(out.begin(), out.end(), [&](const CgroupHierarchy* h) { return holds(*h, c); });
    });
    if (!all_in_v1) {
        auto unified = std::find_if(all.begin(), all.end(), [](const CgroupHierarchy& h) { return h.fstype == "cgroup2"; });
        if (unified == all.end())
            throw UsageError("rootless hutch: this host mounts no cgroup hierarchy for the container's resource limits");
        out.insert(out.begin(), &*unified);
    }
    for (const CgroupHierarchy* h : out) {
        const std::string own = h->mount_point + own_cgroup(*h);
        if (::access(own.c_str(), W_OK | X_OK) != 0)
            throw UsageError("rootless hutch applies a resource limit (--memory, --cpus, --pids-limit, ...) only in a cgroup "
                             "delegated to you, and you may not write " + own + " (systemd delegates user@UID.service on "
                             "cgroup2; on v1 an administrator can chown a cgroup of each controller to you)");
    }
    return out;
}

}  // namespace

std::pair<std::string, std::vector<std::string>> Cgroup::delegated_paths_for(const std::string& id, const Resources& limits) {
    std::pair<std::string, std::vector<std::string>> out;
    if (!limits.limits_anything()) return out;
    const auto hierarchies = host_cgroup_hierarchies();  // what the pointers below point into
    for (const CgroupHierarchy* h : delegated_hierarchies(hierarchies, limits)) {
        const std::string path = h->mount_point + own_cgroup(*h) + "/hutch/" + id;
        if (h->fstype == "cgroup2") out.first = path;
        else out.second.push_back(path);
    }
    return out;
}

Cgroup Cgroup::create_delegated(const std::string& id, const Resources& limits, std::string (*name)(const std::string&)) {
    Cgroup cgroup;
    if (!limits.limits_anything()) return cgroup;
    const auto hierarchies = host_cgroup_hierarchies();
    CgroupDirs dirs;
    std::string unified_group;
    for (const CgroupHierarchy* h : delegated_hierarchies(hierarchies, limits)) {
        const std::string group = h->mount_point + own_cgroup(*h) + "/hutch";
        // Each recorded before it exists: whatever fails next, the destructor removes it.
        if (h->fstype == "cgroup2") {
            cgroup.path_ = group + "/" + id;
            unified_group = group;
        } else {
            cgroup.v1_paths_.push_back(group + "/" + id);
        }
        const std::string& path = h->fstype == "cgroup2" ? cgroup.path_ : cgroup.v1_paths_.back();
        make_container_dir(group, path, holds(*h, "cpuset"));
        dirs.emplace_back(*h, path);
    }
    if (!unified_group.empty()) enable_unified_controllers(unified_group, hierarchies, wanted_controllers(limits, false));
    apply_resources(limits, dirs, name ? name : oci_resource_name);
    if (!cgroup.path_.empty()) {
        // For clone3's CLONE_INTO_CGROUP, as create's.
        cgroup.fd_ = Fd(sys::kernel().openat(AT_FDCWD, cgroup.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!cgroup.fd_) throw SysError("create the container's cgroup", "open", cgroup.path_, errno);
    }
    return cgroup;
}

void Cgroup::attach(pid_t pid) const {
    if (v1_) write_cgroup_file(path_ + "/cgroup.procs", std::to_string(pid), "move the container into its cgroup");
    for (const auto& dir : v1_paths_)
        write_cgroup_file(dir + "/cgroup.procs", std::to_string(pid), "move the container into its cgroups");
}

void remove_cgroup(const std::string& path, bool parent_too) {
    // Sub-cgroups the container made (it may, in its own cgroup namespace) go first: a cgroup
    // with children cannot be removed.
    if (DIR* dir = ::opendir(path.c_str())) {
        std::vector<std::string> children;
        while (dirent* e = ::readdir(dir))
            if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                children.push_back(path + "/" + e->d_name);
        ::closedir(dir);
        for (const auto& child : children) remove_cgroup(child, false);
    }
    // Processes that outlived the container's init (only possible without a PID namespace).
    for (int attempt = 0; ::rmdir(path.c_str()) != 0 && errno == EBUSY && attempt < 100; ++attempt) {
        if (attempt == 0) {
            try {
                write_cgroup_file(path + "/cgroup.kill", "1", "kill the container's processes");
            } catch (const Error&) {
                std::istringstream procs(read_cgroup_file(path + "/cgroup.procs"));
                pid_t pid;
                while (procs >> pid) ::kill(pid, SIGKILL);
            }
        }
        timespec pause{0, 10'000'000};
        ::nanosleep(&pause, nullptr);
    }
    // The shared "hutch" parent goes when it is empty, so the caller's cgroup can be removed.
    if (parent_too) ::rmdir(path.substr(0, path.find_last_of('/')).c_str());
}

std::vector<std::string> container_cgroups(const std::string& id, const std::vector<std::string>& recorded) {
    std::vector<std::string> out = recorded;
    // An id is 64 hex digits (hutch's own): never a path that leaves hutch's parent.
    if (id.empty() || id.find_first_of("/.") != std::string::npos) return out;
    const std::string own = read_cgroup_file("/proc/self/cgroup");
    for (const auto& h : host_cgroup_hierarchies()) {
        std::string dir = h.mount_point + cgroup_in(own, h) + "/hutch/" + id;
        if (std::find(out.begin(), out.end(), dir) == out.end() && ::access(dir.c_str(), F_OK) == 0) out.push_back(dir);
    }
    return out;
}

void remove_container_cgroups(const std::string& id, const std::vector<std::string>& recorded) {
    for (const auto& dir : container_cgroups(id, recorded)) remove_cgroup(dir);
}

long oom_kills(const std::vector<std::string>& dirs) {
    long kills = 0;
    for (const auto& dir : dirs)
        for (const char* file : {"/memory.oom_control", "/memory.events"}) {
            std::istringstream lines(read_cgroup_file(dir + file));
            std::string key;
            long value = 0;
            while (lines >> key >> value)
                if (key == "oom_kill") kills += value;
        }
    return kills;
}

std::vector<std::string> Cgroup::all_paths() const {
    std::vector<std::string> dirs = v1_paths_;
    if (!path_.empty()) dirs.push_back(path_);
    // `hutch update` may have given the container cgroups since (a memory or pids limit it did
    // not start with): they are where this process's own cgroup is, and found there.
    return path_.empty() ? dirs : container_cgroups(path_.substr(path_.find_last_of('/') + 1), dirs);
}

long Cgroup::oom_kills() const { return hutch::oom_kills(all_paths()); }

Cgroup::~Cgroup() {
    fd_.reset();
    for (const auto& dir : all_paths()) remove_cgroup(dir);
}

}  // namespace hutch
