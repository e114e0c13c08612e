#include "runtime/detached_mounts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/launch_internal.hpp"
#include "runtime/mounts.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/userns.hpp"

namespace hutch::detached {
namespace {

constexpr const char* kStep = "prepare the container's mounts";

// The helper of idmap_namespace(): its end of the "done" pipe closed and it reaped on every
// path, so neither it nor a zombie outlives the call.
class MapsHelper {
public:
    MapsHelper(pid_t pid, Fd done) : pid_(pid), done_(std::move(done)) {}
    MapsHelper(const MapsHelper&) = delete;
    MapsHelper& operator=(const MapsHelper&) = delete;
    ~MapsHelper() {
        done_.reset();  // the helper reads EOF and exits
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }

private:
    pid_t pid_;
    Fd done_;
};

// Closes every fd of this process above 2 but `a` and `b` (a helper after fork: nothing of
// hutch's, not the start socket nor the record's lock, stays open in it).
void close_all_but(int a, int b) {
    if (a > b) std::swap(a, b);
    if (a > 3) ::close_range(3, static_cast<unsigned>(a - 1), 0);
    if (b > a + 1) ::close_range(static_cast<unsigned>(a + 1), static_cast<unsigned>(b - 1), 0);
    ::close_range(static_cast<unsigned>(b + 1), ~0U, 0);
}

// A user namespace with these maps, for MOUNT_ATTR_IDMAP (the container's own may not exist
// yet; a mount's maps are its own; runc makes one the same way). A helper unshares it and waits;
// its maps written and the namespace held by an fd, the helper goes. Only async-signal-safe
// calls in the helper: the parent may have threads (hutch profile's).
Fd idmap_namespace(const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids, const std::string& whose) {
    int ready[2], done[2];
    check(::pipe2(ready, O_CLOEXEC), kStep, "pipe2");
    Fd ready_read(ready[0]), ready_write(ready[1]);
    check(::pipe2(done, O_CLOEXEC), kStep, "pipe2");
    Fd done_read(done[0]), done_write(done[1]);
    const pid_t pid = ::fork();
    if (pid < 0) throw SysError(kStep, "fork", "a helper for the idmapped mounts' user namespace", errno);
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // Only its own ends: the parent's closing its write end is what ends it.
        close_all_but(ready[1], done[0]);
        if (::unshare(CLONE_NEWUSER) != 0) ::_exit(1);
        char c = 'x';
        if (::write(ready[1], &c, 1) != 1) ::_exit(1);
        while (::read(done[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
    }
    ready_write.reset();
    done_read.reset();
    MapsHelper helper(pid, std::move(done_write));
    char c;
    ssize_t n;
    while ((n = ::read(ready_read.get(), &c, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) throw Error(std::string(kStep) + ": the helper could not make a user namespace (unshare(CLONE_NEWUSER))");
    explain::comment("a helper (pid " + std::to_string(pid) + ") unshares a user namespace with " + whose +
                     " maps, for the idmapped mounts");
    launch_detail::write_id_maps(pid, uids, gids);
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/user";
    return Fd(check(::open(path.c_str(), O_RDONLY | O_CLOEXEC), kStep, "open", path));
}

// MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC as MOUNT_ATTR_* bits.
std::uint64_t attrs_of(unsigned long flags) {
    std::uint64_t out = 0;
    if (flags & MS_RDONLY) out |= MOUNT_ATTR_RDONLY;
    if (flags & MS_NOSUID) out |= MOUNT_ATTR_NOSUID;
    if (flags & MS_NODEV) out |= MOUNT_ATTR_NODEV;
    if (flags & MS_NOEXEC) out |= MOUNT_ATTR_NOEXEC;
    return out;
}

// A detached copy of the tree at `path` (its submounts too if `recursive`), with `propagation`
// (a copy is a peer of the host mount it copies until told otherwise), its own mount's `attrs`
// (set before the staging, so the child's copy has them locked), and with `userns` >= 0
// idmapped with its maps (the submounts too if `idmap_recursive`).
Fd copy_of(const std::string& path, bool recursive, int userns, bool idmap_recursive, std::uint64_t propagation,
           std::uint64_t attrs) {
    sys::Kernel& k = sys::kernel();
    Fd tree(k.open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
    if (!tree) throw SysError(kStep, "open_tree", path, errno);
    if (propagation && k.mount_setattr(tree.get(), recursive, 0, 0, -1, propagation) != 0)
        throw SysError(kStep, "mount_setattr(propagation)", path, errno);
    if (userns >= 0 && k.mount_setattr(tree.get(), recursive && idmap_recursive, MOUNT_ATTR_IDMAP, 0, userns) != 0) {
        const int err = errno;
        // EINVAL: the filesystem cannot be idmapped (tmpfs before Linux 6.3, overlayfs, ...).
        throw SysError(std::string(kStep) + ": an idmapped mount of " + path +
                           " (MOUNT_ATTR_IDMAP: a filesystem that supports it, Linux 5.12)",
                       "mount_setattr", path, err);
    }
    if (attrs && k.mount_setattr(tree.get(), false, attrs, 0) != 0) throw SysError(kStep, "mount_setattr", path, errno);
    return tree;
}

// What the overlay's fs context logged about a failed step ("overlay: ..."); reading drains it.
std::string context_log(int fs) {
    char buf[512];
    std::string out;
    for (ssize_t n; (n = ::read(fs, buf, sizeof buf - 1)) > 0;) {
        buf[n] = '\0';
        out += (out.empty() ? "" : "; ") + std::string(buf + (n > 2 && buf[1] == ' ' ? 2 : 0));
    }
    return out;
}

// hutch's overlay root over idmapped layers: the image's layer dirs (top first) or the rootfs,
// each a detached idmapped copy given to overlayfs by fd ("lowerdir+", Linux 6.13); the upper
// and work dirs by path, the container's own.
Fd overlay_root(const Spec& spec, const RootfsPlan& plan, int userns) {
    sys::Kernel& k = sys::kernel();
    std::vector<std::string> layers = spec.hutch.layers.empty() ? std::vector<std::string>{spec.root.path} : spec.hutch.layers;
    Fd fs(k.fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) throw SysError(kStep, "fsopen", "overlay", errno);
    // Held until the overlay is made: closing a detached mount's last fd unmounts it, and
    // overlayfs takes only mounted layers.
    std::vector<Fd> lowers;
    for (const auto& layer : layers) {
        const Fd& lower = lowers.emplace_back(copy_of(layer, false, userns, false, MS_PRIVATE, 0));
        if (k.fsconfig(fs.get(), FSCONFIG_SET_FD, "lowerdir+", nullptr, lower.get()) != 0) {
            const int err = errno;
            const std::string log = context_log(fs.get());
            throw SysError(std::string(kStep) + ": overlayfs takes no layer by fd here (\"lowerdir+\" by fd: Linux 6.13)" +
                               (log.empty() ? "" : ": " + log),
                           "fsconfig", layer, err);
        }
    }
    // The upper dir belongs to the container's root: the overlay creates what the container
    // writes with the ids the container sees, mapped back to the host's.
    const auto uid = userns::host_id(spec.linux.uid_mappings, 0), gid = userns::host_id(spec.linux.gid_mappings, 0);
    if (!uid || !gid) throw Error(std::string(kStep) + ": the id maps have no container id 0");
    check(k.fchownat(AT_FDCWD, plan.upper_dir.c_str(), *uid, *gid, AT_SYMLINK_NOFOLLOW), kStep, "fchownat", plan.upper_dir);
    for (const auto& [key, dir] : {std::pair{"upperdir", &plan.upper_dir}, {"workdir", &plan.work_dir}})
        if (k.fsconfig(fs.get(), FSCONFIG_SET_STRING, key, dir->c_str(), 0) != 0)
            throw SysError(kStep, std::string("fsconfig ") + key, *dir, errno);
    if (k.fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
        const int err = errno;
        const std::string log = context_log(fs.get());
        throw SysError(std::string(kStep) + ": the overlay on idmapped layers (detached layers: Linux 6.15)" +
                           (log.empty() ? "" : ": " + log),
                       "fsconfig(FSCONFIG_CMD_CREATE)", "overlay", err);
    }
    Fd root(k.fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
    if (!root) throw SysError(kStep, "fsmount", "overlay", errno);
    return root;
}

struct Copy {
    std::string name, source;
    Fd mount;
};

}  // namespace

bool needed(const Spec& spec) {
    // A user namespace of its own, or one joined (--pid container: of a remapped container).
    return spec.has_namespace(NamespaceType::kUser) && spec.hutch.root == HutchSection::RootKind::kOverlay &&
           !spec.hutch.rootless;
}

void check_kernel(const std::string& layer) {
    // What the start does, short of the idmap and the mount: an overlay of detached mounts given
    // by fd, a copy of the layer over an empty tmpfs made detached (overlayfs wants two lower
    // layers without an upper one, and refuses one directory twice). Never mounted: it all goes
    // with the fds.
    auto refuse = [&](const char* what, int err) {
        throw UsageError(std::string("a user namespace needs ") + what + ", which this kernel refuses (" + std::strerror(err) +
                         "): hutch cannot run " + layer + " remapped here");
    };
    Fd copy(::open_tree(AT_FDCWD, layer.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!copy) refuse("detached mounts (open_tree, Linux 5.2)", errno);
    Fd tmpfs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!tmpfs || ::fsconfig(tmpfs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        refuse("a new mount made with fsopen (Linux 5.2)", errno);
    Fd empty(::fsmount(tmpfs.get(), FSMOUNT_CLOEXEC, 0));
    if (!empty) refuse("a new mount made with fsmount (Linux 5.2)", errno);
    Fd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) refuse("overlayfs", errno);
    for (const Fd* lower : {&copy, &empty})
        if (::fsconfig(fs.get(), FSCONFIG_SET_FD, "lowerdir+", nullptr, lower->get()) != 0)
            refuse("overlayfs to take its layers by fd (\"lowerdir+\", Linux 6.13)", errno);
    if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        refuse("overlayfs to stack detached mounts (Linux 6.15)", errno);
}

std::string staged_mount(std::size_t index) { return "mount-" + std::to_string(index); }

std::string staged_file(const std::string& generated_path) {
    return "etc-" + generated_path.substr(generated_path.rfind('/') + 1);
}

std::vector<Fd> idmapped_binds(const Spec& spec, pid_t child) {
    sys::Kernel& k = sys::kernel();
    std::vector<Fd> out(spec.mounts.size());
    std::vector<std::size_t> wanted;
    for (std::size_t i = 0; i < spec.mounts.size(); ++i)
        if (mnt::parse_options(spec.mounts[i].options).idmap || !spec.mounts[i].uid_mappings.empty()) wanted.push_back(i);
    if (wanted.empty()) return out;
    // Whose maps each takes: a helper's namespace of the mount's own (mounts with the same maps
    // share one), else the child's user namespace, maps written.
    const std::string child_ns = "/proc/" + std::to_string(child) + "/ns/user";
    Fd child_userns;
    std::vector<std::pair<const Mount*, Fd>> helpers;
    std::vector<int> userns_of(spec.mounts.size(), -1);
    for (std::size_t i : wanted) {
        const Mount& m = spec.mounts[i];
        if (m.uid_mappings.empty()) {
            if (!child_userns)
                child_userns = Fd(check(k.openat(AT_FDCWD, child_ns.c_str(), O_RDONLY | O_CLOEXEC), kStep, "open", child_ns));
            userns_of[i] = child_userns.get();
            continue;
        }
        auto same = std::find_if(helpers.begin(), helpers.end(), [&](const auto& h) {
            return h.first->uid_mappings == m.uid_mappings && h.first->gid_mappings == m.gid_mappings;
        });
        if (same == helpers.end()) {
            helpers.emplace_back(&m, idmap_namespace(m.uid_mappings, m.gid_mappings, "the mount's"));
            same = helpers.end() - 1;
        }
        userns_of[i] = same->second.get();
    }
    const std::string child_mnt = "/proc/" + std::to_string(child) + "/ns/mnt";
    Fd mnt_ns(check(k.openat(AT_FDCWD, child_mnt.c_str(), O_RDONLY | O_CLOEXEC), kStep, "open", child_mnt));
    MountNamespaceVisit visit;
    // setns into a mount namespace takes a thread whose root and cwd are its own.
    check(k.unshare(CLONE_FS), kStep, "unshare(CLONE_FS)");
    check(k.setns(mnt_ns.get(), CLONE_NEWNS), kStep, "setns", child_mnt);
    for (std::size_t i : wanted) {
        const mnt::Options o = mnt::parse_options(spec.mounts[i].options);
        // No propagation of its own: the copy keeps its source's, as a bind does (in a user
        // namespace's copy a shared host mount is already a slave); the child sets the mount's.
        out[i] = copy_of(spec.mounts[i].source, o.recursive, userns_of[i], o.idmap_recursive, 0, 0);
    }
    visit.leave();
    return out;
}

MountNamespaceVisit::MountNamespaceVisit() {
    sys::Kernel& k = sys::kernel();
    const std::string own = "/proc/thread-self/ns/mnt";
    home_ = Fd(check(k.openat(AT_FDCWD, own.c_str(), O_RDONLY | O_CLOEXEC), kStep, "open", own));
    // A relative --root names a path from the working directory.
    cwd_ = Fd(check(k.openat(AT_FDCWD, ".", O_PATH | O_DIRECTORY | O_CLOEXEC), kStep, "open", "."));
    root_ = Fd(check(k.openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC), kStep, "open", "/"));
}

void MountNamespaceVisit::leave() {
    if (!home_) return;
    sys::Kernel& k = sys::kernel();
    if (k.setns(home_.get(), CLONE_NEWNS) != 0 || k.fchdir(root_.get()) != 0 || ::chroot(".") != 0 ||
        k.fchdir(cwd_.get()) != 0) {
        std::fprintf(stderr, "hutch: return to hutch's own mount namespace: %s\n", std::strerror(errno));
        ::_exit(kExitHutchError);
    }
    home_.reset();
}

Staging::Staging(const Spec& spec, const RootfsPlan& plan) {
    sys::Kernel& k = sys::kernel();
    Fd userns = idmap_namespace(spec.linux.uid_mappings, spec.linux.gid_mappings, "the container's");
    Fd root = overlay_root(spec, plan, userns.get());
    std::vector<Copy> copies;
    for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
        const Mount& m = spec.mounts[i];
        mnt::Options o = mnt::parse_options(m.options);
        if (m.type != "bind" && !o.bind) continue;
        // A shared or slave volume's copy receives the host's mounts but never sends: a slave,
        // as runc's copies of shared mounts into a user namespace are (CL_SHARED_TO_SLAVE).
        const std::uint64_t propagation = o.propagation & (MS_SHARED | MS_SLAVE) ? MS_SLAVE : MS_PRIVATE;
        copies.push_back({staged_mount(i), m.source,
                          copy_of(m.source, o.recursive, o.idmap ? userns.get() : -1, o.idmap_recursive, propagation,
                                  attrs_of(o.flags))});
    }
    for (const auto* file : {&plan.hosts_file, &plan.resolv_file, &plan.hostname_file})
        if (!file->empty())
            copies.push_back({staged_file(*file), *file,
                              copy_of(*file, false, -1, false, MS_PRIVATE, spec.root.readonly ? MOUNT_ATTR_RDONLY : 0)});

    visit_.emplace();
    // This thread alone (unshare(CLONE_NEWNS) implies CLONE_FS): hutch profile's threads stay.
    check(k.unshare(CLONE_NEWNS), "stage the container's mounts", "unshare(CLONE_NEWNS)");
    try {
        const char* step = "stage the container's mounts";
        // Private first: nothing attached below may reach the host's mounts.
        mnt::set_propagation(step, "/", "/", MS_REC | MS_PRIVATE);
        Fd merged(check(k.openat(AT_FDCWD, plan.merged_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), step, "open",
                        plan.merged_dir));
        mnt::attach_at(step, root.get(), "overlay", merged, plan.merged_dir);
        Fd at(check(k.openat(AT_FDCWD, plan.staging_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), step, "open",
                    plan.staging_dir));
        // Searchable, not listable: the container's root looks its copies up by name.
        mnt::mount_at(step, "tmpfs", -1, at, plan.staging_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=711");
        Fd dir(check(k.openat(AT_FDCWD, plan.staging_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), step, "open",
                     plan.staging_dir));
        for (const auto& c : copies) {
            struct stat st {};
            check(k.fstat(c.mount.get(), &st), step, "fstat", c.source);
            const std::string shown = plan.staging_dir + "/" + c.name;
            if (S_ISDIR(st.st_mode)) {
                check(k.mkdirat(dir.get(), c.name.c_str(), 0700), step, "mkdirat", shown);
            } else {
                Fd file(check(k.openat(dir.get(), c.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), step,
                              "open", shown));
            }
            Fd point(check(k.openat(dir.get(), c.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC), step, "open", shown));
            mnt::attach_at(step, c.mount.get(), c.source, point, shown);
        }
    } catch (...) {
        leave();
        throw;
    }
}

void Staging::leave() {
    if (visit_) visit_->leave();
}

Staging::~Staging() { leave(); }

}  // namespace hutch::detached
