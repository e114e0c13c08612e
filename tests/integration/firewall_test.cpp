// hutch's firewall (netns/firewall.hpp): outbound NAT, isolation between networks, --internal,
// as a peer outside the machine sees them. Never on the machine's own firewall: each test makes
// a network namespace that plays the host (hutch runs in it through nsenter, so its bridges,
// nftables table and ip_forward are that namespace's) and one that plays the outside world,
// joined by a veth with TEST-NET-2 addresses; a server there answers every connection with the
// address it came from. The machine's own ruleset and forwarding sysctls are compared before
// and after every test.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace hutch_it {
namespace {

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kNft = "/usr/sbin/nft";
constexpr const char* kNsenter = "/usr/bin/nsenter";
constexpr const char* kUplink = "198.51.100.1";   // the "host"'s address toward the outside
constexpr const char* kOutside = "198.51.100.2";  // the outside server

// What of the machine's own network state a test could change.
std::string machine_state() {
    std::string state = read_file("/proc/sys/net/ipv4/ip_forward") + read_file("/proc/sys/net/ipv4/conf/all/forwarding");
    if (::access(kNft, X_OK) == 0) state += run_command({kNft, "list", "ruleset"}).out;
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
        for (const auto& [ns, dev] : {std::pair{host_, up}, {outside_, out}, {host_, std::string("lo")}, {outside_, std::string("lo")}})
            ASSERT_TRUE(ip({"-n", ns, "link", "set", dev, "up"}));
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
        if (!machine_before_.empty()) EXPECT_EQ(machine_state(), machine_before_) << "the machine's own network state changed";
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

    std::string host_, outside_, machine_before_;
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
    ASSERT_EXIT_CODE(hutch({"run", "-d", "--name", "server", "--network", "fwa", "--ip", "10.68.0.10", rootfs_, "sh", "-c",
                            "while true; do echo hello | nc -l -p 80; done"}),
                     0);
    auto ask = [&](const std::string& network) {
        return hutch({"run", "--rm", "--network", network, rootfs_, "nc", "-w", "1", "10.68.0.10", "80"});
    };
    Result same = ask("fwa");
    for (int i = 0; i < 20 && same.out != "hello\n"; ++i) same = ask("fwa");  // the server's first listen
    EXPECT_EQ(same.out, "hello\n") << describe(same);
    Result other = ask("fwb");
    EXPECT_NE(other.code, 0) << "a container of another network reached it:\n" << describe(other);
    EXPECT_EQ(other.out, "");
    Result from_default = ask("bridge");
    EXPECT_NE(from_default.code, 0) << "the default network reached it:\n" << describe(from_default);
}

TEST_F(FirewallIntegration, InternalNetworkHasNoWayOut) {
    ASSERT_EXIT_CODE(hutch({"network", "create", "--internal", "--subnet", "10.70.0.0/24", "closed"}), 0);
    Result closed = connect_out({"--network", "closed"});
    EXPECT_NE(closed.code, 0) << describe(closed);
    EXPECT_EQ(closed.out, "");
    EXPECT_EQ(connect_out({}).out, std::string(kUplink) + "\n") << "the default network must still get out";
    nlohmann::json j = nlohmann::json::parse(hutch({"network", "inspect", "closed"}).out)[0];
    EXPECT_EQ(j["Internal"], true);
    EXPECT_EQ(j["Firewall"]["Present"], true);
    EXPECT_NE(j["Firewall"]["Rules"].dump().find("oifname != \\\"hutch-"), std::string::npos) << j.dump(2);
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
    ASSERT_EXIT_CODE(hutch({"network", "create", "--subnet", "10.72.0.0/24", "brief"}), 0);
    std::string bridge = nlohmann::json::parse(hutch({"network", "inspect", "brief"}).out)[0]["Options"]
                             ["com.docker.network.bridge.name"];
    EXPECT_NE(host_ruleset().find("bridge " + bridge), std::string::npos);
    ASSERT_EXIT_CODE(hutch({"network", "rm", "brief"}), 0);
    std::string after = host_ruleset();
    EXPECT_EQ(after.find(bridge), std::string::npos) << "rules of a removed network are left:\n" << after;
    // As after a reboot: the kernel's rules are gone, hutch's records are not. The next start
    // puts them back before the container runs.
    ASSERT_EXIT_CODE(run_command({kNsenter, "--net=/run/netns/" + host_, kNft, "flush", "ruleset"}), 0);
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

}  // namespace
}  // namespace hutch_it
