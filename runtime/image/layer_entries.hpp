// Applying one layer's tar entries to its directory (internal to layer.cpp; layer.hpp has the
// rules). Every name is normalized first; every parent is opened from the layer's root fd with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS); every change is an
// *at() call relative to that parent, never a path the kernel would resolve from "/".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "runtime/fd.hpp"

struct archive;
struct archive_entry;

namespace hutch::image {

class LayerEntries {
public:
    // `root`: the layer's (temp) directory, `root_path` its path (for remove_tree and messages),
    // `what` the layer's name in errors. `user_xattr`: the layer is for an overlay mounted with
    // `userxattr` (rootless hutch's, unpacked in a user namespace), whose opaque directories are
    // marked user.overlay.opaque.
    LayerEntries(Fd root, std::string root_path, std::string what, bool user_xattr = false);

    // Applies the entry the tar reader `tar` is positioned on (its data is read from `tar`).
    void apply(archive* tar, archive_entry* entry);
    // Directory mtimes, set last: creating an entry inside a directory changes its mtime.
    void finish();
    std::uint64_t content_size() const { return content_size_; }
    int root() const { return root_.get(); }
    // "unpack layer <what>: entry \"<name>\"" (or without the entry before the first one).
    std::string step() const;
    [[noreturn]] void fail(const std::string& reason) const;

private:
    using Parts = std::vector<std::string>;
    Parts normalize(const std::string& name, const char* label) const;
    Fd open_dir(const Parts& parts, std::size_t count, bool create) const;
    bool clear(int parent, const Parts& parts, bool keep_dir) const;
    void whiteout(const Parts& parts);
    void hard_link(int parent, const Parts& parts, const char* target);
    void directory(int parent, const Parts& parts, archive_entry* entry);
    void regular(archive* tar, int parent, const Parts& parts, archive_entry* entry);
    void symlink(int parent, const Parts& parts, archive_entry* entry);
    void metadata(int fd, archive_entry* entry) const;
    [[noreturn]] void owner_failed(const char* call, long long uid, long long gid) const;
    void remember_dir_time(const Parts& parts, archive_entry* entry);

    struct DirTime {
        std::string path;
        struct timespec times[2];
    };
    Fd root_;
    std::string root_path_, what_, current_;
    std::uint64_t content_size_ = 0;
    std::vector<DirTime> dir_times_;
    std::size_t dir_time_bytes_ = 0;
    const char* opaque_xattr_;
    bool user_namespace_;  // rootless hutch's unpack, as the root of the user's user namespace
};

}  // namespace hutch::image
