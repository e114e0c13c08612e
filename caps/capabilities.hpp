// Capability names and Docker's rules for turning --cap-add/--cap-drop/--privileged into one set.
//
// A set is a 64-bit mask indexed by capability number, as the kernel shows it in
// /proc/<pid>/status (CapEff: 00000000a80425fb is Docker's default).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::caps {

using CapSet = std::uint64_t;

inline constexpr CapSet bit(int cap) { return CapSet{1} << cap; }

// Docker's default 14: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
// SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.
CapSet docker_default();

// "chown", "CAP_CHOWN", "Cap_Chown" -> 0. Knows the 41 names up to CAP_CHECKPOINT_RESTORE.
std::optional<int> number_from_name(std::string_view name);
// 0 -> "CAP_CHOWN"; a number without a name -> "CAP_<n>".
std::string name_of(int cap);
// The set as OCI names ("CAP_CHOWN", ...), in capability-number order.
std::vector<std::string> names_of(CapSet set);
// OCI names back to a set; throws UsageError naming the first unknown entry.
CapSet parse_names(const std::vector<std::string>& names, std::string_view field);

// What the running host allows: capabilities the kernel knows (cap_last_cap) and those hutch's
// own bounding set still holds (root on some machines lacks CAP_SYS_RESOURCE).
struct HostCaps {
    int last_cap = 40;
    CapSet bounding = ~CapSet{0};
    CapSet all() const;  // every capability hutch could hand out
    static HostCaps read();  // from /proc/sys/kernel/cap_last_cap and prctl(PR_CAPBSET_READ)
};

struct Request {
    std::vector<std::string> add;
    std::vector<std::string> drop;
    bool privileged = false;
};

// Docker's resolution: privileged -> all; add has ALL -> all minus drop; drop has ALL -> exactly
// add; else (default - drop) + add. Unknown names, names the kernel lacks, and additions the
// host withholds are UsageErrors naming the value.
CapSet resolve(const Request& request, const HostCaps& host);

}  // namespace hutch::caps
