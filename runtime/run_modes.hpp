// The mode flags of `hutch run` (--network, --pid, --ipc, --uts, --security-opt), parsed once
// at the edge into typed values: build_run_spec (runtime/run_options.cpp) decides on kinds,
// never on cut strings. Pure: no host facts; a bad value is a UsageError naming flag and value.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hutch {

// --pid, --ipc, --uts: a namespace of the container's own, the host's, or another container's.
struct NamespaceMode {
    enum class Kind { kPrivate, kHost, kContainer };
    Kind kind = Kind::kPrivate;
    std::string container;  // kContainer: NAME or ID of container:NAME
    bool host() const { return kind == Kind::kHost; }
};

// Docker's values per flag: --pid host|container:NAME, --ipc host|private|shareable|
// container:NAME, --uts host (Docker has no container: form for it). "" is the default.
NamespaceMode parse_pid_mode(const std::string& value);
NamespaceMode parse_ipc_mode(const std::string& value);
NamespaceMode parse_uts_mode(const std::string& value);

// --network: Docker's default bridge, none, the host's, another container's, or a network made
// with `hutch network create`, by name.
struct BridgeNetwork {};
struct NoNetwork {};
struct PastaNetwork {};  // rootless hutch's: pasta carries the traffic (runtime/pasta.hpp)
struct HostNetwork {};
struct ContainerNetwork {
    std::string container;  // NAME or ID
};
struct NamedNetwork {
    std::string name;
};
using NetworkMode = std::variant<BridgeNetwork, NoNetwork, HostNetwork, ContainerNetwork, NamedNetwork, PastaNetwork>;
// "bridge" and "default" are the default bridge.
NetworkMode parse_network_mode(const std::string& value);
struct Spec;
// The network a built Spec asks for (its hutch.network, as build_run_spec wrote it).
NetworkMode network_mode(const Spec& spec);

// --security-opt, all of them: KEY=VALUE or KEY:VALUE (Docker takes both).
struct SecurityOptions {
    std::optional<bool> no_new_privileges;  // no-new-privileges[=true|false]
    bool seccomp_unconfined = false;        // seccomp=unconfined (wins over a profile)
    std::string seccomp_profile;            // seccomp=FILE, the last one given
    std::string seccomp_option;             // that option as given, for messages
};
SecurityOptions parse_security_options(const std::vector<std::string>& options);

}  // namespace hutch
