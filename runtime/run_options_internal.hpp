// The parts of build_run_spec (runtime/run_options.hpp) that live in files of their own: the
// modes every step reads, and the user-namespace steps (run_options_userns.cpp).
#pragma once

#include <variant>

#include "runtime/run_modes.hpp"
#include "runtime/run_options.hpp"

namespace hutch::run_detail {

// The modes, parsed once; the joined containers looked up (running_container) as they come.
struct Modes {
    NamespaceMode pid, ipc, uts;
    NetworkMode network;
    HostFacts::JoinedContainer joined_net;  // with ContainerNetwork
    bool host_net() const { return std::holds_alternative<HostNetwork>(network); }
    bool join_net() const { return std::holds_alternative<ContainerNetwork>(network); }
    bool own_net() const { return !host_net() && !join_net(); }
};

// --userns, --uidmap/--gidmap, the host config's userns-remap, rootless hutch's maps, and the
// joins of another container's user namespace (--pid/--ipc container:): a new or joined user
// namespace and its maps, or none. What a user namespace cannot share with the host is refused,
// with Docker's words where Docker refuses it too.
void set_user_namespace(Spec& s, const RunOptions& o, const Modes& m, const HostFacts& host);
// Rootless hutch: what only root can give is refused, one line saying why, never skipped.
void fit_rootless(const Spec& s, const RunOptions& o, const Modes& m, const HostFacts& host);
// In a user namespace, the ids the container uses must be ones it maps (the process's, devpts'
// tty group); -v :idmap needs one.
void fit_user_namespace(Spec& s);

}  // namespace hutch::run_detail
