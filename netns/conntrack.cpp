#include "netns/conntrack.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include "netns/netlink.hpp"
#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::net {
namespace {

constexpr const char* kCountFile = "/proc/sys/net/netfilter/nf_conntrack_count";

// One direction of a flow, as conntrack(8) prints it.
struct Tuple {
    Ipv4 src, dst;
    std::uint8_t proto = 0;
    std::uint16_t sport = 0, dport = 0;
};

// A tracked flow: both directions, and the original one's attribute as the kernel sent it (the
// key a deletion names the flow by).
struct Flow {
    Tuple original, reply;
    std::string original_attr;  // CTA_TUPLE_ORIG's payload
    std::optional<std::uint16_t> zone;
};

std::string protocol_name(std::uint8_t proto) {
    switch (proto) {
        case IPPROTO_TCP: return "tcp";
        case IPPROTO_UDP: return "udp";
        case IPPROTO_SCTP: return "sctp";
        case IPPROTO_ICMP: return "icmp";
        default: return std::to_string(proto);
    }
}

std::uint8_t protocol_number(const std::string& name) {
    return name == "udp" ? IPPROTO_UDP : name == "sctp" ? IPPROTO_SCTP : IPPROTO_TCP;
}

// Calls `each` for every attribute in [first, end): libmnl's mnl_attr_for_each macros, without
// their C casts.
template <class F>
void for_each_attr(const void* first, const void* end, F each) {
    for (auto* a = static_cast<const nlattr*>(first);
         mnl_attr_ok(a, static_cast<int>(static_cast<const char*>(end) - reinterpret_cast<const char*>(a)));
         a = mnl_attr_next(a))
        each(a);
}
template <class F>
void for_each_nested(const nlattr* nest, F each) {
    const char* payload = static_cast<const char*>(mnl_attr_get_payload(nest));
    for_each_attr(payload, payload + mnl_attr_get_payload_len(nest), each);
}

// Reads CTA_TUPLE_IP and CTA_TUPLE_PROTO of a tuple; an attribute of the wrong size is skipped
// (the kernel's answer is trusted for its framing, libmnl checked that, not for its contents).
Tuple parse_tuple(const nlattr* nest) {
    Tuple t;
    for_each_nested(nest, [&](const nlattr* a) {
        if (mnl_attr_get_type(a) == CTA_TUPLE_IP)
            for_each_nested(a, [&](const nlattr* b) {
                if (mnl_attr_get_payload_len(b) != 4) return;
                Ipv4 ip{ntohl(mnl_attr_get_u32(b))};
                if (mnl_attr_get_type(b) == CTA_IP_V4_SRC) t.src = ip;
                if (mnl_attr_get_type(b) == CTA_IP_V4_DST) t.dst = ip;
            });
        if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO)
            for_each_nested(a, [&](const nlattr* b) {
                int type = mnl_attr_get_type(b), len = static_cast<int>(mnl_attr_get_payload_len(b));
                if (type == CTA_PROTO_NUM && len == 1) t.proto = mnl_attr_get_u8(b);
                if (type == CTA_PROTO_SRC_PORT && len == 2) t.sport = ntohs(mnl_attr_get_u16(b));
                if (type == CTA_PROTO_DST_PORT && len == 2) t.dport = ntohs(mnl_attr_get_u16(b));
            });
    });
    return t;
}

Flow parse_flow(const nlmsghdr* m) {
    Flow f;
    const char* start = static_cast<const char*>(mnl_nlmsg_get_payload_offset(m, sizeof(nfgenmsg)));
    for_each_attr(start, mnl_nlmsg_get_payload_tail(m), [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case CTA_TUPLE_ORIG:
                f.original = parse_tuple(a);
                f.original_attr.assign(static_cast<const char*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a));
                break;
            case CTA_TUPLE_REPLY: f.reply = parse_tuple(a); break;
            case CTA_ZONE:
                if (mnl_attr_get_payload_len(a) == 2) f.zone = ntohs(mnl_attr_get_u16(a));
                break;
        }
    });
    return f;
}

nlmsghdr* conntrack_header(char* buf, std::uint16_t type, std::uint16_t flags, std::uint32_t seq) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | type);
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_INET;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    return nlh;
}

std::string words(const Tuple& t) {
    std::string w = "-p " + protocol_name(t.proto) + " -s " + t.src.str() + " -d " + t.dst.str();
    if (t.proto != IPPROTO_ICMP) w += " --sport " + std::to_string(t.sport) + " --dport " + std::to_string(t.dport);
    return w;
}

bool has_address(const Flow& f, Ipv4 address) {
    return f.original.src == address || f.original.dst == address || f.reply.src == address || f.reply.dst == address;
}

bool to_published_datagram_port(const Flow& f, const std::vector<PortBinding>& ports) {
    if (f.original.proto != IPPROTO_UDP && f.original.proto != IPPROTO_SCTP) return false;
    for (const PortBinding& p : ports)
        if (protocol_number(p.protocol) == f.original.proto && p.host_port == f.original.dport) return true;
    return false;
}

// How many flows the kernel tracks in this network namespace; 0 without conntrack (its sysctl
// is there only once nf_conntrack is loaded, and hutch never loads it for this).
long tracked_flows() {
    Fd fd(sys::kernel().openat(AT_FDCWD, kCountFile, O_RDONLY | O_CLOEXEC));
    if (!fd) return 0;
    char text[32] = {};
    ssize_t n = ::read(fd.get(), text, sizeof text - 1);
    return n > 0 ? std::strtol(text, nullptr, 10) : 0;
}

}  // namespace

int forget_flows(Ipv4 address, const std::vector<PortBinding>& ports) {
    // A listing walks the kernel's whole conntrack hash, every namespace's buckets (about 4 ms
    // with 262,144 of them): skipped when this namespace tracks nothing.
    if (tracked_flows() == 0) return 0;
    NetlinkSocket nl(NETLINK_NETFILTER);  // conntrack's subsystem shares the bus with nftables
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    std::vector<Flow> stale;
    nlmsghdr* dump = conntrack_header(buf.data(), IPCTNL_MSG_CT_GET, NLM_F_DUMP, nl.next_seq());
    auto each = [&](const nlmsghdr* m) {
        Flow f = parse_flow(m);
        if (!f.original_attr.empty() && (has_address(f, address) || to_published_datagram_port(f, ports)))
            stale.push_back(std::move(f));
    };
    if (sys::kernel().conntrack(nl.fd(), nl.port(), dump, each, "conntrack -L -f ipv4") != 0) {
        // Without nf_conntrack_netlink the kernel tracks nothing hutch could clear.
        if (errno == EOPNOTSUPP || errno == EPROTONOSUPPORT || errno == ENOENT) return 0;
        throw SysError("list the tracked flows", "netlink", "conntrack", errno);
    }
    int forgotten = 0;
    for (const Flow& f : stale) {
        nlmsghdr* del = conntrack_header(buf.data(), IPCTNL_MSG_CT_DELETE, 0, nl.next_seq());
        mnl_attr_put(del, CTA_TUPLE_ORIG | NLA_F_NESTED, f.original_attr.size(), f.original_attr.data());
        if (f.zone) mnl_attr_put_u16(del, CTA_ZONE, htons(*f.zone));
        if (sys::kernel().conntrack(nl.fd(), nl.port(), del, nullptr, "conntrack -D " + words(f.original)) == 0)
            ++forgotten;
        else if (errno != ENOENT)  // ENOENT: the flow ended meanwhile
            throw SysError("forget a flow the container must not inherit", "netlink", "conntrack -D " + words(f.original), errno);
    }
    return forgotten;
}

}  // namespace hutch::net
