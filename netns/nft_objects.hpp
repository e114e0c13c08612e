// The libnftnl objects behind hutch's firewall (firewall.cpp, the only includer): the bound
// NETLINK_NETFILTER socket, a rule with its expressions and its nft words, a batch that is one
// transaction, and the two queries (does a chain exist, which rules with which comments). What
// the rules say is firewall.cpp's; this file only says how they reach the kernel.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "netns/ipv4.hpp"
#include "netns/netlink.hpp"
#include "runtime/error.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::net::nft {

constexpr const char* kTable = "hutch";
constexpr std::uint16_t kFamily = NFPROTO_IPV4;
constexpr const char* kBridgesSet = "bridges";
constexpr std::uint32_t kBridgesSetId = 1;  // names the set to rules of the batch that adds it
constexpr std::uint32_t kIfnameType = 41;    // nft's TYPE_IFNAME: `nft list` shows "type ifname"

template <typename T>
using Owned = std::unique_ptr<T, void (*)(const T*)>;

inline Owned<nftnl_table> table() {
    Owned<nftnl_table> t(nftnl_table_alloc(), nftnl_table_free);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTable);
    return t;
}

inline Owned<nftnl_chain> chain(const std::string& name) {
    Owned<nftnl_chain> c(nftnl_chain_alloc(), nftnl_chain_free);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTable);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
    return c;
}

inline Owned<nftnl_set> bridges_set() {
    Owned<nftnl_set> s(nftnl_set_alloc(), nftnl_set_free);
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, kBridgesSet);
    nftnl_set_set_u32(s.get(), NFTNL_SET_ID, kBridgesSetId);
    return s;
}

// An interface name as nft compares it: the name, NUL-padded to IFNAMSIZ.
struct IfName {
    char bytes[IFNAMSIZ] = {};
    explicit IfName(const std::string& name) { std::memcpy(bytes, name.data(), std::min(name.size(), sizeof bytes - 1)); }
};

// A rule comment as nft stores it (NFTNL_UDATA_RULE_COMMENT): how hutch finds its rules again.
inline std::string comment_userdata(const std::string& text) {
    Owned<nftnl_udata_buf> buf(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
    nftnl_udata_put_strz(buf.get(), NFTNL_UDATA_RULE_COMMENT, text.c_str());
    return {static_cast<const char*>(nftnl_udata_buf_data(buf.get())), nftnl_udata_buf_len(buf.get())};
}

// The comment in a rule's userdata (what comment_userdata wrote); "" when it holds none.
inline std::string comment_text(const char* data, std::uint32_t len) {
    std::string text;
    nftnl_udata_parse(data, len, [](const nftnl_udata* attr, void* out) -> int {
        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && nftnl_udata_len(attr) > 0)
            static_cast<std::string*>(out)->assign(static_cast<const char*>(nftnl_udata_get(attr)), nftnl_udata_len(attr) - 1);
        return 0;
    }, &text);
    return text;
}

// The bound NETLINK_NETFILTER socket: nftables' requests and batches go through the kernel
// seam's nft_query and nft_batch on its fd, not NetlinkSocket's rtnetlink query.
struct NftSocket : NetlinkSocket {
    NftSocket() : NetlinkSocket(NETLINK_NETFILTER) {}
};

// One rule: its expressions for the kernel, and the same rule in nft's words.
class Rule {
public:
    explicit Rule(const std::string& chain_name) : rule_(nftnl_rule_alloc(), nftnl_rule_free), chain_(chain_name) {
        nftnl_rule_set_str(rule_.get(), NFTNL_RULE_TABLE, kTable);
        nftnl_rule_set_str(rule_.get(), NFTNL_RULE_CHAIN, chain_name.c_str());
    }

    // iifname/oifname ["!="] "NAME"
    Rule& ifname(bool input, bool equal, const std::string& name) {
        meta(input);
        IfName data(name);
        cmp(equal ? NFT_CMP_EQ : NFT_CMP_NEQ, data.bytes, sizeof data.bytes);
        return say(std::string(input ? "iifname " : "oifname ") + (equal ? "" : "!= ") + in_quotes(name));
    }
    // iifname/oifname [!=] @bridges
    Rule& bridge(bool input, bool member) {
        meta(input);
        nftnl_expr* e = add("lookup");
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, kBridgesSet);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, kBridgesSetId);
        if (!member) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
        return say(std::string(input ? "iifname " : "oifname ") + (member ? "@" : "!= @") + kBridgesSet);
    }
    // ct state/status has any of `bits`
    Rule& ct_any(std::uint32_t key, std::uint32_t bits, const std::string& words) {
        nftnl_expr* ct = add("ct");
        nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        nftnl_expr* bitwise = add("bitwise");
        const std::uint32_t zero = 0;
        nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_LEN, sizeof bits);
        nftnl_expr_set(bitwise, NFTNL_EXPR_BITWISE_MASK, &bits, sizeof bits);
        nftnl_expr_set(bitwise, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
        cmp(NFT_CMP_NEQ, &zero, sizeof zero);
        return say(words);
    }
    Rule& verdict(int code, const std::string& target = "") {
        nftnl_expr* e = add("immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
        if (!target.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, target.c_str());
        switch (code) {
            case NF_ACCEPT: return say("accept");
            case NF_DROP: return say("drop");
            case NFT_RETURN: return say("return");
            default: return say("jump " + target);
        }
    }
    Rule& masquerade() {
        add("masq");
        return say("masquerade");
    }
    // meta l4proto tcp|udp|sctp
    Rule& l4proto(const std::string& protocol) {
        nftnl_expr* e = add("meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
        const std::uint8_t number = protocol == "udp" ? IPPROTO_UDP : protocol == "sctp" ? IPPROTO_SCTP : IPPROTO_TCP;
        cmp(NFT_CMP_EQ, &number, sizeof number);
        return say("meta l4proto " + protocol);
    }
    // th dport PORT (the destination port of TCP, UDP and SCTP alike: bytes 2-3 of the header)
    Rule& dport(int port) {
        load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        const std::uint16_t wire = htons(static_cast<std::uint16_t>(port));
        cmp(NFT_CMP_EQ, &wire, sizeof wire);
        return say("th dport " + std::to_string(port));
    }
    // ip saddr/daddr ADDRESS[/PREFIX]
    Rule& address(bool source, Ipv4 address, int prefix = 32) {
        load(NFT_PAYLOAD_NETWORK_HEADER, source ? 12 : 16, 4);
        Subnet net{Ipv4{address.host_order & Subnet{address, prefix}.mask()}, prefix};
        if (prefix < 32) {
            const std::uint32_t mask = htonl(net.mask()), zero = 0;
            nftnl_expr* bitwise = add("bitwise");
            nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
            nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
            nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_LEN, sizeof mask);
            nftnl_expr_set(bitwise, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof mask);
            nftnl_expr_set(bitwise, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
        }
        const std::uint32_t wire = htonl(net.network.host_order);
        cmp(NFT_CMP_EQ, &wire, sizeof wire);
        return say(std::string(source ? "ip saddr " : "ip daddr ") + (prefix < 32 ? net.str() : address.str()));
    }
    // fib daddr type local: a packet for one of this host's own addresses
    Rule& to_a_local_address() {
        nftnl_expr* e = add("fib");
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        const std::uint32_t local = RTN_LOCAL;
        cmp(NFT_CMP_EQ, &local, sizeof local);
        return say("fib daddr type local");
    }
    // dnat to ADDRESS:PORT
    Rule& dnat(Ipv4 address, int port) {
        const std::uint32_t wire_address = htonl(address.host_order);
        const std::uint16_t wire_port = htons(static_cast<std::uint16_t>(port));
        immediate(NFT_REG_1, &wire_address, sizeof wire_address);
        immediate(NFT_REG_2, &wire_port, sizeof wire_port);
        nftnl_expr* e = add("nat");
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
        return say("dnat to " + address.str() + ":" + std::to_string(port));
    }
    Rule& comment(const std::string& text) {
        std::string data = comment_userdata(text);
        nftnl_rule_set_data(rule_.get(), NFTNL_RULE_USERDATA, data.data(), static_cast<std::uint32_t>(data.size()));
        return say("comment " + in_quotes(text));
    }

    nftnl_rule* get() const { return rule_.get(); }
    std::string text() const { return "add rule ip " + std::string(kTable) + " " + chain_ + words_; }
    std::string words() const { return words_.substr(1); }

private:
    nftnl_expr* add(const char* name) {
        nftnl_expr* e = nftnl_expr_alloc(name);
        if (!e) throw Error(std::string("nftables: no expression \"") + name + "\" in libnftnl");
        nftnl_rule_add_expr(rule_.get(), e);  // the rule owns it from here
        return e;
    }
    void meta(bool input) {
        nftnl_expr* e = add("meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, input ? NFT_META_IIFNAME : NFT_META_OIFNAME);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    }
    void load(std::uint32_t base, std::uint32_t offset, std::uint32_t length) {
        nftnl_expr* e = add("payload");
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, length);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    }
    void immediate(std::uint32_t reg, const void* data, std::uint32_t size) {
        nftnl_expr* e = add("immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
        nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, size);
    }
    void cmp(int op, const void* data, std::uint32_t size) {
        nftnl_expr* e = add("cmp");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, static_cast<std::uint32_t>(op));
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, size);
    }
    Rule& say(const std::string& w) {
        words_ += " " + w;
        return *this;
    }

    Owned<nftnl_rule> rule_;
    std::string chain_, words_;
};

// One nftables transaction: messages built into one buffer, sent together, applied all or none.
class Batch {
public:
    explicit Batch(NftSocket& nl) : nl_(nl), buf_(2 * kLimit) {
        batch_ = mnl_nlmsg_batch_start(buf_.data(), kLimit);
        nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), nl_.next_seq());
        mnl_nlmsg_batch_next(batch_);
    }
    ~Batch() { mnl_nlmsg_batch_stop(batch_); }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    void add_table() {
        nftnl_table_nlmsg_build_payload(header(NFT_MSG_NEWTABLE, NLM_F_CREATE), table().get());
        done("add table ip " + std::string(kTable));
    }
    void add_base_chain(const char* name, const char* type, std::uint32_t hook, int priority, const char* words) {
        auto c = chain(name);
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, type);
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, priority);
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
        nftnl_chain_nlmsg_build_payload(header(NFT_MSG_NEWCHAIN, NLM_F_CREATE), c.get());
        done("add chain ip " + std::string(kTable) + " " + name + " { " + words + " }");
    }
    void add_chain(const std::string& name) {
        nftnl_chain_nlmsg_build_payload(header(NFT_MSG_NEWCHAIN, NLM_F_CREATE), chain(name).get());
        done("add chain ip " + std::string(kTable) + " " + name);
    }
    void flush_chain(const std::string& name) {
        Owned<nftnl_rule> r(nftnl_rule_alloc(), nftnl_rule_free);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, name.c_str());
        nftnl_rule_nlmsg_build_payload(header(NFT_MSG_DELRULE, 0), r.get());
        done("flush chain ip " + std::string(kTable) + " " + name);
    }
    void delete_chain(const std::string& name) {
        nftnl_chain_nlmsg_build_payload(header(NFT_MSG_DELCHAIN, 0), chain(name).get());
        done("delete chain ip " + std::string(kTable) + " " + name);
    }
    void add_bridges_set() {
        auto s = bridges_set();
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, kIfnameType);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, IFNAMSIZ);
        // nft reads a set's keys in the byte order its userdata names, as nft itself writes it
        // for ifname (BYTEORDER_HOST_ENDIAN, 1); without it `nft list` shows "" for each bridge.
        Owned<nftnl_udata_buf> udata(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
        nftnl_udata_put_u32(udata.get(), NFTNL_UDATA_SET_KEYBYTEORDER, 1);
        nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(udata.get()), nftnl_udata_buf_len(udata.get()));
        nftnl_set_nlmsg_build_payload(header(NFT_MSG_NEWSET, NLM_F_CREATE), s.get());
        done("add set ip " + std::string(kTable) + " " + kBridgesSet + " { type ifname; }");
    }
    void bridge_element(bool add, const std::string& bridge) {
        auto s = bridges_set();
        nftnl_set_elem* e = nftnl_set_elem_alloc();
        IfName key(bridge);
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.bytes, sizeof key.bytes);
        nftnl_set_elem_add(s.get(), e);  // the set owns it from here
        nftnl_set_elems_nlmsg_build_payload(header(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0),
                                            s.get());
        done(std::string(add ? "add" : "delete") + " element ip " + kTable + " " + kBridgesSet + " { " + in_quotes(bridge) + " }");
    }
    void add_rule(const Rule& rule) {
        nftnl_rule_nlmsg_build_payload(header(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), rule.get());
        done(rule.text());
    }
    void delete_rule(const char* chain_name, std::uint64_t handle) {
        Owned<nftnl_rule> r(nftnl_rule_alloc(), nftnl_rule_free);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain_name);
        nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, handle);
        nftnl_rule_nlmsg_build_payload(header(NFT_MSG_DELRULE, 0), r.get());
        done("delete rule ip " + std::string(kTable) + " " + chain_name + " handle " + std::to_string(handle));
    }

    bool empty() const { return words_.empty(); }

    // Sends the batch and waits for every answer; throws naming the request the kernel refused.
    void commit(const char* step) {
        nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), nl_.next_seq());
        mnl_nlmsg_batch_next(batch_);
        std::string all;
        for (const auto& w : words_) all += (all.empty() ? "" : "; ") + w;
        int refused = -1;
        if (sys::kernel().nft_batch(nl_.fd(), nl_.port(), mnl_nlmsg_batch_head(batch_), mnl_nlmsg_batch_size(batch_),
                                    static_cast<int>(words_.size()), first_seq_, refused, all) != 0) {
            int err = errno;
            bool known = refused >= 0 && refused < static_cast<int>(words_.size());
            throw SysError(step, "nftables", known ? words_[static_cast<std::size_t>(refused)] : all, err);
        }
    }

private:
    static constexpr std::size_t kLimit = 65536;

    nlmsghdr* header(std::uint16_t type, std::uint16_t flags) {
        std::uint32_t seq = nl_.next_seq();
        if (words_.empty()) first_seq_ = seq;
        return nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), type, kFamily,
                                     flags | NLM_F_ACK, seq);
    }
    void done(std::string words) {
        if (!mnl_nlmsg_batch_next(batch_)) throw Error("nftables: the batch grew past " + std::to_string(kLimit) + " bytes");
        words_.push_back(std::move(words));
    }

    NftSocket& nl_;
    std::vector<char> buf_;
    mnl_nlmsg_batch* batch_ = nullptr;
    std::uint32_t first_seq_ = 0;
    std::vector<std::string> words_;
};

inline bool chain_exists(NftSocket& nl, const std::string& name) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETCHAIN, kFamily, NLM_F_ACK, nl.next_seq());
    nftnl_chain_nlmsg_build_payload(nlh, chain(name).get());
    if (sys::kernel().nft_query(nl.fd(), nl.port(), nlh, nullptr, "list chain ip " + std::string(kTable) + " " + name) == 0)
        return true;
    if (errno == ENOENT) return false;
    throw SysError("look for hutch's firewall", "nftables", "chain ip hutch " + name, errno);
}

// The rules of chain `chain_name` as (comment, handle); "" for a rule without a comment.
inline std::vector<std::pair<std::string, std::uint64_t>> rules_in(NftSocket& nl, const char* chain_name) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, kFamily, NLM_F_DUMP, nl.next_seq());
    Owned<nftnl_rule> filter(nftnl_rule_alloc(), nftnl_rule_free);
    nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, kTable);
    nftnl_rule_set_str(filter.get(), NFTNL_RULE_CHAIN, chain_name);
    nftnl_rule_nlmsg_build_payload(nlh, filter.get());
    std::vector<std::pair<std::string, std::uint64_t>> rules;
    auto each = [&](const nlmsghdr* m) {
        Owned<nftnl_rule> r(nftnl_rule_alloc(), nftnl_rule_free);
        if (nftnl_rule_nlmsg_parse(m, r.get()) < 0) return;
        std::uint32_t len = 0;
        const void* data = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len);
        rules.emplace_back(data ? comment_text(static_cast<const char*>(data), len) : "",
                           nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE));
    };
    if (sys::kernel().nft_query(nl.fd(), nl.port(), nlh, each, "list chain ip " + std::string(kTable) + " " + chain_name) != 0 &&
        errno != ENOENT)
        throw SysError("list hutch's firewall rules", "nftables", std::string("chain ip hutch ") + chain_name, errno);
    return rules;
}

}  // namespace hutch::net::nft
