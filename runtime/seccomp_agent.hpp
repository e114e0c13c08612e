#pragma once
// linux.seccomp.listenerPath: a seccomp agent's UNIX socket, which answers the calls the filter
// sends it (SCMP_ACT_NOTIFY). The protocol is runc's (config-linux.md#seccomp): one message
// whose data is the process's state as JSON and whose one SCM_RIGHTS fd is the listener.
//
// The parent connects (an agent that is not there fails create, naming the path); the child
// keeps the socket across its fd cleanup, installs its filter and sends the listener right
// after, before its exec, so no call of the command is notified before the agent has the fd.

#include <sys/types.h>

#include <string>

#include "runtime/fd.hpp"
#include "runtime/spec.hpp"

namespace hutch::seccomp_agent {

// The spec's listenerPath, connected (SOCK_STREAM, close-on-exec); empty when it names none.
Fd connect(const Spec& spec);

// This process's pid in the host's pid namespace, read through the host's /proc: called before
// the container's mount namespace replaces it.
pid_t host_pid();

// {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}: runc's
// ContainerProcessState, `state_json` the container's OCI state. Made before the filter goes in
// (it allocates); sent after with the listener attached, one sendmsg.
std::string message(pid_t pid, const std::string& metadata, const std::string& state_json);
void send(int agent, int listener, const std::string& message);

}  // namespace hutch::seccomp_agent
