// Spec: one value that describes a container, mirroring the OCI runtime-spec config.json.
//
// Front-ends (docker-style flags, config.json) fill a Spec and validate it; the launcher takes it
// const and never parses flags. It reads and writes OCI JSON, so any spec hutch runs can be
// dumped (`hutch run --dry-run`) and run by crun or runc for comparison. hutch's own fields
// (name, network mode, name resolution files) live under the top-level "hutch" key, which OCI
// runtimes must ignore ("Runtimes MUST ignore unknown properties", config.md).
#pragma once

#include <sched.h>

#include <cstdint>
#include <map>
#include <utility>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hutch {

// linux.uidMappings[] / gidMappings[]: ids of a new user namespace and the host ids they stand for.
struct IdMapping {
    std::uint32_t container_id = 0, host_id = 0, size = 0;
    bool operator==(const IdMapping&) const = default;
};

struct Mount {
    std::string destination;
    std::string type;  // "proc", "tmpfs", "bind", ... ("bind" means options carry bind/rbind)
    std::string source;
    std::vector<std::string> options;
    // mounts[].uidMappings / gidMappings (OCI 1.1): a bind idmapped with these maps, the way a
    // user namespace's are read (a file's id on disk is containerID, shown as hostID).
    std::vector<IdMapping> uid_mappings, gid_mappings;
    bool operator==(const Mount&) const = default;
};

struct User {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> additional_gids;
    std::optional<std::uint32_t> umask;  // none: 022, as Docker and runc leave it
    bool operator==(const User&) const = default;
};

struct CapabilitySets {
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
    bool operator==(const CapabilitySets&) const = default;
};

// process.rlimits[]: applied with setrlimit before the command runs.
struct Rlimit {
    std::string type;  // RLIMIT_NOFILE, ...
    std::uint64_t soft = 0, hard = 0;
    bool operator==(const Rlimit&) const = default;
};

// process.scheduler (config.md): sched_setattr(2)'s fields, the names kept as config.json has
// them and checked where the spec is read (runtime/scheduling.hpp).
struct Scheduler {
    std::string policy;  // "SCHED_OTHER", "SCHED_BATCH", ...
    int nice = 0;
    int priority = 0;
    std::vector<std::string> flags;
    std::uint64_t runtime = 0, deadline = 0, period = 0;  // SCHED_DEADLINE's, in ns
    bool operator==(const Scheduler&) const = default;
};

// process.ioPriority: ioprio_set(2)'s class and level.
struct IoPriority {
    std::string io_class;  // "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"
    int priority = 0;      // 0 (highest) to 7
    bool operator==(const IoPriority&) const = default;
};

// linux.memoryPolicy: the NUMA policy of set_mempolicy(2) for the container's processes.
struct MemoryPolicy {
    std::string mode;                // "MPOL_BIND", "MPOL_INTERLEAVE", ...
    std::string nodes;               // "0-3,7"; empty for MPOL_DEFAULT and MPOL_LOCAL
    std::vector<std::string> flags;  // "MPOL_F_STATIC_NODES", ...
    bool operator==(const MemoryPolicy&) const = default;
};

struct Process {
    bool terminal = false;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    CapabilitySets capabilities;
    bool no_new_privileges = false;
    std::vector<Rlimit> rlimits;
    std::optional<int> oom_score_adj;
    std::optional<Scheduler> scheduler;
    std::optional<IoPriority> io_priority;
    std::optional<std::pair<unsigned, unsigned>> console_size;  // {height, width} of the pty
    bool operator==(const Process&) const = default;
};

struct Root {
    std::string path;
    bool readonly = false;
    bool operator==(const Root&) const = default;
};

// The kinds of namespace a spec names. Parsed from the OCI name once, where JSON comes in
// (spec_from_json), so no code past the edge compares names or meets an unknown kind.
enum class NamespaceType { kMount, kUts, kIpc, kPid, kNetwork, kUser, kCgroup, kTime };

struct NamespaceKind {
    NamespaceType type;
    const char* name;          // linux.namespaces[].type in config.json (config-linux.md)
    unsigned long clone_flag;  // what clone3/unshare/setns take for it
};
inline constexpr NamespaceKind kNamespaceKinds[] = {
    {NamespaceType::kMount, "mount", CLONE_NEWNS},     {NamespaceType::kUts, "uts", CLONE_NEWUTS},
    {NamespaceType::kIpc, "ipc", CLONE_NEWIPC},        {NamespaceType::kPid, "pid", CLONE_NEWPID},
    {NamespaceType::kNetwork, "network", CLONE_NEWNET}, {NamespaceType::kUser, "user", CLONE_NEWUSER},
    {NamespaceType::kCgroup, "cgroup", CLONE_NEWCGROUP}, {NamespaceType::kTime, "time", CLONE_NEWTIME},
};
constexpr const NamespaceKind& namespace_kind(NamespaceType type) {
    for (const auto& k : kNamespaceKinds)
        if (k.type == type) return k;
    return kNamespaceKinds[0];  // unreachable: every enumerator is in the table
}
// The OCI name ("network"), for JSON and for messages.
constexpr const char* namespace_name(NamespaceType type) { return namespace_kind(type).name; }
constexpr unsigned long clone_flag(NamespaceType type) { return namespace_kind(type).clone_flag; }
// The kind an OCI name means, or nullopt for a name hutch does not know.
std::optional<NamespaceType> namespace_type(std::string_view name);

struct Namespace {
    NamespaceType type = NamespaceType::kMount;
    std::string path;  // empty: a new namespace; else the namespace to join
    bool operator==(const Namespace&) const = default;
};

// linux.seccomp in OCI form: already resolved for the container's capabilities and
// architecture (Docker's includes/excludes are a front-end matter, see caps/seccomp_profile.hpp).
struct SeccompArg {
    unsigned index = 0;
    std::uint64_t value = 0;
    std::uint64_t value_two = 0;
    std::string op;  // SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ, ...
    bool operator==(const SeccompArg&) const = default;
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;                    // SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, ...
    std::optional<std::uint32_t> errno_ret;
    std::vector<SeccompArg> args;
    bool operator==(const SeccompSyscall&) const = default;
};

struct Seccomp {
    std::string default_action;            // SCMP_ACT_ERRNO, ...
    std::optional<std::uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // SCMP_ARCH_X86_64, SCMP_ARCH_X86, ...
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
    std::vector<SeccompSyscall> syscalls;
    // A seccomp agent's UNIX socket: SCMP_ACT_NOTIFY rules need one. The listener fd goes there
    // with the process's state, as runc sends it (config-linux.md#seccomp).
    std::string listener_path;
    std::string listener_metadata;  // passed to the agent as given
    bool operator==(const Seccomp&) const = default;
};

// linux.devices[]: a node created in the container's /dev.
struct Device {
    std::string path;
    std::string type;  // c, u, b or p
    std::int64_t major = 0, minor = 0;
    std::optional<std::uint32_t> file_mode;
    std::uint32_t uid = 0, gid = 0;
    bool operator==(const Device&) const = default;
};

// linux.resources[].devices[]: a device cgroup rule.
struct DeviceRule {
    bool allow = false;
    std::string type = "a";  // a, c or b
    std::optional<std::int64_t> major, minor;  // none: every number
    std::string access;      // some of r, w, m
    bool operator==(const DeviceRule&) const = default;
};

// linux.resources: the part hutch applies (runtime/cgroup_resources.hpp); create refuses the rest.
// linux.resources.hugepageLimits[]: a limit in bytes of huge pages of one size ("2MB", "1GB").
struct HugepageLimit {
    std::string page_size;
    std::uint64_t limit = 0;
    bool operator==(const HugepageLimit&) const = default;
};

struct Resources {
    std::optional<std::int64_t> pids_limit;
    std::optional<std::int64_t> memory_limit, memory_swap, memory_reservation;
    std::optional<std::int64_t> kernel_memory;  // memory.kernel: cgroup v1 only, where the kernel still has it
    std::optional<bool> disable_oom_killer;      // memory.disableOOMKiller: cgroup v1's memory.oom_control
    std::optional<std::uint64_t> cpu_shares, cpu_period;
    std::optional<std::int64_t> cpu_quota;
    std::string cpus, mems;
    std::optional<std::uint16_t> blkio_weight;  // blockIO.weight, 10..1000 (0: not set)
    std::vector<DeviceRule> devices;
    std::vector<HugepageLimit> hugepage_limits;
    // linux.resources.unified: cgroup2 files of the container's cgroup and their values
    // ("memory.high": "1G"), written as given (checked: a file name, never a path).
    std::map<std::string, std::string> unified;
    bool operator==(const Resources&) const = default;
    bool empty() const { return *this == Resources{}; }
    // Whether anything beyond the device rules is asked: those need cgroups of their own
    // controllers (runtime/cgroup.hpp); the device rules alone do not.
    bool limits_anything() const {
        Resources rest = *this;
        rest.devices.clear();
        return !rest.empty();
    }
};

// linux.timeOffsets: how far a new time namespace's clock is from the host's, by clock name
// ("monotonic" or "boottime"; CLOCK_REALTIME has no namespace).
struct TimeOffset {
    std::int64_t secs = 0;
    std::uint32_t nanosecs = 0;
    bool operator==(const TimeOffset&) const = default;
};

struct LinuxSection {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;  // with a new user namespace
    std::optional<Seccomp> seccomp;  // none: unconfined
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string rootfs_propagation;  // empty: rprivate
    std::map<std::string, std::string> sysctl;  // written under /proc/sys after pivot_root
    std::vector<Device> devices;
    std::string personality;  // linux.personality.domain: LINUX or LINUX32; empty: unchanged
    std::optional<MemoryPolicy> memory_policy;
    std::map<std::string, TimeOffset> time_offsets;  // with a new time namespace
    std::string cgroups_path;  // absolute: below each hierarchy's root; relative: below hutch's cgroup
    Resources resources;
    bool operator==(const LinuxSection&) const = default;
};

struct ExtraHost {
    std::string name;
    std::string address;
    bool operator==(const ExtraHost&) const = default;
};

// --restart: what the container's supervisor does when the command exits (runtime/restart.hpp).
struct RestartPolicy {
    std::string name = "no";  // no | on-failure | always | unless-stopped
    int max_retries = 0;      // on-failure:N; 0: no limit
    bool operator==(const RestartPolicy&) const = default;
};

// One published port as asked: -p [IP:][HOST[-END]:]CONTAINER[/PROTO] (netns/ports.hpp).
struct PublishedPort {
    std::string host_ip;     // "" : every address of the host (0.0.0.0)
    int host_port = 0;       // 0: one the kernel picks at start, from its ephemeral range
    int host_port_end = 0;   // -p 8000-8010:80: the first free port of host_port..host_port_end
    int container_port = 0;
    std::string protocol = "tcp";  // tcp | udp | sctp
    bool operator==(const PublishedPort&) const = default;
};

// One port as published at start: what `hutch port` and inspect's NetworkSettings.Ports show.
struct PortBinding {
    std::string host_ip;  // "0.0.0.0" for every address
    int host_port = 0;
    int container_port = 0;
    std::string protocol = "tcp";
    bool operator==(const PortBinding&) const = default;
    std::string key() const { return std::to_string(container_port) + "/" + protocol; }  // "80/tcp"
};

// hooks.*[]: programs the runtime runs at points of the OCI lifecycle, the state on stdin.
struct Hook {
    std::string path;
    std::vector<std::string> args, env;
    std::optional<int> timeout;  // seconds
    bool operator==(const Hook&) const = default;
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
    bool operator==(const Hooks&) const = default;
};

// What hutch does beyond the OCI spec: docker-level settings the launcher acts on.
struct HutchSection {
    std::string name;                 // container name; empty: none
    std::string network = "bridge";   // bridge | <network name> | none | host | container:<id>
    std::string ip;                   // --ip on a user-defined network
    std::vector<std::string> network_aliases;
    std::vector<PublishedPort> ports; // -p, and -P's exposed ports
    bool auto_remove = false;         // --rm
    RestartPolicy restart;            // --restart
    bool detach = false;              // -d: a monitor process supervises, output goes to a log
    // Containers whose namespaces this one joins (--network/--pid/--ipc container:): each must
    // still run once the namespaces are open, or a recycled pid could name another process.
    std::vector<std::string> joined_containers;
    bool interactive = false;         // -i: keep stdin attached
    bool privileged = false;          // all host devices, /sys rw, nothing masked
    // Made by rootless hutch (runtime/rootless.hpp): the maps were newuidmap's, the child mounts
    // its own overlay (userxattr), and no cgroup is hutch's.
    bool rootless = false;
    bool host_devices = false;        // create every host device node in /dev (privileged)
    bool host_shm = false;            // --ipc host: bind the host's /dev/shm
    std::vector<ExtraHost> extra_hosts;
    std::vector<std::string> dns, dns_search, dns_options;
    std::vector<std::string> security_opts;  // --security-opt as given, for inspect's HostConfig.SecurityOpt
    // What the launcher does, said by the front-end that built the Spec (the launcher never asks
    // which one it was). `hutch run` takes Docker's behaviour, an OCI bundle runc's.
    //   root: kOverlay, the rootfs as the lower layer under the container's own writable one
    //   (Docker), made read-only last when root.readonly: the mount points a volume or tmpfs
    //   needs are created in the container's layer, never in the image, as Docker's daemon
    //   creates them in the rw layer under a --read-only root; kBind, the rootfs itself, written
    //   in place, made read-only last when root.readonly (an OCI bundle: engines expect the
    //   runtime to create the mount points their mounts need, as runc does).
    enum class RootKind { kOverlay, kBind };
    RootKind root = RootKind::kOverlay;
    //   stdio: kRelayed, stdin /dev/null unless -i and host files or terminals replaced by pipes
    //   the parent relays (Docker never hands a host file to a container); kInherited, the fds
    //   the caller gives, as they are (an OCI engine means the container to have them).
    enum class Stdio { kRelayed, kInherited };
    Stdio stdio = Stdio::kRelayed;
    // A container's own network namespace without IPv6 (Docker: a network without --ipv6); an
    // OCI engine configures the namespaces it asks for itself.
    bool disable_ipv6 = true;
    // A container made from an image (hutch run IMAGE): its layer directories, top first, are
    // the overlay's lower dirs (root.path is the top one); empty: root.path alone is the root.
    std::vector<std::string> layers;
    std::string image;     // the image's id ("sha256:..."), for inspect and rmi's check
    std::string image_ref; // the name it was run by ("alpine", "alpine:3"), as docker ps shows
    // --userns auto: a slot of `size` ids of these subordinate ranges (hutch's /etc/subuid and
    // /etc/subgid entries) is claimed for the container when its record is made, and its maps
    // become the slot's (runtime/userns.hpp). Not in config.json: that keeps the maps themselves.
    struct AutoUserns {
        std::uint32_t size = 0;  // 0: no --userns auto
        std::vector<IdMapping> uid_ranges, gid_ranges;
        bool operator==(const AutoUserns&) const = default;
    };
    AutoUserns userns_auto;
    bool operator==(const HutchSection&) const = default;
};

struct Spec {
    std::string oci_version = "1.0.2";
    Process process;
    Root root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    LinuxSection linux;
    HutchSection hutch;
    bool operator==(const Spec&) const = default;

    bool has_new_namespace(NamespaceType type) const;
    bool has_namespace(NamespaceType type) const;  // new or joined
};

nlohmann::json to_json(const Spec& spec);
// Throws UsageError naming the JSON path of a missing or mistyped field.
Spec spec_from_json(const nlohmann::json& json);
// A config.json's "process" object alone (an OCI exec's --process file).
Process process_from_json(const nlohmann::json& json);
// A linux.resources object alone (`hutch-oci update -r`); errors name fields from `path`.
Resources resources_from_json(const nlohmann::json& json, const std::string& path);
// Every Spec is kept and shown as JSON (config.json, --dry-run), and JSON strings are UTF-8:
// throws UsageError naming the first field whose text is not (an argument in Latin-1, say),
// instead of failing later in the JSON library with a message that names nothing.
void require_utf8(const Spec& spec);

}  // namespace hutch
