// The audit's device rule (CIS Docker Benchmark 5.17, "host devices are not directly exposed"):
// what a profile's device policy (runtime/devices.hpp) allows beyond Docker's default
// allow-list. Internal to caps/audit.cpp.
#pragma once

#include <vector>

#include "caps/audit.hpp"
#include "runtime/spec.hpp"

namespace hutch::audit {

// PASS for Docker's allow-list; otherwise one finding per widening: every device allowed
// (--privileged, an "a" rule), a host node given (--device; a block device is a WARN of its
// own: raw access to a host disk), a rule that opens more than Docker's (--device-cgroup-rule;
// a wildcard or block rule with read or write is a WARN, one named character device an INFO).
std::vector<Finding> device_findings(const Spec& spec);

}  // namespace hutch::audit
