// The supervisor end of `hutch profile`'s seccomp filter (SCMP_ACT_NOTIFY): every system call
// of the container waits until this answers, and it always answers "continue"
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE), after writing down who made which call. The kernel then
// runs the call as if no filter had asked: the spec's own filter still decides (it is stacked
// below and a refusal there wins, so a call it refuses is never seen here).
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "caps/least_privilege.hpp"
#include "runtime/error.hpp"
#include "runtime/fd.hpp"

struct seccomp_notif;
struct seccomp_notif_resp;

namespace hutch::notify {

// Whether this kernel offers SECCOMP_RET_USER_NOTIF (/proc/sys/kernel/seccomp/actions_avail).
bool available();

// Owns the listener fd and the thread answering it.
//
// The thread never leaves a call unanswered: if it has to stop early (poll, receive or respond
// fails for a reason other than the caller having died), it closes the listener, so the call
// waiting now and every later one fails with ENOSYS and the run ends; error() then says what
// failed, and the run's profile must not be used.
class Supervisor {
public:
    // Throws SysError when the notification buffers cannot be allocated.
    explicit Supervisor(Fd listener);
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;
    ~Supervisor();
    // Answers what is still queued, stops, and returns every call seen, in order.
    std::vector<profile::Notification> finish();
    // After finish(): why the thread stopped answering before it was told to, if it did.
    const std::optional<SysError>& error() const { return error_; }

private:
    void serve();
    void fail(const char* syscall, int err);
    Fd listener_;
    seccomp_notif* req_ = nullptr;
    seccomp_notif_resp* resp_ = nullptr;
    std::size_t req_size_ = 0;
    std::optional<SysError> error_;
    Fd wake_;  // eventfd: finish() asks the thread to drain and stop
    std::vector<profile::Notification> seen_;
    std::map<std::pair<std::uint32_t, int>, std::string> names_;
    std::thread thread_;
};

// The kernel log (/dev/kmsg) from now on: where SCMP_ACT_LOG records land when no auditd takes
// them. Reading it changes nothing for anyone else.
class KernelLog {
public:
    KernelLog();  // positioned at the end: only what comes after counts
    // Every seccomp log record since.
    std::vector<profile::Notification> read_new();

private:
    Fd fd_;
};

}  // namespace hutch::notify
