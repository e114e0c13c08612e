#include "runtime/scheduling.hpp"

#include <linux/ioprio.h>
#include <linux/sched.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/sys/describe.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::scheduling {
namespace {

constexpr std::pair<const char*, std::uint64_t> kFlags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK}, {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
    {"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN},       {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
    {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS},     {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX},
};

constexpr unsigned kMaxNodes = 1024;  // the kernel's largest MAX_NUMNODES

// "0-3,7" as a node mask of kMaxNodes bits; nullopt when it is not such a list.
std::optional<std::vector<unsigned long>> node_mask(const std::string& nodes) {
    constexpr unsigned kBits = 8 * sizeof(unsigned long);
    std::vector<unsigned long> mask(kMaxNodes / kBits, 0);
    std::size_t at = 0;
    auto number = [&]() -> std::optional<unsigned> {
        std::size_t start = at;
        unsigned n = 0;
        while (at < nodes.size() && nodes[at] >= '0' && nodes[at] <= '9' && at - start < 5) n = n * 10 + (nodes[at++] - '0');
        if (at == start || n >= kMaxNodes) return std::nullopt;
        return n;
    };
    while (at < nodes.size()) {
        auto first = number();
        if (!first) return std::nullopt;
        unsigned last = *first;
        if (at < nodes.size() && nodes[at] == '-') {
            ++at;
            auto end = number();
            if (!end || *end < *first) return std::nullopt;
            last = *end;
        }
        for (unsigned n = *first; n <= last; ++n) mask[n / kBits] |= 1UL << (n % kBits);
        if (at < nodes.size() && (nodes[at++] != ',' || at == nodes.size())) return std::nullopt;
    }
    return mask;
}

// SCHED_FLAG_RESET_ON_FORK ... as sched_setattr(2)'s sched_flags bits.
std::optional<std::uint64_t> flag_bit(const std::string& name) {
    for (const auto& [n, bit] : kFlags)
        if (name == n) return bit;
    return std::nullopt;
}

}  // namespace

std::string invalid(const Scheduler& s) {
    auto policy = sys::sched_policy_number(s.policy);
    if (!policy) return "scheduler.policy: \"" + s.policy + "\" is not a policy (SCHED_OTHER, SCHED_FIFO, SCHED_RR, "
                        "SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE)";
    if (s.nice < -20 || s.nice > 19) return "scheduler.nice: " + std::to_string(s.nice) + " is not from -20 to 19";
    // The kernel's rule (sched_setattr(2)): a priority only for the real-time policies.
    bool realtime = *policy == SCHED_FIFO || *policy == SCHED_RR;
    if (realtime && (s.priority < 1 || s.priority > 99))
        return "scheduler.priority: " + std::to_string(s.priority) + " is not from 1 to 99 (" + s.policy + ")";
    if (!realtime && s.priority != 0)
        return "scheduler.priority: " + std::to_string(s.priority) + " must be 0 for " + s.policy;
    for (const auto& flag : s.flags) {
        if (!flag_bit(flag)) return "scheduler.flags: \"" + flag + "\" is not a flag";
        // They need sched_attr's clamp fields, which the first version hutch sends lacks.
        if (flag.rfind("SCHED_FLAG_UTIL_CLAMP", 0) == 0) return "scheduler.flags: \"" + flag + "\" is not supported by hutch";
    }
    if (*policy != SCHED_DEADLINE && (s.runtime || s.deadline || s.period))
        return "scheduler: runtime, deadline and period are for SCHED_DEADLINE, not " + s.policy;
    return "";
}

std::string invalid(const IoPriority& p) {
    if (!sys::io_class_number(p.io_class))
        return "ioPriority.class: \"" + p.io_class + "\" is not a class (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)";
    if (p.priority < 0 || p.priority > 7) return "ioPriority.priority: " + std::to_string(p.priority) + " is not from 0 to 7";
    return "";
}

std::string invalid(const MemoryPolicy& p) {
    if (!sys::mempolicy_mode_number(p.mode)) return "mode: unknown mode \"" + p.mode + "\"";
    const bool no_nodes = p.mode == "MPOL_DEFAULT" || p.mode == "MPOL_LOCAL";
    if (no_nodes && !p.nodes.empty()) return "nodes: " + p.mode + " takes no nodes";
    if (!no_nodes && p.mode != "MPOL_PREFERRED" && p.nodes.empty()) return "nodes: " + p.mode + " needs nodes";
    if (!p.nodes.empty() && !node_mask(p.nodes))
        return "nodes: \"" + p.nodes + "\" is not a list of node numbers and ranges below " + std::to_string(kMaxNodes) +
               " such as 0-3,7";
    for (const auto& flag : p.flags)
        if (!sys::mempolicy_flag_number(flag)) return "flags: unknown flag \"" + flag + "\"";
    auto has = [&](const char* flag) { return std::find(p.flags.begin(), p.flags.end(), flag) != p.flags.end(); };
    if (has("MPOL_F_STATIC_NODES") && has("MPOL_F_RELATIVE_NODES"))
        return "flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other";
    return "";
}

void apply(const std::optional<MemoryPolicy>& policy) {
    if (!policy) return;
    int mode = *sys::mempolicy_mode_number(policy->mode);  // checked where the spec was read
    for (const auto& flag : policy->flags) mode |= *sys::mempolicy_flag_number(flag);
    std::vector<unsigned long> mask = policy->nodes.empty() ? std::vector<unsigned long>() : *node_mask(policy->nodes);
    check(sys::kernel().set_mempolicy(mode, mask, kMaxNodes + 1), "set the memory policy", "set_mempolicy",
          policy->mode + (policy->nodes.empty() ? "" : " " + policy->nodes));
}

void apply(const Process& process) {
    sys::Kernel& k = sys::kernel();
    if (const auto& s = process.scheduler) {
        sys::SchedAttr attr;
        attr.policy = *sys::sched_policy_number(s->policy);  // validated where the spec was read
        for (const auto& flag : s->flags) attr.flags |= *flag_bit(flag);
        attr.nice = s->nice;
        attr.priority = static_cast<std::uint32_t>(s->priority);
        attr.runtime = s->runtime;
        attr.deadline = s->deadline;
        attr.period = s->period;
        check(k.sched_setattr(attr), "set the scheduler", "sched_setattr", s->policy);
    }
    if (const auto& p = process.io_priority) {
        int value = IOPRIO_PRIO_VALUE(*sys::io_class_number(p->io_class), p->priority);
        check(k.ioprio_set(IOPRIO_WHO_PROCESS, 0, value), "set the I/O priority", "ioprio_set",
              p->io_class + " " + std::to_string(p->priority));
    }
}

}  // namespace hutch::scheduling
