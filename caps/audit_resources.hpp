// The audit's resource rules, CIS Docker Benchmark 1.6 numbering and wording:
//   5.10 "Ensure that the memory usage for containers is limited" (Automated: WARN when not),
//        plus, when the OOM killer is disabled, Docker's own warning: without a memory limit
//        the container can take the host's memory with nothing to stop it;
//   5.11 "Ensure that CPU priority is set appropriately on the container" (Automated);
//   5.14 "Ensure that the 'on-failure' container restart policy is set to '5'" (Automated: no
//        policy, or on-failure with at most 5 retries, passes; always, unless-stopped and an
//        unbounded on-failure restart a crashing container for ever: WARN);
//   5.18 "Ensure that the default ulimit is overwritten at runtime if needed" (Manual: an
//        override is INFO, to confirm it is needed);
//   5.28 "Ensure that the PIDs cgroup limit is used" (Automated).
// The benchmark has no rule for --oom-kill-disable; it is reported under 5.10, the rule it
// weakens. Internal to caps/audit.cpp.
#pragma once

#include <vector>

#include "caps/audit.hpp"
#include "runtime/spec.hpp"

namespace hutch::audit {

// In rule order: 5.10 memory-limit, [5.10 oom-kill-disable, only when disabled], 5.11 cpu-shares,
// 5.14 restart-policy, 5.18 ulimits, 5.28 pids-limit.
std::vector<Finding> resource_findings(const Spec& spec);

}  // namespace hutch::audit
