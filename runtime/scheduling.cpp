#include "runtime/scheduling.hpp"

#include <linux/ioprio.h>
#include <linux/sched.h>

#include <cstdint>
#include <optional>
#include <utility>

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
