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

// An interface address with its prefix, as Docker's "bip" ("10.88.0.1/16"): the address must
// be a host of its subnet (neither the network nor the broadcast address), prefix 8 to 30.
struct InterfaceAddress {
    Ipv4 address;
    Subnet subnet;
    static std::optional<InterfaceAddress> parse(const std::string& text);
};

// The special-purpose range (RFC 6890) `subnet` overlaps, as "loopback range 127.0.0.0/8"; nullopt
// for an ordinary one. None of these may be a bridge's subnet or a container's address: the
// kernel routes them specially (127/8 is always local, 224/4 multicast, 169.254/16 link-local),
// 0/8 means "this host", 240/4 is reserved and holds the limited broadcast 255.255.255.255.
std::optional<std::string> special_range(const Subnet& subnet);

}  // namespace hutch::net
