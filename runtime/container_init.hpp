// The child half of a start: everything the container's first process does between clone3
// and execve of the user's command, in one ordered checklist (see container_init.cpp).
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "caps/seccomp_filter.hpp"
#include "netns/attach.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/spec.hpp"

namespace hutch {

// A namespace to enter with setns: opened by the parent, joined by the child.
struct NamespaceJoin {
    int fd;
    int clone_flag;    // CLONE_NEWNET, CLONE_NEWIPC
    std::string path;  // for messages
};

struct InitContext {
    const Spec& spec;
    const RootfsPlan& rootfs;
    int sync_fd;
    std::vector<NamespaceJoin> joins;
    std::optional<net::ChildNetwork> network;  // eth0 to configure on a bridge network
    // Exec the command through the sealed-memfd trampoline (CVE-2019-5736); when the kernel
    // forbids executable memfds, hutch runs from a sealed binary instead (runtime/seal.hpp).
    bool exec_through_trampoline;
    // The compiled linux.seccomp filter, installed last; null: unconfined.
    const seccomp::Program* seccomp;
    // Pipes standing in for host files and terminals, dup2'ed onto 0, 1, 2 (-1: keep as inherited).
    std::array<int, 3> stdio;
    // `hutch oci create|run`: the container's exec.fifo, opened O_PATH. Once assembled, the child
    // says kCreated and blocks opening it for writing until `start` opens it for reading.
    int start_fifo = -1;
    // `hutch oci create`: the parent exits after kCreated; from then on the child neither dies
    // with it nor reports to it (errors go to the container's stderr, as runc's do).
    bool outlives_parent = false;
    // hutch profile: an observing filter installed before `seccomp`; a listener it makes is sent
    // to the parent as kListener.
    const seccomp::Program* listener_filter = nullptr;
    int preserve_fds = 0;  // OCI --preserve-fds: fds 3 to 2+N reach the command
    // linux.seccomp.listenerPath, connected by the parent: the filter's listener goes there.
    int seccomp_agent = -1;
    // Rootless --userns nomap: the user's own id is not in the namespace, so its root may not
    // reach the user's directories (the state under $XDG_RUNTIME_DIR): the child mounts the root
    // and opens the host files it binds while it is still the user.
    bool own_id_unmapped = false;
};

// Never returns: execs the command, or reports the failure to the parent and exits with 125,
// 126 or 127.
[[noreturn]] void container_init(const InitContext& context);
// The checklist itself: returns only by throwing (Linux: the exec replaced the process). What
// container_init runs, and what the ordering tests run against a recording kernel.
void container_init_steps(const InitContext& context);

// `hutch exec`'s child: a process added to a running container.
struct ExecInitContext {
    const Spec& spec;  // the container's spec, with this process's args, env, user, cwd, terminal
    int sync_fd;
    int target_pidfd;  // the container's first process: its namespaces are joined
    std::array<int, 3> stdio;
    bool exec_through_trampoline;
    const seccomp::Program* seccomp;
    bool outlives_parent = false;  // oci exec --detach: the parent returns once the command runs
    int preserve_fds = 0;          // oci exec --preserve-fds
    int time_ns_fd = -1;           // the container's time namespace, when it has one of its own
    int seccomp_agent = -1;        // linux.seccomp.listenerPath, connected by the parent
    std::string container_state;   // the container's OCI state, for that agent
};
[[noreturn]] void exec_init(const ExecInitContext& context);
void exec_init_steps(const ExecInitContext& context);

}  // namespace hutch
