// build_run_spec's user-namespace steps (runtime/run_options_internal.hpp): the maps of a new
// user namespace (--uidmap, --userns auto/keep-id, userns-remap, rootless hutch's), a joined
// one's (--pid/--ipc container:), and what a user namespace or rootless hutch refuses.
#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/pasta.hpp"
#include "runtime/rootless.hpp"
#include "runtime/run_options_internal.hpp"
#include "runtime/userns.hpp"

namespace hutch::run_detail {
namespace {

// The ranges of `name` in /etc/subuid or /etc/subgid as one map: container ids 0, 1, ... run
// through them in order, as Docker's userns-remap lays them out.
// `why` says what needs the ranges, for the errors.
std::vector<IdMapping> remap_ranges(const HostFacts& host, const std::string& file, const std::string& name,
                                    const std::string& why = "the host config's \"userns-remap\"") {
    std::string text;
    try {
        text = host.read_host_file(file);
    } catch (const UsageError& e) {
        throw UsageError(why + ": " + e.what());
    }
    std::vector<IdMapping> map = userns::subordinate_ranges(text, name, file);
    if (map.empty())
        throw UsageError(file + " has no entry for " + name + " (" + why + " maps containers onto it; "
                         "add a line such as " + name + ":100000:65536)");
    std::uint64_t next = 0;
    for (auto& range : map) {
        if (next + range.size > 0xffffffffull) throw UsageError(file + ": the ranges of " + name + " add up to more than 2^32-1 ids");
        range.container_id = static_cast<std::uint32_t>(next);
        next += range.size;
    }
    return map;
}

// A map in container-id order, as the kernel lists it in /proc/PID/uid_map: maps compare equal
// whatever order their ranges were given in.
std::vector<IdMapping> sorted(std::vector<IdMapping> map) {
    std::sort(map.begin(), map.end(), [](const IdMapping& a, const IdMapping& b) { return a.container_id < b.container_id; });
    return map;
}

}  // namespace

// --userns, --uidmap/--gidmap and the host config's userns-remap: a new user namespace and its
// maps, or none. What a user namespace cannot share with the host is refused, with Docker's
// words where Docker refuses it too.
void set_user_namespace(Spec& s, const RunOptions& o, const Modes& m, const HostFacts& host) {
    const bool maps_given = !o.uidmap.empty() || !o.gidmap.empty();
    const bool keep_id = o.userns == "keep-id" || o.userns.rfind("keep-id:", 0) == 0;
    const bool nomap = o.userns == "nomap";
    if (nomap && !host.rootless)
        throw UsageError("--userns nomap is for rootless hutch (its own id left out of the container's); root's containers "
                         "never map root (--uidmap, --userns auto)");
    const bool automatic = o.userns == "auto" || o.userns.rfind("auto:", 0) == 0;
    if (host.rootless && (maps_given || o.userns == "host" || automatic))
        throw UsageError(std::string(maps_given ? "--uidmap and --gidmap" : "--userns " + o.userns) +
                         (maps_given ? " need" : " needs") + " root: rootless hutch maps the container's ids itself (0 is you, 1.. "
                         "your /etc/subuid and /etc/subgid ranges; --userns keep-id keeps your own id, nomap leaves it out)");
    if (keep_id && !host.rootless)
        throw UsageError("--userns " + o.userns + " is for rootless hutch (run by the user whose id it keeps)");
    if (!o.userns.empty() && o.userns != "host" && !automatic && !keep_id && !nomap)
        throw UsageError("invalid --userns " + in_quotes(o.userns) + (host.rootless ? ": keep-id[:uid=U,gid=G,size=N] or nomap"
                                                                                     : ": host, auto[:size=N], or --uidmap/--gidmap for a user namespace"));
    if (automatic && maps_given) throw UsageError("conflicting options: --userns auto and --uidmap/--gidmap");
    if (o.userns == "host") {
        if (maps_given) throw UsageError("conflicting options: --userns host and --uidmap/--gidmap");
        return;
    }
    std::vector<IdMapping> uids, gids;
    std::string uid_what = "--uidmap", gid_what = "--gidmap";
    if (maps_given) {
        for (const auto& t : o.uidmap) uids.push_back(userns::parse_mapping(t, "--uidmap"));
        for (const auto& t : o.gidmap) gids.push_back(userns::parse_mapping(t, "--gidmap"));
        // podman: one given alone serves for both.
        if (uids.empty()) uids = gids;
        if (gids.empty()) gids = uids;
    } else if (automatic) {
        // podman's auto: a slot of its own for each container (claimed when the record is
        // made), from hutch's ranges, or the remap config's user's.
        std::uint32_t size = userns::kSlotSize;
        if (o.userns != "auto") {
            const std::string option = o.userns.substr(5);
            std::uint32_t n = 0;
            auto [end, err] = std::from_chars(option.data() + std::min<std::size_t>(5, option.size()), option.data() + option.size(), n);
            if (option.rfind("size=", 0) != 0 || err != std::errc() || end != option.data() + option.size() || n == 0 ||
                n > userns::kSlotSize)
                throw UsageError("invalid --userns " + in_quotes(o.userns) + ": auto:size=N, N from 1 to " +
                                 std::to_string(userns::kSlotSize));
            size = n;
        }
        auto [user, group] = userns::remap_names(host.config.userns_remap.empty() ? "default" : host.config.userns_remap);
        auto& a = s.hutch.userns_auto;
        a.size = size;
        a.uid_ranges = remap_ranges(host, "/etc/subuid", user, "--userns auto");
        a.gid_ranges = remap_ranges(host, "/etc/subgid", group, "--userns auto");
        if (userns::slots_in(a.uid_ranges) == 0 || userns::slots_in(a.gid_ranges) == 0)
            throw UsageError("--userns auto needs at least " + std::to_string(userns::kSlotSize) + " ids in the entries of " +
                             user + " in /etc/subuid and " + group + " in /etc/subgid");
        // The first slot's, until the record claims the container's own: what is checked
        // against (--user, devpts' gid) is the same in every slot.
        uids = userns::map_from(a.uid_ranges, 0, size);
        gids = userns::map_from(a.gid_ranges, 0, size);
        uid_what = "--userns auto";
        gid_what = "--userns auto";
    } else if (host.rootless) {
        s.hutch.rootless = true;
        const rootless::Maps maps = keep_id ? rootless::keep_id(*host.rootless, rootless::parse_keep_id(o.userns))
                                    : nomap ? rootless::nomap(*host.rootless)
                                            : *host.rootless;
        uids = maps.uids;
        gids = maps.gids;
        uid_what = "the rootless map of /etc/subuid";
        gid_what = "the rootless map of /etc/subgid";
    } else if (!host.config.userns_remap.empty()) {
        auto [user, group] = userns::remap_names(host.config.userns_remap);
        uids = remap_ranges(host, "/etc/subuid", user);
        gids = remap_ranges(host, "/etc/subgid", group);
        uid_what = "/etc/subuid's ranges of " + user;
        gid_what = "/etc/subgid's ranges of " + group;
    } else {
        return;
    }
    userns::check_map(uids, uid_what);
    userns::check_map(gids, gid_what);
    const char* opt_out = host.rootless ? " (rootless hutch always makes one)" : " (--userns host runs it without one)";
    if (s.hutch.privileged)
        throw UsageError(host.rootless ? "--privileged needs root: rootless hutch cannot give a container the host's devices "
                                         "or its capabilities over them"
                                       : std::string("privileged mode is incompatible with user namespaces") + opt_out);
    if (m.host_net()) throw UsageError(std::string("cannot share the host's network namespace when user namespaces are enabled") + opt_out);
    if (m.pid.host()) throw UsageError(std::string("cannot share the host PID namespace when user namespaces are enabled") + opt_out);
    if (m.ipc.host())
        throw UsageError(std::string("cannot share the host IPC namespace when user namespaces are enabled: its /dev/mqueue "
                                     "cannot be mounted from inside") + opt_out);
    // A network namespace is entered by hutch's parent before the child's user namespace exists
    // (runtime/launch.cpp). Another container's pid and ipc namespaces belong to its user
    // namespace, whose root alone may mount the container's /proc and /dev/mqueue: the container
    // joins that user namespace, and takes its ids, as Docker's containers do.
    std::string joined_user;
    std::uint64_t joined_inode = 0;
    for (const NamespaceMode* shared : {&m.pid, &m.ipc}) {
        if (shared->kind != NamespaceMode::Kind::kContainer) continue;
        const std::string flag = std::string(shared == &m.pid ? "--pid" : "--ipc") + " container:" + shared->container;
        const HostFacts::JoinedContainer target = host.running_container(shared->container);
        if (!target.own_user_namespace)
            throw UsageError(flag + ": that container has no user namespace, and its namespaces cannot be joined from one" + opt_out);
        // Its ids are a --userns auto slot, given to another container once it is removed: a
        // container in its ipc namespace alone would outlive it with them (one in its pid
        // namespace ends with it).
        if (target.auto_slot && shared == &m.ipc && m.pid.kind != NamespaceMode::Kind::kContainer)
            throw UsageError(flag + ": that container's ids are a --userns auto slot, which goes to another container once it "
                             "is removed, while this one would keep running with them; join its pid namespace too");
        // Maps given that are that namespace's own ask for nothing else (a script that gives
        // every container the same --uidmap); other ones, or a slot or keep-id of its own, would.
        // (The kernel lists a map's ranges sorted; unknown maps: audit of a stopped container.)
        const bool known = !target.uid_mappings.empty();
        if ((maps_given && known && (sorted(uids) != sorted(target.uid_mappings) || sorted(gids) != sorted(target.gid_mappings))) ||
            automatic || keep_id || nomap)
            throw UsageError("conflicting options: " + flag + " shares that container's user namespace and its ids, so " +
                             (maps_given ? std::string("other --uidmap/--gidmap") : "--userns " + o.userns) + " cannot apply");
        const std::string path = target.ns_dir + "/user";
        if (!joined_user.empty() && target.user_namespace_inode != joined_inode)
            throw UsageError("--pid and --ipc join two containers, whose user namespaces differ: join one container's");
        joined_user = path;
        joined_inode = target.user_namespace_inode;
        if (known) {
            uids = target.uid_mappings;
            gids = target.gid_mappings;
        }
    }
    s.linux.namespaces.push_back({NamespaceType::kUser, joined_user});
    s.linux.uid_mappings = std::move(uids);
    s.linux.gid_mappings = std::move(gids);
    // Both ends of the range must be gids of the namespace, or the kernel refuses the write.
    if (s.linux.sysctl.count("net.ipv4.ping_group_range"))
        s.linux.sysctl["net.ipv4.ping_group_range"] = "0 " + std::to_string(userns::highest_mapped(s.linux.gid_mappings));
}

// Rootless hutch (runtime/rootless.hpp): what only root can give is refused, one line saying
// why, never skipped.
void fit_rootless(const Spec& s, const RunOptions& o, const Modes& m, const HostFacts& host) {
    if (!host.rootless) return;
    // The layers' owners are laid for the default map (the image's uid N is your N-th id):
    // any other (keep-id, nomap, or a joined container's) would shift them.
    if (!o.image_layers.empty() &&
        (sorted(s.linux.uid_mappings) != sorted(host.rootless->uids) || sorted(s.linux.gid_mappings) != sorted(host.rootless->gids)))
        throw UsageError((o.userns.empty() ? std::string("joining that container's namespaces") : "--userns " + o.userns) +
                         " runs a rootfs directory, not an image: an image's layers are unpacked for rootless hutch's "
                         "default map, whose owners another map would shift");
    if (!std::holds_alternative<NoNetwork>(m.network) && !std::holds_alternative<PastaNetwork>(m.network))
        throw UsageError("--network " + o.network + " needs root: rootless hutch has no bridge, and may not share the host's or "
                         "another container's network namespace (use --network pasta or none)");
    // The container's root is the user: a volume the user cannot read would be bound and then
    // refuse every access, so it is refused here, naming it.
    for (const auto& v : s.mounts)
        if (v.type == "bind" && !v.source.empty() && v.source[0] == '/' && !host.readable(v.source))
            throw UsageError("volume " + v.source + ":" + v.destination + ": you cannot read " + v.source +
                             ", and rootless hutch binds only what its user can");
    if (!o.devices.empty() || !o.device_cgroup_rules.empty())
        throw UsageError(std::string(o.devices.empty() ? "--device-cgroup-rule" : "--device") +
                         " needs root: rootless hutch binds only Docker's default devices, from the host");
    // Resource limits go into a cgroup delegated to the user, or are refused at the start
    // (Cgroup::create_delegated), never skipped.
}

// In a user namespace, the ids the container uses must be ones it maps: the process's, and the
// tty group devpts is mounted with (left out, as runc leaves it, when the map has no gid 5).
void fit_user_namespace(Spec& s) {
    if (!s.has_namespace(NamespaceType::kUser)) {
        for (const auto& mount : s.mounts)
            if (std::find_if(mount.options.begin(), mount.options.end(),
                             [](const std::string& o) { return o == "idmap" || o == "ridmap"; }) != mount.options.end())
                throw UsageError("-v " + mount.source + ":" + mount.destination +
                                 ":idmap needs a user namespace (--uidmap, or the host config's \"userns-remap\")");
        return;
    }
    const auto& user = s.process.user;
    const std::string whose = " is not mapped by the container's user namespace (the user of --user, or of the image's USER)";
    if (!userns::maps(s.linux.uid_mappings, user.uid)) throw UsageError("uid " + std::to_string(user.uid) + whose);
    if (!userns::maps(s.linux.gid_mappings, user.gid)) throw UsageError("gid " + std::to_string(user.gid) + whose);
    for (auto gid : user.additional_gids)
        if (!userns::maps(s.linux.gid_mappings, gid)) throw UsageError("supplementary gid " + std::to_string(gid) + whose);
    if (userns::maps(s.linux.gid_mappings, 5)) return;
    for (auto& mount : s.mounts)
        if (mount.type == "devpts") std::erase(mount.options, std::string("gid=5"));
}

}  // namespace hutch::run_detail
