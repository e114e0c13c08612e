// The docker-style front-end: `hutch run` flags, as typed, and their translation into a Spec.
//
// Translation is a pure function of the flags and a few host facts, so unit tests pin it
// without privileges. Every bad value becomes a UsageError naming it, before anything touches
// the kernel.
#pragma once

#include <cstdint>
#include <functional>

#include "runtime/error.hpp"
#include <string>
#include <vector>

#include "caps/capabilities.hpp"
#include "netns/host_config.hpp"
#include "runtime/devices.hpp"
#include "runtime/mountinfo.hpp"
#include "runtime/rootless.hpp"
#include "runtime/spec.hpp"

namespace hutch {

struct RunOptions {
    std::string rootfs;
    std::vector<std::string> command;
    // hutch run IMAGE (runtime/cli/run_image.cpp fills these from the image): the layer dirs, top
    // first (rootfs is then the top one), the image's id and the name given, and its Env, which
    // -e and --env-file override.
    std::vector<std::string> image_layers;
    std::string image_id, image_ref;
    std::vector<std::string> image_env;
    std::vector<std::string> image_exposed;  // the image's ExposedPorts, for -P
    std::string entrypoint;  // --entrypoint, as typed
    bool entrypoint_given = false;
    std::string pull = "missing";  // --pull missing|never|always
    std::string stop_signal;       // --stop-signal, else the image's StopSignal; "": SIGTERM
    std::string restart;           // --restart no|on-failure[:N]|always|unless-stopped

    std::string name;
    bool rm = false;
    bool detach = false;  // -d
    std::string hostname;
    std::vector<std::string> env;
    std::vector<std::string> env_files;
    std::string workdir;
    std::string user;
    std::vector<std::string> volumes;
    std::vector<std::string> tmpfs;
    bool read_only = false;
    bool read_only_tmpfs = true;
    std::vector<std::string> cap_add, cap_drop;
    bool privileged = false;
    std::vector<std::string> security_opts;
    std::string pid, ipc, uts;
    std::string network;  // "": the default (bridge; pasta for rootless hutch)
    std::string ip;                           // --ip
    std::vector<std::string> network_aliases;  // --network-alias
    std::vector<std::string> publish;          // -p
    std::vector<std::string> expose;           // --expose
    bool publish_all = false;                  // -P: the exposed ports, on ports the kernel picks
    bool interactive = false;
    bool tty = false;
    std::vector<std::string> add_hosts;
    std::vector<std::string> dns, dns_search, dns_options;
    bool probe = false;  // --probe: hutch-probe bind-mounted read-only at kProbePath
    bool init = false;   // --init: hutch-init, bound read-only at kInitPath, is pid 1
    std::vector<std::string> devices;              // --device HOST[:CONTAINER][:PERMS]
    std::vector<std::string> device_cgroup_rules;  // --device-cgroup-rule 'c 42:* rmw'
    // Resources, as typed ("" when not given): runtime/resource_flags.hpp parses them.
    std::string memory, memory_swap, memory_reservation, kernel_memory, shm_size;
    bool oom_kill_disable = false;
    std::string oom_score_adj;
    std::string cpus, cpu_shares, cpu_period, cpu_quota, cpuset_cpus, cpuset_mems;
    std::string pids_limit, blkio_weight;
    std::vector<std::string> ulimits;  // --ulimit nofile=100:200
    std::vector<std::string> sysctls;  // --sysctl net.ipv4.ip_forward=1
    std::string userns;                        // --userns host (runtime/userns.hpp)
    std::vector<std::string> uidmap, gidmap;   // --uidmap/--gidmap CONTAINER:HOST:SIZE
};

// Where --probe puts hutch-probe: on /dev, hutch's own tmpfs, so it works with --read-only.
inline constexpr const char* kProbePath = "/dev/.hutch-probe";
// Where --init puts hutch-init. Docker binds docker-init at /sbin/docker-init, a mount point it
// makes in its own init layer; hutch's /dev is its own tmpfs, so the mount point is made without
// writing into the image, in any rootfs (scratch has no /sbin) and with --read-only, which binds
// the rootfs itself read-only where no mount point can be made.
inline constexpr const char* kInitPath = "/dev/.hutch-init";

// Host facts the translation needs, gathered by the caller (tests pass fakes).
struct HostFacts {
    caps::HostCaps caps;
    std::string hostname;  // the host's, for --uts host and --network host
    std::function<const char*(const char*)> getenv = [](const char*) { return nullptr; };
    // Reads a file inside the rootfs ("/etc/passwd"), resolving symlinks inside it; "" if absent.
    std::function<std::string(const std::string&)> read_in_rootfs;
    // Reads a host file (--env-file); throws UsageError when it cannot.
    std::function<std::string(const std::string&)> read_host_file;
    // Whether a host path exists (volume sources).
    std::function<bool(const std::string&)> host_path_exists = [](const std::string&) { return true; };
    // Whether the user running hutch may read a host path (a directory: and search it): what
    // rootless hutch may bind.
    std::function<bool(const std::string&)> readable = [](const std::string&) { return true; };
    // The host's mount a path lies on, its symlinks resolved (a shared or slave volume's
    // source, as Docker checks it); none when it cannot tell.
    std::function<std::optional<mountinfo::Entry>(const std::string&)> mount_of =
        [](const std::string&) -> std::optional<mountinfo::Entry> { return std::nullopt; };
    // The host's device node at a path (--device); throws UsageError when it is none.
    devices::HostDeviceLookup host_device = [](const std::string& path) -> devices::HostDevice {
        throw UsageError("invalid --device \"" + path + "\": no such device");
    };
    // /etc/hutch/config.json: DNS defaults and the default bridge.
    net::HostConfig config;
    // Rootless hutch (runtime/rootless.hpp): the container's maps, 0 the user and 1.. the
    // user's subordinate ids; none as root.
    std::optional<rootless::Maps> rootless;
    // --network/--pid/--ipc container:REF: the running container's id, its /proc/<pid>/ns
    // directory and hostname, and whether it has a user namespace of its own (not hutch's) with
    // the maps its process has; throws UsageError when REF names no running container.
    struct JoinedContainer {
        std::string id, ns_dir, hostname;
        bool own_user_namespace = false;
        std::uint64_t user_namespace_inode = 0;  // nsfs inode: two joins of one user namespace match
        bool auto_slot = false;                   // its user namespace's ids are a --userns auto slot
        std::vector<IdMapping> uid_mappings, gid_mappings;
    };
    // The hutch-probe binary on the host (beside hutch, or $HUTCH_PROBE).
    std::string probe_binary;
    // The hutch-init binary on the host (beside hutch, or $HUTCH_INIT).
    std::string init_binary;
    // For the resource flags (runtime/resource_flags.hpp): the online CPUs and memory nodes
    // ("0-1"), how many CPUs, whether the memory controller limits swap, hutch's own hard
    // rlimit for a resource and whether it may raise it (CAP_SYS_RESOURCE).
    std::string online_cpus = "0", online_mems = "0";
    int cpu_count = 1;
    bool swap_accounting = false;
    std::function<std::uint64_t(int)> hard_rlimit = [](int) { return ~std::uint64_t{0}; };
    bool can_raise_rlimits = true;
    std::function<JoinedContainer(const std::string&)> running_container = [](const std::string& ref) -> JoinedContainer {
        throw UsageError("no running container " + ref);
    };
};

// `id` is the new container's 64-hex id; the default hostname is its first 12 characters.
Spec build_run_spec(const RunOptions& options, const std::string& id, const HostFacts& host);

// Docker's defaults, shared with tests and the OCI front-end.
std::vector<Mount> docker_default_mounts();
std::vector<std::string> docker_masked_paths();
std::vector<std::string> docker_readonly_paths();
inline constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace hutch
