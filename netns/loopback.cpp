#include "netns/loopback.hpp"

#include <linux/rtnetlink.h>
#include <net/if.h>

#include <vector>

#include "netns/netlink.hpp"
#include "runtime/explain.hpp"

namespace hutch::net {

void bring_loopback_up() {
    explain::line("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); sendmsg(RTM_NEWLINK {ifi_index=1 (lo), "
                  "ifi_flags=IFF_UP, ifi_change=IFF_UP})");
    NetlinkSocket nl;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWLINK;
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = 1;  // lo is always index 1 in a new network namespace
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
    nl.request(nlh, "bring loopback up", "lo");
}

}  // namespace hutch::net
