#include "recording_kernel.hpp"

#include <linux/magic.h>
#include <sys/sysmacros.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <algorithm>
#include <cstring>

namespace hutch::testing {

void RecordingKernel::record(sys::CallKind kind, const std::string& call, long result, int err) {
    // An exec is recorded once, when it is made (the Linux backend adds a second line only when
    // it returns, which here is never).
    if (result == -1 && !calls_.empty() && calls_.back().line == call && calls_.back().result == kPending) {
        calls_.back() = {kind, call, result, err};
        return;
    }
    calls_.push_back({kind, call, result, err});
}

int RecordingKernel::scripted_failure(const std::string& line) {
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
        if (line.rfind(it->first, 0) != 0) continue;
        int err = it->second;
        failures_.erase(it);
        return err;
    }
    return 0;
}

std::string RecordingKernel::fd_name(int fd) const {
    auto it = fd_names_.find(fd);
    return it != fd_names_.end() ? it->second : "fd " + std::to_string(fd);
}

std::vector<std::string> RecordingKernel::steps() const {
    std::vector<std::string> out;
    for (const auto& c : calls_)
        if (c.kind == sys::CallKind::kStep) out.push_back(c.line);
    return out;
}

int RecordingKernel::first(const std::string& prefix) const {
    auto lines = steps();
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
    return -1;
}

int RecordingKernel::last(const std::string& prefix) const {
    auto lines = steps();
    for (std::size_t i = lines.size(); i-- > 0;)
        if (lines[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
    return -1;
}

std::vector<std::string> RecordingKernel::all(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& line : steps())
        if (line.rfind(prefix, 0) == 0) out.push_back(line);
    return out;
}

std::string RecordingKernel::joined(int dirfd, const char* path) const {
    std::string p = path ? path : "";
    static const std::string kFdDir = "/proc/self/fd/";
    if (p.rfind(kFdDir, 0) == 0 && p.size() > kFdDir.size() &&
        p.find_first_not_of("0123456789", kFdDir.size()) == std::string::npos) {
        auto it = fd_names_.find(std::stoi(p.substr(kFdDir.size())));
        if (it != fd_names_.end()) return it->second;  // reopened through procfs: the same file
    }
    if (!p.empty() && p[0] == '/') return p;
    std::string dir = dirfd == AT_FDCWD ? "" : fd_name(dirfd);
    if (p.empty() || p == ".") return dir;
    return (dir == "/" ? "" : dir) + "/" + p;
}

bool RecordingKernel::is_missing(const std::string& path) const {
    return entries_.count(path) == 0 && std::find(missing_.begin(), missing_.end(), path) != missing_.end();
}

int RecordingKernel::new_fd(const std::string& name) {
    fd_names_[next_fd_] = name;
    return next_fd_++;
}

int RecordingKernel::do_openat2(int dirfd, const char* path, const open_how&) {
    std::string name = joined(dirfd, path);
    if (is_missing(name)) {
        errno = ENOENT;
        return -1;
    }
    return new_fd(name);
}

int RecordingKernel::do_openat(int dirfd, const char* path, int flags, mode_t mode) {
    std::string name = joined(dirfd, path);
    if (flags & O_CREAT) entries_[name] = {static_cast<mode_t>(S_IFREG | mode), 0};
    else if (is_missing(name)) {
        errno = ENOENT;
        return -1;
    }
    return new_fd(name);
}

int RecordingKernel::do_fstat(int fd, struct stat* st) {
    *st = {};
    auto it = entries_.find(fd_name(fd));
    st->st_mode = it != entries_.end() ? it->second.mode : S_IFDIR | 0755;
    st->st_rdev = it != entries_.end() ? it->second.dev : 0;
    return 0;
}

int RecordingKernel::do_fstatfs(int fd, struct statfs* st) {
    *st = {};
    std::string name = fd_name(fd);
    bool proc = name.size() >= 5 && name.compare(name.size() - 5, 5, "/proc") == 0;
    st->f_type = proc ? PROC_SUPER_MAGIC : TMPFS_MAGIC;
    return 0;
}

// A path nobody made is an executable regular file (the command, in an exec's PATH search).
int RecordingKernel::do_fstatat(int dirfd, const char* path, struct stat* st, int) {
    *st = {};
    std::string name = joined(dirfd, path);
    if (is_missing(name)) {
        errno = ENOENT;
        return -1;
    }
    auto it = entries_.find(name);
    st->st_mode = it != entries_.end() ? it->second.mode : S_IFREG | 0755;
    return 0;
}

int RecordingKernel::do_mkdirat(int dirfd, const char* path, mode_t mode) {
    entries_[joined(dirfd, path)] = {static_cast<mode_t>(S_IFDIR | mode), 0};
    return 0;
}

int RecordingKernel::do_mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) {
    entries_[joined(dirfd, path)] = {mode, dev};
    return 0;
}

int RecordingKernel::do_symlinkat(const char*, int dirfd, const char* path) {
    entries_[joined(dirfd, path)] = {S_IFLNK | 0777, 0};
    return 0;
}

ssize_t RecordingKernel::do_write(int, const void*, std::size_t size) { return static_cast<ssize_t>(size); }

int RecordingKernel::do_dup3(int old_fd, int new_fd, int) {
    if (auto it = fd_names_.find(old_fd); it != fd_names_.end()) fd_names_[new_fd] = it->second;
    return new_fd;
}

int RecordingKernel::do_ioctl(int fd, unsigned long request, unsigned long) {
    if (request == TIOCGPTPEER) return new_fd(fd_name(fd) + " (pty slave)");
    return 0;
}

int RecordingKernel::do_execveat(int, const char*, char* const[], char* const[], int) {
    throw ExecReached{calls_.empty() ? std::string() : calls_.back().line};
}

ssize_t RecordingKernel::do_sendmsg(int, const msghdr& message, int) {
    ssize_t size = 0;
    for (std::size_t i = 0; i < message.msg_iovlen; ++i) size += static_cast<ssize_t>(message.msg_iov[i].iov_len);
    return size;
}

ssize_t RecordingKernel::do_recvmsg(int, msghdr& message, int) {
    message.msg_controllen = 0;
    if (packets_.empty()) return 0;  // the peer closed its end
    std::string packet = std::move(packets_.front());
    packets_.pop_front();
    std::size_t copied = 0;
    for (std::size_t i = 0; i < message.msg_iovlen && copied < packet.size(); ++i) {
        std::size_t n = std::min(message.msg_iov[i].iov_len, packet.size() - copied);
        std::memcpy(message.msg_iov[i].iov_base, packet.data() + copied, n);
        copied += n;
    }
    return static_cast<ssize_t>(copied);
}

}  // namespace hutch::testing
