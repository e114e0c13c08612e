#include "runtime/interrupt.hpp"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <string>

namespace hutch::interrupt {
namespace {

// One start per process: the outermost Scope owns the mask and the signalfd.
int g_depth = 0;
int g_fd = -1;
sigset_t g_old_mask;

sigset_t start_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

Interrupted::Interrupted(int signal)
    : Error(std::string("the start was interrupted by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
                "; nothing of the container was left",
            128 + signal),
      signal_(signal) {}

Scope::Scope() {
    if (g_depth++ > 0) return;
    sigset_t set = start_signals();
    ::sigprocmask(SIG_BLOCK, &set, &g_old_mask);
    g_fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (g_fd < 0) {
        int err = errno;
        ::sigprocmask(SIG_SETMASK, &g_old_mask, nullptr);
        g_depth = 0;
        throw SysError("watch for SIGINT and SIGTERM during the start", "signalfd", "", err);
    }
}

Scope::~Scope() {
    if (--g_depth > 0) return;
    ::close(g_fd);
    g_fd = -1;
    // A signal that came after the last check stays pending and acts once unblocked: it is
    // the command's (forwarded already, while it ran) or the caller's to act on, as before.
    ::sigprocmask(SIG_SETMASK, &g_old_mask, nullptr);
}

void check() {
    if (g_depth == 0) return;
    sigset_t pending;
    if (::sigpending(&pending) != 0) return;
    for (int sig : {SIGTERM, SIGINT}) {
        if (!sigismember(&pending, sig)) continue;
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        timespec now{};
        ::sigtimedwait(&one, nullptr, &now);  // taken: it is answered by the abort itself
        throw Interrupted(sig);
    }
}

void wait_for_answer(int fd, const char* step) {
    for (;;) {
        check();
        pollfd fds[2] = {{fd, POLLIN, 0}, {g_fd, POLLIN, 0}};
        int n = ::poll(fds, g_fd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno != EINTR) throw SysError(step, "poll", "", errno);
        if (n > 0 && fds[0].revents) return;
    }
}

void wait_readable(int fd, const char* step) {
    wait_for_answer(fd, step);
    check();  // a signal that came with the answer still wins: the start is not done
}

int fd() { return g_fd; }

void die_of(int signal) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(signal, &dfl, nullptr);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signal);
    ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
    ::raise(signal);
}

}  // namespace hutch::interrupt
