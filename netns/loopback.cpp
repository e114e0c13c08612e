#include "netns/loopback.hpp"

#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "netns/netlink.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/fd.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::net {

void disable_ipv6() {
    // /proc/sys/net answers for the network namespace of the process that opens it: this is
    // the container's, though /proc is still the host's mount at this point.
    for (const char* scope : {"all", "default"}) {
        std::string path = std::string("/proc/sys/net/ipv6/conf/") + scope + "/disable_ipv6";
        sys::Kernel& k = sys::kernel();
        Fd fd(k.openat(AT_FDCWD, path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd && errno == ENOENT) return;  // the kernel has no IPv6 (ipv6.disable=1)
        if (!fd || k.write(fd.get(), "1", 1) != 1) throw SysError("disable IPv6", "write", path, errno);
    }
}

void bring_loopback_up() {
    explain::comment("ip link set lo up");
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
