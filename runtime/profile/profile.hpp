// `hutch profile`: runs a workload once under observation and writes the least privilege it
// showed (caps/least_privilege.hpp says what counts and why).
//
//   the profiled run     run_container with a RunObserver: a private tracefs instance records
//                        every capability check of the container's processes, a notifying
//                        seccomp filter (stacked on the spec's) records every system call, and
//                        the overlay's upper dir shows every path written
//   replays (fallback)   where the kernel lacks capability:cap_capable: one run per capability
//                        of the starting set, without it, compared by exit status and output
//   --verify             one run under the generated flags and profile, compared the same way
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "netns/host_config.hpp"
#include "runtime/run_options.hpp"
#include "runtime/spec.hpp"
#include "runtime/state.hpp"

namespace hutch::profile {

struct Request {
    RunOptions options;  // rootfs absolute, command set
    // The run flags -> Spec, as `hutch run` builds it (the CLI supplies the host's facts).
    std::function<Spec(const RunOptions&, const std::string& id)> build_spec;
    Paths paths;
    net::HostConfig config;
    std::vector<std::string> user_flags;  // the run flags as typed, for the suggested command line
    std::string rootfs_arg;               // ROOTFS as typed
    std::string output_dir;               // --output: profile.json, flags.txt, report.md
    bool verify = false;
};

// Checks what can be checked before anything runs; UsageError names the bad value.
void validate_request(const Request& request);

// Profiles; prints the summary on `out`. Returns 0, or 1 when --verify saw the workload behave
// differently under the generated profile.
int run_profile(const Request& request, std::ostream& out);

}  // namespace hutch::profile
