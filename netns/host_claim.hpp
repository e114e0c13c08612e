// Address claims that every hutch world on the host sees, whatever its --data-root.
//
// Worlds share the default bridge (hutch0): their containers must never get one address twice.
// A claim is an abstract AF_UNIX socket bound to "hutch/<bridge>/<address>". The kernel keeps
// abstract names per network namespace, which is exactly where the bridge lives, lets only one
// socket hold a name, and frees it when the socket's last holder exits: a claim is held for as
// long as the hutch process that runs the container lives (SIGKILL included), and no file is
// left to reclaim. The per-world endpoint files (network.hpp) stay the record of who is where.
//
// Any local process may bind such a name too. That can make hutch skip an address (it is never
// handed out while held), but never make two containers share one.
#pragma once

#include <string>

#include "netns/ipv4.hpp"
#include "runtime/fd.hpp"

namespace hutch::net {

// Binds the claim's name. An empty Fd when another process holds it (EADDRINUSE); throws
// SysError for any other failure.
Fd hold_address(const std::string& bridge, Ipv4 address);

// Whether any claim on `bridge` is held right now (from /proc/net/unix, which lists the
// caller's network namespace): a container of some world is starting on it or runs there.
bool bridge_has_claims(const std::string& bridge);

}  // namespace hutch::net
