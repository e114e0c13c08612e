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
    query(nlh, step, object, nullptr);
}

void NetlinkSocket::query(nlmsghdr* nlh, const char* step, const std::string& object, const Each& each) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    // Answers are kept until the last one arrived: an interrupted dump is asked again, and the
    // caller must never see a half of the first try.
    struct State {
        std::vector<std::vector<char>> messages;
        bool interrupted = false;
    };
    auto callback = [](const nlmsghdr* msg, void* data) -> int {
        auto* state = static_cast<State*>(data);
        if (msg->nlmsg_flags & NLM_F_DUMP_INTR) state->interrupted = true;
        const char* bytes = reinterpret_cast<const char*>(msg);
        state->messages.emplace_back(bytes, bytes + msg->nlmsg_len);
        return MNL_CB_OK;
    };
    // As large as the kernel may make one datagram of a dump (libmnl's MNL_SOCKET_DUMP_SIZE):
    // a smaller buffer truncates it.
    std::vector<char> buf(32768);
    for (int attempt = 0;; ++attempt) {
        State state;
        nlh->nlmsg_seq = next_seq();
        if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0)
            throw SysError(step, "sendto(NETLINK_ROUTE)", object, errno);
        int rc = MNL_CB_OK;
        while (rc == MNL_CB_OK) {
            ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
            if (n < 0) throw SysError(step, "recvfrom(NETLINK_ROUTE)", object, errno);
            rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, port_, callback, &state);
        }
        if (rc == MNL_CB_ERROR) throw SysError(step, "netlink", object, errno);
        // An interrupted dump (the table changed while it was read) may have skipped or
        // repeated entries: ask again, a few times.
        if (state.interrupted) {
            if (attempt >= 3) throw SysError(step, "netlink dump", object, EINTR);
            continue;
        }
        if (each)
            for (const auto& m : state.messages) each(reinterpret_cast<const nlmsghdr*>(m.data()));
        return;
    }
}

}  // namespace hutch::net
