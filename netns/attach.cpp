#include "netns/attach.hpp"

#include <unistd.h>

#include <cstdio>

#include "netns/conntrack.hpp"
#include "netns/etc_files.hpp"
#include "netns/firewall.hpp"
#include "netns/link.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/run_modes.hpp"

namespace hutch::net {

std::optional<Attachment> Attachment::prepare(const Spec& spec, const std::string& data_root, const std::string& id,
                                              const HostConfig& config,
                                              std::function<bool(const std::string&)> container_exists,
                                              std::function<std::string(const std::string&)> hosts_path) {
    // Only a bridge, the default one or a named one, gets an address and a veth.
    NetworkMode mode = network_mode(spec);
    if (!std::holds_alternative<BridgeNetwork>(mode) && !std::holds_alternative<NamedNetwork>(mode))
        return std::nullopt;
    if (!spec.hutch.ports.empty() && !config.bridge.firewall)
        throw UsageError("-p needs hutch's firewall: the host config says \"iptables\": false");
    NetworkStore store(data_root, config.bridge, std::move(container_exists));
    NetworkConfig network = store.get(spec.hutch.network);
    if (!spec.hutch.ports.empty() && network.internal)
        throw UsageError("-p: network " + network.name + " is --internal: nothing reaches it from outside");
    // The host ports first: a taken one refuses the start before anything else is made.
    HeldPorts ports = HeldPorts::reserve(spec.hutch.ports);
    Endpoint wanted;
    wanted.container_id = id;
    wanted.container_name = spec.hutch.name;
    wanted.hostname = container_hostname(spec, id);
    wanted.aliases = spec.hutch.network_aliases;
    wanted.extra_hosts = spec.hutch.extra_hosts;
    // Peers rewrite this container's /etc/hosts from the endpoint record: store the gateway's
    // address, not the word.
    for (auto& h : wanted.extra_hosts)
        if (h.address == "host-gateway") h.address = network.gateway.str();
    wanted.host_veth = "veth" + id.substr(0, 11);  // IFNAMSIZ: at most 15 characters
    Claim claim = store.attach(network, wanted, spec.hutch.ip);
    Attachment attachment(std::move(store), std::move(network), std::move(claim), std::move(ports));
    // From here: a start that fails before announce_hosts still takes its line out of peers
    // that named it meanwhile.
    attachment.hosts_path_ = std::move(hosts_path);
    return attachment;
}

std::optional<Attachment> Attachment::adopt(const Spec& spec, const std::string& data_root, const std::string& id,
                                            const std::string& address, const HostConfig& config,
                                            std::function<bool(const std::string&)> container_exists, Fd claim,
                                            HeldPorts ports,
                                            std::function<std::string(const std::string&)> hosts_path) {
    NetworkMode mode = network_mode(spec);
    if (!std::holds_alternative<BridgeNetwork>(mode) && !std::holds_alternative<NamedNetwork>(mode))
        return std::nullopt;
    NetworkStore store(data_root, config.bridge, std::move(container_exists));
    NetworkConfig network = store.get(spec.hutch.network);
    // The one record at the address the container's state gives; every one without it.
    std::vector<Endpoint> candidates;
    if (address.empty()) candidates = store.endpoints(network);
    else if (auto own = store.endpoint_at(network, address, id)) candidates.push_back(std::move(*own));
    for (Endpoint& endpoint : candidates) {
        if (endpoint.container_id != id) continue;
        Attachment attachment(std::move(store), std::move(network), Claim{std::move(endpoint), std::move(claim), 0},
                              std::move(ports));
        attachment.connected_ = true;
        attachment.ports_published_ = !attachment.ports_.empty();
        attachment.hosts_path_ = std::move(hosts_path);
        return attachment;
    }
    throw Error("take back container " + id.substr(0, 12) + "'s network: network " + network.name +
                " holds no endpoint of it");
}

Attachment::Attachment(Attachment&& other) noexcept
    : store_(std::move(other.store_)), network_(std::move(other.network_)), endpoint_(std::move(other.endpoint_)),
      host_claim_(std::move(other.host_claim_)), bridge_index_(other.bridge_index_), connected_(other.connected_),
      released_(other.released_), ports_(std::move(other.ports_)),
      ports_published_(other.ports_published_), hosts_path_(std::move(other.hosts_path_)) {
    other.released_ = true;
}

void Attachment::connect(pid_t child) {
    NetlinkSocket nl;
    // By the index checked at the claim: a bridge another hutch replaced meanwhile (another
    // world reclaiming the name) is refused by the kernel, never joined by mistake.
    try {
        try {
            create_veth(nl, endpoint_.host_veth, bridge_index_, "eth0", child, endpoint_.mac);
        } catch (const SysError& e) {
            if (e.error_number() != EEXIST) throw;
            // The name is this container's own (from its id): its last run's pair, which the
            // kernel tears down with that run's namespace in the background (the destructor
            // only brings it down). A restart 100 ms later can come first: the pair is deleted
            // now, which waits for that teardown, and made again.
            explain::comment("the host end " + endpoint_.host_veth +
                             " of this container's last run is still there: deleted, then made again");
            delete_link(nl, endpoint_.host_veth);
            create_veth(nl, endpoint_.host_veth, bridge_index_, "eth0", child, endpoint_.mac);
        }
    } catch (const SysError&) {
        if (link_index(network_.bridge) == bridge_index_) throw;
        throw Error("connect the container: bridge " + network_.bridge +
                    " was removed or replaced while the container started");
    }
    connected_ = true;
    if (!network_.icc) isolate_bridge_port(nl, link_index(endpoint_.host_veth), endpoint_.host_veth);
    if (!ports_.empty()) {
        add_port_rules(endpoint_.container_id, endpoint_.address, ports_.bindings());
        ports_published_ = true;
    }
    // After the rules: a packet between the two would be tracked again without them.
    if (store_.firewall()) {
        explain::comment("flows the kernel still tracks for " + endpoint_.address.str() +
                         " or this container's UDP/SCTP host ports are forgotten: they would carry on to a "
                         "container that is gone");
        forget_flows(endpoint_.address, ports_.bindings());
    }
}

void Attachment::announce_hosts() {
    if (hosts_path_) store_.announce(network_, endpoint_, hosts_path_);
}

Attachment::~Attachment() {
    if (released_) return;
    try {
        if (ports_published_) remove_port_rules(endpoint_.container_id);
    } catch (const std::exception& e) {
        // Left: the start that reclaims this address removes them (NetworkStore::attach).
        std::fprintf(stderr, "hutch: warning: the published ports' rules stay: %s\n", e.what());
    }
    try {
        if (connected_) {
            // The pair dies with the container's network namespace, which the kernel tears
            // down in the background. Deleting it here would wait for that same unregistration
            // (~25 ms here, four times a whole start); bringing the host end down is immediate
            // and takes the port off the bridge at once, so the address can be handed out
            // again without the dying namespace answering for it.
            NetlinkSocket nl;
            set_down(nl, endpoint_.host_veth);
        }
        store_.detach(network_, endpoint_);
        if (hosts_path_) store_.withdraw(network_, endpoint_, hosts_path_);
    } catch (const std::exception&) {
        // Nothing better to do on the way out: the address claim is reclaimed as stale later.
    }
}

void configure_eth0(const ChildNetwork& network) {
    NetlinkSocket nl;
    int index = link_index("eth0");
    if (index == 0) throw Error("configure eth0: the interface is missing from the container's namespace");
    add_address(nl, index, "eth0", network.address.addr(), network.prefix);
    set_up(nl, index, "eth0");
    if (network.default_route) add_default_route(nl, index, network.gateway.addr());
}

std::string container_hostname(const Spec& spec, const std::string& id) {
    if (!spec.hostname.empty()) return spec.hostname;
    if (spec.hutch.network != "host") return id.substr(0, 12);
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) throw SysError("read the host's name", "gethostname", "", errno);
    return name;
}

std::string host_gateway(const Spec&, const std::optional<Attachment>& attachment, const HostConfig& config) {
    if (attachment) return attachment->network().gateway.str();
    return config.bridge.bip.substr(0, config.bridge.bip.find('/'));
}

EtcFiles container_etc_files(const Spec& spec, const std::string& id, const std::optional<Attachment>& attachment,
                             const HostConfig& config,
                             const std::function<std::optional<std::string>(const std::string&)>& read_host) {
    auto host_file = [&](const std::string& path) { return read_host(path).value_or(""); };
    std::vector<ExtraHost> extra = spec.hutch.extra_hosts;
    for (auto& h : extra)
        if (h.address == "host-gateway") h.address = host_gateway(spec, attachment, config);
    const etc::DnsSettings dns{spec.hutch.dns, spec.hutch.dns_search, spec.hutch.dns_options};
    const std::string hostname = container_hostname(spec, id);
    EtcFiles files;
    files.hostname = etc::hostname_file(hostname);
    if (spec.hutch.network == "host") {
        // Docker copies the host's files as they are (its 127.0.0.53 stub is reachable from the
        // host's namespace) unless a DNS flag asks for a generated resolv.conf.
        files.hosts = etc::host_network_hosts(host_file("/etc/hosts"), extra);
        bool dns_flags = !dns.servers.empty() || !dns.search.empty() || !dns.options.empty();
        files.resolv_conf = dns_flags ? etc::resolv_conf(host_file("/etc/resolv.conf"), dns, true)
                                      : host_file("/etc/resolv.conf");
        return files;
    }
    files.hosts = etc::hosts(extra, attachment ? attachment->endpoint().address.str() : "", hostname);
    files.resolv_conf = etc::resolv_conf(etc::host_resolv_source(host_file("/etc/resolv.conf"), read_host), dns);
    return files;
}

}  // namespace hutch::net
