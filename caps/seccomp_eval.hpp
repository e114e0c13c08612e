// What a compiled seccomp filter answers to one system call, computed in user space: the classic
// BPF program run on the seccomp_data the kernel would give it.
//
// Why: hutch installs the container's filter as its last step and execs the command right
// after, so the few calls of that exec (capset, execveat into the trampoline, its fcntl and
// execve) run under the user's profile. A profile that blocks one of them (a default action of
// SCMP_ACT_TRACE or SCMP_ACT_ERRNO with a short allow list) would make the exec fail where
// hutch can no longer report anything: the report and even exit_group may be blocked too, and
// the start ended as a silent SIGSEGV (exit 139). Asked before the filter goes in, the same
// question gets one clear line instead.
#pragma once

#include <linux/seccomp.h>

#include <array>
#include <cstdint>
#include <string>

#include "caps/seccomp_filter.hpp"

namespace hutch::seccomp {

// One call as the filter sees it (the native architecture; pointer arguments as given, 0 when
// unknown: no sensible profile tests a pointer's value).
struct Call {
    const char* name;  // for messages
    int nr;
    std::array<std::uint64_t, 6> args{};
};

// The filter's return value (SECCOMP_RET_*) for `call`. An invalid program answers
// SECCOMP_RET_KILL_PROCESS, as the kernel would refuse it anyway.
std::uint32_t evaluate(const Program& program, const Call& call);

// Whether that return value lets the call run (ALLOW or LOG).
bool lets_run(std::uint32_t ret);

// "SCMP_ACT_ERRNO(EPERM)", "SCMP_ACT_TRACE (ENOSYS without a tracer)", "SCMP_ACT_KILL_PROCESS".
std::string describe(std::uint32_t ret);

// Throws Error (exit 126) naming the first of `calls` the filter does not let run:
//   exec "x": the seccomp profile blocks execveat (SCMP_ACT_TRACE: ENOSYS without a tracer);
//   hutch makes these calls after the filter to start the command: capset, execveat, ...
void require_allowed(const Program& program, const std::string& command, const Call* calls, std::size_t count);

}  // namespace hutch::seccomp
