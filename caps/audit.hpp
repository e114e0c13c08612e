// `hutch audit`: what a container profile leaves open, before it runs in production.
//
// The rules follow the container-runtime section (5.x) of the CIS Docker Benchmark, plus 4.1
// for the user. They are a pure function of a Spec, so a profile built from `run` flags, read
// from an OCI config.json or stored for a container is judged the same way, and unit tests pin
// every rule without privileges. Each rule yields at least one finding: PASS when the profile is
// fine, otherwise INFO or WARN, one finding per offending capability, mount or namespace.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/spec.hpp"

namespace hutch::audit {

enum class Level { kPass, kInfo, kWarn };
std::string_view level_name(Level level);  // "PASS", "INFO", "WARN"

struct Finding {
    std::string id;     // CIS number and a slug: "5.4 privileged"
    Level level = Level::kPass;
    std::string title;  // what was found, one line
    std::string why;    // why it matters, one line
    std::string fix;    // the flag that fixes it (or keeps it fixed)
    std::vector<std::string> details;  // the full lists a title abbreviates
    bool operator==(const Finding&) const = default;
};

// Host paths whose bind mount hands the container an engine's API, which is host root (CIS
// 5.31): the Docker, containerd, podman and CRI-O sockets, and hutch's own state roots.
std::vector<std::string> default_control_paths();

struct Options {
    // Compared as paths: the path itself, anything under it, and any directory above it (a bind
    // of /run exposes /run/docker.sock). /var/run is treated as /run.
    std::vector<std::string> control_paths = default_control_paths();
};

std::vector<Finding> audit(const Spec& spec, const Options& options = {});

// 1 with `strict` when any finding is WARN, for CI gating; else 0.
int exit_code(const std::vector<Finding>& findings, bool strict);

// `--format json`: an array of {id, level, title, why, fix, details}, keys in that order.
nlohmann::ordered_json to_json(const std::vector<Finding>& findings);

// The default output: a table (ID, LEVEL, FINDING, FIX) with the why under each INFO and WARN
// row, then one summary line ("summary: 3 WARN, 2 INFO, 11 PASS").
std::string format_table(const std::vector<Finding>& findings);

}  // namespace hutch::audit
