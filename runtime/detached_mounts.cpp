#include "runtime/detached_mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/error.hpp"
#include "runtime/mounts.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/userns.hpp"

namespace hutch::detached {
namespace {

constexpr const char* kStep = "prepare the container's mounts";

// The host id the container's id 0 stands for (validate_spec made sure the maps have one).
std::uint32_t host_id_of_root(const std::vector<IdMapping>& maps) {
    if (auto id = userns::host_id(maps, 0)) return *id;
    throw Error(std::string(kStep) + ": the id maps have no container id 0");
}

// A detached copy of the tree at `path`; with `userns` >= 0 idmapped with its maps. A copy is
// a peer of the host mount it copies (a shared one shares its mounts both ways), so it is made
// private unless `keep_peers` (a volume whose propagation the child then sets, as without a
// user namespace).
Fd copy_of(const std::string& path, bool recursive, int userns, bool keep_peers = false) {
    sys::Kernel& k = sys::kernel();
    Fd tree(k.open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
    if (!tree) throw SysError(kStep, "open_tree", path, errno);
    if (!keep_peers && k.mount_setattr(tree.get(), recursive, 0, 0, -1, MS_PRIVATE) != 0)
        throw SysError(kStep, "mount_setattr(MS_PRIVATE)", path, errno);
    if (userns >= 0 && k.mount_setattr(tree.get(), recursive, MOUNT_ATTR_IDMAP, 0, userns) != 0) {
        const int err = errno;
        // EINVAL: the filesystem cannot be idmapped (tmpfs before Linux 6.3, say) or the kernel
        // has no idmapped mounts at all (before 5.12).
        throw SysError(std::string(kStep) + ": an idmapped mount of " + path +
                           " (MOUNT_ATTR_IDMAP: Linux 5.12, and a filesystem that supports it)",
                       "mount_setattr", path, err);
    }
    return tree;
}

// What the overlay's fs context logged about a failed step ("overlay: ..."), for the message.
std::string context_log(int fs) {
    char buf[512];
    std::string out;
    for (ssize_t n; (n = ::read(fs, buf, sizeof buf - 1)) > 0;) {
        buf[n] = '\0';
        out += (out.empty() ? "" : "; ") + std::string(buf + (n > 2 && buf[1] == ' ' ? 2 : 0));
    }
    return out;
}

// hutch's overlay root over idmapped layers: the image's layer dirs (top first) or the rootfs,
// each a detached idmapped copy given to overlayfs by fd ("lowerdir+", Linux 6.13, and detached
// layers, 6.15); the upper and work dirs by path, the container's own.
Fd overlay_root(const Spec& spec, const RootfsPlan& plan, int userns) {
    sys::Kernel& k = sys::kernel();
    std::vector<std::string> layers = spec.hutch.layers.empty() ? std::vector<std::string>{spec.root.path} : spec.hutch.layers;
    Fd fs(k.fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) throw SysError(kStep, "fsopen", "overlay", errno);
    // Held until the overlay is made: closing a detached mount's last fd unmounts it, and
    // overlayfs takes only mounted layers.
    std::vector<Fd> lowers;
    for (const auto& layer : layers) {
        const Fd& lower = lowers.emplace_back(copy_of(layer, false, userns));
        if (k.fsconfig(fs.get(), FSCONFIG_SET_FD, "lowerdir+", nullptr, lower.get()) != 0) {
            const int err = errno;
            throw SysError(std::string(kStep) + ": overlayfs takes no layer by fd on this kernel (\"lowerdir+\" by fd: Linux 6.13)" +
                               (context_log(fs.get()).empty() ? "" : ": " + context_log(fs.get())),
                           "fsconfig", layer, err);
        }
    }
    // The upper dir belongs to the container's root: the overlay creates what the container
    // writes with the ids the container sees, mapped back to the host's.
    const uid_t uid = host_id_of_root(spec.linux.uid_mappings);
    const gid_t gid = host_id_of_root(spec.linux.gid_mappings);
    check(k.fchownat(AT_FDCWD, plan.upper_dir.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW), kStep, "fchownat", plan.upper_dir);
    for (const auto& [key, dir] : {std::pair{"upperdir", &plan.upper_dir}, {"workdir", &plan.work_dir}})
        if (k.fsconfig(fs.get(), FSCONFIG_SET_STRING, key, dir->c_str(), 0) != 0)
            throw SysError(kStep, std::string("fsconfig ") + key, *dir, errno);
    if (k.fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
        const int err = errno;
        const std::string log = context_log(fs.get());
        throw SysError(std::string(kStep) + ": the overlay on idmapped layers (detached layers: Linux 6.15)" +
                           (log.empty() ? "" : ": " + log),
                       "fsconfig(FSCONFIG_CMD_CREATE)", "overlay", err);
    }
    Fd root(k.fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
    if (!root) throw SysError(kStep, "fsmount", "overlay", errno);
    return root;
}

}  // namespace

const Bind* Mounts::find(const std::string& source, bool recursive) const {
    auto it = std::find_if(binds.begin(), binds.end(),
                           [&](const Bind& b) { return b.source == source && b.recursive == recursive; });
    return it == binds.end() ? nullptr : &*it;
}

bool needed(const Spec& spec) { return spec.has_new_namespace(NamespaceType::kUser); }

Mounts prepare(const Spec& spec, const RootfsPlan& plan, int userns) {
    Mounts out;
    // An OCI bundle's rootfs is bound whole, with the ids it has (runc idmaps no root);
    // hutch's own root is an overlay on idmapped layers.
    out.root = spec.hutch.root == HutchSection::RootKind::kBind ? copy_of(spec.root.path, true, -1)
                                                                 : overlay_root(spec, plan, userns);
    auto add = [&](const std::string& source, bool recursive, bool idmap, bool keep_peers) {
        if (source.empty() || out.find(source, recursive)) return;
        out.binds.push_back({source, recursive, copy_of(source, recursive, idmap ? userns : -1, keep_peers)});
    };
    for (const auto& m : spec.mounts) {
        mnt::Options o = mnt::parse_options(m.options);
        if (m.type == "bind" || o.bind) add(m.source, o.recursive, o.idmap, o.propagation & (MS_SHARED | MS_SLAVE));
    }
    for (const auto* file : {&plan.hosts_file, &plan.resolv_file, &plan.hostname_file}) add(*file, false, false, false);
    return out;
}

void send(int socket, const Mounts& mounts) {
    sync::send(socket, sync::Kind::kMount, 1, "", mounts.root.get());
    for (const auto& b : mounts.binds) sync::send(socket, sync::Kind::kMount, b.recursive ? 1 : 0, b.source, b.mount.get());
}

sync::Message receive_until_go(int socket, Mounts& into) {
    for (;;) {
        sync::Message m = sync::receive(socket);
        if (m.eof || m.kind != sync::Kind::kMount) return m;
        if (!m.fd) throw Error("start protocol: a mount message without its mount");
        if (m.text.empty()) into.root = std::move(m.fd);
        else into.binds.push_back({m.text, m.recursive(), std::move(m.fd)});
    }
}

}  // namespace hutch::detached
