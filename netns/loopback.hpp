// Bringing `lo` up in a fresh network namespace, over rtnetlink (libmnl): a new namespace
// starts with lo down, and Docker's --network none shows it up with 127.0.0.1.
#pragma once

namespace hutch::net {

// Sets IFF_UP on the loopback interface of the caller's network namespace.
void bring_loopback_up();

}  // namespace hutch::net
