// `hutch run [OPTIONS] ROOTFS COMMAND [ARG...]`: docker run's flags into a Spec, then launch.
#include <sys/prctl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/resource.h>
#include <cap-ng.h>

#include <algorithm>
#include <cstring>
#include <climits>
#include <fstream>
#include <functional>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/cli/cli.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/devices.hpp"
#include "runtime/error.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/launch.hpp"
#include "runtime/mounts.hpp"
#include "runtime/resource_flags.hpp"
#include "runtime/rootless.hpp"
#include "runtime/run_options.hpp"
#include "runtime/seal.hpp"
#include "runtime/trampoline/trampoline.hpp"
#include "runtime/userns.hpp"
#include "runtime/user_db.hpp"

namespace hutch::cli {
namespace {

// Reads a user database (`path`, "/etc/passwd" or "/etc/group") of the rootfs, as the hostile
// input it is (runtime/user_db.hpp): resolved inside the rootfs, a regular file, bounded.
std::string read_in_rootfs(const std::string& rootfs, const std::string& path) {
    Fd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return "";
    return read_user_db(root.get(), path, rootfs + path);
}

std::string host_hostname() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}


}  // namespace

// Any readable file, a pipe too (docker reads `seccomp=<(...)`), but never without end:
// /dev/zero must not grow hutch until the machine runs out of memory. Each format bounds its text further (a seccomp
// profile at 1 MiB, caps/seccomp_filter.hpp).
std::string read_named_file(const std::string& path) {
    constexpr std::size_t kMax = 64 << 20;
    // Without blocking: a pipe with no writer yet is waited for in poll, where SIGINT/SIGTERM
    // can end the wait (runtime/interrupt.hpp).
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd) throw UsageError("cannot read \"" + path + "\": " + std::strerror(errno));
    std::string out;
    char buf[65536];
    ssize_t n;
    for (;;) {
        interrupt::wait_readable(fd.get(), "read a file named on the command line");
        n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0) break;
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) throw UsageError("cannot read \"" + path + "\": " + std::strerror(errno));
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > kMax) throw UsageError("cannot read \"" + path + "\": larger than 64 MiB, the most hutch reads");
    }
    return out;
}

namespace {

// Closes every fd above the standard streams but `keep`.
void close_all_but(int keep) {
    if (keep > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u);
}

}  // namespace

// -d: a forked monitor runs `body` (the container's parent, reaping it, forwarding signals,
// relaying its output, cleaning up); this process waits only for "started" or the start's
// error, then returns. `body` gets the fd to write "started" to.
void refuse_detached_explain(bool explain, bool detached, const char* what) {
    if (explain && detached)
        throw UsageError(std::string("--explain with ") + what +
                         ": a detached container's output is its log; explain a foreground start instead");
}

void drop_run_flags(CLI::App* cmd, std::initializer_list<const char*> names) {
    for (const char* name : names) cmd->remove_option(cmd->get_option(name));
}

void refuse_tty_without_terminal(bool tty, bool attached_stdin) {
    if (tty && attached_stdin && ::isatty(STDIN_FILENO) != 1) throw UsageError("the input device is not a TTY");
}

int in_monitor(const std::function<int(int)>& body) {
    int ends[2];
    check(::pipe2(ends, O_CLOEXEC), "start the monitor", "pipe2");
    Fd report(ends[0]), started(ends[1]);
    pid_t monitor = ::fork();
    if (monitor < 0) throw SysError("start the monitor", "fork", "", errno);
    if (monitor == 0) {
        report.reset();
        // Its own session, and none of the caller's streams: whoever reads this command's output
        // gets EOF as soon as it returns.
        ::setsid();
        // Above the standard streams (a caller with fd 0 closed gets the pipe there).
        started = Fd(::fcntl(started.get(), F_DUPFD_CLOEXEC, 3));
        int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; fd <= 2; ++fd) ::dup2(null_fd, fd);
        // Nor any other file the caller handed down: a lock a script holds with flock(1), a
        // pipe whose reader waits for EOF, would otherwise stay open for the container's whole
        // life. The monitor keeps only the pipe that reports the start.
        close_all_but(started.get());
        int code = kExitHutchError;
        std::string failure;
        try {
            code = body(started.get());
        } catch (const Error& e) {
            code = e.exit_code();
            failure = e.what();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (!failure.empty()) {
            std::string message = "E" + std::to_string(code) + " " + failure;
            [[maybe_unused]] ssize_t n = ::write(started.get(), message.data(), message.size());
        }
        ::_exit(code);
    }
    started.reset();
    std::string answer;
    char buf[4096];
    ssize_t n;
    int forwarded = 0;
    for (;;) {
        // SIGINT/SIGTERM here is meant for the start, which the monitor makes: it is passed on
        // (the monitor holds them blocked too, runtime/interrupt.hpp), and its answer awaited.
        try {
            interrupt::wait_readable(report.get(), "start the monitor");
        } catch (const interrupt::Interrupted& e) {
            forwarded = e.signal();
            ::kill(monitor, forwarded);
            continue;
        }
        n = ::read(report.get(), buf, sizeof buf);
        if (n > 0) answer.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    // Started before the signal reached it: the monitor forwarded it to the command.
    if (answer.rfind("started", 0) == 0) return 0;
    int status = 0;
    ::waitpid(monitor, &status, 0);
    if (forwarded) throw interrupt::Interrupted(forwarded);
    if (answer.size() > 1 && answer[0] == 'E') {
        auto space = answer.find(' ');
        throw Error(answer.substr(space + 1), std::atoi(answer.substr(1, space - 1).c_str()));
    }
    throw Error("start the container: its monitor ended before the command ran");
}

int monitor_exit_main(int argc, char** argv) {
    // As before the hand-over: no process without CAP_SYS_PTRACE reads this one's memory or fds
    // (the exec made it dumpable again).
    ::prctl(PR_SET_DUMPABLE, 0);
    try {
        monitor::Handback back = monitor::parse_exit_argv(argc, argv);
        net::HostConfig config;
        try {
            config = net::read_host_config(back.config_path);
        } catch (const Error& e) {
            // The exit must still be recorded and cleaned up: with the defaults, and said. A
            // restart hands the same file on, so it is read again at the next exit.
            std::fprintf(stderr, "hutch: warning: %s: the defaults apply\n", e.what());
            config.path = back.config_path;
        }
        return resume_after_exit(back, config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hutch: %s\n", e.what());
        return kExitHutchError;
    }
}

namespace {

int run_detached(const Spec& spec, const Paths& paths, const std::string& id, const net::HostConfig& config,
                 bool existing) {
    int code = in_monitor([&](int started) { return run_container(spec, paths, id, config, started, existing); });
    std::cout << id << std::endl;
    return code;
}

// One of hutch's own programs: $ENV when set, else `name` beside the hutch binary.
std::string helper_binary(const char* name, const char* env) {
    if (const char* given = std::getenv(env); given && *given) return given;
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return "";
    std::string dir(self, static_cast<std::size_t>(n));
    return dir.substr(0, dir.find_last_of('/')) + "/" + name;
}

}  // namespace

// What the resource flags check against (runtime/resource_flags.hpp): read only when one of
// them is given, so a start without limits pays no mountinfo parse, file reads or capability
// query for them.
void add_resource_facts(HostFacts& host, const RunOptions& flags) {
    if (!has_limit_flags(flags) && flags.ulimits.empty()) return;
    auto first_line = [](const char* path, const char* fallback) {
        std::ifstream in(path);
        std::string line;
        return std::getline(in, line) && !line.empty() ? line : std::string(fallback);
    };
    host.online_cpus = first_line("/sys/devices/system/cpu/online", "0");
    host.online_mems = first_line("/sys/devices/system/node/online", "0");
    host.cpu_count = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    for (const auto& h : host_cgroup_hierarchies()) {
        if (h.fstype == "cgroup" && ("," + h.controllers + ",").find(",memory,") != std::string::npos)
            host.swap_accounting = ::access((h.mount_point + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0;
        // memory.swap.max exists only below the root: look in hutch's own cgroup, or, when hutch
        // runs in the root, at whether the root offers the memory controller at all.
        if (h.fstype == "cgroup2" &&
            (::access((h.mount_point + own_cgroup(h) + "/memory.swap.max").c_str(), F_OK) == 0 ||
             (own_cgroup(h).empty() &&
              (" " + read_cgroup_file(h.mount_point + "/cgroup.controllers") + " ").find(" memory ") != std::string::npos)))
            host.swap_accounting = true;
    }
    host.hard_rlimit = [](int resource) {
        rlimit current{};
        ::getrlimit(resource, &current);
        return static_cast<std::uint64_t>(current.rlim_max);
    };
    capng_get_caps_process();
    host.can_raise_rlimits = capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE);
}

void require_run_privilege() {
    if (rootless::active()) rootless::require_helpers();
}

void require_root(const char* command, const char* why) {
    if (::geteuid() == 0) return;
    throw UsageError(std::string("hutch ") + command + " needs root: " + why);
}

HostFacts host_facts(const RunOptions& opts) {
    HostFacts host = host_facts(opts.rootfs);
    if (!opts.image_layers.empty())
        host.read_in_rootfs = [layers = opts.image_layers](const std::string& path) { return read_in_layers(layers, path); };
    return host;
}

HostFacts host_facts(const std::string& rootfs) {
    HostFacts host;
    host.caps = caps::HostCaps::read();
    host.hostname = host_hostname();
    host.getenv = [](const char* key) { return std::getenv(key); };
    host.read_in_rootfs = [rootfs](const std::string& path) { return read_in_rootfs(rootfs, path); };
    host.read_host_file = read_named_file;
    host.host_path_exists = [](const std::string& path) {
        struct stat st {};
        // Not searchable by a user without root: there as far as anyone can tell (readable says
        // the rest).
        return ::stat(path.c_str(), &st) == 0 || errno == EACCES;
    };
    host.readable = [](const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return false;
        return ::access(path.c_str(), S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK) == 0;
    };
    host.mount_of = [](const std::string& path) -> std::optional<mountinfo::Entry> {
        char resolved[PATH_MAX];
        if (!::realpath(path.c_str(), resolved)) return std::nullopt;
        return mountinfo::mount_of(mountinfo::read_own(), resolved);
    };
    host.host_device = devices::stat_host_device;
    host.probe_binary = helper_binary("hutch-probe", "HUTCH_PROBE");
    host.init_binary = helper_binary("hutch-init", "HUTCH_INIT");
    return host;
}

void add_limit_flags(CLI::App* cmd, RunOptions& opts) {
    cmd->add_option("-m,--memory", opts.memory, "Memory limit (e.g. 64m, 1g)");
    cmd->add_option("--memory-swap", opts.memory_swap, "Memory plus swap limit; -1: unlimited swap");
    cmd->add_option("--memory-reservation", opts.memory_reservation, "Memory soft limit");
    cmd->add_option("--cpus", opts.cpus, "Number of CPUs (e.g. 0.5)");
    cmd->add_option("-c,--cpu-shares", opts.cpu_shares, "CPU shares (relative weight)");
    cmd->add_option("--cpu-period", opts.cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period");
    cmd->add_option("--cpu-quota", opts.cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
    cmd->add_option("--cpuset-cpus", opts.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
    cmd->add_option("--cpuset-mems", opts.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
    cmd->add_option("--pids-limit", opts.pids_limit, "Tune container pids limit (-1 for unlimited)");
    cmd->add_option("--blkio-weight", opts.blkio_weight, "Block IO (relative weight), between 10 and 1000, or 0 to disable");
}

void add_run_flags(CLI::App* cmd, RunOptions& opts) {
    auto many = [cmd](const char* names, std::vector<std::string>& into, const char* help) {
        cmd->add_option(names, into, help)->allow_extra_args(false)->take_all();
    };
    cmd->add_option("--name", opts.name, "Assign a name to the container");
    cmd->add_flag("--rm", opts.rm, "Remove the container when it exits");
    cmd->add_option("--restart", opts.restart,
                    "Restart policy when the command exits: no, on-failure[:N], always, unless-stopped");
    cmd->add_flag("-d,--detach", opts.detach, "Run in the background and print the container id");
    cmd->add_option("-h,--hostname", opts.hostname, "Container host name");
    many("-e,--env", opts.env, "Set environment variables (KEY=VALUE, or KEY to pass the host's)");
    many("--env-file", opts.env_files, "Read environment variables from a file");
    cmd->add_option("-w,--workdir", opts.workdir, "Working directory inside the container");
    cmd->add_option("--entrypoint", opts.entrypoint, "Overwrite the default ENTRYPOINT of the image")
        ->each([&opts](const std::string&) { opts.entrypoint_given = true; });
    cmd->add_option("--stop-signal", opts.stop_signal, "Signal to stop the container (default SIGTERM)");
    cmd->add_option("--pull", opts.pull, "Pull image before running (\"always\", \"missing\", \"never\")")
        ->check(CLI::IsMember({"always", "missing", "never"}));
    cmd->add_option("-u,--user", opts.user, "Username or UID (format: <name|uid>[:<group|gid>])");
    many("-v,--volume", opts.volumes, "Bind mount a volume (SRC:DST[:OPTS]; OPTS: ro, rw, idmap, a propagation)");
    many("--tmpfs", opts.tmpfs, "Mount a tmpfs directory (PATH[:OPTIONS])");
    cmd->add_flag("--read-only", opts.read_only, "Mount the container's root filesystem as read only");
    cmd->add_option("--read-only-tmpfs", opts.read_only_tmpfs,
                    "With --read-only, mount tmpfs on /run, /tmp and /var/tmp (default true)");
    many("--cap-add", opts.cap_add, "Add Linux capabilities");
    many("--cap-drop", opts.cap_drop, "Drop Linux capabilities");
    cmd->add_flag("--privileged", opts.privileged, "Give extended privileges to this container");
    many("--device", opts.devices, "Add a host device to the container (HOST[:CONTAINER][:PERMISSIONS])");
    many("--device-cgroup-rule", opts.device_cgroup_rules, "Add a rule to the cgroup allowed devices list");
    many("--security-opt", opts.security_opts, "Security options: no-new-privileges, seccomp=unconfined, seccomp=FILE");
    cmd->add_option("--userns", opts.userns, "User namespace to use: host (none; the default unless the host config remaps), auto[:size=N], keep-id[:uid=U,gid=G,size=N] or nomap (rootless)");
    many("--uidmap", opts.uidmap, "UID map for a new user namespace (CONTAINER:HOST:SIZE)");
    many("--gidmap", opts.gidmap, "GID map for a new user namespace (CONTAINER:HOST:SIZE; default: the --uidmap)");
    cmd->add_option("--pid", opts.pid, "PID namespace to use: host, container:NAME");
    cmd->add_option("--ipc", opts.ipc, "IPC mode to use: private, host, container:NAME");
    cmd->add_option("--uts", opts.uts, "UTS namespace to use (host)");
    cmd->add_option("--network,--net", opts.network,
                    "Network: bridge (default; pasta without root), a network's name, none, pasta, host or container:NAME");
    cmd->add_option("--ip", opts.ip, "IPv4 address on a user-defined network");
    many("--network-alias", opts.network_aliases, "Add a network-scoped alias for the container");
    many("-p,--publish", opts.publish, "Publish a container's port to the host ([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO])");
    cmd->add_flag("-P,--publish-all", opts.publish_all, "Publish all exposed ports to ports the kernel picks");
    many("--expose", opts.expose, "Expose a port or a range of ports (published by -P)");
    cmd->add_flag("--probe", opts.probe, std::string("Bind hutch-probe read-only at ") + kProbePath +
                                             " (prints what the container sees)");
    cmd->add_flag("--init", opts.init, std::string("Run hutch-init as pid 1 (at ") + kInitPath +
                                           "): it forwards signals and reaps zombies");
    cmd->add_flag("-i,--interactive", opts.interactive, "Keep STDIN open");
    cmd->add_flag("-t,--tty", opts.tty, "Allocate a pseudo-TTY");
    many("--add-host", opts.add_hosts, "Add a custom host-to-IP mapping (host:ip)");
    many("--dns", opts.dns, "Set custom DNS servers");
    many("--dns-search", opts.dns_search, "Set custom DNS search domains");
    many("--dns-option", opts.dns_options, "Set DNS options");
    // Resources (runtime/resource_flags.hpp): Docker's names and units.
    add_limit_flags(cmd, opts);
    cmd->add_option("--kernel-memory", opts.kernel_memory, "Kernel memory limit (cgroup v1 kernels that still enforce it)");
    cmd->add_flag("--oom-kill-disable", opts.oom_kill_disable, "Disable the OOM killer (cgroup v1)");
    cmd->add_option("--oom-score-adj", opts.oom_score_adj, "Tune the host's OOM preferences (-1000 to 1000)");
    many("--ulimit", opts.ulimits, "Ulimit options (NAME=SOFT[:HARD], e.g. nofile=100:200)");
    cmd->add_option("--shm-size", opts.shm_size, "Size of /dev/shm (e.g. 128m)");
    many("--sysctl", opts.sysctls, "Sysctl options (namespaced keys only, KEY=VALUE)");
}

// ROOTFS COMMAND... from what follows the flags, and the Spec they make with the host's facts.
Spec spec_from_command_line(CLI::App* cmd, RunOptions& opts, const Globals& globals, const std::string& id) {
    std::vector<std::string> rest = cmd->remaining();
    if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') throw UsageError("unknown flag: " + rest[0]);
    if (rest.empty())
        throw UsageError("\"hutch " + cmd->get_name() + "\" requires at least 2 arguments: ROOTFS COMMAND [ARG...]");
    // Docker's run prints the pull's progress on stderr: stdout stays the container's.
    auto pull = [&globals](const image::Reference& ref) { pull_image_ref(ref, globals, &std::cerr); };
    resolve_root_argument(opts, rest[0], {rest.begin() + 1, rest.end()}, globals.paths, id, pull);
    return spec_from_options(opts, globals, id);
}

// --network/--pid/--ipc container:REF (runtime/run_options.hpp, HostFacts::JoinedContainer).
HostFacts::JoinedContainer running_container(const Paths& paths, const std::string& ref) {
    ContainerState target = find_container(paths, ref);
    if (!container_running(paths, target.id) || target.pid <= 0)
        throw UsageError("container " + ref + " is not running (" + target.status + ")");
    std::string hostname;
    try {
        hostname = read_file(paths.runtime_dir(target.id) + "/hostname");
    } catch (const SysError& e) {
        // A container that itself joined another's network has no hostname file of its own
        // (launch.cpp's write_etc_files): it has no name to share. Anything else is shown.
        if (e.error_number() != ENOENT) throw;
    }
    while (!hostname.empty() && hostname.back() == '\n') hostname.pop_back();
    HostFacts::JoinedContainer joined{target.id, "/proc/" + std::to_string(target.pid) + "/ns", hostname};
    // Its user namespace, if not this process's: the maps are the kernel's (a --userns auto
    // container's slot is claimed after its config.json was written).
    struct stat mine {}, its {};
    const std::string proc = "/proc/" + std::to_string(target.pid);
    if (::stat("/proc/self/ns/user", &mine) != 0 || ::stat((proc + "/ns/user").c_str(), &its) != 0)
        throw UsageError("container " + ref + " is not running (its process is gone)");
    joined.own_user_namespace = mine.st_ino != its.st_ino || mine.st_dev != its.st_dev;
    joined.user_namespace_inode = its.st_ino;
    // A --userns auto slot's ids, whichever container holds it: a joiner of a joiner shares them.
    for (const auto& holder : userns::slot_holders(paths.data_root)) {
        struct stat ns {};
        try {
            const ContainerState state = find_container(paths, holder);
            if (state.pid > 0 && ::stat(("/proc/" + std::to_string(state.pid) + "/ns/user").c_str(), &ns) == 0 &&
                ns.st_ino == its.st_ino && ns.st_dev == its.st_dev)
                joined.auto_slot = true;
        } catch (const UsageError&) {
            // a stale claim: its container is gone
        }
    }
    if (joined.own_user_namespace) {
        auto maps = userns::maps_of_joined(proc + "/ns/user");
        if (!maps) throw UsageError("container " + ref + " is not running (its id maps cannot be read)");
        std::tie(joined.uid_mappings, joined.gid_mappings) = std::move(*maps);
    }
    return joined;
}

Spec spec_from_options(const RunOptions& opts, const Globals& globals, const std::string& id) {
    const Paths& paths = globals.paths;
    HostFacts host = host_facts(opts);
    // A user without root starts rootless hutch's containers: the user's maps (audit, which
    // runs nothing, judges the flags as given).
    if (rootless::active()) host.rootless = rootless::user_maps(rootless::current_user());
    add_resource_facts(host, opts);
    host.config = net::read_host_config(globals.config_path);
    host.running_container = [&paths](const std::string& ref) { return running_container(paths, ref); };
    Spec spec = build_run_spec(opts, id, host);
    if (!opts.stop_signal.empty())
        spec.annotations[lifecycle::kStopSignalAnnotation] = std::to_string(parse_signal(opts.stop_signal));
    return spec;
}

void add_run_command(CLI::App& app, const Globals& globals, int& exit_code, char** argv) {
    auto* run = app.add_subcommand("run", "Run a command in a new container");
    // -h is --hostname, as in docker run.
    run->set_help_flag("--help", "Print this help and exit");
    // Everything from ROOTFS on is the container's: options after it belong to the command.
    run->prefix_command();
    set_usage(run, "ROOTFS|IMAGE [COMMAND] [ARG...]");
    auto opts = std::make_shared<RunOptions>();
    auto explain_flag = std::make_shared<bool>(false);
    auto dry_run = std::make_shared<bool>(false);

    add_run_flags(run, *opts);
    run->add_flag("--explain", *explain_flag, "Print each kernel-level step as the call it makes (stderr)");
    run->add_flag("--dry-run", *dry_run, "Print the OCI config.json and exit without running anything");

    run->callback([run, opts, explain_flag, dry_run, &globals, &exit_code, argv]() {
        if (!*dry_run) require_run_privilege();
        interrupt::Scope start_scope;  // from the profile's parsing on (runtime/interrupt.hpp)
        refuse_tty_without_terminal(opts->tty, opts->interactive && !opts->detach);
        std::string id = new_container_id();
        Spec spec = spec_from_command_line(run, *opts, globals, id);
        if (*dry_run) {
            image::drop_lease(globals.paths.data_root, id);  // no container will hold the image
            std::cout << to_json(spec).dump(4) << std::endl;
            exit_code = 0;
            return;
        }
        validate_spec(spec);
        refuse_detached_explain(*explain_flag, spec.hutch.detach, "run -d");
        explain::enable(*explain_flag);
        // The exec trampoline keeps containers away from hutch's binary; only where the kernel
        // forbids executable memfds does hutch seal itself (one more exec).
        if (!trampoline::available()) ensure_sealed_binary(argv);
        net::HostConfig config = net::read_host_config(globals.config_path);
        exit_code = spec.hutch.detach ? run_detached(spec, globals.paths, id, config, false)
                                      : run_container(spec, globals.paths, id, config);
    });

    // `hutch create`: the same flags and checks, a container that does not run yet.
    auto* create = app.add_subcommand("create", "Create a container without starting it (hutch start runs it)");
    create->set_help_flag("--help", "Print this help and exit");
    create->prefix_command();
    set_usage(create, "ROOTFS|IMAGE [COMMAND] [ARG...]");
    auto create_opts = std::make_shared<RunOptions>();
    add_run_flags(create, *create_opts);
    auto create_explain = std::make_shared<bool>(false);
    create->add_flag("--explain", *create_explain, "Print each kernel-level step as the call it makes (stderr)");
    create->callback([create, create_opts, create_explain, &globals, &exit_code]() {
        require_run_privilege();
        interrupt::Scope start_scope;
        std::string id = new_container_id();
        Spec spec = spec_from_command_line(create, *create_opts, globals, id);
        explain::enable(*create_explain);
        create_container(spec, globals.paths, id);
        std::cout << id << std::endl;
        exit_code = 0;
    });

}

}  // namespace hutch::cli
