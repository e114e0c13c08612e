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
// anything but its bridges' traffic (Docker's FORWARD policy drop). `may_forward` false (the
// host config's "ip-forward": false) leaves ip_forward as it is.
void ensure_firewall(const NetworkFirewall& network, bool may_forward);

// A bridge starts with forwarding off (bridge.cpp): nothing leaves it until its rules are in
// place. This turns it on (net.ipv4.conf.BRIDGE.forwarding = 1) once they are; a read when it
// is on already.
void allow_forwarding(const std::string& bridge);

// Removes the network's chains and rules (none there: nothing happens), in one batch.
void remove_firewall(const std::string& bridge);

// The network's rules in nft's words, as ensure_firewall installs them (for `network inspect`),
// and whether they are in the kernel now.
std::vector<std::string> firewall_rules(const NetworkFirewall& network);
bool firewall_present(const std::string& bridge);

}  // namespace hutch::net
