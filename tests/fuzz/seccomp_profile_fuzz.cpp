// Seccomp profiles in Docker's format (caps/seccomp_profile.hpp): `--security-opt seccomp=FILE`
// hands hutch any JSON file. The input is the profile's text.
//
// Invariants: a bad profile is a UsageError; a profile that parses resolves, for any capability
// set and machine, to rules taken from it in order; the resolved filter survives the Spec's
// to_json/spec_from_json; and what the parser accepted libseccomp compiles (the parser promises
// to refuse everything compile() would).
#include <nlohmann/json.hpp>

#include "caps/seccomp_filter.hpp"
#include "caps/seccomp_profile.hpp"
#include "runtime/error.hpp"
#include "runtime/spec.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace hutch;

// Each resolved rule is one of the profile's, in the profile's order.
void check_subsequence(const seccomp::DockerProfile& profile, const Seccomp& resolved) {
    std::size_t at = 0;
    for (const auto& rule : resolved.syscalls) {
        while (at < profile.syscalls.size() &&
               !(profile.syscalls[at].names == rule.names && profile.syscalls[at].action == rule.action &&
                 profile.syscalls[at].errno_ret == rule.errno_ret && profile.syscalls[at].args == rule.args))
            ++at;
        FUZZ_CHECK(at < profile.syscalls.size(), "a resolved rule the profile does not hold, or out of order");
        ++at;
    }
    FUZZ_CHECK(resolved.default_action == profile.default_action, "the default action changed");
}

void check_round_trip(const Seccomp& resolved) {
    Spec spec;
    spec.linux.seccomp = resolved;
    Spec back = spec_from_json(to_json(spec));
    FUZZ_CHECK(back.linux.seccomp == spec.linux.seccomp, "linux.seccomp changed through to_json/spec_from_json");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 65536) return -1;
    seccomp::DockerProfile profile;
    try {
        profile = seccomp::parse_docker_profile(fuzz::as_string(data, size));
    } catch (const UsageError&) {
        return 0;
    }
    const caps::CapSet all = ~caps::CapSet{0} >> (63 - 40);
    const seccomp::Target machines[] = {{"amd64", {5, 10}}, {"arm64", {4, 14}}, {"386", {3, 10}}, {"s390x", {6, 1}}};
    for (caps::CapSet set : {caps::CapSet{0}, caps::docker_default(), all})
        for (const auto& machine : machines) {
            Seccomp resolved = seccomp::resolve(profile, set, machine);
            check_subsequence(profile, resolved);
        }
    Seccomp native = seccomp::resolve(profile, caps::docker_default(), {"amd64", {6, 1}});
    check_round_trip(native);
    try {
        seccomp::compile(native);
    } catch (const UsageError& e) {
        // Two actions for one call can only show once a profile is resolved for a capability set
        // and machine (includes/excludes): compile's refusal, with its own message, is right.
        if (std::string(e.what()).find("already has another action from an earlier rule") != std::string::npos) return 0;
        fuzz::violated(__FILE__, __LINE__, "compile", std::string("the parser accepted what compile refuses: ") + e.what());
    }
    return 0;
}
