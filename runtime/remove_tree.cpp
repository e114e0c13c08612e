#include "runtime/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"

namespace hutch {
namespace {

struct Key {
    dev_t dev;
    ino_t ino;
    bool operator<(const Key& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
    bool operator==(const Key& o) const { return dev == o.dev && ino == o.ino; }
};

Key key_of(const struct stat& st) { return {st.st_dev, st.st_ino}; }

// A subdirectory of `dir`, never through a symlink or onto another mount (EXDEV).
Fd open_child(int dir, const char* name) {
    open_how how{};
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
    return Fd(static_cast<int>(::syscall(SYS_openat2, dir, name, &how, sizeof how)));
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

class Remover {
public:
    explicit Remover(std::string top) : top_(std::move(top)) {}
    void run();

private:
    bool descend(Fd& dir);
    void remove_dir(int parent, const Key& key, const std::string& name);
    void stayed(const std::string& name, const std::string& why, const Key& key);
    std::string shown(const std::string& name) const;
    [[noreturn]] void fail() const;

    std::string top_;
    std::vector<std::pair<Key, std::string>> levels_;  // the way down: each directory and its name
    std::set<Key> stuck_;                              // what could not be removed: not retried
    std::size_t count_ = 0;
    std::string first_;
};

// The path below the top of `name` in the current directory, shortened in the middle when the
// tree is deep (a 1,500-level path is not an error message).
std::string Remover::shown(const std::string& name) const {
    std::string relative;
    for (std::size_t i = 1; i < levels_.size(); ++i) relative += (i > 1 ? "/" : "") + levels_[i].second;
    if (!name.empty()) relative += (relative.empty() ? "" : "/") + name;
    if (relative.size() > 160)
        relative = relative.substr(0, 60) + "/.../" + relative.substr(relative.size() - 80) + " (" +
                   std::to_string(levels_.size()) + " levels down)";
    return relative.empty() ? top_ : top_ + "/" + relative;
}

void Remover::stayed(const std::string& name, const std::string& why, const Key& key) {
    stuck_.insert(key);
    if (count_++ == 0) first_ = shown(name) + ": " + why;
}

void Remover::fail() const {
    throw Error("remove " + top_ + ": " + std::to_string(count_) + (count_ == 1 ? " entry" : " entries") +
                " could not be removed, first " + first_);
}

// Removes the non-directories of `dir`; on the first subdirectory that can be entered, enters
// it (`dir` becomes it) and returns true. False: `dir` holds nothing removable any more.
bool Remover::descend(Fd& dir) {
    std::unique_ptr<DIR, DirCloser> listing(::fdopendir(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0)));
    if (!listing) {
        stayed("", std::string("opendir: ") + std::strerror(errno), levels_.back().first);
        return false;
    }
    while (dirent* e = ::readdir(listing.get())) {
        const char* name = e->d_name;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
        struct stat st {};
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) {
            if (::unlinkat(dir.get(), name, 0) == 0 || errno == ENOENT) continue;
            int err = errno;
            if (err != EISDIR) {
                if (::fstatat(dir.get(), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !stuck_.count(key_of(st)))
                    stayed(name, std::strerror(err), key_of(st));
                continue;
            }
        }
        if (::fstatat(dir.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) stayed(name, std::string("fstatat: ") + std::strerror(errno), Key{0, 0});
            continue;
        }
        const Key key = key_of(st);
        if (stuck_.count(key)) continue;
        if (!S_ISDIR(st.st_mode)) {
            if (::unlinkat(dir.get(), name, 0) != 0 && errno != ENOENT) stayed(name, std::strerror(errno), key);
            continue;
        }
        Fd child = open_child(dir.get(), name);
        if (!child) {
            if (errno != ENOENT)
                stayed(name, errno == EXDEV ? "a mount point (removal never crosses one)" : std::strerror(errno), key);
            continue;
        }
        struct stat opened {};
        if (::fstat(child.get(), &opened) != 0 || !(key_of(opened) == key)) {
            stayed(name, "replaced while being removed", key);
            continue;
        }
        levels_.emplace_back(key, name);
        dir = std::move(child);
        return true;
    }
    return false;
}

// rmdir of the emptied directory `name` in `parent`, if it is still the one the walk emptied.
void Remover::remove_dir(int parent, const Key& key, const std::string& name) {
    struct stat st {};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) stayed(name, std::string("fstatat: ") + std::strerror(errno), key);
        return;
    }
    if (!(key_of(st) == key)) return stayed(name, "replaced while being removed", key);
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return;
    // Not empty because of what stayed inside: already counted.
    if (errno == ENOTEMPTY && count_ > 0) return (void)stuck_.insert(key);
    stayed(name, std::strerror(errno), key);
}

void Remover::run() {
    auto slash = top_.find_last_of('/');
    if (slash == std::string::npos) throw Error("remove " + top_ + ": not an absolute path");
    std::string parent_path = slash == 0 ? "/" : top_.substr(0, slash);
    std::string name = top_.substr(slash + 1);
    Fd parent(::open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent) {
        if (errno == ENOENT) return;
        throw SysError("remove " + top_, "open", parent_path, errno);
    }
    struct stat st {};
    if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return;
        throw SysError("remove " + top_, "fstatat", top_, errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(parent.get(), name.c_str(), 0) != 0 && errno != ENOENT)
            throw SysError("remove " + top_, "unlinkat", top_, errno);
        return;
    }
    Fd dir = open_child(parent.get(), name.c_str());
    if (!dir) {
        if (errno == ENOENT) return;
        if (errno == EXDEV) throw Error("remove " + top_ + ": it is a mount point (removal never crosses one)");
        throw SysError("remove " + top_, "openat2", top_, errno);
    }
    levels_.emplace_back(key_of(st), name);
    for (;;) {
        if (descend(dir)) continue;
        auto [key, leaf] = levels_.back();
        if (levels_.size() == 1) {
            dir.reset();
            remove_dir(parent.get(), key, leaf);
            break;
        }
        // Up through "..", which must be the directory the walk came down from.
        Fd up(::openat(dir.get(), "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        struct stat above {};
        if (!up || ::fstat(up.get(), &above) != 0 || !(key_of(above) == levels_[levels_.size() - 2].first)) {
            stayed("", "moved while being removed (the walk stopped there)", key);
            fail();
        }
        levels_.pop_back();
        dir = std::move(up);
        remove_dir(dir.get(), key, leaf);
    }
    if (count_ > 0) fail();
}

}  // namespace

void remove_tree(const std::string& path) { Remover(path).run(); }

}  // namespace hutch
