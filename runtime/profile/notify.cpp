#include "runtime/profile/notify.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/eventfd.h>
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

Supervisor::Supervisor(Fd listener) : listener_(std::move(listener)) {
    wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) throw SysError("supervise the profiled container", "eventfd", "", errno);
    thread_ = std::thread([this] { serve(); });
}

Supervisor::~Supervisor() {
    if (thread_.joinable()) finish();
}

std::vector<profile::Notification> Supervisor::finish() {
    if (thread_.joinable()) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
        thread_.join();
    }
    return std::move(seen_);
}

void Supervisor::serve() {
    seccomp_notif* req = nullptr;
    seccomp_notif_resp* resp = nullptr;
    if (::seccomp_notify_alloc(&req, &resp) != 0) return;
    // The kernel refuses a receive buffer that is not zeroed, in its own (possibly larger) size.
    seccomp_notif_sizes sizes{};
    std::size_t req_size = sizeof *req;
    if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 && sizes.seccomp_notif > req_size)
        req_size = sizes.seccomp_notif;
    bool stopping = false;
    for (;;) {
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        // Once told to stop, only what is queued already is answered.
        int ready = ::poll(fds, 2, stopping ? 0 : -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        if (fds[1].revents & POLLIN) stopping = true;
        if (fds[0].revents & POLLIN) {
            std::memset(req, 0, req_size);
            if (::seccomp_notify_receive(listener_.get(), req) != 0) continue;  // the caller died meanwhile
            auto key = std::make_pair(req->data.arch, req->data.nr);
            auto it = names_.find(key);
            if (it == names_.end()) {
                char* name = ::seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
                it = names_.emplace(key, name ? name : "syscall_" + std::to_string(req->data.nr)).first;
                std::free(name);
            }
            seen_.push_back({static_cast<int>(req->pid), req->data.arch, req->data.nr, it->second});
            std::memset(resp, 0, sizeof *resp);
            resp->id = req->id;
            resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            ::seccomp_notify_respond(listener_.get(), resp);  // ENOENT: killed while waiting
            continue;
        }
        // POLLHUP: every task the filter was on is gone; or told to stop with nothing queued.
        if (stopping || (fds[0].revents & (POLLHUP | POLLERR))) break;
    }
    ::seccomp_notify_free(req, resp);
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
