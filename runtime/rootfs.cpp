#include "runtime/rootfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "runtime/cgroup.hpp"
#include "runtime/detached_mounts.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/mountinfo.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch {
namespace {

using Create = mnt::Root::Create;

// Overlay parses ',' ':' and '\' in its options: escape them so any rootfs path works.
std::string overlay_escape(const std::string& path) {
    std::string out;
    for (char c : path) {
        if (c == ',' || c == ':' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

// An image's layer directories, top first, as overlay's lowerdir list.
// The kernel takes a page of mount options: an image with very many layers does not fit (Docker
// shortens the paths with links; hutch says so instead).
std::string lower_dirs(const std::vector<std::string>& layers) {
    std::string out;
    for (const auto& dir : layers) out += (out.empty() ? "" : ":") + overlay_escape(dir);
    if (out.size() > 3800)
        throw Error("the image's " + std::to_string(layers.size()) + " layers do not fit in one overlay mount's options");
    return out;
}

bool is_bind(const Mount& m, const mnt::Options& o) { return m.type == "bind" || o.bind; }

struct DeviceNode {
    const char* name;
    unsigned major, minor;
};
// The nodes every container gets (OCI "default devices"), as Docker creates them.
constexpr DeviceNode kDefaultDevices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};
constexpr std::pair<const char*, const char*> kDevLinks[] = {
    {"fd", "/proc/self/fd"},   {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},      {"core", "/proc/kcore"},
};

// Copies every host device node under `host_dir` into `dev_dir` (privileged containers get the
// host's devices, as Docker gives them). The host's /dev is read as it is listed; a node that
// cannot be made is an error, except one the container's /dev already has (the defaults).
void copy_host_devices(const std::string& host_dir, int dev_dir, const std::string& shown) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(host_dir.c_str()), ::closedir);
    if (!dir) throw SysError("copy the host's devices", "opendir", host_dir, errno);
    sys::Kernel& k = sys::kernel();
    while (dirent* e = ::readdir(dir.get())) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || name == "pts" || name == "shm" || name == "mqueue" || name == "console")
            continue;
        std::string path = host_dir + "/" + name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) continue;  // gone since it was listed
        if (S_ISDIR(st.st_mode)) {
            if (k.mkdirat(dev_dir, name.c_str(), 0755) != 0 && errno != EEXIST)
                throw SysError("copy the host's devices", "mkdirat", shown + "/" + name, errno);
            Fd sub(check(k.openat(dev_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                         "copy the host's devices", "openat", shown + "/" + name));
            copy_host_devices(path, sub.get(), shown + "/" + name);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            if (k.mknodat(dev_dir, name.c_str(), st.st_mode, st.st_rdev) != 0) {
                if (errno == EEXIST) continue;
                throw SysError("copy the host's devices", "mknodat", shown + "/" + name, errno);
            }
            check(k.fchownat(dev_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW),
                  "copy the host's devices", "fchownat", shown + "/" + name);
        }
    }
}

// linux.rootfsPropagation as mount(2) flags. Empty, private and rprivate are hutch's default,
// every mount private (runc's default is rslave, and its "private" only the root's).
unsigned long root_propagation(const Spec& spec) {
    const unsigned long flags = spec.linux.rootfs_propagation.empty()
                                    ? 0
                                    : mnt::parse_options({spec.linux.rootfs_propagation}).propagation;
    return flags == 0 || (flags & MS_PRIVATE) ? MS_REC | MS_PRIVATE : flags;
}

}  // namespace

void RootfsBuilder::assemble() {
    const unsigned long propagation = root_propagation(spec_);
    if (propagation & MS_PRIVATE) {
        mnt::set_propagation("make mounts private", "/", "/", propagation);
    } else if (staged_) {
        // The namespace is a copy of the parent's private staging one: no mount of it is a peer
        // of the host's, and a shared volume's copy is the host's slave.
        mnt::set_propagation("set the root's propagation", "/", "/", propagation);
    } else {
        // As runc: the host's mounts keep their peer groups (a shared volume's source with
        // them), so a mount under one reaches the host. The root is mounted on a directory of
        // the state root and, for a bundle, bound from the rootfs directory: the mounts those
        // lie on are made private first, so that neither the root nor anything mounted in it
        // propagates out.
        mnt::set_propagation("set the root's propagation", "/", "/", propagation);
        // Found by the mount id of the directory itself (statx), never by its path: a symlink
        // on the way (/var/run -> /run) or a mount stacked over a deeper one would name
        // another mount and leave the real one a peer of the host's.
        const std::vector<mountinfo::Entry> mounts = mountinfo::read_own();
        std::vector<std::string> holders = {plan_.merged_dir};
        if (spec_.hutch.root == HutchSection::RootKind::kBind) holders.push_back(spec_.root.path);
        for (const auto& path : holders) {
            const char* step = "make the mount holding the root private";
            Fd dir(check(open_host(path).release(), step, "open", path));
            std::uint64_t id = 0;
            check(kernel_.mount_id(dir.get(), id), step, "statx(STATX_MNT_ID)", path);
            auto holder = std::find_if(mounts.begin(), mounts.end(),
                                       [&](const mountinfo::Entry& e) { return static_cast<std::uint64_t>(e.id) == id; });
            if (holder == mounts.end()) throw Error(std::string(step) + ": mount " + std::to_string(id) + " of " + path + " is not in /proc/self/mountinfo");
            // Its mount point, as mountinfo gives it (no symlink): the path the directory was just
            // opened through reached this mount, so nothing covers it there.
            mnt::set_propagation(step, holder->point, holder->point, MS_PRIVATE);
        }
    }
    mount_root();
    for (std::size_t i = 0; i < spec_.mounts.size(); ++i) mount_one(spec_.mounts[i], i);
}

void RootfsBuilder::open_host_files_now() {
    std::vector<std::string> paths = {plan_.merged_dir, plan_.upper_dir, plan_.work_dir, spec_.root.path,
                                      plan_.hosts_file, plan_.resolv_file, plan_.hostname_file};
    paths.insert(paths.end(), spec_.hutch.layers.begin(), spec_.hutch.layers.end());
    for (const Mount& m : spec_.mounts)
        if (is_bind(m, mnt::parse_options(m.options)) && !m.source.empty() && m.source[0] == '/') paths.push_back(m.source);
    for (const auto& path : paths) {
        if (path.empty()) continue;
        Fd fd(kernel_.openat(AT_FDCWD, path.c_str(), O_PATH | O_CLOEXEC));
        if (fd) opened_.emplace_back(path, std::move(fd));
    }
}

Fd RootfsBuilder::open_host(const std::string& path) const {
    for (const auto& [opened_path, fd] : opened_)
        if (opened_path == path) return Fd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    return Fd(kernel_.openat(AT_FDCWD, path.c_str(), O_PATH | O_CLOEXEC));
}

// Rootless --userns nomap (open_host_files_now): this process may not reach the layers and the
// merged dir by their paths, so the overlay takes them through /proc/self/fd, and the root is
// the new mount's own fd (fsmount): a path through /proc/self/fd ends on the directory under a
// mount made on it, never on the mount.
void RootfsBuilder::mount_overlay_by_fd() {
    const char* step = "mount the root overlay";
    auto fd_path = [&](const std::string& path) {
        for (const auto& [opened_path, fd] : opened_)
            if (opened_path == path) return "/proc/self/fd/" + std::to_string(fd.get());
        return overlay_escape(path);  // reachable as it is, or its error comes from overlayfs
    };
    std::string lower;
    for (const auto& layer : spec_.hutch.layers.empty() ? std::vector<std::string>{spec_.root.path} : spec_.hutch.layers)
        lower += (lower.empty() ? "" : ":") + fd_path(layer);
    Fd fs(kernel_.fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) throw SysError(step, "fsopen", "overlay", errno);
    for (const auto& [key, value] : {std::pair<const char*, std::string>{"lowerdir", lower},
                                     {"upperdir", fd_path(plan_.upper_dir)}, {"workdir", fd_path(plan_.work_dir)}})
        if (kernel_.fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0)
            throw SysError(step, std::string("fsconfig ") + key, value, errno);
    if (plan_.user_xattr && kernel_.fsconfig(fs.get(), FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0)
        throw SysError(step, "fsconfig userxattr", "overlay", errno);
    if (kernel_.fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        throw SysError(step, "fsconfig(FSCONFIG_CMD_CREATE)", "overlay", errno);
    Fd root(kernel_.fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
    if (!root) throw SysError(step, "fsmount", "overlay", errno);
    Fd merged(open_host(plan_.merged_dir));
    if (!merged) throw SysError(step, "open", plan_.merged_dir, errno);
    mnt::attach_at(step, root.get(), "overlay", merged, plan_.merged_dir);
    root_.emplace(plan_.merged_dir, std::move(root));
}

void RootfsBuilder::mount_root() {
    const std::string& merged = plan_.merged_dir;
    const auto& layers = spec_.hutch.layers;
    if (staged_) {
        // Made and mounted by the parent (a user namespace). Every mount the child's namespace
        // was copied with is locked, and pivot_root refuses a locked root: bound onto itself,
        // the root is a mount of the child's own, as runc binds a rootfs in a user namespace.
        mnt::mount_at("mount the root", "overlay", staged_->root.get(), staged_->root, merged, "", MS_BIND | MS_REC, "");
        const std::string name = merged.substr(merged.rfind('/') + 1);
        root_.emplace(merged, Fd(check(kernel_.openat(staged_->holder.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                       "open the root", "open", merged)));
        return;
    }
    if (!opened_.empty() && spec_.hutch.root == HutchSection::RootKind::kOverlay) return mount_overlay_by_fd();
    Fd merged_dir(check(kernel_.openat(AT_FDCWD, merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "prepare the root",
                        "open", merged));
    if (spec_.hutch.root == HutchSection::RootKind::kBind) {
        // An OCI bundle's rootfs is the container's root itself, written in place as runc does.
        Fd source(check(kernel_.openat(AT_FDCWD, spec_.root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                        "mount the root", "open", spec_.root.path));
        mnt::mount_at("mount the root", spec_.root.path, source.get(), merged_dir, merged, "", MS_BIND | MS_REC, "");
    } else {
        std::string data = "lowerdir=" + (layers.empty() ? overlay_escape(spec_.root.path) : lower_dirs(layers)) +
                           ",upperdir=" + overlay_escape(plan_.upper_dir) +
                           ",workdir=" + overlay_escape(plan_.work_dir) + (plan_.user_xattr ? ",userxattr" : "");
        mnt::mount_at("mount the root overlay", "overlay", -1, merged_dir, merged, "overlay", 0, data);
    }
    root_.emplace(merged, Fd(check(kernel_.openat(AT_FDCWD, merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                                   "open the root", "open", merged)));
}

void RootfsBuilder::mount_one(const Mount& m, std::size_t index) {
    const mnt::Root& root = *root_;
    mnt::Options o = mnt::parse_options(m.options);
    if (m.type == "cgroup") return mount_cgroups(m);

    std::string shown = root.shown(m.destination);
    if (is_bind(m, o)) {
        const int idmapped = index < plan_.idmapped_binds.size() ? plan_.idmapped_binds[index] : -1;
        Fd source = staged_          ? staged_copy(detached::staged_mount(index), m.source)
                    : idmapped >= 0 ? Fd()
                                     : open_host(m.source);
        if (!source && idmapped < 0) throw SysError("bind mount " + m.destination, "open", m.source, errno);
        struct stat st {};
        check(kernel_.fstat(idmapped >= 0 ? idmapped : source.get(), &st), "bind mount", "fstat", m.source);
        Fd target = root.open(m.destination, S_ISDIR(st.st_mode) ? Create::kDirectory : Create::kFile);
        if (idmapped >= 0) {
            // The parent's copy, idmapped before anything could attach it (detached_mounts.hpp);
            // its fd goes with hutch's others before the exec.
            mnt::attach_at("bind mount (idmapped)", idmapped, m.source, target, shown);
        } else {
            mnt::mount_at("bind mount", m.source, source.get(), target, shown, "",
                          MS_BIND | (o.recursive ? MS_REC : 0), "");
        }
        Fd top = root.open(m.destination, Create::kNothing);
        if (o.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))
            mnt::remount_bind("bind mount", top, shown, o.flags);
        if (o.recursive_set || o.recursive_clear)
            mnt::set_attrs_recursively("bind mount", top, shown, o.recursive_set, o.recursive_clear);
        mnt::set_propagation("bind mount", mnt::fd_path(top.get()), shown,
                             o.propagation ? o.propagation : MS_PRIVATE | MS_REC);
        return;
    }
    // Kernel filesystems must land on a real directory of the rootfs, never through a symlink.
    bool kernel_fs = m.type == "proc" || m.type == "sysfs" || m.destination == "/dev";
    Fd target = root.open(m.destination, Create::kDirectory, kernel_fs);
    // tmpcopyup: the image's directory, held open before the tmpfs hides it.
    Fd below;
    if (o.copy_up && m.type == "tmpfs") {
        below = Fd(kernel_.openat(target.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!below) throw SysError("mount " + m.destination, "open", shown, errno);
    }
    // A read-only tmpfs is filled first, then made read-only, as runc does.
    const unsigned long flags = below ? o.flags & ~MS_RDONLY : o.flags;
    try {
        mnt::mount_at(("mount " + m.destination).c_str(), m.source, -1, target, shown, m.type, flags, o.data);
    } catch (const SysError& e) {
        // A sysfs belongs to its network namespace's owner: a user namespace in one it does not
        // own (joined, or the host's) gets the host's /sys bound instead, as runc binds it.
        if (m.type != "sysfs" || e.error_number() != EPERM || !spec_.has_namespace(NamespaceType::kUser)) throw;
        return bind_host_sys(target, m.destination, shown);
    }
    if (below) {
        Fd top = root.open(m.destination, Create::kNothing);
        Fd tmpfs(kernel_.openat(top.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!tmpfs) throw SysError("mount " + m.destination, "open", shown, errno);
        mnt::copy_up(("copy up to " + m.destination).c_str(), below, tmpfs, shown);
        if (o.flags & MS_RDONLY)
            mnt::mount_at(("mount " + m.destination).c_str(), "", -1, top, shown, "", MS_REMOUNT | o.flags, o.data);
    }
    if (o.recursive_set || o.recursive_clear)
        mnt::set_attrs_recursively(("mount " + m.destination).c_str(), root.open(m.destination, Create::kNothing), shown,
                                   o.recursive_set, o.recursive_clear);
    if (m.type == "proc") {
        Fd proc = root.open(m.destination, Create::kNothing);
        struct statfs sf {};
        check(kernel_.fstatfs(proc.get(), &sf), "verify /proc", "fstatfs", root.shown(m.destination));
        if (sf.f_type != PROC_SUPER_MAGIC) throw Error("mount " + m.destination + ": the mounted /proc is not procfs");
    }
    if (m.destination == "/dev") populate_dev();
}

// /sys/fs/cgroup shows the container's own cgroups and nothing above or beside them (runc's
// mountCgroupV1). In its own cgroup namespace a new mount of a hierarchy has the container's
// cgroup as its root (it was placed there before unshare); without one, a new mount would show
// the host's whole tree, so the container's directory is bound instead. A hierarchy the
// container was not placed in (`hutch run` keeps out of the v1 ones on hybrid hosts: moving a
// process there costs milliseconds) is not shown at all: its only cgroup for the container
// would be hutch's own or the host's.
void RootfsBuilder::mount_cgroups(const Mount& m) {
    const mnt::Root& root = *root_;
    mnt::Options o = mnt::parse_options(m.options);
    auto hierarchies = host_cgroup_hierarchies();
    std::string shown = root.shown(m.destination);
    const std::string base = "/sys/fs/cgroup";
    const bool own_namespace = spec_.has_new_namespace(NamespaceType::kCgroup);
    auto own_dir = [&](const CgroupHierarchy& h) {
        for (const auto& dir : plan_.cgroups)
            if (dir == h.mount_point || dir.rfind(h.mount_point + "/", 0) == 0) return dir;
        return std::string();
    };
    auto mount_hierarchy = [&](const CgroupHierarchy& h, const std::string& dest) {
        std::string dir = own_dir(h);
        Fd target = root.open(dest, Create::kDirectory);
        if (own_namespace || dir.empty()) {
            mnt::mount_at("mount cgroup", h.fstype, -1, target, root.shown(dest), h.fstype, o.flags, h.controllers);
            return;
        }
        Fd source(check(kernel_.openat(AT_FDCWD, dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "mount cgroup", "open", dir));
        mnt::mount_at("bind the container's cgroup", dir, source.get(), target, root.shown(dest), "", MS_BIND | MS_REC, "");
        Fd top = root.open(dest, Create::kNothing);
        mnt::remount_bind("bind the container's cgroup", top, root.shown(dest), o.flags);
    };
    if (hierarchies.size() == 1 && hierarchies[0].mount_point == base) return mount_hierarchy(hierarchies[0], m.destination);
    // cgroup v1 (or hybrid): a tmpfs holding one mount per hierarchy, as runc builds it.
    Fd target = root.open(m.destination, Create::kDirectory);
    mnt::mount_at("mount cgroup", "tmpfs", -1, target, shown, "tmpfs",
                  (o.flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755");
    for (const auto& h : hierarchies) {
        if (h.mount_point.size() <= base.size()) continue;
        std::string dest = m.destination + h.mount_point.substr(base.size());
        if (own_dir(h).empty()) {
            explain::comment(h.mount_point + ": the container has no cgroup there, not shown");
            continue;
        }
        mount_hierarchy(h, dest);
    }
}

void RootfsBuilder::populate_dev() {
    const mnt::Root& root = *root_;
    Fd dev_path = root.open("/dev", Create::kNothing);
    Fd dev(check(kernel_.openat(dev_path.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "populate /dev",
                 "openat", root.shown("/dev")));
    for (const auto& d : kDefaultDevices) {
        if (kernel_.mknodat(dev.get(), d.name, S_IFCHR | 0666, makedev(d.major, d.minor)) != 0) {
            // In a user namespace no device node can be made: bind the host's, as runc does.
            if (errno != EPERM) throw SysError("populate /dev", "mknodat", root.shown("/dev/") + d.name, errno);
            bind_host_device(std::string("/dev/") + d.name, S_IFCHR, makedev(d.major, d.minor));
        }
    }
    for (const auto& [name, target] : kDevLinks) {
        // runc links /dev/core only where the kernel has a /proc/kcore to point at.
        if (std::string(name) == "core" && ::access("/proc/kcore", F_OK) != 0) continue;
        if (kernel_.symlinkat(target, dev.get(), name) != 0)
            throw SysError("populate /dev", "symlinkat", root.shown("/dev/") + name, errno);
    }
    for (const char* dir : {"pts", "shm", "mqueue"}) kernel_.mkdirat(dev.get(), dir, 0755);
    create_spec_devices();
    if (spec_.hutch.host_devices) {
        copy_host_devices("/dev", dev.get(), root.shown("/dev"));
    }
    // Keep a verified handle on the /dev/null just made: masking binds it, and nothing the
    // rootfs or a volume puts at /dev/null later can substitute another file (CVE-2025-31133).
    dev_null_ = Fd(check(kernel_.openat(dev.get(), "null", O_PATH | O_NOFOLLOW | O_CLOEXEC), "populate /dev",
                         "openat", root.shown("/dev/null")));
    struct stat st {};
    if (kernel_.fstat(dev_null_.get(), &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        throw Error("populate /dev: " + root.shown("/dev/null") + " is not the null device");
}

// Binds the host's device node at `path` onto the same path in the root (a user namespace may
// not make device nodes). Only the very device asked for: a config must not get any host file
// bound into the container by naming it a device.
void RootfsBuilder::bind_host_device(const std::string& path, mode_t type, dev_t number) {
    Fd source(kernel_.openat(AT_FDCWD, path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!source) throw SysError("bind a host device", "open", path, errno);
    struct stat st {};
    check(kernel_.fstat(source.get(), &st), "bind a host device", "fstat", path);
    if ((st.st_mode & S_IFMT) != type || st.st_rdev != number)
        throw Error("bind a host device: the host's " + path + " is not the device the config names");
    Fd target = root_->open(path, Create::kFile);
    mnt::mount_at("bind a host device", path, source.get(), target, root_->shown(path), "", MS_BIND, "");
}

// linux.devices: each node made inside the root (its directory opened there, so a symlink in
// the rootfs cannot place it elsewhere), with the mode and owner the spec gives.
void RootfsBuilder::create_spec_devices() {
    const mnt::Root& root = *root_;
    for (const auto& d : spec_.linux.devices) {
        auto slash = d.path.rfind('/');
        std::string parent = slash == 0 ? "/" : d.path.substr(0, slash), leaf = d.path.substr(slash + 1);
        mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
        mode_t mode = type | (d.file_mode ? (*d.file_mode & 07777) : 0666);
        dev_t number = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
        Fd dir_path = root.open(parent, Create::kDirectory);
        Fd dir(check(kernel_.openat(dir_path.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "create a device", "openat",
                     root.shown(parent)));
        kernel_.unlinkat(dir.get(), leaf.c_str(), 0);  // a default node of the same name gives way
        if (kernel_.mknodat(dir.get(), leaf.c_str(), mode, type == S_IFIFO ? 0 : number) != 0) {
            if (errno != EPERM) throw SysError("create a device", "mknodat", root.shown(d.path), errno);
            bind_host_device(d.path, type, number);  // a user namespace: the host's node, as runc does
            continue;
        }
        check(kernel_.fchmodat(dir.get(), leaf.c_str(), mode & 07777, 0), "create a device", "fchmodat", root.shown(d.path));
        check(kernel_.fchownat(dir.get(), leaf.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW), "create a device", "fchownat",
              root.shown(d.path));
    }
}

// linux.sysctl, written through the container's own /proc (validate_spec admitted only the
// namespaced ones), before /proc/sys is made read-only.
void RootfsBuilder::write_sysctls() {
    for (const auto& [key, value] : spec_.linux.sysctl) {
        std::string path = "/proc/sys/" + key;
        std::replace(path.begin() + 10, path.end(), '.', '/');
        Fd file_path = root_->open(path, Create::kNothing, true);
        const std::string step = "set sysctl " + key;
        sys::write_kernel_file(mnt::fd_path(file_path.get()), value, step.c_str(), root_->shown(path) + " <- " + value);
    }
}

Fd RootfsBuilder::open_ptmx() const {
    Fd path = root_->open("/dev/pts/ptmx", Create::kNothing, true);
    return Fd(check(kernel_.openat(AT_FDCWD, mnt::fd_path(path.get()).c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC),
                    "open the terminal", "open", root_->shown("/dev/pts/ptmx")));
}

void RootfsBuilder::bind_console(int slave_fd) const {
    Fd target = root_->open("/dev/console", Create::kFile);
    mnt::mount_at("bind the terminal on /dev/console", "<pty slave>", slave_fd, target,
                  root_->shown("/dev/console"), "", MS_BIND, "");
}

// The host's /sys, read-only, nosuid, nodev and noexec down to its last submount (the cgroup
// tree, bpf, tracing, efivars), private so nothing the host mounts later shows up.
void RootfsBuilder::bind_host_sys(const Fd& target, const std::string& destination, const std::string& shown) {
    Fd sys(check(kernel_.openat(AT_FDCWD, "/sys", O_PATH | O_DIRECTORY | O_CLOEXEC), "bind /sys", "open", "/sys"));
    mnt::mount_at("bind /sys", "/sys", sys.get(), target, shown, "", MS_BIND | MS_REC, "");
    // Read-only whatever the spec asks: it is the host's.
    Fd top = root_->open(destination, Create::kNothing);
    mnt::set_attrs_recursively("bind /sys", top, shown, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0);
    mnt::set_propagation("bind /sys", mnt::fd_path(top.get()), shown, MS_PRIVATE | MS_REC);
}

Fd RootfsBuilder::staged_copy(const std::string& name, const std::string& source) const {
    // Looked up by name in the staging tmpfs (mode 711): its last component is the copy's
    // mount, which the lookup enters.
    Fd copy(kernel_.openat(staged_->dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!copy) throw SysError("bind the parent's copy of " + source, "open", plan_.staging_dir + "/" + name, errno);
    return copy;
}

void RootfsBuilder::bind_generated(const std::string& file, const char* destination) {
    if (file.empty()) return;
    Fd source = staged_ ? staged_copy(detached::staged_file(file), file)
                        : Fd(check(open_host(file).release(), "bind generated file", "open", file));
    Fd target = root_->open(destination, Create::kFile);
    std::string shown = root_->shown(destination);
    // Docker binds the file onto whatever the rootfs has there, a symlink followed inside the
    // root; only a file can take it. Say what is there instead of the kernel's bare ENOTDIR.
    struct stat st {};
    check(::fstat(target.get(), &st), "bind generated file", "fstat", shown);
    if (!S_ISREG(st.st_mode)) {
        std::string where = root_->inside(target);
        throw Error(std::string("bind generated file: ") + destination + " in the rootfs is " +
                    (where != destination ? "a symlink to " + where + ", " : std::string()) +
                    (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                    "; hutch binds its generated file only onto a file (or creates one where there is none)");
    }
    mnt::mount_at("bind generated file", file, source.get(), target, shown, "", MS_BIND, "");
    if (spec_.root.readonly) {
        Fd top = root_->open(destination, Create::kNothing);
        mnt::remount_bind("bind generated file", top, shown, MS_RDONLY);
    }
}

void RootfsBuilder::finish() {
    // The working directory is created when missing, as Docker does, after every mount (it may
    // lie inside a volume or tmpfs) and inside the root (it may cross a symlink).
    if (!root_->open_if_exists(spec_.process.cwd)) root_->open(spec_.process.cwd, Create::kDirectory);
    bind_generated(plan_.hosts_file, "/etc/hosts");
    bind_generated(plan_.resolv_file, "/etc/resolv.conf");
    bind_generated(plan_.hostname_file, "/etc/hostname");
    write_sysctls();
    mask_paths();
    readonly_paths();
    // Read-only last, once every mount point is made (in the container's own layer, or in an
    // OCI bundle's rootfs as runc does): nothing of the image is written either way.
    if (spec_.root.readonly) {
        Fd top(check(kernel_.openat(root_->fd(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC), "make the root read-only",
                     "open", plan_.merged_dir));
        mnt::remount_bind("make the root read-only", top, plan_.merged_dir, MS_RDONLY);
    }
}

void RootfsBuilder::mask_paths() {
    if (!spec_.linux.masked_paths.empty() && !dev_null_) {
        // /dev came from elsewhere (a volume): accept its null only if it is the null device,
        // opened inside the root, never a path the host's root could resolve.
        dev_null_ = root_->open("/dev/null", Create::kNothing, true);
        struct stat st {};
        if (kernel_.fstat(dev_null_.get(), &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
            throw Error("mask paths: " + root_->shown("/dev/null") + " is not the null device (1:3)");
    }
    for (const auto& path : spec_.linux.masked_paths) {
        Fd target = root_->open_if_exists(path);
        if (!target) continue;
        struct stat st {};
        check(kernel_.fstat(target.get(), &st), "mask path", "fstat", root_->shown(path));
        if (S_ISDIR(st.st_mode))
            mnt::mount_at("mask directory", "tmpfs", -1, target, root_->shown(path), "tmpfs", MS_RDONLY, "");
        else
            mnt::mount_at("mask file", root_->shown("/dev/null"), dev_null_.get(), target,
                          root_->shown(path), "", MS_BIND, "");
    }
}

void RootfsBuilder::readonly_paths() {
    for (const auto& path : spec_.linux.readonly_paths) {
        Fd target = root_->open_if_exists(path);
        if (!target) continue;
        std::string shown = root_->shown(path);
        mnt::mount_at("make path read-only", shown, target.get(), target, shown, "", MS_BIND | MS_REC, "");
        Fd top = root_->open(path, Create::kNothing);
        mnt::remount_bind("make path read-only", top, shown, MS_RDONLY);
    }
}

void RootfsBuilder::pivot() {
    const std::string& merged = root_->host_path();
    const unsigned long propagation = root_propagation(spec_);
    // Unless private, the old root may share peer groups with the host's mounts, and detaching
    // it would unmount the host's too: it is made a slave first, which only receives. It is
    // held open to be named after the pivot: "." then is the new root, which mount(2) does not
    // step off onto the old root stacked above it (umount2 does), and a slave there would cut
    // a shared volume off from the host.
    Fd old_root;
    if (!(propagation & MS_PRIVATE))
        old_root = Fd(check(kernel_.openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC), "detach the host's tree",
                            "open", "/"));
    check(kernel_.fchdir(root_->fd()), "enter the root", "fchdir", merged);
    // pivot_root(".", "."): the old root is stacked under the new one and detached right after,
    // so no put_old directory is needed inside the (possibly read-only) rootfs.
    check(kernel_.pivot_root(".", "."), "pivot into the root", "pivot_root", merged);
    if (old_root) {
        check(kernel_.fchdir(old_root.get()), "detach the host's tree", "fchdir", "the old root");
        mnt::set_propagation("detach the host's tree", ".", "the old root", MS_SLAVE | MS_REC);
    }
    check(kernel_.umount2(".", MNT_DETACH), "detach the host's tree", "umount2", "/");
    check(kernel_.chdir("/"), "enter the root", "chdir", "/");
    // Set on the container's own root only now: before the pivot, it would be set on a mount of
    // the host's tree. (A private one is already.)
    if (!(propagation & MS_PRIVATE)) mnt::set_propagation("set the root's propagation", "/", "/", propagation);
    root_.reset();
    dev_null_.reset();
}

}  // namespace hutch
