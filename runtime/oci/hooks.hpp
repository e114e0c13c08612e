// OCI hooks (config.md "POSIX-platform Hooks"): each runs with the container's state as JSON on
// its stdin, and a hook that fails or outlives its timeout fails the operation it belongs to.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec.hpp"

namespace hutch::oci {

// Runs `hooks` in order; throws Error naming the hook point, its index and path when one exits
// non-zero, is killed, or runs past its timeout (it is killed then).
void run_hooks(const std::vector<Hook>& hooks, const char* point, const std::string& state_json);

}  // namespace hutch::oci
