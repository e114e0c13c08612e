// Published ports (`-p`, `-P`): what the user asked for, and the host ports a start holds.
//
// A published port is a DNAT rule in hutch's firewall (firewall.hpp) from the host's addresses
// (or the one given) to the container. The host port itself is held, for as long as the
// container runs, by a socket bound to it in the hutch process that runs the container (the
// monitor of a -d one), as Docker's port reservation does: a port another container publishes
// or a host process listens on cannot be bound, so the start is refused with one line, and the
// kernel frees the port whatever way that process ends, SIGKILL included. No packet ever reaches
// that socket (TCP: bound, never listening; the DNAT happens before any socket is looked up).
#pragma once

#include <string>
#include <vector>

#include "runtime/fd.hpp"
#include "runtime/spec.hpp"

namespace hutch::net {

// Docker's -p grammar; a range gives one entry per port. Throws UsageError naming `text`.
std::vector<PublishedPort> parse_publish(const std::string& text);
// --expose / an image's ExposedPorts ("80", "80/udp", "8000-8001/tcp"): -P publishes these on
// ports the kernel picks. Throws UsageError naming `text`.
std::vector<PublishedPort> parse_exposed(const std::string& text);

// The host ports of a start, bound and held until destroyed.
class HeldPorts {
public:
    // Binds every port (a picked one for host_port 0, the first free of a range). Throws
    // UsageError naming the port when it is taken or `host_ip` is not the host's.
    static HeldPorts reserve(const std::vector<PublishedPort>& ports);
    const std::vector<PortBinding>& bindings() const { return bindings_; }
    bool empty() const { return bindings_.empty(); }
    // The sockets holding them, and the same ports taken over from their fds (runtime/monitor.hpp).
    std::vector<int> fds() const;
    static HeldPorts adopt(std::vector<PortBinding> bindings, std::vector<Fd> sockets);

private:
    std::vector<PortBinding> bindings_;
    std::vector<Fd> sockets_;
};

}  // namespace hutch::net
