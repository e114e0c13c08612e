#include "runtime/profile/tracefs.hpp"

#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "runtime/error.hpp"
#include "runtime/proc_stat.hpp"

namespace hutch::tracefs {
namespace {

constexpr long kTracefsMagic = 0x74726163;  // TRACEFS_MAGIC
constexpr const char* kStep = "set up the trace instance";

bool is_tracefs(int fd) {
    struct statfs sfs {};
    return ::fstatfs(fd, &sfs) == 0 && static_cast<long>(sfs.f_type) == kTracefsMagic;
}

// A tracefs superblock mounted nowhere: only this fd reaches it.
Fd detached_tracefs() {
    Fd fs(static_cast<int>(::syscall(SYS_fsopen, "tracefs", FSOPEN_CLOEXEC)));
    if (!fs) return Fd();
    if (::syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return Fd();
    return Fd(static_cast<int>(::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC, 0)));
}

// Field 22 of /proc/<pid>/stat (the start time), "" when there is no such process (or `pid`
// is not a number).
std::string start_time(const std::string& pid) {
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return "";
    return ProcStat(static_cast<pid_t>(std::stol(pid))).field(22);
}

std::string pid_namespace() {
    struct stat st {};
    if (::stat("/proc/self/ns/pid", &st) != 0) return "0";
    return std::to_string(st.st_ino);
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

}  // namespace

std::string instance_prefix() {
    std::string pid = std::to_string(::getpid());
    return "hutch-profile-" + pid_namespace() + "-" + pid + "-" + start_time(pid) + "-";
}

std::optional<Root> Root::open() {
    for (const char* path : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
        Fd fd(::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (fd && is_tracefs(fd.get())) return Root(std::move(fd), path);
    }
    Fd fd = detached_tracefs();
    if (fd && is_tracefs(fd.get())) return Root(std::move(fd), "a private tracefs mount (attached nowhere)");
    return std::nullopt;
}

bool Root::has_event(const std::string& event) const {
    return ::faccessat(fd_.get(), ("events/" + event + "/enable").c_str(), F_OK, 0) == 0;
}

int Root::remove_orphans(const std::string& prefix) const {
    Fd dir(::openat(fd_.get(), "instances", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return 0;
    DIR* d = ::fdopendir(dir.release());
    if (!d) return 0;
    const std::string ns = pid_namespace();
    std::vector<std::string> orphans;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.rfind(prefix, 0) != 0) continue;
        // <pidns>-<pid>-<start time>-<n>
        std::vector<std::string> parts;
        std::istringstream in(name.substr(prefix.size()));
        for (std::string part; std::getline(in, part, '-');) parts.push_back(part);
        if (parts.size() != 4 || !std::all_of(parts.begin(), parts.end(), all_digits)) continue;
        if (parts[0] != ns) continue;  // another pid namespace's pids: not ours to judge
        if (start_time(parts[1]) != parts[2]) orphans.push_back(name);
    }
    ::closedir(d);
    int removed = 0;
    for (const auto& name : orphans)
        if (::unlinkat(fd_.get(), ("instances/" + name).c_str(), AT_REMOVEDIR) == 0) ++removed;
    return removed;
}

Instance::Instance(const Root& root, const std::string& prefix) : root_fd_(root.fd()) {
    static std::atomic<unsigned> next{0};
    std::string path;
    for (;;) {
        name_ = prefix + std::to_string(next++);
        path = "instances/" + name_;
        if (::mkdirat(root_fd_, path.c_str(), 0700) == 0) break;
        // EEXIST: left by an earlier process that had this pid and start time (a pid namespace
        // torn down and made again), or made by hand. Never ours to remove: take the next.
        if (errno != EEXIST || next > 1000) throw SysError(kStep, "mkdir", path, errno);
    }
    dir_ = Fd(::openat(root_fd_, path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_) {
        int err = errno;
        ::unlinkat(root_fd_, path.c_str(), AT_REMOVEDIR);
        throw SysError(kStep, "open", path, err);
    }
}

Instance::~Instance() {
    try {
        stop_reading();
    } catch (const std::exception& e) {
        // A destructor must not throw; the instance is removed below all the same.
        std::fprintf(stderr, "hutch: warning: stop the trace reader: %s\n", e.what());
    }
    // Events off before the rmdir: an instance with enabled events can still be removed, but
    // this way nothing records between here and there.
    for (const auto& e : enabled_) {
        Fd f(::openat(dir_.get(), ("events/" + e + "/enable").c_str(), O_WRONLY | O_CLOEXEC));
        if (f) [[maybe_unused]] auto n = ::write(f.get(), "0", 1);
    }
    dir_.reset();
    std::string path = "instances/" + name_;
    // EBUSY while a reader still has trace_pipe open; the reader is joined above, so a retry
    // only covers the kernel finishing with the file.
    for (int i = 0; i < 50; ++i) {
        if (::unlinkat(root_fd_, path.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void Instance::write(const std::string& file, const std::string& value) {
    Fd f(::openat(dir_.get(), file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!f) throw SysError(kStep, "open", "instances/" + name_ + "/" + file, errno);
    if (::write(f.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        throw SysError(kStep, "write " + value, "instances/" + name_ + "/" + file, errno);
}

void Instance::enable(const std::string& event) {
    write("events/" + event + "/enable", "1");
    enabled_.push_back(event);
}

void Instance::start_reading(std::function<void(std::string_view)> on_line) {
    Fd pipe(::openat(dir_.get(), "trace_pipe", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!pipe) throw SysError(kStep, "open", "instances/" + name_ + "/trace_pipe", errno);
    on_line_ = std::move(on_line);
    stop_ = false;
    reader_ = std::thread([this, p = std::move(pipe)]() mutable { read_loop(std::move(p)); });
}

void Instance::read_loop(Fd pipe) {
    std::string pending;
    char buf[65536];
    for (;;) {
        bool stopping = stop_.load();
        ssize_t n = ::read(pipe.get(), buf, sizeof buf);
        if (n > 0) {
            pending.append(buf, static_cast<std::size_t>(n));
            std::size_t start = 0, nl;
            while ((nl = pending.find('\n', start)) != std::string::npos) {
                on_line_(std::string_view(pending).substr(start, nl - start));
                start = nl + 1;
            }
            pending.erase(0, start);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        // Empty (EAGAIN): done once told to stop, since recording was switched off first.
        if (stopping) break;
        pollfd p{pipe.get(), POLLIN, 0};
        ::poll(&p, 1, 20);
    }
    if (!pending.empty()) on_line_(pending);
}

void Instance::stop_reading() {
    if (!reader_.joinable()) return;
    // Recording off in this instance only; the buffer still holds what was recorded.
    try {
        write("tracing_on", "0");
    } catch (const Error& e) {
        // The reader is stopped all the same; the instance's rmdir turns recording off with it.
        std::fprintf(stderr, "hutch: warning: %s\n", e.what());
    }
    stop_ = true;
    reader_.join();
}

long Instance::lost_events() const {
    long lost = 0;
    Fd per_cpu(::openat(dir_.get(), "per_cpu", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!per_cpu) return 0;
    DIR* d = ::fdopendir(per_cpu.release());
    if (!d) return 0;
    while (dirent* e = ::readdir(d)) {
        if (std::strncmp(e->d_name, "cpu", 3) != 0) continue;
        Fd f(::openat(::dirfd(d), (std::string(e->d_name) + "/stats").c_str(), O_RDONLY | O_CLOEXEC));
        if (!f) continue;
        char text[4096];
        ssize_t n = ::read(f.get(), text, sizeof text - 1);
        if (n <= 0) continue;
        text[n] = '\0';
        for (const char* key : {"overrun: ", "dropped events: "}) {
            const char* at = std::strstr(text, key);
            if (at) lost += std::strtol(at + std::strlen(key), nullptr, 10);
        }
    }
    ::closedir(d);
    return lost;
}

}  // namespace hutch::tracefs
