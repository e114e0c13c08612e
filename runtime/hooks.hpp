// OCI hooks (config.md "POSIX-platform Hooks"): each runs with the container's state as JSON on
// its stdin, and a hook that fails or outlives its timeout fails the operation it belongs to.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec.hpp"

namespace hutch {

// Runs `hooks` in order; throws Error naming the hook point, its index and path when one exits
// non-zero, is killed, or runs past its timeout (it is killed then).
//
// With `stop_at_failure` false (poststart, poststop: runtime.md has the runtime log a warning
// and go on) every hook runs and each failure is printed as a warning on stderr.
void run_hooks(const std::vector<Hook>& hooks, const char* point, const std::string& state_json,
               bool stop_at_failure = true);

}  // namespace hutch
