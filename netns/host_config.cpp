#include "netns/host_config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/state.hpp"
#include "runtime/validate.hpp"

namespace hutch::net {

bool valid_bridge_name(const std::string& name) {
    if (name.empty() || name.size() > 15) return false;
    auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
    if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(), ok);
}

HostConfig read_host_config(const std::string& path) {
    HostConfig config;
    config.path = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return config;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
        throw UsageError("host config " + path + ": " + e.what());
    }
    // A file of another shape ("[...]", a number) would otherwise read as "all defaults" and hide
    // that the configuration is broken (dockerd refuses such a daemon.json too).
    if (!j.is_object()) throw UsageError("host config " + path + ": must be a JSON object, not " + j.type_name());
    auto strings = [&](const char* key) {
        std::vector<std::string> out;
        if (!j.contains(key)) return out;
        if (!j[key].is_array()) throw UsageError("host config " + path + ": \"" + key + "\" must be an array of strings");
        for (const auto& v : j[key]) {
            if (!v.is_string() || validate::has_space_or_control(v.get<std::string>()))
                throw UsageError("host config " + path + ": \"" + key + "\" holds a bad value " + v.dump());
            out.push_back(v);
        }
        return out;
    };
    config.dns = strings("dns");
    config.dns_search = strings("dns-search");
    config.dns_options = strings("dns-opts");
    config.insecure_registries = strings("insecure-registries");
    if (j.contains("userns-remap")) {
        // A user and group name as shadow's tools take them, or numeric ids: it only ever names
        // an entry of /etc/subuid and /etc/subgid. Anything else is refused, never read as
        // "no remapping".
        static const std::regex kNames("([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})(:([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10}))?");
        const auto& value = j["userns-remap"];
        std::string remap = value.is_string() ? value.get<std::string>() : "";
        if (!value.is_string() || (!remap.empty() && !std::regex_match(remap, kNames)))
            throw UsageError("host config " + path + ": \"userns-remap\" must be \"default\" or USER[:GROUP], not " +
                             j["userns-remap"].dump());
        config.userns_remap = remap;
    }
    // Docker's daemon.json keys: "iptables": false keeps hutch's nftables table away (no
    // isolation, NAT or published ports: the host's own rules decide), "ip-forward": false
    // leaves net.ipv4.ip_forward as it is.
    auto boolean = [&](const char* key, bool fallback) {
        if (!j.contains(key)) return fallback;
        if (!j[key].is_boolean()) throw UsageError("host config " + path + ": \"" + key + "\" must be true or false, not " + j[key].dump());
        return j[key].get<bool>();
    };
    config.bridge.firewall = boolean("iptables", true);
    config.bridge.ip_forward = boolean("ip-forward", true);
    config.bridge.icc = boolean("icc", true);
    if (j.contains("bridge")) {
        // A name the kernel takes as it is: IFNAMSIZ (15 characters), no '/', ':', '%' (a
        // template such as "br%d"), whitespace, or "." and "..".
        std::string b = j["bridge"].is_string() ? j["bridge"].get<std::string>() : "";
        if (!valid_bridge_name(b))
            throw UsageError("host config " + path + ": \"bridge\" must be an interface name of 1-15 characters "
                             "[a-zA-Z0-9][a-zA-Z0-9_.-]*, not " + j["bridge"].dump());
        config.bridge.bridge = b;
    }
    if (j.contains("bip")) {
        // The gateway address and prefix: it reaches /etc/hosts (host-gateway), so only a
        // well-formed value is kept, and never one in a range the kernel treats specially.
        std::string bip = j["bip"].is_string() ? j["bip"].get<std::string>() : "";
        auto address = InterfaceAddress::parse(bip);
        if (!address)
            throw UsageError("host config " + path + ": \"bip\" must be a gateway address and prefix (8 to 30) such "
                             "as 10.88.0.1/16, not " + j["bip"].dump());
        if (auto range = special_range(address->subnet))
            throw UsageError("host config " + path + ": \"bip\" " + bip + " lies in the " + *range);
        config.bridge.bip = bip;
    }
    return config;
}

}  // namespace hutch::net
