// The kernel's connection tracking table, as far as hutch's published ports need it.
//
// A flow the kernel tracks keeps the NAT it got with its first packet. When a container goes
// and another takes its address or its published port, the old flows would still carry packets
// to the old destination: a UDP client that keeps sending (DNS, syslog, a game) would reach a
// container that never published that port, or never reach the new one. Docker clears these
// at every endpoint join (libnetwork's clearConntrackEntries); hutch does the same.
#pragma once

#include <vector>

#include "netns/ipv4.hpp"
#include "runtime/spec.hpp"

namespace hutch::net {

// Deletes the flows a new endpoint must not inherit: every flow from or to `address` (its
// original or its NATed side), and every UDP or SCTP flow sent to one of `ports`' host ports
// (which the kernel may have tracked, unanswered or to another container, before the port was
// published). TCP flows to the host port are left: a new connection is a new flow, and a host's
// own outbound TCP connection to that port number must not lose its state.
// Returns how many went. Costs one read where the namespace tracks no flow (or the kernel has
// no conntrack); else one listing, which walks the kernel's whole conntrack hash (about 4 ms
// with 262,144 buckets here), as Docker's clearing does.
int forget_flows(Ipv4 address, const std::vector<PortBinding>& ports);

}  // namespace hutch::net
