// The launcher: executes a validated Spec. The only code that clones, joins namespaces and
// waits for a container. It never parses flags.
#pragma once

#include <string>

#include "netns/host_config.hpp"
#include "runtime/spec.hpp"
#include "runtime/state.hpp"

namespace hutch {

// Checks what the front-end could not: the rootfs is a directory, mount types are known.
// Throws UsageError naming the bad value. Touches nothing.
void validate_spec(const Spec& spec);

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
int run_container(const Spec& spec, const Paths& paths, const std::string& id,
                  const net::HostConfig& config, int started_fd = -1, bool existing = false);

// `hutch create`: the record, config and state ("created") of a container that does not run
// yet, as validated as for run. Nothing is cloned.
void create_container(const Spec& spec, const Paths& paths, const std::string& id);

// `hutch exec`: a new process in a running container.
struct ExecRequest {
    std::vector<std::string> args;
    std::vector<std::string> env;  // KEY=VALUE, over the container's own
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

}  // namespace hutch
