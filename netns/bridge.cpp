#include "netns/bridge.hpp"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/random.h>
#include <unistd.h>

#include <functional>

#include "netns/host_claim.hpp"
#include "netns/link.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/fd.hpp"

namespace hutch::net {
namespace {

constexpr const char* kMarkPrefix = "hutch:";
constexpr const char* kTempPrefix = "hutch-t";

using AttrFn = std::function<void(const nlattr*)>;

// Every attribute of a message after its fixed header (or of a nested attribute).
void each_attr(const nlmsghdr* msg, std::size_t header, const AttrFn& fn) {
    auto cb = [](const nlattr* attr, void* data) -> int {
        (*static_cast<const AttrFn*>(data))(attr);
        return MNL_CB_OK;
    };
    mnl_attr_parse(msg, static_cast<unsigned>(header), cb, const_cast<AttrFn*>(&fn));
}
void each_nested(const nlattr* nest, const AttrFn& fn) {
    auto cb = [](const nlattr* attr, void* data) -> int {
        (*static_cast<const AttrFn*>(data))(attr);
        return MNL_CB_OK;
    };
    mnl_attr_parse_nested(nest, cb, const_cast<AttrFn*>(&fn));
}

std::string attr_string(const nlattr* attr) {
    const char* p = static_cast<const char*>(mnl_attr_get_payload(attr));
    std::size_t n = mnl_attr_get_payload_len(attr);
    std::string s(p, n);
    return s.substr(0, s.find('\0'));
}

std::uint32_t attr_u32(const nlattr* attr) {
    return mnl_attr_get_payload_len(attr) == 4 ? mnl_attr_get_u32(attr) : 0;
}

LinkFacts link_from(const nlmsghdr* msg) {
    const auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(msg));
    LinkFacts link;
    link.index = ifm->ifi_index;
    link.loopback = (ifm->ifi_flags & IFF_LOOPBACK) != 0;
    link.up = (ifm->ifi_flags & IFF_UP) != 0;
    each_attr(msg, sizeof(ifinfomsg), [&](const nlattr* attr) {
        if (mnl_attr_get_type(attr) == IFLA_IFALIAS) link.alias = attr_string(attr);
        if (mnl_attr_get_type(attr) == IFLA_LINKINFO)
            each_nested(attr, [&](const nlattr* info) {
                if (mnl_attr_get_type(info) == IFLA_INFO_KIND) link.kind = attr_string(info);
            });
    });
    return link;
}

std::string random_hex(std::size_t digits) {
    unsigned char bytes[16] = {};
    if (::getrandom(bytes, digits / 2 + 1, 0) < 0) throw SysError("name a new bridge", "getrandom", "", errno);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; out.size() < digits; ++i) out += hex[bytes[i / 2] >> ((i % 2) * 4) & 0xf];
    return out;
}

// A new bridge routes nothing (to another network, the LAN), whatever the host's own
// net.ipv4.ip_forward says, until hutch's firewall rules for it are in place: then
// allow_forwarding (firewall.hpp) turns it on. With "iptables": false, or for an --internal
// network, it stays off. Local delivery to the gateway always works.
void forbid_forwarding(const std::string& name) {
    std::string forwarding = "/proc/sys/net/ipv4/conf/" + name + "/forwarding";
    sys::Kernel& k = sys::kernel();
    Fd fd(k.openat(AT_FDCWD, forwarding.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || k.write(fd.get(), "0", 1) != 1) throw SysError("isolate the network", "write", forwarding, errno);
}

// Creates the bridge ready to use under a temporary name, then renames it into place; returns its
// index. 0 when another hutch made `name` meanwhile (the caller then looks at that one).
int create_marked_bridge(NetlinkSocket& nl, const BridgeSpec& want) {
    const std::string temp = kTempPrefix + random_hex(8);  // IFNAMSIZ: 15 characters
    int index = add_bridge(nl, temp);
    bool placed = false;
    try {
        set_alias(nl, index, temp, bridge_mark(want.world));
        forbid_forwarding(temp);
        add_address(nl, index, temp, want.gateway.addr(), want.prefix);
        placed = rename_link(nl, index, temp, want.name);
    } catch (...) {
        delete_link_index(nl, index, temp);
        throw;
    }
    if (!placed) {
        delete_link_index(nl, index, temp);
        return 0;
    }
    set_up(nl, index, want.name);
    return index;
}

bool has_address(const std::vector<LinkAddress>& addresses, const BridgeSpec& want) {
    for (const auto& a : addresses)
        if (a.address == want.gateway && a.prefix == want.prefix) return true;
    return false;
}

std::string addresses_text(const std::vector<LinkAddress>& addresses) {
    if (addresses.empty()) return "no IPv4 address";
    std::string out;
    for (const auto& a : addresses) out += (out.empty() ? "" : ", ") + a.str();
    return out;
}

// Why an existing link can never be this bridge; "" when it can (as it is, or reclaimed).
std::string unusable(NetlinkSocket& nl, const LinkFacts& link, const std::vector<LinkAddress>& addresses,
                     const BridgeSpec& want) {
    const std::string name = "\"" + want.name + "\"";
    if (link.kind != "bridge")
        return "bridge " + name + " is " + link.describe() + ", not a bridge: name another in the host config's \"bridge\"";
    if (has_address(addresses, want)) return "";
    if (!made_by_hutch(link))
        return "bridge " + name + " was not made by hutch and has " + addresses_text(addresses) + ", not " +
               want.address() + ": give it that address, or set the host config's \"bip\" to its own";
    if (bridge_in_use(nl, want.name, link.index))
        return "bridge " + name + " is in use by containers of another hutch world with " + addresses_text(addresses) +
               ", not " + want.address() + ": give this world's host config another \"bridge\" or the same \"bip\"";
    return "";
}

}  // namespace

std::string LinkFacts::describe() const {
    if (loopback) return "the loopback device";
    if (kind.empty()) return "a device without a link kind (physical)";
    return "a " + kind + " link";
}

std::optional<LinkFacts> find_link(NetlinkSocket& nl, const std::string& name) {
    Request<ifinfomsg> r(RTM_GETLINK, 0);
    mnl_attr_put_strz(r.nlh, IFLA_IFNAME, name.c_str());
    std::optional<LinkFacts> out;
    try {
        nl.query(r.nlh, "look at a link", name, [&](const nlmsghdr* msg) {
            if (msg->nlmsg_type == RTM_NEWLINK) out = link_from(msg);
        });
    } catch (const SysError& e) {
        if (e.error_number() == ENODEV) return std::nullopt;
        throw;
    }
    return out;
}

std::vector<LinkAddress> link_addresses(NetlinkSocket& nl, int index) {
    Request<ifaddrmsg> r(RTM_GETADDR, NLM_F_DUMP);
    r.header->ifa_family = AF_INET;
    std::vector<LinkAddress> out;
    nl.query(r.nlh, "read a link's addresses", "ifindex " + std::to_string(index), [&](const nlmsghdr* msg) {
        if (msg->nlmsg_type != RTM_NEWADDR) return;
        const auto* a = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(msg));
        if (a->ifa_family != AF_INET || static_cast<int>(a->ifa_index) != index) return;
        std::optional<std::uint32_t> local, address;
        each_attr(msg, sizeof(ifaddrmsg), [&](const nlattr* attr) {
            if (mnl_attr_get_payload_len(attr) != 4) return;
            if (mnl_attr_get_type(attr) == IFA_LOCAL) local = mnl_attr_get_u32(attr);
            if (mnl_attr_get_type(attr) == IFA_ADDRESS) address = mnl_attr_get_u32(attr);
        });
        if (local || address) out.push_back({Ipv4{ntohl(local ? *local : *address)}, a->ifa_prefixlen});
    });
    return out;
}

std::string bridge_mark(const std::string& world) { return kMarkPrefix + world; }

bool bridge_in_the_making(const std::string& device) { return device.rfind(kTempPrefix, 0) == 0; }

bool made_by_hutch(const LinkFacts& link) {
    return link.kind == "bridge" && link.alias.rfind(kMarkPrefix, 0) == 0;
}

bool bridge_in_use(NetlinkSocket& nl, const std::string& name, int index) {
    Request<ifinfomsg> r(RTM_GETLINK, NLM_F_DUMP);
    // A port that is up: hutch takes a container's port down as the container ends, and the
    // kernel removes it with the container's namespace a little later.
    bool port = false;
    nl.query(r.nlh, "list a bridge's ports", name, [&](const nlmsghdr* msg) {
        if (msg->nlmsg_type != RTM_NEWLINK) return;
        if (!(static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(msg))->ifi_flags & IFF_UP)) return;
        each_attr(msg, sizeof(ifinfomsg), [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) == IFLA_MASTER && static_cast<int>(attr_u32(attr)) == index) port = true;
        });
    });
    return port || bridge_has_claims(name);
}

void check_bridge(const BridgeSpec& want) {
    NetlinkSocket nl;
    auto link = find_link(nl, want.name);
    if (!link) return;
    std::string why = unusable(nl, *link, link_addresses(nl, link->index), want);
    if (!why.empty()) throw UsageError(why);
}

int ensure_bridge(const BridgeSpec& want) {
    NetlinkSocket nl;
    // A few rounds: another hutch may create, adopt or reclaim the same name at the same time.
    for (int round = 0; round < 4; ++round) {
        auto link = find_link(nl, want.name);
        if (!link) {
            if (int index = create_marked_bridge(nl, want)) return index;
            continue;
        }
        auto addresses = link_addresses(nl, link->index);
        std::string why = unusable(nl, *link, addresses, want);
        if (!why.empty()) throw UsageError(why);
        if (has_address(addresses, want)) {
            if (!link->up) set_up(nl, link->index, want.name);
            return link->index;
        }
        // A hutch bridge no container uses, left with another address (by a world configured
        // otherwise, or whose data root is gone): it is taken back and made anew.
        delete_link_index(nl, link->index, want.name);
    }
    throw Error("set up bridge " + want.name + ": it kept changing while hutch set it up (another hutch at work?)");
}

std::string remove_bridge(const std::string& name, const std::string& world, bool shared) {
    NetlinkSocket nl;
    auto link = find_link(nl, name);
    if (!link) return "";
    if (!made_by_hutch(*link)) return "left " + name + " in place: hutch did not create it";
    if (!shared && link->alias != bridge_mark(world))
        return "left " + name + " in place: another hutch world made it (" + link->alias + ")";
    if (bridge_in_use(nl, name, link->index))
        return "left " + name + " in place: containers of another hutch world use it";
    delete_link_index(nl, link->index, name);
    return "";
}

}  // namespace hutch::net
