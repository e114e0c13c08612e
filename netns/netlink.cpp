#include "netns/netlink.hpp"

#include <linux/netlink.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::net {

NetlinkSocket::NetlinkSocket(int bus) {
    const char* name = bus == NETLINK_NETFILTER ? "NETLINK_NETFILTER" : bus == NETLINK_ROUTE ? "NETLINK_ROUTE" : "netlink";
    socket_ = mnl_socket_open2(bus, SOCK_CLOEXEC);
    if (!socket_) throw SysError("open netlink socket", "socket", name, errno);
    if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
        int err = errno;
        mnl_socket_close(socket_);
        throw SysError("open netlink socket", "bind", name, err);
    }
    port_ = mnl_socket_get_portid(socket_);
    seq_ = static_cast<std::uint32_t>(time(nullptr));
}

NetlinkSocket::~NetlinkSocket() { mnl_socket_close(socket_); }

void NetlinkSocket::request(nlmsghdr* nlh, const char* step, const std::string& object) {
    query(nlh, step, object, nullptr);
}

void NetlinkSocket::query(nlmsghdr* nlh, const char* step, const std::string& object, const Each& each) {
    // Answers are kept until the last one arrived: an interrupted dump is asked again, and the
    // caller must never see a half of the first try.
    for (int attempt = 0;; ++attempt) {
        std::vector<std::vector<char>> messages;
        bool interrupted = false;
        auto keep = [&](const nlmsghdr* msg) {
            if (msg->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
            const char* bytes = reinterpret_cast<const char*>(msg);
            messages.emplace_back(bytes, bytes + msg->nlmsg_len);
        };
        nlh->nlmsg_seq = next_seq();
        if (sys::kernel().netlink(mnl_socket_get_fd(socket_), port_, nlh, keep) != 0)
            throw SysError(step, "netlink", object, errno);
        // An interrupted dump (the table changed while it was read) may have skipped or
        // repeated entries: ask again, a few times.
        if (interrupted) {
            if (attempt >= 3) throw SysError(step, "netlink dump", object, EINTR);
            continue;
        }
        if (each)
            for (const auto& m : messages) each(reinterpret_cast<const nlmsghdr*>(m.data()));
        return;
    }
}

}  // namespace hutch::net
