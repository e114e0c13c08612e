// Subnets, interface addresses and bridge names that hutch refuses before any link is made
// (issue 11): special-purpose IPv4 ranges and the host config's "bridge" and "bip".
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "netns/host_config.hpp"
#include "netns/ipv4.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;

namespace {

std::string range_of(const std::string& cidr) {
    auto subnet = net::Subnet::parse(cidr);
    EXPECT_TRUE(subnet) << cidr;
    return subnet ? net::special_range(*subnet).value_or("") : "<unparsed>";
}

// A host config file with `json`, read back.
struct ConfigFile {
    std::string path;
    explicit ConfigFile(const std::string& json) {
        char tmpl[] = "/tmp/hutch-config-XXXXXX";
        int fd = ::mkstemp(tmpl);
        EXPECT_GE(fd, 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << json;
    }
    ~ConfigFile() { ::unlink(path.c_str()); }
};

}  // namespace

TEST(SpecialRanges, EveryRangeTheKernelRoutesSpeciallyIsNamed) {
    EXPECT_TRUE(contains(range_of("127.0.0.0/8"), "loopback range 127.0.0.0/8"));
    EXPECT_TRUE(contains(range_of("127.3.0.0/16"), "loopback"));
    EXPECT_TRUE(contains(range_of("0.0.0.0/8"), "unspecified"));
    EXPECT_TRUE(contains(range_of("169.254.0.0/16"), "link-local range 169.254.0.0/16"));
    EXPECT_TRUE(contains(range_of("169.254.7.0/24"), "link-local"));
    EXPECT_TRUE(contains(range_of("224.0.0.0/4"), "multicast range 224.0.0.0/4"));
    EXPECT_TRUE(contains(range_of("239.1.0.0/16"), "multicast"));
    EXPECT_TRUE(contains(range_of("240.0.0.0/8"), "reserved and broadcast range 240.0.0.0/4"));
    EXPECT_TRUE(contains(range_of("255.255.255.255/32"), "broadcast"));
    // A range that contains a special one is refused as well.
    EXPECT_TRUE(contains(range_of("126.0.0.0/7"), "loopback"));
    EXPECT_TRUE(contains(range_of("0.0.0.0/0"), "unspecified"));
}

TEST(SpecialRanges, OrdinaryRangesAreFine) {
    for (const char* ok : {"10.88.0.0/16", "10.89.7.0/24", "172.16.0.0/12", "192.168.1.0/24", "192.0.2.0/24",
                           "126.0.0.0/8", "128.0.0.0/8", "169.253.0.0/16", "169.255.0.0/16", "223.255.255.0/24"})
        EXPECT_EQ(range_of(ok), "") << ok;
}

TEST(InterfaceAddress, ParsesDockersBipForm) {
    auto a = net::InterfaceAddress::parse("10.88.0.1/16");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->address.str(), "10.88.0.1");
    EXPECT_EQ(a->subnet.str(), "10.88.0.0/16");
    // The network and broadcast addresses are no gateway; prefixes outside 8..30, junk refused.
    for (const char* bad : {"10.88.0.0/16", "10.88.255.255/16", "10.88.0.1/31", "10.88.0.1/7", "10.88.0.1/016",
                            "10.88.0.1", "10.88.0.1/", "10.88.0.1/16x", "10.88.0/16", "/16", "", "10.88.0.1/+16"})
        EXPECT_FALSE(net::InterfaceAddress::parse(bad)) << bad;
}

TEST(HostConfig, BridgeNameMustBeAnInterfaceNameTheKernelTakesAsIs) {
    for (const char* ok : {"hutch0", "br-lab.1", "a", "x_y-z.0", "abcdefghijklmno"})
        EXPECT_TRUE(net::valid_bridge_name(ok)) << ok;
    for (const char* bad : {"", "abcdefghijklmnop", "a/b", "a b", "eth0:1", "br%d", "-br", ".", "..", "_br", "br\n"})
        EXPECT_FALSE(net::valid_bridge_name(bad)) << bad;
    ConfigFile file(R"({"bridge": "br%d"})");
    std::string message = usage_error([&] { net::read_host_config(file.path); });
    EXPECT_TRUE(contains(message, "\"bridge\""));
    EXPECT_TRUE(contains(message, "br%d"));
}

TEST(HostConfig, BipInASpecialRangeIsRefused) {
    for (const char* bip : {"127.0.0.1/8", "0.1.2.3/8", "169.254.0.1/16", "224.0.0.1/8", "240.0.0.1/8"}) {
        ConfigFile file(std::string(R"({"bip": ")") + bip + "\"}");
        std::string message = usage_error([&] { net::read_host_config(file.path); });
        EXPECT_TRUE(contains(message, bip));
        EXPECT_TRUE(contains(message, "range"));
    }
    ConfigFile good(R"({"bridge": "hutch1", "bip": "10.77.0.1/24"})");
    auto config = net::read_host_config(good.path);
    EXPECT_EQ(config.bridge.bridge, "hutch1");
    EXPECT_EQ(config.bridge.bip, "10.77.0.1/24");
}

// Docker's "iptables" and "ip-forward" keys: on unless false; anything but a boolean is refused.
TEST(HostConfig, FirewallKeysAreBooleans) {
    ConfigFile none(R"({})");
    auto defaults = net::read_host_config(none.path);
    EXPECT_TRUE(defaults.bridge.firewall);
    EXPECT_TRUE(defaults.bridge.ip_forward);
    ConfigFile off(R"({"iptables": false, "ip-forward": false})");
    auto config = net::read_host_config(off.path);
    EXPECT_FALSE(config.bridge.firewall);
    EXPECT_FALSE(config.bridge.ip_forward);
    for (const char* bad : {R"({"iptables": "false"})", R"({"ip-forward": 0})"}) {
        ConfigFile file(bad);
        std::string message = usage_error([&] { net::read_host_config(file.path); });
        EXPECT_TRUE(contains(message, "must be true or false")) << message;
    }
}

// Docker's "userns-remap": "default", a user, user:group or numeric ids; anything else (a
// non-string above all) is refused rather than read as "no remapping".
TEST(HostConfig, UsernsRemapIsANameOrRefused) {
    for (const char* ok : {"default", "hutch", "lab:lab", "1000", "1000:1000", "dock_remap-2"}) {
        ConfigFile file(std::string(R"({"userns-remap": ")") + ok + "\"}");
        EXPECT_EQ(net::read_host_config(file.path).userns_remap, ok);
    }
    for (const char* bad : {R"({"userns-remap": true})", R"({"userns-remap": 1})", R"({"userns-remap": ["x"]})",
                            R"({"userns-remap": "a b"})", R"({"userns-remap": "../x"})", R"({"userns-remap": "a:b:c"})",
                            R"({"userns-remap": "Root"})"}) {
        ConfigFile file(bad);
        EXPECT_TRUE(contains(usage_error([&] { net::read_host_config(file.path); }), "\"userns-remap\" must be")) << bad;
    }
}
