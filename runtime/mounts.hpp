// Mounting inside a container's root without ever leaving it.
//
// Every target is opened with openat2(RESOLVE_IN_ROOT) from a handle on the container's root,
// so a symlink in the rootfs (CVE-2021-30465) resolves inside it, never to the host; the mount
// is then made on /proc/self/fd/N, the exact object that was opened. Every call goes through the
// kernel seam (runtime/sys/kernel.hpp), which --explain prints with flags by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/fd.hpp"

namespace hutch::mnt {

// OCI mount options split into mount(2) flags, propagation flags and the data string.
struct Options {
    unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ...
    unsigned long propagation = 0;  // MS_PRIVATE|MS_REC, ...
    bool bind = false;
    bool recursive = false;
    // rro, rnosuid, rnodev, rnoexec (and rrw, rsuid, rdev, rexec): MOUNT_ATTR_* bits for the
    // mount and every mount below it, as runc takes them (mount_setattr, Linux 5.12).
    std::uint64_t recursive_set = 0, recursive_clear = 0;
    // tmpcopyup (podman's default for --tmpfs, runc's option): a tmpfs starts with a copy of what
    // the image has at its mount point; notmpcopyup undoes it.
    bool copy_up = false;
    // idmap (podman's volume option, runc's mount option): the bind takes the container's user
    // namespace's maps (MOUNT_ATTR_IDMAP), so its files show inside with the ids they have on disk.
    // ridmap (runc's): the same for every mount below it too; idmap maps only the top one
    // (hutch run's -v SRC:DST:idmap is ridmap on an rbind: podman maps the whole volume).
    bool idmap = false;
    bool idmap_recursive = false;
    std::string data;               // "mode=755,size=65536k"
};
// Throws UsageError on an option hutch does not know.
Options parse_options(const std::vector<std::string>& options);

// The container's root being assembled: `host_path` is where it is mounted on the host (shown
// by --explain and in errors), `fd` an O_PATH handle on it.
class Root {
public:
    Root(std::string host_path, Fd fd) : host_path_(std::move(host_path)), fd_(std::move(fd)) {}

    const std::string& host_path() const { return host_path_; }
    int fd() const { return fd_.get(); }
    std::string shown(const std::string& path) const { return host_path_ + path; }

    enum class Create { kNothing, kDirectory, kFile };
    // Opens `path` (absolute inside the container) as O_PATH, resolving symlinks inside the root.
    // Missing components are created as directories (the last as `create` says). A component
    // that is a dangling symlink is followed, inside the root, and what it names is created
    // there, as runc does for a mount destination: a link to "/x" or "../../x" makes the root's
    // /x, never the host's. With `refuse_symlink`, a last component that is a symlink is an
    // error (a fake /proc, CVE-2019-16884).
    Fd open(const std::string& path, Create create, bool refuse_symlink = false) const;
    // Like open() but returns an empty Fd when the path does not exist.
    Fd open_if_exists(const std::string& path) const;
    // Where the opened `fd` lies inside the root ("/x" for $ROOT/x), for messages.
    std::string inside(const Fd& fd) const;

private:
    Fd open_following(const std::string& path, Create create, int links_followed) const;
    Fd create_leaf(const std::string& path, Create create, int links_followed) const;

    std::string host_path_;
    Fd fd_;
};

// mount(2) on an opened target. `source_fd` >= 0 means the source is that O_PATH handle.
void mount_at(const char* step, const std::string& source, int source_fd, const Fd& target,
              const std::string& target_shown, const std::string& fstype, unsigned long flags,
              const std::string& data);

// Attaches the detached mount `detached` (open_tree, fsmount) onto the opened `target`:
// move_mount with both paths empty, so neither is looked up again.
void attach_at(const char* step, int detached, const std::string& source_shown, const Fd& target,
               const std::string& target_shown);

// tmpcopyup: the tree below directory `from` (taken before a tmpfs hid it) copied into `to` (the
// new tmpfs's root): directories, regular files and symlinks (as links, never followed), with
// their modes and owners; the tmpfs's root takes the directory's own. Device nodes, fifos and
// sockets are left out. Every name is opened relative to its directory's handle with
// O_NOFOLLOW: nothing in the (hostile) image is resolved as a path. At most 64 levels deep.
void copy_up(const char* step, const Fd& from, const Fd& to, const std::string& shown);

// mount_setattr(AT_RECURSIVE) on the mount at `target`: `set` and `clear` (MOUNT_ATTR_*) on it
// and on every mount below it, which a remount (one mount at a time) cannot reach.
void set_attrs_recursively(const char* step, const Fd& target, const std::string& target_shown, std::uint64_t set,
                           std::uint64_t clear);

// Re-applies `flags` to the bind mount at `target` (MS_BIND|MS_REMOUNT), keeping the flags the
// mount already has that the kernel would refuse to clear (nosuid, nodev, noexec, atime).
void remount_bind(const char* step, const Fd& target, const std::string& target_shown,
                  unsigned long flags);

// Sets propagation (MS_PRIVATE|MS_REC, ...) on the mount at `target`.
void set_propagation(const char* step, const std::string& target_path, const std::string& shown,
                     unsigned long propagation);

// openat2(root_fd, path, flags, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): `path`, absolute inside
// the root, resolved as if `root_fd` were "/" (symlinks and ".." never leave it). An empty Fd
// with errno set on failure.
Fd open_in_root(int root_fd, const std::string& path, int flags);

// "/proc/self/fd/N": how the kernel is pointed at an opened object.
std::string fd_path(int fd);

}  // namespace hutch::mnt
