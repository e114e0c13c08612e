// hutch-probe's report: the sections gathered (gather.hpp, syscalls.hpp, devices.hpp) and the two
// ways it is printed, aligned text (print_text.cpp) and JSON (print_json.cpp). What the report
// says beyond the raw facts (report.cpp) is shared, so the two always agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caps/probe/devices.hpp"
#include "caps/probe/gather.hpp"
#include "caps/probe/syscalls.hpp"

namespace hutch::probe {

enum Section : unsigned {
    kNs = 1, kIds = 2, kCaps = 4, kSeccomp = 8, kSyscalls = 16, kSyscalls32 = 32, kMounts = 64,
    kRuntime = 128, kDevices = 256, kAll = 511,
};

struct Report {
    unsigned sections = kAll;
    std::vector<NsInfo> ns;
    Ids ids;
    Caps caps;
    Seccomp seccomp;
    AbiReport sys64, sys32;
    Mounts mounts;
    Runtime runtime;
    DevicesReport devices;
};

// Both write to stdout.
void print_text(const Report& r);
void print_json(const Report& r);

// ---- shared by the printers (report.cpp) -------------------------------------------------------

std::string unavailable(int err);  // "unavailable (ENOENT)"
std::string hex16(std::uint64_t v);
std::string device_node(const ProbeDevice& d);  // "c 1:3"
// Why a verdict may not be the filter's doing, or empty.
std::string note_for(const SyscallReport& r);
std::string device_note(const DeviceResult& r, bool for_open);

}  // namespace hutch::probe
