// The mounts a parent makes for a child that has a user namespace of its own, detached (the new
// mount API), handed over as fds before "go" (sync::Kind::kMount) and attached by the child with
// move_mount (runtime/rootfs.cpp).
//
// Why the parent: in its own user namespace the child is root only over what that namespace
// owns. Once it has taken the namespace's ids it cannot look up a host path those ids may not
// search (the state root, a volume under /root), and an overlay it mounted itself would belong
// to its namespace, where the image's whiteouts (trusted.overlay.* xattrs) do not count. The
// parent, root on the host, opens each source as a detached copy (open_tree OPEN_TREE_CLONE) and
// builds the overlay root (fsopen, fsconfig, fsmount), as runc 1.2 and crun hand mount fds over.
//
// Ids: an image's layers (or the rootfs directory) are the host root's and stay so. Each layer is
// mounted idmapped with the container's user namespace (MOUNT_ATTR_IDMAP, Linux 5.12), so its
// files show inside with the ids they have on disk, root's as root's. The overlay's upper dir is
// the container's own and belongs to its root's host id: what the container writes lands on
// disk with the mapped ids, as under Docker's userns-remap, and the layers are never written.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/fd.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/spec.hpp"
#include "runtime/sync.hpp"

namespace hutch::detached {

struct Bind {
    std::string source;  // the host path, as the spec names it
    bool recursive = false;
    Fd mount;
};

struct Mounts {
    Fd root;  // the container's root; empty: the child mounts it itself (no user namespace)
    std::vector<Bind> binds;
    // The child's own handle on the root's mount point, opened before it takes its namespace's
    // ids (the state root is the host root's alone).
    Fd mount_point;

    // The detached copy of `source` (as recursive as asked), or nullptr.
    const Bind* find(const std::string& source, bool recursive) const;
};

// Whether the child gets its mounts from the parent: a new user namespace.
bool needed(const Spec& spec);

// The parent's half, once the child's id maps are written: the root and every bind source of
// the spec's mounts and the plan's generated files, detached. `userns` is the child's user
// namespace (/proc/PID/ns/user), whose maps the idmapped mounts take.
Mounts prepare(const Spec& spec, const RootfsPlan& plan, int userns);

// Sends `mounts` over the start socket, one kMount message each; the child keeps them until
// "go" (receive_until_go).
void send(int socket, const Mounts& mounts);

// The child's half: receives mounts into `into` until "go", and returns that message (or what
// came instead: an EOF when the parent is gone).
sync::Message receive_until_go(int socket, Mounts& into);

}  // namespace hutch::detached
