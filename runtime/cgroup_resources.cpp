#include "runtime/cgroup_resources.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <sstream>

#include "runtime/bpf_device_program.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/devices.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/state.hpp"

namespace hutch {
namespace {

bool has_controller(const CgroupHierarchy& h, const std::string& controller) {
    std::istringstream list(h.controllers);
    for (std::string c; std::getline(list, c, ',');)
        if (c == controller) return true;
    return false;
}

void write_value(const std::string& file, const std::string& value) {
    write_cgroup_file(file, value, "apply linux.resources");
}

// Whether a process is in the cgroup `dir` or below it: cgroup2 says so in cgroup.events, v1 is
// read level by level.
bool populated(const std::string& dir) {
    const std::string events = read_cgroup_file(dir + "/cgroup.events");
    if (!events.empty()) return events.find("populated 1") != std::string::npos;
    if (!read_cgroup_file(dir + "/cgroup.procs").empty()) return true;
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* listing = fd ? ::fdopendir(fd.release()) : nullptr;
    if (!listing) return false;
    std::vector<std::string> below;
    while (dirent* e = ::readdir(listing))
        if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            below.push_back(dir + "/" + e->d_name);
    ::closedir(listing);
    return std::any_of(below.begin(), below.end(), populated);
}

// cgroup2 hands a controller down only where each level above enables it in
// cgroup.subtree_control. hugetlb, which the hierarchy offers (its root's cgroup.controllers) but
// no level enables on a hybrid host, is enabled from the root down to the container's parent,
// as runc enables controllers; it stays enabled, as under runc. Only hugetlb: the others are
// the host's (systemd's) to hand down. A level that refuses (EBUSY: it holds processes) gives
// back what this call enabled above it. False when the hierarchy does not offer it.
bool enable_v2_hugetlb(const std::string& mount_point, const std::string& dir) {
    const std::string controller = "hugetlb";
    auto has = [&](const std::string& file) {
        return (" " + read_cgroup_file(file) + " ").find(" " + controller + " ") != std::string::npos;
    };
    if (!has(mount_point + "/cgroup.controllers")) return false;
    const std::string parent = dir.substr(0, dir.rfind('/'));
    std::vector<std::string> enabled;
    try {
        for (std::string level = mount_point;;) {
            if (!has(level + "/cgroup.subtree_control")) {
                explain::comment("cgroup2 offers hugetlb but " + level + " does not hand it down: enabled there");
                write_cgroup_file(level + "/cgroup.subtree_control", "+hugetlb", "enable the hugetlb controller");
                enabled.push_back(level);
            }
            if (level.size() >= parent.size()) return true;
            level = parent.substr(0, parent.find('/', level.size() + 1));
        }
    } catch (const Error&) {
        for (auto it = enabled.rbegin(); it != enabled.rend(); ++it) {
            try {
                write_cgroup_file(*it + "/cgroup.subtree_control", "-hugetlb", "give the hugetlb controller back");
            } catch (const Error&) {
                // Best effort: the level that refused is the error to report.
            }
        }
        throw;
    }
}

// mkdir -p below the hierarchy's mount point; a new cpuset level starts with its parent's cpus
// and mems, without which no process could be attached to it (ENOSPC). The last level may exist
// (an engine made it), as runc joins it, but must hold no process: delete kills whatever is in
// it, which must only ever be the container's.
// Returns the highest level it made above the last one ("" when it made none), so delete can
// remove what create added and nothing else.
std::string make_cgroup_dirs(const std::string& mount_point, const std::string& relative, bool cpuset,
                             const ResourceCgroups::Holder& holder) {
    std::string dir = mount_point;
    std::istringstream parts(relative);
    std::vector<std::string> levels;
    for (std::string part; std::getline(parts, part, '/');)
        if (!part.empty()) levels.push_back(part);
    // A level found (or made) here can vanish before the next one is made in it: deleting
    // another container removes the shared parent ("hutch-oci") as soon as it is empty
    // (remove_cgroup). The next mkdir then fails with ENOENT, and a create running beside a
    // delete failed with "mkdir .../hutch-oci/<id>: No such file or directory". Start again from
    // the top instead.
    for (int attempt = 0;; ++attempt) {
        dir = mount_point;
        bool vanished = false;
        std::string first_made;
        for (std::size_t i = 0; i < levels.size() && !vanished; ++i) {
            std::string parent = dir;
            dir += "/" + levels[i];
            if (sys::kernel().mkdirat(AT_FDCWD, dir.c_str(), 0755) != 0) {
                if (errno == ENOENT && i > 0 && attempt < 100) {
                    vanished = true;
                    continue;
                }
                if (errno != EEXIST) throw SysError("create the container's cgroup", "mkdir", dir, errno);
                if (i + 1 == levels.size() && populated(dir))
                    throw UsageError("config.json: linux.cgroupsPath: " + dir +
                                     " already holds processes (a container's cgroup must be empty)");
                // A stopped container's cgroup is empty too, until its delete, which would
                // then kill whatever joined it.
                if (std::string who; i + 1 == levels.size() && holder && !(who = holder(dir)).empty())
                    throw UsageError("config.json: linux.cgroupsPath: " + dir + " is the cgroup of container " + who);
            } else {
                if (first_made.empty() && i + 1 < levels.size()) first_made = dir;
            }
            // Also for a level found: another create may have made it an instant ago and not
            // filled it yet (runc fills every empty level the same way).
            if (!cpuset) continue;
            for (const char* file : {"/cpuset.cpus", "/cpuset.mems"})
                if (read_cgroup_file(dir + file).empty()) write_value(dir + file, read_cgroup_file(parent + file));
        }
        if (!vanished) return first_made;
    }
}

}  // namespace

std::vector<std::string> resource_controllers(const Resources& r) {
    std::vector<std::string> out;
    if (r.memory_limit || r.memory_swap || r.memory_reservation || r.kernel_memory || r.disable_oom_killer)
        out.push_back("memory");
    if (r.pids_limit) out.push_back("pids");
    if (r.cpu_shares || r.cpu_quota || r.cpu_period) out.push_back("cpu");
    if (!r.cpus.empty() || !r.mems.empty()) out.push_back("cpuset");
    if (r.blkio_weight) out.push_back("blkio");
    if (!r.hugepage_limits.empty()) out.push_back("hugetlb");
    return out;
}

std::string oci_resource_name(const std::string& field) { return "config.json: " + field; }

// Writes each resource into the hierarchy that has its controller: a v1 hierarchy when one is
// mounted for it, else the unified one (with cgroup2's file names and units).
void apply_resources(const Resources& r, const CgroupDirs& dirs, ResourceName name) {
    auto find = [&](const std::string& controller) -> const std::pair<CgroupHierarchy, std::string>* {
        for (const auto& d : dirs)
            if (d.first.fstype == "cgroup" && has_controller(d.first, controller)) return &d;
        // cgroup2 names the block I/O controller io.
        const std::string v2 = controller == "blkio" ? "io" : controller;
        for (const auto& d : dirs)
            if (d.first.fstype == "cgroup2") {
                std::string enabled = " " + read_cgroup_file(d.second + "/../cgroup.subtree_control") + " ";
                if (::access((d.second + "/" + v2 + ".max").c_str(), F_OK) == 0 ||
                    enabled.find(" " + v2 + " ") != std::string::npos ||
                    (v2 == "hugetlb" && enable_v2_hugetlb(d.first.mount_point, d.second)))
                    return &d;
            }
        return nullptr;
    };
    auto need = [&](const std::string& controller, const char* field) {
        const auto* d = find(controller);
        if (!d) throw UsageError(name(field) + ": the " + controller + " controller is not available on this host");
        return d;
    };
    auto limit = [](std::int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
    if (r.pids_limit) {
        const auto* d = need("pids", "linux.resources.pids");
        write_value(d->second + "/pids.max", *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit));
    }
    if (r.memory_limit || r.memory_swap || r.memory_reservation || r.kernel_memory || r.disable_oom_killer) {
        const auto* d = need("memory", "linux.resources.memory");
        if (d->first.fstype == "cgroup") {
            const std::string memsw = d->second + "/memory.memsw.limit_in_bytes";
            if (r.memory_swap && ::access(memsw.c_str(), F_OK) != 0)
                throw UsageError(name("linux.resources.memory.swap") + ": this kernel does not account swap");
            // The kernel keeps memory <= memory+swap at every write (EINVAL otherwise): raising
            // both above the current memory+swap (an update) writes the swap limit first.
            const bool swap_first = r.memory_swap && r.memory_limit &&
                                    *r.memory_limit > std::stoll("0" + read_cgroup_file(memsw).substr(0, 19));
            if (swap_first) write_value(memsw, std::to_string(*r.memory_swap));
            if (r.memory_limit) write_value(d->second + "/memory.limit_in_bytes", std::to_string(*r.memory_limit));
            if (r.memory_swap && !swap_first) write_value(memsw, std::to_string(*r.memory_swap));
            if (r.memory_reservation)
                write_value(d->second + "/memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation));
            if (r.kernel_memory) {
                // Linux 5.16 made the kmem limit a no-op that still accepts writes: only a value
                // that reads back is a limit.
                std::string file = d->second + "/memory.kmem.limit_in_bytes";
                if (::access(file.c_str(), F_OK) == 0) write_value(file, std::to_string(*r.kernel_memory));
                std::int64_t page = ::sysconf(_SC_PAGESIZE);
                // -1 (unlimited) reads back as the kernel's own maximum.
                if (*r.kernel_memory >= 0 && read_cgroup_file(file) != std::to_string(*r.kernel_memory / page * page))
                    throw UsageError(name("linux.resources.memory.kernel") +
                                     ": this kernel no longer enforces kernel memory limits (removed in Linux 5.16)");
            }
            if (r.disable_oom_killer && *r.disable_oom_killer) write_value(d->second + "/memory.oom_control", "1");
        } else {
            if (r.kernel_memory)
                throw UsageError(name("linux.resources.memory.kernel") +
                                 ": cgroup v2 has no kernel memory limit (kernel memory counts in memory.max)");
            if (r.disable_oom_killer && *r.disable_oom_killer)
                throw UsageError(name("linux.resources.memory.disableOOMKiller") +
                                 ": cgroup v2 cannot turn the OOM killer off for a cgroup");
            if (r.memory_limit) write_value(d->second + "/memory.max", limit(*r.memory_limit));
            // OCI's swap is memory+swap (v1's memsw); cgroup2 limits swap alone.
            if (r.memory_swap)
                write_value(d->second + "/memory.swap.max",
                            *r.memory_swap < 0 || !r.memory_limit || *r.memory_limit < 0
                                ? "max"
                                : std::to_string(std::max<std::int64_t>(0, *r.memory_swap - *r.memory_limit)));
            if (r.memory_reservation) write_value(d->second + "/memory.low", limit(*r.memory_reservation));
        }
    }
    if (r.cpu_shares || r.cpu_quota || r.cpu_period) {
        const auto* d = need("cpu", "linux.resources.cpu");
        if (d->first.fstype == "cgroup") {
            if (r.cpu_shares && *r.cpu_shares > 0) write_value(d->second + "/cpu.shares", std::to_string(*r.cpu_shares));
            if (r.cpu_period) write_value(d->second + "/cpu.cfs_period_us", std::to_string(*r.cpu_period));
            if (r.cpu_quota) write_value(d->second + "/cpu.cfs_quota_us", std::to_string(*r.cpu_quota));
        } else {
            // runc's conversion of shares (2..262144) to cgroup2's weight (1..10000).
            // runc's conversion of shares (2..262144) to cgroup2's weight (1..10000); 0 is "not set"
            // (dockerd writes it) and must not wrap around below 2.
            if (r.cpu_shares && *r.cpu_shares > 0)
                write_value(d->second + "/cpu.weight",
                            std::to_string(1 + ((std::clamp<std::uint64_t>(*r.cpu_shares, 2, 262144) - 2) * 9999) / 262142));
            if (r.cpu_quota || r.cpu_period)
                write_value(d->second + "/cpu.max", (r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max") +
                                                        " " + std::to_string(r.cpu_period.value_or(100000)));
        }
    }
    if (!r.cpus.empty()) write_value(need("cpuset", "linux.resources.cpu.cpus")->second + "/cpuset.cpus", r.cpus);
    if (!r.mems.empty()) write_value(need("cpuset", "linux.resources.cpu.mems")->second + "/cpuset.mems", r.mems);
    if (r.blkio_weight) {
        // A weight is a share of disk time, not isolation: where the I/O scheduler has none
        // (no BFQ), it is dropped with Docker's warning rather than refused.
        const auto* d = find("blkio");
        std::string file;
        if (d)
            for (const char* f : {"/blkio.weight", "/blkio.bfq.weight", "/io.weight", "/io.bfq.weight"})
                if (::access((d->second + f).c_str(), F_OK) == 0) {
                    file = d->second + f;
                    break;
                }
        if (file.empty())
            std::cerr << "WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                         "Weight discarded." << std::endl;
        else
            write_value(file, std::to_string(*r.blkio_weight));
    }
    for (const auto& h : r.hugepage_limits) {
        // A limit not enforced would be a container free to pin the host's huge pages: refused
        // where the controller is missing (runc skips an unmounted hugetlb hierarchy silently).
        const auto* d = need("hugetlb", "linux.resources.hugepageLimits");
        std::string file = d->second + "/hugetlb." + h.page_size + (d->first.fstype == "cgroup" ? ".limit_in_bytes" : ".max");
        if (::access(file.c_str(), F_OK) != 0)
            throw UsageError(name("linux.resources.hugepageLimits") + ": " + h.page_size + " is not a huge page size of this host");
        write_value(file, std::to_string(h.limit));
    }
    if (!r.unified.empty()) {
        auto v2 = std::find_if(dirs.begin(), dirs.end(), [](const auto& d) { return d.first.fstype == "cgroup2"; });
        if (v2 == dirs.end())
            throw UsageError(name("linux.resources.unified") + ": the container has no cgroup2 cgroup on this host");
        for (const auto& [file, value] : r.unified) {
            // Only a file the kernel made for this cgroup: a controller not enabled here has none.
            std::string path = v2->second + "/" + file;
            if (::access(path.c_str(), F_OK) != 0)
                throw UsageError(name("linux.resources.unified") + ": \"" + file + "\" is not a file of the container's cgroup2 cgroup (" +
                                 v2->second + "): is its controller enabled there?");
            write_value(path, value);
        }
    }
}

namespace {

// The device policy (runtime/devices.hpp) on every cgroup of the container that can hold it:
// the unified one's program, and the v1 devices hierarchy's lists where the container is placed
// there too (both enforce; engines read devices.list). A container with neither is refused.
void apply_device_policy(const devices::Policy& policy, int unified_fd,
                         const std::vector<std::pair<CgroupHierarchy, std::string>>& dirs) {
    bool applied = false;
    for (const auto& [h, dir] : dirs) {
        if (h.fstype == "cgroup2") {
            bpf::apply_v2(unified_fd, dir, policy);
            applied = true;
        } else if (has_controller(h, "devices")) {
            devices::apply_v1(dir, policy);
            applied = true;
        }
    }
    if (!applied && !policy.allows_everything())
        throw Error("apply the device policy: this host mounts neither cgroup2 nor cgroup v1's devices "
                    "controller under /sys/fs/cgroup");
}

}  // namespace

ResourceCgroups ResourceCgroups::create(const LinuxSection& linux, const std::string& id, const Holder& holder) {
    const std::string& path = linux.cgroups_path;
    if (path.find(':') != std::string::npos && path[0] != '/')
        throw UsageError("config.json: linux.cgroupsPath \"" + path + "\": a systemd SLICE:PREFIX:NAME needs --systemd-cgroup");
    if (("/" + path + "/").find("/../") != std::string::npos || ("/" + path + "/").find("/./") != std::string::npos)
        throw UsageError("config.json: linux.cgroupsPath \"" + path + "\" must not hold . or .. components");
    if (!path.empty() && path.find_first_not_of('/') == std::string::npos)
        throw UsageError("config.json: linux.cgroupsPath \"" + path + "\" names the root cgroup");
    // Checked before anything is made: a bad rule leaves nothing behind.
    const devices::Policy policy = devices::container_policy(linux);
    // Nothing asked: the unified hierarchy only, as `hutch run` does; without one, v1's devices
    // hierarchy, which the device policy needs.
    const bool everywhere = !path.empty() || !linux.resources.empty();
    const auto hierarchies = host_cgroup_hierarchies();
    const bool unified = std::any_of(hierarchies.begin(), hierarchies.end(),
                                     [](const CgroupHierarchy& h) { return h.fstype == "cgroup2"; });
    ResourceCgroups out;
    CgroupDirs dirs;
    for (const auto& h : hierarchies) {
        if (!everywhere && h.fstype != "cgroup2" && (unified || !has_controller(h, "devices"))) continue;
        std::string relative = path.empty() ? own_cgroup(h) + "/hutch-oci/" + id
                               : path[0] == '/' ? path
                                                : own_cgroup(h) + "/" + path;
        std::string made = make_cgroup_dirs(h.mount_point, relative, has_controller(h, "cpuset"), holder);
        std::string dir = h.mount_point + relative;
        // Recorded at once: whatever follows fails, the destructor removes it.
        if (!made.empty()) out.made_parents_.push_back(made);
        if (h.fstype == "cgroup2") {
            out.paths_.insert(out.paths_.begin(), dir);
            // O_RDONLY, not O_PATH: BPF_PROG_ATTACH takes the directory itself.
            out.unified_fd_ = Fd(sys::kernel().openat(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!out.unified_fd_) throw SysError("create the container's cgroup", "open", dir, errno);
        } else {
            out.paths_.push_back(dir);
            out.v1_paths_.push_back(dir);
        }
        dirs.emplace_back(h, dir);
    }
    apply_resources(linux.resources, dirs, oci_resource_name);
    apply_device_policy(policy, out.unified_fd_.get(), dirs);
    return out;
}

void ResourceCgroups::attach(pid_t pid) const {
    for (const auto& dir : v1_paths_) write_value(dir + "/cgroup.procs", std::to_string(pid));
}

ResourceCgroups::~ResourceCgroups() {
    if (!kept_) remove_cgroups(paths_, made_parents_);
}

std::string systemd_cgroups_path(const std::string& given) {
    auto bad = [&](const std::string& why) {
        return UsageError("config.json: linux.cgroupsPath \"" + given + "\" with --systemd-cgroup: " + why);
    };
    std::vector<std::string> parts;
    std::istringstream fields(given);
    for (std::string part; std::getline(fields, part, ':');) parts.push_back(part);
    if (given.empty() || given.back() == ':') parts.push_back("");
    if (parts.size() != 3) throw bad("expected SLICE:PREFIX:NAME, as system.slice:docker:<id>");
    auto unit_word = [&](const std::string& word, const char* what) {
        // systemd's unit name characters, without its escape (\\) and template (@) ones.
        if (word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string::npos ||
            word == "." || word == "..")
            throw bad(std::string(what) + " \"" + word + "\" is not a unit name");
    };
    std::string slice = parts[0].empty() ? "system.slice" : parts[0];
    unit_word(slice, "the slice");
    unit_word(parts[1], "the prefix");
    unit_word(parts[2], "the name");
    if (parts[2].empty()) throw bad("the name is empty");
    if (!slice.ends_with(".slice")) throw bad("the slice \"" + slice + "\" does not end in .slice");
    // a-b-c.slice lives in /a.slice/a-b.slice/a-b-c.slice; -.slice is the root.
    std::string path;
    std::string stem = slice.substr(0, slice.size() - 6);
    if (stem != "-") {
        if (stem.empty() || stem.front() == '-' || stem.back() == '-' || stem.find("--") != std::string::npos)
            throw bad("the slice \"" + slice + "\" is not a slice name");
        for (std::size_t dash = 0;; ++dash) {
            dash = stem.find('-', dash);
            path += "/" + stem.substr(0, dash) + ".slice";
            if (dash == std::string::npos) break;
        }
    }
    if (parts[2].ends_with(".slice")) return path + "/" + parts[2];
    return path + "/" + (parts[1].empty() ? "" : parts[1] + "-") + parts[2] + ".scope";
}

void remove_default_cgroups(const std::string& id) {
    for (const auto& h : host_cgroup_hierarchies()) {
        std::string dir = h.mount_point + own_cgroup(h) + "/hutch-oci/" + id;
        if (::access(dir.c_str(), F_OK) == 0) remove_cgroup(dir, true);
    }
}

void remove_cgroups(const std::vector<std::string>& paths, const std::vector<std::string>& made_parents) {
    // Only the parent hutch made for containers without a cgroupsPath goes with them; an
    // engine's parents (podman's libpod_parent, a pod's cgroup) are the engine's.
    for (const auto& p : paths) remove_cgroup(p, p.find("/hutch-oci/") != std::string::npos);
    // The levels above a cgroupsPath that create made, deepest first, while they are empty
    // (another container may have been put below them since).
    for (const auto& top : made_parents)
        for (const auto& leaf : paths) {
            if (leaf.rfind(top + "/", 0) != 0) continue;
            for (std::string dir = leaf.substr(0, leaf.rfind('/')); dir.size() >= top.size(); dir = dir.substr(0, dir.rfind('/')))
                if (::rmdir(dir.c_str()) != 0) break;
        }
}

}  // namespace hutch
