// Assembling the container's filesystem, in the child, before pivot_root.
//
// The order matters and is fixed here:
//   1. make every mount private (nothing may propagate to the host);
//   2. the root: an overlay whose upper dir is the container's own (the rootfs is never
//      written), or a read-only bind for --read-only (read-only at once, so no later step can
//      write into the user's rootfs);
//   3. the spec's mounts in order (proc, /dev with its nodes, devpts, sysfs, cgroup, mqueue,
//      shm, tmpfs, volumes), each target opened inside the root;
//   4. the pty's /dev/console, the generated /etc files;
//   5. masked and read-only paths last, so no mount from step 3 can cover them;
//   6. pivot_root into it and detach the host's tree.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <optional>
#include <utility>

#include "runtime/fd.hpp"
#include "runtime/mounts.hpp"
#include "runtime/spec.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch {

struct RootfsPlan {
    std::string merged_dir;  // host path where the root is assembled
    std::string upper_dir, work_dir;  // overlay layers (writable root)
    // A user namespace (runtime/detached_mounts.hpp): where the parent stages the bind sources'
    // copies, in a mount namespace the child's is copied from; the root is staged at merged_dir.
    std::string staging_dir;
    // Without staging: the parent's idmapped copy of spec.mounts[i] (an fd the child inherits,
    // attached in place of its bind), -1 or absent where the mount is not idmapped.
    std::vector<int> idmapped_binds;
    // Rootless: the overlay's xattrs are user.overlay.* (userxattr, Linux 5.11), the only ones
    // an overlay mounted in a user namespace may use.
    bool user_xattr = false;
    // Generated files bind-mounted over the rootfs' own; empty: not generated.
    std::string hosts_file, resolv_file, hostname_file;
    // The container's cgroup directories (host paths, one per hierarchy it was placed in): the
    // only cgroups its /sys/fs/cgroup shows.
    std::vector<std::string> cgroups;
};

// The child's handles on what the parent staged (a user namespace), opened before the child
// takes its namespace's ids: the root, mounted at the merged dir, the directory holding the
// merged dir, and the staging dir holding a copy of each bind source (runtime/detached_mounts.hpp).
struct StagedMounts {
    Fd root, holder, dir;
};

class RootfsBuilder {
public:
    // `staged`: the parent made the root and the bind sources' copies; nullptr: the child
    // mounts them itself.
    RootfsBuilder(const Spec& spec, const RootfsPlan& plan, const StagedMounts* staged = nullptr)
        : spec_(spec), plan_(plan), staged_(staged) {}

    // Steps 1-3.
    void assemble();
    // Opens the directories the root is made of (the merged dir, the overlay's layers) and the
    // host files the later steps bind (the generated /etc files, bind sources), for a process
    // about to lose the right to reach them (rootless --userns nomap); the steps use these (the
    // overlay through /proc/self/fd). A path that cannot be opened now is left to its step.
    void open_host_files_now();
    // Opens the container's /dev/pts/ptmx (the new devpts instance) read-write.
    Fd open_ptmx() const;
    void bind_console(int slave_fd) const;
    void finish();  // steps 4-5: etc files, masked and read-only paths
    // Step 6: pivot_root into the assembled root; afterwards "/" is the container's.
    void pivot();

private:
    void mount_root();
    void mount_overlay_by_fd();
    void mount_one(const Mount& m, std::size_t index);
    void mount_cgroups(const Mount& m);
    void populate_dev();
    void create_spec_devices();
    void bind_host_device(const std::string& path, mode_t type, dev_t number);
    void write_sysctls();
    void mask_paths();
    void readonly_paths();
    void bind_generated(const std::string& file, const char* destination);
    // The host's /sys bound read-only at `target` (a sysfs this namespace may not mount).
    void bind_host_sys(const Fd& target, const std::string& destination, const std::string& shown);
    // The parent's copy of a bind source, by its name in the staging dir.
    Fd staged_copy(const std::string& name, const std::string& source) const;

    const Spec& spec_;
    const RootfsPlan& plan_;
    const StagedMounts* staged_;
    sys::Kernel& kernel_ = sys::kernel();
    // A file open_host_files_now opened (a dup of it), else `path` opened now, O_PATH.
    Fd open_host(const std::string& path) const;
    std::vector<std::pair<std::string, Fd>> opened_;
    std::optional<mnt::Root> root_;
    Fd dev_null_;  // the /dev/null hutch created, verified, used to mask files
};

}  // namespace hutch
