// Seccomp filters: linux.seccomp (OCI form) compiled to classic BPF by libseccomp, and installed.
//
// The two halves run in different processes on purpose. compile() runs in the parent, where
// libseccomp may allocate, fail and explain; install() runs in the container's init as its last
// step before execve and makes exactly one call, seccomp(SECCOMP_SET_MODE_FILTER), on a
// ready-made program (crun does the same: it generates seccomp.bpf ahead, the child only loads).
//
// Semantics follow runc and crun, so a config.json behaves alike under all three:
// - every architecture listed is added to the filter besides the native one; a syscall name a
//   listed architecture lacks is skipped for that architecture (chown32 exists only on x86);
//   a name libseccomp knows on no architecture at all is a UsageError (a typo, not a portability
//   matter);
// - a rule whose action equals the default action is dropped (libseccomp refuses it);
// - the conditions of a rule are ANDed, except when two of them test the same argument: then
//   each condition becomes a rule of its own (ORed), as runc and crun do, because libseccomp
//   cannot AND two tests of one argument;
// - SCMP_ACT_ERRNO and SCMP_ACT_TRACE without errnoRet return EPERM.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/spec.hpp"

namespace hutch::seccomp {

struct Program {
    std::vector<sock_filter> instructions;
    unsigned flags = 0;  // SECCOMP_FILTER_FLAG_* from linux.seccomp.flags
};

// linux.seccomp -> BPF (seccomp_init, seccomp_arch_add, seccomp_rule_add_array,
// seccomp_export_bpf into a memfd, read back). Bad actions, operators, architectures, flags and
// unknown syscall names are UsageErrors naming "linux.seccomp: <json path>".
Program compile(const Seccomp& seccomp);

// Loads `program` on the calling thread: seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). No
// libseccomp and no allocation. The kernel requires no_new_privs or CAP_SYS_ADMIN in the
// effective set; throws SysError (EACCES says which is missing).
void install(const Program& program);

// `hutch profile`'s observing filter: every system call, with no exception, is sent to a
// supervisor (SCMP_ACT_NOTIFY), which lets it continue. (The supervisor takes the listener
// from the child with pidfd_getfd: no call needs letting through for the handover, so nothing
// the workload does goes unseen.) Calls of another architecture are notified too (x86 and x32
// beside x86_64): the spec's own filter decides whether they may run at all. The program carries
// SECCOMP_FILTER_FLAG_NEW_LISTENER.
Program compile_listener();
// Where notification is unavailable: every call allowed and logged (SCMP_ACT_LOG), to the audit
// log or, without auditd, the kernel log.
Program compile_logger();

// Whether loading `program` returns a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER).
bool makes_listener(const Program& program);
// Installs an observing filter (above); returns its listener fd (close-on-exec, as the kernel
// makes it), or -1 for a filter that only logs. The same privilege rule as install().
int install_observer(const Program& program);

// The names both the profile parser and compile() accept. Each returns "" when the name is
// fine, else why it is not ("unknown action \"SCMP_ACT_FOO\"").
std::string action_error(std::string_view action);
std::string errno_ret_error(std::string_view action, std::uint64_t errno_ret);
std::string operator_error(std::string_view op);
std::string architecture_error(std::string_view scmp_arch);  // "SCMP_ARCH_X86_64"
std::string flag_error(std::string_view flag);               // "SECCOMP_FILTER_FLAG_LOG"
// True when libseccomp knows `name` on at least one architecture.
bool syscall_known(std::string_view name);

}  // namespace hutch::seccomp
