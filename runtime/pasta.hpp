// --network pasta: rootless hutch's network, as podman gives rootless containers theirs.
//
// Debian's passt package ships pasta, which joins the container's user and network namespaces
// (by the first process's pid), makes a tap device there with the host's addresses and routes
// (--config-net), and carries the container's traffic through ordinary sockets of the user's on
// the host: no bridge, no firewall rule, no privilege. Published ports (-p) are pasta's -t/-u
// forwards from the host into the container.
//
// What pasta does by default that Docker's isolation does not is turned off: no port the
// container binds is forwarded out by itself (-t none -u none unless -p), no host port is reachable
// from the container through the namespace's loopback (-T none -U none), and the default gateway
// is not the host's loopback (--no-map-gw): the container reaches the host only at its addresses
// on its networks, as from Docker's bridge, never at its loopback.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/fd.hpp"
#include "runtime/spec.hpp"

namespace hutch::pasta {

// Where pasta is installed ("" when it is not).
std::string binary();

// Throws UsageError for a published port pasta cannot forward as Docker would publish it: a
// port the kernel picks (-p 80, -P), a host port range, sctp.
void check_ports(const std::vector<PublishedPort>& ports);

// The ports as published, for the container's record (`ps`, `port`, inspect): each is the host
// port it was given (check_ports refuses the others), on every address unless one was given.
std::vector<PortBinding> bindings(const std::vector<PublishedPort>& ports);

// pasta's arguments for the container whose first process is `pid` (`ipv4_only`: the container
// has no IPv6); it writes its own pid to `pid_file` once the namespace is configured.
std::vector<std::string> arguments(pid_t pid, const std::vector<PublishedPort>& ports, bool ipv4_only,
                                   const std::string& pid_file);

// pasta running for one container: started once the child's user namespace has its maps and
// before the child's "go", so the command starts with its network up; killed and reaped when
// this goes (the container's network namespace then has no one to carry its traffic). It also
// dies with hutch (PR_SET_PDEATHSIG).
class Process {
public:
    // `state_dir`: where pasta's pid file and log go.
    Process(pid_t container_pid, const std::vector<PublishedPort>& ports, bool ipv4_only, const std::string& state_dir);
    // The pasta an earlier image of this process started (runtime/monitor.hpp). Error unless
    // `adopted` is this process's child: no other process is killed when this goes.
    explicit Process(pid_t adopted);
    pid_t pid() const { return pid_; }
    // A pidfd of it (readable once it exits), for the supervisor to notice its death: the
    // container has no network from then on, which nothing else would tell.
    int pidfd() const { return pidfd_.get(); }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

private:
    pid_t pid_ = -1;
    Fd pidfd_;
};

// The line a supervisor prints when pasta (`pidfd`, readable) exited before the container:
// how it ended, and that the container has no network from now on. pasta stays a zombie
// (WNOWAIT) for its Process to reap.
std::string death_notice(int pidfd);

}  // namespace hutch::pasta
