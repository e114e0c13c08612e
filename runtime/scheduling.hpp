// process.scheduler and process.ioPriority (config.md): the CPU scheduling policy and the I/O
// priority the container's process starts with, set in the child before it drops its
// capabilities (SCHED_FIFO and SCHED_RR, a negative nice and IOPRIO_CLASS_RT need CAP_SYS_NICE
// or CAP_SYS_ADMIN, as runc sets them), and inherited by everything it runs. And
// linux.memoryPolicy (config-linux.md): the NUMA nodes its memory comes from, set_mempolicy(2),
// inherited the same way.
#pragma once

#include <string>

#include "runtime/spec.hpp"

namespace hutch::scheduling {

// What is wrong with them (the field named, for "config.json: process.<field>: ..."), or "".
std::string invalid(const Scheduler& s);
std::string invalid(const IoPriority& p);
std::string invalid(const MemoryPolicy& p);

// In the child, through the kernel seam: sched_setattr and ioprio_set for this process.
void apply(const Process& process);
// set_mempolicy for this process; nothing without a policy.
void apply(const std::optional<MemoryPolicy>& policy);

}  // namespace hutch::scheduling
