#include "netns/host_claim.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <fstream>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/explain.hpp"

namespace hutch::net {
namespace {

std::string claim_prefix(const std::string& bridge) { return "hutch/" + bridge + "/"; }

}  // namespace

Fd hold_address(const std::string& bridge, Ipv4 address) {
    const std::string name = claim_prefix(bridge) + address.str();
    Fd socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!socket) throw SysError("claim an address", "socket(AF_UNIX)", name, errno);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    // Abstract: a NUL first, then the name (at most 15 + 15 + 6 characters here).
    name.copy(sa.sun_path + 1, sizeof sa.sun_path - 2);
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    explain::comment("claim " + address.str() + " on " + bridge + " for every world on this host");
    if (sys::kernel().bind(socket.get(), reinterpret_cast<const sockaddr*>(&sa), length) != 0) {
        if (errno == EADDRINUSE) return Fd();
        throw SysError("claim an address", "bind", "@" + name, errno);
    }
    return socket;
}

bool bridge_has_claims(const std::string& bridge) {
    std::ifstream in("/proc/net/unix");
    if (!in) throw SysError("find address claims", "open", "/proc/net/unix", errno);
    const std::string wanted = " @" + claim_prefix(bridge);
    std::string line;
    while (std::getline(in, line))
        if (line.find(wanted) != std::string::npos) return true;
    return false;
}

}  // namespace hutch::net
