#include "syscall_kill.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

namespace hutch_it {
namespace {

using Clock = std::chrono::steady_clock;

void on_alarm(int) {}

// SIGALRM every `period` without SA_RESTART: a blocked waitpid returns EINTR, so the tracer
// can look at its deadlines while every tracee runs.
class Ticker {
public:
    explicit Ticker(std::chrono::milliseconds period) {
        struct sigaction sa {};
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGALRM, &sa, &old_);
        itimerval t{};
        t.it_interval.tv_usec = t.it_value.tv_usec = static_cast<suseconds_t>(period.count() * 1000);
        ::setitimer(ITIMER_REAL, &t, nullptr);
    }
    ~Ticker() {
        itimerval off{};
        ::setitimer(ITIMER_REAL, &off, nullptr);
        ::sigaction(SIGALRM, &old_, nullptr);
    }

private:
    struct sigaction old_ {};
};

std::string drain(int fd) {
    std::string out;
    ::lseek(fd, 0, SEEK_SET);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// The tracer's state for one run.
class Tracer {
public:
    Tracer(pid_t main, const KillPlan& plan) : main_(main), plan_(plan) {
        traced_.insert(main);
        if (!plan.follow_fork) target_ = main;
    }
    // One waitpid result; false once there is nothing left to follow.
    void handle(pid_t pid, int status);
    bool finished() const;
    void tick(Clock::time_point now);
    void kill_all() {
        for (pid_t p : traced_) ::kill(p, SIGKILL);
    }

    Traced out;
    int main_status = 0;
    bool main_done = false;

private:
    void syscall_stop(pid_t pid);
    void adopt(pid_t child);
    void resume(pid_t pid, int sig = 0) { ::ptrace(PTRACE_SYSCALL, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))); }

    pid_t main_, target_ = 0;
    const KillPlan& plan_;
    std::set<pid_t> traced_, awaiting_first_stop_, stopped_unknown_;
    bool execd_ = false, target_gone_ = false, letting_go_ = false, let_go_ = false;
    Clock::time_point settle_deadline_{};
};

// A process auto-attached by a fork event, at its first stop: the target is traced (without
// following its own forks: the container stays untraced), anything else let go.
void Tracer::adopt(pid_t child) {
    if (child == target_) {
        ::ptrace(PTRACE_SETOPTIONS, child, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
        resume(child);
        return;
    }
    ::ptrace(PTRACE_DETACH, child, nullptr, nullptr);
    traced_.erase(child);
}

void Tracer::syscall_stop(pid_t pid) {
    if (pid == target_ && !out.killed && (pid != main_ || execd_)) {
        __ptrace_syscall_info info{};
        if (::ptrace(PTRACE_GET_SYSCALL_INFO, pid, reinterpret_cast<void*>(sizeof info), &info) > 0 &&
            info.op == PTRACE_SYSCALL_INFO_ENTRY) {
            SyscallEntry e;
            e.pid = pid;
            e.nr = static_cast<long>(info.entry.nr);
            for (int i = 0; i < 6; ++i) e.args[static_cast<std::size_t>(i)] = info.entry.args[i];
            e.index = ++out.calls;
            if ((plan_.at > 0 && e.index == plan_.at) || (plan_.when && plan_.when(e))) {
                ::kill(pid, SIGKILL);
                out.killed = true;
            }
        }
    }
    resume(pid);
}

void Tracer::handle(pid_t pid, int status) {
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        traced_.erase(pid);
        if (pid == main_) {
            main_done = true;
            main_status = status;
            settle_deadline_ = Clock::now() + plan_.settle;
        }
        if (pid == target_) target_gone_ = true;
        return;
    }
    if (!WIFSTOPPED(status)) return;
    const int sig = WSTOPSIG(status);
    const unsigned event = static_cast<unsigned>(status) >> 16;
    if (!traced_.count(pid)) {  // a new child stopping before its parent's fork event
        traced_.insert(pid);
        stopped_unknown_.insert(pid);
        return;
    }
    if (awaiting_first_stop_.count(pid) && sig == SIGSTOP) {
        awaiting_first_stop_.erase(pid);
        return adopt(pid);
    }
    if (sig == (SIGTRAP | 0x80)) return syscall_stop(pid);
    if (event == PTRACE_EVENT_EXEC) {
        if (pid == main_) execd_ = true;
        return resume(pid);
    }
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
        unsigned long child = 0;
        ::ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &child);
        pid_t c = static_cast<pid_t>(child);
        if (plan_.follow_fork && pid == main_ && target_ == 0) {
            target_ = c;
            out.target = c;
        }
        traced_.insert(c);
        if (stopped_unknown_.erase(c)) adopt(c);
        else awaiting_first_stop_.insert(c);
        return resume(pid);
    }
    if (letting_go_ && pid == target_ && sig == SIGSTOP) {
        ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);  // the SIGSTOP is not delivered: it runs on
        traced_.erase(pid);
        let_go_ = true;
        return;
    }
    resume(pid, sig);  // a signal for the process: delivered
}

bool Tracer::finished() const {
    if (!main_done) return false;
    if (!plan_.follow_fork || target_ == 0) return true;
    return target_gone_ || let_go_;
}

// After the command returned, its forked target is traced for `settle` more, then let go.
void Tracer::tick(Clock::time_point now) {
    if (main_done && plan_.follow_fork && target_ != 0 && !target_gone_ && !letting_go_ && !out.killed &&
        now >= settle_deadline_) {
        letting_go_ = true;
        ::kill(target_, SIGSTOP);
    }
}

}  // namespace

std::string ptrace_unavailable() {
    pid_t pid = ::fork();
    if (pid < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid == 0) {
        if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) ::_exit(1);
        ::raise(SIGSTOP);
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSTOPPED(status)) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return "";
    }
    return "ptrace(PTRACE_TRACEME) is refused here";
}

Traced run_traced(const Strings& argv, const KillPlan& plan, std::chrono::milliseconds timeout) {
    int out_fd = ::memfd_create("traced-stdout", MFD_CLOEXEC);
    int err_fd = ::memfd_create("traced-stderr", MFD_CLOEXEC);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::dup2(null_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::syscall(SYS_close_range, 3u, ~0u, 0u);
        ::signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) ::_exit(126);
        ::raise(SIGSTOP);  // the tracer sets its options before the exec
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(null_fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC |
                   (plan.follow_fork ? PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK : 0);
    ::ptrace(PTRACE_SETOPTIONS, pid, nullptr, reinterpret_cast<void*>(options));
    ::ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr);

    Tracer tracer(pid, plan);
    tracer.out.target = plan.follow_fork ? 0 : pid;
    const auto deadline = Clock::now() + timeout;
    {
        Ticker ticker(std::chrono::milliseconds(20));
        while (!tracer.finished()) {
            pid_t w = ::waitpid(-1, &status, __WALL);
            if (w > 0) {
                tracer.handle(w, status);
                continue;
            }
            if (errno == ECHILD) break;
            if (errno != EINTR) continue;
            auto now = Clock::now();
            if (now >= deadline) {
                tracer.out.result.timed_out = true;
                tracer.kill_all();
            }
            tracer.tick(now);
        }
    }
    tracer.out.result.code = tracer.main_done ? exit_code(tracer.main_status) : -1;
    tracer.out.result.out = drain(out_fd);
    tracer.out.result.err = drain(err_fd);
    ::close(out_fd);
    ::close(err_fd);
    return tracer.out;
}

Result run_to_files(const Strings& argv, std::chrono::milliseconds timeout) {
    int out_fd = ::memfd_create("stdout", MFD_CLOEXEC);
    int err_fd = ::memfd_create("stderr", MFD_CLOEXEC);
    SpawnOptions so;
    so.inherit_fds = {{out_fd, 1}, {err_fd, 2}};
    Result r = Process::spawn(argv, so).wait(timeout);
    r.out = drain(out_fd);
    r.err = drain(err_fd);
    ::close(out_fd);
    ::close(err_fd);
    return r;
}

std::string tracee_string(pid_t pid, std::uint64_t address) {
    std::string out;
    char buf[256];
    while (out.size() < 4096) {
        iovec local{buf, sizeof buf};
        iovec remote{reinterpret_cast<void*>(address + out.size()), sizeof buf};
        ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0) {
            // The string may end just before an unmapped page: a word at a time then.
            errno = 0;
            long word = ::ptrace(PTRACE_PEEKDATA, pid, reinterpret_cast<void*>(address + out.size()), nullptr);
            if (errno != 0) break;
            std::memcpy(buf, &word, sizeof word);
            n = sizeof word;
        }
        for (ssize_t i = 0; i < n; ++i) {
            if (buf[i] == '\0') return out;
            out += buf[i];
        }
    }
    return out;
}

std::function<bool(const SyscallEntry&)> renames_to(const std::string& suffix) {
    return [suffix](const SyscallEntry& e) {
        std::uint64_t newpath = 0;
        if (e.nr == SYS_rename) newpath = e.args[1];
        else if (e.nr == SYS_renameat || e.nr == SYS_renameat2) newpath = e.args[3];
        else return false;
        std::string path = tracee_string(e.pid, newpath);
        return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
}

std::function<bool(const SyscallEntry&)> symlinks_at(const std::string& needle) {
    return [needle](const SyscallEntry& e) {
        std::uint64_t link = 0;
        if (e.nr == SYS_symlink) link = e.args[1];
        else if (e.nr == SYS_symlinkat) link = e.args[2];
        else return false;
        return tracee_string(e.pid, link).find(needle) != std::string::npos;
    };
}

}  // namespace hutch_it
