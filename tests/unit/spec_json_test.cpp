#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/spec.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

// Every field differs from its default.
Spec full_spec() {
    Spec s;
    s.oci_version = "1.1.0";
    s.process.terminal = true;
    s.process.user = {1000, 100, {10, 100, 2000}};
    s.process.args = {"/bin/sh", "-c", "echo \"hi\" && exit 3"};
    s.process.env = {"PATH=/usr/bin:/bin", "HOSTNAME=box", "EMPTY=", "UNICODE=\xc3\xa9"};
    s.process.cwd = "/work";
    s.process.capabilities = {{"CAP_CHOWN", "CAP_KILL"}, {"CAP_KILL"}, {"CAP_SETUID"},
                              {"CAP_CHOWN"}, {"CAP_NET_RAW"}};
    s.process.no_new_privileges = true;
    s.root = {"/var/lib/rootfs", true};
    s.hostname = "box";
    s.mounts = {
        {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
        {"/data", "bind", "/srv/data", {"rbind", "ro", "rprivate"}},
        {"/empty-opts", "tmpfs", "tmpfs", {}},
    };
    s.linux.namespaces = {{NamespaceType::kPid, ""}, {NamespaceType::kNetwork, "/proc/42/ns/net"},
                          {NamespaceType::kMount, ""}, {NamespaceType::kUser, "/run/netns/x"}};
    s.linux.masked_paths = {"/proc/kcore", "/sys/firmware"};
    s.linux.readonly_paths = {"/proc/sys"};
    s.linux.rootfs_propagation = "rslave";
    s.hutch.name = "web";
    s.hutch.network = "host";
    s.hutch.auto_remove = true;
    s.hutch.interactive = true;
    s.hutch.privileged = true;
    s.hutch.host_devices = true;
    s.hutch.host_shm = true;
    s.hutch.extra_hosts = {{"db", "10.0.0.5"}, {"v6", "::1"}};
    s.hutch.dns = {"4.4.4.2"};
    s.hutch.dns_search = {"domain.com", "corp"};
    s.hutch.dns_options = {"ndots:2"};
    s.hutch.security_opts = {"no-new-privileges", "seccomp=unconfined"};
    s.process.scheduler = Scheduler{"SCHED_DEADLINE", 0, 0, {"SCHED_FLAG_RESET_ON_FORK"}, 10'000'000, 30'000'000, 30'000'000};
    s.process.io_priority = IoPriority{"IOPRIO_CLASS_BE", 6};
    return s;
}

json minimal() {
    return json::parse(R"({"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},
                           "root":{"path":"rootfs"}})");
}

std::string config_error(const json& j) {
    return usage_error([&] { spec_from_json(j); });
}

}  // namespace

TEST(SpecJson, RoundTripEveryField) {
    Spec s = full_spec();
    EXPECT_EQ(spec_from_json(to_json(s)), s);
}

TEST(SpecJson, RoundTripThroughText) {
    Spec s = full_spec();
    std::string text = to_json(s).dump(2);
    EXPECT_EQ(spec_from_json(json::parse(text)), s);
}

TEST(SpecJson, RoundTripDefaultSpec) {
    Spec s;
    EXPECT_EQ(spec_from_json(to_json(s)), s);
}

TEST(SpecJson, OciFieldNames) {
    json j = to_json(full_spec());
    EXPECT_EQ(j["ociVersion"], "1.1.0");
    EXPECT_EQ(j["process"]["user"], json::parse(R"({"uid":1000,"gid":100,"additionalGids":[10,100,2000]})"));
    EXPECT_EQ(j["process"]["noNewPrivileges"], true);
    EXPECT_EQ(j["process"]["capabilities"]["ambient"], json::array({"CAP_NET_RAW"}));
    EXPECT_EQ(j["root"], json::parse(R"({"path":"/var/lib/rootfs","readonly":true})"));
    EXPECT_EQ(j["mounts"][1], json::parse(R"({"destination":"/data","type":"bind",
              "source":"/srv/data","options":["rbind","ro","rprivate"]})"));
    EXPECT_FALSE(j["mounts"][2].contains("options"));
    EXPECT_EQ(j["linux"]["namespaces"][0], json::parse(R"({"type":"pid"})"));
    EXPECT_EQ(j["linux"]["namespaces"][1], json::parse(R"({"type":"network","path":"/proc/42/ns/net"})"));
    EXPECT_EQ(j["linux"]["maskedPaths"], json::array({"/proc/kcore", "/sys/firmware"}));
    EXPECT_EQ(j["linux"]["readonlyPaths"], json::array({"/proc/sys"}));
    EXPECT_EQ(j["linux"]["rootfsPropagation"], "rslave");
    EXPECT_EQ(j["hutch"]["extraHosts"][0], json::parse(R"({"name":"db","address":"10.0.0.5"})"));
    EXPECT_EQ(j["hutch"]["dnsSearch"], json::array({"domain.com", "corp"}));
}

TEST(SpecJson, MinimalConfigGetsDefaults) {
    Spec s = spec_from_json(minimal());
    EXPECT_EQ(s.process.args, Strings{"sh"});
    EXPECT_EQ(s.process.user, (User{0, 0, {}}));
    EXPECT_EQ(s.process.cwd, "/");
    EXPECT_EQ(s.root.path, "rootfs");
    EXPECT_FALSE(s.root.readonly);
    EXPECT_EQ(s.hutch.network, "bridge");
    EXPECT_TRUE(s.mounts.empty());
    EXPECT_TRUE(s.linux.namespaces.empty());
}

TEST(SpecJson, HasNewNamespace) {
    Spec s = full_spec();
    EXPECT_TRUE(s.has_new_namespace(NamespaceType::kPid));
    EXPECT_FALSE(s.has_new_namespace(NamespaceType::kNetwork));  // joins a path
    EXPECT_FALSE(s.has_new_namespace(NamespaceType::kIpc));      // absent
}

// Every OCI namespace name reads to its kind and prints back as the same name, so config.json,
// stored records and --dry-run output are what they were when the type was a string.
TEST(SpecJson, NamespaceTypesRoundTripByName) {
    json j = minimal();
    j["linux"]["namespaces"] = json::array();
    for (const char* name : {"mount", "uts", "ipc", "pid", "network", "user", "cgroup"})
        j["linux"]["namespaces"].push_back({{"type", name}});
    Spec s = spec_from_json(j);
    ASSERT_EQ(s.linux.namespaces.size(), 7u);
    EXPECT_EQ(s.linux.namespaces[5].type, NamespaceType::kUser);
    EXPECT_EQ(s.linux.namespaces[6].type, NamespaceType::kCgroup);
    EXPECT_EQ(to_json(s)["linux"]["namespaces"], j["linux"]["namespaces"]);
}

// An unknown type is refused where the JSON is read, naming the value and where it is.
TEST(SpecJson, UnknownNamespaceTypeNamesValueAndPath) {
    json j = minimal();
    j["linux"]["namespaces"] = json::parse(R"([{"type":"pid"},{"type":"bogus"}])");
    std::string m = config_error(j);
    EXPECT_TRUE(contains(m, "unsupported namespace type \"bogus\"")) << m;
    EXPECT_TRUE(contains(m, "linux.namespaces[1].type")) << m;
    j["linux"]["namespaces"] = json::parse(R"([{"path":"/proc/1/ns/net"}])");
    EXPECT_TRUE(contains(config_error(j), "unsupported namespace type \"\"")) << config_error(j);
}

TEST(SpecJson, MissingProcessNamesPath) {
    json j = minimal();
    j.erase("process");
    auto m = config_error(j);
    EXPECT_TRUE(contains(m, "process"));
    EXPECT_TRUE(contains(m, "missing"));
}

TEST(SpecJson, MissingRootNamesPath) {
    json j = minimal();
    j.erase("root");
    auto m = config_error(j);
    EXPECT_TRUE(contains(m, "root"));
    EXPECT_TRUE(contains(m, "missing"));
}

TEST(SpecJson, WrongTypesNameThePath) {
    struct Case {
        const char* pointer;
        json value;
        const char* path;
    };
    for (const Case& c : {Case{"/process/args", 5, "process.args"},
                          Case{"/process/args", json::array({"sh", 1}), "process.args"},
                          Case{"/process/env", "PATH=/bin", "process.env"},
                          Case{"/process/cwd", json::array(), "process.cwd"},
                          Case{"/process/terminal", "yes", "process.terminal"},
                          Case{"/process/user", json::parse(R"({"uid":"0"})"), "process.user.uid"},
                          Case{"/process/capabilities", json::parse(R"({"bounding":"CAP_CHOWN"})"),
                               "process.capabilities.bounding"},
                          Case{"/root/path", 7, "root.path"},
                          Case{"/hostname", false, "hostname"},
                          Case{"/mounts", json::object(), "mounts"},
                          Case{"/mounts", json::parse(R"([{"destination":"/a"},{"destination":"/b","options":"ro"}])"),
                               "mounts[1].options"},
                          Case{"/linux", json::parse(R"({"namespaces":[{"type":3}]})"),
                               "linux.namespaces[0].type"},
                          Case{"/hutch", json::parse(R"({"extraHosts":[{"name":"a","address":1}]})"),
                               "hutch.extraHosts[0].address"}}) {
        SCOPED_TRACE(c.path);
        json j = minimal();
        j[json::json_pointer(c.pointer)] = c.value;
        EXPECT_TRUE(contains(config_error(j), c.path));
    }
}

TEST(SpecJson, NonObjectConfigRejected) {
    EXPECT_TRUE(contains(config_error(json::array()), "object"));
    EXPECT_TRUE(contains(config_error(json("x")), "object"));
}

// A section of the wrong type must not be read as empty ("process": "oops" would give a spec
// with no args): spec.hpp promises a UsageError naming the path of a mistyped field.
TEST(SpecJson, MistypedSectionNamesThePath) {
    struct Case {
        const char* pointer;
        json value;
        const char* path;
    };
    for (const Case& c : {Case{"/process", "oops", "process"}, Case{"/root", 5, "root"},
                          Case{"/process/user", "nobody", "process.user"},
                          Case{"/mounts", json::array({5}), "mounts[0]"},
                          Case{"/linux", "x", "linux"}}) {
        SCOPED_TRACE(c.path);
        json j = minimal();
        j[json::json_pointer(c.pointer)] = c.value;
        EXPECT_TRUE(contains(config_error(j), c.path));
    }
}

// process.scheduler and process.ioPriority (config.md): names and ranges checked where the
// config is read, the bad value named (the kernel would only say EINVAL at the start).
TEST(SpecJson, SchedulerAndIoPriorityAreChecked) {
    struct Case {
        const char* pointer;
        json value;
        const char* says;
    };
    for (const Case& c : {Case{"/process/scheduler", json::parse(R"({"nice":3})"), "process.scheduler.policy: missing"},
                          Case{"/process/scheduler", json::parse(R"({"policy":"SCHED_FAST"})"), "\"SCHED_FAST\" is not a policy"},
                          Case{"/process/scheduler", json::parse(R"({"policy":"SCHED_BATCH","nice":20})"), "scheduler.nice: 20"},
                          Case{"/process/scheduler", json::parse(R"({"policy":"SCHED_FIFO"})"), "scheduler.priority: 0 is not from 1 to 99"},
                          Case{"/process/scheduler", json::parse(R"({"policy":"SCHED_OTHER","priority":5})"), "must be 0 for SCHED_OTHER"},
                          Case{"/process/scheduler", json::parse(R"({"policy":"SCHED_RR","priority":5,"flags":["SCHED_FLAG_X"]})"),
                               "\"SCHED_FLAG_X\" is not a flag"},
                          Case{"/process/scheduler", json::parse(R"({"policy":"SCHED_BATCH","flags":["SCHED_FLAG_UTIL_CLAMP_MIN"]})"),
                               "\"SCHED_FLAG_UTIL_CLAMP_MIN\" is not supported"},
                          Case{"/process/scheduler", json::parse(R"({"policy":"SCHED_BATCH","runtime":100})"),
                               "are for SCHED_DEADLINE, not SCHED_BATCH"},
                          Case{"/process/ioPriority", json::parse(R"({"priority":1})"), "process.ioPriority.class: missing"},
                          Case{"/process/ioPriority", json::parse(R"({"class":"IOPRIO_CLASS_NONE"})"), "\"IOPRIO_CLASS_NONE\" is not a class"},
                          Case{"/process/ioPriority", json::parse(R"({"class":"IOPRIO_CLASS_BE","priority":8})"), "ioPriority.priority: 8"}}) {
        SCOPED_TRACE(c.says);
        json j = minimal();
        j[json::json_pointer(c.pointer)] = c.value;
        EXPECT_TRUE(contains(config_error(j), c.says)) << config_error(j);
    }
    json ok = minimal();
    ok["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 10}};
    ok["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}};
    Spec s = spec_from_json(ok);
    ASSERT_TRUE(s.process.scheduler);
    EXPECT_EQ(s.process.scheduler->priority, 10);
    ASSERT_TRUE(s.process.io_priority);
    EXPECT_EQ(s.process.io_priority->priority, 0);
}

// linux.memoryPolicy: a mode, flags and nodes set_mempolicy(2) takes, each checked when the config
// is read (a typo would otherwise be an EINVAL at create, or worse a policy not asked for).
TEST(SpecJson, MemoryPolicyIsChecked) {
    for (const auto& [policy, says] : std::vector<std::pair<const char*, const char*>>{
             {R"({"nodes":"0"})", "memoryPolicy.mode: missing"},
             {R"({"mode":"MPOL_FAST","nodes":"0"})", "unknown mode \"MPOL_FAST\""},
             {R"({"mode":"MPOL_BIND"})", "MPOL_BIND needs nodes"},
             {R"({"mode":"MPOL_LOCAL","nodes":"0"})", "MPOL_LOCAL takes no nodes"},
             {R"({"mode":"MPOL_BIND","nodes":"0-"})", "\"0-\" is not a list"},
             {R"({"mode":"MPOL_BIND","nodes":"3-1"})", "\"3-1\" is not a list"},
             {R"({"mode":"MPOL_BIND","nodes":"1024"})", "\"1024\" is not a list"},
             {R"({"mode":"MPOL_BIND","nodes":"0,"})", "\"0,\" is not a list"},
             {R"({"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_X"]})", "unknown flag \"MPOL_F_X\""},
             {R"({"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES","MPOL_F_RELATIVE_NODES"]})", "exclude each other"}}) {
        SCOPED_TRACE(policy);
        json j = minimal();
        j["linux"]["memoryPolicy"] = json::parse(policy);
        EXPECT_TRUE(contains(config_error(j), says)) << config_error(j);
    }
    json ok = minimal();
    ok["linux"]["memoryPolicy"] = {{"mode", "MPOL_INTERLEAVE"}, {"nodes", "0-3,7"}, {"flags", {"MPOL_F_STATIC_NODES"}}};
    Spec s = spec_from_json(ok);
    ASSERT_TRUE(s.linux.memory_policy);
    EXPECT_EQ(s.linux.memory_policy->nodes, "0-3,7");
    EXPECT_EQ(spec_from_json(to_json(s)).linux.memory_policy, s.linux.memory_policy) << "round trip";
}

// linux.timeOffsets: the two clocks a time namespace has, each with whole seconds and
// nanoseconds below one second (what /proc/PID/timens_offsets takes); a "time" namespace entry.
TEST(SpecJson, TimeOffsetsAreChecked) {
    for (const auto& [offsets, says] : std::vector<std::pair<const char*, const char*>>{
             {R"({"realtime":{"secs":1}})", "timeOffsets.realtime: unknown clock"},
             {R"({"boottime":{"secs":1,"nanosecs":1000000000}})", "boottime.nanosecs: must be below 1000000000"},
             {R"({"boottime":{"secs":1.5}})", "boottime.secs: must be a whole number"},
             {R"({"monotonic":{"nanosecs":-1}})", "monotonic.nanosecs: -1 is out of range"},
             {R"({"monotonic":7})", "timeOffsets.monotonic: must be an object"}}) {
        SCOPED_TRACE(offsets);
        json j = minimal();
        j["linux"]["timeOffsets"] = json::parse(offsets);
        EXPECT_TRUE(contains(config_error(j), says)) << config_error(j);
    }
    json ok = minimal();
    ok["linux"]["namespaces"] = {{{"type", "time"}}};
    ok["linux"]["timeOffsets"] = {{"boottime", {{"secs", -86400}}}, {"monotonic", {{"secs", 3600}, {"nanosecs", 5}}}};
    Spec s = spec_from_json(ok);
    ASSERT_EQ(s.linux.namespaces.size(), 1u);
    EXPECT_EQ(s.linux.namespaces[0].type, NamespaceType::kTime);
    EXPECT_EQ(s.linux.time_offsets.at("boottime"), (TimeOffset{-86400, 0}));
    EXPECT_EQ(s.linux.time_offsets.at("monotonic"), (TimeOffset{3600, 5}));
    EXPECT_EQ(spec_from_json(to_json(s)).linux, s.linux) << "round trip";
}

// Found by the config_json fuzz target (corpus config_json/regress-float-integer): numbers were
// converted to the field's type whatever they were, a float beyond the type with undefined
// behaviour (a device minor of 22955555555555555555, which JSON reads as a double), -1 into an
// unsigned field as 4294967295, 1.5 as 1. Each is now refused, naming the path.
TEST(SpecJson, NumbersThatDoNotFitTheFieldNameThePath) {
    struct Case {
        const char* pointer;
        json value;
        const char* path;
    };
    for (const Case& c : {Case{"/linux/resources", json::parse(R"({"devices":[{"minor":22955555555555555555}]})"),
                               "linux.resources.devices[0].minor"},
                          Case{"/process/oomScoreAdj", 1.5, "process.oomScoreAdj"},
                          Case{"/process/oomScoreAdj", 4294967296LL, "process.oomScoreAdj"},
                          Case{"/process/consoleSize", json::parse(R"({"height":-1,"width":80})"), "process.consoleSize.height"},
                          Case{"/process/user", json::parse(R"({"additionalGids":[1e300]})"), "process.user.additionalGids"},
                          Case{"/process/user", json::parse(R"({"additionalGids":{"a":1}})"), "process.user.additionalGids"},
                          Case{"/process/rlimits", json::parse(R"([{"type":"RLIMIT_NOFILE","soft":-1,"hard":1}])"),
                               "process.rlimits[0].soft"},
                          Case{"/linux/seccomp", json::parse(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                               {"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":-1,"value":0,"op":"SCMP_CMP_EQ"}]}]})"),
                               "linux.seccomp.syscalls[0].args[0].index"}}) {
        SCOPED_TRACE(c.path);
        json j = minimal();
        j[json::json_pointer(c.pointer)] = c.value;
        EXPECT_TRUE(contains(config_error(j), c.path)) << config_error(j);
    }
    json j = minimal();
    j["process"]["rlimits"] = json::parse(R"([{"type":"RLIMIT_NOFILE","soft":18446744073709551615,"hard":1}])");
    EXPECT_EQ(spec_from_json(j).process.rlimits[0].soft, UINT64_MAX);  // RLIM_INFINITY still reads
}

// A negative uid/gid must not wrap to 4294967295: (uid_t)-1 means "unchanged" to setresuid,
// which would leave the process root.
TEST(SpecJson, NegativeUidRejected) {
    json j = minimal();
    j["process"]["user"] = json::parse(R"({"uid":-1,"gid":0})");
    EXPECT_TRUE(contains(config_error(j), "process.user.uid"));
    j["process"]["user"] = json::parse(R"({"uid":0,"gid":-1})");
    EXPECT_TRUE(contains(config_error(j), "process.user.gid"));
}
