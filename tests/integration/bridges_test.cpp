// Bridges and subnets (issue 11): special-purpose ranges and overlaps with every routing table are
// refused; the host config's "bridge" must be a bridge and hutch deletes only what it made; two
// worlds (data roots) share the default bridge without sharing an address.
//
// Safety: whatever could put an odd address or an odd link on the host with the code before
// these fixes (a 127.0.0.1/8 bridge, a "br%d" template name, a routing table of our own) runs in
// a network namespace the test makes to play the host (`unshare -n`), gone when the test's shell
// exits. On the host itself the tests use only links they create, named after the TempRoots
// bridge of the test (hut<pid><n> plus a suffix), and remove them.
#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "harness.hpp"
#include "netns/bridge.hpp"
#include "netns/link.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

std::string ip_tool() {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
        if (path_exists(p)) return p;
    return "";
}

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// `hutch --root .. --data-root .. --config ..`, for $H (split on spaces: the paths have none).
std::string hutch_words(const TempRoots& roots) {
    std::string out = hutch_binary();
    for (const auto& a : roots.hutch_args({})) out += " " + a;
    return out;
}

// Runs `script` under sh in a new network namespace that plays the host, with $H set to hutch
// with the roots' options, $IP to ip(8) and $R to the rootfs.
Result in_own_netns(const TempRoots& roots, const std::string& rootfs, const std::string& script) {
    std::string prelude = "H=" + quote(hutch_words(roots)) + "; IP=" + quote(ip_tool()) + "; R=" + quote(rootfs) +
                          "; $IP link set lo up; ";
    return run_command({"/usr/bin/unshare", "--net", "/bin/sh", "-c", prelude + script}, {}, 60s);
}

// "key=value" lines of a script's output.
std::map<std::string, std::string> values(const std::string& out) {
    std::map<std::string, std::string> v;
    for (const auto& line : split_lines(out)) {
        auto eq = line.find('=');
        if (eq != std::string::npos) v[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return v;
}

std::string config_bip(const TempRoots& roots) {
    return json::parse(read_file(roots.base() + "/config.json"))["bip"];
}

void write_config(const TempRoots& roots, const json& config) { write_file(roots.base() + "/config.json", config.dump()); }

// A link this test made on the host, deleted (by index) when the test ends.
class OwnLink {
public:
    explicit OwnLink(std::string name) : name_(std::move(name)) {}
    ~OwnLink() {
        if (int index = hutch::net::link_index(name_)) {
            hutch::net::NetlinkSocket nl;
            hutch::net::delete_link_index(nl, index, name_);
        }
    }
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

std::optional<hutch::net::LinkFacts> link_facts(const std::string& name) {
    hutch::net::NetlinkSocket nl;
    return hutch::net::find_link(nl, name);
}

std::vector<std::string> addresses_on(const std::string& name) {
    hutch::net::NetlinkSocket nl;
    std::vector<std::string> out;
    if (auto link = hutch::net::find_link(nl, name))
        for (const auto& a : hutch::net::link_addresses(nl, link->index)) out.push_back(a.str());
    return out;
}

// A container kept running: it prints its eth0 address and "ready", then idles until SIGTERM.
class Running {
public:
    Running(const TempRoots& roots, const std::string& rootfs) {
        Strings argv = {hutch_binary()};
        for (const auto& a : roots.hutch_args({"run", "--rm", rootfs, "sh", "-c",
                                                "trap 'exit 0' TERM; ip -4 addr show eth0; echo ready; "
                                                "while true; do sleep 0.1; done"}))
            argv.push_back(a);
        process_.emplace(Process::spawn(argv));
    }
    ~Running() { stop(); }
    // The container's address, "" when it did not start.
    std::string address() {
        if (!process_->wait_for_output("ready\n", 20s)) return "";
        static const std::regex re(R"(inet (\d+\.\d+\.\d+\.\d+)/)");
        std::smatch m;
        std::string out = process_->out_so_far();
        return std::regex_search(out, m, re) ? std::string(m[1]) : "";
    }
    std::string output() const { return process_->out_so_far() + process_->err_so_far(); }
    Result stop() {
        if (!stopped_) {
            stopped_ = true;
            ::kill(process_->pid(), SIGTERM);  // the hutch this test started, by pid
            result_ = process_->wait(20s);
        }
        return result_;
    }

private:
    std::optional<Process> process_;
    bool stopped_ = false;
    Result result_;
};

class BridgesIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        if (ip_tool().empty()) GTEST_SKIP() << "ip(8) from iproute2 is needed to set up the test's links";
        if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "util-linux unshare is needed";
    }
    std::string ip() const { return ip_tool(); }
};

// --- finding 1: subnets ----------------------------------------------------------------------

TEST_F(BridgesIntegration, SubnetsInSpecialRangesAreRefusedAndNothingIsMade) {
    for (const char* subnet : {"127.0.0.0/8", "127.0.0.0/24", "0.0.0.0/8", "169.254.0.0/16", "224.1.0.0/16",
                               "240.0.0.0/8", "255.255.255.0/24"}) {
        SCOPED_TRACE(subnet);
        std::string err = roots_.base() + "/err";
        Result r = in_own_netns(roots_, rootfs_,
                                "$H network create --subnet " + std::string(subnet) + " special >/dev/null 2>" + err +
                                    "; echo rc=$?; echo bridges=$($IP -o link show type bridge | wc -l)");
        ASSERT_EXIT_CODE(r, 0);
        auto v = values(r.out);
        EXPECT_EQ(v["rc"], "125") << read_file(err);
        EXPECT_EQ(v["bridges"], "0") << "a bridge was made for " << subnet;
        Strings lines = split_lines(read_file(err));
        ASSERT_EQ(lines.size(), 1u) << read_file(err);
        EXPECT_NE(lines[0].find(subnet), std::string::npos) << lines[0];
        EXPECT_NE(lines[0].find("range"), std::string::npos) << lines[0];
        EXPECT_EQ(roots_.hutch({"network", "ls"}).out.find("special"), std::string::npos);
    }
}

TEST_F(BridgesIntegration, OverlapIsCheckedAgainstEveryRoutingTable) {
    // Routes the main table does not hold: another table, the local table, a blackhole.
    std::string setup =
        "$IP route add 10.77.1.0/24 dev lo table 100 && $IP route add local 10.77.2.0/24 dev lo table local && "
        "$IP route add blackhole 10.77.3.0/24 table 101 || exit 99; ";
    struct Case {
        std::string subnet, names;
    };
    const Case cases[] = {
        {"10.77.1.0/24", "10.77.1.0/24 on lo (table 100)"},
        {"10.77.2.0/25", "local 10.77.2.0/24 on lo (table local)"},
        {"10.77.3.0/24", "blackhole 10.77.3.0/24 (table 101)"},
        {"10.77.0.0/16", "10.77."},
    };
    std::string script = setup;
    int n = 0;
    for (const auto& c : cases) {
        std::string i = std::to_string(n++);
        script += "$H network create --subnet " + c.subnet + " n" + i + " >/dev/null 2>" + roots_.base() + "/err" + i +
                  "; echo rc" + i + "=$?; ";
    }
    script += "$H network create --subnet 10.77.4.0/24 free >/dev/null; echo free=$?";
    Result r = in_own_netns(roots_, rootfs_, script);
    ASSERT_EXIT_CODE(r, 0);
    auto v = values(r.out);
    for (int i = 0; i < n; ++i) {
        SCOPED_TRACE(cases[i].subnet);
        std::string err = read_file(roots_.base() + "/err" + std::to_string(i));
        EXPECT_EQ(v["rc" + std::to_string(i)], "125") << err;
        EXPECT_EQ(split_lines(err).size(), 1u) << err;
        EXPECT_NE(err.find("overlaps the host's route " + cases[i].names), std::string::npos) << err;
        EXPECT_NE(err.find(cases[i].subnet), std::string::npos) << err;
    }
    EXPECT_EQ(v["free"], "0") << "a subnet no table holds is fine: " << r.out;
}

TEST_F(BridgesIntegration, BipAndIpInSpecialRangesAreRefused) {
    json config = json::parse(read_file(roots_.base() + "/config.json"));
    std::string good = config.dump();
    config["bip"] = "127.0.0.1/8";
    write_config(roots_, config);
    std::string err = roots_.base() + "/err";
    Result r = in_own_netns(roots_, rootfs_,
                            "$H run --rm $R true 2>" + err + "; echo rc=$?; echo bridges=$($IP -o link show type bridge | wc -l)");
    auto v = values(r.out);
    EXPECT_EQ(v["rc"], "125") << read_file(err);
    EXPECT_EQ(v["bridges"], "0");
    EXPECT_EQ(split_lines(read_file(err)).size(), 1u) << read_file(err);
    EXPECT_NE(read_file(err).find("127.0.0.1/8"), std::string::npos) << read_file(err);
    EXPECT_FALSE(path_exists(roots_.data_root() + "/networks/bridge/network.json"));

    // --ip in a special range, on a network recorded before hutch refused such subnets (edited
    // here into the record): refused before the bridge or any container gets the address.
    write_file(roots_.base() + "/config.json", good);
    std::string record = roots_.data_root() + "/networks/lab/network.json";
    r = in_own_netns(roots_, rootfs_,
                     "$H network create --subnet 10.77.7.0/24 lab >/dev/null || exit 98; "
                     "sed -i 's#10.77.7.0/24#169.254.7.0/24#; s#\"10.77.7.1\"#\"169.254.7.1\"#' " + record + "; "
                     "$H run --rm --network lab --ip 169.254.7.5 $R true 2>" + err + "; echo rc=$?; "
                     "$H run --rm --network lab $R true 2>" + err + "2; echo pool=$?; "
                     "echo linklocal=$($IP -4 -o addr show | grep -c 169.254)");
    ASSERT_EXIT_CODE(r, 0);
    v = values(r.out);
    EXPECT_EQ(v["rc"], "125") << read_file(err);
    EXPECT_NE(read_file(err).find("169.254.7.5"), std::string::npos) << read_file(err);
    EXPECT_NE(read_file(err).find("link-local"), std::string::npos) << read_file(err);
    EXPECT_EQ(v["pool"], "125") << read_file(err + "2");
    EXPECT_NE(read_file(err + "2").find("169.254.7.0/24"), std::string::npos) << read_file(err + "2");
    EXPECT_EQ(v["linklocal"], "0");
}

// --- finding 2: the host config's bridge -----------------------------------------------------

TEST_F(BridgesIntegration, HostConfigBridgeMustBeABridge) {
    OwnLink veth(roots_.bridge() + "va");
    ASSERT_EXIT_CODE(run_command({ip(), "link", "add", veth.name(), "type", "veth", "peer", "name", roots_.bridge() + "vb"}), 0);
    json config = json::parse(read_file(roots_.base() + "/config.json"));
    config["bridge"] = veth.name();
    write_config(roots_, config);

    Result r = run({}, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("\"" + veth.name() + "\""), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("veth"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("not a bridge"), std::string::npos) << describe(r);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    EXPECT_FALSE(path_exists(roots_.data_root() + "/networks/bridge/network.json")) << "nothing recorded";
    EXPECT_EQ(addresses_on(veth.name()), std::vector<std::string>{}) << "the veth was changed";
    // And `network rm bridge` never deletes it.
    roots_.hutch({"network", "rm", "bridge"});
    EXPECT_NE(hutch::net::link_index(veth.name()), 0) << "hutch deleted a veth it did not make";

    // The loopback device, in a namespace of the test's own.
    config["bridge"] = "lo";
    write_config(roots_, config);
    std::string err = roots_.base() + "/err";
    Result lo = in_own_netns(roots_, rootfs_,
                             "$H run --rm $R true 2>" + err + "; echo rc=$?; $H network rm bridge >/dev/null 2>&1; "
                             "echo lo=$($IP -o link show lo | wc -l)");
    auto v = values(lo.out);
    EXPECT_EQ(v["rc"], "125") << read_file(err);
    EXPECT_NE(read_file(err).find("\"lo\" is the loopback device, not a bridge"), std::string::npos) << read_file(err);
    EXPECT_EQ(v["lo"], "1");
}

TEST_F(BridgesIntegration, BadBridgeNamesInTheHostConfigAreRefused) {
    std::string script;
    int n = 0;
    for (const char* name : {"br%d", "x:1", "-lead", "abcdefghijklmnop", "a b", ".."}) {
        json config = json::parse(read_file(roots_.base() + "/config.json"));
        config["bridge"] = name;
        std::string file = roots_.base() + "/config" + std::to_string(n) + ".json";
        write_file(file, config.dump());
        script += "cp " + file + " " + roots_.base() + "/config.json; $H run --rm $R true 2>" + roots_.base() +
                  "/err" + std::to_string(n) + "; echo rc" + std::to_string(n) + "=$?; ";
        ++n;
    }
    script += "echo bridges=$($IP -o link show type bridge | wc -l)";
    Result r = in_own_netns(roots_, rootfs_, script);
    auto v = values(r.out);
    for (int i = 0; i < n; ++i) {
        std::string err = read_file(roots_.base() + "/err" + std::to_string(i));
        EXPECT_EQ(v["rc" + std::to_string(i)], "125") << i << ": " << err;
        EXPECT_EQ(split_lines(err).size(), 1u) << err;
        EXPECT_NE(err.find("\"bridge\""), std::string::npos) << err;
    }
    EXPECT_EQ(v["bridges"], "0") << r.out;
}

TEST_F(BridgesIntegration, AUsersOwnBridgeIsUsedWithItsAddressAndNeverDeleted) {
    // Docker's --bridge: a bridge the user made. hutch uses it as it is, once it carries the
    // configured address, and leaves it in place.
    OwnLink bridge(roots_.bridge() + "ub");
    ASSERT_EXIT_CODE(run_command({ip(), "link", "add", bridge.name(), "type", "bridge"}), 0);
    std::string bip = config_bip(roots_);
    json config = json::parse(read_file(roots_.base() + "/config.json"));
    config["bridge"] = bridge.name();
    write_config(roots_, config);

    Result bare = run({}, {"true"});
    EXPECT_EXIT_CODE(bare, 125);
    ASSERT_EQ(bare.err_lines().size(), 1u) << describe(bare);
    EXPECT_NE(bare.err.find("not made by hutch"), std::string::npos) << describe(bare);
    EXPECT_NE(bare.err.find(bip), std::string::npos) << describe(bare);
    EXPECT_EQ(addresses_on(bridge.name()), std::vector<std::string>{});

    ASSERT_EXIT_CODE(run_command({ip(), "addr", "add", bip, "dev", bridge.name()}), 0);
    std::string gateway = bip.substr(0, bip.find('/'));
    Result used = sh({}, "ping -c1 -W1 " + gateway + " >/dev/null && echo reached");
    EXPECT_EXIT_CODE(used, 0);
    EXPECT_EQ(used.out, "reached\n");

    Result rm = roots_.hutch({"network", "rm", "bridge"});
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_NE(rm.err.find("left " + bridge.name() + " in place: hutch did not create it"), std::string::npos)
        << describe(rm);
    EXPECT_NE(hutch::net::link_index(bridge.name()), 0) << "hutch deleted the user's bridge";
    EXPECT_EQ(addresses_on(bridge.name()), std::vector<std::string>{bip});
}

TEST_F(BridgesIntegration, HutchMarksTheBridgesItMakesAndRemovesOnlyThose) {
    ASSERT_EXIT_CODE(run({}, {"true"}), 0);
    std::string world = trim(read_file(roots_.data_root() + "/networks/.world"));
    ASSERT_EQ(world.size(), 12u);
    auto facts = link_facts(roots_.bridge());
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->kind, "bridge");
    EXPECT_EQ(facts->alias, "hutch:" + world);
    EXPECT_EQ(addresses_on(roots_.bridge()), std::vector<std::string>{config_bip(roots_)});

    // A user-defined network's bridge, made by hutch: marked too, and removed with the network.
    Result made = roots_.hutch({"network", "create", "marked" + std::to_string(::getpid())});
    ASSERT_EXIT_CODE(made, 0);
    Result inspect = roots_.hutch({"network", "inspect", "marked" + std::to_string(::getpid())});
    std::string user_bridge = json::parse(inspect.out)[0]["Options"]["com.docker.network.bridge.name"];
    OwnLink cleanup(user_bridge);
    auto user = link_facts(user_bridge);
    ASSERT_TRUE(user);
    EXPECT_EQ(user->alias, "hutch:" + world);
    // Another world's record naming this bridge (a copied data root) never deletes it.
    TempRoots other;
    ASSERT_EXIT_CODE(run_command({"/bin/mkdir", "-p", other.data_root() + "/networks"}), 0);
    ASSERT_EXIT_CODE(run_command({"/bin/cp", "-a", roots_.data_root() + "/networks/marked" + std::to_string(::getpid()),
                                  other.data_root() + "/networks/"}),
                     0);
    Result foreign = other.hutch({"network", "rm", "marked" + std::to_string(::getpid())});
    EXPECT_EXIT_CODE(foreign, 0);
    EXPECT_NE(foreign.err.find("another hutch world made it"), std::string::npos) << describe(foreign);
    EXPECT_NE(hutch::net::link_index(user_bridge), 0);
    EXPECT_EXIT_CODE(roots_.hutch({"network", "rm", "marked" + std::to_string(::getpid())}), 0);
    EXPECT_EQ(hutch::net::link_index(user_bridge), 0);
}

// --- finding 3: two worlds on one host ---------------------------------------------------------

class TwoWorlds : public BridgesIntegration {
protected:
    // A second world (its own --root and --data-root) with the first one's host config: the
    // same bridge name and address.
    void SetUp() override {
        BridgesIntegration::SetUp();
        if (IsSkipped()) return;
        write_file(other_.base() + "/config.json", read_file(roots_.base() + "/config.json"));
    }
    // The first world's data root and state are deleted, its bridge left up.
    void forget_first_world() {
        ASSERT_EXIT_CODE(run_command({"/bin/rm", "-rf", roots_.data_root(), roots_.run_root()}), 0);
    }
    TempRoots other_;
};

TEST_F(TwoWorlds, ShareTheDefaultBridgeWithoutSharingAnAddress) {
    Running first(roots_, rootfs_);
    std::string a = first.address();
    ASSERT_FALSE(a.empty()) << first.output();
    int index = hutch::net::link_index(roots_.bridge());

    Result second = other_.hutch({"run", "--rm", rootfs_, "sh", "-c",
                                  "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'; ping -c1 -W1 " + a +
                                      " >/dev/null && echo reached"});
    EXPECT_EXIT_CODE(second, 0);
    EXPECT_EQ(second.err, "");
    ASSERT_EQ(split_lines(second.out).size(), 2u) << describe(second);
    EXPECT_NE(split_lines(second.out)[0], "inet " + a) << "two worlds handed out one address";
    EXPECT_EQ(split_lines(second.out)[1], "reached");
    EXPECT_EQ(hutch::net::link_index(roots_.bridge()), index) << "the bridge was adopted, not made anew";

    // The second world cannot take the bridge away while the first one's container runs.
    Result rm = other_.hutch({"network", "rm", "bridge"});
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_NE(rm.err.find("containers of another hutch world use it"), std::string::npos) << describe(rm);
    EXPECT_EQ(hutch::net::link_index(roots_.bridge()), index);
    EXPECT_EXIT_CODE(first.stop(), 0);
}

TEST_F(TwoWorlds, ConcurrentStartsInTwoWorldsGetDistinctAddresses) {
    std::vector<Process> procs;
    for (int i = 0; i < 16; ++i) {
        const TempRoots& world = i % 2 ? other_ : roots_;
        Strings argv = {hutch_binary()};
        for (const auto& a : world.hutch_args({"run", "--rm", rootfs_, "sh", "-c", "ip -4 addr show eth0; sleep 1"}))
            argv.push_back(a);
        procs.push_back(Process::spawn(argv));
    }
    std::multiset<std::string> addresses;
    static const std::regex re(R"(inet (\d+\.\d+\.\d+\.\d+)/)");
    for (auto& p : procs) {
        Result r = p.wait(60s);
        EXPECT_EXIT_CODE(r, 0);
        std::smatch m;
        if (std::regex_search(r.out, m, re)) addresses.insert(m[1]);
    }
    EXPECT_EQ(addresses.size(), 16u);
    EXPECT_EQ(std::set<std::string>(addresses.begin(), addresses.end()).size(), addresses.size())
        << "an address was handed out twice";
}

TEST_F(TwoWorlds, ABridgeLeftByADeletedDataRootIsAdopted) {
    ASSERT_EXIT_CODE(run({}, {"true"}), 0);
    int index = hutch::net::link_index(roots_.bridge());
    ASSERT_NE(index, 0);
    forget_first_world();
    Result r = other_.hutch({"run", "--rm", rootfs_, "true"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(hutch::net::link_index(roots_.bridge()), index);
    // Its remover is now the one world that knows it: unused, hutch's, so it goes.
    EXPECT_EXIT_CODE(other_.hutch({"network", "rm", "bridge"}), 0);
    EXPECT_EQ(hutch::net::link_index(roots_.bridge()), 0);
}

TEST_F(TwoWorlds, AnUnusedHutchBridgeWithAnotherAddressIsReclaimedAUsedOneIsNot) {
    // The second world wants the same bridge name with another subnet.
    std::string bip = config_bip(roots_);
    std::string other_bip = "10.199." + std::to_string(::getpid() % 250) + ".1/24";
    json config = json::parse(read_file(other_.base() + "/config.json"));
    config["bip"] = other_bip;
    write_config(other_, config);

    {
        Running first(roots_, rootfs_);
        ASSERT_FALSE(first.address().empty()) << first.output();
        Result refused = other_.hutch({"run", "--rm", rootfs_, "true"});
        EXPECT_EXIT_CODE(refused, 125);
        ASSERT_EQ(refused.err_lines().size(), 1u) << describe(refused);
        EXPECT_NE(refused.err.find("in use by containers of another hutch world"), std::string::npos)
            << describe(refused);
        EXPECT_NE(refused.err.find(bip), std::string::npos) << describe(refused);
        EXPECT_EQ(addresses_on(roots_.bridge()), std::vector<std::string>{bip});
        EXPECT_EXIT_CODE(first.stop(), 0);
    }
    forget_first_world();
    Result reclaimed = other_.hutch({"run", "--rm", rootfs_, "sh", "-c", "ip -4 addr show eth0 | grep -c 'inet 10.199'"});
    EXPECT_EXIT_CODE(reclaimed, 0);
    EXPECT_EQ(reclaimed.out, "1\n");
    EXPECT_EQ(addresses_on(roots_.bridge()), std::vector<std::string>{other_bip});
    auto facts = link_facts(roots_.bridge());
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->alias, "hutch:" + trim(read_file(other_.data_root() + "/networks/.world")));
}

}  // namespace
}  // namespace hutch_it
