#include "runtime/profile/profile.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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
#include "runtime/profile/notify.hpp"
#include "runtime/profile/tracefs.hpp"

namespace hutch::profile {
namespace {

constexpr const char* kCapEvent = "capability/cap_capable";

bool env_set(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::string(v) != "0";
}

std::string native_syscall_name(long nr) {
    char* name = ::seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, static_cast<int>(nr));
    std::string out = name ? name : "syscall_" + std::to_string(nr);
    std::free(name);
    return out;
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

// One entry of an overlay upper dir: enough to tell whether the run changed it.
struct Entry {
    std::string signature;  // type mode uid gid size mtime ctime
    bool whiteout = false;  // a removal: char device 0:0
    bool dir = false;
};
using Tree = std::map<std::string, Entry>;

// A directory that cannot be read is an error, not an empty one: a write missed there would make
// --read-only look sufficient.
void walk(const std::string& root, const std::string& rel, Tree& out) {
    constexpr const char* step = "list the files the run wrote";
    DIR* d = ::opendir((root + rel).c_str());
    if (!d) throw SysError(step, "opendir", root + rel, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
        errno = 0;
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) throw SysError(step, "readdir", root + rel, err);
    for (const auto& n : names) {
        std::string path = rel + "/" + n;
        struct stat st {};
        if (::lstat((root + path).c_str(), &st) != 0) throw SysError(step, "lstat", root + path, errno);
        Entry e;
        e.dir = S_ISDIR(st.st_mode);
        e.whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
        e.signature = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
                      " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                      std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_ctim.tv_sec) + "." +
                      std::to_string(st.st_ctim.tv_nsec);
        out[path] = e;
        if (e.dir) walk(root, path, out);
    }
}

// What the run wrote: upper-dir entries new or changed since `before`. A directory the lower
// layer has with the same owner and mode is only there because something below it was written
// (overlayfs copies parents up), so it is not a write of its own.
std::vector<std::string> written_paths(const Tree& before, const Tree& after, const std::string& lower) {
    std::vector<std::string> out;
    for (const auto& [path, e] : after) {
        auto was = before.find(path);
        if (was != before.end() && was->second.signature == e.signature) continue;
        if (e.dir && !e.whiteout) {
            struct stat low {};
            if (::lstat((lower + path).c_str(), &low) == 0 && S_ISDIR(low.st_mode)) {
                // Mode and owner lead the signature: the same as below means only copied up.
                std::string same = std::to_string(low.st_mode) + " " + std::to_string(low.st_uid) + ":" +
                                   std::to_string(low.st_gid) + " ";
                if (e.signature.rfind(same, 0) == 0) continue;
            }
        }
        out.push_back(path);
    }
    return out;
}

// The observer of the profiled run (runtime/launch.hpp's hook points).
class Observer : public RunObserver {
public:
    enum class Calls { kNotify, kTrace, kLog };
    Observer(const tracefs::Root* trace_root, Calls calls, caps::CapSet effective, std::string instance_name,
             std::string lower)
        : trace_root_(trace_root), calls_(calls), effective_(effective), instance_name_(std::move(instance_name)),
          lower_(std::move(lower)) {}

    std::optional<seccomp::Program> listener_filter() override {
        if (calls_ == Calls::kNotify) return seccomp::compile_listener();
        if (calls_ == Calls::kLog) {
            kernel_log_.emplace();
            return seccomp::compile_logger();
        }
        return std::nullopt;
    }

    void cloned(pid_t pid) override {
        init_pid_ = pid;
        if (!trace_root_) return;
        analyzer_ = std::make_unique<CapAnalyzer>(pid, effective_, ::seccomp_syscall_resolve_name("execve"),
                                                  native_syscall_name);
        instance_.emplace(*trace_root_, instance_name_);
        // One clock for every CPU: a task that moves between CPUs keeps its events in order.
        instance_->write("trace_clock", "mono");
        // When the reader falls behind, drop new events rather than overwrite the first ones (the
        // command's start among them); lost_events() counts what was dropped.
        instance_->write("options/overwrite", "0");
        instance_->write("buffer_size_kb", "4096");
        // The container's first process and, through event-fork, every process it starts; set
        // before any event is enabled, so no other process is ever recorded.
        instance_->write("options/event-fork", "1");
        instance_->write("set_event_pid", std::to_string(pid));
        instance_->enable(kCapEvent);
        for (const char* e : {"raw_syscalls/sys_enter", "raw_syscalls/sys_exit", "sched/sched_process_fork",
                              "sched/sched_process_exec"})
            if (trace_root_->has_event(e)) instance_->enable(e);
        instance_->start_reading([this](std::string_view line) {
            if (auto e = parse_trace_line(line)) analyzer_->feed(*e);
        });
    }

    void listener(Fd fd, const std::string& upper_dir) override {
        // The child waits in its next call until the supervisor answers: the command has not run.
        // (Without a listener there is no such moment; hutch's setup writes nothing to the upper
        // dir anyway, so an empty "before" costs nothing there.)
        if (!upper_dir.empty()) walk(upper_dir, "", before_);
        supervisor_.emplace(std::move(fd));
    }

    void exited(int, const std::string& upper_dir) override {
        if (supervisor_) {
            notifications_ = supervisor_->finish();
            supervisor_error_ = supervisor_->error();
        }
        if (kernel_log_) {
            notifications_ = kernel_log_->read_new();
            missing_ = missing_records(notifications_);
        }
        if (instance_) {
            instance_->stop_reading();
            lost_ = instance_->lost_events();
            instance_.reset();
        }
        if (!upper_dir.empty()) {
            Tree after;
            walk(upper_dir, "", after);
            writes_ = written_paths(before_, after, lower_);
            writes_known_ = true;
        }
    }

    pid_t init_pid() const { return init_pid_; }
    // Why the listener's thread stopped answering early, if it did: the run's calls are not all
    // known (and its calls from then on failed with ENOSYS).
    const std::optional<SysError>& supervisor_error() const { return supervisor_error_; }
    CapFindings cap_findings() const { return analyzer_ ? analyzer_->finish() : CapFindings{}; }
    const std::vector<Notification>& notifications() const { return notifications_; }
    const std::vector<std::string>& writes() const { return writes_; }
    bool writes_known() const { return writes_known_; }
    long lost_events() const { return lost_; }
    std::uint64_t missing_log_records() const { return missing_; }

private:
    const tracefs::Root* trace_root_;
    Calls calls_;
    std::optional<notify::KernelLog> kernel_log_;
    std::uint64_t missing_ = 0;
    caps::CapSet effective_;
    std::string instance_name_, lower_;
    pid_t init_pid_ = 0;
    std::unique_ptr<CapAnalyzer> analyzer_;
    std::optional<tracefs::Instance> instance_;
    std::optional<notify::Supervisor> supervisor_;
    std::optional<SysError> supervisor_error_;
    std::vector<Notification> notifications_;
    Tree before_;
    std::vector<std::string> writes_;
    bool writes_known_ = false;
    long lost_ = 0;
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

void write_out(const std::string& path, const std::string& text) {
    write_file_atomic(path, text, 0644, Durability::kDurable);
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
    const std::string hostname = first_id.substr(0, 12);
    Spec spec = r.build_spec(r.options, first_id);
    const caps::CapSet starting = parse_set(spec.process.capabilities.effective);
    report.starting = parse_set(spec.process.capabilities.bounding);

    // How capabilities are found: the tracepoint, else replays.
    std::optional<tracefs::Root> root;
    if (!env_set("HUTCH_PROFILE_NO_TRACEPOINT")) root = tracefs::Root::open();
    bool tracepoint = root && root->has_event(kCapEvent);
    // set_event_pid takes pids as the initial pid namespace numbers them: from inside another
    // one, hutch's pid for the container names some other process there.
    const std::vector<std::string> nspid = namespace_pids();
    const bool nested_pidns = nspid.size() > 1;
    if (tracepoint && nested_pidns) tracepoint = false;
    if (tracepoint)
        if (int n = root->remove_orphans("hutch-profile-"))
            report.notes.push_back("removed " + std::to_string(n) + " trace instance(s) a killed hutch profile had left");
    if (tracepoint) {
        report.cap_source = "the kernel's capability:cap_capable tracepoint, in a private tracefs instance under " +
                            root->where();
    } else {
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
    // How system calls are found: seccomp notification; else the trace's raw_syscalls:sys_enter,
    // which sees every call as notification does; else seccomp's own logging, which the kernel
    // rate-limits when no auditd collects it (the report says how many records it dropped).
    using Calls = Observer::Calls;
    Calls calls = notify::available() && !env_set("HUTCH_PROFILE_NO_NOTIFY") ? Calls::kNotify
                  : tracepoint && root->has_event("raw_syscalls/sys_enter")  ? Calls::kTrace
                                                                             : Calls::kLog;

    Observer observer(tracepoint ? &*root : nullptr, calls, starting, tracefs::instance_prefix(), spec.root.path);
    Outcome profiled = run_once(r, r.options, hostname, &observer, true);
    report.runs.push_back({"profiled run", profiled.code, profiled.out, profiled.err});

    // A run that never reached the command (its start crashed, say) has nothing to profile: the
    // few calls and checks it made are hutch's, and a profile made of them would not run the
    // command. Nothing is written and nothing verified.
    if (const auto& e = observer.supervisor_error())
        throw SysError(e->step() + " (the profiled run exited with status " + std::to_string(profiled.code) +
                           "; nothing was written)",
                       e->syscall(), e->object(), e->error_number());
    if (tracepoint) report.caps = observer.cap_findings();
    const char* missed = nullptr;
    if (calls == Calls::kNotify && !split_syscalls(observer.notifications(), observer.init_pid()).saw_command)
        missed = "the seccomp listener";
    else if (tracepoint && !report.caps.saw_command)
        missed = "the trace";
    if (missed)
        throw Error(std::string("profile the workload: the profiled run never reached the command's execve (") + missed +
                    " saw none; the run exited with status " + std::to_string(profiled.code) +
                    "): nothing was written");

    // Capabilities.
    if (tracepoint) {
        if (observer.lost_events() > 0)
            report.notes.push_back(std::to_string(observer.lost_events()) +
                                   " trace events were lost (the reader fell behind): checks may be missing");
        // A credential that holds CAP_SYS_ADMIN looks like overlayfs' own (its trusted.* xattrs
        // need it), so foreign credentials cannot be told apart: each capability found is
        // confirmed by a run without it, keeping the set small but the outcome the same.
        if (starting & caps::bit(*caps::number_from_name("SYS_ADMIN"))) {
            caps::CapSet keep = report.caps.needed();
            for (int cap = 0; cap < 64; ++cap) {
                if (!(keep & caps::bit(cap))) continue;
                Outcome without = run_once(r, with_caps(r.options, keep & ~caps::bit(cap)), hostname, nullptr);
                report.runs.push_back({"without " + caps::name_of(cap), without.code, without.out, without.err});
                if (!without.same_as(profiled)) continue;
                keep &= ~caps::bit(cap);
                report.caps.used.erase(cap);
                report.notes.push_back(caps::name_of(cap) +
                                       " was checked but the run behaved the same without it: left out (with "
                                       "CAP_SYS_ADMIN in the set, overlayfs' own checks look like the container's)");
            }
        }
    } else {
        for (int cap = 0; cap < 64; ++cap) {
            if (!(starting & caps::bit(cap))) continue;
            Outcome without = run_once(r, with_caps(r.options, starting & ~caps::bit(cap)), hostname, nullptr);
            report.runs.push_back({"without " + caps::name_of(cap), without.code, without.out, without.err});
            if (!without.same_as(profiled)) report.caps.used[cap].checks = 1;
        }
    }

    // System calls.
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

    bool unconfined = false;
    seccomp::DockerProfile base = base_profile(r.options, unconfined);
    if (unconfined)
        report.notes.push_back("the run had no seccomp filter: profile.json takes its conditions from hutch's default profile");
    std::set<std::string> allowed = runtime_syscalls_after_filter();
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

    // Writes.
    if (observer.writes_known()) {
        report.writes = judge_writes(observer.writes());
    } else {
        report.notes.push_back("the run was --read-only: writes to its tmpfs mounts are not seen");
    }
    bool read_only = r.options.read_only || (observer.writes_known() && report.writes.read_only_suffices());

    // Output.
    std::optional<TempDir> scratch;
    std::string dir = r.output_dir;
    if (dir.empty() && r.verify) {
        scratch.emplace();
        dir = scratch->path();
    }
    // Named as the user will find it: the --output file, else a placeholder that says where it
    // would be (nothing is kept; --verify's copy is scratch).
    std::string seccomp_value = "'<--output DIR>/profile.json'";
    if (!r.output_dir.empty()) {
        char resolved[PATH_MAX];
        if (::mkdir(r.output_dir.c_str(), 0755) != 0 && errno != EEXIST)
            throw SysError("write the profile", "mkdir", r.output_dir, errno);
        if (!::realpath(r.output_dir.c_str(), resolved))
            throw SysError("write the profile", "realpath", r.output_dir, errno);
        seccomp_value = shell_quote(std::string(resolved) + "/profile.json");
    }
    report.flags = cap_flags(report.caps.needed()) + " --security-opt seccomp=" + seccomp_value +
                   (read_only ? " --read-only" : "");
    report.run_line = run_line(r.user_flags, report.flags, r.rootfs_arg, r.options.command);
    if (!dir.empty()) write_out(dir + "/profile.json", to_docker_json(generated).dump(2) + "\n");

    int code = 0;
    if (r.verify) {
        RunOptions v = with_caps(r.options, report.caps.needed());
        std::erase_if(v.security_opts, [](const std::string& s) { return s.rfind("seccomp", 0) == 0; });
        v.security_opts.push_back("seccomp=" + dir + "/profile.json");
        v.read_only = read_only;
        Outcome verified = run_once(r, v, hostname, nullptr);
        report.runs.push_back({"verify (under the generated profile)", verified.code, verified.out, verified.err});
        report.verified = verified.same_as(profiled);
        if (!*report.verified) code = 1;
    }
    if (r.output_dir.empty())
        report.notes.push_back("nothing was written: --output DIR writes profile.json, flags.txt and report.md");
    if (!r.output_dir.empty()) {
        write_out(r.output_dir + "/flags.txt", report.flags + "\n");
        write_out(r.output_dir + "/report.md", report_markdown(report));
    }
    out << summary_text(report);
    out.flush();
    return code;
}

}  // namespace hutch::profile
