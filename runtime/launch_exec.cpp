// The launch of one more process into a running container: `hutch exec` (the request resolved
// against the container's own record and files) and the clone, checklist and relay shared with
// `hutch oci exec` (exec_process).
#include "runtime/launch.hpp"
#include "runtime/launch_internal.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "caps/seccomp_cache.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/container_init.hpp"
#include "runtime/env.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/sync.hpp"
#include "runtime/sys/describe.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/seccomp_agent.hpp"
#include "runtime/trampoline/trampoline.hpp"
#include "runtime/user.hpp"
#include "runtime/user_db.hpp"

namespace hutch {

using namespace launch_detail;

int exec_in_container(const Paths& paths, const std::string& ref, const ExecRequest& request, int started_fd) {
    if (request.args.empty() || request.args[0].empty())
        throw UsageError("no command given: usage: hutch exec [OPTIONS] CONTAINER COMMAND [ARG...]");
    ContainerState target = find_container(paths, ref);
    if (!container_running(paths, target.id) || target.pid <= 0)
        throw UsageError("container " + ref + " is not running");
    if (lifecycle::is_paused(target))  // docker's words: its process could not start anyway
        throw UsageError("container " + ref + " is paused, unpause the container before exec");
    Spec spec = spec_from_json(nlohmann::json::parse(read_file(paths.data_dir(target.id) + "/config.json")));

    // A pidfd on the container's first process, opened while its supervisor holds the lock:
    // never a recycled pid.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, target.pid, 0)));
    if (!pidfd || !container_running(paths, target.id)) throw UsageError("container " + ref + " is not running");

    // This process: the container's, with exec's changes.
    spec.process.args = request.args;
    spec.process.terminal = request.tty;
    spec.hutch.interactive = request.interactive;
    for (const auto& e : request.env) env::apply(spec.process.env, e);  // resolved by the CLI (runtime/env.hpp)
    if (request.tty) spec.process.env.push_back("TERM=xterm");
    if (!request.workdir.empty()) {
        if (request.workdir[0] != '/') throw UsageError("invalid --workdir \"" + request.workdir + "\": must be absolute");
        spec.process.cwd = request.workdir;
    }
    if (!request.user.empty()) {
        // The container's own files, through its root as its first process sees it; read as
        // hostile input (runtime/user_db.hpp), never followed out of that root.
        // Still running once the root is open: its supervisor reaps it before letting go of the
        // lock, so the pid cannot have been reused by then.
        Fd root(::open(("/proc/" + std::to_string(target.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root || !container_running(paths, target.id)) throw UsageError("container " + ref + " is not running");
        auto read_inside = [&](const char* path) {
            return read_user_db(root.get(), path, std::string(path) + " of container " + ref);
        };
        ResolvedUser user = resolve_user(request.user, read_inside("/etc/passwd"), read_inside("/etc/group"));
        spec.process.user = {user.uid, user.gid, user.additional_gids};
        // A non-root user starts with no effective or permitted capabilities, as in the container.
        if (user.uid != 0) spec.process.capabilities.effective = spec.process.capabilities.permitted = {};
    }

    std::string command;
    for (const auto& a : request.args) command += (command.empty() ? "" : " ") + a;
    const std::string exec_id = new_container_id();
    const std::map<std::string, std::string> who = {{"image", target.rootfs}, {"name", spec.hutch.name}};  // as run named it
    auto with = [&](std::map<std::string, std::string> extra) {
        extra.insert(who.begin(), who.end());
        return extra;
    };
    events::emit(paths.data_root, {"container", "exec_create: " + command, target.id, with({{"execID", exec_id}}), 0});
    ExecLaunch launch;
    launch.target_pidfd = pidfd.get();
    // Its cgroups, and with them the device policy and the limits: clone3 places the child in
    // the cgroup2 one; into v1 ones (the limits' hierarchies, or a host without cgroup2) this
    // process moves first, and the child inherits them.
    // Found by looking (container_cgroups), not only from the record: `hutch update` may have
    // given the container cgroups the record does not list yet, and an exec outside them would
    // escape the new limit.
    std::vector<std::string> recorded = target.limit_cgroups;
    if (!target.cgroup.empty()) recorded.insert(recorded.begin(), target.cgroup);
    std::vector<std::string> cgroups = container_cgroups(target.id, recorded);
    // The cgroup2 one (clone3's) first, as join_v1_cgroups expects it anywhere in the list.
    launch.cgroup = join_v1_cgroups(cgroups);
    launch.seccomp_cache_dir = paths.root + "/seccomp";
    launch.started = [&](pid_t) {
        events::emit(paths.data_root, {"container", "exec_start: " + command, target.id, with({{"execID", exec_id}}), 0});
        report_started(started_fd);
    };
    int status = exec_process(spec, launch);
    events::emit(paths.data_root, {"container", "exec_die", target.id,
                                   with({{"execID", exec_id}, {"exitCode", std::to_string(status)}}), 0});
    return status;
}

namespace {

// The time namespace of a container that has one: its first process's "for children" one. That
// is also the process's own once it has exec'd its command, but not yet in a created container,
// whose exec must still get the container's clocks, not the host's. Opened through the pidfd's
// pid, then the pidfd is checked alive: the pid was not reused by then.
Fd open_time_namespace(int target_pidfd) {
    const char* step = "join the container's time namespace";
    const pid_t pid = pid_of_pidfd(target_pidfd);
    if (pid < 0) throw Error(std::string(step) + ": no Pid in the fdinfo of the container's pidfd");
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/time_for_children";
    Fd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || pid <= 0) throw SysError(step, "open", path, errno);
    if (::syscall(SYS_pidfd_send_signal, target_pidfd, 0, nullptr, 0) != 0)
        throw SysError(step, "pidfd_send_signal", "the container's first process", errno);
    return ns;
}

}  // namespace

int exec_process(const Spec& spec, const ExecLaunch& launch) {
    interrupt::Scope start_scope;
    BlockedSignals signals(spec.process.terminal);
    std::optional<seccomp::Program> filter;
    if (spec.linux.seccomp) filter = seccomp::compile_cached(*spec.linux.seccomp, launch.seccomp_cache_dir);
    // An OCI engine hands the process the stdio it means it to have; hutch's own exec replaces
    // host files and terminals with pipes, as for run.
    const bool relayed = spec.hutch.stdio == HutchSection::Stdio::kRelayed;
    StdioPipes stdio_pipes = relayed ? pipes_for_host_streams(spec) : StdioPipes{};
    int pair[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "exec in the container", "socketpair");
    Fd parent_end(pair[0]), child_end(pair[1]);
    Fd cgroup;
    if (!launch.cgroup.empty()) cgroup = Fd(::open(launch.cgroup.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    check(sys::kernel().prctl(PR_SET_DUMPABLE, 0), "protect hutch's process", "prctl(PR_SET_DUMPABLE)");

    // Rootless: this unprivileged process may enter the container's pid namespace only from
    // inside its user namespace (pidns_install asks for CAP_SYS_ADMIN in the caller's own), so it
    // joins that first; the child then joins the rest without it.
    if (spec.hutch.rootless && spec.has_namespace(NamespaceType::kUser)) {
        explain::comment("rootless: hutch joins the container's user namespace first, to have the right to join the rest");
        check(sys::kernel().setns(launch.target_pidfd, CLONE_NEWUSER), "join the container's user namespace", "setns", "pidfd");
    }
    // A process enters a pid namespace only at birth: this process joins it for its children.
    if (spec.has_namespace(NamespaceType::kPid)) {
        explain::comment("a process enters a pid namespace only at birth: hutch joins it for the child it clones");
        check(sys::kernel().setns(launch.target_pidfd, CLONE_NEWPID), "join the container's pid namespace", "setns", "pidfd");
    }
    Fd time_ns = spec.has_namespace(NamespaceType::kTime) ? open_time_namespace(launch.target_pidfd) : Fd();
    Fd agent = seccomp_agent::connect(spec);  // the child's, for the filter's listener
    int child_pidfd = -1;
    clone_args args{};
    args.flags = CLONE_PIDFD | (cgroup ? CLONE_INTO_CGROUP : 0);
    args.cgroup = cgroup ? static_cast<std::uint64_t>(cgroup.get()) : 0;
    args.pidfd = reinterpret_cast<std::uint64_t>(&child_pidfd);
    args.exit_signal = SIGCHLD;
    long pid = sys::kernel().clone3(args);
    if (pid < 0) throw SysError("exec in the container", "clone3", sys::clone_flags(args.flags), errno);
    if (pid == 0) {
        ::close(parent_end.release());  // as for run: a dead parent must read as EOF here
        exec_init({spec, child_end.get(), launch.target_pidfd, stdio_pipes.child_fds(), trampoline::available(),
                   filter ? &*filter : nullptr, launch.detach, launch.preserve_fds, time_ns.get(), agent.get(),
                   launch.container_state});
    }
    Child child(static_cast<pid_t>(pid), Fd(child_pidfd));
    child_end.reset();
    agent.reset();
    for (auto& end : stdio_pipes.child_ends) end.reset();

    Fd master;
    StartHandlers on;
    on.terminal = [&](Fd fd) {
        if (launch.console_socket >= 0) send_console(launch.console_socket, fd.get());
        else master = std::move(fd);
    };
    // From here the command runs: SIGINT and SIGTERM are forwarded to it, no longer an abort.
    receive_until(parent_end, child, spec, Until::kExec, on, "exec in the container");
    if (launch.started) launch.started(child.pid());
    if (launch.detach) {
        child.abandon();  // the engine's subreaper waits for it
        return 0;
    }
    return supervise_until_exit(child, signals, master, stdio_pipes, spec.hutch.interactive || (!relayed && spec.process.terminal));
}

}  // namespace hutch
