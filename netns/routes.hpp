// The host's IPv4 routes, from every routing table the kernel holds (main, local, default and
// any policy-routing table), over rtnetlink: what `ip -4 route show table all` lists. A new
// subnet that overlaps one of them would take traffic from, or give it to, something else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netns/ipv4.hpp"
#include "netns/netlink.hpp"

namespace hutch::net {

struct HostRoute {
    Subnet destination;
    std::string device;  // the interface ("" when the route has none, e.g. a blackhole)
    std::string type;    // "unicast", "local", "broadcast", "blackhole", ...
    std::uint32_t table = 0;
    // "10.88.0.0/16 on hutch0", "blackhole 10.9.0.0/16 (table 100)".
    std::string describe() const;
};

// Every IPv4 route but default routes (0.0.0.0/0 overlaps everything by definition), from one
// RTM_GETROUTE dump of all tables (RT_TABLE_UNSPEC). Read-only.
std::vector<HostRoute> host_routes(NetlinkSocket& nl);

}  // namespace hutch::net
