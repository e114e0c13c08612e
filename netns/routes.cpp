#include "netns/routes.hpp"

#include <linux/rtnetlink.h>
#include <net/if.h>

#include <vector>

#include "runtime/explain.hpp"

namespace hutch::net {
namespace {

std::string route_type(unsigned char type) {
    switch (type) {
        case RTN_UNICAST: return "unicast";
        case RTN_LOCAL: return "local";
        case RTN_BROADCAST: return "broadcast";
        case RTN_ANYCAST: return "anycast";
        case RTN_MULTICAST: return "multicast";
        case RTN_BLACKHOLE: return "blackhole";
        case RTN_UNREACHABLE: return "unreachable";
        case RTN_PROHIBIT: return "prohibit";
        case RTN_THROW: return "throw";
        case RTN_NAT: return "nat";
        default: return "type " + std::to_string(type);
    }
}

std::string device_name(std::uint32_t index) {
    char name[IF_NAMESIZE] = {};
    if (index == 0 || !::if_indextoname(index, name)) return index == 0 ? "" : "ifindex " + std::to_string(index);
    return name;
}

// The route's interface: RTA_OIF, or the first hop of a multipath route.
std::uint32_t route_device(const nlattr* oif, const nlattr* multipath) {
    if (oif) return mnl_attr_get_u32(oif);
    if (multipath && mnl_attr_get_payload_len(multipath) >= sizeof(rtnexthop))
        return static_cast<std::uint32_t>(static_cast<const rtnexthop*>(mnl_attr_get_payload(multipath))->rtnh_ifindex);
    return 0;
}

}  // namespace

std::string HostRoute::describe() const {
    std::string out = (type == "unicast" ? "" : type + " ") + destination.str();
    if (!device.empty()) out += " on " + device;
    if (table != RT_TABLE_MAIN) out += " (table " + (table == RT_TABLE_LOCAL ? std::string("local") : std::to_string(table)) + ")";
    return out;
}

std::vector<HostRoute> host_routes(NetlinkSocket& nl) {
    explain::comment("ip -4 route show table all: every route the host has, to check overlaps");
    Request<rtmsg> request(RTM_GETROUTE, NLM_F_DUMP);
    request.header->rtm_family = AF_INET;
    request.header->rtm_table = RT_TABLE_UNSPEC;
    std::vector<HostRoute> out;
    nl.query(request.nlh, "read the host's routes", "RTM_GETROUTE", [&](const nlmsghdr* msg) {
        if (msg->nlmsg_type != RTM_NEWROUTE) return;
        const auto* r = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(msg));
        if (r->rtm_family != AF_INET || r->rtm_dst_len == 0 || r->rtm_dst_len > 32) return;
        const nlattr* dst = nullptr;
        const nlattr* oif = nullptr;
        const nlattr* multipath = nullptr;
        std::uint32_t table = r->rtm_table;
        for (const nlattr* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(msg, sizeof(rtmsg)));
             mnl_attr_ok(attr, static_cast<int>(static_cast<const char*>(mnl_nlmsg_get_payload_tail(msg)) -
                                                reinterpret_cast<const char*>(attr)));
             attr = mnl_attr_next(attr)) {
            switch (mnl_attr_get_type(attr)) {
                case RTA_DST: if (mnl_attr_get_payload_len(attr) == 4) dst = attr; break;
                case RTA_OIF: if (mnl_attr_get_payload_len(attr) == 4) oif = attr; break;
                case RTA_MULTIPATH: multipath = attr; break;
                case RTA_TABLE: if (mnl_attr_get_payload_len(attr) == 4) table = mnl_attr_get_u32(attr); break;
                default: break;
            }
        }
        if (!dst) return;
        Subnet s{Ipv4{ntohl(mnl_attr_get_u32(dst))}, r->rtm_dst_len};
        s.network.host_order &= s.mask();
        out.push_back({s, device_name(route_device(oif, multipath)), route_type(r->rtm_type), table});
    });
    return out;
}

}  // namespace hutch::net
