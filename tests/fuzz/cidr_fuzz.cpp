// Network addresses and CIDRs: net::Ipv4 and net::Subnet (network create --subnet/--gateway,
// the host config's "bip", address claims) and validate::ip_address (--ip, --dns, --add-host).
// The input is one or two texts separated by NUL; a lone text is also tried against the other.
//
// Invariants: whatever parses prints back to text that parses to the same value, with nothing
// hidden after a NUL; a subnet has no host bits and its arithmetic agrees with itself; overlap
// is symmetric and means "one contains the other's network address".
#include "netns/ipv4.hpp"
#include "runtime/validate.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using hutch::net::Ipv4;
using hutch::net::Subnet;

void check_address(const std::string& text) {
    auto ip = Ipv4::parse(text);
    if (ip) {
        FUZZ_CHECK(text.find('\0') == std::string::npos, "an address with a NUL in it parsed: " + ip->str());
        FUZZ_CHECK(Ipv4::parse(ip->str()) == ip, "an address does not re-parse from " + ip->str());
    }
    std::string canonical = hutch::validate::ip_address(text);
    if (!canonical.empty()) {
        FUZZ_CHECK(text.find('\0') == std::string::npos, "ip_address accepted a NUL: " + canonical);
        FUZZ_CHECK(hutch::validate::ip_address(canonical) == canonical, "ip_address not idempotent: " + canonical);
        // An IPv4 address is the same value either way.
        if (ip) FUZZ_CHECK(canonical == ip->str(), "Ipv4 and ip_address disagree: " + canonical);
    }
}

void check_subnet(const Subnet& s) {
    FUZZ_CHECK(s.prefix >= 0 && s.prefix <= 32, "prefix out of range: " + s.str());
    FUZZ_CHECK((s.network.host_order & s.mask()) == s.network.host_order, "host bits set: " + s.str());
    FUZZ_CHECK(Subnet::parse(s.str()).has_value(), "does not re-parse: " + s.str());
    Subnet again = *Subnet::parse(s.str());
    FUZZ_CHECK(again.network == s.network && again.prefix == s.prefix, "re-parses to another value: " + s.str());
    FUZZ_CHECK(s.contains(s.network) && s.contains(s.broadcast()), "does not contain its own ends: " + s.str());
    FUZZ_CHECK(s.overlaps(s), "does not overlap itself: " + s.str());
    if (s.prefix <= 30) {
        FUZZ_CHECK(s.is_host(s.first_host()), "first host is not a host: " + s.str());
        FUZZ_CHECK(!s.is_host(s.network) && !s.is_host(s.broadcast()), "network or broadcast is a host: " + s.str());
    }
}

void check_pair(const Subnet& a, const Subnet& b) {
    bool overlap = a.overlaps(b);
    FUZZ_CHECK(overlap == b.overlaps(a), "overlap is not symmetric: " + a.str() + " " + b.str());
    FUZZ_CHECK(overlap == (a.contains(b.network) || b.contains(a.network)),
               "overlap disagrees with containment: " + a.str() + " " + b.str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 256) return -1;  // addresses are short: longer inputs explore nothing new
    auto parts = hutch::fuzz::split_nul(data, size);
    std::string whole = hutch::fuzz::as_string(data, size);
    parts.push_back(whole);  // the whole input, NULs included
    std::vector<Subnet> subnets;
    for (const auto& text : parts) {
        check_address(text);
        if (auto s = Subnet::parse(text)) {
            FUZZ_CHECK(text.find('\0') == std::string::npos, "a subnet with a NUL in it parsed: " + s->str());
            // Go's net.ParseCIDR, which Docker uses, takes the prefix as decimal digits only.
            std::string prefix = text.substr(text.find('/') + 1);
            FUZZ_CHECK(!prefix.empty() && prefix.find_first_not_of("0123456789") == std::string::npos,
                       "a prefix that is not a decimal number parsed: " + text);
            check_subnet(*s);
            subnets.push_back(*s);
        }
    }
    for (const auto& a : subnets)
        for (const auto& b : subnets) check_pair(a, b);
    return 0;
}
