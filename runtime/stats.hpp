// `hutch stats`: what `docker stats` prints, computed the way Docker computes it, from the
// text of cgroup and /proc files.
//
// This file is the pure half: parsers of the files' contents and Docker's formatting, unit-tested
// against fixed file contents (tests/unit/stats_test.cpp). Reading the files of a live container
// is runtime/stats_sample.hpp. Every parser takes text that a bounded read produced and returns
// nothing (or zero) for anything it does not recognise: the files belong to the kernel, but a
// /proc/PID/net/dev names interfaces the container chose.
//
// Docker's formatting (docker/cli cli/command/container/formatter_stats.go, docker/go-units):
//   memory       go-units BytesSize: binary units, "%.4g" ("1.5MiB", "64MiB", "1.024KiB")
//   net, block   go-units HumanSizeWithPrecision(x, 3): decimal units, "%.3g" ("1.2kB", "648B")
//   percentages  "%.2f%%"; a container whose figures could not be read shows "--"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::stats {

// Docker's units (C's %g prints what Go's %g prints for these: shortest form of at most N
// significant digits, trailing zeros dropped, an exponent only past N digits).
std::string bytes_size(double bytes);
std::string human_size(double bytes, int precision = 3);
// go-units' HumanDuration: "Less than a second", "1 second", "5 seconds", "About a minute",
// "3 minutes", "About an hour", "5 hours", "3 days", "2 weeks", "3 months", "2 years".
std::string human_duration(double seconds);
// Go's text/tabwriter as docker's formatter sets it up (minwidth 10, padding 3), rows of cells,
// the header first: every column but the last as wide as its widest cell plus 3, at least 10.
std::string docker_table(const std::vector<std::vector<std::string>>& cells);
std::string percentage(double value);

// A decimal number alone on its line ("123\n"): memory.usage_in_bytes, pids.current, ...
std::optional<std::uint64_t> parse_number(std::string_view text);
// The value of `key` in "key value" lines: memory.stat, cpu.stat.
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);

struct ReadWrite {
    std::uint64_t read = 0, written = 0;
};
// v1 blkio.throttle.io_service_bytes_recursive ("8:0 Read 4096" lines): Read and Write summed
// over devices, as docker cli's calculateBlockIO does (ops compared without case).
ReadWrite parse_blkio_service_bytes(std::string_view text);
// cgroup2 io.stat ("8:0 rbytes=4096 wbytes=0 rios=1 ..."): rbytes and wbytes summed.
ReadWrite parse_io_stat(std::string_view text);
// /proc/PID/net/dev: received and transmitted bytes of every interface but lo (Docker sums
// the container's interfaces; its loopback is not one of them).
ReadWrite parse_net_dev(std::string_view text);
// /proc/stat's "cpu" line: the host's CPU time in nanoseconds (user..steal, as Docker's
// daemon sums it; guest time is already inside user), given USER_HZ ticks per second.
std::optional<std::uint64_t> parse_system_cpu_ns(std::string_view proc_stat, long ticks_per_second);
// /proc/meminfo's MemTotal in bytes: Docker's limit for a container without one.
std::optional<std::uint64_t> parse_mem_total(std::string_view meminfo);
// A "Pss:" (or other "Name:   N kB") line of /proc/PID/smaps_rollup, in bytes.
std::optional<std::uint64_t> kb_field(std::string_view text, std::string_view name);

// One reading of a container. `valid` false: it went away while being read (Docker's "--").
struct Sample {
    bool valid = true;
    std::optional<std::uint64_t> cpu_ns;  // the container's CPU time; none: no counter found
    std::uint64_t system_ns = 0;          // the host's, from /proc/stat
    std::uint64_t memory = 0, memory_limit = 0;
    ReadWrite net, block;
    std::uint64_t pids = 0;
};

// Memory in use as docker cli's calculateMemUsageUnixNoCache counts it: usage minus the
// inactive file cache (v1: total_inactive_file, cgroup2: inactive_file), when smaller.
std::uint64_t memory_without_cache(std::uint64_t usage, std::string_view memory_stat);

// docker cli's calculateCPUPercentUnix: container CPU delta / host CPU delta * online CPUs *
// 100, 0 when either delta is not positive.
double cpu_percent(const Sample& before, const Sample& now, unsigned online_cpus);

// One line of output: the fields docker stats' formatter has.
struct Row {
    std::string container;  // what the user named, or the short id when listing all (as Docker)
    std::string id;         // 12 characters
    std::string name;
    std::string cpu, mem_usage, mem_perc, net_io, block_io, pids;
};
Row make_row(const std::string& container, const std::string& id, const std::string& name, const Sample& before,
             const Sample& now, unsigned online_cpus);

// Docker's default table (its tabwriter: cells padded by 3, at least 10 wide), header included.
std::string format_table(const std::vector<Row>& rows);
// `--format json`: `{{json .}}` of the row, keys sorted as Go's encoder sorts them.
std::string format_json(const Row& row);

}  // namespace hutch::stats
