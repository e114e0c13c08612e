// The device policy: which device nodes a container may make (mknod) and open for reading or
// writing, whatever its capabilities. CAP_MKNOD alone would let root in a container make
// `b 8 0` and read the host's disk, or `c 10 183` and read the host's hardware RNG; Docker and
// runc close that with the devices controller's allow-list, and so does hutch.
//
// The rules are cgroup v1's devices.allow / devices.deny lines (OCI linux.resources.devices),
// applied in order with the kernel's semantics (security/device_cgroup.c), which runc's emulator
// (libcontainer/cgroups/devices/emulator.go) reproduces for cgroup2. Like runc's, the list starts
// from deny-all (runc writes "a" to devices.deny first), so rules that never say "a" only grant:
//   - "a" resets everything: allow "a" = allow-all with no exceptions, deny "a" = deny-all;
//   - on a deny-all cgroup an allow adds an exception (merged with one for the same type and
//     numbers), a deny takes access away from the exception with exactly those numbers;
//     on an allow-all cgroup the roles swap;
//   - a request is allowed on a deny-all cgroup only when ONE exception covers all its access
//     (open O_RDWR needs an exception with both r and w), and refused on an allow-all cgroup
//     when ANY exception shares some of its access (match_exception / match_exception_partial).
// Taking access away from a part of a wildcard exception ("c *:* rwm" then deny "c 1:3") is
// silently ignored by cgroup v1: such a rule is refused here, as runc refuses it, rather than
// leave a user believing a device is denied.
//
// The normalised Policy is what both layouts apply: cgroup v1 writes (apply_v1 below) and the
// cgroup2 eBPF program (runtime/bpf_device_program.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/spec.hpp"

namespace hutch::devices {

// Access bits, the values of the kernel's BPF_DEVCG_ACC_* (and of the v1 ACC_* in the same order).
enum Access : unsigned { kMknod = 1, kRead = 2, kWrite = 4, kAllAccess = 7 };
// "rwm" -> bits; std::nullopt for an empty string or a letter other than r, w, m.
std::optional<unsigned> parse_access(const std::string& text);
std::string access_string(unsigned access);  // always in "rwm" order

inline constexpr std::int64_t kWildcard = -1;

// One exception of a normalised policy.
struct Exception {
    char type = 'c';                   // 'c' or 'b'
    std::int64_t major = kWildcard;   // kWildcard: every number
    std::int64_t minor = kWildcard;
    unsigned access = 0;               // Access bits
    bool operator==(const Exception&) const = default;
};

// The devices controller's state after a list of rules: its default and its exceptions.
struct Policy {
    bool default_allow = true;          // a fresh devices cgroup allows everything
    std::vector<Exception> exceptions;  // sorted by (major, minor, type); never empty access

    // The kernel's answer for an access to the device `type` major:minor (devcgroup's
    // legacy check; the eBPF program gives the same).
    bool allows(char type, std::uint32_t major, std::uint32_t minor, unsigned access) const;
    bool allows_everything() const { return default_allow && exceptions.empty(); }
    bool operator==(const Policy&) const = default;
};

// Applies `rules` in order, from deny-all as runc does. Throws UsageError naming the
// rule (with `where`, e.g. "linux.resources.devices[3]") for a bad type, access or number, or a
// rule cgroup v1 would silently ignore.
Policy normalise(const std::vector<DeviceRule>& rules, const std::string& where);

// "c 1:3 rwm", "a *:* rwm", "deny b 8:* r" as written in devices.allow/deny (allow rules have no
// prefix in rule_string; describe() adds "allow "/"deny ").
std::string rule_string(const DeviceRule& rule);
std::string describe(const DeviceRule& rule);
std::string exception_string(const Exception& e);

// dockerd's linux.resources.devices for a container that is not privileged (oci.DefaultLinuxSpec,
// reference/engines/docker-20.10-config.json): deny all, allow c 1:5 1:3 1:9 1:8 5:0 5:1 rwm,
// deny c 10:229 rwm (/dev/fuse).
std::vector<DeviceRule> docker_default_rules();
// --privileged: dockerd replaces them with one allow "a" rwm.
std::vector<DeviceRule> privileged_rules();

// The rules a container runs under: its linux.resources.devices, then the ones runc appends to
// every container (specconv.AllowedDevices: mknod of any c and b node; c 1:3 1:5 1:7 1:8 1:9
// 5:0 5:1 5:2 136:* 10:200 rwm), less the rule of a default node that linux.devices replaces
// at the same path (runc's createDevices). linux.devices entries are NOT made allow rules:
// a node given in linux.devices but denied by resources stays unusable, as under runc.
std::vector<DeviceRule> container_rules(const LinuxSection& linux);
// normalise(container_rules(linux), "linux.resources.devices").
Policy container_policy(const LinuxSection& linux);

// --device-cgroup-rule 'c 42:* rmw' (Docker's syntax: TYPE MAJOR:MINOR ACCESS, TYPE one of a c b,
// numbers or *): the allow rule. UsageError naming the value otherwise.
DeviceRule parse_cgroup_rule(const std::string& text);

// A host device node, as stat() finds it.
struct HostDevice {
    char type = 'c';  // 'c' or 'b'
    std::uint32_t major = 0, minor = 0;
    std::uint32_t mode = 0666, uid = 0, gid = 0;  // permission bits and owner of the host's node
};
// Looks a host path up: the device it is (symlinks followed, as Docker does), or a UsageError
// saying why not (missing, not a device node).
using HostDeviceLookup = std::function<HostDevice(const std::string& path)>;
HostDevice stat_host_device(const std::string& path);

// --device HOST[:CONTAINER][:PERMS]: the node in linux.devices (the host node's numbers, mode and
// owner, as dockerd copies them) and its allow rule. UsageError naming the value for a path that
// is not absolute, a host path that is not a character or block device, or PERMS outside rwm.
std::pair<Device, DeviceRule> parse_device_flag(const std::string& value, const HostDeviceLookup& lookup);

// cgroup v1: the writes that turn a fresh devices cgroup into `policy`, as (file, line):
// ("devices.deny", "a") then ("devices.allow", "c 1:3 rwm")... for a deny-all policy.
std::vector<std::pair<std::string, std::string>> v1_writes(const Policy& policy);
// Writes them into the devices cgroup `dir` (each shown with --explain); SysError naming the
// file and line when the kernel refuses one.
void apply_v1(const std::string& dir, const Policy& policy);

}  // namespace hutch::devices
