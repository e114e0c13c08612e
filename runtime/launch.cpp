// The parent half of a start (docs/design.md, "The launch sequence"), for run, start and create:
//   validate -> block signals -> claim the name, make the record -> claim the address -> write the
//   /etc files -> open the namespaces to join -> compile the seccomp filter -> the cgroup and its
//   device policy -> clone3 into it -> outside work (a v1 cgroup, the veth) -> record "running"
//   -> "go" -> receive until the command runs (start_messages.cpp) -> relay its streams and
//   forward signals until it exits (relay.cpp) -> record the exit, clean up.
// exec is in launch_exec.cpp, the OCI front-end's starts in launch_oci.cpp.
#include "runtime/launch.hpp"
#include "runtime/restart.hpp"
#include "runtime/launch_internal.hpp"
#include "runtime/pasta.hpp"
#include "runtime/rootless.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "caps/seccomp_cache.hpp"
#include "netns/attach.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/detached_mounts.hpp"
#include "runtime/userns.hpp"
#include "runtime/resource_flags.hpp"
#include "runtime/container_init.hpp"
#include "runtime/devices.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/run_modes.hpp"
#include "runtime/sync.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/trampoline/trampoline.hpp"

namespace hutch {
namespace launch_detail {

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


// Rootless --userns nomap (or a join of such a container's user namespace): the user's own id is
// not one of the container's.
bool own_id_unmapped(const Spec& spec) {
    return spec.hutch.rootless && std::none_of(spec.linux.uid_mappings.begin(), spec.linux.uid_mappings.end(),
                                               [uid = ::getuid()](const IdMapping& m) { return uid >= m.host_id && uid - m.host_id < m.size; });
}

// Gives `paths` to the container's root when the user's own id is not in its namespace (nomap):
// in a user namespace of the user's maps, that root (the first subordinate id) is id 1.
void give_to_the_containers_root(const std::vector<const std::string*>& paths, const char* step) {
    rootless::as_namespace_root(rootless::user_maps(rootless::current_user()), step, [&] {
        for (const auto* path : paths)
            if (::chown(path->c_str(), 1, 1) != 0) throw SysError(step, "chown", *path, errno);
    });
}

// Writes the name-resolution files into the runtime dir and says where they are. A container
// joining another's network shares that container's files, as Docker does.
void write_etc_files(const Spec& spec, const Paths& paths, const ContainerRecord& record, RootfsPlan& plan,
                     const std::optional<net::Attachment>& attachment, const net::HostConfig& config) {
    NetworkMode mode = network_mode(spec);
    if (const auto* joined = std::get_if<ContainerNetwork>(&mode)) {
        // A target that itself joined another's network has no files of its own: the chain is
        // followed to the container that has them, as Docker's joiners take the target's paths.
        std::string owner = joined->container;
        auto has_files = [&](const std::string& id) { return ::access((paths.runtime_dir(id) + "/hosts").c_str(), F_OK) == 0; };
        for (int hop = 0; hop < 16 && !has_files(owner); ++hop) {
            std::string text;
            try {
                text = read_file(paths.data_dir(owner) + "/config.json");
            } catch (const Error&) {
                break;  // gone: the bind of its missing file says so
            }
            const NetworkMode next = network_mode(spec_from_json(nlohmann::json::parse(text)));
            const auto* further = std::get_if<ContainerNetwork>(&next);
            if (!further) break;
            owner = further->container;
        }
        std::string target = paths.runtime_dir(owner);
        plan.hosts_file = target + "/hosts";
        plan.resolv_file = target + "/resolv.conf";
        plan.hostname_file = target + "/hostname";
        return;
    }
    auto read_host = [](const std::string& path) -> std::optional<std::string> {
        try {
            return read_file(path);
        } catch (const Error&) {
            return std::nullopt;  // a host without the file: Docker's defaults apply
        }
    };
    net::EtcFiles files = net::container_etc_files(spec, record.id(), attachment, config, read_host);
    plan.hosts_file = record.runtime_file("hosts");
    plan.resolv_file = record.runtime_file("resolv.conf");
    plan.hostname_file = record.runtime_file("hostname");  // also with --uts host, as Docker writes it
    write_file_atomic(plan.hosts_file, files.hosts, 0644, Durability::kRuntime);
    write_file_atomic(plan.resolv_file, files.resolv_conf, 0644, Durability::kRuntime);
    write_file_atomic(plan.hostname_file, files.hostname, 0644, Durability::kRuntime);
    // The container's root owns them, as root owns them without a user namespace: it may edit
    // its /etc/hosts (network updates rewrite the file in place, so the owner stays). Rootless:
    // the user's own, which is the container's root (nomap: given to that root).
    if (own_id_unmapped(spec)) {
        give_to_the_containers_root({&plan.hosts_file, &plan.resolv_file, &plan.hostname_file}, "write the container's /etc files");
    } else if (spec.has_namespace(NamespaceType::kUser) && !spec.hutch.rootless) {
        const auto uid = userns::host_id(spec.linux.uid_mappings, 0), gid = userns::host_id(spec.linux.gid_mappings, 0);
        for (const auto* file : {&plan.hosts_file, &plan.resolv_file, &plan.hostname_file})
            check(::chown(file->c_str(), uid.value_or(0), gid.value_or(0)), "write the container's /etc files", "chown", *file);
    }
}

// Sends the pty master to an engine's console socket, as runc does: one message, the fd as
// SCM_RIGHTS, a name as the payload.
void send_console(int socket, int master) {
    static const char kName[] = "/dev/ptmx";
    sync::send_bytes(socket, kName, sizeof kName - 1, master, "send the terminal to the console socket");
}

Error start_failure(const Spec& spec, const sync::Message& msg) {
    if (msg.kind != sync::Kind::kExecFailed) return Error(msg.text, msg.exit_code());
    return Error(exec_failure_text(spec.process.args[0], msg.exec_errno()), exec_failure_code(msg.exec_errno()));
}

// -d, start, exec -d: tells the process that forked the monitor that the command runs.
void report_started(int started_fd) {
    if (started_fd < 0) return;
    [[maybe_unused]] ssize_t n = ::write(started_fd, "started\n", 8);
    ::close(started_fd);
}

}  // namespace launch_detail

using namespace launch_detail;

namespace {

// What events and inspect call the container's image: the name it was run by, or the rootfs.
std::string image_name(const Spec& spec) { return spec.hutch.image_ref.empty() ? spec.root.path : spec.hutch.image_ref; }

// The record of a container just made, before it runs.
ContainerState created_state(const Spec& spec, const std::string& id) {
    ContainerState state;
    state.id = id;
    state.name = spec.hutch.name;
    state.status = "created";
    state.created = rfc3339_now();
    state.rootfs = image_name(spec);
    state.command = spec.process.args;
    state.network = spec.hutch.network;
    return state;
}

std::map<std::string, std::string> who(const Spec& spec) {
    return {{"image", image_name(spec)}, {"name", spec.hutch.name}};
}

// The one set-up of a container's record, for create and run: its name claimed and its record
// made (or, `existing`, a created container's reopened), its config.json written. A new one is
// announced (the create event) by the caller once it is sure to stay.
// --userns auto: the container's slot of hutch's ranges, claimed once its record exists (a
// claim outlives only a container with a record), and its maps made the slot's.
void claim_auto_userns(Spec& spec, const Paths& paths, const std::string& id) {
    const HutchSection::AutoUserns& a = spec.hutch.userns_auto;
    const std::uint64_t slot = userns::claim_slot(
        paths.data_root, id, std::min(userns::slots_in(a.uid_ranges), userns::slots_in(a.gid_ranges)),
        [&paths](const std::string& other) { return ::access(paths.data_dir(other).c_str(), F_OK) == 0; });
    spec.linux.uid_mappings = userns::map_from(a.uid_ranges, slot * userns::kSlotSize, a.size);
    spec.linux.gid_mappings = userns::map_from(a.gid_ranges, slot * userns::kSlotSize, a.size);
    explain::comment("--userns auto: slot " + std::to_string(slot) + ", uid 0 is host uid " +
                     std::to_string(spec.linux.uid_mappings.at(0).host_id));
}

ContainerRecord open_record(Spec& spec, const Paths& paths, const std::string& id, bool existing,
                            ContainerState& state) {
    state = created_state(spec, id);
    ContainerRecord record = existing ? ContainerRecord::reopen(paths, id, spec.hutch.name)
                                      : ContainerRecord::create(paths, state);
    if (!existing && spec.hutch.userns_auto.size) claim_auto_userns(spec, paths, id);
    // A --rm container's config dies with it: no point paying an fsync for it.
    write_file_atomic(record.data_file("config.json"), to_json(spec).dump(2) + "\n", 0600,
                      spec.hutch.auto_remove ? Durability::kRuntime : Durability::kDurable);
    if (existing) {
        try {
            state.created = find_container(paths, id).created;
        } catch (const Error& e) {
            // The start goes on (the record is this run's from here); only `ps` loses the time.
            std::fprintf(stderr, "hutch: warning: container %s: its creation time is lost: %s\n", id.c_str(), e.what());
        }
        record.save(state);
    }
    return record;
}

// Where the root is assembled, and the writable layer: made anew, or left by an earlier run of
// this container (start), whose writable layer stays.
RootfsPlan plan_root(const Spec& spec, const Paths& paths, const ContainerRecord& record) {
    RootfsPlan plan;
    plan.merged_dir = record.runtime_file("merged");
    explain::define("STATE", paths.runtime_dir(record.id()));
    explain::define("DATA", paths.data_dir(record.id()));
    explain::define("ROOT", plan.merged_dir);
    auto make_dir = [](const std::string& dir, mode_t mode) {
        if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw SysError("prepare the root", "mkdir", dir, errno);
    };
    make_dir(plan.merged_dir, 0755);
    if (detached::needed(spec)) {
        plan.staging_dir = record.runtime_file("staging");
        make_dir(plan.staging_dir, 0700);
    }
    plan.user_xattr = spec.hutch.rootless;
    if (spec.hutch.root == HutchSection::RootKind::kOverlay) {
        plan.upper_dir = record.data_file("upper");
        plan.work_dir = record.data_file("work");
        make_dir(plan.upper_dir, 0755);
        make_dir(plan.work_dir, 0700);
        // nomap: the container's root mounts the overlay, and must own its writable layer (each
        // dir checked: a start killed between the two chowns must not leave work the user's).
        if (own_id_unmapped(spec)) {
            std::vector<const std::string*> users;
            for (const auto* dir : {&plan.upper_dir, &plan.work_dir}) {
                struct stat st {};
                if (::stat(dir->c_str(), &st) == 0 && st.st_uid == ::getuid()) users.push_back(dir);
            }
            if (!users.empty()) give_to_the_containers_root(users, "give the writable layer to the container's root");
        }
    }
    return plan;
}

// -d: the monitor's own stdout and stderr become the log (relayed through pipes, as any host
// file is); its stdin is /dev/null already.
void output_to_log(const ContainerRecord& record) {
    const std::string path = record.runtime_file("container.log");
    Fd log(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640));
    if (!log) throw SysError("open the container's log", "open", path, errno);
    check(::dup2(log.get(), STDOUT_FILENO), "open the container's log", "dup2");
    check(::dup2(log.get(), STDERR_FILENO), "open the container's log", "dup2");
}

void network_event(const Paths& paths, const std::optional<net::Attachment>& attachment, const char* action,
                   const std::string& id) {
    if (!attachment) return;
    events::emit(paths.data_root, {"network", action, attachment->network().id,
                                   {{"container", id}, {"name", attachment->network().name}, {"type", "bridge"}}, 0});
}

// The namespaces a start joins (--network/--pid/--ipc container:NAME), opened, with the check
// that their targets still run: a target's pid was read before its namespaces were opened, and
// if it ended meanwhile the pid may name another process now, whose namespaces must not be joined.
// The paths name the pid the targets had when this container was made: a target restarted since
// has another, and the old one may be any process's now (a restart of this container, or its
// start, would join that process's namespaces): refused.
// Checked before the paths are opened (the old pid is usually gone: said so, not as a failed
// open) and after (the target may have restarted in between).
void check_join_targets(const Spec& spec, const Paths& paths) {
    std::vector<std::string> current;  // "/proc/<pid>/" of each target now
    for (const auto& target : spec.hutch.joined_containers) {
        if (!container_running(paths, target))
            throw UsageError("container " + target.substr(0, 12) + " stopped while this one started to join it");
        current.push_back("/proc/" + std::to_string(find_container(paths, target).pid) + "/");
    }
    if (spec.hutch.joined_containers.empty()) return;
    for (const auto& ns : spec.linux.namespaces)
        if (ns.path.starts_with("/proc/") &&
            std::none_of(current.begin(), current.end(), [&](const std::string& p) { return ns.path.starts_with(p); }))
            throw UsageError("the container this one joins (" + ns.path + ") has restarted since this one was made: remove "
                             "this one and run it again");
}

std::vector<Fd> open_joins(const Spec& spec, const Paths& paths, std::vector<NamespaceJoin>& joins) {
    check_join_targets(spec, paths);
    std::vector<Fd> fds = open_joined_namespaces(spec, joins);
    check_join_targets(spec, paths);
    return fds;
}

// The command has exited: its record and events. What becomes of the record is the caller's
// (finish_record, or a restart).
void record_exit(const Spec& spec, const Paths& paths, ContainerRecord& record, ContainerState& state,
                 const std::optional<net::Attachment>& attachment, int status, bool oom_killed) {
    state.status = "exited";
    state.pid = 0;
    state.exit_code = status;
    state.oom_killed = oom_killed;
    state.ports.clear();  // released with the container (its Attachment removes the rules)
    state.address.clear();
    state.finished_at = rfc3339_now();
    record.record_exit(status);
    // As dockerd: the OOM kill is reported before the death it caused.
    if (oom_killed) events::emit(paths.data_root, {"container", "oom", state.id, who(spec), 0});
    auto died = who(spec);
    died["exitCode"] = std::to_string(status);
    events::emit(paths.data_root, {"container", "die", state.id, died, 0});
    network_event(paths, attachment, "disconnect", state.id);
}

// The container will not run again under this supervisor: its record is kept, or with --rm
// removed with its writable layer.
void finish_record(const Spec& spec, const Paths& paths, ContainerRecord& record, const ContainerState& state) {
    if (spec.hutch.restart.name != "no")
        restart::record_last_run(paths.data_dir(state.id), {.running = false,
                                                            .exit_code = state.exit_code,
                                                            .restart_count = state.restart_count,
                                                            .stopped_by_user = state.stopped_by_user});
    if (!spec.hutch.auto_remove) {
        record.save(state);
        record.keep();
    } else {
        record.discard();
        explain::comment("--rm: the container's record and writable layer are removed");
    }
}

// A container of `hutch create` stays when its start fails: recorded as it was before "go"
// (created) when the start is interrupted, as exited when the child failed.
void keep_created_record(StartHandlers& on, ContainerRecord& record, ContainerState& state,
                         const ContainerState& before_go) {
    on.interrupted = [&record, before_go] {
        ContainerState created = before_go;
        created.ports.clear();  // released: the container is not running
        created.address.clear();
        record.save(created);
    };
    on.failed = [&record, &state](const Error& failure) {
        state.status = "exited";
        state.pid = 0;
        state.ports.clear();
        state.address.clear();
        state.exit_code = failure.exit_code();
        state.finished_at = rfc3339_now();
        record.save(state);
    };
}

}  // namespace

void create_container(const Spec& given, const Paths& paths, const std::string& id) {
    validate_spec(given);
    Spec spec = given;  // --userns auto's maps are the record's
    interrupt::Scope create_scope;
    ContainerState state;
    ContainerRecord record = open_record(spec, paths, id, false, state);
    explain::comment("create: the record and config.json are written to " + paths.data_dir(id) +
                     "; no namespace, mount or process exists until start");
    interrupt::check();  // before it is kept and announced: an interrupted create leaves nothing
    events::emit(paths.data_root, {"container", "create", id, who(spec), 0});
    record.keep();
}

namespace {

// How one start of the command goes (a restart policy makes several under one record).
struct StartOfRun {
    int started_fd = -1;        // -d, first start: tells the process that forked the monitor
    bool existing = false;      // the record was there before: a failed start keeps it, as exited
    bool announce_create = false;
    RunObserver* observer = nullptr;
    bool restart = false;       // a restart policy's: a user's stop may come while it is made
    // The policy's state and when this start began: what a -d start hands to its monitor.
    const restart::Manager* restarts = nullptr;
    std::chrono::steady_clock::time_point began;
};

// -d: once the command runs, this process becomes the container's resident monitor
// (runtime/monitor.hpp), and hutch again when the command exits (resume_after_exit), holding
// the same record lock, address claim, port sockets and pasta throughout. Returns only when that
// could not be done: this process then supervises the command itself.
void hand_over_to_monitor(const Paths& paths, const net::HostConfig& config, const ContainerRecord& record,
                          const std::optional<net::Attachment>& attachment, const std::optional<pasta::Process>& pasta,
                          const StartOfRun& how, const Child& child, const BlockedSignals& signals, const Fd& master,
                          StdioPipes& pipes) {
    monitor::Handback back;
    back.paths = paths;
    back.config_path = config.path;
    back.id = record.id();
    back.lock_fd = record.lock_fd();
    if (attachment) {
        back.claim_fd = attachment->claim_fd();
        back.port_fds = attachment->port_fds();
    }
    if (pasta) back.pasta_pid = pasta->pid();
    back.restart_count = how.restarts->count();
    back.restart_delay_ms = how.restarts->delay().count();
    back.started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(how.began.time_since_epoch()).count();
    std::vector<monitor::Relay> relays;
    if (master) relays.push_back({master.get(), STDOUT_FILENO});
    for (int fd = 1; fd <= 2; ++fd)
        if (pipes.parent_ends[fd]) relays.push_back({pipes.parent_ends[fd].get(), fd});
    // -d -i: this process's stdin is /dev/null, so the command's input ends here, as the relay
    // would end it.
    pipes.parent_ends[0].reset();
    monitor::become_monitor(child.pidfd(), signals.fd(), pasta ? pasta->pidfd() : -1, relays, back);
}

// A restart a user stopped (kill, stop, rm -f) while it was being made: nothing of it ran.
struct StoppedBeforeRun : Error {
    StoppedBeforeRun() : Error("stopped while it restarted", kExitHutchError) {}
};

// One start of the command and the wait for its exit: its status, recorded with its events.
// `forwarded`: a signal the supervisor passed on to the command (0: none).
int start_and_wait(const Spec& spec, const Paths& paths, const std::string& id, const net::HostConfig& config,
                   ContainerRecord& record, ContainerState& state, const BlockedSignals& signals,
                   const StartOfRun& how, int& forwarded) {
    const bool existing = how.existing;
    RunObserver* observer = how.observer;
    // The address is claimed once the record's lock is held, so no concurrent start takes the
    // claim for a stale one; it is released after the child is gone (destroyed after `child`).
    std::optional<net::Attachment> attachment = net::Attachment::prepare(
        spec, paths.data_root, id, config, [paths](const std::string& other) { return container_running(paths, other); },
        [paths](const std::string& other) { return paths.hosts_file(other); });
    if (how.announce_create) events::emit(paths.data_root, {"container", "create", id, who(spec), 0});

    RootfsPlan plan = plan_root(spec, paths, record);
    write_etc_files(spec, paths, record, plan, attachment, config);
    if (attachment) attachment->announce_hosts();
    std::vector<NamespaceJoin> joins;
    std::vector<Fd> join_fds = open_joins(spec, paths, joins);
    // Compiled here, installed by the child as its last step (it only makes the seccomp call).
    std::optional<seccomp::Program> filter;
    if (spec.linux.seccomp) filter = seccomp::compile_cached(*spec.linux.seccomp, paths.root + "/seccomp");
    if (spec.hutch.detach) output_to_log(record);
    StdioPipes stdio_pipes = pipes_for_host_streams(spec);
    int pair[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "start the container", "socketpair");
    Fd parent_end(pair[0]), child_end(pair[1]);
    std::optional<seccomp::Program> listener_filter;
    if (observer) listener_filter = observer->listener_filter();

    interrupt::check();
    // Recorded before it is made: `rm -f` after a start SIGKILLed at any point finds it.
    const bool accounting = observer && observer->accounting();
    if (spec.hutch.rootless) {
        // Only with limits, and only in a cgroup delegated to the user (runtime/cgroup.hpp).
        std::tie(state.cgroup, state.limit_cgroups) = Cgroup::delegated_paths_for(id, spec.linux.resources);
    } else {
        state.cgroup = Cgroup::path_for(id);
        state.limit_cgroups = Cgroup::v1_paths_for(id, spec.linux.resources, accounting);
    }
    // Recorded before their rules exist, for the same reason: rm finds them after any kill.
    if (attachment) {
        state.ports = attachment->ports();
        state.address = attachment->endpoint().address.str();
    }
    const bool with_pasta = spec.hutch.rootless && std::holds_alternative<PastaNetwork>(network_mode(spec));
    if (with_pasta) state.ports = pasta::bindings(spec.hutch.ports);  // pasta's forwards: no rule to remove
    record.save(state);
    // Destroyed after `child` below (reverse order): the cgroup is removed once it is empty.
    // The device policy and the limits are on it before the clone: the child never runs
    // unfiltered or unlimited.
    Cgroup cgroup = spec.hutch.rootless ? Cgroup::create_delegated(id, spec.linux.resources, resource_flag_name)
                                        : Cgroup::create(id, devices::container_policy(spec.linux), spec.linux.resources,
                                                         resource_flag_name, accounting);
    if (!cgroup.path().empty()) plan.cgroups = {cgroup.path()};
    plan.cgroups.insert(plan.cgroups.end(), cgroup.v1_paths().begin(), cgroup.v1_paths().end());
    if (observer) observer->cgroups(plan.cgroups);
    // Not dumpable: no process without CAP_SYS_PTRACE (a --pid host container's, say) can open
    // /proc/<hutch>/exe or read hutch's memory. The child inherits this until its execve.
    // Rootless: newuidmap (which refuses a target whose /proc/PID is root's) and the user's pasta
    // must open the child's /proc files before "go", which a non-dumpable process keeps from
    // anyone without CAP_SYS_PTRACE: the child is cloned dumpable (a restart's too, after the
    // last start turned hutch non-dumpable), hutch turns non-dumpable right after the clone,
    // and the child once it takes its ids.
    check(sys::kernel().prctl(PR_SET_DUMPABLE, spec.hutch.rootless ? 1 : 0), "protect hutch's process",
          "prctl(PR_SET_DUMPABLE)");
    int pidfd = -1;
    unsigned long flags = 0;
    // A user namespace: the root and the bind sources, made by this (host root) process and
    // staged in a mount namespace of this thread's, which the child's is a locked copy of.
    std::optional<detached::Staging> staging;
    if (detached::needed(spec)) staging.emplace(spec, plan);
    // A user namespace joined (--pid/--ipc container: of a remapped container): a helper enters
    // it and clones the child from there, as for an OCI bundle; rootless, it joins the pid
    // namespace too.
    const int userns = take_join(joins, CLONE_NEWUSER);
    const int pid_ns = take_join(joins, CLONE_NEWPID);  // only rootless hutch leaves it here
    if (pid_ns >= 0 && userns < 0) throw Error("start the container: a pid namespace to join without its user namespace");
    JoinedForTheClone joined(spec, joins);
    long pid = userns >= 0 ? clone_in_user_namespace(spec, userns, cgroup.fd(), pidfd, flags, pid_ns)
                           : clone_container(spec, cgroup.fd(), pidfd, flags);
    if (pid == 0) {
        // The child's copy of the parent's end goes at once: while the child held it, a dead
        // parent's end never closed, and a child waiting for "go" waited forever.
        ::close(parent_end.release());
        std::optional<net::ChildNetwork> network;
        if (attachment) network = attachment->child_network();
        InitContext context{spec, plan, child_end.get(), joins, network, trampoline::available(),
                            filter ? &*filter : nullptr, stdio_pipes.child_fds()};
        context.listener_filter = listener_filter ? &*listener_filter : nullptr;
        context.own_id_unmapped = own_id_unmapped(spec);
        container_init(context);
    }
    Child child(static_cast<pid_t>(pid), Fd(pidfd));
    if (spec.hutch.rootless)  // the child's flag is its own from here
        check(sys::kernel().prctl(PR_SET_DUMPABLE, 0), "protect hutch's process", "prctl(PR_SET_DUMPABLE)");
    joined.leave();
    if (staging) staging->leave();
    child_end.reset();
    join_fds.clear();
    for (auto& end : stdio_pipes.child_ends) end.reset();
    cgroup.attach(child.pid());  // v1 cgroups (the limits', or no cgroup2 on this host), before "go"
    if (attachment) attachment->connect(child.pid());
    if (observer) observer->cloned(child.pid());

    // Recorded as running before it may run: anything the command prints or does comes after
    // ps could see it (a failed start removes the record anyway).
    const ContainerState before_go = state;
    state.status = "running";
    state.pid = child.pid();
    state.started_at = rfc3339_now();
    record.save(state);
    // A stop asked for while the restart was made saw "restarting" and no pid, so it only left
    // its request: looked for after the pid is recorded, so a stop after this signals the pid.
    if (how.restart && restart::peek_request(paths.runtime_dir(id)) == restart::Request::kExit) throw StoppedBeforeRun();
    write_id_maps(child.pid(), spec);
    // --network pasta: up before the command starts; killed once it is gone (runtime/pasta.hpp).
    std::optional<pasta::Process> pasta;
    if (with_pasta)
        pasta.emplace(child.pid(), spec.hutch.ports, spec.hutch.disable_ipv6, paths.runtime_dir(id));
    sync::send(parent_end.get(), sync::Kind::kGo);
    Fd master;
    StartHandlers on;
    on.terminal = [&](Fd fd) { master = std::move(fd); };
    if (observer) {
        on.listener = [&](int child_fd) {
            // An empty fd: the child wrote first (an error) or died; the next receive reads which.
            if (Fd listener = take_listener(child, parent_end.get(), child_fd))
                observer->listener(std::move(listener), plan.upper_dir);
        };
    }
    if (existing) keep_created_record(on, record, state, before_go);
    receive_until(parent_end, child, spec, Until::kExec, on, "start the container");

    network_event(paths, attachment, "connect", id);
    events::emit(paths.data_root, {"container", "start", id, who(spec), 0});
    report_started(how.started_fd);
    if (spec.hutch.detach && !observer && how.restarts && monitor::available())
        hand_over_to_monitor(paths, config, record, attachment, pasta, how, child, signals, master, stdio_pipes);
    int status = supervise_until_exit(child, signals, master, stdio_pipes, spec.hutch.interactive, pasta ? pasta->pidfd() : -1);
    forwarded = child.forwarded_signal();
    explain::comment("waitid(P_PIDFD, " + std::to_string(child.pid()) + "): the command exited with status " +
                     std::to_string(status));
    if (observer) observer->exited(status, plan.upper_dir);
    // Read before the cgroup goes (it is destroyed after this returns).
    const bool oom_killed = cgroup.oom_kills() > 0;
    if (oom_killed) explain::comment("the container's memory cgroup counts an OOM kill: State.OOMKilled");
    record_exit(spec, paths, record, state, attachment, status, oom_killed);
    return status;
}

// After the command's exit with `status` (`forwarded`: the signal its supervisor passed on, 0:
// none): the restart policy's decision, and its restarts until it says no more; the record
// finished either way. Returns the last status.
int follow_restart_policy(const Spec& spec, const Paths& paths, const std::string& id, const net::HostConfig& config,
                          ContainerRecord& record, ContainerState& state, const BlockedSignals& signals,
                          restart::Manager& restarts, std::chrono::steady_clock::time_point began, int status,
                          int forwarded) {
    for (;;) {
        const auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
        const restart::Request asked = restart::take_request(paths.runtime_dir(id));
        state.stopped_by_user = asked != restart::Request::kNone || forwarded != 0;
        std::optional<std::chrono::milliseconds> delay;
        if (asked != restart::Request::kExit && forwarded == 0)
            delay = restarts.after_exit(status, state.stopped_by_user, ran);
        if (!delay) {
            finish_record(spec, paths, record, state);
            return status;
        }
        // From here the container outlives this run whatever happens, and anything that fails
        // (the wait, a restart's start) ends the restarts with the record finished, as dockerd
        // ends them when a restart fails; the reason goes where the command's output goes.
        record.keep();
        try {
            state.status = "restarting";
            state.restart_count = restarts.count();
            record.save(state);
            explain::comment("--restart " + restart::describe(spec.hutch.restart) + ": exit status " +
                             std::to_string(status) + ", restart " + std::to_string(restarts.count()) + " in " +
                             std::to_string(delay->count()) + " ms");
            if (!restart::wait_to_restart(spec.hutch.restart, paths.runtime_dir(id), *delay, signals.fd(),
                                          state.stopped_by_user)) {
                state.status = "exited";
                finish_record(spec, paths, record, state);
                return status;
            }
            record.clear_exit();
            began = std::chrono::steady_clock::now();
            forwarded = 0;
            status = start_and_wait(spec, paths, id, config, record, state, signals,
                                    StartOfRun{-1, true, false, nullptr, true, &restarts, began}, forwarded);
        } catch (const std::exception& e) {
            const bool by_user = dynamic_cast<const StoppedBeforeRun*>(&e) || dynamic_cast<const interrupt::Interrupted*>(&e);
            if (!by_user)
                std::fprintf(stderr, "hutch: restart %d of container %s failed: %s\n", restarts.count(),
                             id.substr(0, 12).c_str(), e.what());
            restart::take_request(paths.runtime_dir(id));
            state.status = "exited";
            state.pid = 0;
            state.ports.clear();
            state.address.clear();
            // Stopped by a user: the last run's status stays the container's, as dockerd keeps it.
            if (!by_user) {
                const auto* error = dynamic_cast<const Error*>(&e);
                state.exit_code = error ? error->exit_code() : kExitHutchError;
            }
            state.finished_at = rfc3339_now();
            state.stopped_by_user = by_user;
            try {
                record.record_exit(state.exit_code);  // for `wait`, as after any run
                finish_record(spec, paths, record, state);
            } catch (const std::exception& last) {
                std::fprintf(stderr, "hutch: container %s: its record could not be finished: %s\n",
                             id.substr(0, 12).c_str(), last.what());
            }
            return state.exit_code;
        }
    }
}

}  // namespace

int run_container(const Spec& given, const Paths& paths, const std::string& id, const net::HostConfig& config,
                  int started_fd, bool existing, RunObserver* observer) {
    validate_spec(given);
    Spec spec = given;  // --userns auto's maps are the record's
    // SIGINT and SIGTERM abort the start until the command runs (runtime/interrupt.hpp); the
    // other signals are blocked before anything is created and forwarded once it runs.
    interrupt::Scope start_scope;
    BlockedSignals signals(spec.process.terminal);
    ContainerState state;
    ContainerRecord record = open_record(spec, paths, id, existing, state);
    // A request an earlier run left untaken (a kill that lost the race with the exit) is not
    // this run's.
    restart::take_request(paths.runtime_dir(id));
    const bool policy = spec.hutch.restart.name != "no";
    if (policy) restart::record_last_run(paths.data_dir(id), {.running = true});
    // Counted from 0 at each `hutch start`, as dockerd resets RestartCount there.
    restart::Manager restarts(spec.hutch.restart);
    // The first start's failure is the caller's, as without a policy.
    const auto began = std::chrono::steady_clock::now();
    int forwarded = 0;
    int status = start_and_wait(spec, paths, id, config, record, state, signals,
                                StartOfRun{started_fd, existing, !existing, observer, false, &restarts, began},
                                forwarded);
    return follow_restart_policy(spec, paths, id, config, record, state, signals, restarts, began, status, forwarded);
}

int resume_after_exit(const monitor::Handback& back, const net::HostConfig& config) {
    // Held by this process until the container is gone, and never by a restart's child.
    for (int fd : back.held_fds()) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    Fd lock(back.lock_fd), claim(back.claim_fd);
    std::vector<Fd> port_sockets;
    for (int fd : back.port_fds) port_sockets.emplace_back(fd);
    const Paths& paths = back.paths;
    const std::string& id = back.id;
    // First: nothing is acted on unless this process holds the container's lock.
    ContainerRecord record = ContainerRecord::adopt(paths, id, std::move(lock));
    // Killed first on the way out, as after an in-process wait (start_and_wait's order).
    std::optional<pasta::Process> pasta;
    if (back.pasta_pid > 0) pasta.emplace(back.pasta_pid);
    // Read again: a restart runs what `hutch update` recorded since, where the in-process wait
    // restarted what it had read at the start.
    const Spec spec = spec_from_json(nlohmann::json::parse(read_file(paths.data_dir(id) + "/config.json")));
    interrupt::Scope scope;
    BlockedSignals signals(spec.process.terminal);
    ContainerState state = record.load();
    restart::Manager restarts(spec.hutch.restart, back.restart_count, std::chrono::milliseconds(back.restart_delay_ms));
    const std::chrono::steady_clock::time_point began{std::chrono::nanoseconds(back.started_ns)};
    {
        std::optional<net::Attachment> attachment = [&]() -> std::optional<net::Attachment> {
            try {
                return net::Attachment::adopt(
                    spec, paths.data_root, id, state.address, config,
                    [paths](const std::string& other) { return container_running(paths, other); }, std::move(claim),
                    net::HeldPorts::adopt(state.ports, std::move(port_sockets)),
                    [paths](const std::string& other) { return paths.hosts_file(other); });
            } catch (const std::exception& e) {
                // The exit is still recorded; `rm` releases what the network kept, as after a crash.
                std::fprintf(stderr, "hutch: warning: container %s: %s\n", id.substr(0, 12).c_str(), e.what());
                return std::nullopt;
            }
        }();
        Cgroup cgroup = Cgroup::adopt(state.cgroup, state.limit_cgroups);
        const bool oom_killed = cgroup.oom_kills() > 0;
        const pid_t command = state.pid;
        record_exit(spec, paths, record, state, attachment, back.status, oom_killed);
        // The monitor left the command a zombie (WNOWAIT), its pid held while the record said
        // "running" with it: the record says "exited" (no pid) first, then the zombie is reaped.
        // Only this process's own child. (follow_restart_policy saves it again, final.)
        record.save(state);
        siginfo_t reaped{};
        if (command > 0)
            while (::waitid(P_PID, static_cast<id_t>(command), &reaped, WEXITED) != 0 && errno == EINTR) {
            }
        pasta.reset();  // then the cgroup, then the network
    }
    return follow_restart_policy(spec, paths, id, config, record, state, signals, restarts, began, back.status,
                                 back.signal);
}

}  // namespace hutch
