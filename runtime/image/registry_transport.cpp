#include "runtime/image/registry_transport.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace hutch::image::registry {
namespace {

// The host part of "host", "host:port", "[v6]" or "[v6]:port".
std::string host_of(const std::string& domain) {
    if (!domain.empty() && domain.front() == '[') return domain.substr(1, domain.find(']') - 1);
    return domain.substr(0, domain.find(':'));
}

// An IP literal: family and up to 16 address bytes; family 0 when `text` is not one.
struct Address {
    int family = 0;
    unsigned char bytes[16] = {};
};

Address parse_address(const std::string& text) {
    Address a;
    if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) a.family = AF_INET;
    else if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) a.family = AF_INET6;
    return a;
}

// "10.0.0.0/8" holds `address` (same family, the first `prefix` bits equal).
bool cidr_holds(const std::string& cidr, const Address& address) {
    std::size_t slash = cidr.find('/');
    Address net = parse_address(cidr.substr(0, slash));
    if (net.family == 0 || net.family != address.family) return false;
    int max_bits = net.family == AF_INET ? 32 : 128;
    char* end = nullptr;
    long bits = std::strtol(cidr.c_str() + slash + 1, &end, 10);
    if (*end != '\0' || end == cidr.c_str() + slash + 1 || bits < 0 || bits > max_bits) return false;
    for (int i = 0; i < bits; ++i) {
        int mask = 0x80 >> (i % 8);
        if ((net.bytes[i / 8] & mask) != (address.bytes[i / 8] & mask)) return false;
    }
    return true;
}

bool loopback(const std::string& host, const Address& address) {
    if (host == "localhost") return true;
    if (address.family == AF_INET) return address.bytes[0] == 127;
    static const unsigned char kV6Loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return address.family == AF_INET6 && std::memcmp(address.bytes, kV6Loopback, 16) == 0;
}

}  // namespace

std::string scheme_for(const std::string& domain, const std::vector<std::string>& insecure_registries) {
    std::string host = host_of(domain);
    Address address = parse_address(host);
    if (loopback(host, address)) return "http";
    for (const auto& entry : insecure_registries) {
        if (entry == domain) return "http";
        if (entry.find('/') != std::string::npos && address.family != 0 && cidr_holds(entry, address)) return "http";
    }
    return "https";
}

std::string api_host(const std::string& domain) {
    return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

}  // namespace hutch::image::registry
