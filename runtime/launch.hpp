// The launcher: executes a validated Spec. The only code that clones, joins namespaces and
// waits for a container. It never parses flags.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "caps/seccomp_filter.hpp"
#include "netns/host_config.hpp"
#include "runtime/cgroup_resources.hpp"
#include "runtime/fd.hpp"
#include "runtime/monitor.hpp"
#include "runtime/spec.hpp"
#include "runtime/state.hpp"

namespace hutch {

// Checks what the front-end could not: the rootfs is a directory, mount types are known.
// Throws UsageError naming the bad value. Touches nothing.
void validate_spec(const Spec& spec);

// Watches one foreground run for `hutch profile` (runtime/profile/profile.hpp): the launcher
// lets a profiler in at these points without knowing what it records. Called on the launching
// thread.
struct RunObserver {
    virtual ~RunObserver() = default;
    // A filter for the child to install before the spec's own. For one made with a listener
    // (SECCOMP_FILTER_FLAG_NEW_LISTENER) the child says over the sync socket which fd the
    // listener will be, before loading it, and the parent takes it with pidfd_getfd once it
    // exists. Compiled here: the child only loads it.
    virtual std::optional<seccomp::Program> listener_filter() = 0;
    // After clone3, before the child may go on: the container's first process, by host pid.
    virtual void cloned(pid_t pid) = 0;
    // The child's listener. The child waits in its next system call until someone answers, so
    // nothing of the command has run yet. `upper_dir`: the container's layer ("" for an OCI bundle).
    virtual void listener(Fd listener, const std::string& upper_dir) = 0;
    // The command exited with `status`; its writable layer is still there, and so are its
    // cgroups.
    virtual void exited(int status, const std::string& upper_dir) = 0;
    // Whether the container's cgroups also account memory and pids (Cgroup::create's
    // `accounting`), and, when made, where they are: before the clone.
    virtual bool accounting() const { return false; }
    virtual void cgroups(const std::vector<std::string>& /*dirs*/) {}
};

// Runs the container in the foreground and returns its exit status (the command's code, 128+N
// when killed by signal N). Throws Error (exit 125/126/127) when the start fails; a failed start
// leaves no state, mount or process behind.
//
// With spec.hutch.detach the calling process is the container's monitor: the container's output
// goes to <runtime dir>/container.log, and "started" is written to `started_fd` once the
// command runs, so the process that forked the monitor can return.
//
// `existing`: the container was made by `hutch create` (or ran before): its record is reopened,
// not created, and a failed start leaves it as it was.
//
// `observer` (hutch profile) is called at the points RunObserver names; null: nobody watches.
int run_container(const Spec& spec, const Paths& paths, const std::string& id,
                  const net::HostConfig& config, int started_fd = -1, bool existing = false,
                  RunObserver* observer = nullptr);

// `hutch __monitor-exit ...`: the exit half of a detached container's start, run by its resident
// monitor (runtime/monitor.hpp) in hutch's image again once the command has exited: what the
// start held is taken back from `back`, the exit recorded and cleaned up as run_container's own
// wait would have, and the restart policy followed from there. Returns run_container's status.
int resume_after_exit(const monitor::Handback& back, const net::HostConfig& config);

// `hutch create`: the record, config and state ("created") of a container that does not run
// yet, as validated as for run. Nothing is cloned.
void create_container(const Spec& spec, const Paths& paths, const std::string& id);

// `hutch exec`: a new process in a running container.
struct ExecRequest {
    std::vector<std::string> args;
    std::vector<std::string> env;  // env::resolve()d entries, applied over the container's own
    std::string user;              // name or uid[:gid], from the container's /etc/passwd
    std::string workdir;
    bool interactive = false;
    bool tty = false;
};

// Runs `request` in the running container `ref` and returns its exit status. The process joins
// every namespace of the container (its pid namespace through the parent, the rest in one
// setns on a pidfd), starts in the container's cgroup, and gets the container's capabilities,
// no_new_privs and seccomp filter: never more privilege than the container has.
// With `started_fd` >= 0 (exec -d) "started" is written to it once the command runs.
int exec_in_container(const Paths& paths, const std::string& ref, const ExecRequest& request, int started_fd = -1);

// The launch of one process into a running container, shared by `hutch exec` and `hutch oci exec`.
struct ExecLaunch {
    int target_pidfd = -1;          // the container's first process: its namespaces are joined
    std::string cgroup;             // the container's cgroup2 directory, if any
    std::string seccomp_cache_dir;
    int console_socket = -1;        // receives the pty master (oci exec --tty --console-socket)
    bool detach = false;            // return once the command runs; it outlives hutch
    int preserve_fds = 0;           // --preserve-fds: fds 3 to 2+N go to the command (OciLaunch's)
    std::string container_state;    // oci exec: the container's state, for a seccomp agent
    std::function<void(pid_t pid)> started;  // the command runs (execve succeeded)
};
// Runs spec.process in the container: its exit status, or 0 with `detach`.
int exec_process(const Spec& spec, const ExecLaunch& launch);

// `hutch oci create|run` (runtime/cli/oci.cpp, state in runtime/oci/state.hpp).
struct OciLaunch {
    std::string id;
    std::string state_dir;          // holds exec.fifo (made by the caller); the root is assembled in
                                    // <state_dir>/rootfs
    std::string seccomp_cache_dir;
    int console_socket = -1;        // connected: receives the pty master when process.terminal
    // --preserve-fds N: the engine's fds 3 to 2+N (checked open by the caller, so every fd hutch
    // opens lies above them) stay open across the command's exec; every other fd of hutch's goes.
    int preserve_fds = 0;
    // The OCI state (runtime.md) for the hooks, for the container's pid and a status.
    std::function<std::string(pid_t pid, const std::string& status)> state_json;
    // Called the moment something a killed create would leave exists: the cgroups (pid 0), then
    // the first process. Records them, so delete finds them after a SIGKILL at any point.
    std::function<void(pid_t pid, const std::vector<std::string>& cgroups, const std::vector<std::string>& made_parents)>
        made;
    // Which other container of this state root has a cgroup directory recorded ("" for none).
    ResourceCgroups::Holder cgroup_holder;
    // Called once the process waits for start: records the state and the pid file.
    // `cgroups`: the container's; `made_parents`: the levels above them create made.
    std::function<void(pid_t pid, const std::vector<std::string>& cgroups, const std::vector<std::string>& made_parents)>
        created;
};

// Makes the container up to its command (mounts, pivot_root, hooks prestart, createRuntime and
// createContainer) and returns while its first process waits on exec.fifo for `start`. That
// process outlives hutch: the engine that called create is its reaper. A failed create leaves no
// process, mount or cgroup (the caller removes the state dir).
void create_oci_container(const Spec& spec, const OciLaunch& launch);

// create, start and wait in one (`hutch oci run`): returns the command's exit status (128+N for
// signal N). With process.terminal and no console socket the pty is relayed to hutch's stdio.
int run_oci_container(const Spec& spec, const OciLaunch& launch);

// `start`: opens the exec.fifo of the process `pidfd` waits in, which lets it exec the command.
// With `until_exec` (a created container no hutch process waits for) it returns only once the
// command was exec'd, and throws when the process failed before (a startContainer hook, exec);
// without, once the process is released. Throws Error when that process is gone instead.
void start_oci_container(const std::string& fifo_path, int pidfd, bool until_exec, const std::string& command);

}  // namespace hutch
