// The mounts of a `hutch run` container with a user namespace of its own, made by the parent
// before clone3 and staged in a mount namespace the child's is copied from.
//
// Why the parent: in its own user namespace the child is root only over what that namespace
// owns. Once it has taken the namespace's ids it cannot look up a host path those ids may not
// search (a volume under /root), and an overlay it mounted itself would belong to its
// namespace, where the image's whiteouts (trusted.overlay.* xattrs) do not count. The parent,
// root on the host, makes the overlay root (fsopen, fsconfig, fsmount) and a detached copy of
// every bind source (open_tree OPEN_TREE_CLONE).
//
// Why staged: a mount namespace copied into a less privileged user namespace has every mount
// locked (MNT_LOCKED and the read-only/nosuid/nodev/noexec locks): the container cannot unmount
// a volume's submounts to see what they hide, nor make a read-only host mount writable. Copies
// moved into the child's namespace would not be locked. So the parent's thread enters a private
// mount namespace of its own, attaches the root at the merged dir and each copy on a tmpfs at
// the staging dir, and clones the child from there; the child's namespace is a locked copy of it.
// The child binds each volume from its staged copy and pivots into the root; the staging
// namespace dies when the parent's thread leaves it. Nothing of it is ever visible on the host.
//
// Ids: an image's layers (or the rootfs directory) are the host root's and stay so. Each layer is
// mounted idmapped (MOUNT_ATTR_IDMAP, Linux 5.12) with a user namespace of the container's maps,
// so its files show inside with the ids they have on disk. The overlay's upper dir is the
// container's own and belongs to its root's host id: what the container writes lands on disk
// with the mapped ids, as under Docker's userns-remap, and the layers are never written.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "runtime/fd.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/spec.hpp"

namespace hutch::detached {

// Whether the parent makes the mounts: root hutch's new user namespace over its overlay root
// (rootless hutch cannot idmap, so its child mounts the root as an OCI child does). (An OCI
// bundle's rootfs and binds are the child's, from its locked copy of the host's namespace, as
// runc makes them: the bundle is searchable by the container's ids.)
bool needed(const Spec& spec);

// Throws UsageError when this kernel cannot stack detached copies of `layer` under overlayfs by
// fd ("lowerdir+", Linux 6.13; detached layers, 6.15): before anything of the container is made.
void check_kernel(const std::string& layer);

// The name in the staging dir of the copy for spec.mounts[index], and for a generated file
// ("hosts", "resolv.conf", "hostname": the plan's file names).
std::string staged_mount(std::size_t index);
std::string staged_file(const std::string& generated_path);

// The idmapped binds of a container the parent does not stage (an OCI bundle's idmap and ridmap
// mounts, or mounts[].uidMappings), made as runc makes them: after clone3, before "go", this
// thread (root on the host) enters the child's mount namespace and takes a detached copy of
// each source there (open_tree), so a child in a user namespace gets copies of its own locked
// mounts (submounts stay locked, and so do a read-only host mount's flags), slaves of the
// host's where its copies are; MOUNT_ATTR_IDMAP is set on each before the child attaches it
// (move_mount) in place of its own bind. The maps are the mount's own (a helper's user
// namespace), else the child's user namespace itself (a new or a joined one). One per
// spec.mounts index, empty where the mount is not idmapped; none at all when no mount is.
std::vector<Fd> idmapped_binds(const Spec& spec, pid_t child);

// This thread in another mount namespace for a while. Where it was (the namespace, its root
// and working directory: setns moves both) is put back by leave(); a failure there ends hutch
// (exit 125), since a thread left behind would take every later start's mounts from the wrong
// tree.
class MountNamespaceVisit {
public:
    MountNamespaceVisit();  // records where the thread is
    MountNamespaceVisit(const MountNamespaceVisit&) = delete;
    MountNamespaceVisit& operator=(const MountNamespaceVisit&) = delete;
    void leave();
    ~MountNamespaceVisit() { leave(); }

private:
    Fd home_, cwd_, root_;
};

// The parent's half, between the plan and clone3.
class Staging {
public:
    // Makes the root and the copies, then enters a new mount namespace for this thread, makes
    // it private and attaches them there (the root at plan.merged_dir, the copies at
    // plan.staging_dir).
    Staging(const Spec& spec, const RootfsPlan& plan);
    Staging(const Staging&) = delete;
    Staging& operator=(const Staging&) = delete;
    // Back to the thread's own mount namespace, working directory and root: right after clone3,
    // in the parent. A failure ends hutch (exit 125): the thread must not stay.
    void leave();
    ~Staging();

private:
    std::optional<MountNamespaceVisit> visit_;
};

}  // namespace hutch::detached
