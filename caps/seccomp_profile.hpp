// Seccomp profiles in Docker's JSON format, and their resolution into linux.seccomp.
//
// Docker's format (moby profiles/seccomp) is linux.seccomp plus conditions evaluated when a
// container is created: a rule may be included or excluded by the container's capabilities, the
// machine's architecture and the running kernel's version, and "archMap" names the extra ABIs a
// native architecture runs (x86_64 also runs x86 and x32 code). resolve() evaluates them once,
// for one container, and leaves the OCI form a runtime such as runc or crun is given; only that
// form reaches the launcher (caps/seccomp_filter.hpp compiles it).
//
// Resolution is moby's, rule by rule: excludes first (any listed architecture is the native one,
// any listed capability is granted, the kernel is at least minKernel: the rule is dropped), then
// includes (the native architecture must be listed, every listed capability granted, the kernel
// at least minKernel).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caps/capabilities.hpp"
#include "runtime/spec.hpp"

namespace hutch::seccomp {

struct KernelVersion {
    unsigned major = 0;
    unsigned minor = 0;
    auto operator<=>(const KernelVersion&) const = default;
};

// includes / excludes.
struct Condition {
    caps::CapSet caps = 0;              // includes: all needed; excludes: any drops the rule
    std::vector<std::string> arches;    // as written: "amd64", "x32", "arm64", ...
    std::optional<KernelVersion> min_kernel;
    bool operator==(const Condition&) const = default;
};

struct ProfileSyscall {
    std::vector<std::string> names;     // "name" (singular) is folded in
    std::string action;
    std::optional<std::uint32_t> errno_ret;
    std::vector<SeccompArg> args;
    Condition includes;
    Condition excludes;
    bool operator==(const ProfileSyscall&) const = default;
};

struct ArchMapEntry {
    std::string architecture;                  // SCMP_ARCH_X86_64
    std::vector<std::string> sub_architectures;  // SCMP_ARCH_X86, SCMP_ARCH_X32
    bool operator==(const ArchMapEntry&) const = default;
};

struct DockerProfile {
    std::string default_action;
    std::optional<std::uint32_t> default_errno_ret;
    std::vector<std::string> architectures;   // either this or arch_map
    std::vector<ArchMapEntry> arch_map;
    std::vector<ProfileSyscall> syscalls;
    std::vector<std::string> flags;
    bool operator==(const DockerProfile&) const = default;
};

// Parses and validates a whole profile. Every error is a UsageError naming the JSON path:
//   seccomp profile: syscalls[3].args[0].op: unknown operator "SCMP_CMP_XX"
// Refused: text that is not JSON (with nlohmann's line and column), a wrong type, an unknown
// key (a misspelt "excludes" would silently widen the profile), an unknown action, operator,
// architecture, flag or capability, a name not shaped like a syscall name (one libseccomp does
// not know is kept, and skipped when compiled, as Docker and runc skip it), an argument index
// above 5, a malformed minKernel, both "architectures" and "archMap", and a profile over the
// limits of caps/seccomp_filter.hpp (kMaxProfileBytes, kMaxRules, kMaxNamesPerRule,
// kMaxArgsPerRule), each named with the value: "seccomp profile: syscalls: 5000 rules; hutch
// accepts at most 4096".
DockerProfile parse_docker_profile(const std::string& json_text);

// hutch's default profile (caps/seccomp_default.cpp), parsed once. Equal in effect to Docker's;
// where it deliberately differs is written beside the data.
const DockerProfile& default_profile();
const std::string& default_profile_json();

// What resolve() evaluates the conditions against.
struct Target {
    std::string arch;       // Go-style, as Docker compares it: "amd64", "arm64", ...
    KernelVersion kernel;
    static Target native();  // the architecture hutch was built for, the running kernel
};

// The profile as linux.seccomp for a container with `capabilities` (its effective set) on
// `target`. architectures: the archMap entry of the target's architecture (itself plus its
// sub-architectures), else the profile's "architectures".
Seccomp resolve(const DockerProfile& profile, caps::CapSet capabilities,
                const Target& target = Target::native());

}  // namespace hutch::seccomp
