// One container's place on a bridge network, from address claim to veth removal.
//
// Parent half: prepare() claims an address before clone (so /etc/hosts can name it), connect()
// creates the veth pair with its peer born inside the child's namespace as eth0, and the
// destructor takes the host end off the bridge (the kernel removes the pair with the
// namespace), releases the address and takes its line out of the peers' /etc/hosts. Child half: configure_eth0() gives eth0 its address and default route.
#pragma once

#include <optional>
#include <string>

#include "netns/host_config.hpp"
#include "netns/network.hpp"
#include "netns/ports.hpp"
#include "runtime/spec.hpp"

namespace hutch::net {

// What the child needs to configure eth0 in its own namespace.
struct ChildNetwork {
    Ipv4 address;
    int prefix = 0;
    Ipv4 gateway;
    bool default_route = true;  // none on an --internal network, as Docker gives none there
};

class Attachment {
public:
    // For --network bridge or a user-defined network; nullopt for none, host and container:.
    // Throws UsageError for an unknown network, a bad or taken --ip, a full pool.
    // `hosts_path`: a container id's /etc/hosts, which a user-defined network keeps naming its
    // peers (announce_hosts, and the destructor takes this container's line out again).
    static std::optional<Attachment> prepare(const Spec& spec, const std::string& data_root, const std::string& id,
                                             const HostConfig& config,
                                             std::function<bool(const std::string&)> container_exists,
                                             std::function<std::string(const std::string&)> hosts_path);
    // The attachment a start made in an earlier image of this process (runtime/monitor.hpp),
    // connected and its ports published: its endpoint read back from the network's store, its
    // address claim and its ports' sockets taken over from their fds, `hosts_path` the peers'
    // /etc/hosts as announce_hosts was given. nullopt for a spec without a bridge; Error when the
    // store no longer holds the container's endpoint. `address`: the one its state recorded ("":
    // looked for among the network's endpoints).
    static std::optional<Attachment> adopt(const Spec& spec, const std::string& data_root, const std::string& id,
                                           const std::string& address, const HostConfig& config,
                                           std::function<bool(const std::string&)> container_exists, Fd claim,
                                           HeldPorts ports,
                                           std::function<std::string(const std::string&)> hosts_path);
    Attachment(Attachment&& other) noexcept;
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;
    ~Attachment();

    const NetworkConfig& network() const { return network_; }
    const Endpoint& endpoint() const { return endpoint_; }
    ChildNetwork child_network() const {
        return {endpoint_.address, network_.subnet.prefix, network_.gateway, !network_.internal};
    }

    // Creates the veth pair: host end on the bridge, peer "eth0" inside `child`'s namespace;
    // then the published ports' DNAT rules (one batch).
    void connect(pid_t child);
    // The published ports, their host ports held since prepare() (netns/ports.hpp).
    const std::vector<PortBinding>& ports() const { return ports_.bindings(); }
    // The fds that hold the address and the ports for as long as the container runs.
    int claim_fd() const { return host_claim_.get(); }
    std::vector<int> port_fds() const { return ports_.fds(); }
    // Names this container's peers in its /etc/hosts and this container in theirs
    // (user-defined networks); the destructor takes its line out of theirs again.
    void announce_hosts();

private:
    Attachment(NetworkStore store, NetworkConfig network, Claim claim, HeldPorts ports)
        : store_(std::move(store)), network_(std::move(network)), endpoint_(std::move(claim.endpoint)),
          host_claim_(std::move(claim.held)), bridge_index_(claim.bridge_index), ports_(std::move(ports)) {}
    NetworkStore store_;
    NetworkConfig network_;
    Endpoint endpoint_;
    Fd host_claim_;          // the address, held for every world until the container is gone
    int bridge_index_ = 0;   // the bridge as checked when the address was claimed
    bool connected_ = false;
    bool released_ = false;
    HeldPorts ports_;
    bool ports_published_ = false;
    std::function<std::string(const std::string&)> hosts_path_;
};

// The child half, inside the container's new network namespace.
void configure_eth0(const ChildNetwork& network);

// Docker's Config.Hostname: the name /etc/hostname and the container's own /etc/hosts line hold.
// The spec's hostname, or with the host's UTS namespace (no sethostname, spec.hostname empty)
// the short id, or the host's name when the network is the host's too.
std::string container_hostname(const Spec& spec, const std::string& id);

// The gateway `host-gateway` in --add-host means: the container's network's, else the default
// bridge's (as Docker's host-gateway-ip defaults to its bridge's address).
std::string host_gateway(const Spec& spec, const std::optional<Attachment>& attachment, const HostConfig& config);

// The name-resolution files of a container with a network of its own or the host's (a
// container joining another's network uses that one's files). `read_host` gives a host file's
// content, nullopt when it cannot be read.
struct EtcFiles {
    std::string hosts;
    std::string resolv_conf;
    std::string hostname;
};
EtcFiles container_etc_files(const Spec& spec, const std::string& id, const std::optional<Attachment>& attachment,
                             const HostConfig& config,
                             const std::function<std::optional<std::string>(const std::string&)>& read_host);

}  // namespace hutch::net
