#include "netns/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "netns/ipv4.hpp"
#include "runtime/error.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::net {
namespace {

// "80" or "8000-8010" (1 to 65535, first <= last); `what` names the value in the error.
std::pair<int, int> port_range(const std::string& text, const std::string& what) {
    auto number = [&](const std::string& digits) {
        if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
            throw UsageError(what + ": " + in_quotes(digits) + " is not a port number");
        int n = std::stoi(digits);
        if (n < 1 || n > 65535) throw UsageError(what + ": port " + digits + " is outside 1-65535");
        return n;
    };
    const auto dash = text.find('-');
    if (dash == std::string::npos) {
        int n = number(text);
        return {n, n};
    }
    int first = number(text.substr(0, dash)), last = number(text.substr(dash + 1));
    if (first > last) throw UsageError(what + ": the range " + text + " ends before it starts");
    return {first, last};
}

std::string protocol_of(std::string& text, const std::string& what) {
    const auto slash = text.rfind('/');
    if (slash == std::string::npos) return "tcp";
    std::string protocol = text.substr(slash + 1);
    text.resize(slash);
    if (protocol != "tcp" && protocol != "udp" && protocol != "sctp")
        throw UsageError(what + ": unknown protocol " + in_quotes(protocol) + " (tcp, udp or sctp)");
    return protocol;
}

}  // namespace

std::vector<PublishedPort> parse_publish(const std::string& text) {
    const std::string what = "invalid -p " + in_quotes(text);
    std::string rest = text;
    const std::string protocol = protocol_of(rest, what);
    if (!rest.empty() && rest[0] == '[') throw UsageError(what + ": hutch publishes on IPv4 addresses only");
    std::vector<std::string> parts;
    for (std::size_t from = 0;;) {
        auto colon = rest.find(':', from);
        parts.push_back(rest.substr(from, colon - from));
        if (colon == std::string::npos) break;
        from = colon + 1;
    }
    if (parts.size() > 3) throw UsageError(what + ": expected [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]");
    std::string host_ip, host = parts.size() >= 2 ? parts[parts.size() - 2] : "";
    if (parts.size() == 3) {
        auto ip = Ipv4::parse(parts[0]);
        if (!ip) throw UsageError(what + ": " + in_quotes(parts[0]) + " is not an IPv4 address");
        if (ip->str() != "0.0.0.0") host_ip = ip->str();
    }
    auto [container_first, container_last] = port_range(parts.back(), what);
    std::vector<PublishedPort> out;
    if (host.empty()) {
        for (int p = container_first; p <= container_last; ++p) out.push_back({host_ip, 0, 0, p, protocol});
        return out;
    }
    auto [host_first, host_last] = port_range(host, what);
    if (container_first == container_last) {  // one port: the first free of the host range
        out.push_back({host_ip, host_first, host_last == host_first ? 0 : host_last, container_first, protocol});
        return out;
    }
    if (host_last - host_first != container_last - container_first)
        throw UsageError(what + ": the host range " + host + " and the container range " + parts.back() +
                         " differ in size");
    for (int i = 0; i <= container_last - container_first; ++i)
        out.push_back({host_ip, host_first + i, 0, container_first + i, protocol});
    return out;
}

std::vector<PublishedPort> parse_exposed(const std::string& text) {
    const std::string what = "invalid exposed port " + in_quotes(text);
    std::string rest = text;
    const std::string protocol = protocol_of(rest, what);
    auto [first, last] = port_range(rest, what);
    std::vector<PublishedPort> out;
    for (int p = first; p <= last; ++p) out.push_back({"", 0, 0, p, protocol});
    return out;
}

std::vector<int> HeldPorts::fds() const {
    std::vector<int> fds;
    for (const auto& s : sockets_) fds.push_back(s.get());
    return fds;
}

HeldPorts HeldPorts::adopt(std::vector<PortBinding> bindings, std::vector<Fd> sockets) {
    HeldPorts held;
    held.bindings_ = std::move(bindings);
    held.sockets_ = std::move(sockets);
    return held;
}

HeldPorts HeldPorts::reserve(const std::vector<PublishedPort>& ports) {
    HeldPorts held;
    for (const PublishedPort& want : ports) {
        const int type = want.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
        const int protocol = want.protocol == "sctp" ? IPPROTO_SCTP : 0;
        Fd socket(::socket(AF_INET, type | SOCK_CLOEXEC, protocol));
        if (!socket) throw SysError("hold the published port", "socket", want.protocol, errno);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        if (!want.host_ip.empty() && ::inet_pton(AF_INET, want.host_ip.c_str(), &address.sin_addr) != 1)
            throw UsageError("invalid -p host address " + in_quotes(want.host_ip));
        const int last = want.host_port_end ? want.host_port_end : want.host_port;
        const std::string ip = want.host_ip.empty() ? "0.0.0.0" : want.host_ip;
        int err = 0;
        for (int port = want.host_port; port <= last; ++port) {
            address.sin_port = htons(static_cast<std::uint16_t>(port));
            if (sys::kernel().bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
                err = 0;
                break;
            }
            err = errno;
            if (err != EADDRINUSE) break;
        }
        const std::string asked = ip + ":" + std::to_string(want.host_port) +
                                  (want.host_port_end ? "-" + std::to_string(want.host_port_end) : "") + "/" + want.protocol;
        if (err == EADDRINUSE)
            throw UsageError("host port " + asked + " is already in use (published by another container, or a "
                             "process of the host listens on it)");
        if (err == EADDRNOTAVAIL) throw UsageError("-p host address " + ip + " is not an address of this host");
        if (err) throw SysError("hold the published port", "bind", asked, err);
        socklen_t length = sizeof address;
        if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw SysError("hold the published port", "getsockname", asked, errno);
        held.bindings_.push_back({ip, ntohs(address.sin_port), want.container_port, want.protocol});
        held.sockets_.push_back(std::move(socket));
    }
    return held;
}

}  // namespace hutch::net
