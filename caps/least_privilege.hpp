// `hutch profile`'s pure half: what one observed run says about the least privilege a workload
// needs, and the files that ship it. No kernel here: the tracefs instance, the seccomp listener
// and the runs live in runtime/profile; this reads what they recorded, so unit tests pin it.
//
// Capabilities come from the kernel's capability:cap_capable tracepoint, one event per check:
//   <comm>-<pid> [cpu] flags <ts>: cap_capable: cred P, target_ns P, capable_ns P, cap N, ret R
// read with raw_syscalls:sys_enter (the call each check happened in), sched_process_fork (a new
// task starts inside its parent's clone) and sched_process_exec (what ran) from the same buffer,
// so their order in it is the order they happened per task.
//
// Which checks count, and why (the report repeats this):
//   - only those after the container's first process entered execve for the first time: the
//     command's exec is hutch's last act (the trampoline is entered with execveat), and the
//     setup before it needs CAP_SYS_ADMIN and more that the command does not;
//   - a granted check (ret 0) counts as "used" when the capability is in the container's
//     effective set. A grant outside that set cannot be the container's own credentials: it is
//     the kernel acting with someone else's, mostly overlayfs doing the container's writes with
//     the credentials of whoever mounted it (hutch's setup, with every capability). Such a
//     credential is remembered, and its checks of capabilities inside the set are dropped too,
//     but only those made while the task that made them kept one credential: a task gets a new
//     one at fork, at exec and in the set*id, setgroups, capset, unshare and setns calls, and
//     the kernel may place it where a freed foreign one was (an
//     overlay's short-lived copy for a create), so the trace's pointer names another credential
//     then, as it may once the task has exited. A check counts as foreign when its pointer
//     showed itself foreign between the task's last fork or exec before the check and its next
//     exec or its last event in the trace;
//   - CAP_SYS_ADMIN during memory accounting (brk, mmap, clone, execve, writes to tmpfs, ...) is
//     neither used nor denied: the kernel asks it without auditing on every allocation to size
//     a reserve for administrators, and no outcome depends on it;
//   - a refused check (ret != 0) is reported as denied, unless the call it was made in
//     succeeded all the same (raw_syscalls:sys_exit): then the kernel only asked, on a path
//     that had another way through (a permission check that tries a capability first, say).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "caps/capabilities.hpp"
#include "caps/seccomp_profile.hpp"

namespace hutch::profile {

// --- the trace ------------------------------------------------------------------------------

enum class EventKind { kCapCheck, kSysEnter, kSysExit, kExec, kFork };

struct TraceEvent {
    EventKind kind = EventKind::kCapCheck;
    int pid = 0;
    // kCapCheck
    int cap = -1;
    int ret = 0;
    std::string cred;  // the (hashed) pointer, as printed: it tells one credential from another
    // kSysEnter, kSysExit
    long nr = -1;
    long result = 0;  // kSysExit: the call's return value (negative: -errno)
    // kExec: the program; kFork: the new task
    std::string filename;
    int child_pid = 0;
};

// One line of a tracefs `trace` or `trace_pipe`; nullopt for anything else (headers, events
// this module does not read, lost-event notes).
std::optional<TraceEvent> parse_trace_line(std::string_view line);

// A capability and the system calls it was checked in, with counts.
struct CapUse {
    int checks = 0;
    std::map<std::string, int> syscalls;  // "fchownat" -> 2; "(no system call)" when none ran
};

struct CapFindings {
    bool saw_command = false;           // the command's execve was in the trace
    std::map<int, CapUse> used;         // granted, in the effective set: what --cap-add needs
    std::map<int, CapUse> denied;       // refused: the workload asked and did without
    std::map<int, CapUse> speculative;  // memory accounting, or refused in a call that succeeded
    int foreign_checks = 0;             // checks made with credentials not the container's
    std::vector<std::string> programs;  // what the container exec'd, in order, once each
    std::map<std::string, int> syscalls;  // raw_syscalls:sys_enter after the command began
    caps::CapSet needed() const;
};

// Feeds on the events of one run, in trace order. `syscall_name` names a native syscall
// number (libseccomp in production, a table in tests).
class CapAnalyzer {
public:
    CapAnalyzer(int init_pid, caps::CapSet effective, long execve_nr,
                std::string (*syscall_name)(long));
    void feed(const TraceEvent& event);
    CapFindings finish() const;

private:
    int init_pid_;
    caps::CapSet effective_;
    long execve_nr_;
    std::string (*syscall_name_)(long);
    bool started_ = false;
    std::map<int, long> in_flight_;  // pid -> the last system call it entered
    std::uint64_t seq_ = 0;  // the events' order, from the start
    // cred -> when it was granted what the container does not hold
    std::map<std::string, std::vector<std::uint64_t>> foreign_;
    // pid -> when it got a new credential (its fork, its execs)
    std::map<int, std::vector<std::uint64_t>> new_credentials_;
    std::map<int, std::uint64_t> last_event_;  // pid -> its last event: it may have exited since
    struct Grant {
        std::uint64_t seq;
        int pid;
        std::string cred;
        int cap;
        std::string syscall;
    };
    std::vector<Grant> granted_;  // decided at finish(), once every foreign grant is known
    bool foreign(const Grant& g) const;
    std::map<int, CapUse> denied_, speculative_;
    // Refusals inside the call a task is in, judged when it returns.
    std::map<int, std::vector<std::pair<int, std::string>>> pending_;
    void settle(int pid, bool succeeded);
    std::vector<std::string> programs_;
    std::map<long, int> syscalls_;
};

// --- system calls ---------------------------------------------------------------------------

// One seccomp notification: who, which ABI, which call.
struct Notification {
    int pid = 0;
    std::uint32_t arch = 0;
    int nr = 0;
    std::string name;  // resolved for `arch`
    std::uint64_t serial = 0;  // log records only: the audit serial number (gaps are lost records)
};

// One seccomp audit record (type=1326) of a SECCOMP_RET_LOG action, as the kernel log shows it
// without auditd; nullopt for any other line. `name` is left empty (resolved by the caller).
std::optional<Notification> parse_seccomp_log(std::string_view line);
// Records missing between the first and the last of `records`: audit serial numbers skipped
// (the kernel numbers every record, printed or dropped by its rate limit).
std::uint64_t missing_records(const std::vector<Notification>& records);

struct SyscallFindings {
    std::map<std::string, int> workload;  // name -> calls, after the command's exec began
    std::set<std::string> runtime;        // hutch's own between the spec's filter and that exec
    bool saw_command = false;             // the command's execve was seen at all
};

// Splits notifications at the first execve of `init_pid` (it belongs to hutch: the command
// itself starts after it). The observing filter goes in before the spec's, so the first calls
// of `init_pid` are the observer's own handover, made before the spec's filter exists: the
// close of its copy of the listener and the seccomp call loading the spec's filter. Those are
// left out of `runtime` (a profile applied later need not allow them).
SyscallFindings split_syscalls(const std::vector<Notification>& seen, int init_pid);

// What hutch itself calls after installing a filter, whether or not the run showed it: the
// capability drop (capset), the trampoline's fcntl and execveat, the command's execve.
const std::set<std::string>& runtime_syscalls_after_filter();

// The `hutch run` line that applies a profile: the run flags the user gave (`user_flags`, as
// typed) without those the profile replaces (--cap-add, --cap-drop, --privileged, --security-opt
// seccomp=..., --read-only) or that only profiling takes (--output, --verify), then `flags`,
// ROOTFS and the command, quoted for a POSIX shell.
std::string run_line(const std::vector<std::string>& user_flags, const std::string& flags,
                     const std::string& rootfs, const std::vector<std::string>& command);
std::string shell_quote(const std::string& word);

// --- written paths --------------------------------------------------------------------------

// Podman's --read-only-tmpfs set, which hutch's --read-only mounts by default.
const std::vector<std::string>& read_only_tmpfs_dirs();

struct WriteFindings {
    std::vector<std::string> paths;    // written, created or removed, absolute
    std::vector<std::string> outside;  // those not on a tmpfs --read-only would mount
    bool read_only_suffices() const { return outside.empty(); }
};
WriteFindings judge_writes(std::vector<std::string> paths);

// --- what is written out --------------------------------------------------------------------

// `base` (the profile the run had) cut down to the calls in `allowed`: each allowing rule keeps
// its conditions (argument filters, capability and architecture includes) and only the names
// seen; rules that deny or return an errno stay whole; a seen name no allowing rule of `base`
// covered gets a plain allowing rule. The default action and architectures are base's.
seccomp::DockerProfile generate_profile(const seccomp::DockerProfile& base,
                                        const std::set<std::string>& allowed);

// Docker's JSON format, readable by parse_docker_profile and `--security-opt seccomp=FILE`.
nlohmann::json to_docker_json(const seccomp::DockerProfile& profile);

// "--cap-drop ALL --cap-add CHOWN --cap-add NET_BIND_SERVICE"
std::string cap_flags(caps::CapSet needed);

// --- resources ------------------------------------------------------------------------------

// What the profiled run took from its memory and pids cgroups (runtime/profile/usage.hpp reads
// them), and the limits proposed from it. A limit the user gave to profile bounded the run: it
// is kept as typed (the run line has it) and not proposed again.
struct ResourceUsage {
    std::optional<std::int64_t> memory_peak;  // bytes; none: not measured (memory_source says why)
    std::string memory_source;
    std::optional<std::int64_t> pids_peak;    // tasks (threads count, as for pids.max)
    std::string pids_source;
    std::string memory_given, pids_given;     // the user's --memory and --pids-limit, as typed
};

// --memory from a peak: x1.5 rounded up to a whole MiB, at least 6 MiB (Docker's minimum), so
// the allocations the run did not reach this time still fit.
std::int64_t proposed_memory(std::int64_t peak_bytes);
// --pids-limit from a peak: x2, at least 16 (a shell, its pipes and a few helpers).
std::int64_t proposed_pids(std::int64_t peak);
// The limits flags.txt adds: " --memory 30m --pids-limit 16", each only when measured and not given.
std::string resource_flags(const ResourceUsage& usage);

// Everything the report says.
struct RunRecord {
    std::string label;  // "profile", "without CAP_CHOWN", "verify"
    int exit_code = 0;
    std::string out, err;
};

struct Report {
    std::vector<std::string> command;
    std::string cap_source;      // how capabilities were found (one line)
    std::string syscall_source;  // how system calls were found (one line)
    caps::CapSet starting = 0;   // the set the profile run had
    CapFindings caps;
    bool caps_by_replay = false;  // replay: `caps.used` holds what changed the outcome
    SyscallFindings syscalls;
    std::set<std::string> profile_syscalls;  // what profile.json allows
    WriteFindings writes;
    ResourceUsage usage;
    std::string flags;     // the line for flags.txt
    std::string run_line;  // the hutch run command that applies the profile
    std::vector<RunRecord> runs;
    std::vector<std::string> notes;  // lost trace events, fallbacks taken
    std::optional<bool> verified;    // --verify: same exit status and output
};

std::string report_markdown(const Report& report);
// The short form printed on stdout.
std::string summary_text(const Report& report);

}  // namespace hutch::profile
