#include "runtime/mounts.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <utility>

#include "runtime/error.hpp"
#include "runtime/sys/describe.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::mnt {
namespace {

// Flags the mount at `fd` has that a bind remount must keep (the kernel refuses to clear locked
// flags, and clearing nosuid/nodev/noexec by accident would weaken a mount). statfs's f_flags
// carries them as ST_* bits.
unsigned long kept_flags(int fd) {
    struct statfs st {};
    if (sys::kernel().fstatfs(fd, &st) != 0) return 0;
    unsigned long out = 0;
    if (st.f_flags & ST_NOSUID) out |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) out |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) out |= MS_NOEXEC;
    if (st.f_flags & ST_NOATIME) out |= MS_NOATIME;
    if (st.f_flags & ST_NODIRATIME) out |= MS_NODIRATIME;
    if (st.f_flags & ST_RELATIME) out |= MS_RELATIME;
    return out;
}

}  // namespace

Options parse_options(const std::vector<std::string>& options) {
    // Flags set by an option name; the `clear` ones undo their opposite.
    static const std::map<std::string, std::pair<bool, unsigned long>> kFlags = {
        {"ro", {true, MS_RDONLY}},          {"rw", {false, MS_RDONLY}},
        {"nosuid", {true, MS_NOSUID}},      {"suid", {false, MS_NOSUID}},
        {"nodev", {true, MS_NODEV}},        {"dev", {false, MS_NODEV}},
        {"noexec", {true, MS_NOEXEC}},      {"exec", {false, MS_NOEXEC}},
        {"sync", {true, MS_SYNCHRONOUS}},   {"async", {false, MS_SYNCHRONOUS}},
        {"dirsync", {true, MS_DIRSYNC}},    {"noatime", {true, MS_NOATIME}},
        {"atime", {false, MS_NOATIME}},     {"nodiratime", {true, MS_NODIRATIME}},
        {"diratime", {false, MS_NODIRATIME}}, {"relatime", {true, MS_RELATIME}},
        {"norelatime", {false, MS_RELATIME}}, {"strictatime", {true, MS_STRICTATIME}},
        {"nostrictatime", {false, MS_STRICTATIME}},
    };
    static const std::map<std::string, unsigned long> kPropagation = {
        {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    static const std::map<std::string, std::pair<bool, std::uint64_t>> kRecursive = {
        {"rro", {true, MOUNT_ATTR_RDONLY}},     {"rrw", {false, MOUNT_ATTR_RDONLY}},
        {"rnosuid", {true, MOUNT_ATTR_NOSUID}}, {"rsuid", {false, MOUNT_ATTR_NOSUID}},
        {"rnodev", {true, MOUNT_ATTR_NODEV}},   {"rdev", {false, MOUNT_ATTR_NODEV}},
        {"rnoexec", {true, MOUNT_ATTR_NOEXEC}}, {"rexec", {false, MOUNT_ATTR_NOEXEC}},
    };
    Options out;
    for (const auto& opt : options) {
        if (auto f = kFlags.find(opt); f != kFlags.end()) {
            if (f->second.first) out.flags |= f->second.second;
            else out.flags &= ~f->second.second;
        } else if (auto p = kPropagation.find(opt); p != kPropagation.end()) {
            out.propagation = p->second;
        } else if (auto r = kRecursive.find(opt); r != kRecursive.end()) {
            (r->second.first ? out.recursive_set : out.recursive_clear) |= r->second.second;
            (r->second.first ? out.recursive_clear : out.recursive_set) &= ~r->second.second;
        } else if (opt == "bind" || opt == "rbind") {
            out.bind = true;
            out.recursive = opt == "rbind";
        } else if (opt == "idmap" || opt == "ridmap") {
            out.idmap = true;
            out.idmap_recursive = opt == "ridmap";
        } else if (opt == "tmpcopyup" || opt == "notmpcopyup") {
            out.copy_up = opt == "tmpcopyup";
        } else if (opt.find('=') != std::string::npos || opt == "newinstance") {
            out.data += (out.data.empty() ? "" : ",") + opt;
        } else {
            throw UsageError("unknown mount option \"" + opt + "\"");
        }
    }
    return out;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Fd open_in_root(int root_fd, const std::string& path, int flags) {
    std::string relative = path.find_first_not_of('/') == std::string::npos ? "." : path.substr(path.find_first_not_of('/'));
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return Fd(sys::kernel().openat2(root_fd, relative.c_str(), how));
}

Fd Root::open(const std::string& path, Create create, bool refuse_symlink) const {
    if (refuse_symlink) {
        // Open the last component itself to see what it is.
        Fd probe = open_in_root(fd_.get(), path, O_PATH | O_NOFOLLOW);
        if (probe) {
            struct stat st {};
            if (sys::kernel().fstat(probe.get(), &st) == 0 && S_ISLNK(st.st_mode))
                throw Error("refusing to mount on " + shown(path) +
                            ": it is a symlink in the rootfs (a fake " + path + " could hide the "
                            "container's protections)");
            return probe;
        }
    }
    return open_following(path, create, 0);
}

Fd Root::open_following(const std::string& path, Create create, int links_followed) const {
    if (Fd fd = open_in_root(fd_.get(), path, O_PATH)) return fd;
    if (errno != ENOENT || create == Create::kNothing)
        throw SysError("open mount target", "openat2", shown(path), errno);
    return create_leaf(path, create, links_followed);
}

// The kernel's limit on symlinks in one lookup (MAXSYMLINKS).
constexpr int kMaxLinks = 40;

// Creates the missing last component of `path` inside its (root-resolved) parent, then reopens
// it. Where that component is a dangling symlink, what it names is created instead.
Fd Root::create_leaf(const std::string& given, Create create, int links_followed) const {
    std::string path = given;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    auto slash = path.find_last_of('/');
    std::string parent = slash == 0 ? "/" : path.substr(0, slash);
    std::string leaf = path.substr(slash + 1);
    if (leaf.empty() || leaf == "." || leaf == "..")
        throw Error("create mount point " + shown(given) + ": no such directory in the rootfs");
    Fd parent_fd = open_following(parent, Create::kDirectory, links_followed);
    // O_PATH handles cannot be used for mkdirat/openat creation: reopen the directory.
    sys::Kernel& k = sys::kernel();
    Fd dir(check(k.openat(parent_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open mount target", "openat",
                 shown(parent)));
    int err = 0;
    if (create == Create::kDirectory) {
        if (k.mkdirat(dir.get(), leaf.c_str(), 0755) != 0) err = errno;
    } else {
        Fd file(k.openat(dir.get(), leaf.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (!file) err = errno;
    }
    if (err && err != EEXIST) throw SysError("create mount point", create == Create::kDirectory ? "mkdirat" : "openat",
                                             shown(path), err);
    if (err == EEXIST) {
        // Something is there that did not resolve: a dangling symlink. Follow it as the kernel
        // would, but inside the root (RESOLVE_IN_ROOT resolves the joined path), and create its
        // target; a relative link is relative to the directory holding it.
        char target[4096];
        ssize_t n = k.readlinkat(dir.get(), leaf.c_str(), target, sizeof target - 1);
        if (n > 0) {
            std::string to(target, static_cast<std::size_t>(n));
            if (++links_followed > kMaxLinks)
                throw SysError("create mount point", "readlinkat", shown(path), ELOOP);
            explain::comment(path + " in the rootfs is a symlink to " + explain::quote(to) +
                             ": created where it points, inside the root");
            std::string next = to[0] == '/' ? to : (parent == "/" ? "" : parent) + "/" + to;
            try {
                return open_following(next, create, links_followed);
            } catch (const Error& e) {
                throw Error(std::string(e.what()) + " (" + path + " in the rootfs is a symlink to " + to + ")",
                            e.exit_code());
            }
        }
    }
    Fd fd = open_in_root(fd_.get(), path, O_PATH);
    if (!fd) throw SysError("open mount target", "openat2", shown(path), errno);
    return fd;
}

std::string Root::inside(const Fd& fd) const {
    char buf[4096];
    ssize_t n = sys::kernel().readlinkat(AT_FDCWD, fd_path(fd.get()).c_str(), buf, sizeof buf - 1);
    if (n <= 0) return "?";
    std::string where(buf, static_cast<std::size_t>(n));
    if (where == host_path_) return "/";
    if (where.rfind(host_path_ + "/", 0) == 0) return where.substr(host_path_.size());
    return where;
}

Fd Root::open_if_exists(const std::string& path) const {
    if (Fd fd = open_in_root(fd_.get(), path, O_PATH)) return fd;
    if (errno == ENOENT) return Fd();
    throw SysError("open path in rootfs", "openat2", shown(path), errno);
}

void mount_at(const char* step, const std::string& source, int source_fd, const Fd& target,
              const std::string& target_shown, const std::string& fstype, unsigned long flags,
              const std::string& data) {
    std::string real_source = source_fd >= 0 ? fd_path(source_fd) : source;
    std::string real_target = fd_path(target.get());
    if (sys::kernel().mount(real_source.empty() ? nullptr : real_source.c_str(), real_target.c_str(),
                            fstype.empty() ? nullptr : fstype.c_str(), flags, data.empty() ? nullptr : data.c_str()) != 0)
        throw SysError(step, "mount " + (source.empty() ? std::string() : source + " ->"),
                       target_shown + " " + (fstype.empty() ? "" : fstype + " ") + sys::mount_flags(flags) +
                           (data.empty() ? "" : " " + data),
                       errno);
}

void attach_at(const char* step, int detached, const std::string& source_shown, const Fd& target,
               const std::string& target_shown) {
    if (sys::kernel().move_mount(detached, "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        throw SysError(step, "move_mount " + source_shown + " ->", target_shown, errno);
}

void remount_bind(const char* step, const Fd& target, const std::string& target_shown,
                  unsigned long flags) {
    unsigned long all = MS_BIND | MS_REMOUNT | flags | kept_flags(target.get());
    mount_at(step, "", -1, target, target_shown, "", all, "");
}

namespace {

constexpr int kCopyUpDepth = 64;

void copy_file_data(const char* step, int from, int to, const std::string& shown) {
    for (;;) {
        ssize_t n = ::sendfile(to, from, nullptr, 1 << 20);
        if (n == 0) return;
        if (n < 0 && errno != EINTR) throw SysError(step, "sendfile", shown, errno);
    }
}

void copy_entries(const char* step, int from, int to, const std::string& shown, int depth) {
    if (depth > kCopyUpDepth) throw Error(std::string(step) + ": " + shown + ": more than 64 levels of directories");
    sys::Kernel& k = sys::kernel();
    Fd listing(k.openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing) throw SysError(step, "open", shown, errno);
    DIR* dir = ::fdopendir(listing.get());
    if (!dir) throw SysError(step, "fdopendir", shown, errno);
    listing.release();  // closedir closes it
    std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
    for (;;) {
        errno = 0;
        dirent* e = ::readdir(dir);
        if (!e) {
            if (errno != 0) throw SysError(step, "readdir", shown, errno);  // never a silently partial copy
            break;
        }
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        const std::string path = shown + "/" + name;
        struct stat st {};
        if (k.fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw SysError(step, "fstatat", path, errno);
        // Opened without blocking and checked to be what was looked at: an entry swapped since
        // (a rootfs another container writes) for a fifo or a device is refused, never read.
        auto open_same = [&](int flags) {
            Fd fd(k.openat(from, name.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
            struct stat now {};
            if (!fd) throw SysError(step, "open", path, errno);
            if (k.fstat(fd.get(), &now) != 0) throw SysError(step, "fstat", path, errno);
            if (now.st_dev != st.st_dev || now.st_ino != st.st_ino || (now.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
                throw Error(std::string(step) + ": " + path + " changed while it was copied");
            return fd;
        };
        if (S_ISDIR(st.st_mode)) {
            if (k.mkdirat(to, name.c_str(), st.st_mode & 07777) != 0) throw SysError(step, "mkdirat", path, errno);
            Fd sub_from = open_same(O_RDONLY | O_DIRECTORY);
            Fd sub_to(k.openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub_to) throw SysError(step, "open", path, errno);
            copy_entries(step, sub_from.get(), sub_to.get(), path, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            Fd in = open_same(O_RDONLY);
            Fd out(k.openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777));
            if (!out) throw SysError(step, "open", path, errno);
            copy_file_data(step, in.get(), out.get(), path);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = k.readlinkat(from, name.c_str(), target, sizeof target - 1);
            if (n < 0) throw SysError(step, "readlinkat", path, errno);
            target[n] = '\0';
            if (k.symlinkat(target, to, name.c_str()) != 0) throw SysError(step, "symlinkat", path, errno);
        } else {
            continue;  // a device node, fifo or socket: not copied
        }
        if (k.fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            throw SysError(step, "fchownat", path, errno);
        // chown clears set-id bits: the mode once more, now that the owner is right.
        if (!S_ISLNK(st.st_mode) && (st.st_mode & 07000) && k.fchmodat(to, name.c_str(), st.st_mode & 07777, 0) != 0)
            throw SysError(step, "fchmodat", path, errno);
    }
}

}  // namespace

void copy_up(const char* step, const Fd& from, const Fd& to, const std::string& shown) {
    sys::Kernel& k = sys::kernel();
    struct stat st {};
    if (k.fstat(from.get(), &st) != 0) throw SysError(step, "fstat", shown, errno);
    copy_entries(step, from.get(), to.get(), shown, 0);
    if (k.fchown(to.get(), st.st_uid, st.st_gid) != 0) throw SysError(step, "fchown", shown, errno);
    if (k.fchmodat(to.get(), ".", st.st_mode & 07777, 0) != 0) throw SysError(step, "fchmodat", shown, errno);
}

void set_attrs_recursively(const char* step, const Fd& target, const std::string& target_shown, std::uint64_t set,
                           std::uint64_t clear) {
    if (sys::kernel().mount_setattr(target.get(), true, set, clear) != 0)
        throw SysError(step, "mount_setattr", target_shown, errno);
}

void set_propagation(const char* step, const std::string& target_path, const std::string& shown,
                     unsigned long propagation) {
    if (sys::kernel().mount(nullptr, target_path.c_str(), nullptr, propagation, nullptr) != 0)
        throw SysError(step, "mount", shown + " " + sys::mount_flags(propagation), errno);
}

}  // namespace hutch::mnt
