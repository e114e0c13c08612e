// The devices section of hutch-probe: what the container's device policy lets it do with a
// fixed list of device nodes (probe_lib.hpp, probe_device_list). Each is made with mknod in a
// private scratch directory the probe creates (on /dev, a tmpfs without nodev in Docker's and
// hutch's containers; else /tmp) and opened O_RDONLY|O_NONBLOCK|O_NOCTTY, closed at once: nothing
// is read or written, and the directory is removed before the probe prints.
#pragma once

#include <string>
#include <vector>

#include "caps/probe/probe_lib.hpp"

namespace hutch::probe {

struct DeviceResult {
    ProbeDevice device;
    int mknod_err = -1;  // 0 made, else errno; -1 not tried (device.skip)
    int open_err = -1;   // 0 opened, else errno; -1 not tried (mknod failed, skipped, mknod only)
};

struct DevicesReport {
    std::string scratch;  // where the nodes were made
    int err = 0;          // the scratch directory could not be made: nothing was tried
    bool nodev = false;   // the scratch lies on a nodev mount: every open fails EACCES
    std::vector<DeviceResult> results;
};

DevicesReport probe_devices();

}  // namespace hutch::probe
