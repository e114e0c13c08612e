// The name-resolution files a container sees, generated exactly as Docker writes them.
// Pure text in, text out: golden-file tests pin every rule.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/spec.hpp"

namespace hutch::etc {

// Docker's /etc/hosts: the default localhost and IPv6 lines, each --add-host in flag order
// (address TAB name), then "<own address> TAB <hostname>" when the container has an address,
// then the peers on a user-defined network (address TAB their names), which hutch writes where
// Docker runs a DNS server.
std::string hosts(const std::vector<ExtraHost>& extra, const std::string& own_address,
                  const std::string& hostname, const std::vector<ExtraHost>& peers = {});

// --network host: the host's /etc/hosts as it is, plus the --add-host lines.
std::string host_network_hosts(std::string_view host_hosts, const std::vector<ExtraHost>& extra);

struct DnsSettings {
    std::vector<std::string> servers;  // --dns
    std::vector<std::string> search;   // --dns-search ("." alone means none)
    std::vector<std::string> options;  // --dns-option
};

// Docker 20.10's resolv.conf for a container with its own network namespace. With no DNS
// flags: the host's file with loopback nameservers (127.0.0.0/8, ::1) and, as the container has
// no IPv6, IPv6 ones removed, and 8.8.8.8 and 8.8.4.4 appended when none remain. With any DNS flag: "search", "nameserver" lines and
// "options", each kind from the flag when given, else from the host's file (its nameservers
// again without loopback ones, falling back to 8.8.8.8 and 8.8.4.4). Comments are not values.
// `host_network`: the container shares the host's namespace, so the host's loopback resolver
// (127.0.0.53) is reachable and kept.
std::string resolv_conf(std::string_view host_resolv, const DnsSettings& dns, bool host_network = false);

// Which host file Docker reads: /etc/resolv.conf, or systemd-resolved's upstream list when the
// only nameserver is the 127.0.0.53 stub.
std::string host_resolv_conf_path(std::string_view etc_resolv_conf);

// The host's resolv.conf a container's is made from: systemd-resolved's upstream list behind a
// lone 127.0.0.53 (`read` gives a file's content, nullopt when it cannot be read), else
// /etc/resolv.conf itself, whose search and options lines then count as Docker keeps them (only
// the loopback nameserver is dropped, by resolv_conf).
std::string host_resolv_source(std::string_view etc_resolv_conf,
                               const std::function<std::optional<std::string>(const std::string&)>& read);

std::string hostname_file(const std::string& hostname);

}  // namespace hutch::etc
