#include "runtime/oci/stats.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "runtime/cgroup.hpp"
#include "runtime/error.hpp"
#include "runtime/stats.hpp"

namespace hutch::oci {

using nlohmann::json;

namespace {

// The first of `cgroups` that has `file`, "" when none has it.
std::string dir_with(const std::vector<std::string>& cgroups, const std::string& file) {
    for (const auto& dir : cgroups)
        if (::access((dir + "/" + file).c_str(), F_OK) == 0) return dir;
    return "";
}

// A counter file's number (runtime/stats.hpp's parser, as `hutch stats` reads them); "max"
// (cgroup2's unlimited) is runc's MaxUint64, anything else 0.
std::uint64_t number(const std::string& text) {
    if (text == "max") return std::numeric_limits<std::uint64_t>::max();
    return stats::parse_number(text).value_or(0);
}

std::uint64_t read_number(const std::string& dir, const std::string& file) {
    return dir.empty() ? 0 : number(read_cgroup_file(dir + "/" + file));
}

// "key value" lines (memory.stat, cpu.stat, memory.events) as an object of numbers.
json keyed(const std::string& text) {
    json out = json::object();
    std::istringstream lines(text);
    std::string key, value;
    while (lines >> key >> value) out[key] = number(value);
    return out;
}

std::uint64_t at(const json& keyed_values, const char* key) { return keyed_values.value(key, std::uint64_t{0}); }

json cpu(const std::vector<std::string>& cgroups) {
    json usage = {{"kernel", 0}, {"user", 0}};
    if (std::string d = dir_with(cgroups, "cpuacct.usage"); !d.empty()) {
        usage["total"] = read_number(d, "cpuacct.usage");
        json percpu = json::array();
        std::istringstream values(read_cgroup_file(d + "/cpuacct.usage_percpu"));
        for (std::uint64_t v; values >> v;) percpu.push_back(v);
        if (!percpu.empty()) usage["percpu"] = percpu;
        // cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds.
        json ticks = keyed(read_cgroup_file(d + "/cpuacct.stat"));
        const std::uint64_t ns_per_tick = 1'000'000'000ull / static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
        usage["kernel"] = at(ticks, "system") * ns_per_tick;
        usage["user"] = at(ticks, "user") * ns_per_tick;
    } else if (std::string v2 = dir_with(cgroups, "cgroup.controllers"); !v2.empty()) {
        json stat = keyed(read_cgroup_file(v2 + "/cpu.stat"));
        if (at(stat, "usage_usec")) usage["total"] = at(stat, "usage_usec") * 1000;
        usage["kernel"] = at(stat, "system_usec") * 1000;
        usage["user"] = at(stat, "user_usec") * 1000;
    }
    // Throttling: v1's cpu controller (throttled_time in ns) or cgroup2's (throttled_usec).
    json throttling = json::object();
    for (const auto& dir : cgroups) {
        json stat = keyed(read_cgroup_file(dir + "/cpu.stat"));
        if (!stat.contains("nr_periods")) continue;
        if (at(stat, "nr_periods")) throttling["periods"] = at(stat, "nr_periods");
        if (at(stat, "nr_throttled")) throttling["throttled_periods"] = at(stat, "nr_throttled");
        std::uint64_t time = stat.contains("throttled_time") ? at(stat, "throttled_time") : at(stat, "throttled_usec") * 1000;
        if (time) throttling["throttled_time"] = time;
        break;
    }
    return {{"usage", usage}, {"throttling", throttling}};
}

// runc's MemoryEntry: limit and failcnt always, usage and max when not zero.
json memory_entry(std::uint64_t usage, std::uint64_t max, std::uint64_t limit, std::uint64_t failcnt) {
    json e = {{"limit", limit}, {"failcnt", failcnt}};
    if (usage) e["usage"] = usage;
    if (max) e["max"] = max;
    return e;
}

json memory(const std::vector<std::string>& cgroups) {
    json out = json::object();
    if (std::string d = dir_with(cgroups, "memory.usage_in_bytes"); !d.empty()) {
        auto entry = [&](const std::string& prefix) {
            return memory_entry(read_number(d, prefix + ".usage_in_bytes"), read_number(d, prefix + ".max_usage_in_bytes"),
                                read_number(d, prefix + ".limit_in_bytes"), read_number(d, prefix + ".failcnt"));
        };
        out["usage"] = entry("memory");
        out["swap"] = entry("memory.memsw");
        out["kernel"] = entry("memory.kmem");
        out["kernelTCP"] = entry("memory.kmem.tcp");
        json raw = keyed(read_cgroup_file(d + "/memory.stat"));
        if (at(raw, "cache")) out["cache"] = at(raw, "cache");
        if (!raw.empty()) out["raw"] = raw;
    } else if (std::string v2 = dir_with(cgroups, "memory.current"); !v2.empty()) {
        out["usage"] = memory_entry(read_number(v2, "memory.current"), read_number(v2, "memory.peak"),
                                    read_number(v2, "memory.max"), at(keyed(read_cgroup_file(v2 + "/memory.events")), "max"));
        out["swap"] = memory_entry(read_number(v2, "memory.swap.current"), read_number(v2, "memory.swap.peak"),
                                   read_number(v2, "memory.swap.max"), 0);
        out["kernel"] = memory_entry(0, 0, 0, 0);
        out["kernelTCP"] = memory_entry(0, 0, 0, 0);
        json raw = keyed(read_cgroup_file(v2 + "/memory.stat"));
        if (at(raw, "file")) out["cache"] = at(raw, "file");
        if (!raw.empty()) out["raw"] = raw;
    } else {
        for (const char* entry : {"usage", "swap", "kernel", "kernelTCP"}) out[entry] = memory_entry(0, 0, 0, 0);
    }
    return out;
}

json pids(const std::vector<std::string>& cgroups) {
    json out = json::object();
    std::string d = dir_with(cgroups, "pids.current");
    if (d.empty()) return out;
    if (std::uint64_t current = read_number(d, "pids.current")) out["current"] = current;
    // runc: a limit of 0 is no limit ("max").
    std::string max = read_cgroup_file(d + "/pids.max");
    if (max != "max" && number(max)) out["limit"] = number(max);
    return out;
}

// v1 "8:0 Read 4096" lines (Total lines left out, as runc leaves them), or cgroup2 io.stat's
// "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 ..." as runc turns them into Read and Write entries.
json blkio(const std::vector<std::string>& cgroups) {
    auto v1_entries = [](const std::string& text) {
        json out = json::array();
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) {
            unsigned major = 0, minor = 0;
            char op[16] = {};
            unsigned long long value = 0;
            if (std::sscanf(line.c_str(), "%u:%u %15s %llu", &major, &minor, op, &value) == 4)
                out.push_back({{"major", major}, {"minor", minor}, {"op", op}, {"value", value}});
        }
        return out;
    };
    json out = json::object();
    if (std::string d = dir_with(cgroups, "blkio.throttle.io_service_bytes_recursive"); !d.empty()) {
        json bytes = v1_entries(read_cgroup_file(d + "/blkio.throttle.io_service_bytes_recursive"));
        json serviced = v1_entries(read_cgroup_file(d + "/blkio.throttle.io_serviced_recursive"));
        if (!bytes.empty()) out["ioServiceBytesRecursive"] = bytes;
        if (!serviced.empty()) out["ioServicedRecursive"] = serviced;
    } else if (std::string v2 = dir_with(cgroups, "io.stat"); !v2.empty()) {
        json bytes = json::array(), serviced = json::array();
        std::istringstream lines(read_cgroup_file(v2 + "/io.stat"));
        for (std::string line; std::getline(lines, line);) {
            unsigned major = 0, minor = 0;
            if (std::sscanf(line.c_str(), "%u:%u", &major, &minor) != 2) continue;
            std::istringstream fields(line.substr(line.find(' ') + 1));
            for (std::string field; fields >> field;) {
                auto eq = field.find('=');
                if (eq == std::string::npos) continue;
                std::string key = field.substr(0, eq);
                std::uint64_t value = number(field.substr(eq + 1));
                json entry = {{"major", major}, {"minor", minor}, {"op", key[0] == 'r' ? "Read" : "Write"}, {"value", value}};
                if (key == "rbytes" || key == "wbytes") bytes.push_back(entry);
                if (key == "rios" || key == "wios") serviced.push_back(entry);
            }
        }
        if (!bytes.empty()) out["ioServiceBytesRecursive"] = bytes;
        if (!serviced.empty()) out["ioServicedRecursive"] = serviced;
    }
    return out;
}

}  // namespace

json runc_stats(const std::vector<std::string>& cgroups) {
    return {{"cpu", cpu(cgroups)},           {"cpuset", json::object()}, {"memory", memory(cgroups)},
            {"pids", pids(cgroups)},         {"blkio", blkio(cgroups)},  {"hugetlb", json::object()},
            {"intel_rdt", json::object()}, {"network_interfaces", nullptr}};
}

std::optional<std::uint64_t> oom_kills(const std::vector<std::string>& cgroups) {
    for (const char* file : {"memory.oom_control", "memory.events"})  // v1, then cgroup2
        if (std::string d = dir_with(cgroups, file); !d.empty())
            return stats::keyed_value(read_cgroup_file(d + "/" + file), "oom_kill").value_or(0);
    return std::nullopt;
}

std::int64_t parse_go_duration_ms(const std::string& text) {
    static const std::pair<const char*, double> kUnits[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1.0},
                                                            {"s", 1e3},   {"m", 60e3},  {"h", 3600e3}};
    auto bad = [&] { return UsageError("invalid --interval \"" + text + "\": a duration such as 5s, 100ms or 1m30s"); };
    double total = 0;
    std::size_t i = 0;
    if (text.empty() || text.size() > 32) throw bad();
    while (i < text.size()) {
        std::size_t start = i;
        while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
        const std::string number = text.substr(start, i - start);
        // Go's form: digits with at most one point, and a digit on one side of it at least.
        if (number == "." || std::count(number.begin(), number.end(), '.') > 1) throw bad();
        if (i == start) throw bad();
        double value = std::strtod(number.c_str(), nullptr);
        bool found = false;
        for (const auto& [unit, ms] : kUnits) {  // "ms" before "m": the first that matches wins
            std::size_t n = std::strlen(unit);
            if (text.compare(i, n, unit) == 0) {
                total += value * ms;
                i += n;
                found = true;
                break;
            }
        }
        if (!found) throw bad();
    }
    if (!(total >= 1) || total > 1e12) throw bad();
    return static_cast<std::int64_t>(std::llround(total));
}

}  // namespace hutch::oci
