// hutch-probe's mount table (gather.hpp): the root, read-only and masked mounts as the process
// sees them, and the runtime those mounts (and a few well-known markers) point to.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "caps/probe/gather.hpp"

namespace hutch::probe {
namespace {

bool dir_is_empty(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return false;
    }
    bool empty = true;
    while (dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    ::closedir(d);
    return empty;
}

std::string self_exe() {
    auto exe = read_link("/proc/self/exe");
    return exe ? *exe : "";
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// What masks `m`, a mount below /proc or /sys: "/dev/null" bound over it, or an empty read-only
// tmpfs; nullopt when it is no mask.
std::optional<std::string> mask_of(const MountEntry& m, bool ro) {
    bool proc_or_sys = path_under(m.mount_point, "/proc") || path_under(m.mount_point, "/sys");
    if (!proc_or_sys || m.mount_point == "/proc" || m.mount_point == "/sys") return std::nullopt;
    // Only mounts that are themselves tmpfs/devtmpfs are looked at: stat() or opendir() on
    // an autofs mount point (/proc/sys/fs/binfmt_misc on systemd hosts) would trigger the
    // automount, a change on the host. AT_NO_AUTOMOUNT is belt and braces.
    if (m.fstype != "tmpfs" && m.fstype != "devtmpfs") return std::nullopt;
    struct stat st {};
    if (::fstatat(AT_FDCWD, m.mount_point.c_str(), &st, AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW) != 0)
        return std::nullopt;
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) return "/dev/null";
    if (S_ISDIR(st.st_mode) && ro && m.fstype == "tmpfs" && dir_is_empty(m.mount_point)) return "empty read-only tmpfs";
    return std::nullopt;
}

// What points to a runtime, in the order found. Markers a runtime leaves itself decide; the
// probe's own path comes last because anyone can bind the probe there (a lab comparing with
// `docker run -v ./hutch-probe:/dev/.hutch-probe`).
struct Evidence {
    std::vector<std::string> strong, weak, why;
    void sign(const std::string& name, std::string reason) { found(strong, name, std::move(reason)); }
    void weak_sign(const std::string& name, std::string reason) { found(weak, name, std::move(reason)); }

private:
    void found(std::vector<std::string>& rank, const std::string& name, std::string reason) {
        rank.push_back(name);
        why.push_back(std::move(reason));
    }
};

// hutch: host paths under .../hutch/... behind the root overlay and the /etc files it
// bind-mounts from its state directory (/var/lib/hutch, /run/hutch unless moved).
void mount_evidence(const Mounts& mounts, Evidence& ev) {
    for (const auto& m : mounts.all) {
        bool root = m.mount_point == "/";
        bool etc = m.mount_point == "/etc/hosts" || m.mount_point == "/etc/hostname" ||
                   m.mount_point == "/etc/resolv.conf";
        if (!root && !etc) continue;
        std::string where = m.fstype == "overlay" ? m.super_options : m.root;
        if (contains(where, "/hutch/"))
            ev.sign("hutch", m.mount_point + " comes from a path under /hutch/ (" + m.fstype + ")");
        else if (contains(m.root, "/docker/containers/"))
            ev.sign("docker", m.mount_point + " comes from /docker/containers/");
        else if (contains(where, "/containers/storage/"))
            ev.sign("podman", m.mount_point + " comes from containers/storage");
    }
}

// The cgroup path, the files and environment runtimes leave, and the probe's own path.
void marker_evidence(const std::string& exe, Evidence& ev) {
    Text cg = read_file("/proc/self/cgroup");
    if (cg.text) {
        for (const auto& [part, name] : {std::pair{"/hutch/", "hutch"}, std::pair{"docker", "docker"},
                                         std::pair{"libpod", "podman"}, std::pair{"kubepods", "kubernetes"},
                                         std::pair{"/lxc", "lxc"}}) {
            if (contains(*cg.text, part)) {
                ev.sign(name, std::string("/proc/self/cgroup mentions ") + part);
                break;
            }
        }
    }
    if (::access("/run/.containerenv", F_OK) == 0) ev.sign("podman", "/run/.containerenv exists");
    if (::access("/.dockerenv", F_OK) == 0) ev.sign("docker", "/.dockerenv exists");
    if (const char* env = std::getenv("container"); env && *env)
        ev.sign(env, std::string("environment: container=") + env);
    if (::access("/.flatpak-info", F_OK) == 0) ev.sign("flatpak", "/.flatpak-info exists");
    if (std::getenv("KUBERNETES_SERVICE_HOST")) ev.sign("kubernetes", "environment: KUBERNETES_SERVICE_HOST");
    if (exe == kProbePath)
        ev.weak_sign("hutch", std::string("this probe runs from ") + kProbePath + " (hutch run --probe)");
    else if (::access(kProbePath, F_OK) == 0)
        ev.weak_sign("hutch", std::string(kProbePath) + " exists (hutch run --probe)");
}

}  // namespace

Mounts gather_mounts() {
    Mounts out;
    Text t = read_file("/proc/self/mountinfo");
    if (!t.text) {
        out.err = t.err;
        return out;
    }
    out.all = parse_mountinfo(*t.text);
    std::string exe = self_exe();
    // Later lines are mounted on top of earlier ones: the last entry for a path is what is seen.
    std::map<std::string, const MountEntry*> visible;
    for (const auto& m : out.all) visible[m.mount_point] = &m;
    if (auto it = visible.find("/"); it != visible.end()) out.root = *it->second;

    for (const auto& m : out.all) {
        if (visible[m.mount_point] != &m) continue;  // covered by a later mount
        if (m.mount_point == exe || m.mount_point == kProbePath) {
            out.probe_mount = m.mount_point;
            continue;
        }
        bool ro = has_option(m.options, "ro");
        if (auto by = mask_of(m, ro)) {
            out.masked.push_back({m.mount_point, *by});
            continue;
        }
        if (ro) out.read_only.push_back(m.mount_point);
    }
    return out;
}

Runtime gather_runtime(const Mounts& mounts) {
    Runtime rt;
    struct utsname u {};
    if (::uname(&u) == 0) {
        rt.hostname = u.nodename;
        rt.domainname = u.domainname;
    }
    rt.exe = self_exe();
    Evidence ev;
    mount_evidence(mounts, ev);
    marker_evidence(rt.exe, ev);
    rt.evidence = std::move(ev.why);
    if (!ev.strong.empty()) rt.name = ev.strong.front();
    else if (!ev.weak.empty()) rt.name = ev.weak.front();
    return rt;
}

}  // namespace hutch::probe
