#include "runtime/profile/notify.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/error.hpp"

namespace hutch::notify {

bool available() {
    std::ifstream in("/proc/sys/kernel/seccomp/actions_avail");
    std::string word;
    while (in >> word)
        if (word == "user_notif") return true;
    return false;
}

namespace {
constexpr const char* kStep = "observe the workload's system calls";
}  // namespace

Supervisor::Supervisor(Fd listener) : listener_(std::move(listener)) {
    // Allocated here, not in the thread: a thread that could not answer would leave the
    // container waiting in its first call.
    if (int rc = ::seccomp_notify_alloc(&req_, &resp_); rc != 0)
        throw SysError(kStep, "seccomp_notify_alloc", "", -rc);
    // The kernel refuses a receive buffer that is not zeroed, in its own (possibly larger) size.
    seccomp_notif_sizes sizes{};
    req_size_ = sizeof *req_;
    if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 && sizes.seccomp_notif > req_size_)
        req_size_ = sizes.seccomp_notif;
    wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) {
        int err = errno;
        ::seccomp_notify_free(req_, resp_);
        throw SysError(kStep, "eventfd", "", err);
    }
    thread_ = std::thread([this] { serve(); });
}

Supervisor::~Supervisor() {
    if (thread_.joinable()) finish();
    ::seccomp_notify_free(req_, resp_);
}

std::vector<profile::Notification> Supervisor::finish() {
    if (thread_.joinable()) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
        thread_.join();
    }
    return std::move(seen_);
}

void Supervisor::fail(const char* syscall, int err) {
    error_.emplace(kStep, syscall, "seccomp listener", err);
    // With no listener left, the call waiting now and every later one fail with ENOSYS: the
    // run ends instead of waiting for an answer that will never come.
    listener_.reset();
}

void Supervisor::serve() {
    bool stopping = false;
    for (;;) {
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        // Once told to stop, only what is queued already is answered.
        int ready = ::poll(fds, 2, stopping ? 0 : -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return fail("poll", errno);
        if (ready == 0) break;  // stopping, nothing queued
        if (fds[1].revents & POLLIN) stopping = true;
        if (fds[0].revents & POLLIN) {
            // The ioctls themselves, not libseccomp's wrappers, which turn every errno into
            // ECANCELED.
            std::memset(req_, 0, req_size_);
            if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, req_) != 0) {
                // ENOENT: the caller died (or was interrupted) between poll and here.
                if (errno == EINTR || errno == ENOENT) continue;
                return fail("ioctl(SECCOMP_IOCTL_NOTIF_RECV)", errno);
            }
            auto key = std::make_pair(req_->data.arch, req_->data.nr);
            auto it = names_.find(key);
            if (it == names_.end()) {
                char* name = ::seccomp_syscall_resolve_num_arch(req_->data.arch, req_->data.nr);
                it = names_.emplace(key, name ? name : "syscall_" + std::to_string(req_->data.nr)).first;
                std::free(name);
            }
            seen_.push_back({static_cast<int>(req_->pid), req_->data.arch, req_->data.nr, it->second});
            std::memset(resp_, 0, sizeof *resp_);
            resp_->id = req_->id;
            resp_->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            while (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, resp_) != 0) {
                if (errno == EINTR) continue;
                // ENOENT: the caller was killed, or a signal interrupted its call (which the
                // kernel restarts and notifies again).
                if (errno == ENOENT) break;
                return fail("ioctl(SECCOMP_IOCTL_NOTIF_SEND)", errno);
            }
            continue;
        }
        // POLLHUP: every task the filter was on is gone.
        if (fds[0].revents & (POLLHUP | POLLERR)) break;
        // POLLNVAL cannot happen with an open listener; anything else unexpected is a failure.
        if (fds[0].revents & POLLNVAL) return fail("poll", EBADF);
        if (stopping) break;
    }
}

KernelLog::KernelLog() {
    fd_ = Fd(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd_) throw SysError("read the kernel log for seccomp records", "open", "/dev/kmsg", errno);
    ::lseek(fd_.get(), 0, SEEK_END);
}

std::vector<profile::Notification> KernelLog::read_new() {
    std::vector<profile::Notification> out;
    char record[8192];
    for (;;) {
        ssize_t n = ::read(fd_.get(), record, sizeof record - 1);
        if (n < 0 && (errno == EINTR || errno == EPIPE)) continue;  // EPIPE: overwritten, skipped
        if (n <= 0) break;
        std::string_view line(record, static_cast<std::size_t>(n));
        // "<prio>,<seq>,<usec>,<flags>;<message>"
        if (auto semi = line.find(';'); semi != std::string_view::npos) line.remove_prefix(semi + 1);
        if (auto e = profile::parse_seccomp_log(line)) {
            char* name = ::seccomp_syscall_resolve_num_arch(e->arch, e->nr);
            e->name = name ? name : "syscall_" + std::to_string(e->nr);
            std::free(name);
            out.push_back(*e);
        }
    }
    return out;
}

}  // namespace hutch::notify
