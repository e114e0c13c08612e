#include "netns/host_config.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/state.hpp"
#include "runtime/validate.hpp"

namespace hutch::net {

HostConfig read_host_config(const std::string& path) {
    HostConfig config;
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
    if (j.contains("bridge")) {
        std::string b = j["bridge"].is_string() ? j["bridge"].get<std::string>() : "";
        if (b.empty() || b.size() > 15 || validate::has_space_or_control(b) || b.find('/') != std::string::npos)
            throw UsageError("host config " + path + ": \"bridge\" must be an interface name of 1-15 characters");
        config.bridge.bridge = b;
    }
    if (j.contains("bip")) {
        // The gateway address and prefix: it reaches /etc/hosts (host-gateway), so only a
        // well-formed value is kept.
        std::string bip = j["bip"].is_string() ? j["bip"].get<std::string>() : "";
        auto slash = bip.find('/');
        auto gateway = slash == std::string::npos ? std::nullopt : Ipv4::parse(bip.substr(0, slash));
        std::string prefix = slash == std::string::npos ? "" : bip.substr(slash + 1);
        bool prefix_ok = !prefix.empty() && prefix.size() <= 2 &&
                         prefix.find_first_not_of("0123456789") == std::string::npos &&
                         std::stoi(prefix) >= 8 && std::stoi(prefix) <= 30;
        if (!gateway || !prefix_ok)
            throw UsageError("host config " + path + ": \"bip\" must be a gateway address and prefix such as "
                             "10.88.0.1/16, not " + j["bip"].dump());
        config.bridge.bip = bip;
    }
    return config;
}

}  // namespace hutch::net
