// The parent half of a start (DESIGN.md, "The launch sequence"):
//   validate -> claim the name and create the record -> write /etc files -> block signals ->
//   clone3 into new namespaces -> outside work -> "go" -> wait for the child's EOF (exec) or
//   error -> running: relay the terminal, forward signals, wait -> record the exit, clean up.
#include "runtime/launch.hpp"
#include "runtime/launch_internal.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>

#include <array>
#include <cstdio>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "caps/seccomp_cache.hpp"
#include "netns/attach.hpp"
#include "netns/etc_files.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/container_init.hpp"
#include "runtime/devices.hpp"
#include "runtime/error.hpp"
#include "runtime/env.hpp"
#include "runtime/events.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/mounts.hpp"
#include "runtime/oci/cgroups.hpp"
#include "runtime/oci/hooks.hpp"
#include "runtime/rlimits.hpp"
#include "runtime/user.hpp"
#include "runtime/user_db.hpp"
#include "runtime/validate.hpp"
#include "runtime/sync.hpp"
#include "runtime/sys/describe.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/terminal.hpp"
#include "runtime/trampoline/trampoline.hpp"

namespace hutch {
namespace launch_detail {

struct NamespaceFlag {
    const char* type;
    unsigned long flag;
    const char* name;
};
// The cgroup namespace is entered by the child with unshare(), after the parent has placed it
// in its cgroup; every other new namespace is created by clone3 itself.
constexpr NamespaceFlag kCloneNamespaces[] = {
    {"mount", CLONE_NEWNS, "CLONE_NEWNS"},   {"uts", CLONE_NEWUTS, "CLONE_NEWUTS"},
    {"ipc", CLONE_NEWIPC, "CLONE_NEWIPC"},   {"pid", CLONE_NEWPID, "CLONE_NEWPID"},
    {"network", CLONE_NEWNET, "CLONE_NEWNET"}, {"user", CLONE_NEWUSER, "CLONE_NEWUSER"},
};


// hutch profile: the child's seccomp listener, which it said would be its fd `fd`, taken with
// pidfd_getfd once its filter is in (until then that fd does not exist: EBADF). The child is
// only a few instructions from loading the filter, so this polls briefly. An empty Fd: the child
// wrote on the sync socket instead (an error) or died; the caller reads which.
Fd take_listener(const Child& child, int sync_socket, int fd) {
    const char* step = "take the container's seccomp listener";
    for (;;) {
        long got = ::syscall(SYS_pidfd_getfd, child.pidfd(), fd, 0);
        if (got >= 0) {
            Fd listener(static_cast<int>(got));
            char link[64];
            ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(got)).c_str(), link, sizeof link);
            if (n > 0 && std::string_view(link, static_cast<std::size_t>(n)) == "anon_inode:seccomp notify")
                return listener;
            throw Error(std::string(step) + ": the container's fd " + std::to_string(fd) + " is not a seccomp listener");
        }
        if (errno != EBADF) throw SysError(step, "pidfd_getfd", "fd " + std::to_string(fd), errno);
        pollfd p{sync_socket, POLLIN, 0};
        int ready = ::poll(&p, 1, 1);
        if (ready > 0) return Fd();
        if (ready < 0 && errno != EINTR) throw SysError(step, "poll", "sync socket", errno);
    }
}


// clone3 of a container's first process: the spec's new namespaces, a pidfd, and straight into
// the cgroup `cgroup_fd` when there is one. Returns 0 in the child, the pid in the parent;
// `flags` says what was asked (for --explain).
long clone_container(const Spec& spec, int cgroup_fd, int& pidfd, unsigned long& flags) {
    flags = CLONE_PIDFD;
    for (const auto& ns : kCloneNamespaces)
        if (spec.has_new_namespace(ns.type)) flags |= ns.flag;
    clone_args args{};
    if (cgroup_fd >= 0) {
        flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    }
    args.flags = flags;
    args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    long pid = sys::kernel().clone3(args);
    if (pid < 0) throw SysError("create the container's process", "clone3", sys::clone_flags(flags), errno);
    return pid;
}

std::string read_host_file_or_empty(const std::string& path) {
    try {
        return read_file(path);
    } catch (const Error&) {
        return "";
    }
}

// Writes the name-resolution files into the runtime dir and says where they are. A container
// joining another's network shares that container's files, as Docker does.
void write_etc_files(const Spec& spec, const Paths& paths, const ContainerRecord& record, RootfsPlan& plan,
                     const std::optional<net::Attachment>& attachment, const net::HostConfig& config) {
    const std::string& mode = spec.hutch.network;
    if (mode.rfind("container:", 0) == 0) {
        std::string target = paths.runtime_dir(mode.substr(10));
        plan.hosts_file = target + "/hosts";
        plan.resolv_file = target + "/resolv.conf";
        plan.hostname_file = target + "/hostname";
        return;
    }
    std::vector<ExtraHost> extra = spec.hutch.extra_hosts;
    for (auto& h : extra)
        if (h.address == "host-gateway") h.address = net::host_gateway(spec, attachment, config);
    const std::string hostname = net::container_hostname(spec, record.id());
    std::string hosts;
    std::string resolv;
    std::string host_resolv = etc::host_resolv_source(read_host_file_or_empty("/etc/resolv.conf"),
                                                       [](const std::string& path) -> std::optional<std::string> {
                                                           try {
                                                               return read_file(path);
                                                           } catch (const Error&) {
                                                               return std::nullopt;
                                                           }
                                                       });
    if (mode == "host") {
        // Docker copies the host's file as it is (its 127.0.0.53 stub is reachable from the
        // host's namespace) unless a DNS flag asks for a generated one.
        hosts = etc::host_network_hosts(read_host_file_or_empty("/etc/hosts"), extra);
        bool dns_flags = !spec.hutch.dns.empty() || !spec.hutch.dns_search.empty() || !spec.hutch.dns_options.empty();
        resolv = dns_flags ? etc::resolv_conf(read_host_file_or_empty("/etc/resolv.conf"),
                                              {spec.hutch.dns, spec.hutch.dns_search, spec.hutch.dns_options}, true)
                           : read_host_file_or_empty("/etc/resolv.conf");
    } else {
        hosts = etc::hosts(extra, attachment ? attachment->endpoint().address.str() : "", hostname);
        resolv = etc::resolv_conf(host_resolv, {spec.hutch.dns, spec.hutch.dns_search, spec.hutch.dns_options});
    }
    plan.hosts_file = record.runtime_file("hosts");
    plan.resolv_file = record.runtime_file("resolv.conf");
    write_file_atomic(plan.hosts_file, hosts, 0644, Durability::kRuntime);
    write_file_atomic(plan.resolv_file, resolv, 0644, Durability::kRuntime);
    // Also with --uts host (spec.hostname empty: no sethostname), as Docker writes it.
    plan.hostname_file = record.runtime_file("hostname");
    write_file_atomic(plan.hostname_file, etc::hostname_file(hostname), 0644, Durability::kRuntime);
}

// Opens the namespaces the spec joins (linux.namespaces[].path), before clone, so the child
// only has to setns. Each must be a namespace file (nsfs), not any file at that path. A pid
// namespace is different: a process enters one only at birth, so the parent joins it for the
// child it is about to clone (setns affects its children, not itself).
std::vector<Fd> open_joined_namespaces(const Spec& spec, std::vector<NamespaceJoin>& joins) {
    std::vector<Fd> fds;
    for (const auto& ns : spec.linux.namespaces) {
        if (ns.path.empty()) continue;
        sys::Kernel& k = sys::kernel();
        Fd fd(k.openat(AT_FDCWD, ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) throw SysError("open the namespace to join", "open", ns.path, errno);
        if (ns.type == "pid") {
            explain::comment("a process enters a pid namespace only at birth: hutch joins it for the child it clones");
            check(k.setns(fd.get(), CLONE_NEWPID), "join a pid namespace", "setns", ns.path);
            continue;
        }
        struct statfs sf {};
        if (k.fstatfs(fd.get(), &sf) != 0 || sf.f_type != NSFS_MAGIC)
            throw Error("join " + ns.type + " namespace: " + ns.path + " is not a namespace file");
        joins.push_back({fd.get(), ns.type == "network" ? CLONE_NEWNET : CLONE_NEWIPC, ns.path});
        fds.push_back(std::move(fd));
    }
    return fds;
}

// One direction of a stream the parent copies while the container runs: the pty master to
// stdout, stdin to the master, or a pipe standing in for a host terminal.
struct Relay {
    int from;
    int to;
    bool close_to_at_eof;  // stdin into a pipe: the container must see the end of input
    // Into the pty master: written without blocking, the rest kept for POLLOUT. A blocking write
    // there would deadlock once the pty's input buffer is full while the command is busy
    // writing output that only this loop reads.
    bool buffered = false;
    bool open = true;
    std::string pending;
};

// Reads what `r.from` has and writes it on; false once the source is done (EOF, or EIO from a
// pty master whose slave is gone).
bool pump(Relay& r) {
    if (!r.buffered) return relay(r.from, r.to);
    char buf[16384];
    ssize_t n = ::read(r.from, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return false;
    if (n > 0) r.pending.append(buf, static_cast<std::size_t>(n));
    return true;
}

// Writes as much of `r.pending` as `r.to` takes now.
void flush(Relay& r) {
    while (!r.pending.empty()) {
        ssize_t w = ::write(r.to, r.pending.data(), r.pending.size());
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) r.pending.clear();  // the reader went away
            return;
        }
        r.pending.erase(0, static_cast<std::size_t>(w));
    }
}


StdioPipes pipes_for_host_streams(const Spec& spec) {
    StdioPipes p;
    if (spec.process.terminal) return p;
    for (int fd = 0; fd <= 2; ++fd) {
        if (fd == 0 && !spec.hutch.interactive) continue;  // stdin is /dev/null then
        struct stat st {};
        if (::fstat(fd, &st) != 0 || S_ISFIFO(st.st_mode)) continue;  // closed, or a pipe already
        int ends[2];
        check(::pipe2(ends, O_CLOEXEC), "replace the host's terminal", "pipe2");
        // fd 0: the child reads ends[0]; fds 1, 2: the child writes ends[1].
        p.child_ends[fd] = Fd(fd == 0 ? ends[0] : ends[1]);
        p.parent_ends[fd] = Fd(fd == 0 ? ends[1] : ends[0]);
    }
    return p;
}

// The wait loop: forwards signals, relays streams, returns when the child has exited.
void supervise(Child& child, const BlockedSignals& signals, std::vector<Relay> relays, int master) {
    for (auto& r : relays)
        if (r.buffered) ::fcntl(r.to, F_SETFL, ::fcntl(r.to, F_GETFL) | O_NONBLOCK);
    for (;;) {
        // Per relay: its source while nothing waits to be written, else its destination.
        std::vector<pollfd> fds = {{child.pidfd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
        for (const auto& r : relays) {
            if (!r.pending.empty()) fds.push_back({r.to, POLLOUT, 0});
            else fds.push_back({r.open ? r.from : -1, POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            throw SysError("supervise the container", "poll", "", errno);
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo si{};
            while (::read(signals.fd(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGWINCH) {
                    if (master >= 0) copy_window_size(master);
                } else {
                    child.signal(static_cast<int>(si.ssi_signo));
                }
            }
        }
        for (std::size_t i = 0; i < relays.size(); ++i) {
            Relay& r = relays[i];
            short events = fds[2 + i].revents;
            if (!r.pending.empty()) {
                if (events & (POLLOUT | POLLERR | POLLHUP)) flush(r);
            } else if (r.open && (events & (POLLIN | POLLHUP | POLLERR))) {
                // A pty master with no slave left reads EIO: stop watching it (the command may run on).
                if (!pump(r)) {
                    r.open = false;
                    if (r.close_to_at_eof) ::close(r.to);
                }
                flush(r);
            }
        }
        if (fds[0].revents & POLLIN) {
            // Drain what the command wrote before it exited.
            for (auto& r : relays) {
                if (!r.open || r.close_to_at_eof) continue;
                ::fcntl(r.from, F_SETFL, ::fcntl(r.from, F_GETFL) | O_NONBLOCK);
                while (relay(r.from, r.to)) {
                    pollfd p{r.from, POLLIN, 0};
                    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
                }
            }
            return;
        }
    }
}

// Relays the process's streams (its pty, or the pipes standing in for host files) and forwards
// signals until it exits; returns its exit status.
int supervise_until_exit(Child& child, const BlockedSignals& signals, const Fd& master, StdioPipes& pipes,
                         bool interactive) {
    std::optional<RawTerminal> raw;
    std::vector<Relay> relays;
    if (master) {
        if (interactive) raw.emplace(STDIN_FILENO);
        copy_window_size(master.get());
        relays.push_back({master.get(), STDOUT_FILENO, false});
        if (interactive) relays.push_back({STDIN_FILENO, master.get(), false, true});
    }
    for (int fd = 0; fd <= 2; ++fd) {
        if (!pipes.parent_ends[fd]) continue;
        if (fd == 0) relays.push_back({STDIN_FILENO, pipes.parent_ends[0].release(), true});
        else relays.push_back({pipes.parent_ends[fd].get(), fd, false});
    }
    supervise(child, signals, relays, master.get());
    return child.wait();
}

// Sends the pty master to an engine's console socket, as runc does: one message, the fd as
// SCM_RIGHTS, a name as the payload.
void send_console(int socket, int master) {
    static const char kName[] = "/dev/ptmx";
    sync::send_bytes(socket, kName, sizeof kName - 1, master, "send the terminal to the console socket");
}

Error start_failure(const Spec& spec, const sync::Message& msg) {
    if (msg.kind != sync::Kind::kExecFailed) return Error(msg.text, msg.exit_code());
    return Error("exec " + explain::quote(spec.process.args[0]) + ": " + std::strerror(msg.exec_errno()),
                 exec_failure_code(msg.exec_errno()));
}

// Writes the user namespace's id maps for the child `pid`, from the parent: as root in the
// parent namespace hutch may map any ids (and the gid map needs no "setgroups deny" then).
// Done before "go", so the child runs with its ids mapped from its first step.
void write_id_maps(pid_t pid, const Spec& spec) {
    if (!spec.has_new_namespace("user")) return;
    auto write_map = [pid](const char* file, const std::vector<IdMapping>& maps) {
        std::string text;
        for (const auto& m : maps)
            text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
        std::string path = "/proc/" + std::to_string(pid) + "/" + file;
        sys::Kernel& k = sys::kernel();
        Fd fd(k.openat(AT_FDCWD, path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd || k.write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw SysError("map the user namespace's ids", "write", path, errno);
    };
    write_map("uid_map", spec.linux.uid_mappings);
    write_map("gid_map", spec.linux.gid_mappings);
}

// The child's next message, or EOF once the command runs. A SIGINT or SIGTERM meanwhile
// abandons the start (Interrupted, which removes what it made); a container of `hutch create`
// (`record`) is recorded as it was before "go" (created), not "running".
sync::Message receive_from_child(const Fd& socket, Child& child, const ContainerRecord* record,
                                 const ContainerState& before_go) {
    try {
        interrupt::wait_readable(socket.get(), "start the container");
    } catch (const interrupt::Interrupted&) {
        child.signal(SIGKILL);
        child.wait();
        if (record) record->save(before_go);
        throw;
    }
    return sync::receive(socket.get());
}

// -d, start, exec -d: tells the process that forked the monitor that the command runs.
void report_started(int started_fd) {
    if (started_fd < 0) return;
    [[maybe_unused]] ssize_t n = ::write(started_fd, "started\n", 8);
    ::close(started_fd);
}

// A sysctl the container may set: one the kernel keeps per namespace, in a namespace of the
// container's own (config-linux.md leaves this to the runtime; runc's list). Anything else would
// be written into the host's kernel.
void validate_sysctl(const Spec& spec, const std::string& key, const std::string& value) {
    auto bad = [&](const std::string& why) { throw UsageError("sysctl \"" + key + "\": " + why); };
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos ||
        key.front() == '.' || key.back() == '.' || validate::has_control(key))
        bad("not a sysctl name");
    if (validate::has_control(value)) bad("the value holds control characters");
    static const char* kIpc[] = {"kernel.msgmax", "kernel.msgmnb",  "kernel.msgmni",         "kernel.sem",
                                 "kernel.shmall", "kernel.shmmax",  "kernel.shmmni",         "kernel.shm_rmid_forced"};
    bool ipc = key.rfind("fs.mqueue.", 0) == 0 ||
               std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc);
    if (ipc) {
        if (!spec.has_new_namespace("ipc")) bad("needs a new ipc namespace");
        return;
    }
    if (key.rfind("net.", 0) == 0) {
        if (!spec.has_new_namespace("network")) bad("needs a new network namespace");
        return;
    }
    if (key == "kernel.hostname" || key == "kernel.domainname") {
        if (!spec.has_new_namespace("uts")) bad("needs a new uts namespace");
        return;
    }
    bad("not namespaced: it would change the host");
}

}  // namespace launch_detail

using namespace launch_detail;

void validate_spec(const Spec& spec) {
    struct stat st {};
    if (spec.root.path.empty() || spec.root.path[0] != '/')
        throw UsageError("invalid rootfs \"" + spec.root.path + "\": the path must be absolute");
    if (::stat(spec.root.path.c_str(), &st) != 0)
        throw UsageError("invalid rootfs \"" + spec.root.path + "\": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
        throw UsageError("invalid rootfs \"" + spec.root.path + "\": not a directory");
    if (spec.process.args.empty()) throw UsageError("the spec has no command (process.args)");
    // Without its own mount namespace, assembling the root would mount onto the host's.
    if (!spec.has_new_namespace("mount"))
        throw UsageError("the spec must give the container a new mount namespace (linux.namespaces: mount)");
    if (!spec.linux.rootfs_propagation.empty() && spec.linux.rootfs_propagation != "rprivate" &&
        spec.linux.rootfs_propagation != "private")
        throw UsageError("linux.rootfsPropagation \"" + spec.linux.rootfs_propagation +
                         "\" is not supported (hutch keeps the root private)");
    static const char* kTypes[] = {"proc", "tmpfs", "devpts", "sysfs", "cgroup", "mqueue", "bind"};
    for (const auto& m : spec.mounts) {
        if (m.destination.empty() || m.destination[0] != '/')
            throw UsageError("mount destination \"" + m.destination + "\" must be absolute");
        bool known = std::find(std::begin(kTypes), std::end(kTypes), m.type) != std::end(kTypes);
        mnt::Options o = mnt::parse_options(m.options);  // throws on an unknown option
        if (!known && !o.bind)
            throw UsageError("mount " + m.destination + ": unsupported type \"" + m.type + "\"");
    }
    for (const auto& m : spec.mounts) {
        // Anything but procfs on /proc, or over a file in it, would make the masked and
        // read-only paths meaningless (runc's checkProcMount); lxcfs-style binds over these few
        // files are the exception runc also makes.
        static const char* kProcFilesMayBind[] = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",
                                                  "/proc/stat",    "/proc/swaps",     "/proc/uptime",
                                                  "/proc/loadavg", "/proc/slabinfo",  "/proc/net/dev"};
        bool in_proc = m.destination == "/proc" || m.destination.rfind("/proc/", 0) == 0;
        if (!in_proc || (m.destination == "/proc" && m.type == "proc")) continue;
        if (std::find(std::begin(kProcFilesMayBind), std::end(kProcFilesMayBind), m.destination) !=
            std::end(kProcFilesMayBind))
            continue;
        throw UsageError("mount on " + m.destination + " refused: only procfs may be mounted on /proc");
    }
    for (std::size_t i = 0; i < spec.process.rlimits.size(); ++i) {
        rlimit_resource(spec.process.rlimits[i].type);  // throws on an unknown name
        for (std::size_t j = 0; j < i; ++j)
            if (spec.process.rlimits[j].type == spec.process.rlimits[i].type)
                throw UsageError("process.rlimits: " + spec.process.rlimits[i].type + " is given twice");
    }
    for (std::size_t i = 0; i < spec.linux.namespaces.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (spec.linux.namespaces[j].type == spec.linux.namespaces[i].type)
                throw UsageError("linux.namespaces: the " + spec.linux.namespaces[i].type + " namespace is given twice");
    for (const auto& [key, value] : spec.linux.sysctl) validate_sysctl(spec, key, value);
    devices::container_policy(spec.linux);  // throws UsageError naming a bad device rule
    for (const auto& d : spec.linux.devices) {
        if (d.path.size() < 6 || d.path.rfind("/dev/", 0) != 0 || d.path.find("/../") != std::string::npos ||
            d.path.ends_with("/.."))
            throw UsageError("linux.devices: path \"" + d.path + "\" must lie below /dev");
        if (d.type != "c" && d.type != "u" && d.type != "b" && d.type != "p")
            throw UsageError("linux.devices " + d.path + ": unknown type \"" + d.type + "\"");
    }
    for (const auto& ns : spec.linux.namespaces) {
        bool known = ns.type == "cgroup";
        for (const auto& c : kCloneNamespaces) known = known || ns.type == c.type;
        if (!known) throw UsageError("unsupported namespace type \"" + ns.type + "\"");
        if (!ns.path.empty() && ns.type != "network" && ns.type != "ipc" && ns.type != "pid")
            throw UsageError("joining a " + ns.type + " namespace is not supported yet");
    }
    if (spec.has_new_namespace("user")) {
        if (spec.linux.uid_mappings.empty() || spec.linux.gid_mappings.empty())
            throw UsageError("a new user namespace needs linux.uidMappings and linux.gidMappings");
        auto maps_root = [](const std::vector<IdMapping>& maps) {
            return std::any_of(maps.begin(), maps.end(), [](const IdMapping& m) { return m.container_id == 0; });
        };
        // The container's first process assembles the root as its namespace's root.
        if (!maps_root(spec.linux.uid_mappings) || !maps_root(spec.linux.gid_mappings))
            throw UsageError("linux.uidMappings and gidMappings must map the container's id 0");
        // The child would have to join these from inside its new user namespace, where it holds
        // no capability over the host's namespaces (runc joins them before unsharing; hutch
        // does not yet).
        for (const auto& ns : spec.linux.namespaces)
            if (!ns.path.empty() && ns.type != "pid")
                throw UsageError("joining a " + ns.type + " namespace together with a new user namespace is not supported yet");
    } else if (!spec.linux.uid_mappings.empty() || !spec.linux.gid_mappings.empty()) {
        throw UsageError("linux.uidMappings and gidMappings need a new user namespace (linux.namespaces: user)");
    }
}

namespace {

// The record of a container just made, before it runs.
ContainerState created_state(const Spec& spec, const std::string& id) {
    ContainerState state;
    state.id = id;
    state.name = spec.hutch.name;
    state.status = "created";
    state.created = rfc3339_now();
    state.rootfs = spec.root.path;
    state.command = spec.process.args;
    return state;
}

}  // namespace

void create_container(const Spec& spec, const Paths& paths, const std::string& id) {
    validate_spec(spec);
    interrupt::Scope create_scope;
    ContainerRecord record = ContainerRecord::create(paths, created_state(spec, id));
    write_file_atomic(record.data_file("config.json"), to_json(spec).dump(2) + "\n", 0600, Durability::kDurable);
    explain::comment("create: the record and config.json are written to " + paths.data_dir(id) +
                     "; no namespace, mount or process exists until start");
    interrupt::check();  // before it is kept and announced: an interrupted create leaves nothing
    events::emit(paths.data_root, {"container", "create", id, {{"image", spec.root.path}, {"name", spec.hutch.name}}, 0});
    record.keep();
}

int run_container(const Spec& spec, const Paths& paths, const std::string& id, const net::HostConfig& config,
                  int started_fd, bool existing, RunObserver* observer) {
    validate_spec(spec);
    // SIGINT and SIGTERM abort the start until the command runs (runtime/interrupt.hpp); the
    // other signals are blocked before anything is created and forwarded once it runs.
    interrupt::Scope start_scope;
    BlockedSignals signals(spec.process.terminal);
    ContainerState state = created_state(spec, id);
    ContainerRecord record = existing ? ContainerRecord::reopen(paths, id, spec.hutch.name)
                                      : ContainerRecord::create(paths, state);
    // The address is claimed once the record's lock is held, so no concurrent start takes the
    // claim for a stale one; it is released after the child is gone (destroyed after `child`).
    std::optional<net::Attachment> attachment = net::Attachment::prepare(
        spec, paths.data_root, id, config, [paths](const std::string& other) { return container_running(paths, other); });
    // A --rm container's config dies with it: no point paying an fsync for it.
    write_file_atomic(record.data_file("config.json"), to_json(spec).dump(2) + "\n", 0600,
                      spec.hutch.auto_remove ? Durability::kRuntime : Durability::kDurable);

    if (!existing)
        events::emit(paths.data_root, {"container", "create", id, {{"image", spec.root.path}, {"name", spec.hutch.name}}, 0});
    if (existing) {
        try {
            state.created = find_container(paths, id).created;
        } catch (const Error& e) {
            // The start goes on (the record is this run's from here); only `ps` loses the time.
            std::fprintf(stderr, "hutch: warning: container %s: its creation time is lost: %s\n", id.c_str(), e.what());
        }
        record.save(state);
    }

    RootfsPlan plan;
    plan.merged_dir = record.runtime_file("merged");
    explain::define("STATE", paths.runtime_dir(id));
    explain::define("DATA", paths.data_dir(id));
    explain::define("ROOT", plan.merged_dir);
    // Made anew, or left by an earlier run of this container (start): the writable layer stays.
    auto make_dir = [](const std::string& dir, mode_t mode) {
        if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw SysError("prepare the root", "mkdir", dir, errno);
    };
    make_dir(plan.merged_dir, 0755);
    if (!spec.root.readonly) {
        plan.upper_dir = record.data_file("upper");
        plan.work_dir = record.data_file("work");
        make_dir(plan.upper_dir, 0755);
        make_dir(plan.work_dir, 0700);
    }
    write_etc_files(spec, paths, record, plan, attachment, config);
    if (attachment)
        attachment->refresh_hosts([paths](const std::string& other) { return paths.runtime_dir(other) + "/hosts"; });
    std::vector<NamespaceJoin> joins;
    std::vector<Fd> join_fds = open_joined_namespaces(spec, joins);
    // A target's pid was read before its namespaces were opened: if the target ended meanwhile,
    // the pid may name another process now, whose namespaces must not be joined.
    for (const auto& target : spec.hutch.joined_containers)
        if (!container_running(paths, target))
            throw UsageError("container " + target.substr(0, 12) + " stopped while this one started to join it");
    // Compiled here, installed by the child as its last step (it only makes the seccomp call).
    std::optional<seccomp::Program> filter;
    if (spec.linux.seccomp) filter = seccomp::compile_cached(*spec.linux.seccomp, paths.root + "/seccomp");

    if (spec.hutch.detach) {
        // The monitor's own stdout and stderr become the log (relayed through pipes below, as
        // any host file is); its stdin is /dev/null.
        Fd log(::open(record.runtime_file("container.log").c_str(),
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640));
        if (!log) throw SysError("open the container's log", "open", record.runtime_file("container.log"), errno);
        check(::dup2(log.get(), STDOUT_FILENO), "open the container's log", "dup2");
        check(::dup2(log.get(), STDERR_FILENO), "open the container's log", "dup2");
    }
    StdioPipes stdio_pipes = pipes_for_host_streams(spec);
    int pair[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "start the container", "socketpair");
    Fd parent_end(pair[0]), child_end(pair[1]);
    std::optional<seccomp::Program> listener_filter;
    if (observer) listener_filter = observer->listener_filter();

    interrupt::check();
    // Recorded before it is made: `rm -f` after a start SIGKILLed at any point finds it.
    state.cgroup = Cgroup::path_for(id);
    record.save(state);
    // Destroyed after `child` below (reverse order): the cgroup is removed once it is empty.
    // The device policy is on it before the clone: the child never runs unfiltered.
    Cgroup cgroup = Cgroup::create(id, devices::container_policy(spec.linux));
    if (!cgroup.path().empty()) plan.cgroups = {cgroup.path()};
    // Not dumpable: no process without CAP_SYS_PTRACE (a --pid host container's, say) can open
    // /proc/<hutch>/exe or read hutch's memory. The child inherits this until its execve.
    check(sys::kernel().prctl(PR_SET_DUMPABLE, 0), "protect hutch's process", "prctl(PR_SET_DUMPABLE)");
    int pidfd = -1;
    unsigned long flags = 0;
    long pid = clone_container(spec, cgroup.fd(), pidfd, flags);
    if (pid == 0) {
        // The child's copy of the parent's end goes at once: while the child held it, a dead
        // parent's end never closed, and a child waiting for "go" waited forever.
        ::close(parent_end.release());
        std::optional<net::ChildNetwork> network;
        if (attachment) network = attachment->child_network();
        InitContext context{spec, plan, child_end.get(), joins, network, trampoline::available(),
                            filter ? &*filter : nullptr, stdio_pipes.child_fds()};
        context.listener_filter = listener_filter ? &*listener_filter : nullptr;
        container_init(context);
    }
    Child child(static_cast<pid_t>(pid), Fd(pidfd));
    child_end.reset();
    join_fds.clear();
    for (auto& end : stdio_pipes.child_ends) end.reset();
    cgroup.attach(child.pid());  // a v1 cgroup (no cgroup2 on this host), before "go"
    if (attachment) attachment->connect(child.pid());
    if (observer) observer->cloned(child.pid());

    // Recorded as running before it may run: anything the command prints or does comes after
    // ps could see it (a failed start removes the record anyway).
    const ContainerState before_go = state;
    state.status = "running";
    state.pid = child.pid();
    state.started_at = rfc3339_now();
    record.save(state);
    sync::send(parent_end.get(), sync::Kind::kGo);
    Fd master;
    for (;;) {
        sync::Message msg = receive_from_child(parent_end, child, existing ? &record : nullptr, before_go);
        if (msg.eof) break;  // execve closed the child's end: the command runs
        if (msg.kind == sync::Kind::kTerminal) {
            master = std::move(msg.fd);
            continue;
        }
        if (msg.kind == sync::Kind::kListener) {
            if (observer) {
                // An empty fd: the child wrote first (an error) or died; the loop reads which.
                if (Fd listener = take_listener(child, parent_end.get(), msg.listener_fd()))
                    observer->listener(std::move(listener), plan.upper_dir);
                continue;
            }
            // Nobody asked for it: the child waits for an answer nobody would give. A protocol
            // error; the listener closes with msg and the child is killed with `child`.
            throw Error("start the container: the container sent a seccomp listener nobody asked for");
        }
        child.wait();
        Error failure = start_failure(spec, msg);
        if (existing) {  // a created container that failed to start stays, as exited
            state.status = "exited";
            state.pid = 0;
            state.exit_code = failure.exit_code();
            state.finished_at = rfc3339_now();
            record.save(state);
        }
        throw failure;
    }

    const std::map<std::string, std::string> who = {{"image", spec.root.path}, {"name", spec.hutch.name}};
    if (attachment)
        events::emit(paths.data_root, {"network", "connect", attachment->network().id,
                                       {{"container", id}, {"name", attachment->network().name}, {"type", "bridge"}}, 0});
    events::emit(paths.data_root, {"container", "start", id, who, 0});
    report_started(started_fd);

    int status;
    {
        status = supervise_until_exit(child, signals, master, stdio_pipes, spec.hutch.interactive);
        explain::comment("waitid(P_PIDFD, " + std::to_string(child.pid()) + "): the command exited with status " + std::to_string(status));
    }
    if (observer) observer->exited(status, plan.upper_dir);

    state.status = "exited";
    state.pid = 0;
    state.exit_code = status;
    state.finished_at = rfc3339_now();
    record.record_exit(status);
    auto died = who;
    died["exitCode"] = std::to_string(status);
    events::emit(paths.data_root, {"container", "die", id, died, 0});
    if (attachment)
        events::emit(paths.data_root, {"network", "disconnect", attachment->network().id,
                                       {{"container", id}, {"name", attachment->network().name}, {"type", "bridge"}}, 0});
    if (!spec.hutch.auto_remove) {
        record.save(state);
        record.keep();
    } else {
        record.discard();
        explain::comment("--rm: the container's record and writable layer are removed");
    }
    return status;
}

int exec_in_container(const Paths& paths, const std::string& ref, const ExecRequest& request, int started_fd) {
    if (request.args.empty() || request.args[0].empty())
        throw UsageError("no command given: usage: hutch exec [OPTIONS] CONTAINER COMMAND [ARG...]");
    ContainerState target = find_container(paths, ref);
    if (!container_running(paths, target.id) || target.pid <= 0)
        throw UsageError("container " + ref + " is not running");
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
    const std::map<std::string, std::string> who = {{"image", spec.root.path}, {"name", spec.hutch.name}};
    auto with = [&](std::map<std::string, std::string> extra) {
        extra.insert(who.begin(), who.end());
        return extra;
    };
    events::emit(paths.data_root, {"container", "exec_create: " + command, target.id, with({{"execID", exec_id}}), 0});
    ExecLaunch launch;
    launch.target_pidfd = pidfd.get();
    // Its cgroup, and with it the device policy: clone3 places the child in a cgroup2 one; into a
    // v1 one (a host without cgroup2) this process moves first, and the child inherits it.
    if (!target.cgroup.empty()) launch.cgroup = join_v1_cgroups({target.cgroup});
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

int exec_process(const Spec& spec, const ExecLaunch& launch) {
    interrupt::Scope start_scope;
    BlockedSignals signals(spec.process.terminal);
    std::optional<seccomp::Program> filter;
    if (spec.linux.seccomp) filter = seccomp::compile_cached(*spec.linux.seccomp, launch.seccomp_cache_dir);
    // An OCI engine hands the process the stdio it means it to have; hutch's own exec replaces
    // host files and terminals with pipes, as for run.
    StdioPipes stdio_pipes = spec.hutch.oci ? StdioPipes{} : pipes_for_host_streams(spec);
    int pair[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "exec in the container", "socketpair");
    Fd parent_end(pair[0]), child_end(pair[1]);
    Fd cgroup;
    if (!launch.cgroup.empty()) cgroup = Fd(::open(launch.cgroup.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    check(sys::kernel().prctl(PR_SET_DUMPABLE, 0), "protect hutch's process", "prctl(PR_SET_DUMPABLE)");

    // A process enters a pid namespace only at birth: this process joins it for its children.
    if (spec.has_new_namespace("pid")) {
        explain::comment("a process enters a pid namespace only at birth: hutch joins it for the child it clones");
        check(sys::kernel().setns(launch.target_pidfd, CLONE_NEWPID), "join the container's pid namespace", "setns", "pidfd");
    }
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
                   filter ? &*filter : nullptr, launch.detach});
    }
    Child child(static_cast<pid_t>(pid), Fd(child_pidfd));
    child_end.reset();
    for (auto& end : stdio_pipes.child_ends) end.reset();

    Fd master;
    for (;;) {
        interrupt::wait_readable(parent_end.get(), "exec in the container");
        sync::Message msg = sync::receive(parent_end.get());
        if (msg.eof) break;
        if (msg.kind == sync::Kind::kTerminal) {
            if (launch.console_socket >= 0) send_console(launch.console_socket, msg.fd.get());
            else master = std::move(msg.fd);
            continue;
        }
        child.wait();
        throw start_failure(spec, msg);
    }
    interrupt::check();  // the last moment the start can still be abandoned
    if (launch.started) launch.started(child.pid());
    if (launch.detach) {
        child.abandon();  // the engine's subreaper waits for it
        return 0;
    }
    return supervise_until_exit(child, signals, master, stdio_pipes, spec.hutch.interactive || (spec.hutch.oci && spec.process.terminal));
}

}  // namespace hutch
