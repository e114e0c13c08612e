#include "runtime/resource_flags.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>

#include "runtime/error.hpp"

namespace hutch {
namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& why) {
    throw UsageError("invalid " + flag + " \"" + value + "\": " + why);
}


// "0-2,4": the sorted set of numbers; std::nullopt when the text is not such a list.
std::optional<std::set<int>> parse_list(const std::string& text) {
    std::set<int> out;
    std::size_t start = 0;
    if (text.empty()) return std::nullopt;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        std::size_t dash = part.find('-');
        auto number = [](const std::string& s) -> std::optional<int> {
            if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
            return std::stoi(s);
        };
        auto first = number(part.substr(0, dash));
        auto last = dash == std::string::npos ? first : number(part.substr(dash + 1));
        if (!first || !last || *last < *first) return std::nullopt;
        for (int i = *first; i <= *last; ++i) out.insert(i);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// --cpuset-cpus/--cpuset-mems: a list naming only what the host has online (dockerd checks the
// same against sysinfo before it creates anything).
std::string cpuset(const std::string& flag, const std::string& text, const std::string& available, const char* what) {
    auto wanted = parse_list(text);
    if (!wanted) bad(flag, text, std::string("not a list of ") + what + " such as 0-2,4");
    auto have = parse_list(available);
    for (int n : *wanted)
        if (!have || !have->count(n))
            bad(flag, text, std::string(what) + " " + std::to_string(n) + " is not available (this host has " + available + ")");
    return text;
}

// --cpus 1.5: Docker's NanoCPUs, as a CFS quota over the default 100 ms period.
std::int64_t parse_cpus(const std::string& text, int online) {
    const std::string flag = "--cpus";
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        bad(flag, text, "not a number of CPUs");
    }
    if (used != text.size() || !std::isfinite(v) || text.find_first_not_of("0123456789.") != std::string::npos)
        bad(flag, text, "not a number of CPUs");
    if (v > online) bad(flag, text, "more than the " + std::to_string(online) + " CPUs this host has");
    std::int64_t nano = std::llround(v * 1e9);
    if (std::fabs(v * 1e9 - static_cast<double>(nano)) > 1e-3) bad(flag, text, "too precise (at most 9 decimals)");
    if (nano <= 0) bad(flag, text, "must be more than 0");
    if (nano < 10'000'000) bad(flag, text, "the least is 0.01 (a 1 ms quota per 100 ms)");
    if (nano > static_cast<std::int64_t>(online) * 1'000'000'000)
        bad(flag, text, "more than the " + std::to_string(online) + " CPUs this host has");
    return nano;
}

struct UlimitName {
    const char* name;
    const char* rlimit;
    int resource;
};
constexpr UlimitName kUlimits[] = {
    {"core", "RLIMIT_CORE", RLIMIT_CORE},       {"cpu", "RLIMIT_CPU", RLIMIT_CPU},
    {"data", "RLIMIT_DATA", RLIMIT_DATA},       {"fsize", "RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"locks", "RLIMIT_LOCKS", RLIMIT_LOCKS},    {"memlock", "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"msgqueue", "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"nice", "RLIMIT_NICE", RLIMIT_NICE},
    {"nofile", "RLIMIT_NOFILE", RLIMIT_NOFILE}, {"nproc", "RLIMIT_NPROC", RLIMIT_NPROC},
    {"rss", "RLIMIT_RSS", RLIMIT_RSS},          {"rtprio", "RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"rttime", "RLIMIT_RTTIME", RLIMIT_RTTIME}, {"sigpending", "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"stack", "RLIMIT_STACK", RLIMIT_STACK},
};

// --ulimit NAME=SOFT[:HARD] (docker/go-units ParseUlimit): HARD defaults to SOFT; -1 or
// "unlimited" is no limit.
Rlimit parse_ulimit(const std::string& text, const HostFacts& host) {
    const std::string flag = "--ulimit";
    auto eq = text.find('=');
    if (eq == std::string::npos) bad(flag, text, "not NAME=SOFT[:HARD]");
    std::string name = text.substr(0, eq), values = text.substr(eq + 1);
    const UlimitName* limit = nullptr;
    for (const auto& u : kUlimits)
        if (name == u.name) limit = &u;
    if (!limit) bad(flag, text, "unknown limit \"" + name + "\" (core, cpu, data, fsize, locks, memlock, msgqueue, nice, "
                                "nofile, nproc, rss, rtprio, rttime, sigpending or stack)");
    auto value = [&](const std::string& v) -> std::uint64_t {
        if (v == "unlimited" || v == "-1") return RLIM_INFINITY;
        std::int64_t n = 0;
        try {
            n = parse_integer(flag, v);
        } catch (const UsageError&) {
            bad(flag, text, "\"" + v + "\" is not a whole number, -1 or unlimited");
        }
        if (n < 0) bad(flag, text, "\"" + v + "\" is negative");
        return static_cast<std::uint64_t>(n);
    };
    auto colon = values.find(':');
    Rlimit out{limit->rlimit, value(values.substr(0, colon)), 0};
    out.hard = colon == std::string::npos ? out.soft : value(values.substr(colon + 1));
    if (out.soft > out.hard) bad(flag, text, "the soft limit is above the hard limit");
    // The container's process raises nothing the kernel would refuse: found here, before anything
    // is made, not as a failed start.
    std::uint64_t ceiling = host.hard_rlimit(limit->resource);
    if (out.hard > ceiling && !host.can_raise_rlimits)
        bad(flag, text, "the hard limit is above hutch's own (" +
                            (ceiling == RLIM_INFINITY ? std::string("unlimited") : std::to_string(ceiling)) +
                            ") and raising it needs CAP_SYS_RESOURCE, which hutch does not have");
    return out;
}

// The /dev/shm mount's size= option, as --shm-size gives it.
void set_shm_size(Spec& spec, std::int64_t bytes) {
    for (auto& m : spec.mounts) {
        if (m.destination != "/dev/shm" || m.type != "tmpfs") continue;
        std::erase_if(m.options, [](const std::string& o) { return o.rfind("size=", 0) == 0; });
        m.options.push_back("size=" + std::to_string(bytes));
    }
}

// --cpus, --cpu-shares, --cpu-period, --cpu-quota, --cpuset-cpus and --cpuset-mems into the
// result `r` and the values to write `w` (merge_limit_flags).
void add_cpu_flags(Resources& r, Resources& w, const RunOptions& o, const HostFacts& host) {
    if (!o.cpus.empty()) {
        if (!o.cpu_period.empty() || !o.cpu_quota.empty())
            bad("--cpus", o.cpus, "conflicts with --cpu-period and --cpu-quota (it sets both)");
        std::int64_t nano = parse_cpus(o.cpus, host.cpu_count);
        w.cpu_period = r.cpu_period = 100000;
        w.cpu_quota = r.cpu_quota = nano / 10000;  // nano * 100000 us / 1e9
    }
    if (!o.cpu_shares.empty()) {
        std::int64_t shares = parse_integer("--cpu-shares", o.cpu_shares);
        if (shares < 0) bad("--cpu-shares", o.cpu_shares, "must not be negative");
        // The kernel's range (2..262144); dockerd clamps the same way.
        if (shares > 0) w.cpu_shares = r.cpu_shares = static_cast<std::uint64_t>(std::clamp<std::int64_t>(shares, 2, 262144));
    }
    if (!o.cpu_period.empty()) {
        std::int64_t period = parse_integer("--cpu-period", o.cpu_period);
        if (period < 1000 || period > 1000000) bad("--cpu-period", o.cpu_period, "must be from 1000 (1 ms) to 1000000 (1 s)");
        w.cpu_period = r.cpu_period = static_cast<std::uint64_t>(period);
    }
    if (!o.cpu_quota.empty()) {
        std::int64_t quota = parse_integer("--cpu-quota", o.cpu_quota);
        if (quota != -1 && quota < 1000) bad("--cpu-quota", o.cpu_quota, "must be -1 (none) or at least 1000 (1 ms)");
        w.cpu_quota = r.cpu_quota = quota;
    }
    if (!o.cpuset_cpus.empty()) w.cpus = r.cpus = cpuset("--cpuset-cpus", o.cpuset_cpus, host.online_cpus, "CPU");
    if (!o.cpuset_mems.empty()) w.mems = r.mems = cpuset("--cpuset-mems", o.cpuset_mems, host.online_mems, "memory node");
}

}  // namespace

std::int64_t parse_integer(const std::string& flag, const std::string& text) {
    std::size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(text, &used, 10);
    } catch (const std::exception&) {
        bad(flag, text, "not a whole number");
    }
    if (used != text.size() || text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
        bad(flag, text, "not a whole number");
    return v;
}

std::int64_t parse_bytes(const std::string& flag, const std::string& text) {
    // ^(\d+(\.\d+)?) ?([kmgtp])?i?b?$ without regard to case, as go-units' RAMInBytes.
    std::size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    std::string number = text.substr(0, i), unit = text.substr(i);
    if (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
    std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
    static const std::map<std::string, double> kUnits = {{"", 1}, {"k", 1024.0}, {"m", 1024.0 * 1024},
                                                         {"g", 1024.0 * 1024 * 1024}, {"t", 1024.0 * 1024 * 1024 * 1024},
                                                         {"p", 1024.0 * 1024 * 1024 * 1024 * 1024}};
    std::string prefix = unit.substr(0, unit.empty() || unit[0] == 'b' || unit[0] == 'i' ? 0 : 1);
    std::string rest = unit.substr(prefix.size());
    bool suffix_ok = rest.empty() || rest == "b" || (!prefix.empty() && (rest == "i" || rest == "ib"));
    auto factor = kUnits.find(prefix);
    if (number.empty() || number.front() == '.' || number.back() == '.' ||
        std::count(number.begin(), number.end(), '.') > 1 || factor == kUnits.end() || !suffix_ok)
        bad(flag, text, "not a size such as 64m, 1.5g or 1048576 (bytes)");
    double bytes = 0;
    try {
        bytes = std::stod(number) * factor->second;
    } catch (const std::out_of_range&) {
        bad(flag, text, "too large");
    }
    if (bytes >= 9.2e18) bad(flag, text, "too large");
    return static_cast<std::int64_t>(bytes);
}

LimitUpdate merge_limit_flags(const Resources& current, const RunOptions& o, const HostFacts& host) {
    LimitUpdate u{current, {}};
    Resources& r = u.result;
    Resources& w = u.write;
    constexpr std::int64_t kMinMemory = 6 << 20;  // dockerd's linuxMinMemory
    // What a memory check compares against: the flag as typed, or the container's own limit.
    auto memory_named = [&] {
        return !o.memory.empty() ? "--memory " + o.memory
                                 : "the container's memory limit " + std::to_string(r.memory_limit.value_or(0));
    };
    if (!o.memory.empty()) {
        w.memory_limit = r.memory_limit = parse_bytes("--memory", o.memory);
        if (*r.memory_limit < kMinMemory) bad("--memory", o.memory, "the least is 6 MiB (Docker's minimum)");
    }
    if (!o.memory_swap.empty()) {
        if (!r.memory_limit) bad("--memory-swap", o.memory_swap, "needs --memory (the swap limit counts memory and swap)");
        w.memory_swap = r.memory_swap = o.memory_swap == "-1" ? -1 : parse_bytes("--memory-swap", o.memory_swap);
        if (*r.memory_swap != -1 && *r.memory_swap < *r.memory_limit)
            bad("--memory-swap", o.memory_swap, "below " + memory_named() + " (it is memory and swap together)");
    } else if (!o.memory.empty() && !current.memory_swap) {
        // dockerd's default: as much swap as memory (unlimited where twice would not fit).
        if (host.swap_accounting)
            w.memory_swap = r.memory_swap = *r.memory_limit > INT64_MAX / 2 ? -1 : *r.memory_limit * 2;
    } else if (!o.memory.empty() && *current.memory_swap != -1 && *current.memory_swap < *r.memory_limit) {
        // The kernel refuses a memory limit above memory+swap; dockerd's update refuses it first.
        bad("--memory", o.memory, "above the container's memory+swap limit " + std::to_string(*current.memory_swap) +
                                      ": give --memory-swap too");
    }
    if (!o.memory_reservation.empty()) {
        w.memory_reservation = r.memory_reservation = parse_bytes("--memory-reservation", o.memory_reservation);
        if (r.memory_limit && *r.memory_reservation > *r.memory_limit)
            bad("--memory-reservation", o.memory_reservation, "above " + memory_named());
    }
    add_cpu_flags(r, w, o, host);
    if (!o.pids_limit.empty()) {
        std::int64_t limit = parse_integer("--pids-limit", o.pids_limit);
        if (limit < -1) bad("--pids-limit", o.pids_limit, "must be -1 or 0 (no limit) or a positive number");
        if (limit > 0) {
            w.pids_limit = r.pids_limit = limit;
        } else {
            // 0 and -1: unlimited, as Docker; a limit the container has is lifted (pids.max "max").
            r.pids_limit.reset();
            if (current.pids_limit) w.pids_limit = -1;
        }
    }
    if (!o.blkio_weight.empty()) {
        std::int64_t weight = parse_integer("--blkio-weight", o.blkio_weight);
        if (weight != 0 && (weight < 10 || weight > 1000)) bad("--blkio-weight", o.blkio_weight, "must be from 10 to 1000 (0: none)");
        if (weight != 0) w.blkio_weight = r.blkio_weight = static_cast<std::uint16_t>(weight);
    }
    // Pairs are written whole, from the merged result: cgroup2 keeps quota and period in one file
    // (cpu.max) and swap apart from memory (memory.swap.max = swap - memory), so writing one half
    // alone would lift the other (a period alone wrote "max PERIOD").
    if (w.cpu_quota || w.cpu_period) {
        w.cpu_quota = r.cpu_quota;
        w.cpu_period = r.cpu_period;
    }
    if (w.memory_limit || w.memory_swap) {
        w.memory_limit = r.memory_limit;
        w.memory_swap = r.memory_swap;
    }
    return u;
}

bool has_limit_flags(const RunOptions& o) {
    for (const std::string* flag : {&o.memory, &o.memory_swap, &o.memory_reservation, &o.cpus, &o.cpu_shares, &o.cpu_period,
                                    &o.cpu_quota, &o.cpuset_cpus, &o.cpuset_mems, &o.pids_limit, &o.blkio_weight})
        if (!flag->empty()) return true;
    return false;
}

void add_resources(Spec& spec, const RunOptions& o, const HostFacts& host) {
    Resources& r = spec.linux.resources;
    r = merge_limit_flags(r, o, host).result;
    if (!o.kernel_memory.empty()) {
        r.kernel_memory = parse_bytes("--kernel-memory", o.kernel_memory);
        if (*r.kernel_memory < (4 << 20)) bad("--kernel-memory", o.kernel_memory, "the least is 4 MiB (Docker's minimum)");
    }
    if (o.oom_kill_disable) r.disable_oom_killer = true;
    if (!o.oom_score_adj.empty()) {
        std::int64_t adj = parse_integer("--oom-score-adj", o.oom_score_adj);
        if (adj < -1000 || adj > 1000) bad("--oom-score-adj", o.oom_score_adj, "must be from -1000 to 1000");
        spec.process.oom_score_adj = static_cast<int>(adj);
    }

    for (const auto& u : o.ulimits) {
        Rlimit limit = parse_ulimit(u, host);
        std::erase_if(spec.process.rlimits, [&](const Rlimit& l) { return l.type == limit.type; });
        spec.process.rlimits.push_back(limit);
    }
    if (!o.shm_size.empty()) {
        std::int64_t bytes = parse_bytes("--shm-size", o.shm_size);
        if (bytes <= 0) bad("--shm-size", o.shm_size, "must be more than 0");
        set_shm_size(spec, bytes);
    }
    for (const auto& s : o.sysctls) {
        auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) bad("--sysctl", s, "not KEY=VALUE");
        spec.linux.sysctl[s.substr(0, eq)] = s.substr(eq + 1);  // validate_spec checks the key is namespaced
    }
}

std::string resource_flag_name(const std::string& field) {
    static const std::map<std::string, std::string> kFlags = {
        {"linux.resources", "resource limits"},
        {"linux.resources.pids", "--pids-limit"},
        {"linux.resources.memory", "--memory"},
        {"linux.resources.memory.swap", "--memory-swap"},
        {"linux.resources.memory.kernel", "--kernel-memory"},
        {"linux.resources.memory.disableOOMKiller", "--oom-kill-disable"},
        {"linux.resources.cpu", "--cpus/--cpu-shares/--cpu-period/--cpu-quota"},
        {"linux.resources.cpu.cpus", "--cpuset-cpus"},
        {"linux.resources.cpu.mems", "--cpuset-mems"},
        {"linux.resources.blockIO.weight", "--blkio-weight"},
    };
    auto it = kFlags.find(field);
    return it == kFlags.end() ? field : it->second;
}

}  // namespace hutch
