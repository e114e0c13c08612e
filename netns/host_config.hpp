// hutch's daemon-less host configuration, /etc/hutch/config.json (moved with the global
// --config option), in the spirit of Docker's daemon.json:
//   {"dns": ["1.1.1.1"], "dns-search": ["corp"], "dns-opts": ["ndots:2"],
//    "bridge": "hutch0", "bip": "10.88.0.1/16", "insecure-registries": ["10.0.0.5:5000"],
//    "iptables": true, "ip-forward": true}
// Every key is optional; container flags win over it. A missing file means the defaults.
#pragma once

#include <string>
#include <vector>

#include "netns/network.hpp"

namespace hutch::net {

inline constexpr const char* kDefaultHostConfig = "/etc/hutch/config.json";

struct HostConfig {
    std::vector<std::string> dns, dns_search, dns_options;
    BridgeDefaults bridge;
    // Registries `hutch pull` may reach over plain http ("host:port" or a CIDR), as Docker's
    // daemon.json key; loopback registries need no entry.
    std::vector<std::string> insecure_registries;
    // Docker's "userns-remap": "default" (hutch's /etc/subuid and /etc/subgid entries) or
    // "USER[:GROUP]": every container without --userns host gets a user namespace mapping its
    // ids onto those ranges (runtime/userns.hpp). Empty: none.
    std::string userns_remap;
    // The file it was read from: a detached container's exit half reads it again
    // (runtime/monitor.hpp).
    std::string path;
};

// An interface name hutch accepts for a bridge: [a-zA-Z0-9][a-zA-Z0-9_.-]*, 1 to 15 characters.
bool valid_bridge_name(const std::string& name);

// Throws UsageError naming the file and the key when it is not valid.
HostConfig read_host_config(const std::string& path);

}  // namespace hutch::net
