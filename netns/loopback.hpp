// The first steps in a fresh network namespace: no IPv6, then `lo` up over rtnetlink (libmnl):
// a new namespace starts with lo down, and Docker's --network none shows it up with 127.0.0.1.
#pragma once

namespace hutch::net {

// net.ipv6.conf.{all,default}.disable_ipv6=1 in the caller's network namespace ("all" reaches
// every interface there already, eth0 included), as Docker sets it in containers of a network
// without IPv6: `ip -6 addr` shows nothing. Done before lo and eth0 come up, so neither ever
// gets ::1 or a link-local address, not even for a moment. Nothing to do on a kernel without
// IPv6.
void disable_ipv6();

// Sets IFF_UP on the loopback interface of the caller's network namespace.
void bring_loopback_up();

}  // namespace hutch::net
