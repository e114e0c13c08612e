// The supervisor end of `hutch profile`'s seccomp filter (SCMP_ACT_NOTIFY): every system call
// of the container waits until this answers, and it always answers "continue"
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE), after writing down who made which call. The kernel then
// runs the call as if no filter had asked: the spec's own filter still decides (it is stacked
// below and a refusal there wins, so a call it refuses is never seen here).
#pragma once

#include <atomic>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "caps/least_privilege.hpp"
#include "runtime/fd.hpp"

namespace hutch::notify {

// Whether this kernel offers SECCOMP_RET_USER_NOTIF (/proc/sys/kernel/seccomp/actions_avail).
bool available();

// Owns the listener fd and the thread answering it.
class Supervisor {
public:
    explicit Supervisor(Fd listener);
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;
    ~Supervisor();
    // Answers what is still queued, stops, and returns every call seen, in order.
    std::vector<profile::Notification> finish();

private:
    void serve();
    Fd listener_;
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
