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
//   a name libseccomp knows on no architecture at all is skipped too, as runc and Docker skip
//   it (Docker's profiles name calls newer than a given libseccomp), with an --explain note;
//   only a name that is not shaped like a syscall name ([a-z0-9_]+) is a UsageError;
// - a name given twice for the same action and conditions is added once: libseccomp's rule
//   add is not cheap, and a profile of 40,000 copies of one name took 15 s before;
// - a rule whose action equals the default action is dropped (libseccomp refuses it);
// - the conditions of a rule are ANDed, except when two of them test the same argument: then
//   each condition becomes a rule of its own (ORed), as runc and crun do, because libseccomp
//   cannot AND two tests of one argument;
// - SCMP_ACT_ERRNO and SCMP_ACT_TRACE without errnoRet return EPERM.
#pragma once

#include <linux/filter.h>

#include <cstddef>
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

// What a profile may hold, in either form (Docker's JSON or linux.seccomp). Far above any real
// profile: Docker's default is 17 KB in ~60 rules, its largest rule ~350 names, and all
// architectures together have fewer than 1,000 syscall names; beyond these the BPF program
// could not load anyway (BPF_MAXINSNS is 4,096 instructions). They bound what a hostile or
// generated profile can make hutch spend (time and memory) before it is refused.
inline constexpr std::size_t kMaxProfileBytes = 1 << 20;  // the JSON text of a profile
inline constexpr std::size_t kMaxRules = 4096;             // syscalls[]
inline constexpr std::size_t kMaxNamesPerRule = 4096;      // syscalls[].names[]
inline constexpr std::size_t kMaxArgsPerRule = 6;          // syscalls[].args[]: the kernel's 6
inline constexpr std::size_t kMaxNameLength = 64;          // the longest syscall name is 22
// Rules with argument conditions, counted per distinct name (Docker's default has ~15): the one
// cost that stays quadratic, inside libseccomp, which compares each such rule with the others
// of its syscall. 1,000 of them on one syscall take ~1 s to compile; 6,000 took 10 s.
inline constexpr std::size_t kMaxConditionedRules = 1024;

// linux.seccomp -> BPF (seccomp_init, seccomp_arch_add, seccomp_rule_add_array,
// seccomp_export_bpf into a memfd, read back). Linear in the profile's size. Bad actions,
// operators, architectures, flags, names not shaped like syscall names and a profile over the
// limits above are UsageErrors naming "linux.seccomp: <json path>".
Program compile(const Seccomp& seccomp);

// The names compile() skips because libseccomp knows them on no architecture, each once, in
// profile order (for --explain, which says so, as runc's debug log does).
std::vector<std::string> unknown_syscalls(const Seccomp& seccomp);

// Loads `program` on the calling thread: seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). No
// libseccomp and no allocation. The kernel requires no_new_privs or CAP_SYS_ADMIN in the
// effective set; throws SysError (EACCES says which is missing).
// A program with SCMP_ACT_NOTIFY rules (a listenerPath) returns its listener, close-on-exec;
// -1 for any other.
int install(const Program& program);

// `hutch profile`'s observing filter: every system call but three (below) is sent to a
// supervisor (SCMP_ACT_NOTIFY), which lets it continue. (The supervisor takes the listener
// from the child with pidfd_getfd: no call needs letting through for the handover, so nothing
// the workload does goes unseen.) Calls of another architecture are notified too (x86 and x32
// beside x86_64): the spec's own filter decides whether they may run at all. The program carries
// SECCOMP_FILTER_FLAG_NEW_LISTENER. The calls of unobserved_syscalls() are let through unseen.
Program compile_listener();
// Calls the listener lets through unnotified, and every profile hutch profile writes allows: a
// notification makes any call interruptible, and these, which never block, are ones programs
// do not retry on EINTR (busybox ash hung on a failed rt_sigprocmask).
const std::vector<std::string>& unobserved_syscalls();
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
// "" when `name` could be a syscall name ([a-z0-9_]+, at most kMaxNameLength), else why not.
std::string syscall_name_error(std::string_view name);
// True when libseccomp knows `name` on at least one architecture.
bool syscall_known(std::string_view name);

}  // namespace hutch::seccomp
