// SIGINT and SIGTERM during a start: the start is abandoned, cleanly.
//
// A start creates kernel objects one after another (name claim, record, cgroup, veth, mounts in
// the child's namespace, state dir); a signal with its default action would kill hutch between
// two of them and leave the rest behind. So from its first step (reading a seccomp profile) until
// the command runs, a start holds SIGINT and SIGTERM blocked (a Scope) and looks for them at
// points where stopping is safe: between rules of a profile, and in every wait (for the child's
// report, for a hook, for a -d monitor). There it throws Interrupted, and the same unwinding
// that cleans up a failed start removes what was made. Once the command runs, the launcher
// forwards both signals to it, as `docker run` does (launch_internal.hpp, BlockedSignals).
//
// How hutch then ends: one line, "hutch: the start was interrupted by SIGTERM; nothing of the
// container was left", then it dies of that very signal (re-raised with its default action), so
// a shell sees 143 (130 for SIGINT) and a script's loop stops on Ctrl-C. That is what a
// `docker run` CLI killed by the signal during its start shows, and what runc shows.
#pragma once

#include "runtime/error.hpp"

namespace hutch::interrupt {

class Interrupted : public Error {
public:
    explicit Interrupted(int signal);
    int signal() const { return signal_; }

private:
    int signal_;
};

// Blocks SIGINT and SIGTERM while it lives (scopes nest; the outermost restores the mask).
// The children hutch forks or clones meanwhile inherit the blocked mask: a Ctrl-C sent to the
// whole foreground process group reaches only hutch, which then removes them.
class Scope {
public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
};

// Throws Interrupted when SIGINT or SIGTERM is pending under a Scope (taking it); else nothing.
void check();

// Waits until `fd` has something to read (or is closed) while watching for SIGINT/SIGTERM:
// throws Interrupted on one, even one that came together with the answer. Without a Scope it
// only waits.
void wait_readable(int fd, const char* step);

// As wait_readable, but throws only for a signal that came before `fd` was readable: the caller
// reads the answer first, because some answers (the child's execve) mean the start is over and a
// signal from then on belongs to the command; it calls check() itself for the other answers.
void wait_for_answer(int fd, const char* step);

// A signalfd readable while SIGINT or SIGTERM is pending, for a poll loop of one's own;
// -1 without a Scope.
int fd();

// After the message: dies of `signal` (its default action); returns only if that failed.
void die_of(int signal);

}  // namespace hutch::interrupt
