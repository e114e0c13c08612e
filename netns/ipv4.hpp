// IPv4 addresses and subnets as values: parsing with errors that name the text, arithmetic for
// address allocation, overlap checks.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hutch::net {

struct Ipv4 {
    std::uint32_t host_order = 0;
    static std::optional<Ipv4> parse(const std::string& text);
    std::string str() const;
    in_addr addr() const;
    bool operator==(const Ipv4&) const = default;
};

struct Subnet {
    Ipv4 network;
    int prefix = 0;
    // "10.88.0.0/16"; nullopt when malformed or when host bits are set.
    static std::optional<Subnet> parse(const std::string& text);
    std::string str() const;
    std::uint32_t mask() const { return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix); }
    Ipv4 broadcast() const { return {network.host_order | ~mask()}; }
    Ipv4 first_host() const { return {network.host_order + 1}; }
    bool contains(Ipv4 a) const { return (a.host_order & mask()) == network.host_order; }
    // A usable host address: inside, neither the network nor the broadcast address.
    bool is_host(Ipv4 a) const { return contains(a) && a != network && a != broadcast(); }
    bool overlaps(const Subnet& o) const;
};

}  // namespace hutch::net
