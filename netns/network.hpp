// Networks: named bridges with a subnet, and the endpoints (containers) attached to them.
//
//   <data-root>/networks/<name>/network.json     name, id, subnet, gateway, bridge device
//   <data-root>/networks/<name>/endpoints/<ip>   one file per attached container (JSON; its
//                                                "Announced" false from the claim to announce)
//   <data-root>/networks/.lock                   flock: create/rm, address claims, /etc/hosts
//   <data-root>/networks/.world                  this world's id, in the mark on its bridges
//
// An address is claimed under the lock by link()ing a complete endpoint file into place, which
// fails if the address is taken: a claim is never seen half-written, and two starts can never
// get the same address. A claim whose container no longer runs (its hutch was SIGKILLed, the
// machine rebooted) is reclaimed under the same lock. Each claim also holds the address for
// every world on the host (host_claim.hpp). "bridge" is the default network: a bridge named by
// the host config (hutch0, 10.88.0.0/16 unless configured), made on first use and shared with
// the other worlds on the host (bridge.hpp).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "netns/ipv4.hpp"
#include "netns/link.hpp"
#include "netns/routes.hpp"
#include "runtime/fd.hpp"
#include "runtime/spec.hpp"

namespace hutch::net {

inline constexpr const char* kDefaultNetwork = "bridge";

struct NetworkConfig {
    std::string name, id, bridge, created;
    Subnet subnet;
    Ipv4 gateway;
    bool internal = false;    // --internal: nothing leaves the bridge (netns/firewall.hpp)
    bool masquerade = true;   // com.docker.network.bridge.enable_ip_masquerade
    bool icc = true;          // com.docker.network.bridge.enable_icc
    bool user_defined() const { return name != kDefaultNetwork; }
};

struct Endpoint {
    std::string container_id, container_name, hostname;
    std::vector<std::string> aliases;
    std::vector<ExtraHost> extra_hosts;
    Ipv4 address;
    std::string host_veth;  // the veth end on the host, on the bridge
    Mac mac{};
    // Its container's /etc/hosts lines are out (announce): peers that announce later append
    // theirs to its file, and it to theirs; one that has not yet will name it in its own file.
    // Recorded as "Announced" (false from the claim); a record without it is an older hutch's.
    bool announced = false;
};

struct BridgeDefaults {
    std::string bridge = "hutch0";
    std::string bip = "10.88.0.1/16";  // the gateway address and the subnet, as Docker's "bip"
    bool firewall = true;    // Docker's "iptables": hutch keeps its nftables table (firewall.hpp)
    bool ip_forward = true;  // Docker's "ip-forward": hutch may turn on net.ipv4.ip_forward
    bool icc = true;         // Docker's "icc": containers of the default network reach each other
};

// What `network create` takes beside the subnet and gateway.
struct NetworkOptions {
    std::string subnet, gateway;
    bool internal = false;
    bool masquerade = true;
    bool icc = true;
};

// An address claimed for a container: the record, the host-wide claim (held until the
// container is gone) and the bridge's index when it was checked.
struct Claim {
    Endpoint endpoint;
    Fd held;
    int bridge_index = 0;
};

class NetworkStore {
public:
    // `container_running` tells live claims from stale ones.
    NetworkStore(std::string data_root, BridgeDefaults defaults,
                 std::function<bool(const std::string&)> container_exists);

    NetworkConfig create(const std::string& name, const NetworkOptions& options);
    // The network by name; "bridge" is made (record and device) on first use.
    NetworkConfig get(const std::string& name);
    std::vector<NetworkConfig> list();
    // Refused while a container uses it; removes its bridge device when hutch made it and no
    // other world uses it. Returns why the device stayed ("" when it went, or was not there).
    std::string remove(const std::string& name);
    // The endpoints of running containers; the claims of containers whose hutch was killed are
    // removed on the way, and given in `stale` when asked for.
    std::vector<Endpoint> endpoints(const NetworkConfig& network, std::vector<Endpoint>* stale = nullptr);
    // The endpoint of container `container_id` at `address` (as its state recorded it): one
    // record read. nullopt when the address holds no endpoint of that container.
    std::optional<Endpoint> endpoint_at(const NetworkConfig& network, const std::string& address,
                                        const std::string& container_id);
    // Whether the host config keeps hutch's firewall (and so its NAT and tracked flows).
    bool firewall() const { return defaults_.firewall; }

    // Claims an address (`requested`, or the first free one) for the container and makes sure
    // the bridge device exists. Then the caller creates the veth (net::connect_container).
    Claim attach(const NetworkConfig& network, Endpoint endpoint, const std::string& requested);
    void detach(const NetworkConfig& network, const Endpoint& endpoint);
    // Container `leaving` left a user-defined network (detach): its line is taken out of each
    // peer's /etc/hosts, in place (each file is bind-mounted into its container), and the rest
    // of each file, a container's own edits included, is kept.
    void withdraw(const NetworkConfig& network, const Endpoint& leaving,
                  const std::function<std::string(const std::string&)>& hosts_path);
    // A container joined a user-defined network: its own /etc/hosts is written whole, naming its
    // peers, and its line is appended to each peer's. A start on a network of n containers so
    // costs a file of n lines and n appends, not n files of n lines.
    // The lines of containers whose hutch was killed (stale claims) go from every file first.
    void announce(const NetworkConfig& network, const Endpoint& joining,
                  const std::function<std::string(const std::string&)>& hosts_path);

private:
    std::string dir(const std::string& name) const { return root_ + "/" + name; }
    std::string data_root() const { return root_.substr(0, root_.find_last_of('/')); }
    Fd lock() const;
    NetworkConfig make_default();
    // `own_bridge`: the bridge the subnet will be on, whose routes are no obstacle.
    void check_no_overlap(const Subnet& subnet, const std::string& except, const std::string& own_bridge = "");
    // The bridge device, and the network's firewall rules when the host config keeps them.
    int ensure_bridge(const NetworkConfig& network);
    void ensure_rules(const NetworkConfig& network);
    void remove_firewall_of(const NetworkConfig& network);
    std::string world();

    std::string root_;
    BridgeDefaults defaults_;
    std::function<bool(const std::string&)> container_exists_;
    // Stale claims attach() took over: their lines leave the peers' /etc/hosts at announce.
    std::vector<Endpoint> reclaimed_;
};

// `rm` of a container a killed hutch ran: releases its address claims on every network (and a
// temp claim file it may have left), under the networks lock, now rather than when a later start
// finds them stale, and takes its line out of its peers' /etc/hosts (`hosts_path`: a container
// id's file).
void release_claims(const std::string& data_root, const std::string& container_id,
                    const std::function<std::string(const std::string&)>& hosts_path);

// A MAC from the address, as Docker makes them (02:42 then the four IPv4 bytes).
Mac mac_for(Ipv4 address);

}  // namespace hutch::net
