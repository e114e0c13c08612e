#include "netns/link.hpp"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/random.h>

#include <vector>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"

namespace hutch::net {
namespace {

std::string text(in_addr a) {
    char buf[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a, buf, sizeof buf);
}

// The shape of every link request: the header and an ifinfomsg (ifi_family AF_UNSPEC).
struct LinkRequest : Request<ifinfomsg> {
    ifinfomsg* ifm = header;
    LinkRequest(std::uint16_t type, std::uint16_t flags) : Request(type, flags) { ifm->ifi_family = AF_UNSPEC; }
};

// A request whose one expected failure means "already as wanted" (EEXIST: made by a concurrent
// start; ENODEV: gone with its namespace).
void request_tolerating(NetlinkSocket& nl, nlmsghdr* nlh, const char* step, const std::string& object,
                        int tolerated) {
    try {
        nl.request(nlh, step, object);
    } catch (const SysError& e) {
        if (e.error_number() != tolerated) throw;
    }
}

}  // namespace

std::string mac_string(const Mac& m) {
    char out[18];
    std::snprintf(out, sizeof out, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return out;
}

int link_index(const std::string& name) { return static_cast<int>(if_nametoindex(name.c_str())); }

int add_bridge(NetlinkSocket& nl, const std::string& name) {
    explain::comment("ip link add " + name + " type bridge");
    LinkRequest r(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    mnl_attr_put_strz(r.nlh, IFLA_IFNAME, name.c_str());
    // A MAC of its own (random, locally administered): otherwise the bridge takes the lowest
    // of its ports' and the gateway's MAC changes as containers come and go.
    Mac mac{};
    if (::getrandom(mac.data(), mac.size(), 0) != static_cast<ssize_t>(mac.size()))
        throw SysError("create bridge", "getrandom", name, errno);
    mac[0] = static_cast<unsigned char>((mac[0] & 0xfe) | 0x02);
    mnl_attr_put(r.nlh, IFLA_ADDRESS, mac.size(), mac.data());
    nlattr* info = mnl_attr_nest_start(r.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(r.nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(r.nlh, info);
    nl.request(r.nlh, "create bridge", name);
    int index = link_index(name);
    if (index == 0) throw SysError("create bridge", "if_nametoindex", name, ENODEV);
    return index;
}

void set_alias(NetlinkSocket& nl, int index, const std::string& name, const std::string& alias) {
    explain::comment("ip link set " + name + " alias " + alias);
    LinkRequest r(RTM_NEWLINK, 0);
    r.ifm->ifi_index = index;
    mnl_attr_put_strz(r.nlh, IFLA_IFALIAS, alias.c_str());
    nl.request(r.nlh, "mark link", name);
}

bool rename_link(NetlinkSocket& nl, int index, const std::string& from, const std::string& to) {
    explain::comment("ip link set " + from + " name " + to);
    LinkRequest r(RTM_NEWLINK, 0);
    r.ifm->ifi_index = index;
    mnl_attr_put_strz(r.nlh, IFLA_IFNAME, to.c_str());
    try {
        nl.request(r.nlh, "rename link", from + " to " + to);
    } catch (const SysError& e) {
        if (e.error_number() == EEXIST) return false;
        throw;
    }
    return true;
}

void delete_link_index(NetlinkSocket& nl, int index, const std::string& name) {
    explain::comment("ip link del " + name);
    LinkRequest r(RTM_DELLINK, 0);
    r.ifm->ifi_index = index;
    request_tolerating(nl, r.nlh, "delete link", name, ENODEV);
}

void create_veth(NetlinkSocket& nl, const std::string& host_name, int bridge_index,
                 const std::string& peer_name, pid_t peer_netns_pid, const Mac& peer_mac) {
    explain::comment("ip link add " + host_name + " master <bridge> type veth peer name " + peer_name + " netns " +
                     std::to_string(peer_netns_pid) + " address " + mac_string(peer_mac));
    LinkRequest r(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    r.ifm->ifi_flags = IFF_UP;
    r.ifm->ifi_change = IFF_UP;
    mnl_attr_put_strz(r.nlh, IFLA_IFNAME, host_name.c_str());
    mnl_attr_put_u32(r.nlh, IFLA_MASTER, static_cast<std::uint32_t>(bridge_index));
    nlattr* info = mnl_attr_nest_start(r.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(r.nlh, IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(r.nlh, IFLA_INFO_DATA);
    nlattr* peer = mnl_attr_nest_start(r.nlh, VETH_INFO_PEER);
    // The peer's own ifinfomsg comes first inside VETH_INFO_PEER.
    auto* peer_ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(r.nlh, sizeof(ifinfomsg)));
    peer_ifm->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(r.nlh, IFLA_IFNAME, peer_name.c_str());
    mnl_attr_put_u32(r.nlh, IFLA_NET_NS_PID, static_cast<std::uint32_t>(peer_netns_pid));
    mnl_attr_put(r.nlh, IFLA_ADDRESS, peer_mac.size(), peer_mac.data());
    mnl_attr_nest_end(r.nlh, peer);
    mnl_attr_nest_end(r.nlh, data);
    mnl_attr_nest_end(r.nlh, info);
    nl.request(r.nlh, "create veth pair", host_name);
}

void delete_link(NetlinkSocket& nl, const std::string& name) {
    int index = link_index(name);
    if (index == 0) return;
    explain::comment("ip link del " + name);
    LinkRequest r(RTM_DELLINK, 0);
    r.ifm->ifi_index = index;
    request_tolerating(nl, r.nlh, "delete link", name, ENODEV);
}

void set_up(NetlinkSocket& nl, int index, const std::string& name) {
    explain::comment("ip link set " + name + " up");
    LinkRequest r(RTM_NEWLINK, 0);
    r.ifm->ifi_index = index;
    r.ifm->ifi_flags = IFF_UP;
    r.ifm->ifi_change = IFF_UP;
    nl.request(r.nlh, "bring link up", name);
}

void isolate_bridge_port(NetlinkSocket& nl, int index, const std::string& name) {
    explain::comment("bridge link set dev " + name + " isolated on");
    LinkRequest r(RTM_SETLINK, 0);
    r.ifm->ifi_family = AF_BRIDGE;
    r.ifm->ifi_index = index;
    nlattr* info = mnl_attr_nest_start(r.nlh, IFLA_PROTINFO);
    mnl_attr_put_u8(r.nlh, IFLA_BRPORT_ISOLATED, 1);
    mnl_attr_nest_end(r.nlh, info);
    nl.request(r.nlh, "isolate the container's bridge port", name);
}

void set_down(NetlinkSocket& nl, const std::string& name) {
    int index = link_index(name);
    if (index == 0) return;
    explain::comment("ip link set " + name + " down");
    LinkRequest r(RTM_NEWLINK, 0);
    r.ifm->ifi_index = index;
    r.ifm->ifi_change = IFF_UP;
    request_tolerating(nl, r.nlh, "bring link down", name, ENODEV);
}

void add_address(NetlinkSocket& nl, int index, const std::string& name, in_addr address, int prefix) {
    in_addr broadcast = address;
    std::uint32_t host_mask = prefix >= 32 ? 0 : (0xffffffffu >> prefix);
    broadcast.s_addr = htonl(ntohl(address.s_addr) | host_mask);
    explain::comment("ip addr add " + text(address) + "/" + std::to_string(prefix) + " dev " + name);
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(index);
    mnl_attr_put_u32(nlh, IFA_LOCAL, address.s_addr);
    mnl_attr_put_u32(nlh, IFA_ADDRESS, address.s_addr);
    mnl_attr_put_u32(nlh, IFA_BROADCAST, broadcast.s_addr);
    nl.request(nlh, "add address", name + " " + text(address));
}

void add_default_route(NetlinkSocket& nl, int index, in_addr gateway) {
    explain::comment("ip route add default via " + text(gateway));
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(nlh, RTA_GATEWAY, gateway.s_addr);
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<std::uint32_t>(index));
    nl.request(nlh, "add default route", "via " + text(gateway));
}

}  // namespace hutch::net
