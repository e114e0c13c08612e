// One reading of a running container's counters for `hutch stats`: the live half of
// runtime/stats.hpp, reading the files that half parses.
//
// Where each figure comes from, on both cgroup layouts (a hybrid host has the controllers in v1
// and a unified cgroup2 without them; hutch puts a container in v1 hierarchies only when it
// asked for limits: ContainerState.limit_cgroups):
//   CPU     the unified cgroup's cpu.stat usage_usec (cgroup2's core keeps it without the cpu
//           controller), else v1 cpuacct.usage; the host's from /proc/stat.
//   memory  v1 memory.usage_in_bytes - total_inactive_file, limit memory.limit_in_bytes;
//           cgroup2 memory.current - inactive_file, limit memory.max. The limit is the host's
//           MemTotal when that is smaller (unlimited), as Docker's daemon clamps it.
//           No memory cgroup at all (no limits on a hybrid host): the sum of the proportional
//           set size (smaps_rollup's Pss) of the cgroup's processes, so pages they share are
//           counted once; unlike a memory cgroup's charge it leaves out page cache and tmpfs.
//   PIDs    pids.current (v1 or cgroup2), else the threads listed in the cgroup and below it.
//   net     /proc/PID/net/dev of the container's first process (its network namespace), all
//           interfaces but lo; 0 when it shares hutch's own namespace (--network host), as
//           Docker shows 0B / 0B there.
//   block   v1 blkio.throttle.io_service_bytes_recursive, cgroup2 io.stat; 0 without either.
// Every read is bounded; a container that ends while it is read gives an invalid sample.
#pragma once

#include <cstdint>

#include "runtime/state.hpp"
#include "runtime/stats.hpp"

namespace hutch::stats {

struct HostFacts {
    std::uint64_t mem_total = 0;  // bytes, /proc/meminfo
    unsigned online_cpus = 1;
    long ticks_per_second = 100;  // USER_HZ, the unit of /proc/stat
};
HostFacts host_facts();

// The host's CPU time now (from /proc/stat), in nanoseconds; 0 when unreadable.
std::uint64_t system_cpu_ns(const HostFacts& host);

// Reads a running container's counters: its cgroups from `state`, its network from its first
// process `state.pid`, pinned by a pidfd while the container's supervisor holds its lock under
// `paths` (so never a recycled pid).
Sample sample(const Paths& paths, const ContainerState& state, const HostFacts& host);

}  // namespace hutch::stats
