#include "runtime/run_modes.hpp"
#include "runtime/spec.hpp"

#include <algorithm>
#include <functional>

#include "runtime/error.hpp"
#include "runtime/validate.hpp"

namespace hutch {
namespace {

constexpr std::string_view kContainerPrefix = "container:";

// "container:REF" -> REF; nullopt when `value` is not of that form.
std::optional<std::string> container_ref(const std::string& flag, const std::string& value) {
    if (value.rfind(kContainerPrefix, 0) != 0) return std::nullopt;
    std::string ref = value.substr(kContainerPrefix.size());
    if (ref.empty() || !validate::container_name(ref))
        throw UsageError("invalid --" + flag + " " + in_quotes(value) + ": expected container:NAME or container:ID");
    return ref;
}

// `private_words`: the values that mean the container's own namespace besides "".
NamespaceMode parse_namespace(const std::string& flag, const std::string& value,
                              const std::vector<std::string>& private_words, bool container_allowed) {
    if (value.empty() || std::find(private_words.begin(), private_words.end(), value) != private_words.end())
        return {};
    if (value == "host") return {NamespaceMode::Kind::kHost, ""};
    if (container_allowed)
        if (auto ref = container_ref(flag, value)) return {NamespaceMode::Kind::kContainer, *ref};
    std::string supported = "\"host\"";
    if (container_allowed) supported += ", \"container:NAME\"";
    for (const auto& word : private_words) supported += ", \"" + word + "\"";
    throw UsageError("invalid --" + flag + " " + in_quotes(value) + ": hutch supports " + supported);
}

}  // namespace

NamespaceMode parse_pid_mode(const std::string& value) { return parse_namespace("pid", value, {}, true); }
NamespaceMode parse_ipc_mode(const std::string& value) {
    return parse_namespace("ipc", value, {"private", "shareable"}, true);
}
NamespaceMode parse_uts_mode(const std::string& value) { return parse_namespace("uts", value, {}, false); }

NetworkMode parse_network_mode(const std::string& value) {
    if (value == "bridge" || value == "default") return BridgeNetwork{};
    if (value == "none") return NoNetwork{};
    if (value == "pasta") return PastaNetwork{};
    if (value == "host") return HostNetwork{};
    if (auto ref = container_ref("network", value)) return ContainerNetwork{*ref};
    if (!validate::container_name(value))
        throw UsageError("invalid --network " + in_quotes(value) +
                         ": use bridge, none, pasta, host, container:NAME or a network's name");
    return NamedNetwork{value};
}

NetworkMode network_mode(const Spec& spec) { return parse_network_mode(spec.hutch.network); }

namespace {

// One --security-opt key: what its value (nullopt: none given) does to the options.
struct SecurityOption {
    const char* key;
    std::function<void(SecurityOptions&, const std::optional<std::string>& value, const std::string& given)> apply;
};

void no_new_privileges(SecurityOptions& o, const std::optional<std::string>& value, const std::string& given) {
    if (!value || *value == "true") o.no_new_privileges = true;
    else if (*value == "false") o.no_new_privileges = false;
    else throw UsageError("invalid --security-opt " + in_quotes(given) + ": no-new-privileges takes true or false");
}

void seccomp(SecurityOptions& o, const std::optional<std::string>& value, const std::string& given) {
    if (!value || value->empty())
        throw UsageError("invalid --security-opt " + in_quotes(given) + ": seccomp needs unconfined or a profile's path");
    if (*value == "unconfined") {
        o.seccomp_unconfined = true;
        return;
    }
    o.seccomp_profile = *value;
    o.seccomp_option = given;
}

const SecurityOption kSecurityOptions[] = {
    {"no-new-privileges", no_new_privileges},
    {"seccomp", seccomp},
};

}  // namespace

SecurityOptions parse_security_options(const std::vector<std::string>& options) {
    SecurityOptions out;
    for (const auto& given : options) {
        auto sep = given.find_first_of("=:");
        std::string key = given.substr(0, sep);
        std::optional<std::string> value;
        if (sep != std::string::npos) value = given.substr(sep + 1);
        auto known = std::find_if(std::begin(kSecurityOptions), std::end(kSecurityOptions),
                                  [&](const SecurityOption& o) { return key == o.key; });
        if (known == std::end(kSecurityOptions))
            throw UsageError("invalid --security-opt " + in_quotes(given) +
                             ": hutch supports no-new-privileges, seccomp=unconfined and seccomp=FILE");
        known->apply(out, value, given);
    }
    return out;
}

}  // namespace hutch
