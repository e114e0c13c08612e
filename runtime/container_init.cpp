// The container's first process, from clone3 to execve. The checklist, and why in this order
// (tests/unit/launch_order_test.cpp holds the orders that matter, without root):
//
//   PR_SET_PDEATHSIG, wait for go  die with the parent; it finishes outside work (cgroup, network)
//   setresuid(0) in a user ns      the parent wrote the id maps before go
//   stdio, umask(0)                the pipes or pty slave the parent chose; exact modes below
//   setns the joined namespaces    --network/--ipc container:NAME, before anything uses them
//   unshare(CLONE_NEWCGROUP)       after the parent placed us in our cgroup, so it is our root
//   no IPv6, lo up, eth0           needs CAP_NET_ADMIN, which is dropped later; IPv6 off first
//   setsid                         no controlling terminal of the host's (TIOCSTI injection)
//   assemble the root              private propagation first, then mounts (rootfs.hpp)
//   terminal                       from the container's own devpts, master sent to the parent
//   etc files, masks, read-only    last mounts, so nothing covers them
//   createContainer hooks          (oci) in the container's namespaces, the host's paths
//   pivot_root                     from here "/" is the container's
//   sethostname, setdomainname     in the new UTS namespace
//   oom_score_adj, scheduler, ioPriority  while still privileged (CAP_SYS_RESOURCE, CAP_SYS_NICE)
//   kCreated, wait on exec.fifo    (oci) the command must not run before `start`
//   startContainer hooks           (oci)
//   close every other fd, chdir    no host fd can become the cwd (CVE-2024-21626)
//   rlimits                        before the uid change, which can forbid raising them
//   user, capabilities             bounding set, uid change, capset (caps/apply.hpp)
//   no_new_privs
//   seccomp                        last, so the filter need not allow hutch's own calls; without
//                                  no_new_privs CAP_SYS_ADMIN is kept for it and one capset after
//                                  it drops that (runc's order)
//   execveat of the trampoline     the sync socket closes on exec: the parent sees EOF; the
//                                  trampoline (runtime/trampoline) then execs the command
#include "runtime/container_init.hpp"
#include "runtime/scheduling.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "caps/apply.hpp"
#include "caps/seccomp_eval.hpp"
#include "caps/seccomp_filter.hpp"
#include "netns/loopback.hpp"
#include "runtime/detached_mounts.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/hooks.hpp"
#include "runtime/rlimits.hpp"
#include "runtime/seccomp_agent.hpp"
#include "runtime/sync.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/trampoline/trampoline.hpp"

namespace hutch {
namespace {

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
    for (const auto& e : env)
        if (e.rfind(key + "=", 0) == 0) return e.substr(key.size() + 1);
    return "";
}

// execvp's search, with the container's PATH, after pivot_root. Errors carry docker's exit
// codes: 127 not found, 126 found but not executable.
std::string find_executable(const std::string& command, const std::vector<std::string>& env) {
    sys::Kernel& k = sys::kernel();
    auto usable = [&k](const std::string& path, int& err) {
        struct stat st {};
        if (k.fstatat(AT_FDCWD, path.c_str(), &st, 0) != 0) {
            err = errno;
            return false;
        }
        if (S_ISDIR(st.st_mode)) {
            err = EISDIR;
            return false;
        }
        if (k.faccessat(AT_FDCWD, path.c_str(), X_OK, 0) != 0) {
            err = errno;
            return false;
        }
        return true;
    };
    int err = ENOENT;
    if (command.find('/') != std::string::npos) {
        if (usable(command, err)) return command;
        throw Error(exec_failure_text(command, err), err == ENOENT || err == ENOTDIR ? kExitNotFound : kExitCannotInvoke);
    }
    std::string path = env_value(env, "PATH");
    int first_error = 0;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
        if (usable(candidate, err)) return candidate;
        if (err != ENOENT && err != ENOTDIR && !first_error) first_error = err;
        start = end + 1;
    }
    if (first_error)
        throw Error(exec_failure_text(command, first_error), kExitCannotInvoke);
    throw Error(exec_failure_text(command, 0), kExitNotFound);
}

// A script's "#!" interpreter, checked as execve will look for it (relative to the working
// directory, one level): a missing one fails execve with ENOENT, which the kernel reports only
// after the seccomp filter is in, where a restrictive profile may leave hutch no call to say so.
// Checked here, before the filter, it gets its own line. A file hutch cannot read is left to
// the kernel, as is everything else binfmt handlers decide (ELF, binfmt_misc).
void check_interpreter(const std::string& command, const std::string& path) {
    sys::Kernel& k = sys::kernel();
    Fd file(k.openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    char head[256];
    ssize_t n = file ? ::read(file.get(), head, sizeof head) : -1;
    if (n < 3 || head[0] != '#' || head[1] != '!') return;
    std::string line(head + 2, static_cast<std::size_t>(n - 2));
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) return;
    std::size_t end = line.find_first_of(" \t\n", start);
    if (end == std::string::npos) return;  // the #! line goes on past what was read: the kernel's call
    std::string interpreter = line.substr(start, end - start);
    struct stat st {};
    int err = 0;
    if (k.fstatat(AT_FDCWD, interpreter.c_str(), &st, 0) != 0) err = errno;
    else if (S_ISDIR(st.st_mode)) err = EISDIR;
    else if (k.faccessat(AT_FDCWD, interpreter.c_str(), X_OK, 0) != 0) err = errno;
    if (err)
        throw Error("exec " + explain::quote(command) + ": its interpreter " + explain::quote(interpreter) + " (the #! line of " +
                        path + "): " + std::strerror(err),
                    err == ENOENT || err == ENOTDIR ? kExitNotFound : kExitCannotInvoke);
}

// The calls made after the seccomp filter goes in, as the filter will see them, asked of the
// filter before it goes in (caps/seccomp_eval.hpp): the capset that drops the CAP_SYS_ADMIN kept
// for loading it, the trampoline's fcntl/execveat/fcntl, and the command's execve.
void check_calls_after_filter(const seccomp::Program& filter, const std::string& command, int sync_fd,
                              const Fd& trampoline_image, bool drops_sys_admin, int agent) {
    std::vector<seccomp::Call> calls;
    if (agent >= 0) {  // the listener's handover to the seccomp agent
        calls.push_back({"sendmsg", SYS_sendmsg, {static_cast<std::uint64_t>(agent)}});
        calls.push_back({"close_range", SYS_close_range, {}});
    }
    if (drops_sys_admin) calls.push_back({"capset", SYS_capset, {}});
    if (trampoline_image) {
        const auto sync = static_cast<std::uint64_t>(sync_fd);
        calls.push_back({"fcntl", SYS_fcntl, {sync, F_SETFD, 0}});
        calls.push_back({"execveat", SYS_execveat, {static_cast<std::uint64_t>(trampoline_image.get()), 0, 0, 0, AT_EMPTY_PATH}});
        calls.push_back({"fcntl", SYS_fcntl, {sync, F_SETFD, FD_CLOEXEC}});
    }
    calls.push_back({"execve", SYS_execve, {}});
    seccomp::require_allowed(filter, command, calls.data(), calls.size());
}

// The pipes standing in for host files become 0, 1 and 2 (-1: keep what was inherited).
void take_stdio(const std::array<int, 3>& stdio) {
    for (int fd = 0; fd <= 2; ++fd)
        if (stdio[fd] >= 0) check(sys::kernel().dup3(stdio[fd], fd, 0), "replace the host's terminal", "dup3");
}

// Like docker without -i: the command reads nothing from the host's stdin.
void detach_stdin() {
    sys::Kernel& k = sys::kernel();
    Fd null(check(k.openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC), "detach stdin", "open", "/dev/null"));
    check(k.dup3(null.get(), 0, 0), "detach stdin", "dup3");
}

// The process's terminal, from `master` (a pty of the container's own devpts): the slave is
// opened from the master itself (TIOCGPTPEER, no path an attacker could race), shown at
// /dev/console for a container's first process (`rootfs`), owned by the user as with a login,
// and made the controlling terminal on 0, 1 and 2; the master goes to the parent.
void hand_over_terminal(Fd master, const Spec& spec, int sync_fd, const RootfsBuilder* rootfs) {
    sys::Kernel& k = sys::kernel();
    int unlock = 0;
    check(k.ioctl(master.get(), TIOCSPTLCK, reinterpret_cast<unsigned long>(&unlock)), "open the terminal",
          "ioctl(TIOCSPTLCK)");
    Fd slave(check(k.ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), "open the terminal",
                   "ioctl(TIOCGPTPEER)"));
    if (rootfs) rootfs->bind_console(slave.get());
    check(k.fchown(slave.get(), spec.process.user.uid, spec.process.user.gid), "open the terminal", "fchown",
          "pty slave");
    if (spec.process.console_size) {  // the pty's size before the command starts (an engine resizes it later)
        winsize size{};
        size.ws_row = static_cast<unsigned short>(spec.process.console_size->first);
        size.ws_col = static_cast<unsigned short>(spec.process.console_size->second);
        check(k.ioctl(slave.get(), TIOCSWINSZ, reinterpret_cast<unsigned long>(&size)), "size the terminal",
              "ioctl(TIOCSWINSZ)");
    }
    sync::send(sync_fd, sync::Kind::kTerminal, 0, {}, master.get());
    check(k.ioctl(slave.get(), TIOCSCTTY, 0), "open the terminal", "ioctl(TIOCSCTTY)");
    for (int fd = 0; fd <= 2; ++fd) check(k.dup3(slave.get(), fd, 0), "open the terminal", "dup3");
}

void write_oom_score_adj(int value) {
    const std::string text = std::to_string(value);
    sys::write_kernel_file("/proc/self/oom_score_adj", text, "set oom_score_adj", "/proc/self/oom_score_adj <- " + text);
}

// Every fd but 0, 1, 2, the `preserved` ones after them (an engine's --preserve-fds, made
// inheritable, as runc passes them) and `keep` (the sync socket) goes: no fd of hutch's survives
// into the container (CVE-2024-21626). hutch's own fds all lie above the preserved ones (the
// front-end checked those were open before it opened any).
// `agent` (a seccomp agent's socket, or -1) stays too, until the listener is sent.
void close_other_fds(int keep, int preserved, int agent) {
    sys::Kernel& k = sys::kernel();
    const int first = 3 + preserved;
    if (keep < first) throw Error("close hutch's files: the sync socket (fd " + std::to_string(keep) + ") is among the preserved fds");
    if (agent >= 0 && agent < first) throw Error("close hutch's files: the seccomp agent's socket is among the preserved fds");
    int from = first;
    for (int kept : {std::min(keep, agent < 0 ? keep : agent), std::max(keep, agent)}) {
        if (kept > from)
            check(k.close_range(static_cast<unsigned>(from), static_cast<unsigned>(kept - 1), 0), "close hutch's files",
                  "close_range");
        from = std::max(from, kept + 1);
    }
    check(k.close_range(static_cast<unsigned>(from), ~0u, 0), "close hutch's files", "close_range");
    for (int fd = 3; fd < first; ++fd)
        check(k.ioctl(fd, FIONCLEX, 0), "pass the preserved fds", "ioctl(FIONCLEX)", std::to_string(fd));
}

// A new time namespace with the spec's offsets. unshare() makes it the namespace of this
// process's children and of this process after its execve; the offsets can only be written
// before any process is in it, so here, before the hooks are forked.
void enter_time_namespace(const std::map<std::string, TimeOffset>& offsets) {
    sys::Kernel& k = sys::kernel();
    check(k.unshare(CLONE_NEWTIME), "enter a new time namespace", "unshare(CLONE_NEWTIME)");
    if (offsets.empty()) return;
    std::string text;
    for (const auto& [clock, offset] : offsets)
        text += clock + " " + std::to_string(offset.secs) + " " + std::to_string(offset.nanosecs) + "\n";
    sys::write_kernel_file("/proc/self/timens_offsets", text, "set the time namespace's offsets", "/proc/self/timens_offsets");
}

void enter_workdir(const std::string& cwd) {
    check(sys::kernel().chdir(cwd.c_str()), "enter the working directory", "chdir", cwd);
    // A cwd outside the root (a leaked host directory) shows as "(unreachable)/...".
    char buf[4096];
    if (!::getcwd(buf, sizeof buf)) throw SysError("enter the working directory", "getcwd", cwd, errno);
    if (buf[0] != '/') throw Error("enter the working directory: " + cwd + " is outside the container's root");
}

[[noreturn]] void exec_command(const Spec& spec, const std::string& path, const Fd& trampoline_image, int sync_fd) {
    if (trampoline_image) {
        explain::comment("/proc/self/exe becomes sealed memory (hutch's trampoline), which then execs " + path);
        trampoline::exec(trampoline_image, sync_fd, path, spec.process.args, spec.process.env);
    }
    std::vector<char*> argv, envp;
    for (const auto& a : spec.process.args) argv.push_back(const_cast<char*>(a.c_str()));
    for (const auto& e : spec.process.env) envp.push_back(const_cast<char*>(e.c_str()));
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    sys::kernel().execveat(AT_FDCWD, path.c_str(), argv.data(), envp.data(), 0);
    int err = errno;
    throw SysError("exec " + explain::quote(spec.process.args[0]), "execve", path, err,
                   err == ENOENT ? kExitNotFound : kExitCannotInvoke);
}

void set_rlimits(const std::vector<Rlimit>& limits) {
    for (const auto& limit : limits) {
        rlimit value{limit.soft, limit.hard};
        check(sys::kernel().setrlimit(rlimit_resource(limit.type), value), "set a resource limit", "setrlimit",
              limit.type);
    }
}

// `hutch oci create`: tells the parent the container is made, then waits for `start`. The fifo
// is reopened through /proc/self/fd: its path lies outside the root since pivot_root.
//
// With no parent left (create has returned), the fifo's write end then takes the sync socket's
// place, so `start` can tell how the start ended: "1" is written just before the command is
// exec'd, the trampoline's exec failure follows it, and the end closes at exec (O_CLOEXEC) or
// exit. `start` returns only then, after the startContainer hooks, as runtime.md orders.
void wait_for_start(const InitContext& ctx) {
    sys::Kernel& k = sys::kernel();
    if (ctx.outlives_parent) k.prctl(PR_SET_PDEATHSIG, 0);  // the engine reaps us now
    sync::send(ctx.sync_fd, sync::Kind::kCreated);
    explain::comment("open(exec.fifo, O_WRONLY) blocks until `start` opens it for reading");
    std::string fifo = "/proc/self/fd/" + std::to_string(ctx.start_fifo);
    Fd writer(k.openat(AT_FDCWD, fifo.c_str(), O_WRONLY | O_CLOEXEC));
    if (!writer) throw SysError("wait for start", "open", "exec.fifo", errno);
    [[maybe_unused]] ssize_t n = k.write(writer.get(), "0", 1);
    ::close(ctx.start_fifo);
    if (ctx.outlives_parent) check(k.dup3(writer.get(), ctx.sync_fd, O_CLOEXEC), "wait for start", "dup3");
}

// What the last steps of a process need to know besides its spec.
struct CommandLaunch {
    const Spec& spec;
    const caps::HostCaps& host;
    int sync_fd;
    bool through_trampoline;                          // exec from the sealed memfd (CVE-2019-5736)
    const seccomp::Program* seccomp_filter;           // the spec's; null: unconfined
    const seccomp::Program* listener_filter = nullptr;  // hutch profile's observer, before it
    bool parent_waits = true;   // the parent reads the sync socket until exec (not after oci create)
    bool start_waits = false;   // oci create: `start` reads the fifo that replaced the sync socket
    int preserve_fds = 0;       // OCI --preserve-fds: fds 3 to 2+N stay for the command
    int seccomp_agent = -1;     // linux.seccomp.listenerPath, connected: gets the filter's listener
    std::string agent_message;  // what it gets with it (runtime/seccomp_agent.hpp)
};

// hutch profile: the observing filter goes in before the spec's, so the spec's filter need not
// allow what the handover takes; stacked filters give the strictest action whatever their
// order, so the spec's still decides. From the filter on every call waits for the parent, with
// no exception, so the parent is told first which fd the listener will get (the lowest free
// one: this process has one thread) and takes it with pidfd_getfd; the child's copy goes at
// once (the first call the parent answers). A filter that only logs has no listener.
void install_observer(const seccomp::Program& listener_filter, int sync_fd) {
    int expected = -1;
    if (seccomp::makes_listener(listener_filter)) {
        expected = check(::fcntl(sync_fd, F_DUPFD_CLOEXEC, 0), "hand the seccomp listener over", "fcntl");
        ::close(expected);
        sync::send(sync_fd, sync::Kind::kListener, expected);
    }
    int listener = seccomp::install_observer(listener_filter);
    if (listener != expected) ::_exit(kExitHutchError);  // not the fd announced: the parent would wait on
    if (listener >= 0) ::close(listener);
}

// The last steps of every process hutch starts in a container (its first one, or one `exec`
// adds): close hutch's fds, enter the working directory, apply the privileges in the kernel's
// order (caps/apply.hpp) with the seccomp filter last, and exec through the trampoline.
[[noreturn]] void become_the_command(const CommandLaunch& launch) {
    const Spec& spec = launch.spec;
    sys::Kernel& k = sys::kernel();
    close_other_fds(launch.sync_fd, launch.preserve_fds, launch.seccomp_agent);
    enter_workdir(spec.process.cwd);
    set_rlimits(spec.process.rlimits);

    // The filter needs CAP_SYS_ADMIN or no_new_privs to go in: unless no_new_privs was asked
    // for, CAP_SYS_ADMIN is kept for that one call and dropped right after, as runc does, so the
    // container's NoNewPrivs stays 0 as in Docker.
    const auto privileges = caps::ProcessPrivileges::from(spec.process.capabilities);
    caps::drop_bounding_set(privileges.bounding, launch.host);
    caps::switch_user(spec.process.user);
    // The kernel clears the parent-death signal when the uid or gid changes: set it again, and
    // make sure the parent did not die in between.
    if (launch.parent_waits) {
        k.prctl(PR_SET_PDEATHSIG, SIGKILL);
        pollfd parent{launch.sync_fd, POLLRDHUP, 0};
        if (::poll(&parent, 1, 0) > 0 && (parent.revents & (POLLHUP | POLLRDHUP))) ::_exit(kExitHutchError);
    }
    const bool filter = launch.seccomp_filter != nullptr || launch.listener_filter != nullptr;
    const caps::CapSet sys_admin = caps::bit(*caps::number_from_name("SYS_ADMIN"));
    const caps::CapSet extra =
        filter && !spec.process.no_new_privileges && !(privileges.effective & sys_admin) ? sys_admin : 0;
    if (extra) explain::comment("CAP_SYS_ADMIN is kept for the seccomp call only, and dropped right after it");
    caps::set_capabilities(privileges, extra, launch.host);
    // The kernel keeps a capability ambient only while it is permitted and inheritable; runc and
    // crun skip the others with a warning (runc's default spec lists ambient caps without
    // inheritable ones since CVE-2022-29162), and so does hutch.
    caps::set_ambient(privileges.ambient & privileges.inheritable & privileges.permitted, launch.host);
    if (spec.process.no_new_privileges) caps::set_no_new_privileges();

    // Everything the exec needs is made before the filter, so a profile only has to allow
    // capset, fcntl, execveat and execve after it.
    if (!spec.linux.personality.empty())
        check(k.personality(spec.linux.personality == "LINUX32" ? PER_LINUX32 : PER_LINUX), "set the personality",
              "personality", spec.linux.personality);
    std::string path = find_executable(spec.process.args[0], spec.process.env);
    check_interpreter(spec.process.args[0], path);
    Fd trampoline_image = launch.through_trampoline ? trampoline::prepare() : Fd();
    if (launch.seccomp_filter)
        check_calls_after_filter(*launch.seccomp_filter, spec.process.args[0], launch.sync_fd, trampoline_image,
                                 extra != 0, launch.seccomp_agent);
    sigset_t none;
    sigemptyset(&none);
    k.sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    k.sigaction(SIGPIPE, &default_action, nullptr);  // hutch ignores it; an ignored signal would survive execve
    k.umask(spec.process.user.umask.value_or(022));
    // Before the filter, which need not allow write (see wait_for_start).
    if (launch.start_waits) [[maybe_unused]] ssize_t n = k.write(launch.sync_fd, "1", 1);
    if (launch.listener_filter) install_observer(*launch.listener_filter, launch.sync_fd);
    if (launch.seccomp_filter) {
        const int listener = seccomp::install(*launch.seccomp_filter);
        // The agent answers the command's calls from here on; the exec's own are not notified
        // before it has the listener.
        if (listener >= 0) {
            seccomp_agent::send(launch.seccomp_agent, listener, launch.agent_message);
            k.close_range(static_cast<unsigned>(listener), static_cast<unsigned>(listener), 0);
            k.close_range(static_cast<unsigned>(launch.seccomp_agent), static_cast<unsigned>(launch.seccomp_agent), 0);
        }
    }
    if (extra) caps::set_capabilities(privileges, 0, launch.host);
    exec_command(spec, path, trampoline_image, launch.sync_fd);
}

// exec's child: already in the container's pid namespace and cgroup (the parent saw to both);
// joins the rest of the target's namespaces through its pidfd in one setns call.
void run_exec_init(const ExecInitContext& ctx) {
    const Spec& spec = ctx.spec;
    sys::Kernel& k = sys::kernel();
    const caps::HostCaps host = caps::HostCaps::read();
    if (!ctx.outlives_parent) k.prctl(PR_SET_PDEATHSIG, SIGKILL);
    take_stdio(ctx.stdio);
    // Its host pid, while the host's /proc is still the one mounted.
    const std::string agent_message =
        ctx.seccomp_agent >= 0 ? seccomp_agent::message(seccomp_agent::host_pid(),
                                                        spec.linux.seccomp->listener_metadata, ctx.container_state)
                               : std::string();
    // Rootless hutch's parent is in the user namespace already (launch_exec.cpp).
    const int user_ns = spec.has_namespace(NamespaceType::kUser) && !spec.hutch.rootless ? CLONE_NEWUSER : 0;
    check(k.setns(ctx.target_pidfd, user_ns | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP),
          "join the container's namespaces", "setns", "pidfd");
    if (ctx.time_ns_fd >= 0)
        check(k.setns(ctx.time_ns_fd, CLONE_NEWTIME), "join the container's time namespace", "setns", "time_for_children");
    check(k.setsid(), "start a new session", "setsid");
    if (spec.hutch.rootless) {
        // The namespace's root, before anything is made: under --userns nomap the user's own id
        // is not in the namespace, and a pty slave it owned could not be given to the command.
        // (With the default map, uid 0 inside is the user: nothing changes.)
        check(k.setresgid(0, 0, 0), "become the user namespace's root", "setresgid");
        check(k.setresuid(0, 0, 0), "become the user namespace's root", "setresuid");
        k.prctl(PR_SET_DUMPABLE, 0);
    }
    if (spec.process.terminal) {
        // A pty from the container's own devpts, as for its first process.
        Fd master(check(k.openat(AT_FDCWD, "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), "open the terminal",
                        "open", "/dev/pts/ptmx"));
        hand_over_terminal(std::move(master), spec, ctx.sync_fd, nullptr);
    } else if (!spec.hutch.interactive && spec.hutch.stdio == HutchSection::Stdio::kRelayed) {
        detach_stdin();
    }
    scheduling::apply(spec.process);  // an exec'd process has its own, as under runc
    scheduling::apply(spec.linux.memory_policy);
    become_the_command({spec, host, ctx.sync_fd, ctx.exec_through_trampoline, ctx.seccomp, nullptr,
                        !ctx.outlives_parent, false, ctx.preserve_fds, ctx.seccomp_agent, agent_message});
}

// The container's network, before the capabilities that allow it are dropped.
void enter_network(const InitContext& ctx) {
    if (!ctx.spec.has_new_namespace(NamespaceType::kNetwork)) return;
    // hutch's networks have no IPv6 (Docker: disable_ipv6 in a network without it). An OCI
    // engine configures its own namespaces.
    if (ctx.spec.hutch.disable_ipv6) net::disable_ipv6();
    net::bring_loopback_up();
    if (ctx.network) net::configure_eth0(*ctx.network);
}

}  // namespace

void container_init_steps(const InitContext& ctx) {
    const Spec& spec = ctx.spec;
    sys::Kernel& k = sys::kernel();
    const caps::HostCaps host = caps::HostCaps::read();  // while the host's /proc is still ours
    // Die with the parent: a foreground container has no one else to reap or clean it.
    k.prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Before "go", the parent's idmapped copies of the bind sources (detached_mounts.hpp).
    RootfsPlan plan = ctx.rootfs;
    std::vector<Fd> idmapped;
    sync::Message go = sync::receive(ctx.sync_fd);
    for (; go.kind == sync::Kind::kIdmappedMount && go.fd && !go.eof; go = sync::receive(ctx.sync_fd)) {
        const auto index = static_cast<std::size_t>(go.mount_index());
        if (index >= spec.mounts.size()) ::_exit(kExitHutchError);
        plan.idmapped_binds.resize(spec.mounts.size(), -1);
        plan.idmapped_binds[index] = go.fd.get();
        idmapped.push_back(std::move(go.fd));
    }
    if (go.eof || go.kind != sync::Kind::kGo) ::_exit(kExitHutchError);  // parent gone
    const std::string& oci_state = go.text;  // for the hooks the child runs (oci)
    // For a seccomp agent: this process's host pid, while the host's /proc is the one mounted.
    const std::string agent_message =
        ctx.seccomp_agent >= 0
            ? seccomp_agent::message(seccomp_agent::host_pid(), spec.linux.seccomp->listener_metadata, oci_state)
            : std::string();
    // Before the ids change: this process is not dumpable, so its /proc files (timens_offsets
    // among them) are the host root's, which it is only until it becomes the user namespace's.
    if (spec.has_new_namespace(NamespaceType::kTime)) enter_time_namespace(spec.linux.time_offsets);
    std::optional<StagedMounts> staged;
    if (detached::needed(spec)) {
        // What the parent staged lies in the state root: opened while this process's ids are
        // still the host root's (until setresuid), whatever the state root's modes.
        staged.emplace();
        staged->root = Fd(check(k.openat(AT_FDCWD, plan.merged_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                                "open the staged root", "open", plan.merged_dir));
        const std::string holder = plan.merged_dir.substr(0, plan.merged_dir.rfind('/'));
        staged->holder = Fd(check(k.openat(AT_FDCWD, holder.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                                  "open the staged root", "open", holder));
        staged->dir = Fd(check(k.openat(AT_FDCWD, plan.staging_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                               "open the staged mounts", "open", plan.staging_dir));
    }
    // Rootless --userns nomap: the namespace's root is not the user, and may not reach the
    // user's 0700 directories (the state under $XDG_RUNTIME_DIR, the data root): what the root
    // is made of and the host files the later steps bind are opened while this process is still
    // the user. (The writable layer is the container root's own: the parent chowned it.)
    std::optional<RootfsBuilder> early;
    if (ctx.own_id_unmapped) {
        early.emplace(spec, plan, nullptr);
        early->open_host_files_now();
    }
    if (spec.has_namespace(NamespaceType::kUser)) {
        // The parent has written the id maps (or the namespace joined has its own): become the
        // namespace's root, so what the child
        // creates (mount points, /dev nodes) belongs to an id the namespace knows.
        check(k.setresgid(0, 0, 0), "become the user namespace's root", "setresgid");
        check(k.setresuid(0, 0, 0), "become the user namespace's root", "setresuid");
        // A uid change resets "dumpable": set it again, or the namespace's processes could
        // open this process's /proc/<pid>/exe, hutch's binary.
        k.prctl(PR_SET_DUMPABLE, 0);
    }
    take_stdio(ctx.stdio);
    k.umask(0);  // modes below are exact; the command gets 022 back before execve
    for (const auto& join : ctx.joins) check(k.setns(join.fd, join.clone_flag), "join a namespace", "setns", join.path);
    if (spec.has_new_namespace(NamespaceType::kCgroup))
        check(k.unshare(CLONE_NEWCGROUP), "enter a new cgroup namespace", "unshare(CLONE_NEWCGROUP)");
    enter_network(ctx);
    check(k.setsid(), "start a new session", "setsid");
    {
        std::optional<RootfsBuilder> fresh;
        RootfsBuilder& rootfs = early ? *early : fresh.emplace(spec, plan, staged ? &*staged : nullptr);
        rootfs.assemble();
        if (spec.process.terminal) hand_over_terminal(rootfs.open_ptmx(), spec, ctx.sync_fd, &rootfs);
        rootfs.finish();
        run_hooks(spec.hooks.create_container, "createContainer", oci_state);
        rootfs.pivot();
    }
    if (!spec.hostname.empty() && spec.has_new_namespace(NamespaceType::kUts))
        check(k.sethostname(spec.hostname.c_str(), spec.hostname.size()), "set the hostname", "sethostname",
              spec.hostname);
    if (!spec.domainname.empty())
        check(k.setdomainname(spec.domainname.c_str(), spec.domainname.size()), "set the domain name", "setdomainname",
              spec.domainname);
    if (spec.process.oom_score_adj) write_oom_score_adj(*spec.process.oom_score_adj);
    scheduling::apply(spec.process);  // before the capabilities go: a real-time policy needs CAP_SYS_NICE
    scheduling::apply(spec.linux.memory_policy);
    // oci: a command that cannot be found fails create, with 127, as crun's does, rather than
    // a later start whose caller only sees the container end (a relative path waits for the
    // working directory, in become_the_command).
    const std::string& command = spec.process.args[0];
    if (ctx.start_fifo >= 0 && (command.find('/') == std::string::npos || command[0] == '/'))
        find_executable(command, spec.process.env);
    if (ctx.start_fifo >= 0) wait_for_start(ctx);
    run_hooks(spec.hooks.start_container, "startContainer", oci_state);
    // An OCI engine hands the container the stdin it means it to have.
    if (!spec.process.terminal && !spec.hutch.interactive && spec.hutch.stdio == HutchSection::Stdio::kRelayed)
        detach_stdin();
    become_the_command({spec, host, ctx.sync_fd, ctx.exec_through_trampoline, ctx.seccomp, ctx.listener_filter,
                        !ctx.outlives_parent, ctx.start_fifo >= 0 && ctx.outlives_parent, ctx.preserve_fds,
                        ctx.seccomp_agent, agent_message});
}

void exec_init_steps(const ExecInitContext& ctx) { run_exec_init(ctx); }

// Runs a child half; any failure travels to the parent as one message, then the child exits.
template <typename Context, typename Body>
[[noreturn]] void report_failures(const Context& context, Body body) {
    explain::set_actor("child ");
    int code = kExitHutchError;
    std::string message;
    try {
        body(context);
    } catch (const Error& e) {
        code = e.exit_code();
        message = e.what();
    } catch (const std::exception& e) {
        message = e.what();
    }
    try {
        sync::send(context.sync_fd, sync::Kind::kError, code, message);
    } catch (const Error&) {
        // No parent to tell (an OCI container after create): the engine reads the container's
        // stderr, as it does runc's.
        std::string line = "hutch: " + message + "\n";
        [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    }
    ::_exit(code);
}

void container_init(const InitContext& context) { report_failures(context, container_init_steps); }

void exec_init(const ExecInitContext& context) { report_failures(context, exec_init_steps); }

}  // namespace hutch
