#include "runtime/image/layer_entries.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "runtime/error.hpp"
#include "runtime/image/quote.hpp"
#include "runtime/remove_tree.hpp"

namespace hutch::image {
namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";
// Paths of directories whose mtime is set at the end: bounded, a hostile layer of a million
// deep directories must not hold gigabytes.
constexpr std::size_t kMaxDirTimeBytes = 64 << 20;

std::string join(const std::vector<std::string>& parts, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += (i ? "/" : "") + parts[i];
    return out.empty() ? "." : out;
}

// A directory below `dir`, never through a symlink (ELOOP) and never out of `dir` (EXDEV).
Fd open_beneath(int dir, const std::string& path) {
    open_how how{};
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return Fd(static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how)));
}

void entry_times(archive_entry* entry, struct timespec times[2]) {
    times[1] = {static_cast<time_t>(archive_entry_mtime(entry)), archive_entry_mtime_nsec(entry)};
    times[0] = archive_entry_atime_is_set(entry)
                   ? timespec{static_cast<time_t>(archive_entry_atime(entry)), archive_entry_atime_nsec(entry)}
                   : times[1];
}

}  // namespace

LayerEntries::LayerEntries(Fd root, std::string root_path, std::string what, bool user_xattr)
    : root_(std::move(root)), root_path_(std::move(root_path)), what_(std::move(what)),
      opaque_xattr_(user_xattr ? "user.overlay.opaque" : "trusted.overlay.opaque"), user_namespace_(user_xattr) {}

std::string LayerEntries::step() const {
    std::string out = "unpack layer " + what_;
    if (!current_.empty()) out += ": entry " + quoted_safely(current_);
    return out;
}

void LayerEntries::fail(const std::string& reason) const { throw Error(step() + ": " + reason); }

// Lexical, as Docker's filepath.Clean: "./a//b/" is a/b, "a/../b" is b; a name that is absolute
// or whose ".." climbs above the layer's root is refused (Docker's "breakout" error).
LayerEntries::Parts LayerEntries::normalize(const std::string& name, const char* label) const {
    if (name.size() >= PATH_MAX) fail(std::string(label) + " longer than PATH_MAX (" + std::to_string(PATH_MAX) + ")");
    if (!name.empty() && name[0] == '/') fail(std::string("absolute ") + label + " refused (a layer's names are relative to its root)");
    Parts parts;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('/', start);
        if (end == std::string::npos) end = name.size();
        std::string part = name.substr(start, end - start);
        start = end + 1;
        if (part.empty() || part == ".") continue;
        if (part != "..") {
            parts.push_back(std::move(part));
        } else if (parts.empty()) {
            fail(std::string(label) + ": \"..\" climbs out of the layer: refused");
        } else {
            parts.pop_back();
        }
    }
    return parts;
}

// The directory parts[0..count), opened beneath the root; missing ones are created 0755 root:root
// as Docker creates them when a tar lists a file before (or without) its directory.
Fd LayerEntries::open_dir(const Parts& parts, std::size_t count, bool create) const {
    std::string path = join(parts, count);
    Fd fd = open_beneath(root_.get(), path);
    if (fd) return fd;
    if (errno != ENOENT || !create) {
        if (errno == ELOOP || errno == EXDEV || errno == ENOTDIR)
            fail("parent " + quoted_safely(path) + " is a symlink or not a directory: refused (nothing is written through a link)");
        throw SysError(step(), "openat2", quoted_safely(path), errno);
    }
    Fd dir = open_beneath(root_.get(), ".");
    for (std::size_t i = 0; i < count; ++i) {
        if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
            throw SysError(step(), "mkdirat", quoted_safely(join(parts, i + 1)), errno);
        Fd next = open_beneath(dir.get(), parts[i]);
        if (!next) {
            if (errno == ELOOP || errno == ENOTDIR)
                fail("parent " + quoted_safely(join(parts, i + 1)) + " is a symlink or not a directory: refused");
            throw SysError(step(), "openat2", quoted_safely(join(parts, i + 1)), errno);
        }
        dir = std::move(next);
    }
    return dir;
}

// Removes what is at parts.back() so a later entry replaces an earlier one; a directory is kept
// when `keep_dir` (a directory entry over a directory only updates its metadata). True: kept.
bool LayerEntries::clear(int parent, const Parts& parts, bool keep_dir) const {
    struct stat st {};
    if (::fstatat(parent, parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return false;
        throw SysError(step(), "fstatat", quoted_safely(join(parts, parts.size())), errno);
    }
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) return true;
        remove_tree(root_path_ + "/" + join(parts, parts.size()));
        return false;
    }
    if (::unlinkat(parent, parts.back().c_str(), 0) != 0)
        throw SysError(step(), "unlinkat", quoted_safely(join(parts, parts.size())), errno);
    return false;
}

void LayerEntries::apply(archive* tar, archive_entry* entry) {
    const char* name = archive_entry_pathname(entry);
    current_ = name ? name : "";
    if (current_.empty()) fail("an entry without a name");
    Parts parts = normalize(current_, "name");
    if (parts.empty()) {  // "./": the layer's root itself
        if (archive_entry_filetype(entry) != AE_IFDIR) fail("the layer's root is not a directory");
        metadata(root_.get(), entry);
        return remember_dir_time(parts, entry);
    }
    if (parts.back().starts_with(kWhiteout)) return whiteout(parts);
    Fd parent = open_dir(parts, parts.size() - 1, true);
    if (const char* target = archive_entry_hardlink(entry)) return hard_link(parent.get(), parts, target);
    switch (archive_entry_filetype(entry)) {
        case AE_IFDIR: return directory(parent.get(), parts, entry);
        case AE_IFREG: return regular(tar, parent.get(), parts, entry);
        case AE_IFLNK: return symlink(parent.get(), parts, entry);
        // Skipped: a container's /dev is hutch's own tmpfs, and a 0/0 character device from the
        // tar would otherwise be an overlay whiteout the image forged.
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
        case AE_IFSOCK: return;
        default: fail("unsupported entry type " + std::to_string(archive_entry_filetype(entry)));
    }
}

// `.wh.NAME` hides NAME of the layers below: overlayfs reads a 0/0 character device as that.
// `.wh..wh..opq` hides everything below its directory: overlayfs' trusted.overlay.opaque=y
// (user.overlay.opaque=y for an overlay mounted with userxattr, in a user namespace).
// Other `.wh..wh.` names are aufs' bookkeeping (.wh..wh.plnk), skipped as Docker skips them.
void LayerEntries::whiteout(const Parts& parts) {
    const std::string& base = parts.back();
    Fd parent = open_dir(parts, parts.size() - 1, true);
    if (base == kOpaque) {
        if (::fsetxattr(parent.get(), opaque_xattr_, "y", 1, 0) != 0)
            throw SysError(step(), std::string("fsetxattr ") + opaque_xattr_, quoted_safely(join(parts, parts.size() - 1)), errno);
        return;
    }
    if (base.starts_with(std::string(kWhiteout) + std::string(kWhiteout))) return;
    Parts hidden = parts;
    hidden.back() = base.substr(kWhiteout.size());
    if (hidden.back() == "." || hidden.back() == "..") fail("whiteout of \".\" or \"..\" refused");
    clear(parent.get(), hidden, false);
    if (::mknodat(parent.get(), hidden.back().c_str(), S_IFCHR | 0, ::makedev(0, 0)) != 0)
        throw SysError(step(), "mknodat 0/0 (whiteout)", quoted_safely(join(hidden, hidden.size())), errno);
}

// A hard link names an entry earlier in this layer; linkat without AT_SYMLINK_FOLLOW links a
// symlink itself, never what it points at, and the target's parents are opened beneath the root.
void LayerEntries::hard_link(int parent, const Parts& parts, const char* target) {
    Parts to = normalize(target, "hard link target");
    if (to.empty()) fail("hard link to the layer's root refused");
    if (to == parts) return;  // a link to itself: already there
    Fd to_parent = open_dir(to, to.size() - 1, false);
    clear(parent, parts, false);
    if (::linkat(to_parent.get(), to.back().c_str(), parent, parts.back().c_str(), 0) != 0)
        throw SysError(step(), "linkat", "to " + quoted_safely(target), errno);
}

void LayerEntries::directory(int parent, const Parts& parts, archive_entry* entry) {
    if (!clear(parent, parts, true) && ::mkdirat(parent, parts.back().c_str(), 0700) != 0)
        throw SysError(step(), "mkdirat", quoted_safely(current_), errno);
    Fd dir = open_beneath(parent, parts.back());
    if (!dir) throw SysError(step(), "openat2", quoted_safely(current_), errno);
    metadata(dir.get(), entry);
    remember_dir_time(parts, entry);
}

void LayerEntries::regular(archive* tar, int parent, const Parts& parts, archive_entry* entry) {
    clear(parent, parts, false);
    Fd fd(::openat(parent, parts.back().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw SysError(step(), "openat", quoted_safely(current_), errno);
    const void* data = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int r;
    // Blocks point into libarchive's decompressed buffer; sparse files come as offsets with holes.
    while ((r = archive_read_data_block(tar, &data, &size, &offset)) == ARCHIVE_OK) {
        auto p = static_cast<const char*>(data);
        while (size > 0) {
            ssize_t n = ::pwrite(fd.get(), p, size, offset);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw SysError(step(), "pwrite", quoted_safely(current_), errno);
            p += n, offset += n, size -= static_cast<std::size_t>(n);
        }
    }
    if (r != ARCHIVE_EOF) fail(std::string("read tar: ") + archive_error_string(tar));
    la_int64_t total = archive_entry_size(entry);
    if (total > 0 && ::ftruncate(fd.get(), total) != 0) throw SysError(step(), "ftruncate", quoted_safely(current_), errno);
    content_size_ += static_cast<std::uint64_t>(total > 0 ? total : 0);
    metadata(fd.get(), entry);
    struct timespec times[2];
    entry_times(entry, times);
    if (::futimens(fd.get(), times) != 0) throw SysError(step(), "futimens", quoted_safely(current_), errno);
}

// Symlinks are stored as they are, absolute ones too: they resolve inside the container's root,
// and nothing in the unpack ever follows one.
void LayerEntries::symlink(int parent, const Parts& parts, archive_entry* entry) {
    const char* target = archive_entry_symlink(entry);
    if (!target || !*target) fail("symlink without a target");
    if (std::strlen(target) >= PATH_MAX) fail("symlink target longer than PATH_MAX");
    clear(parent, parts, false);
    const char* base = parts.back().c_str();
    if (::symlinkat(target, parent, base) != 0) throw SysError(step(), "symlinkat", quoted_safely(current_), errno);
    auto uid = static_cast<uid_t>(archive_entry_uid(entry));
    auto gid = static_cast<gid_t>(archive_entry_gid(entry));
    if (::fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) owner_failed("fchownat", uid, gid);
    struct timespec times[2];
    entry_times(entry, times);
    if (::utimensat(parent, base, times, AT_SYMLINK_NOFOLLOW) != 0)
        throw SysError(step(), "utimensat", quoted_safely(current_), errno);
}

// Owner, then mode (chown clears setuid/setgid, so chmod comes after it), then xattrs (chown
// clears security.capability too). Only security.capability and user.* are taken from the tar,
// without user.overlay.*: trusted.overlay.* and user.overlay.* (what an overlay mounted with
// userxattr reads) could forge whiteouts or redirects, security.selinux is the host's policy.
void LayerEntries::metadata(int fd, archive_entry* entry) const {
    la_int64_t uid = archive_entry_uid(entry), gid = archive_entry_gid(entry);
    if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX) fail("owner out of range");
    if (::fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) owner_failed("fchown", uid, gid);
    if (::fchmod(fd, archive_entry_perm(entry) & 07777) != 0) throw SysError(step(), "fchmod", quoted_safely(current_), errno);
    archive_entry_xattr_reset(entry);
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
        std::string_view n = name;
        if (n != "security.capability" && (!n.starts_with("user.") || n.starts_with("user.overlay."))) continue;
        // ENOTSUP: a filesystem without user xattrs; Docker warns and goes on, and so do we.
        if (::fsetxattr(fd, name, value, size, 0) != 0 && errno != ENOTSUP)
            throw SysError(step(), "fsetxattr " + quoted_safely(n), quoted_safely(current_), errno);
    }
}

// In a user namespace (rootless hutch), an owner outside its maps is EINVAL: the user's
// subordinate ranges are too small for the image, which the message says.
void LayerEntries::owner_failed(const char* call, long long uid, long long gid) const {
    if (errno == EINVAL && user_namespace_)
        fail("owner " + std::to_string(uid) + ":" + std::to_string(gid) +
             " is beyond the ids of the user namespace (the container's ids 1.. are your /etc/subuid and /etc/subgid "
             "ranges: give them more ids)");
    throw SysError(step(), call, quoted_safely(current_), errno);
}

void LayerEntries::remember_dir_time(const Parts& parts, archive_entry* entry) {
    DirTime t{join(parts, parts.size()), {}};
    entry_times(entry, t.times);
    dir_time_bytes_ += t.path.size() + sizeof t;
    if (dir_time_bytes_ > kMaxDirTimeBytes) fail("too many directories (their paths pass 64 MiB)");
    dir_times_.push_back(std::move(t));
}

void LayerEntries::finish() {
    current_.clear();
    for (const DirTime& t : dir_times_) {
        Fd dir = open_beneath(root_.get(), t.path);
        if (!dir) continue;  // replaced by a later entry (a file or a symlink): its own times are set
        if (::futimens(dir.get(), t.times) != 0) throw SysError(step(), "futimens", quoted_safely(t.path), errno);
    }
}

}  // namespace hutch::image
