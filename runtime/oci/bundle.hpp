// An OCI bundle's config.json, read into a Spec for `hutch oci create|run`.
//
// The OCI front-end's counterpart of run_options: it fills the same Spec the launcher takes,
// with runc's behaviour in its hutch section (the rootfs bound in place, the engine's stdio, no IPv6 change),
// so the launcher adds nothing the engine above did not ask for. Every field
// of config.md / config-linux.md is either honoured or refused with a message that names it;
// only properties the spec does not define are ignored, as config.md requires ("Runtimes MUST
// ignore unknown properties").
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/spec.hpp"

namespace hutch::oci {

// Parses config.json text; errors name the line and column. Throws UsageError.
nlohmann::json parse_config(const std::string& text, const std::string& shown_path);

// The Spec of the bundle at `bundle_dir` (absolute): root.path and relative bind sources are
// resolved against it. Throws UsageError for a missing or invalid config.json, an ociVersion
// whose major is not 1, or a field hutch does not honour.
Spec load_bundle(const std::string& bundle_dir);
Spec spec_from_config(const nlohmann::json& config, const std::string& bundle_dir);

// runc's HOME: a process whose environment lacks it gets its user's home from the rootfs'
// /etc/passwd (read as hostile input: inside the root, bounded), "/" without an entry. Docker
// leaves HOME out of config.json and counts on this.
void default_home(Process& process, const std::string& rootfs);

// The fields of the runtime spec hutch refuses, as JSON paths ("linux.intelRdt"): what
// `features` lists and what create names.
const std::vector<std::string>& unsupported_fields();

// `hutch oci spec`: a default config.json, as runc and crun write it.
nlohmann::json default_config();
// runc spec --rootless: `config` for a user who is not root. A new user namespace mapping the
// container's root to `uid`/`gid` alone, the host's network (a user without privilege cannot
// make a veth), the host's /sys bound read-only (a fresh sysfs needs a network namespace of
// the user's own), no uid=/gid= mount options (ids the map lacks) and no resources.
nlohmann::json rootless_config(nlohmann::json config, std::uint32_t uid, std::uint32_t gid);
// Whether a config value asks for nothing: null, false, 0, "", [] or {} (engines often write
// empty sections, e.g. "resources": {}, and dockerd writes "blockIO": {"weight": 0}).
bool asks_nothing(const nlohmann::json& value);

}  // namespace hutch::oci
