// Networks (issue 3): the default bridge, user-defined networks, container:, host and none; the
// /etc/hosts and /etc/resolv.conf hutch writes; address allocation; bad input.
//
// Safety: every network a test creates has a name with the test's pid and a subnet in
// 10.200.0.0/13 that overlaps none of the host's routes, and is removed in teardown even when the
// test fails (NetworkIntegration::TearDown, then a direct netlink delete of its bridge). Packets go
// only to addresses of the test's own containers and gateways (ping -c1 -W1), and nothing resolves
// a name through the servers in resolv.conf: the file is only read.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <filesystem>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "netns/link.hpp"
#include "netns/network.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

// --- IPv4 arithmetic -----------------------------------------------------------------------

struct Cidr {
    std::uint32_t base = 0;  // host order
    int prefix = 0;
    std::uint32_t mask() const { return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix); }
    bool contains(std::uint32_t a) const { return (a & mask()) == base; }
    bool overlaps(const Cidr& o) const {
        std::uint32_t m = prefix < o.prefix ? mask() : o.mask();
        return (base & m) == (o.base & m);
    }
};

std::optional<std::uint32_t> parse_ip(const std::string& text) {
    in_addr a{};
    if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
    return ntohl(a.s_addr);
}

std::string ip_str(std::uint32_t a) {
    in_addr n{htonl(a)};
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &n, buf, sizeof buf);
    return buf;
}

std::string cidr_str(const Cidr& c) { return ip_str(c.base) + "/" + std::to_string(c.prefix); }

// "a.b.c.d/p" (host bits are masked off).
std::optional<Cidr> parse_cidr(const std::string& text) {
    auto slash = text.find('/');
    if (slash == std::string::npos) return std::nullopt;
    auto ip = parse_ip(text.substr(0, slash));
    if (!ip) return std::nullopt;
    Cidr c;
    c.prefix = std::stoi(text.substr(slash + 1));
    c.base = *ip & c.mask();
    return c;
}

struct HostRoute {
    std::string iface;
    Cidr cidr;
};

// The host's routes from /proc/net/route, without the default route.
std::vector<HostRoute> host_routes() {
    std::vector<HostRoute> out;
    auto lines = split_lines(read_file("/proc/net/route"));
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::istringstream f(lines[i]);
        std::string iface, dest, gw, flags, refcnt, use, metric, mask;
        if (!(f >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
        std::uint32_t d = ntohl(static_cast<std::uint32_t>(std::stoul(dest, nullptr, 16)));
        std::uint32_t m = ntohl(static_cast<std::uint32_t>(std::stoul(mask, nullptr, 16)));
        if (m == 0) continue;
        out.push_back({iface, Cidr{d & m, __builtin_popcount(m)}});
    }
    return out;
}

// "inet 10.1.2.3/24" lines of `ip -4 addr` output.
Strings inet_addresses(const std::string& text) {
    Strings out;
    static const std::regex re(R"(inet (\d+\.\d+\.\d+\.\d+)/\d+)");
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) out.push_back((*it)[1]);
    return out;
}

std::set<std::string> links_on_host() {
    std::set<std::string> out;
    for (const auto& l : split_lines(run_command({"/bin/ls", "/sys/class/net"}).out)) out.insert(trim(l));
    return out;
}

// The ports of a bridge on the host (its brif directory).
Strings bridge_ports(const std::string& bridge) {
    Result r = run_command({"/bin/ls", "/sys/class/net/" + bridge + "/brif"});
    return r.code == 0 ? split_lines(r.out) : Strings{};
}

// Polls until `gone` holds (veths die with their namespace, in the background).
bool eventually(const std::function<bool()>& gone, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!gone()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

// resolv.conf as the resolver reads it.
struct Resolv {
    Strings nameservers, search, options;
};

Resolv parse_resolv(const std::string& text) {
    Resolv r;
    for (const auto& line : split_lines(text)) {
        std::istringstream in(line.substr(0, line.find_first_of("#;")));
        std::string key, v;
        if (!(in >> key)) continue;
        Strings values;
        while (in >> v) values.push_back(v);
        if (key == "nameserver" && !values.empty()) r.nameservers.push_back(values[0]);
        else if (key == "search") r.search = values;
        else if (key == "options") r.options = values;
    }
    return r;
}

bool loopback_server(const std::string& s) {
    auto ip = parse_ip(s);
    return s == "::1" || (ip && (*ip >> 24) == 127);
}

// What a bridge or none container gets without DNS flags (REFERENCE.md, /etc/resolv.conf): the
// host's file (systemd's upstream file behind a lone 127.0.0.53) without loopback servers;
// Google's when none remain.
Resolv expected_default_resolv() {
    Resolv host = parse_resolv(read_file("/etc/resolv.conf"));
    if (host.nameservers == Strings{"127.0.0.53"}) host = parse_resolv(read_file("/run/systemd/resolve/resolv.conf"));
    Resolv out = host;
    out.nameservers.clear();
    for (const auto& s : host.nameservers)
        if (!loopback_server(s)) out.nameservers.push_back(s);
    if (out.nameservers.empty()) out.nameservers = {"8.8.8.8", "8.8.4.4"};
    return out;
}

const char* kDockerHostsHead =
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n";

// The names of the /etc/hosts line for `address` ("" when there is none).
std::set<std::string> host_names_for(const std::string& hosts, const std::string& address) {
    for (const auto& line : split_lines(hosts)) {
        std::istringstream in(line);
        std::string a, n;
        if (!(in >> a) || a != address) continue;
        std::set<std::string> names;
        while (in >> n) names.insert(n);
        return names;
    }
    return {};
}

// A network this test created; removed by the fixture's TearDown.
struct TestNetwork {
    std::string name, bridge;
    Cidr subnet;
    std::uint32_t gateway = 0;
    std::string subnet_str() const { return cidr_str(subnet); }
    std::string host(int n) const { return ip_str(subnet.base + static_cast<std::uint32_t>(n)); }
};

// A container kept running in the background: `script` runs, then "ready" is printed and the
// shell idles until SIGTERM (which hutch forwards to it) or SIGUSR1 (dumps /etc/hosts).
class Sleeper {
public:
    explicit Sleeper(Process p) : p_(std::move(p)) {}
    Sleeper(Sleeper&&) = default;
    ~Sleeper() { stop(); }
    bool ready() { return p_.wait_for_output("ready\n", 15s); }
    pid_t pid() const { return p_.pid(); }
    std::string out() const { return p_.out_so_far(); }
    // Asks the container for its /etc/hosts (the USR1 trap); returns the n-th dump.
    std::string dump_hosts() {
        ++dumps_;
        std::string end = "@@dump" + std::to_string(dumps_) + "@@\n";
        ::kill(p_.pid(), SIGUSR1);
        if (!p_.wait_for_output(end, 10s)) return "<no dump>\n" + p_.out_so_far() + p_.err_so_far();
        std::string all = p_.out_so_far();
        std::string begin = "@@begin" + std::to_string(dumps_) + "@@\n";
        auto b = all.find(begin);
        auto e = all.find(end);
        if (b == std::string::npos || e < b) return "<bad dump>";
        return all.substr(b + begin.size(), e - b - begin.size());
    }
    Result stop() {
        if (!stopped_) {
            stopped_ = true;
            ::kill(p_.pid(), SIGTERM);  // only the hutch this test started
            result_ = p_.wait(15s);
        }
        return result_;
    }

private:
    Process p_;
    bool stopped_ = false;
    int dumps_ = 0;
    Result result_;
};

std::string sleeper_script(const std::string& script) {
    return "n=0; trap 'n=$((n+1)); echo @@begin$n@@; cat /etc/hosts; echo @@dump$n@@' USR1; "
           "trap 'exit 0' TERM; " +
           script + "; echo ready; while true; do sleep 0.1; done";
}

// Containers that look names up get this: a name missing from /etc/hosts then fails at once on
// the container's own loopback instead of reaching the host's DNS servers.
const Strings kNoDns = {"--dns", "127.0.0.1"};

Strings with(Strings a, const Strings& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

class NetworkIntegration : public HutchTest {
protected:
    void TearDown() override {
        // Whatever a failed test left running is ours: kill it by pid so its address claims
        // no longer hold the networks.
        reap_leftover_children();
        for (const auto& n : networks_) {
            roots_.hutch({"network", "rm", n.name});
            if (!n.bridge.empty() && hutch::net::link_index(n.bridge) != 0) {
                hutch::net::NetlinkSocket nl;
                hutch::net::delete_link(nl, n.bridge);
            }
        }
    }

    // The harness's default bridge subnet ("bip" of its host config).
    Cidr default_bridge_subnet() const {
        json config = json::parse(read_file(roots_.base() + "/config.json"));
        return *parse_cidr(config["bip"].get<std::string>());
    }
    std::uint32_t default_gateway() const {
        json config = json::parse(read_file(roots_.base() + "/config.json"));
        std::string bip = config["bip"];
        return *parse_ip(bip.substr(0, bip.find('/')));
    }

    // A /`prefix` (24..30) in 10.200.0.0/13, derived from the pid, that overlaps neither the
    // host's routes, nor the harness's default bridge, nor one picked before in this process.
    Cidr free_subnet(int prefix) {
        static std::vector<Cidr> picked;
        static unsigned counter = 0;
        auto routes = host_routes();
        Cidr bridge = default_bridge_subnet();
        unsigned pid = static_cast<unsigned>(::getpid());
        for (unsigned tries = 0; tries < 2048; ++tries) {
            unsigned index = (pid * 37u + (counter++) * 101u) % 2048u;  // one of 2048 /24s
            Cidr c{(10u << 24) | (200u << 16) | (index << 8), prefix};
            bool clash = c.overlaps(bridge);
            for (const auto& r : routes) clash = clash || c.overlaps(r.cidr);
            for (const auto& p : picked) clash = clash || c.overlaps(p);
            if (clash) continue;
            picked.push_back(c);
            return c;
        }
        throw std::runtime_error("no free subnet in 10.200.0.0/13");
    }

    std::string unique_name(const std::string& what = "n") {
        static int counter = 0;
        return "hit" + what + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    }

    // hutch network create --subnet <free> NAME, recorded for teardown. Another process may
    // take the same subnet in between (the product then refuses it): a few tries.
    TestNetwork create_network(int prefix = 24) {
        for (int attempt = 0; attempt < 4; ++attempt) {
            TestNetwork n;
            n.name = unique_name();
            n.subnet = free_subnet(prefix);
            n.gateway = n.subnet.base + 1;
            Result r = roots_.hutch({"network", "create", "--subnet", n.subnet_str(), n.name});
            if (r.code != 0 && r.err.find("overlaps the host") != std::string::npos) continue;
            EXPECT_EXIT_CODE(r, 0);
            networks_.push_back(n);
            if (r.code != 0) return n;
            n.bridge = bridge_of(n.name);
            networks_.back().bridge = n.bridge;
            return n;
        }
        ADD_FAILURE() << "could not create a network";
        return {};
    }

    // Records a network created by hand (a test's own `network create`) for teardown.
    void track(const std::string& name) { networks_.push_back({name, bridge_of(name), {}, 0}); }

    std::string bridge_of(const std::string& name) {
        Result r = roots_.hutch({"network", "inspect", name});
        if (r.code != 0) return "";
        try {
            return json::parse(r.out).at(0).at("Options").at("com.docker.network.bridge.name");
        } catch (const std::exception&) {
            return "";
        }
    }

    Sleeper sleeper(const Strings& opts, const std::string& script = "true") {
        return Sleeper(start(opts, {"sh", "-c", sleeper_script(script)}));
    }

    std::vector<TestNetwork> networks_;
};

// --- user-defined networks: reachability by address, name and alias ------------------------

TEST_F(NetworkIntegration, PeersOnAUserNetworkPingEachOtherByIpNameAndAlias) {
    TestNetwork net = create_network();
    ASSERT_FALSE(net.bridge.empty());
    Sleeper alpha = sleeper(with(kNoDns, {"--network", net.name, "--name", "alpha", "--network-alias", "al1",
                                          "--network-alias", "al2"}),
                            "ip -4 addr show eth0");
    ASSERT_TRUE(alpha.ready()) << alpha.out();
    Strings a_ip = inet_addresses(alpha.out());
    ASSERT_EQ(a_ip.size(), 1u) << alpha.out();
    EXPECT_TRUE(net.subnet.contains(*parse_ip(a_ip[0]))) << a_ip[0];

    // beta reaches alpha by address, name and both aliases; then alpha reaches beta by name,
    // which only works if alpha's /etc/hosts was updated when beta joined.
    Sleeper beta = sleeper(with(kNoDns, {"--network", net.name, "--name", "beta"}),
                           "ip -4 addr show eth0; for t in " + a_ip[0] +
                               " alpha al1 al2; do ping -c1 -W1 $t >/dev/null && echo reach-$t || echo FAIL-$t; done");
    ASSERT_TRUE(beta.ready()) << beta.out();
    for (const auto& t : {a_ip[0], std::string("alpha"), std::string("al1"), std::string("al2")})
        EXPECT_NE(beta.out().find("reach-" + t + "\n"), std::string::npos) << t << "\n" << beta.out();
    Strings b_ip = inet_addresses(beta.out());
    ASSERT_EQ(b_ip.size(), 1u) << beta.out();
    EXPECT_NE(a_ip[0], b_ip[0]);

    std::string hosts = alpha.dump_hosts();
    EXPECT_TRUE(host_names_for(hosts, b_ip[0]).count("beta")) << hosts;
    Result ping_back = roots_.hutch({"run", "--network", "container:alpha", "--rm", rootfs_, "sh", "-c",
                                     "ping -c1 -W1 beta >/dev/null && ping -c1 -W1 " + b_ip[0] + " >/dev/null && echo ok"});
    EXPECT_EXIT_CODE(ping_back, 0);
    EXPECT_EQ(ping_back.out, "ok\n");

    EXPECT_EXIT_CODE(beta.stop(), 0);
    EXPECT_EXIT_CODE(alpha.stop(), 0);
}

TEST_F(NetworkIntegration, HostsFileNamesPeersAndDropsThemWhenTheyExit) {
    TestNetwork net = create_network();
    Sleeper alpha = sleeper({"--network", net.name, "--name", "alpha", "--network-alias", "aa"},
                            "ip -4 addr show eth0; echo host=$(hostname)");
    ASSERT_TRUE(alpha.ready()) << alpha.out();
    Sleeper beta = sleeper({"--network", net.name, "--name", "beta", "--network-alias", "bb"},
                           "ip -4 addr show eth0; echo host=$(hostname); echo @@own@@; cat /etc/hosts; echo @@end@@");
    ASSERT_TRUE(beta.ready()) << beta.out();
    Strings a_ip = inet_addresses(alpha.out()), b_ip = inet_addresses(beta.out());
    ASSERT_EQ(a_ip.size(), 1u);
    ASSERT_EQ(b_ip.size(), 1u);
    std::smatch m;
    std::string a_out = alpha.out();
    ASSERT_TRUE(std::regex_search(a_out, m, std::regex("host=([0-9a-f]{12})\n"))) << a_out;
    std::string a_host = m[1];
    std::string b_out = beta.out();
    ASSERT_TRUE(std::regex_search(b_out, m, std::regex("host=([0-9a-f]{12})\n"))) << b_out;
    std::string b_host = m[1];

    // beta, started second, sees alpha (name, alias, short id) at once.
    std::string b_hosts = b_out.substr(b_out.find("@@own@@\n") + 8);
    b_hosts = b_hosts.substr(0, b_hosts.find("@@end@@"));
    EXPECT_EQ(b_hosts.rfind(kDockerHostsHead, 0), 0u) << b_hosts;
    auto names = host_names_for(b_hosts, a_ip[0]);
    EXPECT_TRUE(names.count("alpha") && names.count("aa")) << b_hosts;
    EXPECT_TRUE(names.count(a_host)) << "the peer's short id\n" << b_hosts;
    EXPECT_EQ(host_names_for(b_hosts, b_ip[0]), (std::set<std::string>{b_host})) << b_hosts;

    // alpha, started first, has been told about beta.
    std::string a_hosts = alpha.dump_hosts();
    EXPECT_EQ(a_hosts.rfind(kDockerHostsHead, 0), 0u) << a_hosts;
    EXPECT_EQ(host_names_for(a_hosts, a_ip[0]), (std::set<std::string>{a_host})) << a_hosts;
    names = host_names_for(a_hosts, b_ip[0]);
    EXPECT_TRUE(names.count("beta") && names.count("bb")) << a_hosts;

    // beta exits: its line leaves alpha's file.
    EXPECT_EXIT_CODE(beta.stop(), 0);
    a_hosts = alpha.dump_hosts();
    EXPECT_EQ(a_hosts.find("beta"), std::string::npos) << a_hosts;
    EXPECT_EQ(a_hosts.find(b_ip[0] + "\t"), std::string::npos) << a_hosts;
    EXPECT_EQ(host_names_for(a_hosts, a_ip[0]), (std::set<std::string>{a_host})) << a_hosts;
    EXPECT_EXIT_CODE(alpha.stop(), 0);
}

// A start on a network of n containers costs one /etc/hosts of n lines and n appends (issue 19):
// a joining peer's line is appended to the others' files, never rewriting them, so what a
// container's root wrote into its own /etc/hosts stays, as under Docker, and the new line is a
// line of its own even after an edit that left no final newline.
TEST_F(NetworkIntegration, AJoiningPeerIsAppendedAndKeepsWhatAContainerWroteInItsHosts) {
    TestNetwork net = create_network();
    Sleeper alpha = sleeper({"--network", net.name, "--name", "alpha"},
                            "echo '10.9.9.9 custom-entry' >> /etc/hosts; printf '10.9.9.8 no-newline' >> /etc/hosts");
    ASSERT_TRUE(alpha.ready()) << alpha.out();
    Sleeper beta = sleeper({"--network", net.name, "--name", "beta"}, "ip -4 addr show eth0");
    ASSERT_TRUE(beta.ready()) << beta.out();
    Strings b_ip = inet_addresses(beta.out());
    ASSERT_EQ(b_ip.size(), 1u) << beta.out();
    std::string a_hosts = alpha.dump_hosts();
    EXPECT_EQ(host_names_for(a_hosts, "10.9.9.9"), (std::set<std::string>{"custom-entry"})) << a_hosts;
    EXPECT_EQ(host_names_for(a_hosts, "10.9.9.8"), (std::set<std::string>{"no-newline"})) << a_hosts;
    EXPECT_TRUE(host_names_for(a_hosts, b_ip[0]).count("beta")) << a_hosts;
    // beta leaves: its line goes, alpha's own lines stay.
    EXPECT_EXIT_CODE(beta.stop(), 0);
    a_hosts = alpha.dump_hosts();
    EXPECT_EQ(a_hosts.find("beta"), std::string::npos) << a_hosts;
    EXPECT_EQ(host_names_for(a_hosts, "10.9.9.9"), (std::set<std::string>{"custom-entry"})) << a_hosts;
    EXPECT_EQ(host_names_for(a_hosts, "10.9.9.8"), (std::set<std::string>{"no-newline"})) << a_hosts;
    EXPECT_EXIT_CODE(alpha.stop(), 0);
}

// A container's root may fill its own /etc/hosts: a peer's exit reads at most 4 MiB of it, and
// a larger file gets hutch's own content back (its peers, without the one that left).
TEST_F(NetworkIntegration, AHostsFileGrownPast4MiBGetsHutchsOwnBackAtAPeersExit) {
    TestNetwork net = create_network();
    Sleeper alpha = sleeper({"--network", net.name, "--name", "alpha"}, "true");
    ASSERT_TRUE(alpha.ready()) << alpha.out();
    Sleeper beta = sleeper({"--network", net.name, "--name", "beta"}, "true");
    ASSERT_TRUE(beta.ready()) << beta.out();
    Sleeper gamma = sleeper({"--network", net.name, "--name", "gamma"}, "true");
    ASSERT_TRUE(gamma.ready()) << gamma.out();
    Strings ids = roots_.container_ids();
    ASSERT_EQ(ids.size(), 3u);
    std::string alpha_hosts;
    for (const auto& id : ids) {
        std::string file = roots_.run_root() + "/containers/" + id + "/hosts";
        if (read_file(file).find("\talpha ") == std::string::npos) alpha_hosts = file;  // its own names no alpha
    }
    ASSERT_FALSE(alpha_hosts.empty());
    {
        std::string filler(5 << 20, '#');
        filler += "\n";
        std::ofstream(alpha_hosts, std::ios::app) << filler;
    }
    EXPECT_EXIT_CODE(beta.stop(), 0);
    std::string after = read_file(alpha_hosts);
    EXPECT_LT(after.size(), 64u * 1024) << "the 5 MiB stayed";
    EXPECT_EQ(after.find("beta"), std::string::npos) << after;
    EXPECT_NE(after.find("gamma"), std::string::npos) << after;
    EXPECT_EXIT_CODE(gamma.stop(), 0);
    EXPECT_EXIT_CODE(alpha.stop(), 0);
}

// A container whose hutch was killed never took its line out of its peers' files: the next start
// on the network (which finds its claim stale) does, and so does `rm` of it. Else a later
// container on its address, or with its name, would resolve to the dead one's line first.
TEST_F(NetworkIntegration, AKilledContainersHostsLineGoesAtTheNextStartOrItsRm) {
    TestNetwork net = create_network();
    Sleeper alpha = sleeper({"--network", net.name, "--name", "alpha"}, "true");
    ASSERT_TRUE(alpha.ready()) << alpha.out();
    Sleeper beta = sleeper({"--network", net.name, "--name", "beta"}, "true");
    ASSERT_TRUE(beta.ready()) << beta.out();
    ASSERT_NE(alpha.dump_hosts().find("beta"), std::string::npos);
    ASSERT_EQ(::kill(beta.pid(), SIGKILL), 0);  // beta's hutch, which this test started
    beta.stop();
    EXPECT_NE(alpha.dump_hosts().find("beta"), std::string::npos) << "the kill left the line (the premise)";
    Sleeper gamma = sleeper({"--network", net.name, "--name", "gamma"}, "cat /etc/hosts");
    ASSERT_TRUE(gamma.ready()) << gamma.out();
    std::string a_hosts = alpha.dump_hosts();
    EXPECT_EQ(a_hosts.find("beta"), std::string::npos) << a_hosts;
    EXPECT_NE(a_hosts.find("gamma"), std::string::npos) << a_hosts;
    EXPECT_EQ(gamma.out().find("beta"), std::string::npos) << gamma.out();

    ASSERT_EQ(::kill(gamma.pid(), SIGKILL), 0);
    gamma.stop();
    EXPECT_NE(alpha.dump_hosts().find("gamma"), std::string::npos) << "the kill left the line (the premise)";
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "beta", "gamma"}), 0);
    EXPECT_EQ(alpha.dump_hosts().find("gamma"), std::string::npos) << "rm took it out";
    EXPECT_EXIT_CODE(alpha.stop(), 0);
}

// inspect and ps read what they show and no more (issue 19: nothing scans what it does not
// need). inspect reads the container's own endpoint record (its address is in its state), not the
// network's others: another one here is a FIFO, which a scan would block on. ps takes the network
// from the state record, not from config.json (a FIFO too, for that moment).
TEST_F(NetworkIntegration, InspectAndPsReadOnlyTheContainersOwnRecords) {
    TestNetwork net = create_network();
    Sleeper alpha = sleeper({"--network", net.name, "--name", "alpha"}, "ip -4 addr show eth0");
    ASSERT_TRUE(alpha.ready()) << alpha.out();
    Strings a_ip = inet_addresses(alpha.out());
    ASSERT_EQ(a_ip.size(), 1u) << alpha.out();
    Strings ids = roots_.container_ids();
    ASSERT_EQ(ids.size(), 1u);
    struct Fifo {
        std::string path, saved;
        Fifo(std::string p, bool keep) : path(std::move(p)) {
            if (keep) {
                saved = path + ".saved";
                EXPECT_EQ(::rename(path.c_str(), saved.c_str()), 0) << path;
            }
            EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
        }
        ~Fifo() {
            ::unlink(path.c_str());
            if (!saved.empty()) ::rename(saved.c_str(), path.c_str());
        }
    };
    {
        Fifo other(roots_.data_root() + "/networks/" + net.name + "/endpoints/" + net.host(200), false);
        Result r = roots_.hutch({"inspect", "-f", "{{.NetworkSettings.Networks}}", "alpha"}, {}, 5s);
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_NE(r.out.find(a_ip[0]), std::string::npos) << r.out;
    }
    {
        Fifo config(roots_.data_root() + "/containers/" + ids[0] + "/config.json", true);
        Result r = roots_.hutch({"ps", "--format", "{{.Names}} {{.Networks}}"}, {}, 5s);
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, "alpha " + net.name + "\n");
    }
    EXPECT_EXIT_CODE(alpha.stop(), 0);
}

// --- none, the default bridge, container:, host ------------------------------------------

TEST_F(NetworkIntegration, NoneHasOnlyLoopbackAndItIsUp) {
    Result r = sh({"--network", "none"},
                  "ls /sys/class/net; echo @; cat /sys/class/net/lo/flags; echo @; ip route; echo @; "
                  "ip -4 addr show lo | grep -c 'inet 127.0.0.1/8'");
    ASSERT_EXIT_CODE(r, 0);
    auto parts = split_lines(r.out);
    ASSERT_EQ(parts.size(), 6u) << describe(r);
    EXPECT_EQ(parts[0], "lo");
    unsigned long flags = std::stoul(parts[2], nullptr, 16);
    EXPECT_TRUE(flags & 0x1) << "lo must be up: flags " << parts[2];
    EXPECT_EQ(parts[4], "@") << "no route besides loopback's\n" << r.out;
    EXPECT_EQ(parts[5], "1");
}

TEST_F(NetworkIntegration, DefaultBridgeGivesAnAddressARouteAndAReachableGateway) {
    Cidr subnet = default_bridge_subnet();
    std::string gw = ip_str(default_gateway());
    Result r = sh({}, "ls /sys/class/net; echo @; ip -4 addr show eth0; echo @; ip route show default; "
                      "ping -c1 -W1 " + gw + " >/dev/null && echo gateway-reached");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out.substr(0, r.out.find('@')), "eth0\nlo\n") << r.out;
    Strings ips = inet_addresses(r.out);
    ASSERT_EQ(ips.size(), 1u) << r.out;
    auto ip = parse_ip(ips[0]);
    EXPECT_TRUE(subnet.contains(*ip)) << ips[0] << " not in " << cidr_str(subnet);
    EXPECT_NE(ips[0], gw);
    EXPECT_NE(r.out.find("inet " + ips[0] + "/" + std::to_string(subnet.prefix)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("default via " + gw + " dev eth0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("gateway-reached\n"), std::string::npos) << r.out;
    // The bridge is the harness's own and stays until its network is removed.
    EXPECT_NE(hutch::net::link_index(roots_.bridge()), 0) << roots_.bridge();
    // No NAT, so nothing is routed off a hutch bridge, whatever the host's ip_forward says.
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/conf/" + roots_.bridge() + "/forwarding"), "0\n");
}

TEST_F(NetworkIntegration, ContainerModeSharesTheTargetsNamespaceAndInterfaces) {
    const std::string view =
        "readlink /proc/self/ns/net; ls /sys/class/net; ip -4 addr show eth0 | grep inet; cat /etc/hosts /etc/resolv.conf";
    Sleeper target = sleeper({"--name", "tgt"}, "echo @@view@@; " + view + "; echo @@end@@");
    ASSERT_TRUE(target.ready()) << target.out();
    std::string out = target.out();
    auto b = out.find("@@view@@\n"), e = out.find("@@end@@");
    ASSERT_TRUE(b != std::string::npos && e != std::string::npos) << out;
    std::string target_view = out.substr(b + 9, e - b - 9);
    ASSERT_NE(target_view.find("net:["), std::string::npos) << target_view;

    Result joined = sh({"--network", "container:tgt"}, view);
    EXPECT_EXIT_CODE(joined, 0);
    EXPECT_EQ(joined.out, target_view);
    EXPECT_NE(split_lines(joined.out).at(0), ns_link("net")) << "not the host's namespace";
    // A container joining a joiner: the same namespace and files (the chain is followed to the
    // container that has them, as Docker's joiners take their target's paths).
    Sleeper middle = sleeper({"--name", "mid", "--network", "container:tgt"}, "echo ready");
    ASSERT_TRUE(middle.ready()) << middle.out();
    Result second = sh({"--network", "container:mid"}, view);
    EXPECT_EXIT_CODE(second, 0);
    EXPECT_EQ(second.out, target_view);
    EXPECT_EXIT_CODE(middle.stop(), 0);
    EXPECT_EXIT_CODE(target.stop(), 0);
}

TEST_F(NetworkIntegration, HostModeSeesTheHostsNetworkAndFiles) {
    auto before = links_on_host();
    Result r = sh({"--network", "host", "--add-host", "extra.example:10.3.3.3"},
                  "readlink /proc/self/ns/net; echo @@sep@@; ls /sys/class/net; echo @@sep@@; cat /etc/resolv.conf; "
                  "echo @@sep@@; cat /etc/hosts");
    auto after = links_on_host();
    ASSERT_EXIT_CODE(r, 0);
    Strings parts;
    std::string rest = r.out;
    for (std::size_t at; (at = rest.find("@@sep@@\n")) != std::string::npos; rest = rest.substr(at + 8))
        parts.push_back(rest.substr(0, at));
    parts.push_back(rest);
    ASSERT_EQ(parts.size(), 4u) << r.out;
    EXPECT_EQ(parts[0], ns_link("net") + "\n");
    // Links other tests add or remove meanwhile aside, the container lists the host's.
    std::set<std::string> inside;
    for (const auto& l : split_lines(parts[1])) inside.insert(l);
    for (const auto& link : before)
        if (after.count(link)) {
            EXPECT_TRUE(inside.count(link)) << link << " missing inside";
        }
    EXPECT_TRUE(inside.count("lo"));
    EXPECT_EQ(parts[2], read_file("/etc/resolv.conf")) << "--network host keeps the host's resolv.conf as it is";
    std::string host_hosts = read_file("/etc/hosts");
    if (!host_hosts.empty() && host_hosts.back() != '\n') host_hosts += '\n';
    EXPECT_EQ(parts[3], host_hosts + "10.3.3.3\textra.example\n");
}

// --- /etc/hosts ------------------------------------------------------------------------------

TEST_F(NetworkIntegration, HostsFileOnTheBridgeFollowsDockersOrder) {
    std::string gw = ip_str(default_gateway());
    Result r = sh({"-h", "web1", "--add-host", "a.example:10.1.2.3", "--add-host", "v6.example:[fd00::5]",
                   "--add-host", "eq.example=10.9.9.9", "--add-host", "gw.example:host-gateway",
                   "--add-host", "a.example:10.1.2.4"},
                  "ip -4 addr show eth0; echo @@hosts@@; cat /etc/hosts; echo @@mode@@; stat -c %a /etc/hosts");
    ASSERT_EXIT_CODE(r, 0);
    Strings ips = inet_addresses(r.out.substr(0, r.out.find("@@hosts@@")));
    ASSERT_EQ(ips.size(), 1u) << r.out;
    std::string hosts = r.out.substr(r.out.find("@@hosts@@\n") + 10);
    std::string mode = hosts.substr(hosts.find("@@mode@@\n") + 9);
    hosts = hosts.substr(0, hosts.find("@@mode@@"));
    EXPECT_EQ(hosts, std::string(kDockerHostsHead) +
                         "10.1.2.3\ta.example\n"
                         "fd00::5\tv6.example\n"
                         "10.9.9.9\teq.example\n" +
                         gw + "\tgw.example\n"
                         "10.1.2.4\ta.example\n" +
                         ips[0] + "\tweb1\n");
    EXPECT_EQ(mode, "644\n");
}

TEST_F(NetworkIntegration, HostGatewayIsTheUserNetworksGateway) {
    TestNetwork net = create_network();
    // The peers' refresh rewrites this file from the endpoint record: it must hold the
    // gateway's address, never the literal "host-gateway".
    Result r = sh(with(kNoDns, {"--network", net.name, "--add-host", "hg:host-gateway"}),
                  "grep -w hg /etc/hosts; grep -q '^" + ip_str(net.gateway) +
                      "\thg$' /etc/hosts && ping -c1 -W1 hg >/dev/null && echo reached");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, ip_str(net.gateway) + "\thg\nreached\n");
}

TEST_F(NetworkIntegration, ReadOnlyRootStillGetsTheFiles) {
    Result r = sh({"--read-only", "-h", "ro1", "--add-host", "x.example:10.4.4.4"},
                  "grep -c x.example /etc/hosts; grep -c ro1 /etc/hosts; cat /etc/hostname; grep -c nameserver /etc/resolv.conf");
    EXPECT_EXIT_CODE(r, 0);
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 4u) << describe(r);
    EXPECT_EQ(lines[0], "1");
    EXPECT_EQ(lines[1], "1");
    EXPECT_EQ(lines[2], "ro1");
    EXPECT_NE(lines[3], "0");
}

// --- /etc/resolv.conf --------------------------------------------------------------------------

TEST_F(NetworkIntegration, ResolvConfDefaultsToTheHostsWithoutLoopbackServers) {
    Result r = run({}, {"cat", "/etc/resolv.conf"});
    ASSERT_EXIT_CODE(r, 0);
    Resolv got = parse_resolv(r.out), want = expected_default_resolv();
    EXPECT_EQ(got.nameservers, want.nameservers) << r.out;
    EXPECT_EQ(got.search, want.search) << r.out;
    EXPECT_EQ(got.options, want.options) << r.out;
    for (const auto& s : got.nameservers) EXPECT_FALSE(loopback_server(s)) << s;
}

TEST_F(NetworkIntegration, DnsFlagsReplaceOnlyTheirKindOfLine) {
    Resolv host = expected_default_resolv();
    struct Case {
        Strings flags;
        Resolv want;
    };
    Resolv servers = host, search = host, dot = host, options = host;
    servers.nameservers = {"192.0.2.53", "2001:db8::53"};
    search.search = {"a.example", "b.example"};
    dot.search = {};
    options.options = {"ndots:2", "timeout:1"};
    const Case cases[] = {
        {{"--dns", "192.0.2.53", "--dns", "2001:db8::53"}, servers},
        {{"--dns-search", "a.example", "--dns-search", "b.example"}, search},
        {{"--dns-search", "."}, dot},
        {{"--dns-option", "ndots:2", "--dns-option", "timeout:1"}, options},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.flags[0]);
        Strings opts = {"--network", "none"};
        opts.insert(opts.end(), c.flags.begin(), c.flags.end());
        Result r = run(opts, {"cat", "/etc/resolv.conf"});
        ASSERT_EXIT_CODE(r, 0);
        Resolv got = parse_resolv(r.out);
        EXPECT_EQ(got.nameservers, c.want.nameservers) << r.out;
        EXPECT_EQ(got.search, c.want.search) << r.out;
        EXPECT_EQ(got.options, c.want.options) << r.out;
        if (c.flags[1] == ".") {
            EXPECT_EQ(r.out.find("search"), std::string::npos) << r.out;
        }
    }
}

TEST_F(NetworkIntegration, HostConfigDnsDefaultsApplyAndFlagsWin) {
    std::string path = roots_.base() + "/config.json";
    json config = json::parse(read_file(path));
    config["dns"] = {"192.0.2.10", "192.0.2.11"};
    config["dns-search"] = {"cfg.example"};
    config["dns-opts"] = {"ndots:3"};
    write_file(path, config.dump());
    Resolv host = expected_default_resolv();

    Result r = run({}, {"cat", "/etc/resolv.conf"});
    ASSERT_EXIT_CODE(r, 0);
    Resolv got = parse_resolv(r.out);
    EXPECT_EQ(got.nameservers, (Strings{"192.0.2.10", "192.0.2.11"})) << r.out;
    EXPECT_EQ(got.search, Strings{"cfg.example"}) << r.out;
    EXPECT_EQ(got.options, Strings{"ndots:3"}) << r.out;

    r = run({"--network", "none", "--dns", "192.0.2.20", "--dns-search", "flag.example"}, {"cat", "/etc/resolv.conf"});
    ASSERT_EXIT_CODE(r, 0);
    got = parse_resolv(r.out);
    EXPECT_EQ(got.nameservers, Strings{"192.0.2.20"}) << r.out;
    EXPECT_EQ(got.search, Strings{"flag.example"}) << r.out;
    EXPECT_EQ(got.options, Strings{"ndots:3"}) << "the config's options stay when no flag replaces them\n" << r.out;

    r = run({"--network", "none", "--dns-search", "."}, {"cat", "/etc/resolv.conf"});
    ASSERT_EXIT_CODE(r, 0);
    got = parse_resolv(r.out);
    EXPECT_EQ(got.search, Strings{}) << r.out;
    EXPECT_EQ(got.nameservers, (Strings{"192.0.2.10", "192.0.2.11"})) << r.out;
}

// --- addresses -------------------------------------------------------------------------------

TEST_F(NetworkIntegration, TwentyConcurrentStartsGetTwentyDistinctAddresses) {
    TestNetwork net = create_network();
    std::vector<Process> procs;
    for (int i = 0; i < 20; ++i)
        procs.push_back(start({"--network", net.name}, {"sh", "-c", "ip -4 addr show eth0; sleep 1"}));
    std::set<std::string> addresses;
    for (auto& p : procs) {
        Result r = p.wait(60s);
        EXPECT_EXIT_CODE(r, 0);
        Strings ips = inet_addresses(r.out);
        EXPECT_EQ(ips.size(), 1u) << r.out;
        for (const auto& ip : ips) {
            EXPECT_TRUE(net.subnet.contains(*parse_ip(ip))) << ip;
            EXPECT_NE(*parse_ip(ip), net.gateway) << ip;
            addresses.insert(ip);
        }
    }
    EXPECT_EQ(addresses.size(), 20u);
    EXPECT_EQ(roots_.leftovers(), Strings{}) << "every address claim is released";
}

TEST_F(NetworkIntegration, FixedIpIsHonouredAndTakenOrForeignOnesAreRefused) {
    TestNetwork net = create_network();
    std::string fixed = net.host(77);
    Sleeper holder = sleeper({"--network", net.name, "--ip", fixed}, "ip -4 addr show eth0");
    ASSERT_TRUE(holder.ready()) << holder.out();
    EXPECT_EQ(inet_addresses(holder.out()), Strings{fixed});
    auto claims_before = roots_.leftovers();
    auto ports_before = bridge_ports(net.bridge);
    EXPECT_EQ(ports_before.size(), 1u);

    const std::pair<std::string, int> cases[] = {
        {fixed, 125},                                     // taken
        {"10.199.255.77", 125},                           // outside the subnet
        {ip_str(net.gateway), 125},                       // the gateway
        {ip_str(net.subnet.base + 255), 125},             // the broadcast address
        {"10.1.2", 125},                                  // not an address
    };
    for (const auto& [ip, code] : cases) {
        SCOPED_TRACE(ip);
        Result r = run({"--network", net.name, "--ip", ip}, {"true"});
        EXPECT_EXIT_CODE(r, code);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(ip), std::string::npos) << describe(r);
        EXPECT_EQ(roots_.leftovers(), claims_before);
        EXPECT_EQ(bridge_ports(net.bridge), ports_before);
    }
    EXPECT_EXIT_CODE(holder.stop(), 0);
    // Freed: the address can be had again.
    Result again = run({"--network", net.name, "--ip", fixed}, {"sh", "-c", "ip -4 addr show eth0"});
    EXPECT_EXIT_CODE(again, 0);
    EXPECT_EQ(inet_addresses(again.out), Strings{fixed});
}

TEST_F(NetworkIntegration, FullPoolRefusesTheNextContainer) {
    TestNetwork net = create_network(30);  // .0 network, .1 gateway, .2 the one host, .3 broadcast
    ASSERT_FALSE(net.bridge.empty());
    Sleeper first = sleeper({"--network", net.name}, "ip -4 addr show eth0");
    ASSERT_TRUE(first.ready()) << first.out();
    EXPECT_EQ(inet_addresses(first.out()), Strings{net.host(2)});
    auto claims = roots_.leftovers();
    Result second = run({"--network", net.name}, {"true"});
    EXPECT_EXIT_CODE(second, 125);
    EXPECT_EQ(second.err_lines().size(), 1u) << describe(second);
    EXPECT_NE(second.err.find(net.name), std::string::npos) << describe(second);
    EXPECT_EQ(roots_.leftovers(), claims);
    EXPECT_EQ(bridge_ports(net.bridge).size(), 1u);
    EXPECT_EXIT_CODE(first.stop(), 0);
}

// --- network lifecycle ---------------------------------------------------------------------

TEST_F(NetworkIntegration, CreateLsInspectRm) {
    Cidr subnet = free_subnet(24);
    std::string name = unique_name("c");
    std::string gateway = ip_str(subnet.base + 254);
    Result c = roots_.hutch({"network", "create", "--subnet", cidr_str(subnet), "--gateway", gateway, name});
    if (c.code == 0) track(name);
    ASSERT_EXIT_CODE(c, 0);
    EXPECT_TRUE(std::regex_match(c.out, std::regex("[0-9a-f]{64}\n"))) << c.out;

    Result ls = roots_.hutch({"network", "ls"});
    EXPECT_EXIT_CODE(ls, 0);
    bool listed = false;
    for (const auto& line : split_lines(ls.out))
        if (line.find(" " + name + " ") != std::string::npos && line.find(cidr_str(subnet)) != std::string::npos)
            listed = true;
    EXPECT_TRUE(listed) << ls.out;
    // docker network ls's -q, --no-trunc and --format (fields .ID .Name .Driver .Scope
    // .Internal, and hutch's .Subnet and .Bridge).
    EXPECT_EQ(roots_.hutch({"network", "ls", "-q", "--no-trunc"}).out, trim(c.out) + "\n");
    EXPECT_EQ(roots_.hutch({"network", "ls", "-q"}).out, trim(c.out).substr(0, 12) + "\n");
    EXPECT_EQ(roots_.hutch({"network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.Subnet}}"}).out,
              name + " bridge local false " + cidr_str(subnet) + "\n");
    Strings table = split_lines(roots_.hutch({"network", "ls", "--format", "table {{.Name}}\\t{{.Driver}}"}).out);
    ASSERT_EQ(table.size(), 2u);
    EXPECT_EQ(table[0].rfind("NAME", 0), 0u) << table[0];
    EXPECT_EQ(table[0].find("DRIVER"), table[1].find("bridge")) << "columns line up";
    EXPECT_EQ(json::parse(roots_.hutch({"network", "ls", "--format", "json"}).out)["Name"], name);

    Result inspect = roots_.hutch({"network", "inspect", name});
    ASSERT_EXIT_CODE(inspect, 0);
    json j = json::parse(inspect.out);
    EXPECT_EQ(j[0]["Name"], name);
    EXPECT_EQ(j[0]["Id"], trim(c.out));
    EXPECT_EQ(j[0]["IPAM"]["Config"][0]["Subnet"], cidr_str(subnet));
    EXPECT_EQ(j[0]["IPAM"]["Config"][0]["Gateway"], gateway);
    std::string bridge = j[0]["Options"]["com.docker.network.bridge.name"];
    EXPECT_NE(hutch::net::link_index(bridge), 0) << bridge;

    // A container on it routes through the chosen gateway.
    Result r = sh({"--network", name}, "ip route show default; ping -c1 -W1 " + gateway + " >/dev/null && echo ok");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("default via " + gateway + " dev eth0"), std::string::npos) << r.out;

    Result rm = roots_.hutch({"network", "rm", name});
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_EQ(hutch::net::link_index(bridge), 0) << "the bridge goes with its network";
    EXPECT_EXIT_CODE(roots_.hutch({"network", "inspect", name}), 125);
}

TEST_F(NetworkIntegration, LsListsNetworksByName) {
    // As docker network ls does; the store's directory order changes from run to run (four
    // networks: a directory order that happens to be sorted is one chance in 24).
    for (int i = 0; i < 4; ++i) create_network();
    Strings names = split_lines(roots_.hutch({"network", "ls", "--format", "{{.Name}}"}).out);
    ASSERT_EQ(names.size(), 4u);
    Strings sorted = names;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(names, sorted);
}

TEST_F(NetworkIntegration, RmIsRefusedWhileAContainerUsesTheNetwork) {
    TestNetwork net = create_network();
    Sleeper user = sleeper({"--network", net.name});
    ASSERT_TRUE(user.ready()) << user.out();
    Result refused = roots_.hutch({"network", "rm", net.name});
    EXPECT_EXIT_CODE(refused, 125);
    EXPECT_EQ(refused.err_lines().size(), 1u) << describe(refused);
    EXPECT_NE(refused.err.find(net.name), std::string::npos) << describe(refused);
    EXPECT_NE(hutch::net::link_index(net.bridge), 0) << "the bridge stays while in use";
    EXPECT_EXIT_CODE(roots_.hutch({"network", "inspect", net.name}), 0);
    EXPECT_EXIT_CODE(user.stop(), 0);
    EXPECT_EXIT_CODE(roots_.hutch({"network", "rm", net.name}), 0);
    EXPECT_EQ(hutch::net::link_index(net.bridge), 0);
}

TEST_F(NetworkIntegration, NothingIsLeftAfterContainersAndNetworksAreRemoved) {
    TestNetwork net = create_network();
    // The host end of a container's pair is "veth" + the first 11 hex digits of its id, and
    // the default hostname is the first 12: each container names its own veth.
    Sleeper a = sleeper({"--network", net.name}, "hostname");
    ASSERT_TRUE(a.ready()) << a.out();
    std::string a_veth = "veth" + split_lines(a.out()).at(0).substr(0, 11);
    EXPECT_NE(hutch::net::link_index(a_veth), 0) << a_veth << " while the container runs";
    EXPECT_EQ(bridge_ports(net.bridge), Strings{a_veth});
    Result b = run({"--network", net.name}, {"hostname"});
    Result c = run({}, {"hostname"});
    ASSERT_EXIT_CODE(b, 0);
    ASSERT_EXIT_CODE(c, 0);
    EXPECT_EXIT_CODE(a.stop(), 0);
    Strings veths = {a_veth, "veth" + trim(b.out).substr(0, 11), "veth" + trim(c.out).substr(0, 11)};

    EXPECT_EXIT_CODE(roots_.hutch({"network", "rm", net.name}), 0);
    EXPECT_EXIT_CODE(roots_.hutch({"network", "rm", "bridge"}), 0);
    for (const auto& v : veths)
        EXPECT_TRUE(eventually([&] { return hutch::net::link_index(v) == 0; })) << v << " is still on the host";
    EXPECT_EQ(hutch::net::link_index(net.bridge), 0) << net.bridge;
    EXPECT_EQ(hutch::net::link_index(roots_.bridge()), 0) << roots_.bridge();
    EXPECT_EQ(roots_.leftovers(), Strings{});
    Result ls = roots_.hutch({"network", "ls"});
    EXPECT_EQ(ls.out.find(net.name), std::string::npos) << ls.out;
    EXPECT_EQ(host_mountinfo().find(roots_.base()), std::string::npos) << "no namespace or file stays mounted";
    EXPECT_EQ(own_children(), std::vector<pid_t>{});
}

// --- bad input -----------------------------------------------------------------------------

struct BadRun {
    const char* label;
    Strings opts;      // before --rm ROOTFS true
    std::string names;  // the error line names this
};
std::ostream& operator<<(std::ostream& os, const BadRun& b) { return os << b.label; }

const BadRun kBadRuns[] = {
    {"AddHostWithoutColon", {"--add-host", "nocolon"}, "nocolon"},
    {"AddHostBadIp", {"--add-host", "h:10.0.0.300"}, "10.0.0.300"},
    {"AddHostEmptyIp", {"--add-host", "h:"}, "h:"},
    {"AddHostNewlineInName", {"--add-host", "a\nb:10.1.1.1"}, "add-host"},
    {"AddHostSpaceInName", {"--add-host", "a b:10.1.1.1"}, "a b"},
    {"AddHostTabInName", {"--add-host", "a\tb:10.1.1.1"}, "add-host"},
    {"BadDns", {"--dns", "10.1.1"}, "10.1.1"},
    {"DnsHostname", {"--dns", "dns.example"}, "dns.example"},
    {"DnsSearchWithSpace", {"--dns-search", "a.example b.example"}, "a.example b.example"},
    {"DnsSearchLongLabel", {"--dns-search", std::string(64, 'x') + ".example"}, std::string(64, 'x')},
    {"DnsOptionWithNewline", {"--dns-option", "ndots:1\nnameserver 6.6.6.6"}, "dns-option"},
    {"UnknownNetwork", {"--network", "no-such-network-xyz"}, "no-such-network-xyz"},
    {"ContainerModeNoSuchContainer", {"--network", "container:ghost-xyz"}, "ghost-xyz"},
    {"IpOnTheDefaultBridge", {"--ip", "10.250.0.5"}, "10.250.0.5"},
};

class NetworkBadRunIntegration : public HutchTest, public ::testing::WithParamInterface<BadRun> {};

TEST_P(NetworkBadRunIntegration, Exits125WithOneLineAndCreatesNothing) {
    const BadRun& bad = GetParam();
    auto links_before = links_on_host();
    Result r = run(bad.opts, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.out, "");
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << describe(r);
    EXPECT_EQ(lines[0].rfind("hutch: ", 0), 0u) << lines[0];
    EXPECT_NE(r.err.find(bad.names), std::string::npos) << "must name " << bad.names << "\n" << describe(r);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    EXPECT_EQ(bridge_ports(roots_.bridge()), Strings{}) << "no veth on the default bridge";
    EXPECT_EQ(own_children(), std::vector<pid_t>{});
    // No veth named after a container of this test appeared (a veth's name has its id).
    for (const auto& id : roots_.container_ids())
        EXPECT_EQ(links_on_host().count("veth" + id.substr(0, 11)), 0u) << id;
    reap_leftover_children();
}

INSTANTIATE_TEST_SUITE_P(Run, NetworkBadRunIntegration, ::testing::ValuesIn(kBadRuns),
                         [](const ::testing::TestParamInfo<BadRun>& p) { return std::string(p.param.label); });

TEST_F(NetworkIntegration, ContainerModeRefusesAnExitedContainer) {
    Result made = run_raw({"--name", "exited", "--network", "none", rootfs_, "true"});
    ASSERT_EXIT_CODE(made, 0);
    Result r = run({"--network", "container:exited"}, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("exited"), std::string::npos) << describe(r);
    EXPECT_EQ(roots_.container_ids().size(), 1u) << "only the exited one";
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "exited"}), 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

// `network create` refusals: exit 125, one line naming the value, no network recorded.
TEST_F(NetworkIntegration, CreateRefusesBadSubnetsNamesAndOverlaps) {
    TestNetwork existing = create_network();
    ASSERT_FALSE(existing.bridge.empty());
    Cidr half{existing.subnet.base + 128, 25};

    struct Case {
        std::string label;
        Strings args;
        std::string names;
    };
    std::vector<Case> cases = {
        {"prefix 33", {"--subnet", "10.203.0.0/33"}, "10.203.0.0/33"},
        {"host bits", {"--subnet", "10.203.0.9/24"}, "10.203.0.9/24"},
        {"bad octet", {"--subnet", "10.300.0.0/24"}, "10.300.0.0/24"},
        {"no prefix", {"--subnet", "10.203.0.0"}, "10.203.0.0"},
        {"words", {"--subnet", "not-a-subnet"}, "not-a-subnet"},
        {"gateway outside", {"--subnet", cidr_str(free_subnet(24)), "--gateway", "10.199.0.1"}, "10.199.0.1"},
        {"same subnet", {"--subnet", existing.subnet_str()}, existing.name},
        {"overlapping subnet", {"--subnet", cidr_str(half)}, existing.name},
        // Before any container has made the default bridge: its range is taken all the same,
        // or every default-network container would fail to start after this network.
        {"inside the default bridge's range", {"--subnet", cidr_str(Cidr{default_bridge_subnet().base, 24})}, "\"bridge\""},
    };
    // One of the host's own routes (not a hutch bridge's), as /proc/net/route has it.
    for (const auto& route : host_routes()) {
        if (route.iface.rfind("hut", 0) == 0) continue;
        if (route.cidr.prefix < 8 || route.cidr.prefix > 30) continue;
        cases.push_back({"host route on " + route.iface, {"--subnet", cidr_str(route.cidr)}, cidr_str(route.cidr)});
        break;
    }
    EXPECT_GE(cases.size(), 10u) << "this host has no route of its own to overlap (see /proc/net/route)";
    for (auto& c : cases) c.args.push_back(unique_name("bad"));
    cases.push_back({"taken name", {"--subnet", cidr_str(free_subnet(24)), existing.name}, existing.name});
    for (const char* name : {"bad/name", "-dash", "_under", "has space", "a\nb", "host", "none", "bridge"})
        cases.push_back({std::string("name ") + name, {"--subnet", cidr_str(free_subnet(24)), "--", name},
                         std::string(name) == "a\nb" ? "name" : name});

    Result ls_before = roots_.hutch({"network", "ls"});
    for (const auto& c : cases) {
        SCOPED_TRACE(c.label);
        Strings args = {"network", "create"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        Result r = roots_.hutch(args);
        if (r.code == 0) track(c.args.back());
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(c.names), std::string::npos) << "must name " << c.names << "\n" << describe(r);
        EXPECT_EQ(roots_.hutch({"network", "ls"}).out, ls_before.out);
    }
}


// Containers that claim their addresses before one another announces (concurrent starts on one
// network): each one's /etc/hosts names every other exactly once, whatever the order of their
// announces. Before, a container announcing after a peer had only claimed named it in its
// file, and the peer then appended its line to that file too. NetworkStore itself, in a child
// process in a network namespace of its own (the bridge it makes goes with it), so the
// interleaving is the test's and not a race's.
TEST(NetworkHostsOrder, ContainersAnnouncingInAnyOrderNameEachOtherOnce) {
    char dir_template[] = "/tmp/hutch-it.hosts.XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string base = dir_template;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto fail = [](const std::string& why) {
            std::fprintf(stderr, "%s\n", why.c_str());
            ::_exit(1);
        };
        if (::unshare(CLONE_NEWNET) != 0) fail(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
        try {
            hutch::net::BridgeDefaults defaults;
            defaults.bridge = "hbo" + std::to_string(::getpid());
            defaults.bip = "10.201.7.1/24";
            defaults.firewall = false;
            defaults.ip_forward = false;
            hutch::net::NetworkStore store(base + "/data", defaults, [](const std::string&) { return true; });
            hutch::net::NetworkOptions options;
            options.subnet = "10.201.8.0/24";
            const hutch::net::NetworkConfig network = store.create("order", options);
            auto hosts = [&base](const std::string& id) { return base + "/" + id.substr(0, 12) + ".hosts"; };
            std::vector<hutch::net::Claim> claims;
            for (char c : {'a', 'b', 'c', 'd'}) {
                hutch::net::Endpoint e;
                e.container_id = std::string(64, c);
                e.container_name = std::string("box-") + c;
                e.hostname = e.container_id.substr(0, 12);
                std::ofstream(hosts(e.container_id)).close();  // as write_etc_files leaves it
                claims.push_back(store.attach(network, e, ""));
            }
            // d is an older hutch's container: its record has no "Announced", and it announced at
            // its start (what an older hutch wrote into its file is left out here).
            const std::string record = base + "/data/networks/order/endpoints/" + claims[3].endpoint.address.str();
            nlohmann::json old_record = nlohmann::json::parse(read_file(record));
            if (old_record.erase("Announced") != 1) fail("a claim's record has no \"Announced\": " + old_record.dump());
            std::ofstream(record) << old_record.dump() << "\n";
            // All four claimed; then c announces, then a, then b (the last start to get there).
            for (int i : {2, 0, 1}) store.announce(network, claims[static_cast<std::size_t>(i)].endpoint, hosts);
            for (const auto& self : claims)
                for (const auto& peer : claims) {
                    if (&self == &peer) continue;
                    std::ifstream in(hosts(self.endpoint.container_id));
                    int lines = 0;
                    for (std::string line; std::getline(in, line);)
                        if (line.find(peer.endpoint.container_id.substr(0, 12)) != std::string::npos) ++lines;
                    if (lines != 1)
                        fail(self.endpoint.container_name + "'s /etc/hosts names " + peer.endpoint.container_name + " " +
                             std::to_string(lines) + " times");
                }
        } catch (const std::exception& e) {
            fail(e.what());
        }
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    std::error_code ignored;
    std::filesystem::remove_all(base, ignored);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
}  // namespace hutch_it
