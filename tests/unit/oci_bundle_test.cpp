// The OCI front-end's pure parts: config.json parsing (runtime/oci/bundle) and the state record
// (runtime/oci/state), without a container.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/cgroup_resources.hpp"
#include "runtime/error.hpp"
#include "runtime/oci/bundle.hpp"
#include "test_helpers.hpp"
#include "runtime/oci/state.hpp"
#include "runtime/spec.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

const std::string kBundle = "/srv/bundles/b1";

json minimal() {
    return json::parse(R"({"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},
                           "root":{"path":"rootfs"}})");
}

// --- parse_config --------------------------------------------------------------------------

TEST(OciBundle, ParseConfigAcceptsValidJson) {
    json j = oci::parse_config(R"({"a": [1, 2]})", "/b/config.json");
    EXPECT_EQ(j["a"][1], 2);
}

TEST(OciBundle, InvalidJsonNamesFileLineAndColumn) {
    // The stray '}' is on line 3, column 14.
    std::string text = "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": }\n}\n";
    std::string msg = usage_error([&] { oci::parse_config(text, "/b/config.json"); });
    EXPECT_TRUE(contains(msg, "/b/config.json")) << msg;
    EXPECT_TRUE(contains(msg, "line 3, column 14")) << msg;
}

TEST(OciBundle, InvalidJsonOnTheFirstLine) {
    std::string msg = usage_error([&] { oci::parse_config("{,", "c.json"); });
    EXPECT_TRUE(contains(msg, "line 1, column 2")) << msg;
}

TEST(OciBundle, TruncatedJsonPointsAtTheEnd) {
    std::string msg = usage_error([&] { oci::parse_config("{\n\"a\": 1,\n", "c.json"); });
    EXPECT_TRUE(contains(msg, "line 3")) << msg;
}

// Found by the fuzz targets (corpus config_json/ and host_config/regress-number-overflow): a
// number beyond a double is nlohmann's out_of_range, not a parse_error, and escaped as
// "hutch oci: [json.exception.out_of_range.406] number overflow parsing '1e400'".
TEST(OciBundle, NumberBeyondADoubleIsInvalidJsonNamingTheFile) {
    std::string msg = usage_error([&] { oci::parse_config(R"({"ociVersion": 1e400})", "/b/config.json"); });
    EXPECT_TRUE(contains(msg, "/b/config.json: invalid JSON: number overflow parsing '1e400'")) << msg;
}

TEST(OciBundle, EmptyFileIsInvalid) {
    std::string msg = usage_error([&] { oci::parse_config("", "c.json"); });
    EXPECT_TRUE(contains(msg, "c.json: invalid JSON")) << msg;
}

// --- ociVersion, shape ---------------------------------------------------------------------

TEST(OciBundle, VersionsOneXAreAccepted) {
    for (const char* v : {"1.0.0", "1.0.2", "1.1.0", "1.2.0", "1.0.2-dev"}) {
        json c = minimal();
        c["ociVersion"] = v;
        EXPECT_NO_THROW(oci::spec_from_config(c, kBundle)) << v;
    }
}

TEST(OciBundle, OtherVersionsAreRefusedByName) {
    for (const char* v : {"2.0.0", "0.9.0", "", "1"}) {
        json c = minimal();
        c["ociVersion"] = v;
        std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
        EXPECT_TRUE(contains(msg, "ociVersion")) << v << ": " << msg;
        EXPECT_TRUE(contains(msg, std::string("\"") + v + "\"")) << msg;
    }
}

TEST(OciBundle, MissingOrNonStringVersionIsRefused) {
    json c = minimal();
    c.erase("ociVersion");
    EXPECT_TRUE(contains(usage_error([&] { oci::spec_from_config(c, kBundle); }), "ociVersion is missing"));
    c["ociVersion"] = 1;
    EXPECT_TRUE(contains(usage_error([&] { oci::spec_from_config(c, kBundle); }), "ociVersion"));
}

TEST(OciBundle, ConfigMustBeAnObject) {
    EXPECT_TRUE(contains(usage_error([&] { oci::spec_from_config(json::array(), kBundle); }), "JSON object"));
}

TEST(OciBundle, ProcessArgsAndAbsoluteCwdAreRequired) {
    json c = minimal();
    c["process"]["args"] = json::array();
    EXPECT_TRUE(contains(usage_error([&] { oci::spec_from_config(c, kBundle); }), "process.args"));
    c = minimal();
    c["process"]["cwd"] = "work";
    std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
    EXPECT_TRUE(contains(msg, "process.cwd")) << msg;
    EXPECT_TRUE(contains(msg, "\"work\"")) << msg;
}

// --- paths relative to the bundle ----------------------------------------------------------

TEST(OciBundle, RelativeRootPathIsResolvedAgainstTheBundle) {
    Spec s = oci::spec_from_config(minimal(), kBundle);
    EXPECT_EQ(s.root.path, kBundle + "/rootfs");
    json c = minimal();
    c["root"]["path"] = "/abs/rootfs";
    EXPECT_EQ(oci::spec_from_config(c, kBundle).root.path, "/abs/rootfs");
}

TEST(OciBundle, RelativeBindSourcesAreResolvedOtherSourcesAreNot) {
    json c = minimal();
    c["mounts"] = json::parse(R"([
        {"destination": "/a", "type": "bind", "source": "data"},
        {"destination": "/b", "type": "none", "source": "more", "options": ["rbind", "ro"]},
        {"destination": "/c", "type": "bind", "source": "/abs"},
        {"destination": "/d", "type": "tmpfs", "source": "tmpfs"}])");
    Spec s = oci::spec_from_config(c, kBundle);
    ASSERT_EQ(s.mounts.size(), 4u);
    EXPECT_EQ(s.mounts[0].source, kBundle + "/data");
    EXPECT_EQ(s.mounts[1].source, kBundle + "/more");
    EXPECT_EQ(s.mounts[2].source, "/abs");
    EXPECT_EQ(s.mounts[3].source, "tmpfs");
}

// --- the fields the engine sends -----------------------------------------------------------

TEST(OciBundle, EngineFieldsAreRead) {
    json c = json::parse(R"({
      "ociVersion": "1.0.2",
      "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 1, "gid": 2, "umask": 23},
                  "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}],
                  "oomScoreAdj": 100, "noNewPrivileges": true},
      "root": {"path": "rootfs", "readonly": true},
      "hostname": "h", "domainname": "example.org",
      "annotations": {"a": "b"},
      "hooks": {"prestart": [{"path": "/bin/true"}],
                "createRuntime": [{"path": "/bin/a", "args": ["a", "1"], "env": ["X=1"], "timeout": 5}],
                "createContainer": [{"path": "/bin/b"}], "startContainer": [{"path": "/bin/c"}],
                "poststart": [{"path": "/bin/d"}], "poststop": [{"path": "/bin/e"}, {"path": "/bin/f"}]},
      "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "mount"}, {"type": "uts"}],
                "sysctl": {"net.ipv4.ip_forward": "1"},
                "cgroupsPath": "/x/y",
                "resources": {"pids": {"limit": 10}},
                "devices": [{"path": "/dev/n", "type": "c", "major": 1, "minor": 3, "fileMode": 420,
                             "uid": 7, "gid": 8}]}
    })");
    Spec s = oci::spec_from_config(c, kBundle);
    EXPECT_EQ(s.process.user.uid, 1u);
    EXPECT_EQ(s.process.user.gid, 2u);
    EXPECT_EQ(s.process.user.umask, 23u);
    ASSERT_EQ(s.process.rlimits.size(), 1u);
    EXPECT_EQ(s.process.rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(s.process.rlimits[0].soft, 1024u);
    EXPECT_EQ(s.process.rlimits[0].hard, 2048u);
    EXPECT_EQ(s.process.oom_score_adj, 100);
    EXPECT_TRUE(s.process.no_new_privileges);
    EXPECT_TRUE(s.root.readonly);
    EXPECT_EQ(s.domainname, "example.org");
    EXPECT_EQ(s.annotations.at("a"), "b");
    EXPECT_EQ(s.hooks.prestart.size(), 1u);
    ASSERT_EQ(s.hooks.create_runtime.size(), 1u);
    EXPECT_EQ(s.hooks.create_runtime[0].args, (Strings{"a", "1"}));
    EXPECT_EQ(s.hooks.create_runtime[0].env, (Strings{"X=1"}));
    EXPECT_EQ(s.hooks.create_runtime[0].timeout, 5);
    EXPECT_EQ(s.hooks.create_container.size(), 1u);
    EXPECT_EQ(s.hooks.start_container.size(), 1u);
    EXPECT_EQ(s.hooks.poststart.size(), 1u);
    EXPECT_EQ(s.hooks.poststop.size(), 2u);
    EXPECT_EQ(s.linux.sysctl.at("net.ipv4.ip_forward"), "1");
    EXPECT_EQ(s.linux.cgroups_path, "/x/y");
    EXPECT_EQ(s.linux.resources.pids_limit, 10);
    ASSERT_EQ(s.linux.devices.size(), 1u);
    EXPECT_EQ(s.linux.devices[0].file_mode, 420u);
    EXPECT_EQ(s.linux.devices[0].uid, 7u);
    EXPECT_EQ(s.linux.devices[0].gid, 8u);
    EXPECT_EQ(s.hutch.root, HutchSection::RootKind::kBind);
    EXPECT_EQ(s.hutch.stdio, HutchSection::Stdio::kInherited);
    EXPECT_FALSE(s.hutch.disable_ipv6);
    EXPECT_EQ(s.hutch.network, "none");  // its own network namespace, nothing added to it
}

TEST(OciBundle, NoNetworkNamespaceMeansTheHostsNetwork) {
    json c = minimal();
    c["linux"] = {{"namespaces", json::parse(R"([{"type": "pid"}, {"type": "mount"}])")}};
    EXPECT_EQ(oci::spec_from_config(c, kBundle).hutch.network, "host");
    c["linux"]["namespaces"].push_back({{"type", "network"}, {"path", "/proc/1/ns/net"}});
    EXPECT_EQ(oci::spec_from_config(c, kBundle).hutch.network, "none");
}

TEST(OciBundle, HookPathMustBeAbsolute) {
    json c = minimal();
    c["hooks"] = {{"poststart", json::parse(R"([{"path": "relative.sh"}])")}};
    std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
    EXPECT_TRUE(contains(msg, "poststart[0].path")) << msg;
}

TEST(OciBundle, HookTimeoutMustBePositive) {
    json c = minimal();
    c["hooks"] = {{"prestart", json::parse(R"([{"path": "/bin/true", "timeout": 0}])")}};
    EXPECT_TRUE(contains(usage_error([&] { oci::spec_from_config(c, kBundle); }), "timeout"));
}

// The front-end's private section never comes from a bundle: it could ask for host devices.
TEST(OciBundle, HutchSectionOfABundleIsIgnored) {
    json c = minimal();
    c["hutch"] = {{"privileged", true}, {"hostDevices", true}, {"network", "bridge"}, {"name", "x"}};
    Spec s = oci::spec_from_config(c, kBundle);
    EXPECT_FALSE(s.hutch.privileged);
    EXPECT_FALSE(s.hutch.host_devices);
    EXPECT_EQ(s.hutch.name, "");
    EXPECT_EQ(s.hutch.network, "host");
    EXPECT_EQ(s.hutch.root, HutchSection::RootKind::kBind);
    EXPECT_EQ(s.hutch.stdio, HutchSection::Stdio::kInherited);
    EXPECT_FALSE(s.hutch.disable_ipv6);
}

TEST(OciBundle, UnknownPropertiesAreIgnored) {
    json c = minimal();
    c["vendor.example"] = {{"x", 1}};
    c["linux"] = {{"someFutureField", true}};
    EXPECT_NO_THROW(oci::spec_from_config(c, kBundle));
}

// --- unsupported fields --------------------------------------------------------------------

TEST(OciBundle, UnsupportedFieldsAreNamed) {
    struct Case {
        const char* pointer;
        json value;
        const char* named;
    };
    const std::vector<Case> cases = {
        {"/linux/intelRdt", {{"closID", "g1"}}, "linux.intelRdt"},
        {"/linux/resources/blockIO", {{"weight", 10}}, "linux.resources.blockIO"},
        {"/linux/resources/memory/swappiness", 10, "linux.resources.memory.swappiness"},
        {"/linux/resources/unified", {{"memory.high", "1M"}}, "linux.resources.unified"},
        {"/process/scheduler", {{"policy", "SCHED_FIFO"}}, "process.scheduler"},
        {"/process/ioPriority", {{"class", "IOPRIO_CLASS_IDLE"}}, "process.ioPriority"},
    };
    const auto& list = oci::unsupported_fields();
    ASSERT_NE(std::find(list.begin(), list.end(), "linux.intelRdt"), list.end());
    for (const auto& k : cases) {
        if (std::find(list.begin(), list.end(), k.named) == list.end()) continue;  // supported by now
        json c = minimal();
        c[json::json_pointer(k.pointer)] = k.value;
        std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
        EXPECT_TRUE(contains(msg, k.named)) << k.pointer << ": " << msg;
        EXPECT_TRUE(contains(msg, "not supported")) << msg;
    }
}

TEST(OciBundle, DockersOwnConfigIsAccepted) {
    // dockerd 20.10's config.json as it hands it to its runtime: "blockIO": {"weight": 0}
    // included, which asks for nothing and was refused.
    std::string text = test::golden("docker-20.10-config.json");
    for (std::size_t at; (at = text.find("<data-root>")) != std::string::npos;) text.replace(at, 11, "/var/lib/docker");
    json c = oci::parse_config(text, "docker-20.10-config.json");
    ASSERT_TRUE(c["linux"]["resources"].contains("blockIO"));
    EXPECT_NO_THROW(oci::spec_from_config(c, kBundle));
}

TEST(OciBundle, EmptyUnsupportedSectionsAskForNothing) {
    // Engines write empty sections ("resources": {}).
    json c = minimal();
    c["linux"] = json::parse(R"({"intelRdt": null, "resources": {"blockIO": {}, "unified": {}},
                                 "timeOffsets": {}})");
    EXPECT_NO_THROW(oci::spec_from_config(c, kBundle));
}

TEST(OciBundle, MountIdMappingsAreTheMountsOwn) {
    json c = minimal();
    c["mounts"] = json::parse(R"([{"destination": "/a", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/b", "type": "bind", "source": "/x", "options": ["rbind"],
         "uidMappings": [{"containerID":0,"hostID":100000,"size":10}],
         "gidMappings": [{"containerID":5,"hostID":200000,"size":1}]}])");
    Spec s = oci::spec_from_config(c, kBundle);
    ASSERT_EQ(s.mounts.size(), 2u);
    EXPECT_TRUE(s.mounts[0].uid_mappings.empty());
    EXPECT_EQ(s.mounts[1].uid_mappings, (std::vector<IdMapping>{{0, 100000, 10}}));
    EXPECT_EQ(s.mounts[1].gid_mappings, (std::vector<IdMapping>{{5, 200000, 1}}));
    // Written back as read: `state` and `exec` read the spec from the saved config.
    EXPECT_EQ(spec_from_json(to_json(s)).mounts, s.mounts);
    c["mounts"][1]["uidMappings"][0]["size"] = 0;
    std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
    EXPECT_TRUE(contains(msg, "mounts[1].uidMappings[0].size")) << msg;
}

TEST(OciBundle, UnsupportedFieldsListNamesWhatCreateRefuses) {
    const auto& list = oci::unsupported_fields();
    for (const char* f : {"linux.intelRdt", "linux.resources.blockIO.weightDevice"})
        EXPECT_NE(std::find(list.begin(), list.end(), f), list.end()) << f;
    // Every listed top-level field is refused when set (the list and the check agree).
    for (const auto& field : list) {
        if (field.rfind("mounts[]", 0) == 0) continue;
        json c = minimal();
        std::string pointer = "/" + field;
        std::replace(pointer.begin(), pointer.end(), '.', '/');
        c[json::json_pointer(pointer)] = {{"x", 1}};
        std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
        EXPECT_TRUE(contains(msg, field)) << msg;
    }
}

// --- default config (`spec`) ---------------------------------------------------------------

TEST(OciBundle, DefaultConfigIsAValidBundleConfig) {
    json d = oci::default_config();
    EXPECT_EQ(d["ociVersion"].get<std::string>().substr(0, 2), "1.");
    EXPECT_EQ(d["root"]["path"], "rootfs");
    Spec s = oci::spec_from_config(d, kBundle);
    EXPECT_EQ(s.root.path, kBundle + "/rootfs");
    EXPECT_EQ(s.process.args, Strings{"sh"});
    EXPECT_TRUE(s.process.terminal);
    EXPECT_TRUE(s.process.no_new_privileges);
    using enum NamespaceType;
    for (NamespaceType ns : {kPid, kNetwork, kIpc, kUts, kMount}) EXPECT_TRUE(s.has_new_namespace(ns)) << namespace_name(ns);
    EXPECT_FALSE(s.has_new_namespace(NamespaceType::kUser));
    EXPECT_FALSE(s.linux.masked_paths.empty());
    EXPECT_FALSE(s.linux.readonly_paths.empty());
}

// --- container ids -------------------------------------------------------------------------

TEST(OciBundle, ValidIds) {
    for (const std::string& id : Strings{"a", "abc-123", "A_b.c+d", "...x", std::string(1024, 'x')})
        EXPECT_NO_THROW(oci::validate_id(id)) << id;
}

TEST(OciBundle, InvalidIdsAreNamed) {
    for (const std::string& id : Strings{"", ".", "..", "../x", "a/b", "a b", "a\nb", "x;y", "é", std::string(1025, 'x')}) {
        std::string msg = usage_error([&] { oci::validate_id(id); });
        EXPECT_TRUE(contains(msg, "invalid container id")) << msg;
        if (id.size() < 10 && id.find('\n') == std::string::npos) {
            EXPECT_TRUE(contains(msg, "\"" + id + "\"")) << msg;
        }
    }
    // A control character is never echoed raw into the one-line message.
    std::string msg = usage_error([&] { oci::validate_id("a\nb"); });
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// --- state ---------------------------------------------------------------------------------

TEST(OciState, StateJsonFollowsRuntimeMd) {
    oci::State s;
    s.id = "c1";
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.pid = 1234;
    s.created = "2026-01-01T00:00:00Z";
    s.annotations = {{"k", "v"}};
    json j = oci::state_json(s, "running");
    EXPECT_EQ(j["ociVersion"].get<std::string>().substr(0, 2), "1.");
    EXPECT_EQ(j["id"], "c1");
    EXPECT_EQ(j["status"], "running");
    EXPECT_EQ(j["pid"], 1234);
    EXPECT_EQ(j["bundle"], "/b");
    EXPECT_EQ(j["annotations"]["k"], "v");
    // runtime.md: pid is only REQUIRED (and meaningful) while the process exists.
    EXPECT_EQ(oci::state_json(s, "stopped")["pid"], 0);
    s.annotations.clear();
    EXPECT_TRUE(oci::state_json(s, "created")["annotations"].is_object());
}

TEST(OciState, LiveStartTimeOfThisProcessAndOfNone) {
    EXPECT_GT(oci::live_start_time(::getpid()), 0u);
    EXPECT_EQ(oci::live_start_time(0), 0u);
    EXPECT_EQ(oci::live_start_time(-1), 0u);
}

TEST(OciState, ARecycledPidIsNotTheContainer) {
    oci::State s;
    s.pid = ::getpid();
    s.pid_start_time = oci::live_start_time(s.pid);
    EXPECT_TRUE(oci::process_alive(s));
    s.pid_start_time += 1;  // another process that got the same pid later
    EXPECT_FALSE(oci::process_alive(s));
    s.pid_start_time = 0;
    EXPECT_FALSE(oci::process_alive(s));
}

TEST(OciState, SaveLoadAndStatus) {
    char tmpl[] = "/tmp/hutch-unit-oci.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string root = tmpl;
    oci::StateRoot r(root);
    ASSERT_EQ(::mkdir(r.dir("c1").c_str(), 0700), 0);
    oci::State s;
    s.id = "c1";
    s.bundle = "/b";
    s.pid = ::getpid();
    s.pid_start_time = oci::live_start_time(s.pid);
    s.cgroups = {"/sys/fs/cgroup/x"};
    r.save(s);
    oci::State back = r.load("c1");
    EXPECT_EQ(back.pid, s.pid);
    EXPECT_EQ(back.pid_start_time, s.pid_start_time);
    EXPECT_EQ(back.cgroups, s.cgroups);
    EXPECT_EQ(r.ids(), Strings{"c1"});
    EXPECT_EQ(oci::status_of(r, back), "running");  // alive, no exec.fifo
    ASSERT_EQ(::mkfifo(r.file("c1", "exec.fifo").c_str(), 0600), 0);
    EXPECT_EQ(oci::status_of(r, back), "created");
    back.pid_start_time += 1;
    EXPECT_EQ(oci::status_of(r, back), "stopped");
    EXPECT_TRUE(contains(usage_error([&] { r.load("nosuch"); }), "container nosuch does not exist"));
    EXPECT_TRUE(contains(usage_error([&] { r.load("../c1"); }), "invalid container id"));
    ::unlink(r.file("c1", "exec.fifo").c_str());
    ::unlink(r.file("c1", "state.json").c_str());
    ::rmdir(r.dir("c1").c_str());
    ::rmdir(root.c_str());
}

}  // namespace

// dockerd writes these into every config.json; they ask for nothing, or for what hutch applies
// (runtime/cgroup_resources.cpp), so a bundle with them is accepted.
TEST(OciBundle, AcceptsTheResourceFieldsHutchApplies) {
    json c = minimal();
    c["linux"]["resources"] = {{"blockIO", {{"weight", 500}}},
                               {"memory", {{"kernel", 8388608}, {"disableOOMKiller", true}}}};
    Spec s = oci::spec_from_config(c, kBundle);
    EXPECT_EQ(s.linux.resources.blkio_weight, 500);
    EXPECT_EQ(s.linux.resources.kernel_memory, 8388608);
    EXPECT_EQ(s.linux.resources.disable_oom_killer, true);
    c["linux"]["resources"] = {{"blockIO", {{"weight", 0}}}, {"memory", {{"disableOOMKiller", false}}}};
    EXPECT_FALSE(oci::spec_from_config(c, kBundle).linux.resources.limits_anything());
    c["linux"]["resources"] = {{"blockIO", {{"weight", 5}}}};
    EXPECT_TRUE(contains(usage_error([&] { oci::spec_from_config(c, kBundle); }), "blockIO.weight"));
}

// hugepageLimits and unified are read (runtime/cgroup_resources.cpp applies them): a page size
// the kernel could name, a cgroup2 file name that is never a path nor a file moving processes.
TEST(OciBundle, HugepageLimitsAndUnifiedAreReadAndChecked) {
    json c = minimal();
    c["linux"]["resources"] = {{"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 1048576}}}},
                               {"unified", {{"memory.high", "1G"}, {"cgroup.max.descendants", "3"}}}};
    Resources r = oci::spec_from_config(c, kBundle).linux.resources;
    ASSERT_EQ(r.hugepage_limits.size(), 1u);
    EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
    EXPECT_EQ(r.hugepage_limits[0].limit, 1048576u);
    EXPECT_EQ(r.unified.at("memory.high"), "1G");
    EXPECT_EQ(spec_from_json(to_json(oci::spec_from_config(c, kBundle))).linux.resources, r) << "round trip";
    for (const char* size : {"2mb", "MB", "2", "2TB", "../2MB", "1234567890MB"}) {
        c["linux"]["resources"] = {{"hugepageLimits", {{{"pageSize", size}, {"limit", 1}}}}};
        std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
        EXPECT_TRUE(contains(msg, std::string("\"") + size + "\"")) << msg;
    }
    for (const char* file : {"../memory.max", "memory/max", "cgroup.procs", "cgroup.kill", "cgroup.type",
                             "cgroup.subtree_control", "max", ".max", "Memory.max"}) {
        c["linux"]["resources"] = {{"unified", {{file, "1"}}}};
        std::string msg = usage_error([&] { oci::spec_from_config(c, kBundle); });
        EXPECT_TRUE(contains(msg, std::string("\"") + file + "\"")) << msg;
    }
    c["linux"]["resources"] = {{"unified", {{"memory.high", "1G\nmemory.max 0"}}}};
    EXPECT_TRUE(contains(usage_error([&] { oci::spec_from_config(c, kBundle); }), "not one line"));
}

// --systemd-cgroup (Docker's and podman's systemd cgroup driver): SLICE:PREFIX:NAME becomes the
// directory systemd gives that unit, its slice's parents expanded as systemd.slice(5) says.
TEST(OciSystemdCgroup, SliceScopeBecomesSystemdsCgroupfsPath) {
    EXPECT_EQ(systemd_cgroups_path("system.slice:docker:abc"), "/system.slice/docker-abc.scope");
    EXPECT_EQ(systemd_cgroups_path("machine.slice:libpod:f00"), "/machine.slice/libpod-f00.scope");
    EXPECT_EQ(systemd_cgroups_path("a-b-c.slice:p:n"), "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
    EXPECT_EQ(systemd_cgroups_path(":docker:x"), "/system.slice/docker-x.scope") << "an empty slice is system.slice";
    EXPECT_EQ(systemd_cgroups_path("-.slice:p:n"), "/p-n.scope") << "-.slice is the root";
    EXPECT_EQ(systemd_cgroups_path("user.slice::n"), "/user.slice/n.scope");
    EXPECT_EQ(systemd_cgroups_path("kubepods.slice:cri:kubepods-pod1.slice"), "/kubepods.slice/kubepods-pod1.slice")
        << "a slice as NAME is the unit itself";
}

TEST(OciSystemdCgroup, AnythingElseIsOneLineNamingThePath) {
    for (const std::string bad : {"", "/abs/path", "system.slice:docker", "a:b:c:d", "system:docker:x",
                                  "system.slice:docker:", "system.slice:../x:y", "system.slice:d:a/b",
                                  "-a.slice:p:n", "a--b.slice:p:n", "a-.slice:p:n", "sys tem.slice:p:n",
                                  "system.slice:p:.."}) {
        SCOPED_TRACE(bad);
        std::string message = usage_error([&] { systemd_cgroups_path(bad); });
        EXPECT_TRUE(contains(message, "\"" + bad + "\"")) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}
