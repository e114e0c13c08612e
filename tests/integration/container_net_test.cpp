// What a container sees of its network, compared with Docker 20.10 (issue 11, REFERENCE.md
// "Devices, sysctls, groups"): the namespaced sysctls Docker sets, no IPv6 on a network without
// it, /etc/hostname with --uts host, resolv.conf behind a host with only loopback resolvers.
//
// Safety: sysctls are only read inside containers; the host's /etc/resolv.conf is replaced only
// for one hutch process, by a bind mount in a private mount namespace util-linux unshare makes.
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

class ContainerNetIntegration : public HutchTest {};

TEST_F(ContainerNetIntegration, AnyUserBindsLowPortsAndPingsAsInDocker) {
    // Docker 20.10 (reference 17): ip_unprivileged_port_start=0, ping_group_range=0 2147483647
    // in every container with a network namespace of its own. nobody has no capability at all.
    // busybox's ping only tries a raw socket: a static helper pings with a datagram socket.
    const std::string script =
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range; "
        "grep CapEff /proc/self/status; "
        "nc -l -p 80 & sleep 0.3; netstat -ltn | grep -c ':80 '; "
        "/icmp-echo 127.0.0.1";
    for (const char* network : {"bridge", "none"}) {
        SCOPED_TRACE(network);
        Result r = sh({"-u", "nobody", "--network", network, "-v", std::string(HUTCH_ICMP_ECHO) + ":/icmp-echo:ro"},
                      script);
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, "0\n0\t2147483647\nCapEff:\t0000000000000000\n1\nreply from 127.0.0.1\n");
    }
}

TEST_F(ContainerNetIntegration, DryRunCarriesTheSysctlsDockerPutsInConfigJson) {
    Result r = roots_.hutch({"run", "--dry-run", rootfs_, "true"});
    ASSERT_EXIT_CODE(r, 0);
    json config = json::parse(r.out);
    // As in the config.json dockerd hands runc (shared/reference/engines/docker-20.10-config.json).
    const json want = {{"net.ipv4.ip_unprivileged_port_start", "0"}, {"net.ipv4.ping_group_range", "0 2147483647"}};
    EXPECT_EQ(config["linux"]["sysctl"], want);
    // The host's network namespace is not the container's to change.
    Result host = roots_.hutch({"run", "--dry-run", "--network", "host", rootfs_, "true"});
    ASSERT_EXIT_CODE(host, 0);
    EXPECT_FALSE(json::parse(host.out)["linux"].contains("sysctl")) << host.out;
}

TEST_F(ContainerNetIntegration, NoIpv6AddressOnANetworkWithoutIpv6) {
    if (!path_exists("/proc/sys/net/ipv6")) GTEST_SKIP() << "this kernel has no IPv6: nothing to disable";
    // /proc/net/if_inet6 lists every IPv6 address of the namespace (::1, fe80::...).
    const std::string script =
        "echo v6=$(wc -l < /proc/net/if_inet6); "
        "for i in all default lo eth0; do [ -e /proc/sys/net/ipv6/conf/$i ] && echo $i=$(cat /proc/sys/net/ipv6/conf/$i/disable_ipv6); done; "
        "ip -6 addr";
    Result bridge = sh({}, script);
    EXPECT_EXIT_CODE(bridge, 0);
    EXPECT_EQ(bridge.out, "v6=0\nall=1\ndefault=1\nlo=1\neth0=1\n");
    Result none = sh({"--network", "none"}, script);
    EXPECT_EXIT_CODE(none, 0);
    EXPECT_EQ(none.out, "v6=0\nall=1\ndefault=1\nlo=1\n");
}

TEST_F(ContainerNetIntegration, Ipv6IsOffBeforeLoAndEth0ComeUp) {
    if (!path_exists("/proc/sys/net/ipv6")) GTEST_SKIP() << "this kernel has no IPv6: nothing to disable";
    // A link-local address is made when an interface comes up with IPv6 on: the child must turn
    // it off first, so none ever exists, not even until a later sysctl removes it.
    Result r = run({"--explain"}, {"true"});
    ASSERT_EXIT_CODE(r, 0);
    auto at = [&](const std::string& needle) { return r.err.find(needle); };
    std::size_t off = at("/proc/sys/net/ipv6/conf/all/disable_ipv6");
    std::size_t lo_up = at("RTM_NEWLINK {ifi_index=1, ifi_flags=IFF_UP");  // lo is always index 1
    std::size_t eth0_up = at("# ip link set eth0 up");
    ASSERT_NE(off, std::string::npos) << r.err;
    ASSERT_NE(lo_up, std::string::npos) << r.err;
    ASSERT_NE(eth0_up, std::string::npos) << r.err;
    EXPECT_LT(off, lo_up);
    EXPECT_LT(off, eth0_up);
}

TEST_F(ContainerNetIntegration, UtsHostStillNamesTheContainerInEtcHostname) {
    // Docker: with --uts host `hostname` is the host's, but the container's Config.Hostname (its
    // short id) is in /etc/hostname, $HOSTNAME and its /etc/hosts line.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    Result r = run_raw({"--uts", "host", rootfs_, "sh", "-c",
                        "hostname; echo $HOSTNAME; cat /etc/hostname; ip -4 addr show eth0 | grep -o 'inet [0-9.]*'; "
                        "tail -n1 /etc/hosts"});
    ASSERT_EXIT_CODE(r, 0);
    Strings ids = roots_.container_ids();
    ASSERT_EQ(ids.size(), 1u);
    std::string short_id = ids[0].substr(0, 12);
    Strings lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out;
    EXPECT_EQ(lines[0], host);
    EXPECT_EQ(lines[1], short_id);
    EXPECT_EQ(lines[2], short_id);
    EXPECT_EQ(lines[4], lines[3].substr(5) + "\t" + short_id);
    EXPECT_EXIT_CODE(roots_.hutch({"rm", ids[0]}), 0);
}

// hutch with /etc/resolv.conf replaced by `resolv` (and /run by an empty tmpfs, so no
// systemd-resolved upstream file exists unless `upstream` is given), in a private mount
// namespace of its own.
Result with_host_resolv(const TempRoots& roots, const std::string& rootfs, const std::string& resolv,
                        const std::string& upstream = "") {
    std::string file = roots.base() + "/host-resolv.conf";
    write_file(file, resolv);
    std::string script = "mount --bind " + file + " /etc/resolv.conf && mount -t tmpfs tmpfs /run || exit 99; ";
    if (!upstream.empty()) {
        write_file(roots.base() + "/upstream.conf", upstream);
        script += "mkdir -p /run/systemd/resolve && cp " + roots.base() + "/upstream.conf /run/systemd/resolve/resolv.conf; ";
    }
    script += "exec \"$@\"";
    Strings argv = {"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", hutch_binary()};
    for (const auto& a : roots.hutch_args({"run", "--rm", "--network", "none", rootfs, "cat", "/etc/resolv.conf"}))
        argv.push_back(a);
    return run_command(argv);
}

TEST_F(ContainerNetIntegration, LoopbackOnlyHostResolverKeepsItsSearchAndOptions) {
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "util-linux unshare is needed";
    const std::string stub = "nameserver 127.0.0.53\nsearch corp.example\noptions ndots:2\n";
    Result r = with_host_resolv(roots_, rootfs_, stub);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "search corp.example\noptions ndots:2\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");

    // Any loopback resolver, not only systemd's stub.
    r = with_host_resolv(roots_, rootfs_, "nameserver 127.0.0.1\nsearch corp.example\n");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "search corp.example\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");

    // With systemd-resolved's upstream list there, Docker reads that one.
    r = with_host_resolv(roots_, rootfs_, stub, "nameserver 192.0.2.53\nsearch lan.example\n");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "nameserver 192.0.2.53\nsearch lan.example\n");
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

}  // namespace
}  // namespace hutch_it
