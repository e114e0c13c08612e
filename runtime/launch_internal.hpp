// What the launcher's two halves share: launch.cpp (hutch run, exec) and launch_oci.cpp (hutch
// oci create/start/run). Internal to the launcher: nothing outside runtime/launch*.cpp includes it.
#pragma once

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "runtime/container_init.hpp"
#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/spec.hpp"
#include "runtime/sync.hpp"

namespace hutch::launch_detail {


// Signals hutch passes on to the container, as `docker run` (sig-proxy) does.
inline constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// The child's pid and a pidfd on it: waited for exactly once, killed if abandoned.
class Child {
public:
    Child(pid_t pid, Fd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
    Child(Child&&) = default;
    ~Child() {
        if (pid_ > 0 && !reaped_) {
            ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
            siginfo_t info{};
            while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0 &&
                   errno == EINTR) {
            }
        }
    }
    pid_t pid() const { return pid_; }
    int pidfd() const { return pidfd_.get(); }
    // Leaves the process to run on without us: the reaper above (an OCI engine) waits for it.
    void abandon() { reaped_ = true; }
    void signal(int sig) const { ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0); }
    // Passes on a signal that reached the supervisor, remembered: a user's stop (restart.hpp).
    void forward(int sig) {
        forwarded_ = sig;
        signal(sig);
    }
    int forwarded_signal() const { return forwarded_; }
    // Blocks until the child exits; returns docker's exit status for it.
    int wait() {
        siginfo_t info{};
        while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0) {
            if (errno != EINTR) throw SysError("wait for the container", "waitid", std::to_string(pid_), errno);
        }
        reaped_ = true;
        if (info.si_code == CLD_EXITED) return info.si_status;
        return 128 + info.si_status;
    }

private:
    pid_t pid_;
    Fd pidfd_;
    int forwarded_ = 0;
    bool reaped_ = false;
};

// Blocks the forwarded signals for hutch's lifetime and reads them from a signalfd instead;
// restored on the way out (the child unblocks its copy just before execve).
class BlockedSignals {
public:
    BlockedSignals(bool with_winch) {
        sigemptyset(&set_);
        for (int sig : kForwardedSignals) sigaddset(&set_, sig);
        if (with_winch) sigaddset(&set_, SIGWINCH);
        ::sigprocmask(SIG_BLOCK, &set_, &old_);
        fd_ = Fd(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!fd_) throw SysError("watch signals", "signalfd", "", errno);
    }
    ~BlockedSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
    int fd() const { return fd_.get(); }

private:
    sigset_t set_{}, old_{};
    Fd fd_;
};

// Pipes in place of the host's files for a container started without -t: a command must never
// hold a host tty (it could read it, change its modes, or with CAP_SYS_ADMIN push input into the
// user's shell with TIOCSTI), nor a host file (`> out.log`: container root could fchown and
// fchmod it into a setuid-root program, or with `< /etc/shadow` chmod that). Docker never hands
// either over. A stream that is already a pipe is inherited as it is, at no cost.
struct StdioPipes {
    std::array<Fd, 3> child_ends;   // what the child dup2s onto 0, 1, 2
    std::array<Fd, 3> parent_ends;  // what the parent relays
    std::array<int, 3> child_fds() const {
        return {child_ends[0].get(), child_ends[1].get(), child_ends[2].get()};
    }
};

// The pid of the process `pidfd` refers to, in this process's pid namespace (its fdinfo's Pid);
// -1 when it says none (0: in no pid namespace of ours).
pid_t pid_of_pidfd(int pidfd);
// clone3 of a container's first process (launch_namespaces.cpp), with `extra` flags (CLONE_PARENT).
long clone_container(const Spec& spec, int cgroup_fd, int& pidfd, unsigned long& flags, unsigned long extra = 0);
// The same from inside the user namespace `userns` (joined by path): a helper forked from this
// process enters it and clones the child with CLONE_PARENT, so the child is this process's, its
// new namespaces owned by that user namespace (setns cannot take a thread into a user namespace
// and back: it would lose the host's capabilities). The helper sends the pid and pidfd back and
// exits; it is reaped here. Returns 0 in the child, the pid here. `pid_ns` (or -1): a pid
// namespace the helper joins for the child once in the user namespace (rootless hutch holds no
// CAP_SYS_ADMIN in its own user namespace, which joining one from there takes).
long clone_in_user_namespace(const Spec& spec, int userns, int cgroup_fd, int& pidfd, unsigned long& flags, int pid_ns = -1);
// The namespaces linux.namespaces[].path names, opened (and a pid namespace joined) for the child.
// Rootless, a pid namespace is only opened, left in `joins` for clone_in_user_namespace.
std::vector<Fd> open_joined_namespaces(const Spec& spec, std::vector<NamespaceJoin>& joins);
// Takes the join of `clone_flag` out of `joins`: its fd, or -1 when there is none.
int take_join(std::vector<NamespaceJoin>& joins, int clone_flag);
// The namespaces a child with a user namespace joins (net, uts), entered by
// this thread for the clone alone: from inside its own user namespace the child holds no
// capability over namespaces another user namespace owns, so it could not setns into them
// (runc's nsexec joins before it unshares the user namespace: the same order). The child is
// born in them; they leave `joins`. The thread's own are put back by leave() (or the
// destructor); a failure to return ends hutch. Without a user namespace (new or joined): nothing.
class JoinedForTheClone {
public:
    JoinedForTheClone(const Spec& spec, std::vector<NamespaceJoin>& joins);
    JoinedForTheClone(const JoinedForTheClone&) = delete;
    JoinedForTheClone& operator=(const JoinedForTheClone&) = delete;
    ~JoinedForTheClone() { leave(); }
    void leave();

private:
    std::vector<std::pair<Fd, int>> homes_;  // the thread's own namespace, its CLONE_NEW* flag
};
// Writes a new user namespace's id maps for the child `pid`.
void write_id_maps(pid_t pid, const Spec& spec);
void write_id_maps(pid_t pid, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids);
// Sends the pty master to an engine's console socket.
void send_console(int socket, int master);
// Docker's exit status for a command that could not be exec'd: 127 not found, else 126.
inline int exec_failure_code(int err) { return err == ENOENT || err == ENOTDIR ? kExitNotFound : kExitCannotInvoke; }
// The child's report of a failed start as the error to throw: the trampoline's exec errno
// (kExecFailed) with docker's code, or the child's own message and code (kError).
Error start_failure(const Spec& spec, const sync::Message& msg);
// -d, start, exec -d: tells the process that forked the monitor that the command runs.
void report_started(int started_fd);
// Pipes for the host's streams that are not pipes already (none with a terminal; stdin only
// with -i): runtime/relay.cpp.
StdioPipes pipes_for_host_streams(const Spec& spec);
// What the child's messages lead to while a start waits for its command (start_messages.cpp).
// A handler left empty makes that message a protocol error, as is any other kind.
struct StartHandlers {
    std::function<void(Fd master)> terminal;     // kTerminal: the pty master
    std::function<void(int child_fd)> listener;  // kListener: the child's fd for its seccomp listener
    std::function<void()> interrupted;           // SIGINT/SIGTERM: after the child is killed and reaped
    std::function<void(const Error&)> failed;    // the child failed (it is reaped): before the throw
};
enum class Until { kExec, kCreated };
// Receives until the command runs (kExec: EOF, as execve closes the child's end) or the child is
// created (kCreated: `hutch oci create`). A failure is thrown as the child reported it; an
// interrupt kills the child and rethrows Interrupted.
void receive_until(const Fd& socket, Child& child, const Spec& spec, Until until, const StartHandlers& on,
                   const char* step);
// Relays the process's streams and forwards signals until it exits; returns its exit status.
// `pasta_pidfd` (or -1): the container's pasta, whose death is said on stderr when it comes first.
int supervise_until_exit(Child& child, const BlockedSignals& signals, const Fd& master, StdioPipes& pipes,
                         bool interactive, int pasta_pidfd = -1);

}  // namespace hutch::launch_detail
