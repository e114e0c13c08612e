// Killing a command at an exact point: it runs under ptrace, its system calls are counted, and
// SIGKILL arrives as it enters the chosen one, so whatever that call would have done never
// happens. Every state change hutch makes is a system call, so "between any two calls" reaches
// every window a kill can hit, deterministically (a delay sweep hits a window of a few
// microseconds by luck).
//
// Only the command is traced (or, with follow_fork, the first process it forks: `run -d`'s
// monitor); the containers they start are not. The tracee is the test's child; its output goes
// to files, so nothing it leaves behind can block on a pipe.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "harness.hpp"

namespace hutch_it {

struct SyscallEntry {
    pid_t pid = 0;
    long nr = -1;                         // SYS_*
    std::array<std::uint64_t, 6> args{};  // as the call got them
    long index = 0;                       // 1-based, among the target's calls
};

struct KillPlan {
    long at = 0;  // SIGKILL at the entry of the target's `at`-th call (0: never, only count)
    // Or at the first entry for which this is true.
    std::function<bool(const SyscallEntry&)> when;
    // The target is the first process the command forks (run -d's monitor), not the command.
    bool follow_fork = false;
    // With follow_fork: how long the target is traced after the command has returned (then it
    // is let go, untraced, unless it was killed).
    std::chrono::milliseconds settle = std::chrono::milliseconds(300);
};

struct Traced {
    Result result;         // the command's own exit and output
    long calls = 0;        // system calls the target entered
    bool killed = false;   // SIGKILL was sent at the planned point
    pid_t target = 0;      // the command, or the process it forked
};

// Whether this machine lets the test trace its children (Yama's ptrace_scope 3, a seccomp
// policy or a container runtime may forbid it); "" when it does, else why not.
std::string ptrace_unavailable();

// Runs argv under the plan, at most `timeout`.
Traced run_traced(const Strings& argv, const KillPlan& plan,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Runs argv untraced with its output in files (what it leaves running may keep them: a created
// OCI container holds its stdio), at most `timeout`.
Result run_to_files(const Strings& argv, std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The NUL-terminated string at `address` in the stopped tracee `pid` (at most 4 KiB).
std::string tracee_string(pid_t pid, std::uint64_t address);
// A predicate: the call is rename/renameat/renameat2 whose new path ends with `suffix`.
std::function<bool(const SyscallEntry&)> renames_to(const std::string& suffix);
// A predicate: the call is symlink/symlinkat whose link path contains `needle`.
std::function<bool(const SyscallEntry&)> symlinks_at(const std::string& needle);

}  // namespace hutch_it
