// `hutch run`'s resource flags, Docker's names, units and checks (docker/cli's opts and
// dockerd's verifyPlatformContainerResources): --memory, --memory-swap, --memory-reservation,
// --kernel-memory, --oom-kill-disable, --oom-score-adj, --cpus, --cpu-shares, --cpu-period,
// --cpu-quota, --cpuset-cpus, --cpuset-mems, --pids-limit, --blkio-weight, --ulimit, --shm-size
// and --sysctl, into the Spec's linux.resources, process.rlimits, process.oomScoreAdj,
// linux.sysctl and the /dev/shm mount. Pure: the host's facts come in HostFacts, so unit tests
// pin every refusal without privileges.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/run_options.hpp"
#include "runtime/spec.hpp"

namespace hutch {

// Docker's RAMInBytes: "32m", "1.5g", "64MiB", "100" (bytes); 1024-based, case-insensitive.
// UsageError naming `flag` and the value otherwise.
std::int64_t parse_bytes(const std::string& flag, const std::string& text);

// The cgroup limits among the flags (--memory, --memory-swap, --memory-reservation, --cpus,
// --cpu-shares, --cpu-period, --cpu-quota, --cpuset-cpus, --cpuset-mems, --pids-limit,
// --blkio-weight) over a container's `current` ones: `run` starts from none, `update` from
// what config.json records, one parser for both. Docker's checks run on the result (a swap
// limit below the memory limit, whichever of the two changed). UsageError naming the flag.
struct LimitUpdate {
    Resources result;  // `current` with the flags' values: what config.json records
    Resources write;   // only what the flags change, as the cgroup files take it (pids -1: "max")
};
LimitUpdate merge_limit_flags(const Resources& current, const RunOptions& flags, const HostFacts& host);
// Whether any of merge_limit_flags' flags was given.
bool has_limit_flags(const RunOptions& flags);

// A whole number, all of it; UsageError naming the flag and value otherwise.
std::int64_t parse_integer(const std::string& flag, const std::string& text);

// Fills the Spec from the options' resource flags; UsageError naming the flag and value for
// anything Docker refuses (and for what this host cannot honour, e.g. CPUs it lacks).
void add_resources(Spec& spec, const RunOptions& options, const HostFacts& host);

// How a refusal from the cgroup code names an OCI field for a `hutch run` user: the flag
// ("--memory") instead of config.json's path (runtime/cgroup_resources.hpp's ResourceName).
std::string resource_flag_name(const std::string& oci_field);

}  // namespace hutch
