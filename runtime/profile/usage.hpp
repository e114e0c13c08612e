// How much memory and how many processes `hutch profile`'s run took, read from the container's
// cgroups, which profile asks to be accounting ones (Cgroup::create's `accounting`: the memory
// and pids controllers, no limit written unless the user gave one).
//
//   memory  the high-water mark the kernel keeps: cgroup2's memory.peak (Linux 5.19), v1's
//           memory.max_usage_in_bytes. Exact; page cache and tmpfs the run filled count, as they
//           count against --memory.
//   pids    pids.peak (Linux 6.1; the pids controller has it in v1 and cgroup2 alike), exact.
//           Older kernels keep no peak: pids.current is sampled every 5 ms while the run lasts,
//           so a process that lived less than that may be missed (the proposal's x2 headroom is
//           also for that).
// Read after the command exited and before the cgroups go (RunObserver::exited).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "caps/least_privilege.hpp"

namespace hutch::profile {

class UsageMeter {
public:
    UsageMeter() = default;
    UsageMeter(const UsageMeter&) = delete;
    UsageMeter& operator=(const UsageMeter&) = delete;
    ~UsageMeter() { stop_sampling(); }

    // The container's cgroups, as made (before the clone): finds the files, starts sampling
    // where there is no pids peak.
    void start(const std::vector<std::string>& dirs);
    // The peaks (the user's limits are the caller's to add).
    ResourceUsage finish();

private:
    void stop_sampling();
    std::string memory_file_, memory_source_;
    std::string pids_file_, pids_source_;
    bool sampling_ = false;
    std::thread sampler_;
    std::atomic<bool> stop_{false};
    std::atomic<std::int64_t> sampled_peak_{0};
};

}  // namespace hutch::profile
