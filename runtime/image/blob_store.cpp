// The blob store. A Writer's bytes go to an anonymous O_TMPFILE in <root>/tmp/ (no name: a
// killed pull leaves nothing at all), hashed as they pass; commit() compares the digest, fsyncs,
// and links the file under its name with linkat, which never replaces an existing blob. Where the
// filesystem has no O_TMPFILE (some FUSE and network filesystems), the temp file has a unique
// name with the writer's pid in it, unlinked by the destructor, and by the next writer's sweep
// when its pid is gone.
#include "runtime/image/blob_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "runtime/error.hpp"
#include "runtime/state.hpp"

namespace hutch::image {
namespace {

constexpr unsigned kDirMode = 0700;   // the store is root's: nothing in it is for other users
constexpr unsigned kBlobMode = 0644;  // written once, never modified
constexpr const char* kPartialPrefix = "partial-";

std::string blob_dir(const std::string& root) { return root + "/blobs/sha256"; }

// Removes named temp files whose writer is gone (only the fallback without O_TMPFILE makes any).
void sweep_partials(const std::string& tmp) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(tmp.c_str()), ::closedir);
    if (!dir) return;
    std::string prefix = kPartialPrefix;
    while (dirent* entry = ::readdir(dir.get())) {
        std::string name = entry->d_name;
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            ::unlinkat(::dirfd(dir.get()), name.c_str(), 0);  // best effort: a leftover is only space
    }
}

// An unnamed file in `tmp`, or a uniquely named one (its name in `temp`) where O_TMPFILE fails.
Fd open_temp(const std::string& tmp, std::string& temp) {
    int fd = ::open(tmp.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, kBlobMode);
    if (fd >= 0) return Fd(fd);
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        throw SysError("create blob temp file", "open O_TMPFILE", tmp, errno);
    sweep_partials(tmp);
    temp = tmp + "/" + kPartialPrefix + std::to_string(::getpid()) + "-" + new_container_id().substr(0, 16);
    return Fd(check(::open(temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, kBlobMode),
                    "create blob temp file", "open", temp));
}

// Gives the unnamed file `fd` the name `target`. linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH;
// the /proc/self/fd link works for anyone who owns the file.
int link_tmpfile(int fd, const std::string& target) {
    if (::linkat(fd, "", AT_FDCWD, target.c_str(), AT_EMPTY_PATH) == 0) return 0;
    if (errno != ENOENT && errno != EPERM) return -1;
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    return ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW);
}

}  // namespace

BlobStore::BlobStore(std::string root) : root_(std::move(root)) {}

std::string BlobStore::path(std::string_view digest) const {
    return blob_dir(root_) + "/" + digest_hex(digest, "blob");
}

bool BlobStore::has(std::string_view digest) const {
    if (!is_digest(digest)) return false;
    struct stat st {};
    return ::lstat(path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Fd BlobStore::open(std::string_view digest) const {
    std::string file = path(digest);
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw SysError("open blob " + std::string(digest), "open", file, errno);
    return Fd(fd);
}

std::string BlobStore::read(std::string_view digest, std::size_t limit) const {
    Fd fd = open(digest);
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError("read blob " + std::string(digest), "read", path(digest), errno);
        if (n == 0) return out;
        if (out.size() + static_cast<std::size_t>(n) > limit)
            throw Error("read blob " + std::string(digest) + ": larger than the limit of " + std::to_string(limit) +
                        " bytes");
        out.append(buf, static_cast<std::size_t>(n));
    }
}

BlobStore::Writer BlobStore::writer() const {
    make_dirs(root_, kDirMode);
    for (const std::string& dir : {root_ + "/blobs", blob_dir(root_), root_ + "/tmp"})
        if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST)
            throw SysError("create image store", "mkdir", dir, errno);
    std::string temp;
    Fd fd = open_temp(root_ + "/tmp", temp);
    return Writer(blob_dir(root_), std::move(temp), std::move(fd));
}

std::string BlobStore::put(std::string_view data, std::string_view expected) const {
    Writer w = writer();
    w.write(data.data(), data.size());
    return w.commit(expected);
}

void BlobStore::remove(std::string_view digest) const {
    std::string file = path(digest);
    if (::unlink(file.c_str()) != 0 && errno != ENOENT)
        throw SysError("remove blob " + std::string(digest), "unlink", file, errno);
}

BlobStore::Writer::Writer(std::string dir, std::string temp, Fd fd)
    : dir_(std::move(dir)), temp_(std::move(temp)), fd_(std::move(fd)) {}

BlobStore::Writer::Writer(Writer&& other) noexcept
    : dir_(std::move(other.dir_)), temp_(std::exchange(other.temp_, {})), fd_(std::move(other.fd_)),
      hash_(other.hash_), size_(other.size_), committed_(std::exchange(other.committed_, true)) {}

BlobStore::Writer::~Writer() {
    // An unnamed temp file vanishes with its fd; a named one is unlinked here.
    if (!temp_.empty()) ::unlink(temp_.c_str());
}

void BlobStore::Writer::write(const void* data, std::size_t size) {
    if (committed_ || !fd_) throw Error("write blob: the writer was already committed");
    hash_.update(data, size);
    size_ += size;
    auto p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd_.get(), p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError("write blob", "write", "a temp file for " + dir_, errno);
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string BlobStore::Writer::commit(std::string_view expected) {
    if (committed_ || !fd_) throw Error("commit blob: the writer was already committed");
    if (!expected.empty()) digest_hex(expected, "expected blob digest");
    committed_ = true;  // the hash is finished below: nothing more can be written
    std::string digest = hash_.finish();
    if (!expected.empty() && digest != expected)
        throw Error("blob " + std::string(expected) + ": content does not match its digest (got " + digest + ", " +
                    std::to_string(size_) + " bytes)");
    std::string target = dir_ + "/" + digest.substr(7);
    // The bytes reach the disk before the name does: a crash never leaves a named, torn blob.
    check(::fchmod(fd_.get(), kBlobMode), "store blob", "fchmod", target);
    check(::fsync(fd_.get()), "store blob", "fsync", target);
    int linked = temp_.empty() ? link_tmpfile(fd_.get(), target) : ::rename(temp_.c_str(), target.c_str());
    // An existing blob has this content by definition (its name is its hash): nothing to do.
    if (linked != 0 && errno != EEXIST) throw SysError("store blob " + digest, temp_.empty() ? "linkat" : "rename", target, errno);
    if (linked == 0 && !temp_.empty()) temp_.clear();
    fd_.reset();
    Fd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) check(::fsync(dir.get()), "store blob", "fsync", dir_);
    return digest;
}

}  // namespace hutch::image
