// Links, addresses and routes over rtnetlink (libmnl): what `ip link`, `ip addr` and `ip route`
// would do, as single netlink requests on one socket. Each call acts in the network namespace
// the socket was created in.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <array>
#include <string>

#include "netns/netlink.hpp"

namespace hutch::net {

using Mac = std::array<unsigned char, 6>;

// "02:42:0a:58:00:02".
std::string mac_string(const Mac& mac);

// Interface index by name in the socket's namespace; 0 when there is none.
int link_index(const std::string& name);

// ip link add NAME address <random> type bridge: created down, with a MAC of its own. Returns
// its index; throws SysError (EEXIST when the name is taken).
int add_bridge(NetlinkSocket& nl, const std::string& name);
// ip link set INDEX alias ALIAS (IFLA_IFALIAS: kept by the kernel with the link).
void set_alias(NetlinkSocket& nl, int index, const std::string& name, const std::string& alias);
// ip link set INDEX name TO (the link must be down). False when TO is taken already.
bool rename_link(NetlinkSocket& nl, int index, const std::string& from, const std::string& to);
// ip link del INDEX: by index, so it is that very link, not whatever holds the name by now
// (gone already is fine).
void delete_link_index(NetlinkSocket& nl, int index, const std::string& name);
// ip link add HOST master BRIDGE type veth peer name PEER netns PID address MAC: the peer is
// created directly inside the container's namespace, which is far cheaper than moving it there
// afterwards. The host end is brought up.
void create_veth(NetlinkSocket& nl, const std::string& host_name, int bridge_index,
                 const std::string& peer_name, pid_t peer_netns_pid, const Mac& peer_mac);
// ip link del NAME (missing is fine).
void delete_link(NetlinkSocket& nl, const std::string& name);
// ip link set INDEX up.
void set_up(NetlinkSocket& nl, int index, const std::string& name);
// ip link set NAME down (missing is fine).
// The kernel's bridge port isolation (Linux 4.18): an isolated port forwards to no other
// isolated port, only to the bridge itself and non-isolated ports. Docker's enable_icc=false
// for a container's veth: it reaches the gateway (and, routed, the rest), never a peer.
void isolate_bridge_port(NetlinkSocket& nl, int index, const std::string& name);
void set_down(NetlinkSocket& nl, const std::string& name);
// ip addr add ADDR/PREFIX broadcast BRD dev INDEX (existing is fine).
void add_address(NetlinkSocket& nl, int index, const std::string& name, in_addr address, int prefix);
// ip route add default via GATEWAY dev INDEX.
void add_default_route(NetlinkSocket& nl, int index, in_addr gateway);

}  // namespace hutch::net
