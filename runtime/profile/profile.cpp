#include "runtime/profile/profile.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "caps/least_privilege.hpp"
#include "caps/seccomp_filter.hpp"
#include "caps/seccomp_profile.hpp"
#include "runtime/error.hpp"
#include "runtime/launch.hpp"
#include "runtime/profile/observer.hpp"

namespace hutch::profile {
namespace {

bool env_set(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::string(v) != "0";
}

// fds 1 and 2 point into memory files while this lives: the container's output (relayed by
// run_container into hutch's own streams) is kept for comparison instead of shown.
class CapturedOutput {
public:
    CapturedOutput() {
        std::fflush(stdout);
        std::fflush(stderr);
        for (int fd = 1; fd <= 2; ++fd) {
            saved_[fd - 1] = Fd(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
            files_[fd - 1] = Fd(::memfd_create(fd == 1 ? "hutch-profile-stdout" : "hutch-profile-stderr", MFD_CLOEXEC));
            if (!saved_[fd - 1] || !files_[fd - 1]) throw SysError("capture the workload's output", "memfd_create", "", errno);
        }
        for (int fd = 1; fd <= 2; ++fd) check(::dup2(files_[fd - 1].get(), fd), "capture the workload's output", "dup2");
    }
    ~CapturedOutput() { restore(); }
    // Restores hutch's streams and returns what the run wrote to each.
    std::pair<std::string, std::string> take() {
        restore();
        return {read_all(files_[0].get()), read_all(files_[1].get())};
    }

private:
    void restore() {
        for (int fd = 1; fd <= 2; ++fd)
            if (saved_[fd - 1]) {
                ::dup2(saved_[fd - 1].get(), fd);
                saved_[fd - 1].reset();
            }
    }
    static std::string read_all(int fd) {
        std::string out;
        char buf[65536];
        ssize_t n;
        off_t at = 0;
        while ((n = ::pread(fd, buf, sizeof buf, at)) > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            at += n;
        }
        return out;
    }
    Fd saved_[2];
    Fd files_[2];
};

struct Outcome {
    int code = 0;
    std::string out, err;
    bool same_as(const Outcome& o) const { return code == o.code && out == o.out && err == o.err; }
};

// One foreground run of `options`, output captured. The hostname is pinned so that runs with
// different container ids print the same.
Outcome run_once(const Request& request, RunOptions options, const std::string& hostname, RunObserver* observer,
                 bool first = false) {
    if (options.hostname.empty()) options.hostname = hostname;
    options.rm = true;
    std::string id = new_container_id();
    Spec spec = request.build_spec(options, id);
    CapturedOutput capture;
    Outcome o;
    try {
        o.code = run_container(spec, request.paths, id, request.config, -1, false, observer);
    } catch (const Error& e) {
        // In a replay or the verify run, 126/127 (the command cannot run) are outcomes compared
        // like any other; a profiled run that never ran the command has nothing to profile.
        if (first || e.exit_code() == kExitHutchError) throw;
        o.code = e.exit_code();
        o.err = std::string("hutch: ") + e.what() + "\n";
    }
    auto [out, err] = capture.take();
    o.out = out;
    o.err = err + o.err;
    return o;
}

caps::CapSet parse_set(const std::vector<std::string>& names) {
    caps::CapSet set = 0;
    for (const auto& n : names)
        if (auto c = caps::number_from_name(n)) set |= caps::bit(*c);
    return set;
}

std::vector<std::string> short_names(caps::CapSet set) {
    std::vector<std::string> out;
    for (const auto& n : caps::names_of(set)) out.push_back(n.substr(4));
    return out;
}

// The options with exactly `set` as capabilities.
RunOptions with_caps(RunOptions o, caps::CapSet set) {
    o.privileged = false;
    o.cap_drop = {"ALL"};
    o.cap_add = short_names(set);
    return o;
}

// The Docker-format profile the run had: the user's seccomp=FILE, else hutch's default.
seccomp::DockerProfile base_profile(const RunOptions& o, bool& unconfined) {
    unconfined = o.privileged;
    std::optional<seccomp::DockerProfile> profile;
    for (const auto& opt : o.security_opts) {
        if (opt == "seccomp=unconfined" || opt == "seccomp:unconfined") unconfined = true;
        else if (opt.rfind("seccomp=", 0) == 0 || opt.rfind("seccomp:", 0) == 0)
            profile = seccomp::parse_docker_profile(read_file(opt.substr(8)));
    }
    return profile ? *profile : seccomp::default_profile();
}

// The options with the limits flags.txt proposes (resource_flags), where the user gave none.
RunOptions with_limits(RunOptions o, const ResourceUsage& usage) {
    if (usage.memory_peak && usage.memory_given.empty())
        o.memory = std::to_string(proposed_memory(*usage.memory_peak) / (1024 * 1024)) + "m";
    if (usage.pids_peak && usage.pids_given.empty()) o.pids_limit = std::to_string(proposed_pids(*usage.pids_peak));
    return o;
}

// What the profiled run took (the observer read its cgroups), with the limits the user gave.
ResourceUsage measured_usage(const Observer& observer, const RunOptions& options) {
    ResourceUsage usage = observer.usage();
    usage.memory_given = options.memory;
    usage.pids_given = options.pids_limit;
    return usage;
}

// A private directory for the profile when --output is not given (--verify still needs a file).
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/hutch-profile.XXXXXX";
        if (!::mkdtemp(tmpl)) throw SysError("make a directory for the profile", "mkdtemp", tmpl, errno);
        path_ = tmpl;
    }
    ~TempDir() {
        try {
            remove_tree(path_);
        } catch (const Error& e) {
            std::fprintf(stderr, "hutch: warning: %s\n", e.what());
        }
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// The NSpid line of /proc/self/status: hutch's pid in each pid namespace it is in, outermost
// first. More than one entry: hutch's pids are not the ones the kernel's tracing reads.
std::vector<std::string> namespace_pids() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("NSpid:", 0) != 0) continue;
        std::istringstream words(line.substr(6));
        std::vector<std::string> out;
        for (std::string w; words >> w;) out.push_back(w);
        return out;
    }
    return {};
}

// Whether hutch runs in the initial pid namespace (the kernel's PROC_PID_INIT_INO). NSpid alone
// cannot tell: a /proc mounted inside a pid namespace (unshare --pid --mount-proc) numbers only
// that namespace's pids, and the trace's set_event_pid would then name other processes.
bool in_initial_pid_namespace() {
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) != 0 || st.st_ino == 0xEFFFFFFCU;
}

void write_out(const std::string& path, const std::string& text) {
    write_file_atomic(path, text, 0644, Durability::kDurable);
}

// How this machine lets the run be watched (run_profile's first step).
struct Sources {
    std::optional<tracefs::Root> root;
    bool tracepoint = false;  // capabilities from capability:cap_capable, else from replays
    Observer::Calls calls = Observer::Calls::kLog;
};

// Why capabilities come from replays, in the report's source line and a note.
void explain_replays(Report& report, const std::optional<tracefs::Root>& root, bool nested_pidns,
                     const std::vector<std::string>& nspid) {
    report.caps_by_replay = true;
    const bool turned_off = env_set("HUTCH_PROFILE_NO_TRACEPOINT");
    const bool unusable = !turned_off && root && root->has_event(kCapEvent) && nested_pidns;
    report.cap_source = std::string(turned_off ? "the tracepoint was turned off"
                                    : unusable ? "hutch runs in a nested pid namespace, where the tracepoint's pid "
                                                 "filter cannot name the container"
                                    : root     ? "the kernel has no capability:cap_capable tracepoint"
                                               : "tracefs is not available") +
                        ", so by replaying the workload with each capability removed in turn";
    std::string nspid_text;
    for (const auto& p : nspid) nspid_text += (nspid_text.empty() ? "" : " ") + p;
    report.notes.push_back(std::string(turned_off ? "HUTCH_PROFILE_NO_TRACEPOINT is set: the tracepoint was not used"
                                       : unusable ? "hutch is not in the initial pid namespace (NSpid " + nspid_text +
                                                        "): set_event_pid reads the pids it is given as the "
                                                        "initial namespace's, so the tracepoint was not used"
                                                  : "the capability:cap_capable tracepoint is missing") +
                           "; capabilities come from replays, which see outcomes, not checks, and name no "
                           "system call");
}

Sources find_sources(Report& report) {
    Sources s;
    // How capabilities are found: the tracepoint, else replays.
    if (!env_set("HUTCH_PROFILE_NO_TRACEPOINT")) s.root = tracefs::Root::open();
    s.tracepoint = s.root && s.root->has_event(kCapEvent);
    // set_event_pid takes pids as the initial pid namespace numbers them: from inside another
    // one, hutch's pid for the container names some other process there.
    const std::vector<std::string> nspid = namespace_pids();
    const bool nested_pidns = nspid.size() > 1 || !in_initial_pid_namespace();
    if (s.tracepoint && nested_pidns) s.tracepoint = false;
    if (s.tracepoint)
        if (int n = s.root->remove_orphans("hutch-profile-"))
            report.notes.push_back("removed " + std::to_string(n) + " trace instance(s) a killed hutch profile had left");
    if (s.tracepoint) {
        report.cap_source = "the kernel's capability:cap_capable tracepoint, in a private tracefs instance under " +
                            s.root->where();
    } else {
        explain_replays(report, s.root, nested_pidns, nspid);
    }
    // How system calls are found: seccomp notification; else the trace's raw_syscalls:sys_enter,
    // which sees every call as notification does; else seccomp's own logging, which the kernel
    // rate-limits when no auditd collects it (the report says how many records it dropped).
    using Calls = Observer::Calls;
    s.calls = notify::available() && !env_set("HUTCH_PROFILE_NO_NOTIFY") ? Calls::kNotify
              : s.tracepoint && s.root->has_event("raw_syscalls/sys_enter") ? Calls::kTrace
                                                                             : Calls::kLog;
    return s;
}

// What the steps after the profiled run share.
struct Profiling {
    const Request& request;
    Report& report;
    std::string hostname;        // pinned for every run (run_once)
    caps::CapSet starting = 0;   // the effective set the run starts with
    Outcome profiled;            // what the profiled run did, for the runs compared with it
};

// The profiled run. One that never reached the command (its start crashed, say) has nothing to
// profile: the few calls and checks it made are hutch's, and a profile made of them would not
// run the command. Nothing is written and nothing verified.
void profiled_run(Profiling& p, const Sources& sources, Observer& observer) {
    p.profiled = run_once(p.request, p.request.options, p.hostname, &observer, true);
    p.report.runs.push_back({"profiled run", p.profiled.code, p.profiled.out, p.profiled.err});
    if (const auto& e = observer.supervisor_error())
        throw SysError(e->step() + " (the profiled run exited with status " + std::to_string(p.profiled.code) +
                           "; nothing was written)",
                       e->syscall(), e->object(), e->error_number());
    if (sources.tracepoint) p.report.caps = observer.cap_findings();
    const char* missed = nullptr;
    if (sources.calls == Observer::Calls::kNotify &&
        !split_syscalls(observer.notifications(), observer.init_pid()).saw_command)
        missed = "the seccomp listener";
    else if (sources.tracepoint && !p.report.caps.saw_command)
        missed = "the trace";
    if (missed)
        throw Error(std::string("profile the workload: the profiled run never reached the command's execve (") + missed +
                    " saw none; the run exited with status " + std::to_string(p.profiled.code) +
                    "): nothing was written");
}

// The traced capabilities, weeded. A credential that holds CAP_SYS_ADMIN looks like overlayfs'
// own (its trusted.* xattrs need it), so foreign credentials cannot be told apart: each
// capability found is confirmed by a run without it, keeping the set small but the outcome the
// same.
void confirm_traced_caps(Profiling& p, const Observer& observer) {
    Report& report = p.report;
    if (observer.lost_events() > 0)
        report.notes.push_back(std::to_string(observer.lost_events()) +
                               " trace events were lost (the reader fell behind): checks may be missing");
    if (!(p.starting & caps::bit(*caps::number_from_name("SYS_ADMIN")))) return;
    caps::CapSet keep = report.caps.needed();
    for (int cap = 0; cap < 64; ++cap) {
        if (!(keep & caps::bit(cap))) continue;
        Outcome without = run_once(p.request, with_caps(p.request.options, keep & ~caps::bit(cap)), p.hostname, nullptr);
        report.runs.push_back({"without " + caps::name_of(cap), without.code, without.out, without.err});
        if (!without.same_as(p.profiled)) continue;
        keep &= ~caps::bit(cap);
        report.caps.used.erase(cap);
        report.notes.push_back(caps::name_of(cap) +
                               " was checked but the run behaved the same without it: left out (with "
                               "CAP_SYS_ADMIN in the set, overlayfs' own checks look like the container's)");
    }
}

// Without the tracepoint: one run per capability of the starting set, without it.
void replay_caps(Profiling& p) {
    for (int cap = 0; cap < 64; ++cap) {
        if (!(p.starting & caps::bit(cap))) continue;
        Outcome without = run_once(p.request, with_caps(p.request.options, p.starting & ~caps::bit(cap)), p.hostname,
                                   nullptr);
        p.report.runs.push_back({"without " + caps::name_of(cap), without.code, without.out, without.err});
        if (!without.same_as(p.profiled)) p.report.caps.used[cap].checks = 1;
    }
}

void record_syscalls(Report& report, Observer::Calls calls, const Observer& observer) {
    using Calls = Observer::Calls;
    if (calls == Calls::kLog) {
        report.syscall_source = "seccomp logging (SCMP_ACT_LOG) read back from the kernel log: seccomp "
                                "notification is unavailable and so is the trace";
        report.syscalls = split_syscalls(observer.notifications(), observer.init_pid());
        report.notes.push_back("seccomp log records come from every process logging seccomp actions meanwhile, "
                               "and reach the kernel log only when no auditd takes them");
        report.notes.push_back(
            "without auditd the kernel rate-limits these records (a burst of 10 per 5 s): " +
            (observer.missing_log_records() > 0
                 ? "at least " + std::to_string(observer.missing_log_records()) +
                       " were dropped (audit serial numbers skipped), so the call list is incomplete"
                 : std::string("none was seen missing, but calls before the first or after the last record may be")) +
            "; check with --verify");
    } else if (calls == Calls::kNotify) {
        report.syscall_source = "a seccomp filter notifying hutch of every call (SECCOMP_RET_USER_NOTIF), "
                                "each let through";
        report.syscalls = split_syscalls(observer.notifications(), observer.init_pid());
        if (report.syscalls.workload.empty())
            report.notes.push_back("the seccomp listener saw no call of the workload");
    } else if (calls == Calls::kTrace && !report.caps.syscalls.empty()) {
        report.syscall_source = "raw_syscalls:sys_enter in the trace (seccomp notification is unavailable; "
                                "calls of another ABI are named as native ones)";
        report.syscalls.workload = report.caps.syscalls;
    } else {
        report.syscall_source = "none (neither seccomp notification nor the trace was available)";
        report.notes.push_back("no system call was recorded: profile.json is the run's profile unchanged");
    }
}

// profile.json: the run's profile cut down to the calls seen and those hutch makes itself.
seccomp::DockerProfile generated_profile(Report& report, const RunOptions& options) {
    bool unconfined = false;
    seccomp::DockerProfile base = base_profile(options, unconfined);
    if (unconfined)
        report.notes.push_back("the run had no seccomp filter: profile.json takes its conditions from hutch's default profile");
    std::set<std::string> allowed = runtime_syscalls_after_filter();
    // Never notified, so never seen; every program needs them (caps/seccomp_filter.hpp).
    allowed.insert(seccomp::unobserved_syscalls().begin(), seccomp::unobserved_syscalls().end());
    for (const auto& [name, n] : report.syscalls.workload) allowed.insert(name);
    allowed.insert(report.syscalls.runtime.begin(), report.syscalls.runtime.end());
    // A number libseccomp cannot name cannot go into a Docker profile, which names calls.
    for (auto it = allowed.begin(); it != allowed.end();) {
        if (seccomp::syscall_known(*it)) {
            ++it;
            continue;
        }
        report.notes.push_back("a call libseccomp cannot name (" + *it + ") is not in profile.json");
        it = allowed.erase(it);
    }
    seccomp::DockerProfile generated =
        report.syscall_source.rfind("none", 0) == 0 ? base : generate_profile(base, allowed);
    report.profile_syscalls = allowed;
    return generated;
}

// The profile's file as the user will find it in the suggested flags: the --output file, made
// here, else a placeholder that says where it would be (nothing is kept; --verify's copy is
// scratch).
std::string seccomp_flag_value(const Request& r) {
    if (r.output_dir.empty()) return "'<--output DIR>/profile.json'";
    char resolved[PATH_MAX];
    if (::mkdir(r.output_dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw SysError("write the profile", "mkdir", r.output_dir, errno);
    if (!::realpath(r.output_dir.c_str(), resolved)) throw SysError("write the profile", "realpath", r.output_dir, errno);
    return shell_quote(std::string(resolved) + "/profile.json");
}

// --verify: one run under the generated flags and `dir`/profile.json. 1 when it behaved
// differently from the profiled run.
int verify(Profiling& p, const std::string& dir, bool read_only) {
    RunOptions v = with_limits(with_caps(p.request.options, p.report.caps.needed()), p.report.usage);
    std::erase_if(v.security_opts, [](const std::string& s) { return s.rfind("seccomp", 0) == 0; });
    v.security_opts.push_back("seccomp=" + dir + "/profile.json");
    v.read_only = read_only;
    Outcome verified = run_once(p.request, v, p.hostname, nullptr);
    p.report.runs.push_back({"verify (under the generated profile)", verified.code, verified.out, verified.err});
    p.report.verified = verified.same_as(p.profiled);
    return *p.report.verified ? 0 : 1;
}

}  // namespace

void validate_request(const Request& r) {
    const RunOptions& o = r.options;
    if (o.detach) throw UsageError("hutch profile runs the workload in the foreground: -d is not supported");
    if (o.tty || o.interactive)
        throw UsageError("hutch profile compares runs by their output: -i and -t are not supported");
    if (!r.output_dir.empty()) {
        struct stat st {};
        if (::stat(r.output_dir.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) throw UsageError("invalid --output \"" + r.output_dir + "\": not a directory");
        } else {
            std::string parent = r.output_dir.substr(0, r.output_dir.find_last_of('/') + 1);
            if (parent.empty()) parent = ".";
            if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                throw UsageError("invalid --output \"" + r.output_dir + "\": " + std::strerror(ENOENT) +
                                 " (its parent directory must exist)");
        }
    }
    // The whole spec, as run would check it, with nothing created.
    validate_spec(r.build_spec(o, new_container_id()));
}

int run_profile(const Request& r, std::ostream& out) {
    validate_request(r);
    Report report;
    report.command = r.options.command;
    const std::string first_id = new_container_id();
    Profiling p{r, report, first_id.substr(0, 12)};
    Spec spec = r.build_spec(r.options, first_id);
    p.starting = parse_set(spec.process.capabilities.effective);
    report.starting = parse_set(spec.process.capabilities.bounding);

    Sources sources = find_sources(report);
    Observer observer(sources.tracepoint ? &*sources.root : nullptr, sources.calls, p.starting,
                      tracefs::instance_prefix(), spec.root.path);
    profiled_run(p, sources, observer);
    report.usage = measured_usage(observer, r.options);
    if (sources.tracepoint) confirm_traced_caps(p, observer);
    else replay_caps(p);
    record_syscalls(report, sources.calls, observer);
    seccomp::DockerProfile generated = generated_profile(report, r.options);

    // Writes.
    if (observer.writes_known()) report.writes = judge_writes(observer.writes());
    else report.notes.push_back("the root's writes were not seen (the run had no writable layer)");
    // --read-only's /tmp and /run are tmpfs mounts (--read-only-tmpfs): what lands there is
    // nowhere in the container's layer.
    if (r.options.read_only) report.notes.push_back("the run was --read-only: writes to its tmpfs mounts are not seen");
    bool read_only = r.options.read_only || (observer.writes_known() && report.writes.read_only_suffices());

    // Output. --verify runs under a scratch copy of profile.json, and --output DIR gets the three
    // files only once everything went through: a run that fails part-way (a verify that cannot
    // start, an interrupt) leaves DIR as it found it, an earlier profile there included.
    struct stat before {};
    const bool made_output_dir = !r.output_dir.empty() && ::stat(r.output_dir.c_str(), &before) != 0;
    const std::string profile_json = to_docker_json(generated).dump(2) + "\n";
    int code = 0;
    try {
        const std::string seccomp_value = seccomp_flag_value(r);  // makes DIR
        report.flags = cap_flags(report.caps.needed()) + " --security-opt seccomp=" + seccomp_value +
                       (read_only ? " --read-only" : "") + resource_flags(report.usage);
        report.run_line = run_line(r.user_flags, report.flags, r.rootfs_arg, r.options.command);
        if (r.verify) {
            TempDir scratch;
            write_out(scratch.path() + "/profile.json", profile_json);
            code = verify(p, scratch.path(), read_only);
        }
    } catch (...) {
        if (made_output_dir) ::rmdir(r.output_dir.c_str());  // only if it is still empty
        throw;
    }
    if (!r.output_dir.empty()) {
        write_out(r.output_dir + "/profile.json", profile_json);
        write_out(r.output_dir + "/flags.txt", report.flags + "\n");
        write_out(r.output_dir + "/report.md", report_markdown(report));
    }
    if (r.output_dir.empty())
        report.notes.push_back("nothing was written: --output DIR writes profile.json, flags.txt and report.md");
    out << summary_text(report);
    out.flush();
    return code;
}

}  // namespace hutch::profile
