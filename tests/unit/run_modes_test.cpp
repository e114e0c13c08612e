// runtime/run_modes.hpp: --network, --pid, --ipc, --uts and --security-opt parsed once into
// typed values.
#include <gtest/gtest.h>

#include "runtime/run_modes.hpp"
#include "runtime/run_options.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using Kind = NamespaceMode::Kind;

TEST(RunModes, NetworkModes) {
    EXPECT_TRUE(std::holds_alternative<BridgeNetwork>(parse_network_mode("bridge")));
    EXPECT_TRUE(std::holds_alternative<BridgeNetwork>(parse_network_mode("default")));
    EXPECT_TRUE(std::holds_alternative<NoNetwork>(parse_network_mode("none")));
    EXPECT_TRUE(std::holds_alternative<HostNetwork>(parse_network_mode("host")));
    NetworkMode joined = parse_network_mode("container:web-1");
    ASSERT_TRUE(std::holds_alternative<ContainerNetwork>(joined));
    EXPECT_EQ(std::get<ContainerNetwork>(joined).container, "web-1");
    NetworkMode named = parse_network_mode("backend");
    ASSERT_TRUE(std::holds_alternative<NamedNetwork>(named));
    EXPECT_EQ(std::get<NamedNetwork>(named).name, "backend");
}

TEST(RunModes, BadNetworkModesNameTheValue) {
    for (const char* bad : {"container:", "container:a/b", "bad name", "-x", "net/../x", ""})
        EXPECT_TRUE(contains(usage_error([&] { parse_network_mode(bad); }), std::string("--network \"") + bad + "\""))
            << bad;
}

TEST(RunModes, NamespaceModes) {
    EXPECT_EQ(parse_pid_mode("").kind, Kind::kPrivate);
    EXPECT_EQ(parse_pid_mode("host").kind, Kind::kHost);
    NamespaceMode pid = parse_pid_mode("container:db");
    EXPECT_EQ(pid.kind, Kind::kContainer);
    EXPECT_EQ(pid.container, "db");
    EXPECT_EQ(parse_ipc_mode("private").kind, Kind::kPrivate);
    EXPECT_EQ(parse_ipc_mode("shareable").kind, Kind::kPrivate);
    EXPECT_EQ(parse_ipc_mode("host").kind, Kind::kHost);
    EXPECT_EQ(parse_ipc_mode("container:db").container, "db");
    EXPECT_EQ(parse_uts_mode("").kind, Kind::kPrivate);
    EXPECT_TRUE(parse_uts_mode("host").host());
}

TEST(RunModes, BadNamespaceModes) {
    EXPECT_TRUE(contains(usage_error([] { parse_pid_mode("private"); }), "--pid \"private\""));
    EXPECT_TRUE(contains(usage_error([] { parse_pid_mode("container:"); }), "container:NAME"));
    EXPECT_TRUE(contains(usage_error([] { parse_ipc_mode("none"); }), "\"shareable\""));
    // Docker has no --uts container:NAME; hutch used to ignore it and give a UTS namespace of the
    // container's own.
    EXPECT_TRUE(contains(usage_error([] { parse_uts_mode("container:db"); }), "--uts \"container:db\""));
}

TEST(RunModes, UtsContainerIsRejectedByTheSpecBuilder) {
    RunOptions o;
    o.rootfs = "/rootfs";
    o.command = {"true"};
    o.uts = "container:db";
    HostFacts host;
    host.read_in_rootfs = [](const std::string&) { return std::string("root:x:0:0::/root:/bin/sh\n"); };
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, std::string(64, 'a'), host); }), "--uts"));
}

TEST(RunModes, SecurityOptionsByTable) {
    SecurityOptions none = parse_security_options({});
    EXPECT_FALSE(none.no_new_privileges.has_value());
    EXPECT_FALSE(none.seccomp_unconfined);
    for (const char* on : {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"})
        EXPECT_EQ(parse_security_options({on}).no_new_privileges, true) << on;
    for (const char* off : {"no-new-privileges:false", "no-new-privileges=false"})
        EXPECT_EQ(parse_security_options({off}).no_new_privileges, false) << off;
    EXPECT_EQ(parse_security_options({"no-new-privileges", "no-new-privileges=false"}).no_new_privileges, false);
    EXPECT_TRUE(parse_security_options({"seccomp=unconfined"}).seccomp_unconfined);
    EXPECT_TRUE(parse_security_options({"seccomp:unconfined"}).seccomp_unconfined);
    SecurityOptions file = parse_security_options({"seccomp=/a.json", "seccomp:/p:with=seps.json"});
    EXPECT_EQ(file.seccomp_profile, "/p:with=seps.json");
    EXPECT_EQ(file.seccomp_option, "seccomp:/p:with=seps.json");
    // unconfined wins over a profile, whatever the order.
    EXPECT_TRUE(parse_security_options({"seccomp=unconfined", "seccomp=/a.json"}).seccomp_unconfined);
}

TEST(RunModes, BadSecurityOptionsNameTheOption) {
    for (const char* bad : {"apparmor=x", "label:disable", "no-new-privileges=maybe", "no-new-privileges:", "seccomp",
                            "seccomp=", "", "NO-NEW-PRIVILEGES"})
        EXPECT_TRUE(contains(usage_error([&] { parse_security_options({bad}); }),
                             std::string("--security-opt \"") + bad + "\""))
            << bad;
}
