#include "caps/capabilities.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include "runtime/error.hpp"

namespace hutch::caps {
namespace {

// Index = capability number (linux/capability.h).
constexpr std::array<std::string_view, 41> kNames = {
    "CHOWN",           "DAC_OVERRIDE",    "DAC_READ_SEARCH", "FOWNER",
    "FSETID",          "KILL",            "SETGID",          "SETUID",
    "SETPCAP",         "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
    "NET_ADMIN",       "NET_RAW",         "IPC_LOCK",        "IPC_OWNER",
    "SYS_MODULE",      "SYS_RAWIO",       "SYS_CHROOT",      "SYS_PTRACE",
    "SYS_PACCT",       "SYS_ADMIN",       "SYS_BOOT",        "SYS_NICE",
    "SYS_RESOURCE",    "SYS_TIME",        "SYS_TTY_CONFIG",  "MKNOD",
    "LEASE",           "AUDIT_WRITE",     "AUDIT_CONTROL",   "SETFCAP",
    "MAC_OVERRIDE",    "MAC_ADMIN",       "SYSLOG",          "WAKE_ALARM",
    "BLOCK_SUSPEND",   "AUDIT_READ",      "PERFMON",         "BPF",
    "CHECKPOINT_RESTORE",
};

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool is_all(std::string_view name) { return upper(name) == "ALL" || upper(name) == "CAP_ALL"; }

// One user-given name to a number the running kernel knows, or a UsageError naming it.
int checked_number(std::string_view name, const HostCaps& host) {
    auto cap = number_from_name(name);
    if (!cap) throw UsageError("unknown capability: \"" + std::string(name) + "\"");
    if (*cap > host.last_cap)
        throw UsageError("capability " + name_of(*cap) + " (\"" + std::string(name) +
                         "\") is not known to the running kernel (cap_last_cap is " +
                         std::to_string(host.last_cap) + ")");
    return *cap;
}

}  // namespace

CapSet docker_default() {
    CapSet set = 0;
    for (auto name : {"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
                      "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",
                      "AUDIT_WRITE"})
        set |= bit(*number_from_name(name));
    return set;
}

std::optional<int> number_from_name(std::string_view name) {
    std::string key = upper(name);
    if (key.rfind("CAP_", 0) == 0) key.erase(0, 4);
    auto it = std::find(kNames.begin(), kNames.end(), key);
    if (it == kNames.end()) return std::nullopt;
    return static_cast<int>(it - kNames.begin());
}

std::string name_of(int cap) {
    if (cap >= 0 && cap < static_cast<int>(kNames.size())) return "CAP_" + std::string(kNames[cap]);
    return "CAP_" + std::to_string(cap);
}

std::vector<std::string> names_of(CapSet set) {
    std::vector<std::string> out;
    for (int cap = 0; cap < 64; ++cap)
        if (set & bit(cap)) out.push_back(name_of(cap));
    return out;
}

CapSet parse_names(const std::vector<std::string>& names, std::string_view field) {
    CapSet set = 0;
    for (const auto& name : names) {
        auto cap = number_from_name(name);
        if (!cap)
            throw UsageError(std::string(field) + ": unknown capability \"" + name + "\"");
        set |= bit(*cap);
    }
    return set;
}

CapSet HostCaps::all() const {
    CapSet known = last_cap >= 63 ? ~CapSet{0} : (bit(last_cap + 1) - 1);
    return known & bounding;
}

HostCaps HostCaps::read() {
    // read(2) and prctl, not iostreams and /proc/self/status: the freshly cloned child asks too,
    // where the iostreams' first use (the locale's set-up, on copy-on-write pages) and the
    // kernel's rendering of the whole status file were ~5% of a start's CPU.
    HostCaps host;
    char text[16] = {};
    if (int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC); fd >= 0) {
        if (::read(fd, text, sizeof text - 1) > 0) host.last_cap = std::atoi(text);
        ::close(fd);
    }
    if (host.last_cap <= 0) host.last_cap = 40;
    if (host.last_cap > 63) host.last_cap = 63;  // a CapSet's 64 bits: what hutch can hand out
    // The bounding set as /proc/self/status's CapBnd shows it: a bit per capability the kernel knows.
    host.bounding = 0;
    for (int cap = 0; cap <= host.last_cap; ++cap)
        if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) host.bounding |= CapSet{1} << cap;
    return host;
}

CapSet resolve(const Request& request, const HostCaps& host) {
    CapSet add = 0, drop = 0;
    bool add_all = false, drop_all = false;
    // Every name is checked, even where ALL makes it moot, so a typo is never silently ignored.
    for (const auto& name : request.add) {
        if (is_all(name)) add_all = true;
        else add |= bit(checked_number(name, host));
    }
    for (const auto& name : request.drop) {
        if (is_all(name)) drop_all = true;
        else drop |= bit(checked_number(name, host));
    }
    if (request.privileged) return host.all();

    CapSet result;
    if (add_all) result = host.all() & ~drop;
    else if (drop_all) result = add;
    else result = (docker_default() & ~drop) | add;

    // Root on some hosts lacks a capability (CAP_SYS_RESOURCE here): asking for it explicitly
    // is an error; "ALL" means all that hutch itself holds, as current Docker does.
    if (CapSet withheld = add & ~host.bounding) {
        for (int cap = 0; cap < 64; ++cap)
            if (withheld & bit(cap))
                throw UsageError("cannot add " + name_of(cap) +
                                 ": hutch's own bounding set does not hold it");
    }
    return result & host.all();
}

}  // namespace hutch::caps
