// process.rlimits' names (config.md: "RLIMIT_*" as in getrlimit(2)) and their numbers.
#pragma once

#include <sys/resource.h>

#include <string>

#include "runtime/error.hpp"

namespace hutch {

// The resource number for `name`; throws UsageError naming an unknown one.
inline int rlimit_resource(const std::string& name) {
    static const std::pair<const char*, int> kLimits[] = {
        {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
    };
    for (const auto& [n, resource] : kLimits)
        if (name == n) return resource;
    throw UsageError("unknown rlimit \"" + name + "\" (process.rlimits)");
}

}  // namespace hutch
