#include "netns/network.hpp"

#include <algorithm>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "netns/bridge.hpp"
#include "netns/etc_files.hpp"
#include "netns/firewall.hpp"
#include "netns/host_claim.hpp"
#include "netns/hosts_files.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/state.hpp"
#include "runtime/validate.hpp"

namespace hutch::net {
namespace {

using nlohmann::json;
using namespace hosts_files;

json to_json(const NetworkConfig& n) {
    return {{"Name", n.name},     {"Id", n.id},       {"Driver", "bridge"},
            {"Created", n.created}, {"Subnet", n.subnet.str()}, {"Gateway", n.gateway.str()},
            {"Bridge", n.bridge}, {"Internal", n.internal}, {"Masquerade", n.masquerade}, {"Icc", n.icc}};
}

NetworkConfig network_from(const json& j) {
    NetworkConfig n;
    n.name = j.at("Name");
    n.id = j.at("Id");
    n.bridge = j.at("Bridge");
    n.created = j.value("Created", "");
    n.subnet = *Subnet::parse(j.at("Subnet").get<std::string>());
    n.gateway = *Ipv4::parse(j.at("Gateway").get<std::string>());
    n.internal = j.value("Internal", false);
    n.masquerade = j.value("Masquerade", true);
    n.icc = j.value("Icc", true);
    return n;
}

json to_json(const Endpoint& e) {
    json extra = json::array();
    for (const auto& h : e.extra_hosts) extra.push_back({{"name", h.name}, {"address", h.address}});
    return {{"ContainerId", e.container_id}, {"Name", e.container_name}, {"Hostname", e.hostname},
            {"Aliases", e.aliases},          {"ExtraHosts", extra},        {"IPv4Address", e.address.str()},
            {"HostVeth", e.host_veth},       {"Announced", e.announced}};
}

Endpoint endpoint_from(const json& j) {
    Endpoint e;
    e.container_id = j.value("ContainerId", "");
    e.container_name = j.value("Name", "");
    e.hostname = j.value("Hostname", "");
    e.aliases = j.value("Aliases", std::vector<std::string>{});
    for (const auto& h : j.value("ExtraHosts", json::array())) e.extra_hosts.push_back({h.at("name"), h.at("address")});
    e.address = Ipv4::parse(j.value("IPv4Address", "")).value_or(Ipv4{});
    e.host_veth = j.value("HostVeth", "");
    e.mac = mac_for(e.address);
    // A record without it is an older hutch's, whose container announced at its start.
    e.announced = j.value("Announced", true);
    return e;
}

// An endpoint record: one JSON document (what older hutches read too).
Endpoint read_endpoint(const std::string& file) { return endpoint_from(json::parse(read_file(file))); }

// Replaces the endpoint record of `e` in `ep_dir` whole, under the networks lock (a claim's
// file, already linked in: its address is the name). The temp file has a dot-name, which no
// reader of the dir takes for a claim; readers see the old record or the new one.
void replace_record(const std::string& ep_dir, const Endpoint& e) {
    write_file_atomic(ep_dir + "/" + e.address.str(), to_json(e).dump() + "\n", 0600, Durability::kRuntime,
                      ep_dir + "/.record." + e.address.str());
}

// Network state (claims, peers' addresses) is root's alone.
void make_dir(const std::string& path) { make_dirs(path, 0700); }

// A complete endpoint file not yet in the endpoints dir: linking it into place is the claim.
// An unnamed O_TMPFILE, so a hutch killed at any point leaves no temp file behind (the named
// `.claim.<id>` used where the file system has no O_TMPFILE is removed by the destructor, and
// by release_claims when a killed hutch left it).
class ClaimFile {
public:
    ClaimFile(const std::string& dir, const std::string& container_id, const std::string& content)
        : named_(dir + "/.claim." + container_id) {
        fd_ = Fd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
        if (fd_) {
            for (std::size_t done = 0; done < content.size();) {
                ssize_t n = ::write(fd_.get(), content.data() + done, content.size() - done);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) throw SysError("claim an address", "write", "O_TMPFILE in " + dir, errno);
                done += static_cast<std::size_t>(n);
            }
            named_.clear();
            return;
        }
        if (errno != EOPNOTSUPP && errno != EISDIR) throw SysError("claim an address", "open(O_TMPFILE)", dir, errno);
        write_file_atomic(named_, content, 0600, Durability::kRuntime);
    }
    ~ClaimFile() {
        if (!named_.empty()) ::unlink(named_.c_str());
    }
    ClaimFile(const ClaimFile&) = delete;
    ClaimFile& operator=(const ClaimFile&) = delete;

    // link(2) into `path`; false with errno set (EEXIST: the address is taken).
    bool link_to(const std::string& path) const {
        if (!named_.empty()) return sys::kernel().linkat(AT_FDCWD, named_.c_str(), AT_FDCWD, path.c_str(), 0) == 0;
        return sys::kernel().linkat(AT_FDCWD, ("/proc/self/fd/" + std::to_string(fd_.get())).c_str(), AT_FDCWD,
                                    path.c_str(), AT_SYMLINK_FOLLOW) == 0;
    }
    std::string shown() const { return named_.empty() ? "/proc/self/fd/" + std::to_string(fd_.get()) : named_; }

private:
    std::string named_;
    Fd fd_;
};

// Whether the claim file at `file` names a container that exists: one that cannot be read or
// parsed (a claim torn by a crash) names none, and is reclaimed.
bool claim_is_live(const std::string& file, const std::function<bool(const std::string&)>& container_exists) {
    try {
        return container_exists(read_endpoint(file).container_id);
    } catch (const std::exception&) {
        return false;
    }
}


}  // namespace

void release_claims(const std::string& data_root, const std::string& container_id,
                    const std::function<std::string(const std::string&)>& hosts_path) {
    std::string root = data_root + "/networks";
    Fd held(::open((root + "/.lock").c_str(), O_RDWR | O_CLOEXEC));
    if (!held) return;  // no network was ever used here
    while (::flock(held.get(), LOCK_EX) != 0)
        if (errno != EINTR) throw SysError("lock networks", "flock", root + "/.lock", errno);
    DIR* networks = ::opendir(root.c_str());
    if (!networks) return;
    std::vector<std::string> dirs;
    while (dirent* e = ::readdir(networks))
        if (e->d_name[0] != '.') dirs.push_back(root + "/" + e->d_name + "/endpoints");
    ::closedir(networks);
    for (const auto& ep_dir : dirs) {
        ::unlink((ep_dir + "/.claim." + container_id).c_str());
        DIR* d = ::opendir(ep_dir.c_str());
        if (!d) continue;
        std::vector<std::pair<std::string, Endpoint>> mine;
        std::vector<Endpoint> others;
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            std::string file = ep_dir + "/" + e->d_name;
            try {
                Endpoint ep = read_endpoint(file);
                if (ep.container_id == container_id) mine.emplace_back(file, ep);
                else others.push_back(ep);
            } catch (const std::exception&) {  // another container's claim, half-readable: not ours to judge
            }
        }
        ::closedir(d);
        for (const auto& [file, ep] : mine) {
            ::unlink(file.c_str());
            // The line its hutch, killed, never took out of its peers' /etc/hosts: a later
            // container on its address or with its name would otherwise resolve to it.
            if (hosts_path)
                for (const auto& peer : others) remove_line(hosts_path(peer.container_id), peer_text(ep), nullptr);
        }
    }
}

Mac mac_for(Ipv4 a) {
    return {0x02, 0x42, static_cast<unsigned char>(a.host_order >> 24), static_cast<unsigned char>(a.host_order >> 16),
            static_cast<unsigned char>(a.host_order >> 8), static_cast<unsigned char>(a.host_order)};
}

NetworkStore::NetworkStore(std::string data_root, BridgeDefaults defaults,
                           std::function<bool(const std::string&)> container_exists)
    : root_(std::move(data_root) + "/networks"), defaults_(std::move(defaults)),
      container_exists_(std::move(container_exists)) {}

Fd NetworkStore::lock() const {
    make_dir(root_);
    Fd fd(::open((root_ + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd || ::flock(fd.get(), LOCK_EX) != 0) throw SysError("lock networks", "flock", root_ + "/.lock", errno);
    return fd;
}

void NetworkStore::check_no_overlap(const Subnet& subnet, const std::string& except, const std::string& own_bridge) {
    if (auto range = special_range(subnet))
        throw UsageError("subnet " + subnet.str() + " lies in the " + *range + ": use a private range such as 10.89.0.0/24");
    std::vector<std::string> our_bridges = {own_bridge};
    bool default_recorded = false;
    for (const auto& n : list()) {
        our_bridges.push_back(n.bridge);
        default_recorded = default_recorded || n.name == kDefaultNetwork;
        if (n.name != except && n.subnet.overlaps(subnet))
            throw UsageError("subnet " + subnet.str() + " overlaps network \"" + n.name + "\" (" + n.subnet.str() + ")");
    }
    // The default bridge's range is taken before its first container makes it: a network made
    // inside it first would leave every default-network container unable to start (Docker's
    // default bridge exists from the daemon's start, so it refuses such a network too).
    if (except != kDefaultNetwork && !default_recorded) {
        auto bip = InterfaceAddress::parse(defaults_.bip);  // a bad bip is make_default's to report
        if (bip && bip->subnet.overlaps(subnet))
            throw UsageError("subnet " + subnet.str() + " overlaps network \"" + std::string(kDefaultNetwork) + "\" (" +
                             bip->subnet.str() + ")");
    }
    // Every table, the local one included: an address on any link (a local route), a policy
    // routing table or a blackhole claims its range as much as a route in main does.
    NetlinkSocket nl;
    for (const auto& route : host_routes(nl)) {
        if (!route.device.empty() && std::find(our_bridges.begin(), our_bridges.end(), route.device) != our_bridges.end())
            continue;
        // Another world making the shared default bridge this very moment (it gets its name
        // once it has its address): its routes lie inside this subnet, and are no obstacle.
        if (!own_bridge.empty() && bridge_in_the_making(route.device) && route.destination.prefix >= subnet.prefix)
            continue;
        if (route.destination.overlaps(subnet))
            throw UsageError("subnet " + subnet.str() + " overlaps the host's route " + route.describe());
    }
}

NetworkConfig NetworkStore::create(const std::string& name, const NetworkOptions& options) {
    const std::string& subnet_text = options.subnet;
    const std::string& gateway_text = options.gateway;
    if (!validate::container_name(name))
        throw UsageError("invalid network name \"" + name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    if (name == kDefaultNetwork || name == "host" || name == "none" || name == "pasta")
        throw UsageError("network name \"" + name + "\" is reserved");
    Fd held = lock();
    struct stat st {};
    if (::stat(dir(name).c_str(), &st) == 0) throw UsageError("network with name \"" + name + "\" already exists");

    NetworkConfig n;
    n.name = name;
    n.id = new_container_id();
    n.bridge = "hutch-" + n.id.substr(0, 9);  // IFNAMSIZ: at most 15 characters
    n.created = rfc3339_now();
    n.internal = options.internal;
    n.masquerade = options.masquerade;
    n.icc = options.icc;
    if (!subnet_text.empty()) {
        auto s = Subnet::parse(subnet_text);
        if (!s || s->prefix < 8 || s->prefix > 30)
            throw UsageError("invalid subnet \"" + subnet_text + "\": expected an IPv4 CIDR such as 10.89.0.0/24 "
                             "(prefix 8 to 30, no host bits)");
        n.subnet = *s;
        check_no_overlap(n.subnet, "");
    } else {
        // The first free /24 of 10.89.0.0/16, as podman picks them.
        bool found = false;
        for (std::uint32_t third = 0; third < 256 && !found; ++third) {
            Subnet candidate{Ipv4{(10u << 24) | (89u << 16) | (third << 8)}, 24};
            try {
                check_no_overlap(candidate, "");
                n.subnet = candidate;
                found = true;
            } catch (const UsageError&) {
                continue;  // this /24 overlaps a route or network of the host's: try the next
            }
        }
        if (!found) throw UsageError("no free subnet left in 10.89.0.0/16: give one with --subnet");
    }
    n.gateway = n.subnet.first_host();
    if (!gateway_text.empty()) {
        auto g = Ipv4::parse(gateway_text);
        if (!g || !n.subnet.is_host(*g))
            throw UsageError("invalid gateway \"" + gateway_text + "\": must be a host address in " + n.subnet.str());
        n.gateway = *g;
    }
    // The bridge and its rules first: a network is recorded only once they are there.
    int index = net::ensure_bridge({n.bridge, n.gateway, n.subnet.prefix, world()});
    try {
        ensure_rules(n);
        make_dir(dir(name));
        make_dir(dir(name) + "/endpoints");
        write_file_atomic(dir(name) + "/network.json", to_json(n).dump(2) + "\n", 0600, Durability::kDurable);
    } catch (...) {
        // Each step on its own: one that fails must not keep the others from running, and the
        // error the caller sees is the first one.
        try {
            remove_firewall_of(n);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "hutch: warning: rules of the failed network %s stay: %s\n", name.c_str(), e.what());
        }
        try {
            NetlinkSocket nl;
            delete_link_index(nl, index, n.bridge);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "hutch: warning: bridge %s of the failed network stays: %s\n", n.bridge.c_str(), e.what());
        }
        remove_tree(dir(name));
        throw;
    }
    events::emit(data_root(), {"network", "create", n.id, {{"name", n.name}, {"type", "bridge"}}, 0});
    return n;
}

NetworkConfig NetworkStore::make_default() {
    Fd held = lock();
    std::string file = dir(kDefaultNetwork) + "/network.json";
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0) return network_from(json::parse(read_file(file)));
    auto bip = InterfaceAddress::parse(defaults_.bip);
    if (!bip)
        throw UsageError("invalid \"bip\" in the host config: \"" + defaults_.bip + "\" (expected e.g. 10.88.0.1/16)");
    NetworkConfig n;
    n.name = kDefaultNetwork;
    n.id = new_container_id();
    n.bridge = defaults_.bridge;
    n.created = rfc3339_now();
    n.subnet = bip->subnet;
    n.gateway = bip->address;
    n.icc = defaults_.icc;
    // The bridge may be there already (another world's, or left by a deleted data root): its
    // routes are no obstacle when it can be adopted or reclaimed, which check_bridge says.
    check_bridge({n.bridge, n.gateway, n.subnet.prefix, ""});
    check_no_overlap(n.subnet, kDefaultNetwork, n.bridge);
    make_dir(dir(kDefaultNetwork));
    make_dir(dir(kDefaultNetwork) + "/endpoints");
    write_file_atomic(file, to_json(n).dump(2) + "\n", 0600, Durability::kDurable);
    return n;
}

NetworkConfig NetworkStore::get(const std::string& name) {
    std::string file = dir(name) + "/network.json";
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (name == kDefaultNetwork) return make_default();
        throw UsageError("network " + name + " not found");
    }
    return network_from(json::parse(read_file(file)));
}

std::vector<NetworkConfig> NetworkStore::list() {
    std::vector<NetworkConfig> out;
    DIR* d = ::opendir(root_.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.empty() || name[0] == '.') continue;
        const std::string file = dir(name) + "/network.json";
        struct stat st {};
        if (::lstat(file.c_str(), &st) != 0) continue;  // the default bridge's claims alone: no network.json
        try {
            out.push_back(network_from(json::parse(read_file(file))));
        } catch (const std::exception& bad) {
            // One damaged network must not hide the others from `network ls`: say which, go on.
            std::fprintf(stderr, "hutch: warning: network %s is unreadable, left out: %s\n", name.c_str(), bad.what());
        }
    }
    ::closedir(d);
    // By name, as `docker network ls` lists them: directory order changes from run to run.
    std::sort(out.begin(), out.end(), [](const NetworkConfig& a, const NetworkConfig& b) { return a.name < b.name; });
    return out;
}

std::vector<Endpoint> NetworkStore::endpoints(const NetworkConfig& network, std::vector<Endpoint>* stale) {
    std::vector<Endpoint> out;
    std::string ep_dir = dir(network.name) + "/endpoints";
    DIR* d = ::opendir(ep_dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string file = e->d_name;
        if (file.empty() || file[0] == '.') continue;
        try {
            Endpoint ep = read_endpoint(ep_dir + "/" + file);
            if (container_exists_(ep.container_id)) {
                out.push_back(ep);
            } else {
                ::unlink((ep_dir + "/" + file).c_str());  // a claim left by a killed hutch
                if (stale) stale->push_back(ep);
            }
        } catch (const std::exception&) {
            // A claim being written by another start (O_TMPFILE, then linked whole) is never
            // half-read; anything else unreadable here is not a container's address either.
            continue;
        }
    }
    ::closedir(d);
    return out;
}

std::optional<Endpoint> NetworkStore::endpoint_at(const NetworkConfig& network, const std::string& address,
                                                  const std::string& container_id) {
    const std::optional<Ipv4> ip = Ipv4::parse(address);  // a file name of the endpoints dir, nothing else
    if (!ip) return std::nullopt;
    try {
        Endpoint ep = read_endpoint(dir(network.name) + "/endpoints/" + ip->str());
        if (ep.container_id == container_id) return ep;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::string NetworkStore::remove(const std::string& name) {
    Fd held = lock();
    struct stat st {};
    if (::stat((dir(name) + "/network.json").c_str(), &st) != 0) throw UsageError("network " + name + " not found");
    NetworkConfig n = get(name);
    if (!endpoints(n).empty())
        throw UsageError("network " + name + " is in use by a container: remove the container first");
    // Only a bridge hutch made, and for the shared default bridge only when no world uses it.
    std::string kept = remove_bridge(n.bridge, world(), !n.user_defined());
    // The rules go with the network; the shared default bridge's stay while its device does
    // (another world's containers may use it).
    if (n.user_defined() || kept.empty()) remove_firewall_of(n);
    remove_tree(dir(name));
    events::emit(data_root(), {"network", "destroy", n.id, {{"name", n.name}, {"type", "bridge"}}, 0});
    return kept;
}

int NetworkStore::ensure_bridge(const NetworkConfig& network) {
    int index = net::ensure_bridge({network.bridge, network.gateway, network.subnet.prefix, world()});
    ensure_rules(network);
    return index;
}

void NetworkStore::ensure_rules(const NetworkConfig& network) {
    if (!defaults_.firewall) return;
    auto rules_of = [](const NetworkConfig& n) { return NetworkFirewall{n.bridge, n.subnet, n.internal, n.masquerade}; };
    // A table that is gone (a reboot, `nft flush ruleset`) is gone for every network: the
    // others of this world get their rules back now too, not at their next start, since their
    // bridges may still forward.
    if (ensure_firewall(rules_of(network), defaults_.ip_forward, root_))
        for (const NetworkConfig& other : list())
            if (other.name != network.name) ensure_firewall(rules_of(other), defaults_.ip_forward, root_);
    // Only now, with the rules in place, may the bridge route (it was made with forwarding off).
    if (defaults_.ip_forward && !network.internal) allow_forwarding(network.bridge);
}

void NetworkStore::remove_firewall_of(const NetworkConfig& network) {
    if (defaults_.firewall) remove_firewall(network.bridge);
}

std::string NetworkStore::world() {
    std::string file = root_ + "/.world";
    try {
        std::string id = read_file(file);
        if (id.size() == 13 && id.back() == '\n' && id.find_first_not_of("0123456789abcdef") == 12) return id.substr(0, 12);
    } catch (const Error&) {
        // No world yet (the first network of this data root): one is made below.
    }
    std::string id = new_container_id().substr(0, 12);
    write_file_atomic(file, id + "\n", 0600, Durability::kDurable);
    return id;
}

Claim NetworkStore::attach(const NetworkConfig& network, Endpoint endpoint, const std::string& requested) {
    Fd held = lock();
    auto requested_ip = Ipv4::parse(requested);
    if (requested_ip) {
        if (auto range = special_range(Subnet{*requested_ip, 32}))
            throw UsageError("invalid --ip \"" + requested + "\": it lies in the " + *range);
    }
    // A record from before hutch refused these ranges must not reach a bridge.
    if (auto range = special_range(network.subnet))
        throw UsageError("network " + network.name + " has subnet " + network.subnet.str() + " in the " + *range +
                         ": remove it and create it with another subnet");
    Claim out;
    out.bridge_index = ensure_bridge(network);
    std::string ep_dir = dir(network.name) + "/endpoints";
    make_dir(ep_dir);
    auto claim = [&](Ipv4 address) {
        // Other worlds on the bridge (the default one is shared) first: their claims are not
        // in this world's files.
        Fd host_wide = hold_address(network.bridge, address);
        if (!host_wide) return false;
        std::string file = ep_dir + "/" + address.str();
        endpoint.address = address;
        endpoint.mac = mac_for(address);
        endpoint.announced = false;  // until announce: see NetworkStore::announce
        ClaimFile temp(ep_dir, endpoint.container_id, to_json(endpoint).dump() + "\n");
        for (int attempt = 0; attempt < 2; ++attempt) {
            explain::comment("claim " + address.str() + " in this world's endpoints");
            if (temp.link_to(file)) {
                out.held = std::move(host_wide);
                return true;
            }
            if (errno != EEXIST) throw SysError("claim an address", "linkat", file, errno);
            // Taken: by a running container, or by one whose hutch is gone (reclaim it once).
            if (claim_is_live(file, container_exists_)) break;
            // A killed hutch's published ports still point at this address: they go with it,
            // or this container would receive their traffic.
            std::optional<Endpoint> stale;
            try {
                stale = read_endpoint(file);
            } catch (const std::exception&) {  // torn: no container to name
            }
            if (defaults_.firewall && stale) {
                try {
                    remove_port_rules(stale->container_id);
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "hutch: warning: the published ports of a stale claim on %s stay: %s\n",
                                 address.str().c_str(), e.what());
                }
            }
            // Its line in the peers' /etc/hosts goes at announce, before this container's is added.
            if (stale) reclaimed_.push_back(*stale);
            ::unlink(file.c_str());
        }
        return false;
    };
    if (!requested.empty()) {
        auto ip = requested_ip;
        if (!ip || !network.subnet.is_host(*ip) || *ip == network.gateway)
            throw UsageError("invalid --ip \"" + requested + "\": not a free host address of " + network.name +
                             " (" + network.subnet.str() + ", gateway " + network.gateway.str() + ")");
        if (!claim(*ip)) throw UsageError("address " + requested + " is already in use on network " + network.name);
        out.endpoint = std::move(endpoint);
        return out;
    }
    for (std::uint32_t a = network.subnet.first_host().host_order; a < network.subnet.broadcast().host_order; ++a) {
        if (Ipv4{a} == network.gateway) continue;
        if (claim(Ipv4{a})) {
            out.endpoint = std::move(endpoint);
            return out;
        }
    }
    throw UsageError("network " + network.name + " has no free address left (" + network.subnet.str() + ")");
}

void NetworkStore::detach(const NetworkConfig& network, const Endpoint& endpoint) {
    Fd held = lock();
    std::string file = dir(network.name) + "/endpoints/" + endpoint.address.str();
    ::unlink((dir(network.name) + "/endpoints/.record." + endpoint.address.str()).c_str());  // a killed announce's
    // Only our own claim: after a reclaim the address may belong to another container now.
    try {
        if (read_endpoint(file).container_id != endpoint.container_id) return;
    } catch (const std::exception&) {
        return;
    }
    ::unlink(file.c_str());
}

void NetworkStore::withdraw(const NetworkConfig& network, const Endpoint& leaving,
                            const std::function<std::string(const std::string&)>& hosts_path) {
    if (!network.user_defined()) return;
    Fd held = lock();
    const std::string text = peer_text(leaving);
    // A file past remove_line's bound gets hutch's own content back: the announced peers that
    // stay (one still pending names them itself when it announces).
    std::vector<Endpoint> staying, announced;
    for (const auto& peer : endpoints(network)) {
        if (peer.container_id == leaving.container_id) continue;
        staying.push_back(peer);
        if (peer.announced) announced.push_back(peer);
    }
    for (const auto& peer : staying)
        remove_line(hosts_path(peer.container_id), text, [&] { return hosts_of(peer, announced); });
}

void NetworkStore::announce(const NetworkConfig& network, const Endpoint& joining,
                            const std::function<std::string(const std::string&)>& hosts_path) {
    if (!network.user_defined()) return;
    Fd held = lock();
    std::vector<Endpoint> stale = std::move(reclaimed_);
    reclaimed_.clear();
    auto all = endpoints(network, &stale);
    // Lines of containers whose hutch was killed: taken out first, before a container that
    // takes one's address or name is named after it.
    for (const auto& gone : stale)
        for (const auto& peer : all) remove_line(hosts_path(peer.container_id), peer_text(gone), nullptr);
    auto self = std::find_if(all.begin(), all.end(), [&](const Endpoint& e) {
        return e.container_id == joining.container_id && e.address.host_order == joining.address.host_order;
    });
    if (self == all.end()) return;  // released meanwhile: nothing to announce
    // Only peers that announced already: one that claimed its address and has not announced
    // yet names this container in its own file when it does. Naming it here too, and then
    // having it append its line to this file, wrote its line twice (concurrent starts).
    std::vector<Endpoint> announced;
    for (const auto& peer : all)
        if (peer.announced && peer.container_id != joining.container_id) announced.push_back(peer);
    write_in_place(hosts_path(joining.container_id), hosts_of(*self, announced));
    const std::string text = peer_text(*self);
    for (const auto& peer : announced) append_line(hosts_path(peer.container_id), text);
    Endpoint marked = *self;
    marked.announced = true;
    replace_record(dir(network.name) + "/endpoints", marked);
}

}  // namespace hutch::net
