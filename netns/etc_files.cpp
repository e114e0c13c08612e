#include "netns/etc_files.hpp"

#include <arpa/inet.h>

#include <sstream>

namespace hutch::etc {
namespace {

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

// The words of a line up to a comment ('#' or ';' start one, as the resolver reads it).
std::vector<std::string> fields_of(const std::string& line) {
    std::istringstream in(line.substr(0, line.find_first_of("#;")));
    std::vector<std::string> out;
    std::string f;
    while (in >> f) out.push_back(f);
    return out;
}

// The values after `keyword` on every line that starts with it ("nameserver 1.2.3.4").
std::vector<std::string> values_of(std::string_view text, const std::string& keyword,
                                   bool last_line_only) {
    std::vector<std::string> out;
    for (const auto& line : lines_of(text)) {
        auto f = fields_of(line);
        if (f.empty() || f[0] != keyword) continue;
        if (last_line_only) out.clear();  // search/options: the last line wins, as in libc
        out.insert(out.end(), f.begin() + 1, f.end());
    }
    return out;
}

bool is_loopback(const std::string& address) {
    in_addr v4;
    if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    return address == "::1";
}

bool is_ipv6(const std::string& address) {
    in6_addr v6;
    return inet_pton(AF_INET6, address.c_str(), &v6) == 1;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

}  // namespace

std::string hosts(const std::vector<ExtraHost>& extra, const std::string& own_address,
                  const std::string& hostname, const std::vector<ExtraHost>& peers) {
    std::string out =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    for (const auto& h : extra) out += h.address + "\t" + h.name + "\n";
    if (!own_address.empty()) out += own_address + "\t" + hostname + "\n";
    for (const auto& p : peers) out += p.address + "\t" + p.name + "\n";
    return out;
}

std::string host_network_hosts(std::string_view host_hosts, const std::vector<ExtraHost>& extra) {
    std::string out(host_hosts);
    if (!out.empty() && out.back() != '\n') out += '\n';
    for (const auto& h : extra) out += h.address + "\t" + h.name + "\n";
    return out;
}

std::string resolv_conf(std::string_view host_resolv, const DnsSettings& dns, bool host_network) {
    if (dns.servers.empty() && dns.search.empty() && dns.options.empty()) {
        std::string out;
        bool any_server = false;
        for (const auto& line : lines_of(host_resolv)) {
            auto f = fields_of(line);
            if (f.size() >= 2 && f[0] == "nameserver") {
                // Unreachable from the container: its loopback is not the host's, and its
                // network has no IPv6 (Docker 20.10's FilterResolvDNS without IPv6).
                if (is_loopback(f[1]) || (!host_network && is_ipv6(f[1]))) continue;
                any_server = true;
            }
            out += line + "\n";
        }
        if (!any_server) out += "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n";
        return out;
    }
    // The host's nameservers never include loopback ones: they are unreachable from the
    // container's network namespace (current Docker's rule; 20.10 kept them here).
    std::vector<std::string> servers = dns.servers;
    if (servers.empty()) {
        for (const auto& s : values_of(host_resolv, "nameserver", false))
            if (host_network || !is_loopback(s)) servers.push_back(s);
        if (servers.empty()) servers = {"8.8.8.8", "8.8.4.4"};
    }
    auto search = dns.search.empty() ? values_of(host_resolv, "search", true) : dns.search;
    auto options = dns.options.empty() ? values_of(host_resolv, "options", true) : dns.options;
    if (search.size() == 1 && search[0] == ".") search.clear();

    std::string out;
    if (!search.empty()) out += "search " + join(search) + "\n";
    for (const auto& s : servers) out += "nameserver " + s + "\n";
    if (!options.empty()) out += "options " + join(options) + "\n";
    return out;
}

std::string host_resolv_conf_path(std::string_view etc_resolv_conf) {
    auto servers = values_of(etc_resolv_conf, "nameserver", false);
    if (servers.size() == 1 && servers[0] == "127.0.0.53") return "/run/systemd/resolve/resolv.conf";
    return "/etc/resolv.conf";
}

std::string host_resolv_source(std::string_view etc_resolv_conf,
                               const std::function<std::optional<std::string>(const std::string&)>& read) {
    std::string path = host_resolv_conf_path(etc_resolv_conf);
    if (path != "/etc/resolv.conf")
        if (auto upstream = read(path)) return *upstream;
    return std::string(etc_resolv_conf);
}

std::string hostname_file(const std::string& hostname) { return hostname + "\n"; }

}  // namespace hutch::etc
