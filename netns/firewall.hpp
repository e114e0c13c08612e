// hutch's firewall: one nftables table of its own, `ip hutch`, spoken to over netlink with
// libnftnl (never by running nft or iptables), the way Docker 29's nftables backend and
// netavark keep theirs. A user's tables, Docker's and podman's keep working beside it: a packet
// passes every table's base chains, so hutch's chains only drop what Docker's rules would drop
// and accept nothing that another table meant to refuse.
//
//   table ip hutch {
//     set bridges { type ifname }                       every bridge below
//     chain forward { type filter hook forward priority filter; policy accept;
//       oifname "BR" jump in-BR                         into a network: only answers (and,
//       iifname "BR" jump out-BR                        --internal: no way out
//       [iifname != @bridges oifname != @bridges drop]  only when hutch turned on ip_forward
//     }
//     chain in-BR {
//       iifname "BR" return                             within the network (br_netfilter)
//       ct state established,related accept            answers to the containers' connections
//       ct status dnat accept                           published ports
//       drop                                            anything else: other networks, outside
//     }
//     chain out-BR { oifname != "BR" drop }             --internal networks only
//     chain postrouting { type nat hook postrouting priority srcnat;
//       iifname "BR" oifname != "BR" masquerade        outbound NAT (not --internal)
//       iifname "BR" oifname "BR" ct status dnat masquerade   hairpin to a published port
//       oifname "BR" ip saddr 127.0.0.0/8 masquerade   the host's 127.0.0.1:PORT
//     }
//     chain prerouting { type nat hook prerouting priority dstnat;  fib daddr type local jump ports }
//     chain output { type nat hook output priority -100;          fib daddr type local jump ports }
//     chain ports {                                     one rule per published port
//       [ip daddr HOST_IP] meta l4proto tcp th dport 8080 dnat to 10.88.0.2:80 comment "container ID"
//     }
//     chain raw-prerouting { type filter hook prerouting priority raw;
//       iifname != "lo" ip daddr 127.0.0.0/8 drop       loopback stays the host's own
//       iifname @bridges ip saddr 127.0.0.0/8 drop
//     }
//   }
//
// Every rule in a base chain carries the comment "bridge BR", by which a network's rules are
// found and removed. Each change is one netlink batch: the kernel applies all of it or nothing,
// so a failed start or `network rm` never leaves half a network's rules.
#pragma once

#include <string>
#include <vector>

#include "netns/ipv4.hpp"
#include "netns/ports.hpp"

namespace hutch::net {

// What the firewall needs to know of a bridge network.
struct NetworkFirewall {
    std::string bridge;     // the device: chain names and comments derive from it
    Subnet subnet;
    bool internal = false;  // no masquerade, nothing forwarded off the bridge
    bool masquerade = true; // com.docker.network.bridge.enable_ip_masquerade
};

// Makes sure the network's rules are in place: one GETCHAIN when they are, else the table, its
// base chains and set (on first need) and the network's chains and rules in one batch. A
// network that may leave its bridge needs forwarding: when ip_forward is off (0), hutch turns it
// on, as Docker does, and with the same batch adds the guard that keeps the host from forwarding
// anything but its bridges' traffic (Docker's FORWARD policy drop); a note in `marker_dir`
// brings the guard back when the table is rebuilt after a flush. `may_forward` false (the host
// config's "ip-forward": false) leaves ip_forward as it is.
// Returns whether hutch's table itself was missing (a reboot or `nft flush ruleset` took it) and
// was made anew.
bool ensure_firewall(const NetworkFirewall& network, bool may_forward, const std::string& marker_dir);

// A bridge starts with forwarding off (bridge.cpp): nothing leaves it until its rules are in
// place. This turns it on (net.ipv4.conf.BRIDGE.forwarding = 1) once they are; a read when it
// is on already.
void allow_forwarding(const std::string& bridge);

// Removes the network's chains and rules (none there: nothing happens), in one batch.
void remove_firewall(const std::string& bridge);

// A container's published ports: one DNAT rule per port in chain `ports` (comment "container
// ID"), in one batch. A killed hutch's rules go with its rm, or when its address is reclaimed.
void add_port_rules(const std::string& container_id, Ipv4 address, const std::vector<PortBinding>& ports);
void remove_port_rules(const std::string& container_id);

// The network's rules in nft's words, as ensure_firewall installs them (for `network inspect`),
// and whether they are in the kernel now.
std::vector<std::string> firewall_rules(const NetworkFirewall& network);
bool firewall_present(const std::string& bridge);

}  // namespace hutch::net
