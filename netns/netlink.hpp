// NetlinkSocket: the one owner of an rtnetlink socket (libmnl), with request/ack in one call.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hutch::net {

class NetlinkSocket {
public:
    // Bound on `bus` (NETLINK_ROUTE for links and routes; NETLINK_NETFILTER for nftables and
    // conntrack); throws SysError.
    explicit NetlinkSocket(int bus = NETLINK_ROUTE);
    ~NetlinkSocket();
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;

    // Sends `nlh` with NLM_F_ACK and waits for the kernel's answer; throws SysError with `step`.
    void request(nlmsghdr* nlh, const char* step, const std::string& object);
    // The same for a request the kernel answers with messages (a GET of one object, or with
    // NLM_F_DUMP every object): `each` sees every message until the final ack or NLMSG_DONE.
    // An interrupted dump (NLM_F_DUMP_INTR: the table changed meanwhile) is asked again.
    using Each = std::function<void(const nlmsghdr*)>;
    void query(nlmsghdr* nlh, const char* step, const std::string& object, const Each& each);
    std::uint32_t next_seq() { return ++seq_; }
    int fd() const { return mnl_socket_get_fd(socket_); }
    std::uint32_t port() const { return port_; }

private:
    mnl_socket* socket_ = nullptr;
    std::uint32_t port_ = 0;
    std::uint32_t seq_ = 0;
};

// One request message in a buffer of its own: the netlink header, then the family's fixed
// header `T` (ifinfomsg, ifaddrmsg, rtmsg), zeroed; attributes follow with mnl_attr_put*.
template <typename T>
struct Request {
    std::vector<char> buf = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh;
    T* header;
    Request(std::uint16_t type, std::uint16_t flags) {
        nlh = mnl_nlmsg_put_header(buf.data());
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        header = static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)));
    }
};

}  // namespace hutch::net
