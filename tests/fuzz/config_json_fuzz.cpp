// config.json, both ways hutch reads one (runtime/spec.hpp, runtime/oci/bundle.hpp): an OCI
// bundle's, from an engine or a user (`hutch oci create`), and the one `hutch create` stored
// for `hutch start`. The input is the file's text.
//
// Invariants: a bad file is a UsageError; a Spec that is read is written back (to_json) to JSON
// that reads to an equal Spec; a bundle never sets hutch's own section and its mount
// destinations are clean absolute paths; the launcher's validate_spec and the seccomp compiler
// answer with UsageErrors only (with the root moved to "/", which exists, so the checks past
// the rootfs run).
#include <nlohmann/json.hpp>

#include "caps/seccomp_filter.hpp"
#include "runtime/error.hpp"
#include "runtime/launch.hpp"
#include "runtime/oci/bundle.hpp"
#include "runtime/spec.hpp"
#include "runtime/validate.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace hutch;

void check_round_trip(const Spec& spec) {
    std::string text = to_json(spec).dump();
    Spec back = spec_from_json(nlohmann::json::parse(text));
    FUZZ_CHECK(back == spec, "the Spec changed through to_json/spec_from_json: " + text);
}

// What `hutch oci create` does after reading the bundle, short of creating anything.
void check_launchable(Spec spec) {
    spec.root.path.assign(1, '/');  // not = "/": g++ 12 -Wrestrict misfires on it
    try {
        validate_spec(spec);
        if (spec.linux.seccomp) seccomp::compile(*spec.linux.seccomp);
    } catch (const UsageError&) {
    }
}

void check_bundle(const nlohmann::json& json) {
    Spec spec;
    try {
        spec = oci::spec_from_config(json, "/run/bundle");
    } catch (const UsageError&) {
        return;
    }
    FUZZ_CHECK(spec.hutch.root == HutchSection::RootKind::kBind && spec.hutch.stdio == HutchSection::Stdio::kInherited && spec.hutch.name.empty() && !spec.hutch.host_devices && !spec.hutch.privileged &&
                   (spec.hutch.network == "none" || spec.hutch.network == "host"),
               "a bundle set hutch's own section");
    for (const auto& m : spec.mounts)
        FUZZ_CHECK(validate::clean_absolute_path(m.destination, "fuzz") == m.destination,
                   "a mount destination that is not clean: " + m.destination);
    // Relative roots are taken inside the bundle; an empty one is left for validate_spec to refuse.
    FUZZ_CHECK(spec.root.path.empty() || spec.root.path[0] == '/', "a relative root: " + spec.root.path);
    check_round_trip(spec);
    check_launchable(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 65536) return -1;
    nlohmann::json json;
    try {
        json = oci::parse_config(fuzz::as_string(data, size), "config.json");
    } catch (const UsageError&) {
        return 0;
    }
    check_bundle(json);
    // `hutch start`'s reading of a stored config.json, hutch's own section included.
    try {
        Spec stored = spec_from_json(json);
        check_round_trip(stored);
    } catch (const UsageError&) {
    }
    return 0;
}
