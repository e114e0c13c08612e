#include "caps/least_privilege.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace hutch::profile {
namespace {

constexpr int kCapSysAdmin = 21;

// Calls in which the kernel asks CAP_SYS_ADMIN only to size the memory reserve kept for
// administrators (security_vm_enough_memory, asked with CAP_OPT_NOAUDIT): a refusal changes
// nothing for the caller.
const std::set<std::string>& memory_accounting_calls() {
    // tmpfs charges every page written or allocated (shmem_acct_blocks) the same way.
    static const std::set<std::string> calls = {
        "brk",      "mmap",  "mmap2",   "mremap",  "mprotect",  "clone",    "clone3",   "fork",
        "vfork",    "execve", "execveat", "shmat",  "munmap",    "madvise",  "write",    "writev",
        "pwrite64", "pwritev", "pwritev2", "fallocate", "ftruncate", "truncate", "copy_file_range",
        "sendfile", "splice"};
    return calls;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

template <typename T>
std::optional<T> number(std::string_view s, int base = 10) {
    s = trim(s);
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// "key V, key V" or "key=V key=V": the value after `key` up to the next separator.
std::optional<std::string_view> field(std::string_view body, std::string_view key, char after_key, char end) {
    std::size_t at = 0;
    while ((at = body.find(key, at)) != std::string_view::npos) {
        bool starts = at == 0 || body[at - 1] == ' ' || body[at - 1] == ',';
        std::size_t v = at + key.size();
        if (starts && v < body.size() && body[v] == after_key) {
            ++v;
            std::size_t e = body.find(end, v);
            return body.substr(v, e == std::string_view::npos ? std::string_view::npos : e - v);
        }
        at = v;
    }
    return std::nullopt;
}

}  // namespace

// --- the trace ------------------------------------------------------------------------------

namespace {

// The pid of the task column "<comm>-<pid>", in `head` (the line before the event's name): comm
// may hold spaces and dashes, so the pid is read backwards from the " [cpu]" after it.
std::optional<int> task_pid(std::string_view head) {
    std::size_t cpu = head.find(" [");
    // With options/record-tgid a "(tgid)" column sits between the task and the cpu.
    if (std::size_t paren = head.find(" ("); paren != std::string_view::npos && paren < cpu) cpu = paren;
    if (cpu == std::string_view::npos) return std::nullopt;
    std::string_view task = trim(head.substr(0, cpu));
    std::size_t dash = task.rfind('-');
    if (dash == std::string_view::npos) return std::nullopt;
    return number<int>(task.substr(dash + 1));
}

// Each event's fields from its body (what follows "<event>: "); false when one is missing.
bool parse_cap_check(std::string_view body, TraceEvent& e) {
    auto cred = field(body, "cred", ' ', ',');
    auto cap = field(body, "cap", ' ', ',');
    auto ret = field(body, "ret", ' ', ',');
    if (!cred || !cap || !ret) return false;
    auto c = number<int>(*cap);
    auto r = number<int>(*ret);
    if (!c || !r) return false;
    e.cred = std::string(*cred);
    e.cap = *c;
    e.ret = *r;
    return true;
}

bool parse_sys_enter(std::string_view body, TraceEvent& e) {
    if (body.rfind("NR ", 0) != 0) return false;
    std::string_view rest = body.substr(3);
    auto nr = number<long>(rest.substr(0, rest.find(' ')));
    if (!nr) return false;
    e.nr = *nr;
    return true;
}

bool parse_sys_exit(std::string_view body, TraceEvent& e) {
    // "NR 92 = 0", "NR 2 = -13"
    if (body.rfind("NR ", 0) != 0) return false;
    std::size_t eq = body.find(" = ");
    if (eq == std::string_view::npos) return false;
    auto nr = number<long>(body.substr(3, eq - 3));
    auto result = number<long>(body.substr(eq + 3));
    if (!nr || !result) return false;
    e.nr = *nr;
    e.result = *result;
    return true;
}

bool parse_exec(std::string_view body, TraceEvent& e) {
    // filename=/bin/sh pid=17 old_pid=17: the name may hold spaces, " pid=" ends it.
    if (body.rfind("filename=", 0) != 0) return false;
    std::size_t end = body.rfind(" pid=");
    if (end == std::string_view::npos || end < 9) return false;
    e.filename = std::string(body.substr(9, end - 9));
    if (auto p = field(body.substr(end), "pid", '=', ' ')) {
        if (auto n = number<int>(*p)) e.pid = *n;  // a thread's exec takes its leader's pid
    }
    return true;
}

bool parse_fork(std::string_view body, TraceEvent& e) {
    auto child = field(body, "child_pid", '=', ' ');
    auto n = child ? number<int>(*child) : std::nullopt;
    if (!n) return false;
    e.child_pid = *n;
    return true;
}

bool parse_body(std::string_view body, TraceEvent& e) {
    switch (e.kind) {
    case EventKind::kCapCheck: return parse_cap_check(body, e);
    case EventKind::kSysEnter: return parse_sys_enter(body, e);
    case EventKind::kSysExit: return parse_sys_exit(body, e);
    case EventKind::kExec: return parse_exec(body, e);
    case EventKind::kFork: return parse_fork(body, e);
    }
    return false;
}

}  // namespace

std::optional<TraceEvent> parse_trace_line(std::string_view line) {
    // The event is found by its name: the task column before it is free text (task_pid).
    struct Known {
        std::string_view marker;
        EventKind kind;
    };
    static constexpr Known kKnown[] = {{": cap_capable: ", EventKind::kCapCheck},
                                       {": sys_enter: ", EventKind::kSysEnter},
                                       {": sys_exit: ", EventKind::kSysExit},
                                       {": sched_process_exec: ", EventKind::kExec},
                                       {": sched_process_fork: ", EventKind::kFork}};
    if (line.empty() || line[0] == '#') return std::nullopt;
    for (const auto& k : kKnown) {
        std::size_t at = line.find(k.marker);
        if (at == std::string_view::npos) continue;
        auto pid = task_pid(line.substr(0, at));
        if (!pid) return std::nullopt;
        TraceEvent e;
        e.kind = k.kind;
        e.pid = *pid;
        if (!parse_body(trim(line.substr(at + k.marker.size())), e)) return std::nullopt;
        return e;
    }
    return std::nullopt;
}

caps::CapSet CapFindings::needed() const {
    caps::CapSet set = 0;
    for (const auto& [cap, use] : used) set |= caps::bit(cap);
    return set;
}

CapAnalyzer::CapAnalyzer(int init_pid, caps::CapSet effective, long execve_nr, std::string (*syscall_name)(long))
    : init_pid_(init_pid), effective_(effective), execve_nr_(execve_nr), syscall_name_(syscall_name) {}

void CapAnalyzer::feed(const TraceEvent& e) {
    if (!started_) {
        if (e.kind == EventKind::kSysEnter && e.pid == init_pid_ && e.nr == execve_nr_) started_ = true;
        else return;
    }
    last_event_[e.pid] = ++seq_;
    switch (e.kind) {
    case EventKind::kSysEnter:
        settle(e.pid, false);  // a call that never returned (execve) kept its refusals
        in_flight_[e.pid] = e.nr;
        ++syscalls_[e.nr];
        return;
    case EventKind::kSysExit: {
        settle(e.pid, e.result >= 0);
        // These commit a new credential for the task (commit_creds), as fork and exec do.
        static const std::set<std::string> kNewCredential = {"setuid",   "setgid",   "setreuid", "setregid",
                                                             "setresuid", "setresgid", "setfsuid", "setfsgid",
                                                             "setgroups", "capset",    "unshare",  "setns"};
        auto call = in_flight_.find(e.pid);
        if (e.result >= 0 && call != in_flight_.end() && kNewCredential.count(syscall_name_(call->second)))
            new_credentials_[e.pid].push_back(seq_);
        return;
    }
    case EventKind::kFork: {
        // The child's first moments are still its parent's clone.
        auto parent = in_flight_.find(e.pid);
        if (parent != in_flight_.end()) in_flight_[e.child_pid] = parent->second;
        new_credentials_[e.child_pid].push_back(seq_);
        return;
    }
    case EventKind::kExec:
        new_credentials_[e.pid].push_back(seq_);
        if (std::find(programs_.begin(), programs_.end(), e.filename) == programs_.end())
            programs_.push_back(e.filename);
        return;
    case EventKind::kCapCheck:
        break;
    }
    if (e.cap < 0 || e.cap > 63) return;
    auto call = in_flight_.find(e.pid);
    std::string name = call == in_flight_.end() ? "(no system call)" : syscall_name_(call->second);
    if (e.cap == kCapSysAdmin && memory_accounting_calls().count(name)) {
        CapUse& use = speculative_[e.cap];
        ++use.checks;
        ++use.syscalls[name];
        return;
    }
    if (e.ret == 0) {
        if (!(effective_ & caps::bit(e.cap))) {
            foreign_[e.cred].push_back(seq_);
            return;
        }
        granted_.push_back({seq_, e.pid, e.cred, e.cap, name});
        return;
    }
    pending_[e.pid].emplace_back(e.cap, name);
}

void CapAnalyzer::settle(int pid, bool succeeded) {
    auto it = pending_.find(pid);
    if (it == pending_.end()) return;
    for (const auto& [cap, name] : it->second) {
        CapUse& use = (succeeded ? speculative_ : denied_)[cap];
        ++use.checks;
        ++use.syscalls[name];
    }
    pending_.erase(it);
}

// Whether the credential of a grant showed itself foreign while the task held that one
// credential: after its last fork or exec before the grant, up to its next exec or its last
// event (a fork makes the child's new credential, not the parent's).
bool CapAnalyzer::foreign(const Grant& g) const {
    auto marks = foreign_.find(g.cred);
    if (marks == foreign_.end()) return false;
    std::uint64_t from = 0, to = last_event_.at(g.pid);
    if (auto changes = new_credentials_.find(g.pid); changes != new_credentials_.end()) {
        // In trace order: the last change before the grant, the first after it.
        auto next = std::upper_bound(changes->second.begin(), changes->second.end(), g.seq);
        if (next != changes->second.begin()) from = *std::prev(next);
        if (next != changes->second.end()) to = std::min(to, *next);
    }
    auto first_after = std::upper_bound(marks->second.begin(), marks->second.end(), from);
    return first_after != marks->second.end() && *first_after <= to;
}

CapFindings CapAnalyzer::finish() const {
    CapFindings out;
    // Refusals whose call never returned in the trace count as denials.
    for (const auto& [pid, checks] : pending_)
        for (const auto& [cap, name] : checks) {
            ++out.denied[cap].checks;
            ++out.denied[cap].syscalls[name];
        }
    out.saw_command = started_;
    for (const auto& g : granted_) {
        if (foreign(g)) {
            ++out.foreign_checks;
            continue;
        }
        CapUse& into = out.used[g.cap];
        ++into.checks;
        ++into.syscalls[g.syscall];
    }
    for (const auto& [cap, use] : denied_) {
        out.denied[cap].checks += use.checks;
        for (const auto& [call, n] : use.syscalls) out.denied[cap].syscalls[call] += n;
    }
    out.speculative = speculative_;
    out.programs = programs_;
    for (const auto& [nr, n] : syscalls_) out.syscalls[syscall_name_(nr)] += n;
    return out;
}

// --- system calls ---------------------------------------------------------------------------

std::optional<Notification> parse_seccomp_log(std::string_view line) {
    if (line.find("type=1326") == std::string_view::npos) return std::nullopt;
    // SECCOMP_RET_LOG: other seccomp actions are audited too (kills, say), and are not "allowed".
    auto code = field(line, "code", '=', ' ');
    if (!code || trim(*code) != "0x7ffc0000") return std::nullopt;
    auto pid = field(line, "pid", '=', ' ');
    auto arch = field(line, "arch", '=', ' ');
    auto nr = field(line, "syscall", '=', ' ');
    if (!pid || !arch || !nr) return std::nullopt;
    auto p = number<int>(*pid);
    auto a = number<std::uint32_t>(*arch, 16);
    auto n = number<int>(*nr);
    if (!p || !a || !n) return std::nullopt;
    Notification out{*p, *a, *n, "", 0};
    // "audit(1795892166.923:14):"
    if (std::size_t open = line.find("audit("); open != std::string_view::npos) {
        std::size_t colon = line.find(':', open), close = line.find(')', open);
        if (colon != std::string_view::npos && close != std::string_view::npos && colon < close)
            out.serial = number<std::uint64_t>(line.substr(colon + 1, close - colon - 1)).value_or(0);
    }
    return out;
}

std::uint64_t missing_records(const std::vector<Notification>& records) {
    std::uint64_t missing = 0, last = 0;
    for (const auto& r : records) {
        if (r.serial == 0) continue;
        if (last != 0 && r.serial > last + 1) missing += r.serial - last - 1;
        last = r.serial;
    }
    return missing;
}

SyscallFindings split_syscalls(const std::vector<Notification>& seen, int init_pid) {
    SyscallFindings out;
    bool started = false, listener_closed = false;
    for (const auto& n : seen) {
        if (!started) {
            if (n.pid == init_pid && n.name == "execve") {
                started = out.saw_command = true;
            } else if (n.pid == init_pid && n.name == "close" && !listener_closed) {
                listener_closed = true;  // the observer's: its copy of the listener
                continue;
            } else if (n.pid == init_pid && n.name == "seccomp") {
                continue;  // the observer's: loading the spec's filter after its own
            }
            out.runtime.insert(n.name);
            continue;
        }
        ++out.workload[n.name];
    }
    return out;
}

const std::set<std::string>& runtime_syscalls_after_filter() {
    static const std::set<std::string> calls = {"capset", "fcntl", "execveat", "execve"};
    return calls;
}

std::string shell_quote(const std::string& word) {
    if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                "_-./=:,+@%") == std::string::npos)
        return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string run_line(const std::vector<std::string>& user_flags, const std::string& flags,
                     const std::string& rootfs, const std::vector<std::string>& command) {
    // Flags with a value, given as "--flag VALUE" or "--flag=VALUE".
    static const std::set<std::string> replaced_with_value = {"--cap-add", "--cap-drop", "--output"};
    static const std::set<std::string> replaced = {"--privileged", "--verify", "--read-only"};
    std::string out = "hutch run";
    for (std::size_t i = 0; i < user_flags.size(); ++i) {
        const std::string& f = user_flags[i];
        std::string name = f.substr(0, f.find('='));
        bool inline_value = f.find('=') != std::string::npos;
        if (replaced.count(f)) continue;
        if (replaced_with_value.count(name)) {
            if (!inline_value) ++i;
            continue;
        }
        if (name == "--security-opt") {
            std::string value = inline_value ? f.substr(f.find('=') + 1) : (i + 1 < user_flags.size() ? user_flags[i + 1] : "");
            bool seccomp = value.rfind("seccomp", 0) == 0;
            if (seccomp) {
                if (!inline_value) ++i;
                continue;
            }
        }
        out += " " + shell_quote(f);
    }
    out += " " + flags + " " + shell_quote(rootfs);
    for (const auto& a : command) out += " " + shell_quote(a);
    return out;
}

// --- written paths --------------------------------------------------------------------------

const std::vector<std::string>& read_only_tmpfs_dirs() {
    static const std::vector<std::string> dirs = {"/run", "/tmp", "/var/tmp"};
    return dirs;
}

WriteFindings judge_writes(std::vector<std::string> paths) {
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    WriteFindings out;
    for (const auto& p : paths) {
        bool covered = false;
        // Below the mount point, not the mount point itself: a tmpfs over /tmp cannot make /tmp
        // itself be removed or replaced.
        for (const auto& dir : read_only_tmpfs_dirs())
            if (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/') covered = true;
        if (!covered) out.outside.push_back(p);
    }
    out.paths = std::move(paths);
    return out;
}

// --- what is written out --------------------------------------------------------------------

seccomp::DockerProfile generate_profile(const seccomp::DockerProfile& base, const std::set<std::string>& allowed) {
    seccomp::DockerProfile out;
    out.default_action = base.default_action;
    out.default_errno_ret = base.default_errno_ret;
    out.architectures = base.architectures;
    out.arch_map = base.arch_map;
    out.flags = base.flags;
    std::set<std::string> covered;
    for (const auto& rule : base.syscalls) {
        if (rule.action != "SCMP_ACT_ALLOW") {
            out.syscalls.push_back(rule);  // it only takes away
            continue;
        }
        seccomp::ProfileSyscall kept = rule;
        kept.names.clear();
        for (const auto& n : rule.names)
            if (allowed.count(n)) {
                kept.names.push_back(n);
                covered.insert(n);
            }
        if (!kept.names.empty()) out.syscalls.push_back(std::move(kept));
    }
    seccomp::ProfileSyscall rest;
    rest.action = "SCMP_ACT_ALLOW";
    for (const auto& n : allowed)
        if (!covered.count(n)) rest.names.push_back(n);
    if (!rest.names.empty()) out.syscalls.push_back(std::move(rest));
    return out;
}

namespace {

nlohmann::json condition_json(const seccomp::Condition& c) {
    nlohmann::json j = nlohmann::json::object();
    if (c.caps) j["caps"] = caps::names_of(c.caps);
    if (!c.arches.empty()) j["arches"] = c.arches;
    if (c.min_kernel) j["minKernel"] = std::to_string(c.min_kernel->major) + "." + std::to_string(c.min_kernel->minor);
    return j;
}

}  // namespace

nlohmann::json to_docker_json(const seccomp::DockerProfile& p) {
    nlohmann::json j;
    j["defaultAction"] = p.default_action;
    if (p.default_errno_ret) j["defaultErrnoRet"] = *p.default_errno_ret;
    if (!p.arch_map.empty()) {
        j["archMap"] = nlohmann::json::array();
        for (const auto& a : p.arch_map)
            j["archMap"].push_back({{"architecture", a.architecture}, {"subArchitectures", a.sub_architectures}});
    } else {
        j["architectures"] = p.architectures;
    }
    if (!p.flags.empty()) j["flags"] = p.flags;
    j["syscalls"] = nlohmann::json::array();
    for (const auto& s : p.syscalls) {
        nlohmann::json r;
        r["names"] = s.names;
        r["action"] = s.action;
        if (s.errno_ret) r["errnoRet"] = *s.errno_ret;
        if (!s.args.empty()) {
            r["args"] = nlohmann::json::array();
            for (const auto& a : s.args)
                r["args"].push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
        }
        if (auto c = condition_json(s.includes); !c.empty()) r["includes"] = c;
        if (auto c = condition_json(s.excludes); !c.empty()) r["excludes"] = c;
        j["syscalls"].push_back(std::move(r));
    }
    return j;
}

}  // namespace hutch::profile
