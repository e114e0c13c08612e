#include "netns/firewall.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "netns/bridge.hpp"
#include "netns/nft_objects.hpp"
#include "netns/netlink.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/fd.hpp"
#include "runtime/state.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::net {
namespace {

using namespace nft;  // the objects: nft_objects.hpp

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";
constexpr const char* kGuardComment = "hutch turned on ip_forward: only its bridges are forwarded";

std::string in_chain(const std::string& bridge) { return "in-" + bridge; }
std::string out_chain(const std::string& bridge) { return "out-" + bridge; }
std::string comment_of(const std::string& bridge) { return "bridge " + bridge; }

// Writes one value into a sysctl file (a file of its own: a sysctl takes a write only at
// offset 0).
void write_sysctl(const std::string& file, const char* value, const char* step) {
    Fd fd(sys::kernel().openat(AT_FDCWD, file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || sys::kernel().write(fd.get(), value, 1) != 1) throw SysError(step, "write", file, errno);
}

// Whether a forwarding sysctl reads 0; sets it to 1 when `turn_on`.
bool forwarding_off(const std::string& file, bool turn_on) {
    char c = '0';
    {
        Fd fd(sys::kernel().openat(AT_FDCWD, file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || ::read(fd.get(), &c, 1) != 1) throw SysError("read whether this host forwards", "read", file, errno);
    }
    if (c != '0' || !turn_on) return c == '0';
    write_sysctl(file, "1", "turn on forwarding for the containers' traffic");
    return true;
}

// Where hutch notes that it turned ip_forward on in this network namespace (the sysctl is the
// namespace's, and outlives hutch's table when a ruleset is flushed): a file in the world's
// networks directory named by the namespace's cookie (unique for the boot, unlike its inode),
// holding the boot's id.
std::string forwarding_marker(const std::string& dir) {
    std::uint64_t cookie = 0;
    socklen_t size = sizeof cookie;
    Fd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    constexpr int kSoNetnsCookie = 71;  // SO_NETNS_COOKIE, Linux 5.14
    if (probe && ::getsockopt(probe.get(), SOL_SOCKET, kSoNetnsCookie, &cookie, &size) == 0)
        return dir + "/.ip_forward-" + std::to_string(cookie);
    struct stat st {};
    if (::stat("/proc/self/ns/net", &st) != 0) throw SysError("name this network namespace", "stat", "/proc/self/ns/net", errno);
    return dir + "/.ip_forward-ino-" + std::to_string(st.st_ino);
}

std::string boot_id() {
    try {
        return read_file("/proc/sys/kernel/random/boot_id");
    } catch (const Error&) {
        return "";
    }
}

bool forwarding_turned_on_by_hutch(const std::string& dir) {
    try {
        const std::string id = boot_id();
        return !id.empty() && read_file(forwarding_marker(dir)) == id;
    } catch (const Error&) {
        return false;  // no marker
    }
}

// Writing ip_forward sets every interface's own forwarding to the same value: the bridges hutch
// keeps from routing (--internal, "iptables": false) get theirs back.
void turn_on_ip_forward(const std::string& marker_dir) {
    std::vector<std::string> kept_off;
    {
        NetlinkSocket rt;
        // Closed on every way out (find_link and the reads throw).
        std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc/sys/net/ipv4/conf"), ::closedir);
        if (!dir) throw SysError("list this host's interfaces", "opendir", "/proc/sys/net/ipv4/conf", errno);
        while (dirent* e = ::readdir(dir.get())) {
            const std::string name = e->d_name;
            if (name == "." || name == ".." || name == "all" || name == "default" || name == "lo") continue;
            if (!forwarding_off("/proc/sys/net/ipv4/conf/" + name + "/forwarding", false)) continue;
            auto link = find_link(rt, name);
            if (link && made_by_hutch(*link)) kept_off.push_back(name);
        }
    }
    forwarding_off(kIpForward, true);
    for (const auto& name : kept_off)
        write_sysctl("/proc/sys/net/ipv4/conf/" + name + "/forwarding", "0", "keep a bridge from forwarding");
    make_dirs(marker_dir, 0700);
    write_file_atomic(forwarding_marker(marker_dir), boot_id(), 0600, Durability::kDurable);
}

std::vector<Rule> network_rules(const NetworkFirewall& n, bool in_base_chains) {
    std::vector<Rule> rules;
    const std::string tag = comment_of(n.bridge);
    if (in_base_chains) {
        rules.emplace_back("forward");
        rules.back().ifname(false, true, n.bridge).verdict(NFT_JUMP, in_chain(n.bridge)).comment(tag);
        if (n.internal) {
            rules.emplace_back("forward");
            rules.back().ifname(true, true, n.bridge).verdict(NFT_JUMP, out_chain(n.bridge)).comment(tag);
            return rules;
        }
        if (n.masquerade) {
            rules.emplace_back("postrouting");
            rules.back().ifname(true, true, n.bridge).ifname(false, false, n.bridge).masquerade().comment(tag);
        }
        // A container reaching a published port through the host's address, on its own
        // network (hairpin): the answer must come back through the host to be un-NATed.
        rules.emplace_back("postrouting");
        rules.back().ifname(true, true, n.bridge).ifname(false, true, n.bridge)
            .ct_any(NFT_CT_STATUS, IPS_DST_NAT, "ct status dnat").masquerade().comment(tag);
        // The host's own 127.0.0.1:PORT: the container cannot answer a loopback address.
        rules.emplace_back("postrouting");
        rules.back().ifname(false, true, n.bridge).address(true, Ipv4{0x7f000000}, 8).masquerade().comment(tag);
        return rules;
    }
    const std::string in = in_chain(n.bridge);
    rules.emplace_back(in);
    rules.back().ifname(true, true, n.bridge).verdict(NFT_RETURN);
    rules.emplace_back(in);
    rules.back()
        .ct_any(NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED), "ct state established,related")
        .verdict(NF_ACCEPT);
    rules.emplace_back(in);
    rules.back().ct_any(NFT_CT_STATUS, IPS_DST_NAT, "ct status dnat").verdict(NF_ACCEPT);
    rules.emplace_back(in);
    rules.back().verdict(NF_DROP);
    if (n.internal) {
        rules.emplace_back(out_chain(n.bridge));
        rules.back().ifname(false, false, n.bridge).verdict(NF_DROP);
    }
    return rules;
}

constexpr const char* kPortsChain = "ports";

// What every network shares, made once with the table: the base chains, the set of bridges, the
// chain of published ports and the jumps to it, and the guard of route_localnet.
void add_skeleton(Batch& batch) {
    batch.add_table();
    batch.add_base_chain("forward", "filter", NF_INET_FORWARD, 0, "type filter hook forward priority filter; policy accept;");
    batch.add_base_chain("postrouting", "nat", NF_INET_POST_ROUTING, 100,
                         "type nat hook postrouting priority srcnat; policy accept;");
    batch.add_base_chain("prerouting", "nat", NF_INET_PRE_ROUTING, -100,
                         "type nat hook prerouting priority dstnat; policy accept;");
    batch.add_base_chain("output", "nat", NF_INET_LOCAL_OUT, -100, "type nat hook output priority -100; policy accept;");
    batch.add_base_chain("raw-prerouting", "filter", NF_INET_PRE_ROUTING, -300,
                         "type filter hook prerouting priority raw; policy accept;");
    batch.add_bridges_set();
    batch.add_chain(kPortsChain);
    // Published ports: from anywhere to one of the host's own addresses (prerouting), and from
    // the host itself, 127.0.0.1 included (output).
    for (const char* base : {"prerouting", "output"}) {
        Rule r(base);
        r.to_a_local_address().verdict(NFT_JUMP, kPortsChain);
        batch.add_rule(r);
    }
    // Loopback addresses stay the host's own. Nothing arriving on another interface may be for
    // 127.0.0.0/8: route_localnet on a bridge (for 127.0.0.1:PORT) would let a container reach
    // the host's loopback services, and a DNAT of 127.0.0.1:PORT would run before the kernel's
    // own martian check, letting a neighbour on the LAN reach a port published on 127.0.0.1
    // (CVE-2020-8558, moby#45610). Nor may a container send from a loopback address.
    Rule to_loopback("raw-prerouting");
    to_loopback.ifname(true, false, "lo").address(false, Ipv4{0x7f000000}, 8).verdict(NF_DROP);
    batch.add_rule(to_loopback);
    Rule from_loopback("raw-prerouting");
    from_loopback.bridge(true, true).address(true, Ipv4{0x7f000000}, 8).verdict(NF_DROP);
    batch.add_rule(from_loopback);
}

std::string container_comment(const std::string& id) { return "container " + id; }

// Rules in chain `ports` with the comment of a container, by container id.
std::vector<std::pair<std::string, std::uint64_t>> port_rules(NftSocket& nl) {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    for (const auto& [comment, handle] : rules_in(nl, kPortsChain)) {
        if (comment.rfind("container ", 0) == 0) out.emplace_back(comment.substr(10), handle);
    }
    return out;
}

}  // namespace

bool ensure_firewall(const NetworkFirewall& network, bool may_forward, const std::string& marker_dir) {
    NftSocket nl;
    // Every question first: the batch's requests must be the socket's only sequence numbers
    // from its first to its last (an error names its request by them).
    const bool have_table = chain_exists(nl, kPortsChain);
    const bool have_network = have_table && chain_exists(nl, in_chain(network.bridge));
    const bool turn_on = may_forward && !network.internal && forwarding_off(kIpForward, false);
    // The guard belongs with the table wherever hutch turned ip_forward on in this network
    // namespace (now, or before a reboot-less flush took the table and left the sysctl on).
    bool guard = turn_on || (!have_table && forwarding_turned_on_by_hutch(marker_dir));
    if (guard && have_table)
        for (const auto& [comment, handle] : rules_in(nl, "forward"))
            if (comment == kGuardComment) guard = false;
    if (have_network && !turn_on && !guard) return false;
    explain::comment("the network's firewall rules go into hutch's own nftables table, ip hutch, in one batch");
    Batch batch(nl);
    if (!have_table) add_skeleton(batch);
    if (!have_network) {
        batch.bridge_element(true, network.bridge);
        batch.add_chain(in_chain(network.bridge));
        if (network.internal) batch.add_chain(out_chain(network.bridge));
        for (const Rule& r : network_rules(network, false)) batch.add_rule(r);
        for (const Rule& r : network_rules(network, true)) batch.add_rule(r);
    }
    if (guard) {
        Rule r("forward");
        r.bridge(true, false).bridge(false, false).verdict(NF_DROP).comment(kGuardComment);
        batch.add_rule(r);
    }
    batch.commit("add the network's firewall rules");
    if (turn_on) {
        explain::comment("ip_forward was off: hutch turns it on for the containers' traffic, and its guard rule keeps "
                         "everything else from being forwarded");
        turn_on_ip_forward(marker_dir);
    }
    return !have_table;
}

void allow_forwarding(const std::string& bridge) {
    const std::string conf = "/proc/sys/net/ipv4/conf/" + bridge;
    if (forwarding_off(conf + "/forwarding", true))
        explain::comment("the network's rules are in place: forwarding on for " + bridge);
    // 127.0.0.1:PORT of a published port is DNATed to the container: a packet from 127.0.0.1
    // may then leave through the bridge (the raw-prerouting guard keeps the reverse way shut).
    forwarding_off(conf + "/route_localnet", true);
}

void remove_firewall(const std::string& bridge) {
    NftSocket nl;
    const std::string tag = comment_of(bridge);
    std::vector<std::pair<const char*, std::uint64_t>> rules;
    for (const char* base : {"forward", "postrouting"})
        for (const auto& [comment, handle] : rules_in(nl, base))
            if (comment == tag) rules.emplace_back(base, handle);
    std::vector<std::string> chains;
    for (const std::string& name : {in_chain(bridge), out_chain(bridge)})
        if (chain_exists(nl, name)) chains.push_back(name);
    if (rules.empty() && chains.empty()) return;
    Batch batch(nl);
    for (const auto& [base, handle] : rules) batch.delete_rule(base, handle);
    for (const auto& name : chains) {
        batch.flush_chain(name);
        batch.delete_chain(name);
    }
    if (!chains.empty()) batch.bridge_element(false, bridge);  // added with the chains
    batch.commit("remove the network's firewall rules");
}

void add_port_rules(const std::string& container_id, Ipv4 address, const std::vector<PortBinding>& ports) {
    if (ports.empty()) return;
    NftSocket nl;
    Batch batch(nl);
    for (const PortBinding& p : ports) {
        Rule r(kPortsChain);
        if (p.host_ip != "0.0.0.0") r.address(false, *Ipv4::parse(p.host_ip));
        r.l4proto(p.protocol).dport(p.host_port).dnat(address, p.container_port).comment(container_comment(container_id));
        batch.add_rule(r);
    }
    explain::comment("the published ports: DNAT rules in chain ip hutch ports, one batch");
    batch.commit("publish the container's ports");
}

void remove_port_rules(const std::string& container_id) {
    NftSocket nl;
    std::vector<std::uint64_t> mine;
    for (const auto& [id, handle] : port_rules(nl))
        if (id == container_id) mine.push_back(handle);
    if (mine.empty()) return;
    Batch batch(nl);
    for (std::uint64_t handle : mine) batch.delete_rule(kPortsChain, handle);
    batch.commit("remove the container's published ports");
}

std::vector<std::string> firewall_rules(const NetworkFirewall& network) {
    std::vector<std::string> out;
    for (bool base : {true, false})
        for (const Rule& r : network_rules(network, base)) out.push_back(r.text().substr(std::string("add rule ").size()));
    return out;
}

bool firewall_present(const std::string& bridge) {
    NftSocket nl;
    return chain_exists(nl, in_chain(bridge));
}

}  // namespace hutch::net
