#include "caps/audit_resources.hpp"

#include <string>

namespace hutch::audit {
namespace {

// A byte count the way a user writes it to --memory: "64m", "1g", "1536k", else bytes.
std::string docker_size(std::int64_t bytes) {
    constexpr std::int64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
    if (bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "g";
    if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "m";
    if (bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "k";
    return std::to_string(bytes);
}

// OCI's memory.limit and pids.limit: a positive number is a limit; 0 and -1 are none.
bool limited(const std::optional<std::int64_t>& value) { return value && *value > 0; }

Finding memory(const Resources& r) {
    const char* why = "one container can exhaust the host's memory, and the OOM killer then picks among all processes";
    const char* fix = "--memory SIZE (hutch profile measures the peak and proposes one)";
    if (limited(r.memory_limit))
        return {"5.10 memory-limit", Level::kPass, "memory limited to " + docker_size(*r.memory_limit), why, fix, {}};
    return {"5.10 memory-limit", Level::kWarn, "no memory limit", why, fix, {}};
}

// dockerd warns "Disabling the OOM killer on containers without setting a '-m/--memory' limit
// may be dangerous"; with a limit, tasks at the limit wait for memory instead of being killed.
Finding oom_killer(const Resources& r) {
    const char* id = "5.10 oom-kill-disable";
    if (!limited(r.memory_limit))
        return {id, Level::kWarn, "OOM killer disabled without a memory limit",
                "nothing stops the container taking all the host's memory: the host's own processes are killed instead",
                "remove --oom-kill-disable, or add --memory", {}};
    return {id, Level::kInfo, "OOM killer disabled (memory limited to " + docker_size(*r.memory_limit) + ")",
            "tasks that reach the limit hang waiting for memory instead of being killed",
            "remove --oom-kill-disable unless the workload handles it", {}};
}

// CIS: shares of 0 or 1024 (the default weight) mean no priority was set. A CPU quota (--cpus,
// --cpu-quota) bounds the container harder than a relative priority does, so it passes too.
Finding cpu(const Resources& r) {
    const char* id = "5.11 cpu-shares";
    const char* why = "all containers get equal CPU shares: a busy one slows every other on the host";
    const char* fix = "--cpu-shares N (default 1024) or --cpus N";
    if (r.cpu_quota && *r.cpu_quota > 0) {
        std::string period = std::to_string(r.cpu_period.value_or(100000));
        return {id, Level::kPass, "CPU time bounded (quota " + std::to_string(*r.cpu_quota) + "/" + period + " us)",
                why, fix, {}};
    }
    if (r.cpu_shares && *r.cpu_shares != 1024)
        return {id, Level::kPass, "CPU shares set (" + std::to_string(*r.cpu_shares) + ")", why, fix, {}};
    return {id, Level::kWarn, "no CPU shares or quota set", why, fix, {}};
}

// The benchmark's audit: "always" is not compliant, "no" is (the container is never restarted),
// and on-failure must give up after 5 tries or fewer. unless-stopped is "always" until a user's
// stop, so it is judged as always. A restart loop of a crashing container costs the host a
// start every back-off (at most a minute) and hides the crash.
Finding restart_policy(const RestartPolicy& p) {
    const char* id = "5.14 restart-policy";
    const char* why = "a container that keeps crashing is restarted for ever: it hides the failure and costs a start each time";
    const char* fix = "--restart on-failure:5 (or fewer)";
    if (p.name == "no") return {id, Level::kPass, "no restart policy", why, fix, {}};
    if (p.name == "on-failure" && p.max_retries > 0 && p.max_retries <= 5)
        return {id, Level::kPass, "restarted on failure at most " + std::to_string(p.max_retries) + " times", why, fix, {}};
    if (p.name == "on-failure")
        return {id, Level::kWarn,
                p.max_retries == 0 ? "restarted on failure with no limit"
                                   : "restarted on failure up to " + std::to_string(p.max_retries) + " times",
                why, fix, {}};
    return {id, Level::kWarn, "restart policy " + p.name + ": restarted whatever its exit", why, fix, {}};
}

std::string limit_text(std::uint64_t v) {
    return v == ~std::uint64_t{0} ? "unlimited" : std::to_string(v);
}

Finding ulimits(const std::vector<Rlimit>& rlimits) {
    const char* id = "5.18 ulimits";
    const char* why = "an overridden ulimit replaces the default the container inherits: confirm it is needed";
    if (rlimits.empty())
        return {id, Level::kPass, "default ulimits (none overridden)", why, "--ulimit only where needed", {}};
    Finding f{id, Level::kInfo, std::to_string(rlimits.size()) + " ulimit(s) overridden", why,
              "drop --ulimit for any the workload does not need", {}};
    for (const auto& l : rlimits)
        f.details.push_back(l.type + "=" + limit_text(l.soft) + ":" + limit_text(l.hard));
    std::string names;
    for (const auto& l : rlimits) names += (names.empty() ? "" : ", ") + l.type;
    f.title += ": " + names;
    return f;
}

Finding pids(const Resources& r) {
    const char* why = "a fork bomb inside exhausts the host's process table";
    const char* fix = "--pids-limit N (hutch profile measures the peak and proposes one)";
    if (limited(r.pids_limit))
        return {"5.28 pids-limit", Level::kPass, "pids limited to " + std::to_string(*r.pids_limit), why, fix, {}};
    return {"5.28 pids-limit", Level::kWarn, "no pids limit", why, fix, {}};
}

}  // namespace

std::vector<Finding> resource_findings(const Spec& spec) {
    const Resources& r = spec.linux.resources;
    std::vector<Finding> out{memory(r)};
    if (r.disable_oom_killer.value_or(false)) out.push_back(oom_killer(r));
    out.push_back(cpu(r));
    out.push_back(restart_policy(spec.hutch.restart));
    out.push_back(ulimits(spec.process.rlimits));
    out.push_back(pids(r));
    return out;
}

}  // namespace hutch::audit
