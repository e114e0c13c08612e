// process.scheduler and process.ioPriority (config.md): the CPU scheduling policy and the I/O
// priority the container's process starts with, set in the child before it drops its
// capabilities (SCHED_FIFO and SCHED_RR, a negative nice and IOPRIO_CLASS_RT need CAP_SYS_NICE
// or CAP_SYS_ADMIN, as runc sets them), and inherited by everything it runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/spec.hpp"

namespace hutch::scheduling {

// SCHED_OTHER ... SCHED_DEADLINE as sched_setattr(2) numbers them; nullopt for another name.
std::optional<std::uint32_t> policy_number(const std::string& name);
// SCHED_FLAG_RESET_ON_FORK ... as sched_setattr(2)'s sched_flags bits.
std::optional<std::uint64_t> flag_bit(const std::string& name);
// IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE.
std::optional<int> io_class_number(const std::string& name);

// What is wrong with them (the field named, for "config.json: process.<field>: ..."), or "".
std::string invalid(const Scheduler& s);
std::string invalid(const IoPriority& p);

// In the child, through the kernel seam: sched_setattr and ioprio_set for this process.
void apply(const Process& process);

}  // namespace hutch::scheduling
