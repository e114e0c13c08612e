#include "netns/ipv4.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <utility>

namespace hutch::net {

std::optional<Ipv4> Ipv4::parse(const std::string& text) {
    in_addr a{};
    // inet_pton reads up to the first NUL: "10.0.0.1\0junk" (a JSON string may hold \u0000)
    // is not the address it would read.
    if (text.find('\0') != std::string::npos || inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
    return Ipv4{ntohl(a.s_addr)};
}

std::string Ipv4::str() const {
    in_addr a = addr();
    char buf[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a, buf, sizeof buf);
}

in_addr Ipv4::addr() const { return in_addr{htonl(host_order)}; }

namespace {

// "a.b.c.d/N", N in decimal, 0 to 32, at most two digits: the address and N.
std::optional<std::pair<Ipv4, int>> address_and_prefix(const std::string& text) {
    auto slash = text.find('/');
    if (slash == std::string::npos) return std::nullopt;
    auto ip = Ipv4::parse(text.substr(0, slash));
    int prefix = -1;
    std::string p = text.substr(slash + 1);
    // Digits only, as Go's net.ParseCIDR (Docker's) reads them: from_chars would take "-0".
    if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (!ip || ec != std::errc() || end != p.data() + p.size() || p.size() > 2 || prefix < 0 || prefix > 32)
        return std::nullopt;
    return std::pair{*ip, prefix};
}

}  // namespace

std::optional<Subnet> Subnet::parse(const std::string& text) {
    auto parsed = address_and_prefix(text);
    if (!parsed) return std::nullopt;
    Subnet s{parsed->first, parsed->second};
    if ((s.network.host_order & s.mask()) != s.network.host_order) return std::nullopt;  // host bits set
    return s;
}

std::string Subnet::str() const { return network.str() + "/" + std::to_string(prefix); }

bool Subnet::overlaps(const Subnet& o) const {
    std::uint32_t common = prefix < o.prefix ? mask() : o.mask();
    return (network.host_order & common) == (o.network.host_order & common);
}

std::optional<InterfaceAddress> InterfaceAddress::parse(const std::string& text) {
    auto parsed = address_and_prefix(text);
    if (!parsed || parsed->second < 8 || parsed->second > 30) return std::nullopt;
    auto [address, prefix] = *parsed;
    Subnet subnet{address, prefix};
    subnet.network.host_order &= subnet.mask();
    if (!subnet.is_host(address)) return std::nullopt;
    return InterfaceAddress{address, subnet};
}

std::optional<std::string> special_range(const Subnet& subnet) {
    struct Range {
        const char* what;
        std::uint32_t network;
        int prefix;
    };
    static const Range kRanges[] = {
        {"unspecified (\"this network\")", 0x00000000u, 8},
        {"loopback", 0x7f000000u, 8},
        {"link-local", 0xa9fe0000u, 16},
        {"multicast", 0xe0000000u, 4},
        {"reserved and broadcast", 0xf0000000u, 4},
    };
    for (const auto& r : kRanges) {
        Subnet range{Ipv4{r.network}, r.prefix};
        if (range.overlaps(subnet)) return std::string(r.what) + " range " + range.str();
    }
    return std::nullopt;
}

}  // namespace hutch::net
