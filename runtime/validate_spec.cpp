// The checks every Spec passes before anything is made, whichever front-end built it: an OCI
// bundle's config.json is hostile input, and `hutch run`'s Spec goes through the same door.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/detached_mounts.hpp"
#include "runtime/devices.hpp"
#include "runtime/error.hpp"
#include "runtime/launch.hpp"
#include "runtime/mounts.hpp"
#include "runtime/rlimits.hpp"
#include "runtime/userns.hpp"
#include "runtime/validate.hpp"

namespace hutch {
namespace {

// A sysctl the container may set: one the kernel keeps per namespace, in a namespace of the
// container's own (config-linux.md leaves this to the runtime; runc's list). Anything else would
// be written into the host's kernel.
void validate_sysctl(const Spec& spec, const std::string& key, const std::string& value) {
    auto bad = [&](const std::string& why) { throw UsageError("sysctl \"" + key + "\": " + why); };
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos ||
        key.front() == '.' || key.back() == '.' || validate::has_control(key))
        bad("not a sysctl name");
    if (validate::has_control(value)) bad("the value holds control characters");
    static const char* kIpc[] = {"kernel.msgmax", "kernel.msgmnb",  "kernel.msgmni",         "kernel.sem",
                                 "kernel.shmall", "kernel.shmmax",  "kernel.shmmni",         "kernel.shm_rmid_forced"};
    bool ipc = key.rfind("fs.mqueue.", 0) == 0 ||
               std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc);
    if (ipc) {
        if (!spec.has_new_namespace(NamespaceType::kIpc)) bad("needs a new ipc namespace");
        return;
    }
    if (key.rfind("net.", 0) == 0) {
        if (!spec.has_new_namespace(NamespaceType::kNetwork)) bad("needs a new network namespace");
        return;
    }
    if (key == "kernel.hostname" || key == "kernel.domainname") {
        if (!spec.has_new_namespace(NamespaceType::kUts)) bad("needs a new uts namespace");
        return;
    }
    bad("not namespaced: it would change the host");
}

void check_root_and_command(const Spec& spec) {
    struct stat st {};
    if (spec.root.path.empty() || spec.root.path[0] != '/')
        throw UsageError("invalid rootfs \"" + spec.root.path + "\": the path must be absolute");
    if (::stat(spec.root.path.c_str(), &st) != 0)
        throw UsageError("invalid rootfs \"" + spec.root.path + "\": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
        throw UsageError("invalid rootfs \"" + spec.root.path + "\": not a directory");
    if (spec.process.args.empty()) throw UsageError("the spec has no command (process.args)");
    for (const auto& layer : spec.hutch.layers)
        if (::stat(layer.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            throw UsageError("the image's layer " + layer + " is missing (was the image removed?)");
    // Without its own mount namespace, assembling the root would mount onto the host's.
    if (!spec.has_new_namespace(NamespaceType::kMount))
        throw UsageError("the spec must give the container a new mount namespace (linux.namespaces: mount)");
    static const char* kPropagations[] = {"private", "rprivate", "shared",     "rshared",
                                          "slave",   "rslave",   "unbindable", "runbindable"};
    const std::string& propagation = spec.linux.rootfs_propagation;
    if (!propagation.empty() && std::find(std::begin(kPropagations), std::end(kPropagations), propagation) ==
                                    std::end(kPropagations))
        throw UsageError("linux.rootfsPropagation \"" + propagation +
                         "\": must be [r]private, [r]shared, [r]slave or [r]unbindable");
}

// An idmapped bind (idmap, ridmap, or mounts[].uidMappings/gidMappings), made by the parent
// (runtime/detached_mounts.hpp): with maps of its own, both and sane (runc asks for both); without,
// the container's user namespace gives them, so it must have one.
void check_idmapped(const Spec& spec, const Mount& m, const mnt::Options& o) {
    const bool own_maps = !m.uid_mappings.empty() || !m.gid_mappings.empty();
    if (!o.idmap && !own_maps) return;
    const std::string what = "mount " + m.destination;
    if (!o.bind) throw UsageError(what + ": only a bind mount can be idmapped (idmap, ridmap, uidMappings)");
    if (spec.hutch.rootless)
        throw UsageError(what + ": an idmapped mount needs root (only the host's root may idmap the host's filesystems)");
    // hutch run's are staged (a user namespace) or refused before this; an OCI bundle's are made
    // after the clone (detached::idmapped_binds).
    if (spec.hutch.root == HutchSection::RootKind::kOverlay && !detached::needed(spec))
        throw UsageError(what + ": idmap needs a user namespace (--uidmap, or the host config's \"userns-remap\")");
    if (own_maps) {
        if (detached::needed(spec))
            throw UsageError(what + ": maps of its own (uidMappings) are not taken with hutch run's user namespace");
        if (m.uid_mappings.empty() || m.gid_mappings.empty())
            throw UsageError(what + ": an idmapped mount needs both uidMappings and gidMappings");
        userns::check_ranges(m.uid_mappings, what + ": uidMappings");
        userns::check_ranges(m.gid_mappings, what + ": gidMappings");
    } else if (!spec.has_namespace(NamespaceType::kUser)) {
        throw UsageError(what + ": " + (o.idmap_recursive ? "ridmap" : "idmap") +
                         " without uidMappings takes the user namespace's maps, and the container has none");
    }
}

void check_mounts(const Spec& spec) {
    static const char* kTypes[] = {"proc", "tmpfs", "devpts", "sysfs", "cgroup", "mqueue", "bind"};
    for (const auto& m : spec.mounts) {
        if (m.destination.empty() || m.destination[0] != '/')
            throw UsageError("mount destination \"" + m.destination + "\" must be absolute");
        bool known = std::find(std::begin(kTypes), std::end(kTypes), m.type) != std::end(kTypes);
        mnt::Options o = mnt::parse_options(m.options);  // throws on an unknown option
        if (!known && !o.bind)
            throw UsageError("mount " + m.destination + ": unsupported type \"" + m.type + "\"");
        check_idmapped(spec, m, o);
    }
    for (const auto& m : spec.mounts) {
        // Anything but procfs on /proc, or over a file in it, would make the masked and
        // read-only paths meaningless (runc's checkProcMount); lxcfs-style binds over these few
        // files are the exception runc also makes.
        static const char* kProcFilesMayBind[] = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",
                                                  "/proc/stat",    "/proc/swaps",     "/proc/uptime",
                                                  "/proc/loadavg", "/proc/slabinfo",  "/proc/net/dev"};
        bool in_proc = m.destination == "/proc" || m.destination.rfind("/proc/", 0) == 0;
        if (!in_proc || (m.destination == "/proc" && m.type == "proc")) continue;
        if (std::find(std::begin(kProcFilesMayBind), std::end(kProcFilesMayBind), m.destination) !=
            std::end(kProcFilesMayBind))
            continue;
        throw UsageError("mount on " + m.destination + " refused: only procfs may be mounted on /proc");
    }
}

void check_no_duplicates(const Spec& spec) {
    for (std::size_t i = 0; i < spec.process.rlimits.size(); ++i) {
        rlimit_resource(spec.process.rlimits[i].type);  // throws on an unknown name
        for (std::size_t j = 0; j < i; ++j)
            if (spec.process.rlimits[j].type == spec.process.rlimits[i].type)
                throw UsageError("process.rlimits: " + spec.process.rlimits[i].type + " is given twice");
    }
    for (std::size_t i = 0; i < spec.linux.namespaces.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (spec.linux.namespaces[j].type == spec.linux.namespaces[i].type)
                throw UsageError("linux.namespaces: the " + std::string(namespace_name(spec.linux.namespaces[i].type)) + " namespace is given twice");
}

void check_devices(const Spec& spec) {
    devices::container_policy(spec.linux);  // throws UsageError naming a bad device rule
    for (const auto& d : spec.linux.devices) {
        if (d.path.size() < 6 || d.path.rfind("/dev/", 0) != 0 || d.path.find("/../") != std::string::npos ||
            d.path.ends_with("/.."))
            throw UsageError("linux.devices: path \"" + d.path + "\" must lie below /dev");
        if (d.type != "c" && d.type != "u" && d.type != "b" && d.type != "p")
            throw UsageError("linux.devices " + d.path + ": unknown type \"" + d.type + "\"");
    }
}

void check_namespaces(const Spec& spec) {
    for (const auto& ns : spec.linux.namespaces) {
        // An unknown type was refused where the JSON was read (spec_from_json).
        // Not a mount namespace: the root is assembled in a new one. A user namespace is
        // entered by a helper that clones the child from inside it (launch_oci.cpp).
        bool joinable = ns.type == NamespaceType::kNetwork || ns.type == NamespaceType::kIpc ||
                        ns.type == NamespaceType::kPid || ns.type == NamespaceType::kUts ||
                        ns.type == NamespaceType::kCgroup || ns.type == NamespaceType::kTime ||
                        ns.type == NamespaceType::kUser;
        if (!ns.path.empty() && !joinable)
            throw UsageError("joining a " + std::string(namespace_name(ns.type)) + " namespace is not supported yet");
    }
    // Offsets are written into a namespace before its first process enters it, so only a new
    // one can have them (runc's rule too).
    if (!spec.linux.time_offsets.empty() && !spec.has_new_namespace(NamespaceType::kTime))
        throw UsageError("linux.timeOffsets needs a new time namespace (linux.namespaces: time without a path)");
    if (spec.has_namespace(NamespaceType::kTime) && ::access("/proc/self/ns/time", F_OK) != 0)
        throw UsageError("linux.namespaces: time: this kernel has no time namespaces (CONFIG_TIME_NS, Linux 5.6)");
    // As runc: a hostname set in a joined uts namespace (or the host's) would rename that one.
    if ((!spec.hostname.empty() || !spec.domainname.empty()) && !spec.has_new_namespace(NamespaceType::kUts))
        throw UsageError("a hostname or domainname needs a new uts namespace (linux.namespaces: uts without a path)");
    if (!spec.has_new_namespace(NamespaceType::kUser)) {
        // A joined one has its own maps: given, they must be those (runc 1.2's rule), which
        // hutch can read for a /proc/PID/ns/user path (hutch run's joins of another container).
        if (!spec.linux.uid_mappings.empty() || !spec.linux.gid_mappings.empty()) {
            const auto joined = std::find_if(spec.linux.namespaces.begin(), spec.linux.namespaces.end(),
                                             [](const Namespace& ns) { return ns.type == NamespaceType::kUser; });
            const auto own = joined == spec.linux.namespaces.end() ? std::nullopt : userns::maps_of_joined(joined->path);
            if (!own && joined != spec.linux.namespaces.end() && joined->path.starts_with("/proc/"))
                throw UsageError("the user namespace to join, " + joined->path + ", is gone (its process ended: the container "
                                 "it belonged to stopped or restarted)");
            if (!own || own->first != spec.linux.uid_mappings || own->second != spec.linux.gid_mappings)
                throw UsageError("linux.uidMappings and gidMappings need a new user namespace (linux.namespaces: user without a "
                                 "path; a joined one has its own maps, which given must be the same)");
        }
        return;
    }
    if (spec.linux.uid_mappings.empty() || spec.linux.gid_mappings.empty())
        throw UsageError("a new user namespace needs linux.uidMappings and linux.gidMappings");
    auto maps_root = [](const std::vector<IdMapping>& maps) {
        return std::any_of(maps.begin(), maps.end(), [](const IdMapping& m) { return m.container_id == 0; });
    };
    // The container's first process assembles the root as its namespace's root.
    if (!maps_root(spec.linux.uid_mappings) || !maps_root(spec.linux.gid_mappings))
        throw UsageError("linux.uidMappings and gidMappings must map the container's id 0");
    // The parent's thread enters joined net and uts namespaces for the clone (launch_internal.hpp,
    // JoinedForTheClone), as runc joins them before it unshares the user namespace; a joined
    // pid namespace is the parent's already. A joined ipc namespace would leave the container
    // unable to mount its /dev/mqueue, a joined cgroup namespace would take the clone out of
    // its cgroup's reach (nsdelegate), and a user, mount or time namespace cannot be entered
    // that way: owned by another user namespace, each is refused.
    for (const auto& ns : spec.linux.namespaces)
        if (!ns.path.empty() && ns.type != NamespaceType::kNetwork && ns.type != NamespaceType::kUts && ns.type != NamespaceType::kPid)
            throw UsageError("joining a " + std::string(namespace_name(ns.type)) + " namespace together with a new user namespace is not supported yet");
}

}  // namespace

// In the order the errors were always reported: the root and command, mounts, limits and
// namespaces given twice, sysctls, devices, then which namespaces can be made or joined.
// A rootless spec (runtime/rootless.hpp) is only a user's: root hutch never takes one (it skips
// the device policy). Its limits go into a cgroup delegated to the user, or the start is refused.
void check_rootless(const Spec& spec) {
    if (!spec.hutch.rootless) return;
    if (::geteuid() == 0) throw UsageError("this container was made by rootless hutch: run it as its user");
}

void validate_spec(const Spec& spec) {
    check_root_and_command(spec);
    check_rootless(spec);
    if (detached::needed(spec)) detached::check_kernel(spec.hutch.layers.empty() ? spec.root.path : spec.hutch.layers.front());
    check_mounts(spec);
    check_no_duplicates(spec);
    for (const auto& [key, value] : spec.linux.sysctl) validate_sysctl(spec, key, value);
    check_devices(spec);
    check_namespaces(spec);
}

}  // namespace hutch
