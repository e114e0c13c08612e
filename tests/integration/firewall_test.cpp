// hutch's firewall (netns/firewall.hpp): outbound NAT, isolation between networks, --internal,
// as a peer outside the machine sees them. Never on the machine's own firewall: each test makes
// a network namespace that plays the host (hutch runs in it through nsenter, so its bridges,
// nftables table and ip_forward are that namespace's) and one that plays the outside world,
// joined by a veth with TEST-NET-2 addresses; a server there answers every connection with the
// address it came from. The machine's own ruleset and forwarding sysctls are compared before
// and after every test.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "image_archives.hpp"

namespace hutch_it {
namespace {

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kNft = "/usr/sbin/nft";
constexpr const char* kNsenter = "/usr/bin/nsenter";
constexpr const char* kUplink = "198.51.100.1";   // the "host"'s address toward the outside
constexpr const char* kOutside = "198.51.100.2";  // the outside server

// What of the machine's own network state a test could change: its forwarding sysctls and its
// ruleset (without counters and set contents, which others' traffic changes). Its links come
// and go with the tests running beside this one: TearDown looks for this test's own instead.
std::string machine_state() {
    std::string state = read_file("/proc/sys/net/ipv4/ip_forward") + read_file("/proc/sys/net/ipv4/conf/all/forwarding");
    if (::access(kNft, X_OK) == 0) state += run_command({kNft, "-s", "list", "ruleset"}).out;
    return state;
}

class FirewallIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        for (const char* tool : {kIp, kNft, kNsenter, "/usr/bin/python3"})
            if (::access(tool, X_OK) != 0) GTEST_SKIP() << tool << " is not installed (scripts/setup installs it)";
        machine_before_ = machine_state();
        const std::string tag = std::to_string(::getpid());
        tag_ = tag;
        host_ = "hutch-fwh-" + tag;
        outside_ = "hutch-fwo-" + tag;
        ASSERT_TRUE(ip({"netns", "add", host_}));
        made_host_ = true;
        ASSERT_TRUE(ip({"netns", "add", outside_}));
        made_outside_ = true;
        const std::string up = "fwu" + tag, out = "fwo" + tag;
        ASSERT_TRUE(ip({"link", "add", up, "netns", host_, "type", "veth", "peer", "name", out, "netns", outside_}));
        ASSERT_TRUE(ip({"-n", host_, "addr", "add", std::string(kUplink) + "/24", "dev", up}));
        ASSERT_TRUE(ip({"-n", outside_, "addr", "add", std::string(kOutside) + "/24", "dev", out}));
        for (const auto& [ns, dev] : {std::pair{host_, up}, {outside_, out}, {host_, std::string("lo")}, {outside_, std::string("lo")}}) {
            ASSERT_TRUE(ip({"-n", ns, "link", "set", dev, "up"}));
        }
        // A new namespace may inherit the machine's forwarding (devconf_inherit_init_net): start at 0.
        ASSERT_EXIT_CODE(run_command({kNsenter, "--net=/run/netns/" + host_, "/bin/sh", "-c",
                                      "echo 0 > /proc/sys/net/ipv4/ip_forward"}),
                         0);
        // The server outside: every connection gets back the address it came from.
        server_ = std::make_unique<Process>(Process::spawn(
            {kNsenter, "--net=/run/netns/" + outside_, "/usr/bin/python3", "-c",
             "import socket\n"
             "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "s.bind(('" + std::string(kOutside) + "', 8080)); s.listen(16); print('listening', flush=True)\n"
             "while True:\n"
             "    c, a = s.accept(); c.sendall((a[0] + '\\n').encode()); c.close()\n"}));
        ASSERT_TRUE(server_->wait_for_output("listening", std::chrono::seconds(10))) << server_->err_so_far();
        // hutch with its firewall, as a machine without a host config has it.
        write_file(roots_.base() + "/config.json", "{\"bridge\": \"" + roots_.bridge() + "\", \"bip\": \"10.66.0.1/24\"}\n");
    }

    void TearDown() override {
        if (made_host_) {
            for (const auto& id : roots_.container_ids()) hutch({"rm", "-f", id});
            ip({"netns", "del", host_});  // its bridges, veths and table go with it
        }
        if (made_outside_) ip({"netns", "del", outside_});
        server_.reset();
        if (!machine_before_.empty()) {
            EXPECT_EQ(machine_state(), machine_before_) << "the machine's own network state changed";
            const std::string links = run_command({kIp, "-br", "link"}).out;
            EXPECT_EQ(links.find(tag_), std::string::npos) << "a link of this test is on the machine:\n" << links;
        }
    }

    bool ip(const Strings& args) {
        Strings argv = {kIp};
        argv.insert(argv.end(), args.begin(), args.end());
        Result r = run_command(argv);
        EXPECT_EQ(r.code, 0) << describe(r);
        return r.code == 0;
    }
    // hutch, in the namespace playing the host.
    Result hutch(const Strings& args) {
        Strings argv = {kNsenter, "--net=/run/netns/" + host_, hutch_binary()};
        for (const auto& a : roots_.hutch_args(args)) argv.push_back(a);
        return run_command(argv);
    }
    // What the outside server says of a connection from a container started with `opts`.
    Result connect_out(const Strings& opts) {
        Strings args = {"run", "--rm"};
        args.insert(args.end(), opts.begin(), opts.end());
        for (const auto& a : Strings{rootfs_, "nc", "-w", "2", kOutside, "8080"}) args.push_back(a);
        return hutch(args);
    }
    // A TCP connection from the outside namespace; what the peer sent.
    Result outside_connect(const std::string& address, int port) {
        return run_command({kNsenter, "--net=/run/netns/" + outside_, rootfs_ + "/bin/busybox", "nc", "-w", "2", address,
                            std::to_string(port)});
    }
    // The same from the namespace playing the host.
    Result host_connect(const std::string& address, int port) {
        return run_command({kNsenter, "--net=/run/netns/" + host_, rootfs_ + "/bin/busybox", "nc", "-w", "2", address,
                            std::to_string(port)});
    }
    // A detached server on `opts`' network answering "hello" on port 80, and ready.
    void start_server(const std::string& name, const Strings& opts) {
        Strings args = {"run", "-d", "--name", name};
        args.insert(args.end(), opts.begin(), opts.end());
        for (const auto& a : Strings{rootfs_, "nc", "-ll", "-p", "80", "-e", "/bin/echo", "hello"}) args.push_back(a);
        ASSERT_EXIT_CODE(hutch(args), 0);
        // Ready once its nc listens: the container's own port, from inside.
        for (int i = 0; i < 50; ++i) {
            if (hutch({"exec", name, "sh", "-c", "netstat -ltn | grep -q ':80 '"}).code == 0) return;
            ::usleep(100 * 1000);
        }
        FAIL() << "the server in " << name << " never listened";
    }
    std::string host_ruleset() {
        return run_command({kNsenter, "--net=/run/netns/" + host_, kNft, "list", "ruleset"}).out;
    }
    // For a failure's message: the "host"'s links, routes and rules.
    std::string diagnosis() {
        std::string out;
        for (const Strings& args : {Strings{kIp, "-n", host_, "-br", "addr"}, Strings{kIp, "-n", host_, "route"},
                                    Strings{kIp, "-n", outside_, "-br", "addr"}})
            out += run_command(args).out;
        return out + host_ruleset() + "ip_forward=" + host_sysctl("ip_forward");
    }
    std::string host_sysctl(const std::string& name) {
        return trim(run_command({kNsenter, "--net=/run/netns/" + host_, "/bin/cat", "/proc/sys/net/ipv4/" + name}).out);
    }

    std::string host_, outside_, machine_before_, tag_;
    bool made_host_ = false, made_outside_ = false;
    std::unique_ptr<Process> server_;
};

TEST_F(FirewallIntegration, OutboundTrafficIsMasqueradedToTheUplinkAddress) {
    ASSERT_EQ(host_sysctl("ip_forward"), "0");
    Result r = connect_out({});
    ASSERT_EXIT_CODE(r, 0) << diagnosis();
    EXPECT_EQ(r.out, std::string(kUplink) + "\n") << "the outside saw the container's own address, not the host's";
    // hutch turned forwarding on, and with it the guard that forwards nothing but its bridges.
    EXPECT_EQ(host_sysctl("ip_forward"), "1");
    std::string rules = host_ruleset();
    EXPECT_NE(rules.find("iifname != @bridges oifname != @bridges drop"), std::string::npos) << rules;
    EXPECT_NE(rules.find("iifname \"" + roots_.bridge() + "\" oifname != \"" + roots_.bridge() + "\" masquerade"),
              std::string::npos) << rules;
    // A user-defined network gets the same.
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.67.0.0/24", "outbound"}), 0);
    r = connect_out({"--network", "outbound"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, std::string(kUplink) + "\n");
}

TEST_F(FirewallIntegration, NetworksCannotReachEachOther) {
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.68.0.0/24", "fwa"}), 0);
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.69.0.0/24", "fwb"}), 0);
    start_server("server", {"--network", "fwa", "--ip", "10.68.0.10"});
    auto ask = [&](const std::string& network) {
        return hutch({"run", "--rm", "--network", network, rootfs_, "nc", "-w", "1", "10.68.0.10", "80"});
    };
    Result same = ask("fwa");
    for (int i = 0; i < 20 && same.out != "hello\n"; ++i) same = ask("fwa");  // the server's first listen
    EXPECT_EQ(same.out, "hello\n") << describe(same);
    // fwb's containers do get out (forwarding is on), yet not into fwa: dropped, not refused.
    EXPECT_EQ(connect_out({"--network", "fwb"}).out, std::string(kUplink) + "\n");
    Result other = ask("fwb");
    EXPECT_NE(other.code, 0) << "a container of another network reached it:\n" << describe(other);
    EXPECT_EQ(other.out, "");
    EXPECT_NE(other.err.find("timed out"), std::string::npos) << describe(other);
    // Nor does the outside, even with a route to the network.
    ASSERT_TRUE(ip({"-n", outside_, "route", "add", "10.68.0.0/24", "via", kUplink}));
    Result outside = outside_connect("10.68.0.10", 80);
    EXPECT_NE(outside.code, 0) << describe(outside);
    Result from_default = ask("bridge");
    EXPECT_NE(from_default.code, 0) << "the default network reached it:\n" << describe(from_default);
}

TEST_F(FirewallIntegration, InternalNetworkHasNoWayOut) {
    // The host forwards first (the default network's start turns it on, and with it every
    // interface's forwarding), and the outside has a route back: only the rules can stop it.
    EXPECT_EQ(connect_out({}).out, std::string(kUplink) + "\n");
    ASSERT_EXIT_CODE(hutch({"network", "create", "--internal", "--subnet", "10.70.0.0/24", "closed"}), 0);
    ASSERT_TRUE(ip({"-n", outside_, "route", "add", "10.70.0.0/24", "via", kUplink}));
    // hutch keeps an internal bridge from forwarding; say something turned it on (a later
    // ip_forward write by another tool does): the rules alone must hold.
    std::string bridge = nlohmann::json::parse(hutch({"network", "inspect", "closed"}).out)[0]["Options"]
                             ["com.docker.network.bridge.name"];
    EXPECT_EQ(host_sysctl("conf/" + bridge + "/forwarding"), "0");
    ASSERT_EXIT_CODE(run_command({kNsenter, "--net=/run/netns/" + host_, "/bin/sh", "-c",
                                  "echo 1 > /proc/sys/net/ipv4/conf/" + bridge + "/forwarding"}),
                     0);
    // Even with a route of its own to the outside, nothing leaves.
    Result closed = hutch({"run", "--rm", "--network", "closed", "--cap-add", "NET_ADMIN", rootfs_, "sh", "-c",
                           "ip route; ip route add default via 10.70.0.1; nc -w 2 " + std::string(kOutside) + " 8080"});
    EXPECT_NE(closed.code, 0) << describe(closed);
    EXPECT_EQ(closed.out.find("default"), std::string::npos) << "Docker gives an internal network no default route:\n"
                                                             << closed.out;
    EXPECT_EQ(closed.out.find(kOutside), std::string::npos) << closed.out;
    nlohmann::json j = nlohmann::json::parse(hutch({"network", "inspect", "closed"}).out)[0];
    EXPECT_EQ(j["Internal"], true);
    EXPECT_EQ(j["Firewall"]["Present"], true);
}

TEST_F(FirewallIntegration, WithoutMasqueradeTheOutsideSeesTheContainer) {
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.71.0.0/24", "-o",
                            "com.docker.network.bridge.enable_ip_masquerade=false", "routed"}),
                     0);
    // The outside needs a route back to the containers' subnet: then it sees their own address.
    ASSERT_TRUE(ip({"-n", outside_, "route", "add", "10.71.0.0/24", "via", kUplink}));
    Result r = connect_out({"--network", "routed", "--ip", "10.71.0.9"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "10.71.0.9\n");
}

TEST_F(FirewallIntegration, RulesGoWithTheNetworkAndComeBackAfterAFlush) {
    EXPECT_EQ(connect_out({}).out, std::string(kUplink) + "\n");
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.72.0.0/24", "brief"}), 0);
    std::string bridge = nlohmann::json::parse(hutch({"network", "inspect", "brief"}).out)[0]["Options"]
                             ["com.docker.network.bridge.name"];
    EXPECT_NE(host_ruleset().find("bridge " + bridge), std::string::npos);
    ASSERT_EXIT_CODE(hutch({"network", "rm", "brief"}), 0);
    std::string after = host_ruleset();
    EXPECT_EQ(after.find(bridge), std::string::npos) << "rules of a removed network are left:\n" << after;
    // As `nft flush ruleset` (a reload of the host's firewall) does: the table is gone, ip_forward
    // stays on. The next start puts back the rules and the guard of the forwarding hutch began.
    ASSERT_EXIT_CODE(run_command({kNsenter, "--net=/run/netns/" + host_, kNft, "flush", "ruleset"}), 0);
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.73.0.0/24", "later"}), 0);
    std::string rebuilt = host_ruleset();
    EXPECT_NE(rebuilt.find("iifname != @bridges oifname != @bridges drop"), std::string::npos) << rebuilt;
    EXPECT_NE(rebuilt.find("bridge " + roots_.bridge()), std::string::npos)
        << "the default network's rules come back with the table:\n" << rebuilt;
    EXPECT_EQ(connect_out({}).out, std::string(kUplink) + "\n");
}

TEST_F(FirewallIntegration, IptablesFalseMakesNoRules) {
    write_file(roots_.base() + "/config.json", "{\"bridge\": \"" + roots_.bridge() +
                                                   "\", \"bip\": \"10.66.0.1/24\", \"iptables\": false, \"ip-forward\": false}\n");
    Result r = connect_out({});
    EXPECT_NE(r.code, 0) << "without NAT or forwarding nothing gets out:\n" << describe(r);
    EXPECT_EQ(host_ruleset(), "");
    EXPECT_EQ(host_sysctl("ip_forward"), "0");
}

TEST_F(FirewallIntegration, BadNetworkOptionsAreOneLineAndLeaveNothing) {
    for (const auto& option : Strings{"com.docker.network.bridge.enable_ip_masquerade=maybe", "com.example.unknown=1"}) {
        Result r = hutch({"network", "create", "-o", option, "refused"});
        EXPECT_EXIT_CODE(r, 125);
        ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(option), std::string::npos) << describe(r);
    }
    EXPECT_EQ(hutch({"network", "ls"}).out.find("refused"), std::string::npos);
    EXPECT_EQ(host_ruleset(), "");
}

// enable_icc=false: containers of the network cannot reach each other, yet each reaches the
// outside, and the host reaches their published ports. Another network with the default keeps
// its containers talking.
TEST_F(FirewallIntegration, IccFalseCutsContainersOfOneNetworkApart) {
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.74.0.0/24", "-o",
                            "com.docker.network.bridge.enable_icc=false", "apart"}),
                     0);
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.75.0.0/24", "together"}), 0);
    start_server("lonely", {"--network", "apart", "--ip", "10.74.0.10", "-p", "8090:80"});
    start_server("friendly", {"--network", "together", "--ip", "10.75.0.10"});
    Result cut = hutch({"run", "--rm", "--network", "apart", rootfs_, "nc", "-w", "1", "10.74.0.10", "80"});
    EXPECT_NE(cut.code, 0) << describe(cut);
    EXPECT_EQ(cut.out, "");
    Result peer = hutch({"run", "--rm", "--network", "together", rootfs_, "nc", "-w", "2", "10.75.0.10", "80"});
    EXPECT_EQ(peer.out, "hello\n") << describe(peer);
    EXPECT_EQ(connect_out({"--network", "apart"}).out, std::string(kUplink) + "\n");
    EXPECT_EQ(host_connect(kUplink, 8090).out, "hello\n");
    // The kernel's bridge port isolation, on the container's host veth only.
    Result ports = run_command({kNsenter, "--net=/run/netns/" + host_, "/usr/sbin/bridge", "-d", "link", "show"});
    EXPECT_NE(ports.out.find("isolated on"), std::string::npos) << ports.out;
}

// -p: from the outside to the host's address, from the host itself (its address and
// 127.0.0.1), and from another container through the host's address (hairpin).
TEST_F(FirewallIntegration, PublishedPortIsReachableFromEverywhere) {
    start_server("web", {"-p", "8080:80"});
    EXPECT_EQ(outside_connect(kUplink, 8080).out, "hello\n") << diagnosis();
    EXPECT_EQ(host_connect(kUplink, 8080).out, "hello\n");
    EXPECT_EQ(host_connect("127.0.0.1", 8080).out, "hello\n");
    Result hairpin = hutch({"run", "--rm", rootfs_, "nc", "-w", "2", kUplink, "8080"});
    EXPECT_EQ(hairpin.out, "hello\n") << describe(hairpin);
    EXPECT_EQ(hutch({"port", "web"}).out, "80/tcp -> 0.0.0.0:8080\n");
    EXPECT_EQ(hutch({"port", "web", "80"}).out, "0.0.0.0:8080\n");
    Result ip = hutch({"inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.IPAddress}} {{json .NetworkSettings.Ports}}", "web"});
    EXPECT_EQ(ip.out, "10.66.0.2 10.66.0.2 {\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}\n") << describe(ip);
    // The container's own address stays closed to the outside.
    ASSERT_TRUE(this->ip({"-n", outside_, "route", "add", "10.66.0.0/24", "via", kUplink}));
    EXPECT_NE(outside_connect("10.66.0.2", 80).code, 0);
    // Gone with the container.
    ASSERT_EXIT_CODE(hutch({"rm", "-f", "web"}), 0);
    EXPECT_EQ(host_ruleset().find("dnat to"), std::string::npos) << host_ruleset();
    EXPECT_NE(outside_connect(kUplink, 8080).code, 0);
}

// The host's loopback stays its own, although route_localnet is on for its bridges: neither a
// container nor a neighbour on the uplink reaches a service on the host's 127.0.0.1, nor a port
// published only on 127.0.0.1 (CVE-2020-8558, moby#45610). Each side is made to route
// 127.0.0.1 to the host, as an attacker would. (On the kernel this was written on, these
// attempts also fail with the raw-prerouting rules removed: the rules are asserted by name too.)
TEST_F(FirewallIntegration, LoopbackStaysTheHosts) {
    Process listener = Process::spawn({kNsenter, "--net=/run/netns/" + host_, "/usr/bin/python3", "-c",
                                       "import socket\ns = socket.socket(); s.bind(('127.0.0.1', 9393)); s.listen(8);"
                                       " print('up', flush=True)\nwhile True:\n    c, a = s.accept(); c.sendall(b'secret\\n'); c.close()"});
    ASSERT_TRUE(listener.wait_for_output("up", std::chrono::seconds(10)));
    EXPECT_EQ(host_connect("127.0.0.1", 9393).out, "secret\n") << "the host itself reaches it";
    start_server("local", {"-p", "127.0.0.1:9090:80"});
    EXPECT_EQ(host_connect("127.0.0.1", 9090).out, "hello\n");
    // A container, privileged so it can route 127.0.0.1 to its gateway.
    Result from_container = hutch({"run", "--rm", "--privileged", rootfs_, "sh", "-c",
                                   "ip route del local 127.0.0.0/8 dev lo table local && "
                                   "ip route del local 127.0.0.1 dev lo table local && "
                                   "sysctl -qw net.ipv4.conf.eth0.route_localnet=1 && "
                                   "ip route add 127.0.0.1/32 via 10.66.0.1 dev eth0 && nc -w 2 127.0.0.1 9393"});
    EXPECT_EQ(from_container.out, "") << describe(from_container);
    EXPECT_NE(from_container.err.find("timed out"), std::string::npos) << describe(from_container);
    // A neighbour on the uplink.
    const std::string out_dev = "fwo" + tag_;
    for (const Strings& cmd : {Strings{kIp, "-n", outside_, "route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local"},
                               Strings{kIp, "-n", outside_, "route", "del", "local", "127.0.0.1", "dev", "lo", "table", "local"},
                               Strings{kNsenter, "--net=/run/netns/" + outside_, "/bin/sh", "-c",
                                       "echo 1 > /proc/sys/net/ipv4/conf/" + out_dev + "/route_localnet"},
                               Strings{kIp, "-n", outside_, "route", "add", "127.0.0.1/32", "via", kUplink}})
        ASSERT_EXIT_CODE(run_command(cmd), 0);
    EXPECT_EQ(outside_connect("127.0.0.1", 9393).out, "");
    Result published = outside_connect("127.0.0.1", 9090);
    EXPECT_EQ(published.out, "") << describe(published);
    EXPECT_NE(published.err.find("timed out"), std::string::npos) << describe(published);
    const std::string rules = host_ruleset();
    EXPECT_NE(rules.find("iifname != \"lo\" ip daddr 127.0.0.0/8 drop"), std::string::npos) << rules;
    EXPECT_NE(rules.find("iifname @bridges ip saddr 127.0.0.0/8 drop"), std::string::npos) << rules;
}

// A host IP, a picked port, a range, udp; the kernel's choice is what `port` shows.
TEST_F(FirewallIntegration, PublishFormsAsDocker) {
    start_server("one", {"-p", "127.0.0.1:9090:80", "-p", "80", "-p", "7000-7001:80-81", "-p", "5353:53/udp"});
    Result ports = hutch({"port", "one"});
    Strings lines = ports.out_lines();
    ASSERT_EQ(lines.size(), 5u) << ports.out;
    EXPECT_EQ(lines[0], "80/tcp -> 127.0.0.1:9090");
    EXPECT_EQ(lines[1].rfind("80/tcp -> 0.0.0.0:", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2], "80/tcp -> 0.0.0.0:7000");
    EXPECT_EQ(lines[3], "81/tcp -> 0.0.0.0:7001");
    EXPECT_EQ(lines[4], "53/udp -> 0.0.0.0:5353");
    const int picked = std::atoi(lines[1].substr(lines[1].rfind(':') + 1).c_str());
    EXPECT_GT(picked, 1024);
    EXPECT_EQ(host_connect("127.0.0.1", 9090).out, "hello\n");
    EXPECT_NE(outside_connect(kUplink, 9090).code, 0) << "published on 127.0.0.1 only";
    EXPECT_EQ(outside_connect(kUplink, picked).out, "hello\n");
    EXPECT_EQ(outside_connect(kUplink, 7000).out, "hello\n");
}

// -P: the image's ExposedPorts and --expose, each on a port the kernel picks.
TEST_F(FirewallIntegration, PublishAllTakesTheImagesExposedPorts) {
    TestImage image = single_layer_image(tar_of_directory(rootfs_),
                                         {{"Cmd", {"nc", "-ll", "-p", "80", "-e", "/bin/echo", "hello"}},
                                          {"ExposedPorts", {{"80/tcp", nlohmann::json::object()}}}});
    write_file(roots_.base() + "/exposing.tar", oci_layout_tar(image, "test/exposing:v1"));
    ASSERT_EXIT_CODE(hutch({"load", "-i", roots_.base() + "/exposing.tar"}), 0);
    ASSERT_EXIT_CODE(hutch({"run", "-d", "--name", "exposed", "-P", "--expose", "81/udp", "test/exposing:v1"}), 0);
    Strings lines = hutch({"port", "exposed"}).out_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].rfind("81/udp -> 0.0.0.0:", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1].rfind("80/tcp -> 0.0.0.0:", 0), 0u) << lines[1];
    const int port = std::atoi(lines[1].substr(lines[1].rfind(':') + 1).c_str());
    Result r;
    for (int i = 0; i < 50 && r.out != "hello\n"; ++i) {
        r = outside_connect(kUplink, port);
        if (r.out != "hello\n") ::usleep(100 * 1000);  // until its nc listens
    }
    EXPECT_EQ(r.out, "hello\n") << describe(r);
    // Without -P the image's ports are not published.
    ASSERT_EXIT_CODE(hutch({"run", "-d", "--name", "unexposed", "test/exposing:v1"}), 0);
    EXPECT_EQ(hutch({"port", "unexposed"}).out, "");
}

// A host port another container publishes, or a host process listens on: one line, exit 125,
// and nothing of the refused container (no record, no rule).
TEST_F(FirewallIntegration, TakenHostPortIsRefusedAndLeavesNothing) {
    start_server("first", {"-p", "8080:80"});
    const std::string rules = host_ruleset();
    Result again = hutch({"run", "--rm", "-p", "8080:80", rootfs_, "true"});
    EXPECT_EXIT_CODE(again, 125);
    ASSERT_EQ(again.err_lines().size(), 1u) << describe(again);
    EXPECT_NE(again.err.find("0.0.0.0:8080/tcp is already in use"), std::string::npos) << describe(again);
    Process listener = Process::spawn({kNsenter, "--net=/run/netns/" + host_, "/usr/bin/python3", "-c",
                                       "import socket, time\ns = socket.socket(); s.bind(('127.0.0.1', 9191)); s.listen();"
                                       " print('up', flush=True); time.sleep(60)"});
    ASSERT_TRUE(listener.wait_for_output("up", std::chrono::seconds(10)));
    Result host_taken = hutch({"run", "--rm", "-p", "9191:80", rootfs_, "true"});
    EXPECT_EXIT_CODE(host_taken, 125);
    EXPECT_NE(host_taken.err.find("9191/tcp is already in use"), std::string::npos) << describe(host_taken);
    EXPECT_EQ(roots_.container_ids().size(), 1u) << "only the first container is recorded";
    EXPECT_EQ(host_ruleset(), rules) << "a refused start changed the rules";
}

TEST_F(FirewallIntegration, BadPublishIsOneLineAndLeavesNothing) {
    for (const auto& [opts, words] : std::vector<std::pair<Strings, std::string>>{
             {{"-p", "0"}, "outside 1-65535"},
             {{"-p", "70000:80"}, "outside 1-65535"},
             {{"-p", "8000-8001:80-82"}, "differ in size"},
             {{"-p", "80/icmp"}, "unknown protocol"},
             {{"-p", "x:80"}, "not a port number"},
             {{"-p", "203.0.113.7:8080:80"}, "not an address of this host"},
             {{"-p", "80", "--network", "none"}, "conflicting options"},
             {{"-p", "80", "--network", "host"}, "conflicting options"}}) {
        Strings args = {"run", "--rm"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(rootfs_);
        args.push_back("true");
        Result r = hutch(args);
        EXPECT_EXIT_CODE(r, 125);
        ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(words), std::string::npos) << describe(r);
    }
    EXPECT_EQ(roots_.container_ids(), Strings{});
    EXPECT_EQ(host_ruleset().find("dnat to"), std::string::npos);
}

// A hutch SIGKILLed while its container publishes a port: the rule stays until `rm`, and the
// port is free at once (the kernel closed the socket that held it).
TEST_F(FirewallIntegration, KilledHutchsRulesGoWithRm) {
    Process p = Process::spawn({kNsenter, "--net=/run/netns/" + host_, hutch_binary(), "--root", roots_.run_root(),
                                "--data-root", roots_.data_root(), "--config", roots_.base() + "/config.json", "run",
                                "--name", "killed", "-p", "8088:80", rootfs_, "sh", "-c", "echo ready; sleep 100"});
    ASSERT_TRUE(p.wait_for_output("ready", std::chrono::seconds(10))) << p.err_so_far();
    ASSERT_EQ(::kill(p.pid(), SIGKILL), 0);
    p.wait();
    EXPECT_NE(host_ruleset().find("dport 8088"), std::string::npos);
    ASSERT_EXIT_CODE(hutch({"rm", "-f", "killed"}), 0);
    EXPECT_EQ(host_ruleset().find("dport 8088"), std::string::npos) << host_ruleset();
    start_server("next", {"-p", "8088:80"});
    EXPECT_EQ(outside_connect(kUplink, 8088).out, "hello\n");
}

// A flow the kernel tracks keeps the NAT of its first packet. A UDP client that keeps sending
// from one port would follow a removed container's address to whichever container gets it next
// (one that published nothing) and never reach the container now publishing the port, unless
// the start clears those flows, as Docker does at every endpoint join.
TEST_F(FirewallIntegration, UdpFlowsDoNotFollowAGoneContainer) {
    // Datagrams that reached a container's network namespace and found no socket: the kernel's
    // own count (Udp NoPorts in its /proc/net/snmp), so nothing needs to listen.
    auto stray_datagrams = [&](const std::string& name) {
        Result r = hutch({"exec", name, "cat", "/proc/net/snmp"});
        std::istringstream in(r.out);
        std::string header, values;
        while (std::getline(in, header) && std::getline(in, values)) {
            if (header.rfind("Udp:", 0) != 0) continue;
            std::istringstream h(header), v(values);
            std::string field, value;
            while (h >> field && v >> value)
                if (field == "NoPorts") return std::stol(value);
        }
        ADD_FAILURE() << "no Udp NoPorts in " << name << "'s /proc/net/snmp: " << describe(r);
        return -1L;
    };
    auto send_from_one_port = [&] {
        ASSERT_EXIT_CODE(run_command({kNsenter, "--net=/run/netns/" + outside_, "/usr/bin/python3", "-c",
                                      "import socket\n"
                                      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                      "s.bind(('" + std::string(kOutside) + "', 40000))\n"
                                      "s.sendto(b'ping', ('" + std::string(kUplink) + "', 5353))\n"}),
                         0);
    };
    auto wait_for_datagrams = [&](const std::string& name, long count) {
        for (int i = 0; i < 30 && stray_datagrams(name) < count; ++i) ::usleep(100 * 1000);
        return stray_datagrams(name);
    };
    const Strings sleeper = {rootfs_, "sleep", "1000"};
    auto run_detached = [&](const std::string& name, Strings opts) {
        Strings args = {"run", "-d", "--name", name};
        args.insert(args.end(), opts.begin(), opts.end());
        args.insert(args.end(), sleeper.begin(), sleeper.end());
        ASSERT_EXIT_CODE(hutch(args), 0);
    };
    run_detached("first", {"-p", "5353:53/udp"});
    send_from_one_port();
    ASSERT_EQ(wait_for_datagrams("first", 1), 1) << diagnosis();
    const std::string first_ip = hutch({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "first"}).out;
    ASSERT_EXIT_CODE(hutch({"rm", "-f", "first"}), 0);
    // The first container's address goes to one that publishes nothing; the port to another.
    run_detached("squatter", {});
    ASSERT_EQ(hutch({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "squatter"}).out, first_ip);
    run_detached("second", {"-p", "5353:53/udp"});
    send_from_one_port();
    EXPECT_EQ(wait_for_datagrams("second", 1), 1) << diagnosis();
    EXPECT_EQ(stray_datagrams("squatter"), 0);
}

}  // namespace
}  // namespace hutch_it
