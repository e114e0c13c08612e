// The bridges hutch puts containers on: what a link of a given name is, whether hutch made it,
// and making, adopting, reclaiming and removing one without ever touching a link that is not
// hutch's.
//
// hutch marks each bridge it creates with IFLA_IFALIAS "hutch:<world>" (<world>: the data
// root's id, network.hpp), which the kernel keeps with the link (and `ip -d link` shows). A
// bridge is created under a temporary name, marked, given its address and only then renamed to
// its own name: no other hutch, in this world or another, ever sees it unmarked or without its
// address.
//
// The default bridge is shared by every world on the host (a lab machine with one data root per
// student, or a data root that was deleted with its bridge still up): a world adopts an existing
// bridge that carries its configured address, and reclaims a hutch bridge with another address
// that no container of any world uses.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netns/ipv4.hpp"
#include "netns/netlink.hpp"

namespace hutch::net {

// One link as the kernel describes it (RTM_GETLINK).
struct LinkFacts {
    int index = 0;
    std::string kind;   // IFLA_INFO_KIND: "bridge", "veth", ...; "" for lo and physical devices
    std::string alias;  // IFLA_IFALIAS
    bool loopback = false;
    bool up = false;
    // "a veth link", "the loopback device", "a device without a link kind (physical)".
    std::string describe() const;
};
std::optional<LinkFacts> find_link(NetlinkSocket& nl, const std::string& name);

struct LinkAddress {
    Ipv4 address;
    int prefix = 0;
    std::string str() const { return address.str() + "/" + std::to_string(prefix); }
};
// The IPv4 addresses on a link (RTM_GETADDR).
std::vector<LinkAddress> link_addresses(NetlinkSocket& nl, int index);

// IFLA_IFALIAS of a bridge hutch made in `world`.
std::string bridge_mark(const std::string& world);
bool made_by_hutch(const LinkFacts& link);
// Whether a link is a bridge another hutch is making right now, under its temporary name.
bool bridge_in_the_making(const std::string& device);

// Whether a container of any world uses the bridge: a port on it, or an address claim held for
// it (host_claim.hpp).
bool bridge_in_use(NetlinkSocket& nl, const std::string& name, int index);

struct BridgeSpec {
    std::string name;
    Ipv4 gateway;
    int prefix = 0;
    std::string world;
    std::string address() const { return gateway.str() + "/" + std::to_string(prefix); }
};

// Throws UsageError, naming the link, when an existing link of that name can never serve as
// this bridge: not a bridge, a bridge hutch did not make that lacks the address, a hutch bridge
// with another address that containers use. Creates and changes nothing.
void check_bridge(const BridgeSpec& bridge);

// Makes sure the bridge exists, is up and carries the gateway address: creates it (marked),
// adopts one that has the address (hutch's, or the user's own as Docker's --bridge), reclaims
// an unused hutch bridge with another address. Returns its index: the caller attaches ports by
// index, so a bridge replaced meanwhile is never mistaken for this one.
int ensure_bridge(const BridgeSpec& bridge);

// Deletes the bridge when hutch made it (in `world`, unless `shared`: the default bridge, any
// world's) and no container uses it. Otherwise it stays, and the reason is returned.
std::string remove_bridge(const std::string& name, const std::string& world, bool shared);

}  // namespace hutch::net
