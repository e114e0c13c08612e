// `hutch-oci events`: runc's event records, read from the cgroups a container's state records
// (its cgroup2 directory first, then the v1 ones create made). The figures are the kernel's
// counters as runc's libcontainer reads them (the JSON of runc's types.Stats, which
// containerd's and other tools' parsers of `runc events` expect): cpuacct or cgroup2 cpu.stat,
// memory (v1 usage/max/limit/failcnt and memory.stat; cgroup2 memory.current/peak/max), pids,
// and blkio (v1 throttle counters, cgroup2 io.stat).
//
// Every file is read bounded (read_cgroup_file); a file the container's cgroups lack gives
// zeros, as runc gives for a controller the container is not in.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hutch::oci {

// runc's types.Stats as `runc events --stats` prints it under "data".
nlohmann::json runc_stats(const std::vector<std::string>& cgroups);

// How many times the OOM killer killed in the container's memory cgroup (v1 memory.oom_control,
// cgroup2 memory.events: oom_kill); nullopt when none of `cgroups` has a memory controller.
std::optional<std::uint64_t> oom_kills(const std::vector<std::string>& cgroups);

// A Go duration as runc's --interval takes it ("5s", "100ms", "1m30s", "1.5s") in milliseconds;
// UsageError naming `text` when it is not one or is not positive.
std::int64_t parse_go_duration_ms(const std::string& text);

}  // namespace hutch::oci
