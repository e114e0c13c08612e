// Rootless hutch's pure parts: the user's maps, its default roots, pasta's arguments, and the
// run flags a spec for a user without root takes or refuses.
#include <gtest/gtest.h>

#include "runtime/error.hpp"
#include "runtime/pasta.hpp"
#include "runtime/rootless.hpp"
#include "runtime/run_options.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using Map = std::vector<IdMapping>;

namespace {

const rootless::User kAlice{1000, 1000, "alice"};

TEST(Rootless, MapsTheUserToRootAndTheRangesAfterIt) {
    rootless::Maps m = rootless::user_maps(kAlice, "bob:1:5\nalice:100000:65536\nalice:300000:10\n", "1000:200000:65536\n");
    EXPECT_EQ(m.uids, (Map{{0, 1000, 1}, {1, 100000, 65536}, {65537, 300000, 10}}));
    // An entry by uid serves as newgidmap takes it.
    EXPECT_EQ(m.gids, (Map{{0, 1000, 1}, {1, 200000, 65536}}));
}

TEST(Rootless, AMissingEntryNamesTheFileAndTheLineToAdd) {
    std::string msg = usage_error([] { rootless::user_maps(kAlice, "bob:1:5\n", "alice:1:5\n"); });
    EXPECT_EQ(msg, "/etc/subuid has no entry for alice: rootless hutch maps the container's ids 1.. onto it "
                   "(add a line such as alice:100000:65536)");
    EXPECT_TRUE(contains(usage_error([] { rootless::user_maps(kAlice, "alice:1:5\n", ""); }), "/etc/subgid has no entry"));
    // A range overlapping the user's own id would map it twice.
    EXPECT_TRUE(contains(usage_error([] { rootless::user_maps(kAlice, "alice:999:5\n", "alice:5000:5\n"); }), "overlap"));
}

TEST(Rootless, KeepIdKeepsTheUsersIdAndLaysTheRangesAroundIt) {
    rootless::Maps one{{{0, 1000, 1}, {1, 100000, 65536}}, {{0, 1000, 1}, {1, 200000, 65536}}};
    rootless::Maps kept = rootless::keep_id(one);
    EXPECT_EQ(kept.uids, (Map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 64536}}));
    EXPECT_EQ(kept.gids, (Map{{0, 200000, 1000}, {1000, 1000, 1}, {1001, 201000, 64536}}));
    // Two ranges, the user's id falling in the second.
    rootless::Maps two{{{0, 1000, 1}, {1, 100000, 500}, {501, 300000, 1000}}, {{0, 1000, 1}, {1, 100000, 1500}}};
    EXPECT_EQ(rootless::keep_id(two).uids, (Map{{0, 100000, 500}, {500, 300000, 500}, {1000, 1000, 1}, {1001, 300500, 500}}));
    // Exactly enough: the user's id comes last.
    rootless::Maps just{{{0, 1000, 1}, {1, 100000, 1000}}, {{0, 1000, 1}, {1, 100000, 1000}}};
    EXPECT_EQ(rootless::keep_id(just).uids, (Map{{0, 100000, 1000}, {1000, 1000, 1}}));
    rootless::Maps few{{{0, 1000, 1}, {1, 100000, 10}}, {{0, 1000, 1}, {1, 100000, 10}}};
    EXPECT_TRUE(contains(usage_error([&] { rootless::keep_id(few); }), "hold only 10"));
}

TEST(Rootless, KeepIdOptionsPlaceTheUsersIdAndSizeTheNamespace) {
    rootless::Maps one{{{0, 1000, 1}, {1, 100000, 65536}}, {{0, 1000, 1}, {1, 200000, 65536}}};
    // podman's keep-id:uid=200,gid=210: the user is 200:210 inside.
    rootless::Maps placed = rootless::keep_id(one, rootless::parse_keep_id("keep-id:uid=200,gid=210"));
    EXPECT_EQ(placed.uids, (Map{{0, 100000, 200}, {200, 1000, 1}, {201, 100200, 65336}}));
    EXPECT_EQ(placed.gids, (Map{{0, 200000, 210}, {210, 1000, 1}, {211, 200210, 65326}}));
    // size=: that many ids in all, the user's among them.
    rootless::Maps sized = rootless::keep_id(one, rootless::parse_keep_id("keep-id:size=1500"));
    EXPECT_EQ(sized.uids, (Map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 499}}));
    rootless::Maps root_only = rootless::keep_id(one, rootless::parse_keep_id("keep-id:uid=0,gid=0,size=1"));
    EXPECT_EQ(root_only.uids, (Map{{0, 1000, 1}}));
    // The user's id past the size, or more ids than the ranges hold.
    EXPECT_TRUE(contains(usage_error([&] { rootless::keep_id(one, rootless::parse_keep_id("keep-id:size=500")); }),
                         "puts your id at 1000, beyond the 500 ids"));
    EXPECT_TRUE(contains(usage_error([&] { rootless::keep_id(one, rootless::parse_keep_id("keep-id:size=70000")); }),
                         "needs 69999 of /etc/subuid's ranges, which hold only 65536"));
    for (const char* bad : {"keep-id:", "keep-id:uid", "keep-id:uid=", "keep-id:uid=x", "keep-id:uid=-1", "keep-id:uid=4294967295",
                            "keep-id:size=0", "keep-id:name=a", "keep-id:uid=1,", "keep-id:uid=1,uid=2", "keep-idx"})
        EXPECT_FALSE(usage_error([&] { rootless::parse_keep_id(bad); }).empty()) << bad;
    EXPECT_TRUE(contains(usage_error([] { rootless::parse_keep_id("keep-id:name=a"); }), "\"name=a\""));
}

TEST(Rootless, DefaultRootsAreTheUsersOwn) {
    static std::map<std::string, const char*> env;
    auto getenv = [](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second;
    };
    env = {{"XDG_RUNTIME_DIR", "/run/user/1000"}, {"HOME", "/home/alice"}};
    Paths p = rootless::default_paths(getenv);
    EXPECT_EQ(p.root, "/run/user/1000/hutch");
    EXPECT_EQ(p.data_root, "/home/alice/.local/share/hutch");
    env = {{"XDG_RUNTIME_DIR", "relative"}, {"XDG_DATA_HOME", "/data"}, {"HOME", "/home/alice"}};
    p = rootless::default_paths(getenv);
    EXPECT_EQ(p.data_root, "/data/hutch");
    if (p.root.empty()) {  // unless this machine has a /run/user/<uid> of the test's own
        EXPECT_TRUE(contains(usage_error([&] { rootless::require_roots(p); }), "XDG_RUNTIME_DIR"));
    }
    env = {};
    p = rootless::default_paths(getenv);
    EXPECT_EQ(p.data_root, "");
}

TEST(Pasta, ArgumentsForwardOnlyWhatIsPublished) {
    std::vector<std::string> none = pasta::arguments(42, {}, true, "/s/pasta.pid");
    EXPECT_EQ(none, (std::vector<std::string>{"--config-net", "--quiet", "--foreground", "--no-map-gw", "--pid", "/s/pasta.pid",
                                              "--ipv4-only", "-t", "none", "-u", "none", "-T", "none", "-U", "none", "42"}));
    // One option per port: pasta applies an address prefix to the whole value it starts.
    std::vector<PublishedPort> ports = {{"127.0.0.1", 8080, 0, 80, "tcp"}, {"", 5353, 0, 53, "udp"}, {"", 8443, 0, 443, "tcp"}};
    EXPECT_EQ(pasta::arguments(42, ports, false, "/s/pasta.pid"),
              (std::vector<std::string>{"--config-net", "--quiet", "--foreground", "--no-map-gw", "--pid", "/s/pasta.pid",
                                        "-t", "127.0.0.1/8080:80", "-u", "5353:53", "-t", "8443:443", "-T", "none", "-U",
                                        "none", "42"}));
}

TEST(Pasta, PortsItCannotForwardAreRefused) {
    EXPECT_NO_THROW(pasta::check_ports({{"", 8080, 0, 80, "tcp"}, {"", 8080, 8080, 80, "udp"}}));
    EXPECT_TRUE(contains(usage_error([] { pasta::check_ports({{"", 0, 0, 80, "tcp"}}); }), "HOST_PORT:CONTAINER_PORT"));
    EXPECT_TRUE(contains(usage_error([] { pasta::check_ports({{"", 8000, 8010, 80, "tcp"}}); }), "8000-8010 is a range"));
    EXPECT_TRUE(contains(usage_error([] { pasta::check_ports({{"", 80, 0, 80, "sctp"}}); }), "not sctp"));
}

HostFacts rootless_facts() {
    HostFacts f;
    f.read_in_rootfs = [](const std::string&) { return std::string(); };
    f.read_host_file = [](const std::string& path) -> std::string { throw UsageError("cannot read " + path); };
    f.rootless = rootless::Maps{{{0, 1000, 1}, {1, 100000, 65536}}, {{0, 1000, 1}, {1, 100000, 65536}}};
    return f;
}

RunOptions rootless_base() {
    RunOptions o;
    o.rootfs = "/rootfs";
    o.command = {"true"};
    return o;
}

TEST(RunOptionsRootless, AUserNamespaceOfTheUsersMapsAndPastaByDefault) {
    Spec s = build_run_spec(rootless_base(), "id", rootless_facts());
    EXPECT_TRUE(s.hutch.rootless);
    EXPECT_TRUE(s.has_new_namespace(NamespaceType::kUser));
    EXPECT_EQ(s.linux.uid_mappings, (Map{{0, 1000, 1}, {1, 100000, 65536}}));
    EXPECT_EQ(s.hutch.network, "pasta");
    RunOptions o = rootless_base();
    o.network = "none";
    EXPECT_EQ(build_run_spec(o, "id", rootless_facts()).hutch.network, "none");
    // As root the default stays Docker's bridge, and pasta is rootless hutch's.
    HostFacts root = rootless_facts();
    root.rootless.reset();
    EXPECT_EQ(build_run_spec(rootless_base(), "id", root).hutch.network, "bridge");
    o.network = "pasta";
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, "id", root); }), "rootless hutch's network"));
}

TEST(RunOptionsRootless, KeepIdRunsAsTheUser) {
    RunOptions o = rootless_base();
    o.userns = "keep-id";
    Spec s = build_run_spec(o, "id", rootless_facts());
    EXPECT_EQ(s.process.user.uid, 1000u);
    EXPECT_EQ(s.process.user.gid, 1000u);
    EXPECT_EQ(s.linux.uid_mappings, (Map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 64536}}));
    o.user = "0";
    EXPECT_EQ(build_run_spec(o, "id", rootless_facts()).process.user.uid, 0u) << "-u still chooses";
    // keep-id:uid=,gid=: the command runs where the user's ids were put.
    o.user.clear();
    o.userns = "keep-id:uid=200,gid=210,size=1000";
    Spec placed = build_run_spec(o, "id", rootless_facts());
    EXPECT_EQ(placed.process.user.uid, 200u);
    EXPECT_EQ(placed.process.user.gid, 210u);
    EXPECT_EQ(placed.linux.uid_mappings, (Map{{0, 100000, 200}, {200, 1000, 1}, {201, 100200, 799}}));
    o.userns = "keep-id:gid=7";
    Spec gid_only = build_run_spec(o, "id", rootless_facts());
    EXPECT_EQ(gid_only.process.user.uid, 1000u);
    EXPECT_EQ(gid_only.process.user.gid, 7u);
    o.userns = "keep-id:uid=x";
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, "id", rootless_facts()); }), "invalid --userns keep-id option \"uid=x\""));
    // nomap: the subordinate ranges from 0, the user's own id nowhere; root inside.
    o.userns = "nomap";
    Spec unmapped = build_run_spec(o, "id", rootless_facts());
    EXPECT_EQ(unmapped.linux.uid_mappings, (Map{{0, 100000, 65536}}));
    EXPECT_EQ(unmapped.process.user.uid, 0u);
    o.image_layers = {"/layer"};
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, "id", rootless_facts()); }), "runs a rootfs directory, not an image"));
}

// Limits stay in the spec: the start puts them in a cgroup delegated to the user, or refuses
// (Cgroup::create_delegated); never dropped.
TEST(RunOptionsRootless, LimitsAreKeptForADelegatedCgroup) {
    RunOptions o = rootless_base();
    o.memory = "10m";
    o.pids_limit = "10";
    Spec s = build_run_spec(o, "id", rootless_facts());
    EXPECT_TRUE(s.linux.resources.limits_anything());
    EXPECT_EQ(s.linux.resources.memory_limit, 10 * 1024 * 1024);
    EXPECT_EQ(s.linux.resources.pids_limit, 10);
}

TEST(RunOptionsRootless, WhatNeedsRootIsRefused) {
    auto refused = [](void (*change)(RunOptions&), const std::string& needle) {
        RunOptions o = rootless_base();
        change(o);
        std::string msg = usage_error([&] { build_run_spec(o, "id", rootless_facts()); });
        EXPECT_TRUE(contains(msg, needle)) << msg;
    };
    refused([](RunOptions& o) { o.privileged = true; }, "--privileged needs root");
    refused([](RunOptions& o) { o.network = "bridge"; }, "--network bridge needs root");
    refused([](RunOptions& o) { o.device_cgroup_rules = {"c 1:3 rwm"}; }, "--device-cgroup-rule needs root");
    refused([](RunOptions& o) { o.uidmap = {"0:1:1"}; }, "--uidmap and --gidmap need root");
    refused([](RunOptions& o) { o.userns = "host"; }, "--userns host needs root");
    refused([](RunOptions& o) { o.publish = {"80"}; }, "HOST_PORT:CONTAINER_PORT");
    // A volume the user cannot read.
    RunOptions o = rootless_base();
    o.volumes = {"/secret:/s"};
    HostFacts facts = rootless_facts();
    facts.readable = [](const std::string& path) { return path != "/secret"; };
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, "id", facts); }), "volume /secret:/s: you cannot read /secret"));
}

}  // namespace
