// `hutch audit`'s rules on Specs built the way `hutch run` builds them (build_run_spec with a
// fake host), and on OCI configs as config.json has them.
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "caps/audit.hpp"
#include "runtime/run_options.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using audit::Finding;
using audit::Level;
using hutch::test::contains;
using Strings = std::vector<std::string>;

namespace {

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// Every rule, in the order the audit reports them.
const Strings kRules = {"5.4 privileged",      "5.3 capabilities",     "5.3 dangerous-cap",
                        "5.9 host-network",    "5.15 host-pid",        "5.16 host-ipc",
                        "5.20 host-uts",       "5.31 control-socket",  "5.17 host-devices",
                        "5.5 sensitive-mount",
                        "5.19 mount-propagation", "5.12 read-only-rootfs", "5.25 no-new-privileges",
                        "5.21 seccomp",        "4.1 root-user",        "5.10 memory-limit",
                        "5.11 cpu-shares",     "5.14 restart-policy", "5.18 ulimits",         "5.28 pids-limit"};

HostFacts fake_host() {
    HostFacts h;
    h.caps = caps::HostCaps{40, ~caps::CapSet{0}};
    h.hostname = "hosty";
    h.read_in_rootfs = [](const std::string& path) -> std::string {
        if (path == "/etc/passwd") return "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
        if (path == "/etc/group") return "root:x:0:\napp:x:1000:\n";
        return "";
    };
    h.read_host_file = [](const std::string&) -> std::string { return ""; };
    h.host_device = [](const std::string& path) -> devices::HostDevice {
        if (path == "/dev/fuse") return {'c', 10, 229, 0666, 0, 0};
        if (path == "/dev/vda") return {'b', 254, 0, 0660, 0, 6};
        throw UsageError("invalid --device \"" + path + "\": No such file or directory");
    };
    return h;
}

RunOptions base() {
    RunOptions o;
    o.rootfs = "/rootfs";
    o.command = {"/bin/sh"};
    o.network = "none";
    return o;
}

Spec build(const RunOptions& o) { return build_run_spec(o, kId, fake_host()); }

// A filter in the shape of Docker's default: deny by default, allow a list.
Seccomp allow_list_filter() {
    Seccomp sc;
    sc.default_action = "SCMP_ACT_ERRNO";
    sc.default_errno_ret = 1;
    sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
    sc.syscalls = {{{"read", "write", "exit_group"}, "SCMP_ACT_ALLOW", {}, {}}};
    return sc;
}

// What docs/commands/audit.md recommends: least privilege on every rule the flags can reach.
Spec hardened() {
    auto o = base();
    o.read_only = true;
    o.cap_drop = {"ALL"};
    o.cap_add = {"NET_BIND_SERVICE"};
    o.security_opts = {"no-new-privileges"};
    o.user = "app";
    o.volumes = {"/srv/data:/data:ro"};
    o.memory = "64m";
    o.pids_limit = "100";
    o.cpu_shares = "512";
    Spec s = build(o);
    // hutch's default filter is a matter of build_run_spec; the rules only ask that one exists.
    if (!s.linux.seccomp) s.linux.seccomp = allow_list_filter();
    return s;
}

// Everything the audit warns about, at once.
RunOptions risky_options() {
    auto o = base();
    o.cap_add = {"SYS_ADMIN", "NET_ADMIN"};
    o.pid = o.ipc = o.uts = o.network = "host";
    o.volumes = {"/var/run/docker.sock:/var/run/docker.sock:ro", "/etc:/host/etc",
                 "/srv:/srv:rshared"};
    o.security_opts = {"seccomp=unconfined"};
    o.device_cgroup_rules = {"b *:* rw"};
    o.restart = "always";
    return o;
}

Spec risky() {
    Spec s = build(risky_options());
    s.linux.seccomp.reset();  // seccomp=unconfined
    return s;
}

std::vector<Finding> with_id(const std::vector<Finding>& findings, const std::string& id) {
    std::vector<Finding> out;
    std::copy_if(findings.begin(), findings.end(), std::back_inserter(out),
                 [&](const Finding& f) { return f.id == id; });
    return out;
}

// The one finding a rule gives (a test failure when it gives none or several).
Finding only(const std::vector<Finding>& findings, const std::string& id) {
    auto matches = with_id(findings, id);
    EXPECT_EQ(matches.size(), 1u) << id;
    return matches.empty() ? Finding{} : matches[0];
}

Level level_of(const Spec& spec, const std::string& id) { return only(audit::audit(spec), id).level; }

bool any_warn(const std::vector<Finding>& findings, const std::string& id) {
    auto matches = with_id(findings, id);
    return std::any_of(matches.begin(), matches.end(), [](const Finding& f) { return f.level == Level::kWarn; });
}

Spec with_volume(const std::string& volume) {
    auto o = base();
    o.volumes = {volume};
    return build(o);
}

}  // namespace

// --- every rule: risky WARN, hardened PASS ---------------------------------------------------

TEST(AuditRules, HardenedProfilePassesEveryRule) {
    auto findings = audit::audit(hardened());
    for (const auto& id : kRules) {
        SCOPED_TRACE(id);
        Finding f = only(findings, id);
        EXPECT_EQ(f.level, Level::kPass) << f.title;
        EXPECT_FALSE(f.title.empty());
        EXPECT_FALSE(f.why.empty());
        EXPECT_FALSE(f.fix.empty());
    }
    EXPECT_EQ(findings.size(), kRules.size());
}

TEST(AuditRules, RiskyProfileWarnsEveryRuleItReaches) {
    auto findings = audit::audit(risky());
    for (const auto& id : kRules) {
        SCOPED_TRACE(id);
        if (id == "5.4 privileged") continue;  // below, on its own
        if (id == "5.18 ulimits") {  // CIS: a manual check; no --ulimit here is the default
            EXPECT_EQ(only(findings, id).level, Level::kPass);
            continue;
        }
        EXPECT_TRUE(any_warn(findings, id));
    }
    // Findings come in rule order, so a risky and a hardened report line up.
    std::vector<std::string> order;
    for (const auto& f : findings)
        if (order.empty() || order.back() != f.id) order.push_back(f.id);
    EXPECT_EQ(order, kRules);
}

TEST(AuditRules, Privileged) {
    auto o = base();
    o.privileged = true;
    Spec s = build(o);
    s.linux.seccomp.reset();  // --privileged runs unconfined
    auto findings = audit::audit(s);
    Finding f = only(findings, "5.4 privileged");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_TRUE(contains(f.fix, "--privileged"));
    EXPECT_EQ(level_of(hardened(), "5.4 privileged"), Level::kPass);
    // Everything privileged brings is named by its own rule too.
    EXPECT_TRUE(any_warn(findings, "5.3 capabilities"));
    EXPECT_EQ(with_id(findings, "5.3 dangerous-cap").size(), 13u);
    EXPECT_EQ(only(findings, "5.21 seccomp").fix, "remove --privileged");
}

TEST(AuditRules, ReadOnlyRootfs) {
    auto o = base();
    EXPECT_EQ(level_of(build(o), "5.12 read-only-rootfs"), Level::kWarn);
    EXPECT_EQ(only(audit::audit(build(o)), "5.12 read-only-rootfs").fix, "--read-only");
    o.read_only = true;
    EXPECT_EQ(level_of(build(o), "5.12 read-only-rootfs"), Level::kPass);
}

TEST(AuditRules, NoNewPrivileges) {
    auto o = base();
    EXPECT_EQ(level_of(build(o), "5.25 no-new-privileges"), Level::kWarn);
    EXPECT_EQ(only(audit::audit(build(o)), "5.25 no-new-privileges").fix,
              "--security-opt no-new-privileges");
    o.security_opts = {"no-new-privileges"};
    EXPECT_EQ(level_of(build(o), "5.25 no-new-privileges"), Level::kPass);
}

TEST(AuditRules, Seccomp) {
    Spec s = hardened();
    s.linux.seccomp.reset();
    Finding f = only(audit::audit(s), "5.21 seccomp");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_TRUE(contains(f.fix, "seccomp=unconfined"));
    s.linux.seccomp = allow_list_filter();
    EXPECT_EQ(level_of(s, "5.21 seccomp"), Level::kPass);
    // A deny-list lets through what it does not name: worth knowing, not unconfined.
    s.linux.seccomp->default_action = "SCMP_ACT_ALLOW";
    EXPECT_EQ(level_of(s, "5.21 seccomp"), Level::kInfo);
    EXPECT_TRUE(contains(only(audit::audit(s), "5.21 seccomp").title, "(default SCMP_ACT_ALLOW, 1 rule)"))
        << only(audit::audit(s), "5.21 seccomp").title;
}

// --pid/--ipc container:NAME: another container's namespace, named by its path when it has one,
// and the fix names the container form of the flag (not "--pid host", which it is not).
TEST(AuditRules, JoinedNamespacesAreInfoWithTheContainerFlag) {
    Spec s = hardened();
    for (auto& n : s.linux.namespaces) {
        if (n.type == NamespaceType::kPid) n.path = "/proc/42/ns/pid";
        if (n.type == NamespaceType::kIpc) n.path = "/ipc";  // audited from flags: not running, no path
    }
    Finding pid = only(audit::audit(s), "5.15 host-pid");
    EXPECT_EQ(pid.level, Level::kInfo);
    EXPECT_EQ(pid.title, "joins the PID namespace at /proc/42/ns/pid");
    EXPECT_EQ(pid.fix, "remove --pid container:... if they need not share");
    Finding ipc = only(audit::audit(s), "5.16 host-ipc");
    EXPECT_EQ(ipc.title, "joins the IPC namespace of another container");
    EXPECT_TRUE(contains(ipc.fix, "--ipc container:")) << ipc.fix;
}

TEST(AuditRules, RootUser) {
    auto o = base();
    Finding f = only(audit::audit(build(o)), "4.1 root-user");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_TRUE(contains(f.fix, "-u"));
    o.user = "1000:1000";
    EXPECT_EQ(level_of(build(o), "4.1 root-user"), Level::kPass);
    o.user = "app";
    EXPECT_EQ(level_of(build(o), "4.1 root-user"), Level::kPass);
    // Root in its own user namespace is not the host's root.
    Spec s = build(base());
    s.linux.namespaces.push_back({NamespaceType::kUser, ""});
    EXPECT_EQ(level_of(s, "4.1 root-user"), Level::kInfo);
    // A joined one is judged by its maps: the host's own (pid 1's) is the host's root.
    Spec joined = build(base());
    joined.linux.namespaces.push_back({NamespaceType::kUser, "/proc/1/ns/user"});
    EXPECT_EQ(level_of(joined, "4.1 root-user"), Level::kWarn);
    joined.linux.uid_mappings = {{0, 200000, 65536}};
    EXPECT_EQ(level_of(joined, "4.1 root-user"), Level::kPass);
    // Without maps in the spec, the kernel's: a process in a user namespace whose root is host
    // uid 200000 (the test writes its map, as root).
    int ready[2], done[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(done), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        char c = 'x';
        if (::unshare(CLONE_NEWUSER) != 0 || ::write(ready[1], &c, 1) != 1) ::_exit(1);
        [[maybe_unused]] ssize_t n = ::read(done[0], &c, 1);
        ::_exit(0);
    }
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    {
        std::ofstream map("/proc/" + std::to_string(child) + "/uid_map");
        map << "0 200000 1\n";
    }
    Spec in_child = build(base());
    in_child.linux.namespaces.push_back({NamespaceType::kUser, "/proc/" + std::to_string(child) + "/ns/user"});
    const Finding f_child = only(audit::audit(in_child), "4.1 root-user");
    EXPECT_EQ(f_child.level, Level::kPass);
    EXPECT_TRUE(contains(f_child.title, "host uid 200000")) << f_child.title;
    [[maybe_unused]] ssize_t n = ::write(done[1], "x", 1);
    ::waitpid(child, nullptr, 0);
    for (int fd : {ready[0], ready[1], done[0], done[1]}) ::close(fd);
}

// CIS 5.10 and 5.28 are automated checks: WARN without the limit, PASS with it, and the fix
// names the flag that sets it.
TEST(AuditRules, MemoryAndPidsLimits) {
    auto o = base();
    Finding memory = only(audit::audit(build(o)), "5.10 memory-limit");
    Finding pids = only(audit::audit(build(o)), "5.28 pids-limit");
    EXPECT_EQ(memory.level, Level::kWarn);
    EXPECT_EQ(pids.level, Level::kWarn);
    EXPECT_TRUE(contains(memory.fix, "--memory")) << memory.fix;
    EXPECT_TRUE(contains(pids.fix, "--pids-limit")) << pids.fix;
    EXPECT_FALSE(contains(memory.fix, "once hutch")) << memory.fix;

    o.memory = "64m";
    o.pids_limit = "100";
    memory = only(audit::audit(build(o)), "5.10 memory-limit");
    pids = only(audit::audit(build(o)), "5.28 pids-limit");
    EXPECT_EQ(memory.level, Level::kPass);
    EXPECT_EQ(memory.title, "memory limited to 64m");
    EXPECT_EQ(pids.level, Level::kPass);
    EXPECT_EQ(pids.title, "pids limited to 100");

    // Docker's "no limit" spellings are no limit (0 and -1; an OCI config's -1 likewise).
    o.pids_limit = "-1";
    EXPECT_EQ(level_of(build(o), "5.28 pids-limit"), Level::kWarn);
    Spec s = hardened();
    s.linux.resources.memory_limit = -1;
    s.linux.resources.pids_limit = 0;
    EXPECT_EQ(level_of(s, "5.10 memory-limit"), Level::kWarn);
    EXPECT_EQ(level_of(s, "5.28 pids-limit"), Level::kWarn);
}

// CIS 5.14: no policy, or on-failure giving up after at most 5 tries, passes; a policy that
// restarts for ever (always, unless-stopped, on-failure with no or a higher count) warns.
TEST(AuditRules, RestartPolicy) {
    auto o = base();
    EXPECT_EQ(only(audit::audit(build(o)), "5.14 restart-policy").title, "no restart policy");
    for (std::string pass : {"no", "on-failure:1", "on-failure:5"}) {
        o.restart = pass;
        EXPECT_EQ(level_of(build(o), "5.14 restart-policy"), Level::kPass) << pass;
    }
    for (std::string warn : {"on-failure", "on-failure:6", "always", "unless-stopped"}) {
        o.restart = warn;
        Finding f = only(audit::audit(build(o)), "5.14 restart-policy");
        EXPECT_EQ(f.level, Level::kWarn) << warn;
        EXPECT_TRUE(contains(f.fix, "on-failure:5")) << f.fix;
    }
    o.restart = "on-failure";
    EXPECT_EQ(only(audit::audit(build(o)), "5.14 restart-policy").title, "restarted on failure with no limit");
}

// Not a CIS rule: reported under 5.10 only when disabled, with dockerd's warning when no memory
// limit bounds the container.
TEST(AuditRules, OomKillDisable) {
    auto o = base();
    EXPECT_TRUE(with_id(audit::audit(build(o)), "5.10 oom-kill-disable").empty());
    o.oom_kill_disable = true;
    Finding f = only(audit::audit(build(o)), "5.10 oom-kill-disable");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_TRUE(contains(f.fix, "--oom-kill-disable")) << f.fix;
    o.memory = "64m";
    EXPECT_EQ(level_of(build(o), "5.10 oom-kill-disable"), Level::kInfo);
}

TEST(AuditRules, CpuShares) {
    auto o = base();
    Finding f = only(audit::audit(build(o)), "5.11 cpu-shares");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_TRUE(contains(f.fix, "--cpu-shares")) << f.fix;
    o.cpu_shares = "1024";  // CIS: 1024 is the default weight, i.e. not set
    EXPECT_EQ(level_of(build(o), "5.11 cpu-shares"), Level::kWarn);
    o.cpu_shares = "512";
    EXPECT_EQ(level_of(build(o), "5.11 cpu-shares"), Level::kPass);
    o = base();
    o.cpus = "1";
    f = only(audit::audit(build(o)), "5.11 cpu-shares");
    EXPECT_EQ(f.level, Level::kPass);
    EXPECT_TRUE(contains(f.title, "100000/100000")) << f.title;
}

// CIS 5.18 is a manual check: an override is worth confirming, not a fault.
TEST(AuditRules, Ulimits) {
    auto o = base();
    EXPECT_EQ(level_of(build(o), "5.18 ulimits"), Level::kPass);
    o.ulimits = {"nofile=100:200", "nproc=50"};
    Finding f = only(audit::audit(build(o)), "5.18 ulimits");
    EXPECT_EQ(f.level, Level::kInfo);
    EXPECT_TRUE(contains(f.title, "RLIMIT_NOFILE")) << f.title;
    EXPECT_EQ(f.details, (Strings{"RLIMIT_NOFILE=100:200", "RLIMIT_NPROC=50:50"}));
    EXPECT_EQ(audit::exit_code(audit::audit(hardened()), true), 0);
}

// --- capabilities ----------------------------------------------------------------------------

TEST(AuditCaps, ExtraCapabilitiesListedByName) {
    auto o = base();
    o.cap_add = {"sys_time", "CAP_NET_ADMIN", "CHOWN"};  // CHOWN is in Docker's default
    auto findings = audit::audit(build(o));
    Finding f = only(findings, "5.3 capabilities");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_EQ(f.details, (Strings{"NET_ADMIN", "SYS_TIME"}));
    EXPECT_TRUE(contains(f.title, "NET_ADMIN, SYS_TIME"));
    EXPECT_TRUE(contains(f.fix, "--cap-add NET_ADMIN SYS_TIME"));
    // Each dangerous one is its own finding, with its own reason.
    auto dangerous = with_id(findings, "5.3 dangerous-cap");
    ASSERT_EQ(dangerous.size(), 2u);
    Strings titles = {dangerous[0].title, dangerous[1].title};
    EXPECT_EQ(titles, (Strings{"NET_ADMIN granted", "SYS_TIME granted"}));
    for (const auto& d : dangerous) EXPECT_EQ(d.level, Level::kWarn);
    EXPECT_NE(dangerous[0].why, dangerous[1].why);
}

TEST(AuditCaps, DangerousOnesByName) {
    for (const char* cap : {"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH",
                            "SYS_RAWIO", "SYS_BOOT", "BPF", "PERFMON", "SYS_TIME", "MAC_ADMIN",
                            "MAC_OVERRIDE", "SYSLOG"}) {
        SCOPED_TRACE(cap);
        auto o = base();
        o.cap_add = {cap};
        Finding f = only(audit::audit(build(o)), "5.3 dangerous-cap");
        EXPECT_EQ(f.level, Level::kWarn);
        EXPECT_EQ(f.title, std::string(cap) + " granted");
        EXPECT_EQ(f.fix, std::string("remove --cap-add ") + cap);
    }
}

TEST(AuditCaps, HarmlessExtraWarnsButIsNotDangerous) {
    auto o = base();
    o.cap_add = {"SYS_NICE"};
    auto findings = audit::audit(build(o));
    EXPECT_EQ(only(findings, "5.3 capabilities").level, Level::kWarn);
    EXPECT_EQ(only(findings, "5.3 dangerous-cap").level, Level::kPass);
}

TEST(AuditCaps, DockerDefaultAndLessPass) {
    EXPECT_EQ(level_of(build(base()), "5.3 capabilities"), Level::kPass);
    auto o = base();
    o.cap_drop = {"ALL"};
    Finding f = only(audit::audit(build(o)), "5.3 capabilities");
    EXPECT_EQ(f.level, Level::kPass);
    EXPECT_TRUE(contains(f.title, "none granted"));
}

// A non-root user starts with no effective capabilities, but the bounding set is what a setuid
// program can regain: the audit reads every set.
TEST(AuditCaps, BoundingSetCountsForNonRoot) {
    auto o = base();
    o.user = "1000";
    o.cap_add = {"SYS_ADMIN"};
    Spec s = build(o);
    ASSERT_TRUE(s.process.capabilities.effective.empty());
    EXPECT_EQ(level_of(s, "5.3 dangerous-cap"), Level::kWarn);
}

TEST(AuditCaps, UnknownNamesInAConfigCountAsExtra) {
    Spec s = hardened();
    s.process.capabilities.ambient = {"CAP_FROBNICATE"};
    Finding f = only(audit::audit(s), "5.3 capabilities");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_EQ(f.details, Strings{"CAP_FROBNICATE"});
    EXPECT_TRUE(contains(f.title, "CAP_FROBNICATE"));
}

// --- namespaces ------------------------------------------------------------------------------

TEST(AuditNamespaces, EachHostNamespaceWarnsAlone) {
    const std::map<std::string, std::string RunOptions::*> flags = {
        {"5.15 host-pid", &RunOptions::pid},
        {"5.16 host-ipc", &RunOptions::ipc},
        {"5.20 host-uts", &RunOptions::uts},
        {"5.9 host-network", &RunOptions::network}};
    for (const auto& [id, flag] : flags) {
        SCOPED_TRACE(id);
        auto o = base();
        o.*flag = "host";
        auto findings = audit::audit(build(o));
        for (const auto& [other, unused] : flags)
            EXPECT_EQ(only(findings, other).level, other == id ? Level::kWarn : Level::kPass) << other;
        EXPECT_TRUE(contains(only(findings, id).fix, "host"));
    }
}

// OCI: a namespace missing from linux.namespaces is the runtime's own, i.e. the host's.
TEST(AuditNamespaces, MissingFromConfigMeansHost) {
    Spec s = hardened();
    s.linux.namespaces = {{NamespaceType::kMount, ""}};
    auto findings = audit::audit(s);
    for (const char* id : {"5.9 host-network", "5.15 host-pid", "5.16 host-ipc", "5.20 host-uts"})
        EXPECT_EQ(only(findings, id).level, Level::kWarn) << id;
}

TEST(AuditNamespaces, JoinedNamespaces) {
    Spec s = hardened();
    for (auto& ns : s.linux.namespaces)
        if (ns.type == NamespaceType::kPid) ns.path = "/proc/1/ns/pid";
        else if (ns.type == NamespaceType::kIpc) ns.path = "/proc/4242/ns/ipc";
    auto findings = audit::audit(s);
    EXPECT_EQ(only(findings, "5.15 host-pid").level, Level::kWarn);  // pid 1's is the host's
    EXPECT_EQ(only(findings, "5.16 host-ipc").level, Level::kInfo);
    EXPECT_TRUE(contains(only(findings, "5.16 host-ipc").title, "/proc/4242/ns/ipc"));
}

// --network container:REF joins another container's namespace: shared, but not the host's.
TEST(AuditNamespaces, ContainerNetwork) {
    Spec s = hardened();
    s.hutch.network = "container:0123456789ab";
    for (auto& ns : s.linux.namespaces)
        if (ns.type == NamespaceType::kNetwork) ns.path = "/proc/4242/ns/net";
    Finding f = only(audit::audit(s), "5.9 host-network");
    EXPECT_EQ(f.level, Level::kInfo);
    EXPECT_TRUE(contains(f.title, "container:0123456789ab"));
}

// --- mounts ----------------------------------------------------------------------------------

TEST(AuditMounts, DockerSocketWarnsEvenReadOnly) {
    for (const char* v : {"/var/run/docker.sock:/var/run/docker.sock:ro",
                          "/var/run/docker.sock:/var/run/docker.sock",
                          "/run/docker.sock:/sock:ro"}) {
        SCOPED_TRACE(v);
        auto findings = audit::audit(with_volume(v));
        Finding f = only(findings, "5.31 control-socket");
        EXPECT_EQ(f.level, Level::kWarn);
        EXPECT_TRUE(contains(f.fix, "remove -v"));
        // Reported once, as the engine's socket, not again as a sensitive /run path.
        EXPECT_EQ(only(findings, "5.5 sensitive-mount").level, Level::kPass);
    }
    EXPECT_TRUE(contains(only(audit::audit(with_volume("/var/run/docker.sock:/s:ro")),
                              "5.31 control-socket").title, "read-only"));
}

TEST(AuditMounts, ControlSocketsAndStateRoots) {
    for (const char* source : {"/run/containerd/containerd.sock", "/run/podman/podman.sock",
                               "/run/hutch", "/run/hutch/containers/abc", "/var/lib/hutch",
                               "/var/lib/hutch/containers", "//var/run/./docker.sock",
                               "/var/run/../run/docker.sock/"}) {
        SCOPED_TRACE(source);
        EXPECT_EQ(level_of(with_volume(std::string(source) + ":/x:ro"), "5.31 control-socket"), Level::kWarn);
    }
    // A directory above a socket exposes it.
    Finding f = only(audit::audit(with_volume("/var/run:/hostrun:ro")), "5.31 control-socket");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_TRUE(contains(f.title, "exposes /run/docker.sock"));
    for (const char* source : {"/srv/data", "/var/lib/hutchery", "/run/dockerx.sock", "/home/u/run/hutch"}) {
        SCOPED_TRACE(source);
        EXPECT_EQ(level_of(with_volume(std::string(source) + ":/x"), "5.31 control-socket"), Level::kPass);
    }
}

TEST(AuditMounts, CustomControlPaths) {
    audit::Options options;
    options.control_paths.push_back("/tmp/hutch-state");
    auto findings = audit::audit(with_volume("/tmp/hutch-state/containers:/x:ro"), options);
    EXPECT_EQ(only(findings, "5.31 control-socket").level, Level::kWarn);
}

TEST(AuditMounts, SensitivePaths) {
    for (const char* dir : {"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/run"}) {
        SCOPED_TRACE(dir);
        // read-write: WARN; the whole directory even read-only: WARN.
        Finding rw = only(audit::audit(with_volume(std::string(dir) + ":/host")), "5.5 sensitive-mount");
        EXPECT_EQ(rw.level, Level::kWarn);
        EXPECT_TRUE(contains(rw.title, "read-write"));
        EXPECT_TRUE(contains(rw.fix, ":ro"));
        Finding ro = only(audit::audit(with_volume(std::string(dir) + ":/host:ro")), "5.5 sensitive-mount");
        EXPECT_EQ(ro.level, Level::kWarn);
        EXPECT_TRUE(contains(ro.title, "read-only"));
    }
    // One file under them: WARN read-write, INFO read-only.
    EXPECT_EQ(level_of(with_volume("/etc/passwd:/etc/passwd"), "5.5 sensitive-mount"), Level::kWarn);
    EXPECT_EQ(level_of(with_volume("/dev/sda:/dev/sda"), "5.5 sensitive-mount"), Level::kWarn);
    EXPECT_EQ(level_of(with_volume("/etc/localtime:/etc/localtime:ro"), "5.5 sensitive-mount"), Level::kInfo);
    // Not sensitive: everything is under "/", and names that merely start alike.
    for (const char* source : {"/home/u/project", "/library", "/usr2", "/srv", "/etcetera"}) {
        SCOPED_TRACE(source);
        EXPECT_EQ(level_of(with_volume(std::string(source) + ":/x"), "5.5 sensitive-mount"), Level::kPass);
    }
}

TEST(AuditMounts, EachOffendingMountIsItsOwnFinding) {
    auto o = base();
    o.volumes = {"/etc:/a:ro", "/usr/lib:/b", "/srv:/c"};
    auto findings = with_id(audit::audit(build(o)), "5.5 sensitive-mount");
    ASSERT_EQ(findings.size(), 2u);
    EXPECT_TRUE(contains(findings[0].title, "/etc read-only at /a"));
    EXPECT_TRUE(contains(findings[1].title, "/usr/lib read-write at /b"));
}

// --ipc host binds the host's /dev/shm: that is 5.16's finding, not a sensitive /dev mount.
TEST(AuditMounts, HostIpcShmIsReportedOnce) {
    auto o = base();
    o.ipc = "host";
    auto findings = audit::audit(build(o));
    EXPECT_EQ(only(findings, "5.16 host-ipc").level, Level::kWarn);
    EXPECT_EQ(only(findings, "5.5 sensitive-mount").level, Level::kPass);
}

TEST(AuditMounts, SharedPropagation) {
    EXPECT_EQ(level_of(with_volume("/srv:/srv:rshared"), "5.19 mount-propagation"), Level::kWarn);
    EXPECT_EQ(level_of(with_volume("/srv:/srv:shared"), "5.19 mount-propagation"), Level::kWarn);
    EXPECT_EQ(level_of(with_volume("/srv:/srv:rslave"), "5.19 mount-propagation"), Level::kPass);
    Spec s = hardened();
    s.linux.rootfs_propagation = "shared";
    EXPECT_EQ(level_of(s, "5.19 mount-propagation"), Level::kWarn);
}

// --- output and exit code --------------------------------------------------------------------

TEST(AuditOutput, JsonParsesWithEveryField) {
    auto findings = audit::audit(risky());
    auto parsed = nlohmann::json::parse(audit::to_json(findings).dump(2));
    ASSERT_TRUE(parsed.is_array());
    ASSERT_EQ(parsed.size(), findings.size());
    for (std::size_t i = 0; i < parsed.size(); ++i) {
        const auto& j = parsed[i];
        for (const char* key : {"id", "level", "title", "why", "fix"}) {
            ASSERT_TRUE(j.contains(key) && j[key].is_string()) << key;
        }
        ASSERT_TRUE(j.contains("details") && j["details"].is_array());
        EXPECT_EQ(j["id"], findings[i].id);
        EXPECT_EQ(j["title"], findings[i].title);
        EXPECT_TRUE(j["level"] == "PASS" || j["level"] == "INFO" || j["level"] == "WARN");
    }
    auto caps_entry = std::find_if(parsed.begin(), parsed.end(),
                                   [](const nlohmann::json& j) { return j["id"] == "5.3 capabilities"; });
    ASSERT_NE(caps_entry, parsed.end());
    EXPECT_EQ((*caps_entry)["level"], "WARN");
    EXPECT_EQ((*caps_entry)["details"], nlohmann::json(Strings{"NET_ADMIN", "SYS_ADMIN"}));
}

TEST(AuditOutput, TableRowsWhyAndSummary) {
    auto findings = audit::audit(risky());
    std::string table = audit::format_table(findings);
    EXPECT_EQ(table.rfind("ID ", 0), 0u);
    for (const char* column : {"LEVEL", "FINDING", "FIX"}) EXPECT_TRUE(contains(table, column));
    int warn = 0, info = 0, pass = 0;
    for (const auto& f : findings) {
        (f.level == Level::kWarn ? warn : f.level == Level::kInfo ? info : pass)++;
        EXPECT_TRUE(contains(table, f.title));
        if (f.level != Level::kPass) {
            EXPECT_TRUE(contains(table, f.fix));
            EXPECT_TRUE(contains(table, "why: " + f.why));
        }
    }
    std::string summary = "summary: " + std::to_string(warn) + " WARN, " + std::to_string(info) +
                          " INFO, " + std::to_string(pass) + " PASS\n";
    EXPECT_TRUE(table.size() >= summary.size() &&
                table.compare(table.size() - summary.size(), summary.size(), summary) == 0)
        << table;
    // A PASS row names no fix and gives no why.
    std::string hardened_table = audit::format_table(audit::audit(hardened()));
    EXPECT_FALSE(contains(hardened_table, "why: root inside is root on the host"));
}

TEST(AuditStrict, ExitCode) {
    auto risky_findings = audit::audit(risky());
    auto hardened_findings = audit::audit(hardened());
    EXPECT_EQ(audit::exit_code(risky_findings, /*strict=*/true), 1);
    EXPECT_EQ(audit::exit_code(risky_findings, /*strict=*/false), 0);
    EXPECT_EQ(audit::exit_code(hardened_findings, /*strict=*/true), 0);  // INFO does not fail
    EXPECT_EQ(audit::exit_code(hardened_findings, /*strict=*/false), 0);
    EXPECT_EQ(audit::exit_code({}, true), 0);
}

// `hutch audit NAME` and `--config` read the Spec back from JSON: the verdict must not change.
TEST(AuditOutput, StoredConfigAuditsLikeTheFlags) {
    for (const Spec& s : {risky(), hardened()})
        EXPECT_EQ(audit::audit(spec_from_json(to_json(s))), audit::audit(s));
}

// --- 5.17 host devices -------------------------------------------------------------------------

TEST(AuditRules, DevicesBeyondDockersAllowList) {
    EXPECT_EQ(level_of(build(base()), "5.17 host-devices"), Level::kPass);

    auto o = base();
    o.devices = {"/dev/fuse", "/dev/vda:/dev/xvda:r"};
    o.device_cgroup_rules = {"c 42:* rmw", "c 43:1 r", "c 1:3 rwm"};
    auto findings = with_id(audit::audit(build(o)), "5.17 host-devices");
    std::map<std::string, Finding> by_title;
    for (const auto& f : findings) by_title[f.title] = f;
    ASSERT_EQ(findings.size(), 4u) << "c 1:3 is in Docker's list already";
    Finding fuse = by_title["host device /dev/fuse (c 10:229, rwm)"];
    EXPECT_EQ(fuse.level, Level::kInfo);
    EXPECT_EQ(fuse.fix, "remove --device /dev/fuse");
    Finding disk = by_title["host block device /dev/xvda (b 254:0, r)"];
    EXPECT_EQ(disk.level, Level::kWarn) << "a block device is a host disk";
    EXPECT_EQ(by_title["wide device rule c 42:* rwm"].level, Level::kWarn);
    EXPECT_EQ(by_title["wide device rule c 42:* rwm"].fix, "remove --device-cgroup-rule 'c 42:* rwm'");
    EXPECT_EQ(by_title["device rule c 43:1 r"].level, Level::kInfo);
}

TEST(AuditRules, DevicesAllAllowed) {
    auto o = base();
    o.privileged = true;
    Finding f = only(audit::audit(build(o)), "5.17 host-devices");
    EXPECT_EQ(f.level, Level::kWarn);
    EXPECT_EQ(f.title, "every device allowed (a *:* rwm)");
    EXPECT_EQ(f.fix, "remove --privileged");
    o = base();
    o.device_cgroup_rules = {"a *:* rwm"};
    EXPECT_EQ(only(audit::audit(build(o)), "5.17 host-devices").level, Level::kWarn);
    // An OCI config whose rules hutch refuses is named, not a crash.
    Spec bad = build(base());
    bad.linux.resources.devices = {{true, "c", std::nullopt, std::nullopt, "rwm"}, {false, "c", 1, 3, "r"}};
    Finding refused = only(audit::audit(bad), "5.17 host-devices");
    EXPECT_EQ(refused.level, Level::kWarn);
    EXPECT_TRUE(contains(refused.title, "refuses")) << refused.title;
}
