#include "runtime/run_options.hpp"
#include "runtime/run_options_internal.hpp"

#include <charconv>

#include "runtime/pasta.hpp"
#include "runtime/restart.hpp"
#include "runtime/userns.hpp"
#include "runtime/resource_flags.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "caps/seccomp_profile.hpp"
#include "netns/etc_files.hpp"
#include "netns/ports.hpp"
#include "runtime/env.hpp"
#include "runtime/error.hpp"
#include "runtime/run_modes.hpp"
#include "runtime/user.hpp"
#include "runtime/validate.hpp"

namespace hutch {

using run_detail::Modes;
namespace {

using Strings = std::vector<std::string>;

bool is_absolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

Strings split(const std::string& s, char sep) {
    Strings out;
    std::stringstream in(s);
    std::string part;
    while (std::getline(in, part, sep)) out.push_back(part);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

// --- environment ---------------------------------------------------------------------------

// --env-file PATH: read from the host, parsed as -e entries (runtime/env.hpp).
void add_env_file(Strings& vars, const std::string& path, const HostFacts& host) {
    std::string text;
    try {
        text = host.read_host_file(path);
    } catch (const UsageError& e) {
        throw UsageError(std::string("--env-file: ") + e.what());
    }
    for (const auto& entry : env::file_entries(path, text)) env::add(vars, entry, host.getenv);
}

// --- mounts --------------------------------------------------------------------------------

// -v SRC:DST[:OPTS], OPTS a comma list of ro|rw|z|Z|nocopy|idmap and one propagation mode.
Mount parse_volume(const std::string& spec, const HostFacts& host) {
    auto parts = split(spec, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
        throw UsageError("invalid volume specification: " + in_quotes(spec) +
                         " (expected SRC:DST[:ro|rw])");
    const std::string& source = parts[0];
    if (!is_absolute(source))
        throw UsageError("invalid volume specification: " + in_quotes(spec) +
                         ": named volumes are not supported, the source must be an absolute path");
    if (!host.host_path_exists(source))
        throw UsageError("invalid volume specification: " + in_quotes(spec) +
                         ": bind source path does not exist: " + source);
    std::string destination = validate::clean_absolute_path(parts[1], "volume destination");
    if (destination == "/")
        throw UsageError("invalid volume specification: " + in_quotes(spec) +
                         ": destination can't be '/'");
    std::string mode = "rw", propagation = "rprivate";
    bool rbind = true, idmap = false;
    if (parts.size() == 3) {
        static const std::set<std::string> propagations = {"shared", "rshared", "slave",
                                                           "rslave", "private", "rprivate"};
        for (const auto& opt : split(parts[2], ',')) {
            if (opt == "ro" || opt == "rw") mode = opt;
            else if (propagations.count(opt)) propagation = opt;
            else if (opt == "z" || opt == "Z" || opt == "nocopy") continue;  // no SELinux, no copy-up
            else if (opt == "bind") rbind = false;
            else if (opt == "idmap") idmap = true;
            else if (opt == "rbind") rbind = true;
            else
                throw UsageError("invalid volume specification: " + in_quotes(spec) +
                                 ": unknown option " + in_quotes(opt));
        }
    }
    Mount volume{destination, "bind", source, {rbind ? "rbind" : "bind", mode, propagation}};
    // Kept before the propagation, which propagate_like_docker reads last. The whole volume is
    // mapped (ridmap, in runc's words: --dry-run's config means the same under runc).
    if (idmap) volume.options.insert(volume.options.end() - 1, rbind ? "ridmap" : "idmap");
    return volume;
}

// Docker's rule for a volume's propagation (daemon/oci_linux.go): a shared one needs its source
// on a shared mount and makes the root's propagation shared, so that the source's peer group
// reaches into the container; a slave one needs a shared or slave mount and makes it rslave,
// unless shared already. Without these, the option would be silently without effect.
void propagate_like_docker(Spec& s, const Mount& volume, const HostFacts& host) {
    const std::string& mode = volume.options.back();  // parse_volume puts the propagation last
    const bool shared = mode == "shared" || mode == "rshared", slave = mode == "slave" || mode == "rslave";
    if (!shared && !slave) return;
    // Unknown (`hutch audit` reads no host's mounts): the root's propagation as Docker would set it.
    std::optional<mountinfo::Entry> holder = host.mount_of(volume.source);
    std::string& root = s.linux.rootfs_propagation;
    if (shared) {
        if (holder && !holder->shared)
            throw UsageError("path " + volume.source + " is mounted on " + holder->point + " but it is not a shared mount");
        root = "shared";
    } else {
        if (holder && !holder->shared && !holder->slave)
            throw UsageError("path " + volume.source + " is mounted on " + holder->point +
                             " but it is not a shared or slave mount");
        if (root != "shared") root = "rslave";
    }
}

// tmpfs options hutch accepts: mount flags and the tmpfs data options that take a value.
const std::set<std::string> kTmpfsFlags = {"rw", "ro", "exec", "noexec", "suid", "nosuid",
                                           "dev", "nodev", "atime", "noatime", "relatime",
                                           "strictatime", "nodiratime", "diratime", "sync",
                                           "async", "dirsync", "tmpcopyup", "notmpcopyup"};
const std::set<std::string> kTmpfsValueOptions = {"size", "mode", "uid", "gid", "nr_inodes",
                                                  "nr_blocks", "huge", "mpol"};

// Docker's merge: base noexec,nosuid,nodev; a user flag replaces its opposite (later wins),
// data options keep the last value.
Strings merge_tmpfs_options(const std::string& dest, const std::string& user) {
    Strings merged = {"noexec", "nosuid", "nodev"};
    static const std::map<std::string, std::string> opposite = {
        {"exec", "noexec"}, {"noexec", "exec"}, {"suid", "nosuid"}, {"nosuid", "suid"},
        {"dev", "nodev"},   {"nodev", "dev"},   {"ro", "rw"},       {"rw", "ro"}};
    if (user.empty()) return merged;
    for (const auto& opt : split(user, ',')) {
        if (opt.empty() || validate::has_space_or_control(opt))
            throw UsageError("invalid --tmpfs " + in_quotes(dest + ":" + user) + ": bad option " +
                             in_quotes(opt));
        auto eq = opt.find('=');
        std::string key = opt.substr(0, eq);
        if (eq == std::string::npos ? !kTmpfsFlags.count(opt) : !kTmpfsValueOptions.count(key))
            throw UsageError("invalid --tmpfs " + in_quotes(dest + ":" + user) +
                             ": unknown option " + in_quotes(opt));
        if (eq == std::string::npos) {
            if (auto o = opposite.find(opt); o != opposite.end()) std::erase(merged, o->second);
            std::erase(merged, opt);
        } else {
            std::erase_if(merged, [&](const std::string& m) { return m.rfind(key + "=", 0) == 0; });
        }
        merged.push_back(opt);
    }
    return merged;
}

// Adds or replaces the mount at `mount.destination`.
void put_mount(std::vector<Mount>& mounts, Mount mount) {
    std::erase_if(mounts, [&](const Mount& m) { return m.destination == mount.destination; });
    mounts.push_back(std::move(mount));
}

// --- namespaces ----------------------------------------------------------------------------

ExtraHost parse_add_host(const std::string& value) {
    // name:ip or name=ip; IPv6 addresses contain colons, so split at the first separator.
    auto sep = value.find_first_of(":=");
    if (sep == std::string::npos || sep == 0)
        throw UsageError("bad format for add-host: " + in_quotes(value));
    std::string name = value.substr(0, sep), address = value.substr(sep + 1);
    if (validate::has_space_or_control(name) || !validate::hostname(name))
        throw UsageError("invalid host name in add-host: " + in_quotes(value));
    if (address == "host-gateway") return {name, address};  // the launcher knows the gateway
    std::string canonical = validate::ip_address(address);
    if (canonical.empty()) throw UsageError("invalid IP address in add-host: " + in_quotes(address));
    return {name, canonical};
}

// --- devices -------------------------------------------------------------------------------

// dockerd's WithDevices: its default rules, each --device's node and allow rule, then
// --device-cgroup-rule; --privileged allows everything and ignores the cgroup rules (every host
// node is made anyway). The launcher appends runc's defaults, as runc does.
void add_devices(Spec& s, const RunOptions& o, const HostFacts& host) {
    s.linux.resources.devices = o.privileged ? devices::privileged_rules() : devices::docker_default_rules();
    for (const auto& d : o.devices) {
        auto [node, rule] = devices::parse_device_flag(d, host.host_device);
        const std::string& path = node.path;  // clang 14 cannot capture a structured binding
        std::erase_if(s.linux.devices, [&](const Device& other) { return other.path == path; });
        s.linux.devices.push_back(node);
        if (!o.privileged) s.linux.resources.devices.push_back(rule);
    }
    for (const auto& r : o.device_cgroup_rules) {
        DeviceRule rule = devices::parse_cgroup_rule(r);  // validated even where ignored
        if (!o.privileged) s.linux.resources.devices.push_back(rule);
    }
}

}  // namespace

std::vector<Mount> docker_default_mounts() {
    return {
        {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        {"/dev/pts", "devpts", "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
        {"/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
    };
}

std::vector<std::string> docker_masked_paths() {
    return {"/proc/asound",      "/proc/acpi",          "/proc/interrupts", "/proc/kcore",
            "/proc/keys",        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
            "/proc/sched_debug", "/proc/scsi",          "/sys/devices/virtual/powercap",
            "/sys/firmware"};
}

std::vector<std::string> docker_readonly_paths() {
    return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

namespace {

void check_basics(const RunOptions& o) {
    if (o.command.empty() || o.command[0].empty())
        throw UsageError("no command given: usage: hutch run [OPTIONS] ROOTFS COMMAND [ARG...]");
    if (!o.name.empty() && !validate::container_name(o.name))
        throw UsageError("invalid container name " + in_quotes(o.name) + ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    if (o.rm && restart::parse(o.restart).name != "no")
        throw UsageError("conflicting options: --restart " + o.restart + " and --rm (a removed container cannot restart)");
    if (o.detach && o.tty && o.interactive)
        throw UsageError("-d with -it: hutch has no attach yet, so a detached terminal could never be used");
}

void set_basics(Spec& s, const RunOptions& o) {
    s.root.path = o.rootfs;
    s.root.readonly = o.read_only;
    s.hutch.root = HutchSection::RootKind::kOverlay;  // --read-only too: made read-only last (finish)
    s.hutch.layers = o.image_layers;
    s.hutch.image = o.image_id;
    s.hutch.image_ref = o.image_ref;
    s.hutch.name = o.name;
    s.hutch.auto_remove = o.rm;
    s.hutch.restart = restart::parse(o.restart);
    s.hutch.detach = o.detach;
    s.hutch.interactive = o.interactive;
    s.hutch.privileged = o.privileged;
    s.process.terminal = o.tty;
    s.process.args = o.command;
}

// -p, and with -P every port of --expose and the image's ExposedPorts not published already.
void set_ports(Spec& s, const RunOptions& o, bool bridge) {
    std::vector<PublishedPort> exposed;
    for (const auto& e : o.expose)
        for (auto& p : net::parse_exposed(e)) exposed.push_back(p);
    // The image's own list only matters to -P, and is the image's word: a key hutch cannot
    // publish is skipped with a note, never a reason to refuse the run.
    if (o.publish_all)
        for (const auto& e : o.image_exposed) {
            try {
                for (auto& p : net::parse_exposed(e)) exposed.push_back(p);
            } catch (const UsageError& bad) {
                std::fprintf(stderr, "hutch: note: the image's ExposedPorts entry is skipped: %s\n", bad.what());
            }
        }
    for (const auto& text : o.publish)
        for (auto& p : net::parse_publish(text)) s.hutch.ports.push_back(p);
    if (o.publish_all)
        for (const auto& p : exposed) {
            auto same = [&](const PublishedPort& q) { return q.container_port == p.container_port && q.protocol == p.protocol; };
            if (std::none_of(s.hutch.ports.begin(), s.hutch.ports.end(), same)) s.hutch.ports.push_back(p);
        }
    // Each port is a socket held and a rule in one batch: a bound that keeps both small.
    constexpr std::size_t kMaxPorts = 100;
    if (s.hutch.ports.size() > kMaxPorts)
        throw UsageError("too many published ports: " + std::to_string(s.hutch.ports.size()) + " (hutch publishes at most " +
                         std::to_string(kMaxPorts) + " per container)");
    if (!s.hutch.ports.empty() && !bridge)
        throw UsageError("conflicting options: port publishing and --network " + o.network +
                         " (ports are published from a bridge network)");
}

// --network and what only a user-defined network takes (--ip, --network-alias).
void set_network(Spec& s, const RunOptions& o, Modes& m, const HostFacts& host) {
    s.hutch.network = o.network == "default" ? "bridge" : o.network;
    if (const auto* joined = std::get_if<ContainerNetwork>(&m.network)) {
        if (!o.hostname.empty()) throw UsageError("conflicting options: --hostname and --network " + o.network);
        // The joined container's /etc files and ports are its own: Docker refuses these too,
        // where taking them silently would leave the user believing they applied.
        for (const auto& [given, flag] : {std::pair{!o.add_hosts.empty(), "--add-host"}, {!o.dns.empty(), "--dns"},
                                          {!o.dns_search.empty(), "--dns-search"}, {!o.dns_options.empty(), "--dns-option"},
                                          {!o.expose.empty(), "--expose"}})
            if (given) throw UsageError(std::string("conflicting options: ") + flag + " and --network " + o.network);
        m.joined_net = host.running_container(joined->container);
        s.hutch.network = "container:" + m.joined_net.id;
        s.hutch.joined_containers.push_back(m.joined_net.id);
    }
    bool user_network = std::holds_alternative<NamedNetwork>(m.network);
    if (!o.ip.empty() && !user_network)
        throw UsageError("--ip " + in_quotes(o.ip) + " needs a user-defined network (hutch network create)");
    if (!o.network_aliases.empty() && !user_network)
        throw UsageError("--network-alias needs a user-defined network (hutch network create)");
    for (const auto& alias : o.network_aliases)
        if (!validate::hostname(alias)) throw UsageError("invalid --network-alias " + in_quotes(alias));
    if (!o.ip.empty() && validate::ip_address(o.ip).empty())
        throw UsageError("invalid --ip " + in_quotes(o.ip) + ": not an IP address");
    s.hutch.ip = o.ip;
    s.hutch.network_aliases = o.network_aliases;
    const bool pasta = std::holds_alternative<PastaNetwork>(m.network);
    if (pasta && !host.rootless)
        throw UsageError("--network pasta is rootless hutch's network (as root, the bridge publishes ports)");
    set_ports(s, o, std::holds_alternative<BridgeNetwork>(m.network) || user_network || pasta);
    if (pasta) pasta::check_ports(s.hutch.ports);
}

// --pid/--ipc container:NAME: the running container's namespace file; "" for a new one.
std::string namespace_path(const NamespaceMode& mode, NamespaceType type, const HostFacts& host, Spec& s) {
    if (mode.kind != NamespaceMode::Kind::kContainer) return "";
    HostFacts::JoinedContainer joined = host.running_container(mode.container);
    s.hutch.joined_containers.push_back(joined.id);
    return joined.ns_dir + "/" + namespace_name(type);
}

// Namespaces: mount always; the rest unless shared with the host.
void add_namespaces(Spec& s, const Modes& m, const HostFacts& host) {
    using enum NamespaceType;
    s.linux.namespaces.push_back({kMount, ""});
    if (!m.host_net()) s.linux.namespaces.push_back({kNetwork, m.join_net() ? m.joined_net.ns_dir + "/net" : ""});
    if (!m.uts.host()) s.linux.namespaces.push_back({kUts, ""});
    if (!m.pid.host()) s.linux.namespaces.push_back({kPid, namespace_path(m.pid, kPid, host, s)});
    if (!m.ipc.host()) s.linux.namespaces.push_back({kIpc, namespace_path(m.ipc, kIpc, host, s)});
    s.linux.namespaces.push_back({kCgroup, ""});
    if (m.own_net()) {
        // Docker 20.10 in every container with a network namespace of its own: anyone may bind
        // ports below 1024 and ping (ICMP datagram sockets) there. Both sysctls exist on every
        // kernel hutch runs on (4.11 and 3.0 brought them; clone3 needs 5.3).
        s.linux.sysctl["net.ipv4.ip_unprivileged_port_start"] = "0";
        s.linux.sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
    }
}

// Hostname: -h, else the joined container's or the host's when sharing its network, else the
// short id. Returns the name $HOSTNAME gets.
std::string set_hostname(Spec& s, const RunOptions& o, const Modes& m, const HostFacts& host, const std::string& id) {
    if (!o.hostname.empty()) {
        if (m.uts.host()) throw UsageError("conflicting options: --hostname and --uts host");
        if (!validate::hostname(o.hostname))
            throw UsageError("invalid hostname " + in_quotes(o.hostname) + ": must be a valid RFC 1123 hostname");
        s.hostname = o.hostname;
    } else {
        // Docker's Config.Hostname: the host's name only with --network host; with --uts host
        // alone the short id still names the container ($HOSTNAME, /etc/hostname, /etc/hosts)
        // while `hostname` shows the host's, as the UTS namespace is the host's.
        s.hostname = m.join_net() ? m.joined_net.hostname : m.host_net() ? host.hostname : id.substr(0, 12);
    }
    // With the host's UTS namespace hutch must not call sethostname: the OCI spec forbids a
    // hostname without a UTS namespace.
    std::string env_hostname = s.hostname;
    if (m.uts.host()) s.hostname.clear();
    return env_hostname;
}

// -u, resolved against the rootfs' own files (root when not given).
ResolvedUser run_user(const RunOptions& o, const HostFacts& host) {
    if (validate::has_space_or_control(o.user)) throw UsageError("invalid --user " + in_quotes(o.user));
    return resolve_user(o.user.empty() ? "0" : o.user, host.read_in_rootfs("/etc/passwd"),
                        host.read_in_rootfs("/etc/group"));
}

// Environment, in docker's order: PATH, HOSTNAME, TERM with -t, the user's, then HOME; and -w.
void set_process_env(Spec& s, const RunOptions& o, const HostFacts& host, const ResolvedUser& user,
                     const std::string& hostname) {
    // An image's Env comes first and its PATH replaces the default, as Docker merges them.
    std::string path = kDefaultPath;
    for (const auto& e : o.image_env)
        if (e.rfind("PATH=", 0) == 0) path = e;
    s.process.env = {path, "HOSTNAME=" + hostname};
    if (o.tty) s.process.env.push_back("TERM=xterm");
    for (const auto& e : o.image_env)
        if (e.rfind("PATH=", 0) != 0 && e.find('=') != std::string::npos) env::apply(s.process.env, e);
    for (const auto& file : o.env_files) add_env_file(s.process.env, file, host);
    for (const auto& e : o.env) env::add(s.process.env, e, host.getenv);
    if (!env::has(s.process.env, "HOME")) s.process.env.push_back("HOME=" + user.home);
    if (!o.workdir.empty()) {
        if (!is_absolute(o.workdir))
            throw UsageError("the working directory " + in_quotes(o.workdir) + " is invalid, it needs to be an absolute path");
        s.process.cwd = validate::clean_absolute_path(o.workdir, "working directory");
    }
}

// Capabilities: the resolved set bounds everything; a non-root user starts with none
// effective or permitted (execve clears them), as Docker gives it.
caps::CapSet set_capabilities(Spec& s, const RunOptions& o, const HostFacts& host, const ResolvedUser& user) {
    caps::CapSet set = caps::resolve({o.cap_add, o.cap_drop, o.privileged}, host.caps);
    auto names = caps::names_of(set);
    s.process.capabilities.bounding = names;
    if (user.uid == 0) {
        s.process.capabilities.effective = names;
        s.process.capabilities.permitted = names;
    }
    return set;
}

// --security-opt: no_new_privs, and hutch's default seccomp profile unless privileged or told
// otherwise, resolved for the container's capabilities (--cap-add SYS_TIME opens the clock calls).
void set_security(Spec& s, const RunOptions& o, const HostFacts& host, caps::CapSet set) {
    SecurityOptions security = parse_security_options(o.security_opts);
    s.hutch.security_opts = o.security_opts;
    if (security.no_new_privileges) s.process.no_new_privileges = *security.no_new_privileges;
    std::optional<seccomp::DockerProfile> profile;
    if (!security.seccomp_profile.empty()) {
        try {
            profile = seccomp::parse_docker_profile(host.read_host_file(security.seccomp_profile));
        } catch (const UsageError& e) {
            throw UsageError("--security-opt " + in_quotes(security.seccomp_option) + ": " + e.what());
        }
    }
    if (!o.privileged && !security.seccomp_unconfined)
        s.linux.seccomp = seccomp::resolve(profile ? *profile : seccomp::default_profile(), set);
}

// Docker's default mounts as --ipc host and --privileged change them, and the device policy.
void add_default_mounts(Spec& s, const RunOptions& o, const Modes& m, const HostFacts& host) {
    s.mounts = docker_default_mounts();
    if (m.ipc.host()) {
        s.hutch.host_shm = true;
        put_mount(s.mounts, {"/dev/shm", "bind", "/dev/shm", {"rbind", "rprivate"}});
    }
    add_devices(s, o, host);
    if (o.privileged) {
        for (auto& mount : s.mounts)
            if (mount.destination == "/sys" || mount.destination == "/sys/fs/cgroup")
                std::replace(mount.options.begin(), mount.options.end(), std::string("ro"), std::string("rw"));
        s.hutch.host_devices = true;
    } else {
        s.linux.masked_paths = docker_masked_paths();
        s.linux.readonly_paths = docker_readonly_paths();
    }
}

// --read-only's tmpfs set, then --tmpfs and -v in order (a later one on a path replaces).
void add_user_mounts(Spec& s, const RunOptions& o, const HostFacts& host) {
    if (o.read_only && o.read_only_tmpfs) {
        for (const char* dir : {"/run", "/tmp", "/var/tmp"})
            put_mount(s.mounts, {dir, "tmpfs", "tmpfs",
                                 {"rw", "nosuid", "nodev", std::string(dir) == "/run" ? "mode=755" : "mode=1777"}});
    }
    for (const auto& t : o.tmpfs) {
        auto colon = t.find(':');
        std::string dest = validate::clean_absolute_path(t.substr(0, colon), "--tmpfs path");
        if (dest == "/") throw UsageError("invalid --tmpfs " + in_quotes(t) + ": cannot mount on /");
        std::string opts = colon == std::string::npos ? "" : t.substr(colon + 1);
        put_mount(s.mounts, {dest, "tmpfs", "tmpfs", merge_tmpfs_options(t.substr(0, colon), opts)});
    }
    for (const auto& v : o.volumes) {
        Mount m = parse_volume(v, host);
        propagate_like_docker(s, m, host);
        put_mount(s.mounts, m);
    }
}

// One of hutch's own programs (hutch-probe, hutch-init) bound at `dest` on hutch's own /dev
// tmpfs, never on a volume from the host: read-only, nosuid and nodev, so no container can write
// a host binary through it. `flag` asked for it; `env` is how a user points hutch at it.
void bind_helper(Spec& s, const std::string& binary, const HostFacts& host, const char* flag, const char* dest,
                 const char* env) {
    std::string name = std::string(dest).substr(6);  // "/dev/.hutch-probe" -> "hutch-probe"
    for (const auto& m : s.mounts)
        if (m.destination == "/dev" && m.type != "tmpfs")
            throw UsageError(std::string(flag) + " needs hutch's own /dev, and a volume is mounted there");
    if (binary.empty() || !host.host_path_exists(binary))
        throw UsageError(std::string(flag) + ": " + name + " not found" +
                         (binary.empty() ? std::string() : " at " + in_quotes(binary)) + " (build it, or set " + env + ")");
    put_mount(s.mounts, {dest, "bind", binary, {"bind", "ro", "nosuid", "nodev"}});
}

// --init: hutch-init is pid 1 and the command its child (runtime/init/init.cpp), as Docker's
// --init makes the command ["/sbin/docker-init", "--", CMD...].
void add_init(Spec& s, const HostFacts& host) {
    bind_helper(s, host.init_binary, host, "--init", kInitPath, "HUTCH_INIT");
    s.process.args.insert(s.process.args.begin(), {kInitPath, "--"});
}

// --add-host and DNS: the container's flags, else the host config's defaults (as daemon.json's).
void set_name_resolution(Spec& s, const RunOptions& o, const HostFacts& host) {
    for (const auto& h : o.add_hosts) s.hutch.extra_hosts.push_back(parse_add_host(h));
    for (const auto& d : o.dns.empty() ? host.config.dns : o.dns) {
        std::string canonical = validate::ip_address(d);
        if (canonical.empty()) throw UsageError("invalid --dns address: " + in_quotes(d));
        s.hutch.dns.push_back(canonical);
    }
    for (const auto& d : o.dns_search.empty() ? host.config.dns_search : o.dns_search) {
        if (d != "." && (validate::has_space_or_control(d) || !validate::hostname(d)))
            throw UsageError("invalid --dns-search " + in_quotes(d) +
                             ": must be a domain name (labels of at most 63 characters) or \".\"");
        s.hutch.dns_search.push_back(d);
    }
    for (const auto& d : o.dns_options.empty() ? host.config.dns_options : o.dns_options) {
        if (d.empty() || validate::has_space_or_control(d)) throw UsageError("invalid --dns-option " + in_quotes(d));
        s.hutch.dns_options.push_back(d);
    }
}

}  // namespace

// Each step in the order its errors are reported: the command, the modes, the process, the
// security settings, the mounts, the resources, name resolution.
Spec build_run_spec(const RunOptions& given, const std::string& id, const HostFacts& host) {
    // No --network: Docker's default bridge, or for rootless hutch pasta, as podman's default.
    RunOptions o = given;
    if (o.network.empty()) o.network = host.rootless ? "pasta" : "bridge";
    // --userns keep-id runs the command as the user (podman's), where keep-id put the user's ids,
    // unless -u says otherwise.
    if ((o.userns == "keep-id" || o.userns.rfind("keep-id:", 0) == 0) && o.user.empty() && host.rootless) {
        const rootless::KeepId how = rootless::parse_keep_id(o.userns);
        o.user = std::to_string(how.uid.value_or(host.rootless->uids.front().host_id)) + ":" +
                 std::to_string(how.gid.value_or(host.rootless->gids.front().host_id));
    }
    check_basics(o);
    Spec s;
    set_basics(s, o);
    Modes m{parse_pid_mode(o.pid), parse_ipc_mode(o.ipc), parse_uts_mode(o.uts), parse_network_mode(o.network), {}};
    set_network(s, o, m, host);
    add_namespaces(s, m, host);
    run_detail::set_user_namespace(s, o, m, host);
    std::string env_hostname = set_hostname(s, o, m, host, id);
    ResolvedUser user = run_user(o, host);
    s.process.user = {user.uid, user.gid, user.additional_gids};
    set_process_env(s, o, host, user, env_hostname);
    caps::CapSet set = set_capabilities(s, o, host, user);
    set_security(s, o, host, set);
    add_default_mounts(s, o, m, host);
    add_user_mounts(s, o, host);
    add_resources(s, o, host);  // after the mounts: --shm-size sizes /dev/shm
    run_detail::fit_rootless(s, o, m, host);
    if (o.probe) bind_helper(s, host.probe_binary, host, "--probe", kProbePath, "HUTCH_PROBE");
    if (o.init) add_init(s, host);
    set_name_resolution(s, o, host);
    run_detail::fit_user_namespace(s);
    require_utf8(s);  // an argument, variable or path in Latin-1, say
    return s;
}

}  // namespace hutch
