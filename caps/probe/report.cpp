// What hutch-probe's report says beyond the raw facts (report.hpp), the same in text and JSON.
#include <cerrno>
#include <cstdio>
#include <unistd.h>

#include "caps/probe/report.hpp"

namespace hutch::probe {

std::string unavailable(int err) { return "unavailable (" + errno_name(err) + ")"; }

std::string hex16(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

namespace {

// Calls a kernel built without them lacks altogether, and the file such a kernel has not.
bool kernel_lacks(const std::string& call) {
    const char* marker = call == "kexec_load" || call == "kexec_file_load"                                ? "/sys/kernel/kexec_loaded"
                         : call == "init_module" || call == "finit_module" || call == "delete_module" ? "/proc/modules"
                                                                                                        : nullptr;
    // The parent directory is there to look in (a sysfs is mounted, say), the marker is not.
    std::string parent = marker ? std::string(marker).substr(0, std::string(marker).rfind('/')) : "";
    return marker && ::access(parent.c_str(), F_OK) == 0 && ::access(marker, F_OK) != 0 && errno == ENOENT;
}

}  // namespace

// What else a "blocked" may mean: an EPERM the kernel gives itself because it checks a
// capability before the arguments, or an ENOSYS with no filter at all (the kernel lacks the call).
std::string note_for(const SyscallReport& r) {
    // Refused by the filter, but there is nothing behind it on this kernel (CONFIG_KEXEC_CORE or
    // CONFIG_MODULES off): "the kernel's answer without the capability" would mislead.
    if (r.verdict.errno_name == "EPERM" && kernel_lacks(r.name)) return "this kernel lacks the call (ENOSYS without the filter)";
    if (r.verdict.errno_name == "EPERM" && !r.cap_first.empty()) {
        auto eff = effective_caps();
        for (int cap = 0; cap < 64; ++cap)
            if (cap_name(cap) == r.cap_first && eff && (*eff & (std::uint64_t{1} << cap))) return "";
        return "also the kernel's answer without " + r.cap_first;
    }
    if (r.verdict.errno_name == "ENOSYS") {
        auto mode = status_field("Seccomp");
        if (mode && parse_int(*mode) == 0) return "no seccomp filter: this kernel lacks the call";
    }
    return "";
}

std::string device_node(const ProbeDevice& d) {
    return std::string(1, d.type) + " " + std::to_string(d.major) + ":" + std::to_string(d.minor);
}

// What else an EPERM may mean: the capability the kernel checks too (mknod needs CAP_MKNOD,
// reading the kernel log CAP_SYSLOG), when the process lacks it.
std::string device_note(const DeviceResult& r, bool for_open) {
    int err = for_open ? r.open_err : r.mknod_err;
    if (err != EPERM) return "";
    auto eff = effective_caps();
    auto lacks = [&](int cap) { return eff && !(*eff & (std::uint64_t{1} << cap)); };
    if (!for_open && lacks(27)) return "also the kernel's answer without CAP_MKNOD";
    if (for_open && r.device.name == "kmsg" && lacks(34)) return "also the kernel's answer without CAP_SYSLOG";
    return "";
}

}  // namespace hutch::probe
