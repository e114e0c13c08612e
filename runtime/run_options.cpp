#include "runtime/run_options.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "caps/seccomp_profile.hpp"
#include "netns/etc_files.hpp"
#include "runtime/env.hpp"
#include "runtime/error.hpp"
#include "runtime/user.hpp"
#include "runtime/validate.hpp"

namespace hutch {
namespace {

using Strings = std::vector<std::string>;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

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

// -v SRC:DST[:OPTS], OPTS a comma list of ro|rw|z|Z|nocopy and one propagation mode.
Mount parse_volume(const std::string& spec, const HostFacts& host) {
    auto parts = split(spec, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
        throw UsageError("invalid volume specification: " + quoted(spec) +
                         " (expected SRC:DST[:ro|rw])");
    const std::string& source = parts[0];
    if (!is_absolute(source))
        throw UsageError("invalid volume specification: " + quoted(spec) +
                         ": named volumes are not supported, the source must be an absolute path");
    if (!host.host_path_exists(source))
        throw UsageError("invalid volume specification: " + quoted(spec) +
                         ": bind source path does not exist: " + source);
    std::string destination = validate::clean_absolute_path(parts[1], "volume destination");
    if (destination == "/")
        throw UsageError("invalid volume specification: " + quoted(spec) +
                         ": destination can't be '/'");
    std::string mode = "rw", propagation = "rprivate";
    bool rbind = true;
    if (parts.size() == 3) {
        static const std::set<std::string> propagations = {"shared", "rshared", "slave",
                                                           "rslave", "private", "rprivate"};
        for (const auto& opt : split(parts[2], ',')) {
            if (opt == "ro" || opt == "rw") mode = opt;
            else if (propagations.count(opt)) propagation = opt;
            else if (opt == "z" || opt == "Z" || opt == "nocopy") continue;  // no SELinux, no copy-up
            else if (opt == "bind") rbind = false;
            else if (opt == "rbind") rbind = true;
            else
                throw UsageError("invalid volume specification: " + quoted(spec) +
                                 ": unknown option " + quoted(opt));
        }
    }
    return Mount{destination, "bind", source, {rbind ? "rbind" : "bind", mode, propagation}};
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
            throw UsageError("invalid --tmpfs " + quoted(dest + ":" + user) + ": bad option " +
                             quoted(opt));
        auto eq = opt.find('=');
        std::string key = opt.substr(0, eq);
        if (eq == std::string::npos ? !kTmpfsFlags.count(opt) : !kTmpfsValueOptions.count(key))
            throw UsageError("invalid --tmpfs " + quoted(dest + ":" + user) +
                             ": unknown option " + quoted(opt));
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

bool host_mode(const std::string& flag, const std::string& value, const Strings& allowed_private) {
    if (value == "host") return true;
    if (value.empty() || value.rfind("container:", 0) == 0 ||
        std::find(allowed_private.begin(), allowed_private.end(), value) != allowed_private.end())
        return false;
    throw UsageError("invalid --" + flag + " " + quoted(value) + ": hutch supports \"host\", \"container:NAME\"" +
                     (allowed_private.empty() ? "" : " and \"" + allowed_private[0] + "\""));
}

// --pid/--ipc container:NAME: the running container's namespace file; "" when not that form.
std::string joined_namespace(const std::string& flag, const std::string& value, const std::string& type,
                             const HostFacts& host, Spec& spec) {
    if (value.rfind("container:", 0) != 0) return "";
    std::string ref = value.substr(10);
    if (ref.empty() || !validate::container_name(ref))
        throw UsageError("invalid --" + flag + " " + quoted(value) + ": expected container:NAME or container:ID");
    HostFacts::JoinedContainer joined = host.running_container(ref);
    spec.hutch.joined_containers.push_back(joined.id);
    return joined.ns_dir + "/" + type;
}

ExtraHost parse_add_host(const std::string& value) {
    // name:ip or name=ip; IPv6 addresses contain colons, so split at the first separator.
    auto sep = value.find_first_of(":=");
    if (sep == std::string::npos || sep == 0)
        throw UsageError("bad format for add-host: " + quoted(value));
    std::string name = value.substr(0, sep), address = value.substr(sep + 1);
    if (validate::has_space_or_control(name) || !validate::hostname(name))
        throw UsageError("invalid host name in add-host: " + quoted(value));
    if (address == "host-gateway") return {name, address};  // the launcher knows the gateway
    std::string canonical = validate::ip_address(address);
    if (canonical.empty()) throw UsageError("invalid IP address in add-host: " + quoted(address));
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
        std::erase_if(s.linux.devices, [&](const Device& other) { return other.path == node.path; });
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

Spec build_run_spec(const RunOptions& o, const std::string& id, const HostFacts& host) {
    Spec s;
    if (o.command.empty() || o.command[0].empty())
        throw UsageError("no command given: usage: hutch run [OPTIONS] ROOTFS COMMAND [ARG...]");
    if (!o.name.empty() && !validate::container_name(o.name))
        throw UsageError("invalid container name " + quoted(o.name) +
                         ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    s.root.path = o.rootfs;
    s.root.readonly = o.read_only;
    s.hutch.name = o.name;
    s.hutch.auto_remove = o.rm;
    s.hutch.detach = o.detach;
    if (o.detach && o.tty && o.interactive)
        throw UsageError("-d with -it: hutch has no attach yet, so a detached terminal could never be used");
    s.hutch.interactive = o.interactive;
    s.hutch.privileged = o.privileged;
    s.process.terminal = o.tty;
    s.process.args = o.command;

    // Namespaces: mount always; the rest unless shared with the host.
    bool host_pid = host_mode("pid", o.pid, {});
    bool host_ipc = host_mode("ipc", o.ipc, {"private", "shareable"});
    bool host_uts = host_mode("uts", o.uts, {});
    // Network: none, host, the default bridge, a user-defined network, or another container's.
    std::string network = o.network == "default" ? "bridge" : o.network;
    HostFacts::JoinedContainer joined;
    bool join_net = network.rfind("container:", 0) == 0;
    if (join_net) {
        std::string ref = network.substr(10);
        if (ref.empty() || !validate::container_name(ref))
            throw UsageError("invalid --network " + quoted(o.network) + ": expected container:NAME or container:ID");
        if (!o.hostname.empty())
            throw UsageError("conflicting options: --hostname and --network " + o.network);
        joined = host.running_container(ref);
        network = "container:" + joined.id;
        s.hutch.joined_containers.push_back(joined.id);
    } else if (network != "none" && network != "host" && !validate::container_name(network)) {
        throw UsageError("invalid --network " + quoted(o.network) +
                         ": use bridge, none, host, container:NAME or a network's name");
    }
    bool user_network = network != "bridge" && network != "none" && network != "host" && !join_net;
    if (!o.ip.empty() && !user_network)
        throw UsageError("--ip " + quoted(o.ip) + " needs a user-defined network (hutch network create)");
    if (!o.network_aliases.empty() && !user_network)
        throw UsageError("--network-alias needs a user-defined network (hutch network create)");
    for (const auto& alias : o.network_aliases)
        if (!validate::hostname(alias)) throw UsageError("invalid --network-alias " + quoted(alias));
    if (!o.ip.empty() && validate::ip_address(o.ip).empty())
        throw UsageError("invalid --ip " + quoted(o.ip) + ": not an IP address");
    bool host_net = network == "host";
    s.hutch.network = network;
    s.hutch.ip = o.ip;
    s.hutch.network_aliases = o.network_aliases;
    s.linux.namespaces.push_back({"mount", ""});
    if (!host_net) s.linux.namespaces.push_back({"network", join_net ? joined.ns_dir + "/net" : ""});
    if (!host_uts) s.linux.namespaces.push_back({"uts", ""});
    if (!host_pid) s.linux.namespaces.push_back({"pid", joined_namespace("pid", o.pid, "pid", host, s)});
    if (!host_ipc) s.linux.namespaces.push_back({"ipc", joined_namespace("ipc", o.ipc, "ipc", host, s)});
    s.linux.namespaces.push_back({"cgroup", ""});
    if (!host_net && !join_net) {
        // Docker 20.10 in every container with a network namespace of its own: anyone may bind
        // ports below 1024 and ping (ICMP datagram sockets) there. Both sysctls exist on every
        // kernel hutch runs on (4.11 and 3.0 brought them; clone3 needs 5.3).
        s.linux.sysctl["net.ipv4.ip_unprivileged_port_start"] = "0";
        s.linux.sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
    }

    // Hostname: -h, else the host's when sharing its network, else the short id.
    if (!o.hostname.empty()) {
        if (host_uts) throw UsageError("conflicting options: --hostname and --uts host");
        if (!validate::hostname(o.hostname))
            throw UsageError("invalid hostname " + quoted(o.hostname) +
                             ": must be a valid RFC 1123 hostname");
        s.hostname = o.hostname;
    } else {
        // Docker's Config.Hostname: the host's name only with --network host; with --uts host
        // alone the short id still names the container ($HOSTNAME, /etc/hostname, /etc/hosts)
        // while `hostname` shows the host's, as the UTS namespace is the host's.
        s.hostname = join_net ? joined.hostname : host_net ? host.hostname : id.substr(0, 12);
    }
    // With the host's UTS namespace hutch must not call sethostname: the OCI spec forbids a
    // hostname without a UTS namespace.
    std::string env_hostname = s.hostname;
    if (host_uts) s.hostname.clear();

    // User, resolved against the rootfs' own files.
    ResolvedUser user;
    if (!o.user.empty()) {
        if (validate::has_space_or_control(o.user))
            throw UsageError("invalid --user " + quoted(o.user));
        user = resolve_user(o.user, host.read_in_rootfs("/etc/passwd"),
                            host.read_in_rootfs("/etc/group"));
    } else {
        user = resolve_user("0", host.read_in_rootfs("/etc/passwd"), host.read_in_rootfs("/etc/group"));
    }
    s.process.user = {user.uid, user.gid, user.additional_gids};

    // Environment, in docker's order: PATH, HOSTNAME, TERM with -t, the user's, then HOME.
    s.process.env = {kDefaultPath, "HOSTNAME=" + env_hostname};
    if (o.tty) s.process.env.push_back("TERM=xterm");
    for (const auto& file : o.env_files) add_env_file(s.process.env, file, host);
    for (const auto& e : o.env) env::add(s.process.env, e, host.getenv);
    if (!env::has(s.process.env, "HOME")) s.process.env.push_back("HOME=" + user.home);

    if (!o.workdir.empty()) {
        if (!is_absolute(o.workdir))
            throw UsageError("the working directory " + quoted(o.workdir) +
                             " is invalid, it needs to be an absolute path");
        s.process.cwd = validate::clean_absolute_path(o.workdir, "working directory");
    }

    // Capabilities: the resolved set bounds everything; a non-root user starts with none
    // effective or permitted (execve clears them), as Docker gives it.
    caps::CapSet set = caps::resolve({o.cap_add, o.cap_drop, o.privileged}, host.caps);
    auto names = caps::names_of(set);
    s.process.capabilities.bounding = names;
    if (user.uid == 0) {
        s.process.capabilities.effective = names;
        s.process.capabilities.permitted = names;
    }

    // Seccomp: hutch's default profile unless privileged or told otherwise, resolved for the
    // container's capabilities (so e.g. --cap-add SYS_TIME opens the clock calls).
    bool unconfined = o.privileged;
    std::optional<seccomp::DockerProfile> profile;
    for (const auto& opt : o.security_opts) {
        if (opt == "no-new-privileges" || opt == "no-new-privileges:true" ||
            opt == "no-new-privileges=true")
            s.process.no_new_privileges = true;
        else if (opt == "no-new-privileges:false" || opt == "no-new-privileges=false")
            s.process.no_new_privileges = false;
        else if (opt == "seccomp=unconfined" || opt == "seccomp:unconfined")
            unconfined = true;
        else if (opt.rfind("seccomp=", 0) == 0 || opt.rfind("seccomp:", 0) == 0)
            try {
                profile = seccomp::parse_docker_profile(host.read_host_file(opt.substr(8)));
            } catch (const UsageError& e) {
                throw UsageError("--security-opt " + quoted(opt) + ": " + e.what());
            }
        else
            throw UsageError("invalid --security-opt " + quoted(opt) +
                             ": hutch supports no-new-privileges, seccomp=unconfined and seccomp=FILE");
    }
    if (!unconfined) s.linux.seccomp = seccomp::resolve(profile ? *profile : seccomp::default_profile(), set);

    // Mounts: Docker's defaults, then the read-only tmpfs set, then --tmpfs and -v in order.
    s.mounts = docker_default_mounts();
    if (host_ipc) {
        s.hutch.host_shm = true;
        put_mount(s.mounts, {"/dev/shm", "bind", "/dev/shm", {"rbind", "rprivate"}});
    }
    add_devices(s, o, host);
    if (o.privileged) {
        for (auto& m : s.mounts)
            if (m.destination == "/sys" || m.destination == "/sys/fs/cgroup")
                std::replace(m.options.begin(), m.options.end(), std::string("ro"), std::string("rw"));
        s.hutch.host_devices = true;
    } else {
        s.linux.masked_paths = docker_masked_paths();
        s.linux.readonly_paths = docker_readonly_paths();
    }
    if (o.read_only && o.read_only_tmpfs) {
        for (const char* dir : {"/run", "/tmp", "/var/tmp"})
            put_mount(s.mounts, {dir, "tmpfs", "tmpfs",
                                 {"rw", "nosuid", "nodev",
                                  std::string(dir) == "/run" ? "mode=755" : "mode=1777"}});
    }
    for (const auto& t : o.tmpfs) {
        auto colon = t.find(':');
        std::string dest = validate::clean_absolute_path(t.substr(0, colon), "--tmpfs path");
        if (dest == "/") throw UsageError("invalid --tmpfs " + quoted(t) + ": cannot mount on /");
        std::string opts = colon == std::string::npos ? "" : t.substr(colon + 1);
        put_mount(s.mounts, {dest, "tmpfs", "tmpfs", merge_tmpfs_options(t.substr(0, colon), opts)});
    }
    for (const auto& v : o.volumes) put_mount(s.mounts, parse_volume(v, host));
    if (o.probe) {
        // The mount point is made on hutch's /dev tmpfs: never on a volume from the host.
        for (const auto& m : s.mounts)
            if (m.destination == "/dev" && m.type != "tmpfs")
                throw UsageError("--probe needs hutch's own /dev, and a volume is mounted there");
        if (host.probe_binary.empty() || !host.host_path_exists(host.probe_binary))
            throw UsageError("--probe: hutch-probe not found" +
                             (host.probe_binary.empty() ? std::string() : " at " + quoted(host.probe_binary)) +
                             " (build it, or set HUTCH_PROBE)");
        put_mount(s.mounts, {kProbePath, "bind", host.probe_binary, {"bind", "ro", "nosuid", "nodev"}});
    }

    // Name resolution files.
    for (const auto& h : o.add_hosts) s.hutch.extra_hosts.push_back(parse_add_host(h));
    // DNS: the container's flags, else the host config's defaults (as daemon.json's).
    const Strings& dns = o.dns.empty() ? host.config.dns : o.dns;
    const Strings& dns_search = o.dns_search.empty() ? host.config.dns_search : o.dns_search;
    const Strings& dns_options = o.dns_options.empty() ? host.config.dns_options : o.dns_options;
    for (const auto& d : dns) {
        std::string canonical = validate::ip_address(d);
        if (canonical.empty()) throw UsageError("invalid --dns address: " + quoted(d));
        s.hutch.dns.push_back(canonical);
    }
    for (const auto& d : dns_search) {
        if (d != "." && (validate::has_space_or_control(d) || !validate::hostname(d)))
            throw UsageError("invalid --dns-search " + quoted(d) +
                             ": must be a domain name (labels of at most 63 characters) or \".\"");
        s.hutch.dns_search.push_back(d);
    }
    for (const auto& d : dns_options) {
        if (d.empty() || validate::has_space_or_control(d))
            throw UsageError("invalid --dns-option " + quoted(d));
        s.hutch.dns_options.push_back(d);
    }
    return s;
}

}  // namespace hutch
