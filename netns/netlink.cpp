#include "netns/netlink.hpp"

#include <linux/netlink.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "runtime/error.hpp"

namespace hutch::net {

NetlinkSocket::NetlinkSocket() {
    socket_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!socket_) throw SysError("open netlink socket", "socket", "NETLINK_ROUTE", errno);
    if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
        int err = errno;
        mnl_socket_close(socket_);
        throw SysError("open netlink socket", "bind", "NETLINK_ROUTE", err);
    }
    port_ = mnl_socket_get_portid(socket_);
    seq_ = static_cast<std::uint32_t>(time(nullptr));
}

NetlinkSocket::~NetlinkSocket() { mnl_socket_close(socket_); }

void NetlinkSocket::request(nlmsghdr* nlh, const char* step, const std::string& object) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = next_seq();
    if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0)
        throw SysError(step, "sendto(NETLINK_ROUTE)", object, errno);
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
        if (n < 0) throw SysError(step, "recvfrom(NETLINK_ROUTE)", object, errno);
        int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, port_, nullptr, nullptr);
        if (rc == MNL_CB_ERROR) throw SysError(step, "netlink", object, errno);
        if (rc == MNL_CB_STOP) return;
    }
}

}  // namespace hutch::net
