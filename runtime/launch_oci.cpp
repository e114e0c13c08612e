// The OCI half of the launcher (`hutch oci create|start|run`, runtime/cli/oci.cpp): the same
// clone and child checklist as `hutch run`, with the OCI lifecycle around it. create leaves the
// container's first process waiting on exec.fifo; start releases it (runtime/oci/state.hpp).
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "caps/probe/probe_lib.hpp"
#include "caps/seccomp_cache.hpp"
#include "runtime/detached_mounts.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/launch.hpp"
#include "runtime/launch_internal.hpp"
#include "runtime/cgroup_resources.hpp"
#include "runtime/hooks.hpp"
#include "runtime/seccomp_agent.hpp"
#include "runtime/sync.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/trampoline/trampoline.hpp"

namespace hutch {

using namespace launch_detail;

namespace {


// What create leaves to run (or to abandon): the process, its sync socket, its pty, its cgroup.
struct OciProcess {
    ResourceCgroups cgroups;  // declared first: destroyed after `child`, once it is empty
    Child child;
    Fd sync;
    Fd master;
};

// The host id the user namespace of `pid` maps its id 0 to, from /proc/PID/{uid,gid}_map.
std::uint32_t host_id_of_root(pid_t pid, const char* map) {
    const std::string path = "/proc/" + std::to_string(pid) + "/" + map;
    for (const auto& line : probe::parse_id_map(read_file(path)))
        if (line.inside == 0 && line.count > 0) return static_cast<std::uint32_t>(line.outside);
    throw Error("the user namespace maps no id 0 (" + path + "): its root could not assemble the container");
}

// The child works as its user namespace's root (a host id of the maps, a new namespace's or a
// joined one's, read back once it is in it) and must still open the start fifo, as runc
// arranges for its own.
void give_to_namespace_root(pid_t pid, const std::string& fifo_path) {
    check(::chown(fifo_path.c_str(), host_id_of_root(pid, "uid_map"), host_id_of_root(pid, "gid_map")),
          "give the start fifo to the container's root", "chown", fifo_path);
}

OciProcess launch_oci(const Spec& spec, const OciLaunch& launch, bool foreground) {
    validate_spec(spec);
    interrupt::Scope start_scope;  // SIGINT/SIGTERM abandon the create (runtime/interrupt.hpp)
    if (spec.process.terminal && launch.console_socket < 0 && !foreground)
        throw UsageError("process.terminal is true: create needs --console-socket");
    RootfsPlan plan;
    plan.merged_dir = launch.state_dir + "/rootfs";
    explain::define("STATE", launch.state_dir);
    explain::define("ROOT", plan.merged_dir);
    if (::mkdir(plan.merged_dir.c_str(), 0755) != 0) throw SysError("prepare the root", "mkdir", plan.merged_dir, errno);
    std::string fifo_path = launch.state_dir + "/exec.fifo";
    Fd fifo(::open(fifo_path.c_str(), O_PATH | O_CLOEXEC));
    if (!fifo) throw SysError("open the start fifo", "open", fifo_path, errno);
    // A user namespace's root must reach its root and the fifo (given to it once it exists).
    if (spec.has_namespace(NamespaceType::kUser))
        check(::chmod(launch.state_dir.c_str(), 0711), "open the state dir to the container's root", "chmod", launch.state_dir);
    // Joining a pid namespace is for the child only: hutch goes back to its own right after the
    // clone, so the hooks it forks (prestart, createRuntime, poststart) run in the runtime's
    // namespace as runtime.md says, with the host pids their state names.
    Fd own_pid_ns(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_pid_ns) throw SysError("create the container", "open", "/proc/self/ns/pid", errno);
    std::vector<NamespaceJoin> joins;
    std::vector<Fd> join_fds = open_joined_namespaces(spec, joins);
    std::optional<seccomp::Program> filter;
    if (spec.linux.seccomp) filter = seccomp::compile_cached(*spec.linux.seccomp, launch.seccomp_cache_dir);
    Fd agent = seccomp_agent::connect(spec);  // the child's, for the filter's listener
    int pair[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "create the container", "socketpair");
    Fd parent_end(pair[0]), child_end(pair[1]);
    interrupt::check();
    ResourceCgroups cgroups = ResourceCgroups::create(spec.linux, launch.id, launch.cgroup_holder);
    plan.cgroups = cgroups.paths();
    if (launch.made) launch.made(0, cgroups.paths(), cgroups.made_parents());
    check(sys::kernel().prctl(PR_SET_DUMPABLE, 0), "protect hutch's process", "prctl(PR_SET_DUMPABLE)");

    int pidfd = -1;
    unsigned long flags = 0;
    // A user namespace joined by path: a helper enters it and clones the child from there.
    const int userns = take_join(joins, CLONE_NEWUSER);
    // Left here only for rootless hutch's own specs (open_joined_namespaces), never a bundle's.
    if (take_join(joins, CLONE_NEWPID) >= 0) throw UsageError("a rootless spec's pid namespace join cannot be run as a bundle");
    JoinedForTheClone joined(spec, joins);
    long pid = userns >= 0 ? clone_in_user_namespace(spec, userns, cgroups.clone_into_fd(), pidfd, flags)
                           : clone_container(spec, cgroups.clone_into_fd(), pidfd, flags);
    if (pid == 0) {
        ::close(parent_end.release());
        InitContext context{spec, plan, child_end.get(), joins, std::nullopt, trampoline::available(),
                            filter ? &*filter : nullptr, {-1, -1, -1}};
        context.start_fifo = fifo.get();
        context.outlives_parent = !foreground;
        context.preserve_fds = launch.preserve_fds;
        context.seccomp_agent = agent.get();
        container_init(context);
    }
    agent.reset();
    OciProcess p{std::move(cgroups), Child(static_cast<pid_t>(pid), Fd(pidfd)), std::move(parent_end), Fd()};
    joined.leave();
    // Before "go": until then a killed create takes the child with it (it reads EOF).
    if (launch.made) launch.made(p.child.pid(), p.cgroups.paths(), p.cgroups.made_parents());
    child_end.reset();
    join_fds.clear();
    check(sys::kernel().setns(own_pid_ns.get(), CLONE_NEWPID), "return to hutch's pid namespace", "setns",
          "/proc/self/ns/pid");
    p.cgroups.attach(p.child.pid());  // the v1 hierarchies, before it runs anything of the bundle's
    write_id_maps(p.child.pid(), spec);
    if (spec.has_namespace(NamespaceType::kUser)) give_to_namespace_root(p.child.pid(), fifo_path);

    // config.md: prestart (deprecated) and createRuntime run in the runtime's namespace once the
    // container's namespaces exist, before pivot_root.
    std::string creating = launch.state_json(p.child.pid(), "creating");
    run_hooks(spec.hooks.prestart, "prestart", creating);
    run_hooks(spec.hooks.create_runtime, "createRuntime", creating);
    // Idmapped binds: copies taken in the child's mount namespace, sent before "go".
    const std::vector<Fd> idmapped = detached::idmapped_binds(spec, p.child.pid());
    for (std::size_t i = 0; i < idmapped.size(); ++i)
        if (idmapped[i]) sync::send(p.sync.get(), sync::Kind::kIdmappedMount, static_cast<std::int32_t>(i), {}, idmapped[i].get());
    sync::send(p.sync.get(), sync::Kind::kGo, 0, launch.state_json(p.child.pid(), "created"));
    StartHandlers on;
    on.terminal = [&](Fd master) {
        if (launch.console_socket >= 0) send_console(launch.console_socket, master.get());
        else p.master = std::move(master);
    };
    receive_until(p.sync, p.child, spec, Until::kCreated, on, "create the container");
    launch.created(p.child.pid(), p.cgroups.paths(), p.cgroups.made_parents());
    return p;
}

}  // namespace

void create_oci_container(const Spec& spec, const OciLaunch& launch) {
    OciProcess p = launch_oci(spec, launch, false);
    p.child.abandon();
    p.cgroups.keep();
}

void start_oci_container(const std::string& fifo_path, int pidfd, bool until_exec, const std::string& command) {
    // Opened without blocking, so a process that died meanwhile cannot hang start; the waiting
    // writer's open completes as soon as this reader exists.
    Fd fifo(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) throw SysError("start the container", "open", fifo_path, errno);
    explain::comment("opening exec.fifo for reading releases the container's process");
    std::string got;  // "0" released; "1" about to exec; then an exec failure, if any
    bool exited = false;
    for (;;) {
        pollfd fds[] = {{fifo.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
        if (::poll(fds, 2, exited ? 0 : 100) < 0) {
            if (errno == EINTR) continue;
            throw SysError("start the container", "poll", fifo_path, errno);
        }
        char buf[64];
        ssize_t n = ::read(fifo.get(), buf, sizeof buf);
        if (n > 0) got.append(buf, static_cast<std::size_t>(n));
        if (!got.empty() && !until_exec) break;
        // EOF once released: the writer closed, at exec or at exit.
        if (n == 0 && !got.empty()) break;
        if (fds[1].revents & POLLIN) {
            if (exited && got.empty()) throw Error("start: the container's process has exited");
            exited = true;  // one more round drains what it wrote before it died
        }
    }
    ::unlink(fifo_path.c_str());
    if (!until_exec) return;
    if (got.size() >= 2 + 2 * sizeof(std::int32_t) && got[1] == '1') {
        std::int32_t failure[2];
        std::memcpy(failure, got.data() + 2, sizeof failure);
        if (failure[0] == static_cast<std::int32_t>(sync::Kind::kExecFailed))
            throw Error(exec_failure_text(command, failure[1]), exec_failure_code(failure[1]));
    }
    if (got.size() < 2 || got[1] != '1')
        throw Error("start: the container's process failed before its command ran (its stderr says why)");
}

int run_oci_container(const Spec& spec, const OciLaunch& launch) {
    interrupt::Scope start_scope;
    BlockedSignals signals(spec.process.terminal);
    OciProcess p = launch_oci(spec, launch, true);
    start_oci_container(launch.state_dir + "/exec.fifo", p.child.pidfd(), false, spec.process.args.at(0));
    receive_until(p.sync, p.child, spec, Until::kExec, {}, "start the container");
    run_hooks(spec.hooks.poststart, "poststart", launch.state_json(p.child.pid(), "running"), false);
    StdioPipes none;
    return supervise_until_exit(p.child, signals, p.master, none, spec.process.terminal && ::isatty(STDIN_FILENO));
}

}  // namespace hutch
