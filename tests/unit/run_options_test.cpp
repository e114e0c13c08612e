#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "caps/capabilities.hpp"
#include "runtime/error.hpp"
#include "runtime/run_options.hpp"
#include "runtime/validate.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using Strings = std::vector<std::string>;

namespace {

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kShortId = "0123456789ab";
const std::string kPath = kDefaultPath;

const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n";
const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:alice\n"
    "users:x:100:alice,nobody\n"
    "nogroup:x:65534:\n"
    "alice:x:1000:\n";

// Fake host: a full capability set, a passwd/group in the rootfs, a few host files and
// host environment variables.
struct Fake {
    std::map<std::string, std::string> host_files;
    std::map<std::string, std::string> host_env = {{"FROMHOST", "hostval"}};
    std::map<std::string, bool> missing_paths;
    // A volume source's mount: /src lies on a shared "/", as on a systemd host.
    std::map<std::string, mountinfo::Entry> mounts = {{"/src", {1, 0, "/", true, false}}};

    HostFacts facts() const {
        HostFacts h;
        h.caps = caps::HostCaps{40, ~caps::CapSet{0}};
        h.hostname = "hosty";
        auto env = host_env;
        h.getenv = [env](const char* key) -> const char* {
            static std::map<std::string, std::string> storage;
            auto it = env.find(key);
            if (it == env.end()) return nullptr;
            storage[key] = it->second;
            return storage[key].c_str();
        };
        h.read_in_rootfs = [](const std::string& path) -> std::string {
            if (path == "/etc/passwd") return kPasswd;
            if (path == "/etc/group") return kGroup;
            return "";
        };
        auto files = host_files;
        h.read_host_file = [files](const std::string& path) -> std::string {
            auto it = files.find(path);
            if (it == files.end()) throw UsageError("cannot read " + path);
            return it->second;
        };
        auto missing = missing_paths;
        h.host_path_exists = [missing](const std::string& path) { return !missing.count(path); };
        auto mount_table = mounts;
        h.mount_of = [mount_table](const std::string& path) -> std::optional<mountinfo::Entry> {
            auto it = mount_table.find(path);
            if (it == mount_table.end()) return std::nullopt;
            return it->second;
        };
        return h;
    }
};

RunOptions base() {
    RunOptions o;
    o.rootfs = "/rootfs";
    o.command = {"sh", "-c", "true"};
    return o;
}

Spec build(const RunOptions& o, const Fake& fake = Fake{}) {
    return build_run_spec(o, kId, fake.facts());
}

std::string build_error(const RunOptions& o, const Fake& fake = Fake{}) {
    return usage_error([&] { build(o, fake); });
}

Strings namespace_types(const Spec& s) {
    Strings out;
    for (const auto& ns : s.linux.namespaces) {
        EXPECT_EQ(ns.path, "") << namespace_name(ns.type);
        out.push_back(namespace_name(ns.type));
    }
    return out;
}

const Mount* find_mount(const Spec& s, const std::string& destination) {
    const Mount* found = nullptr;
    for (const auto& m : s.mounts) {
        if (m.destination == destination) {
            EXPECT_EQ(found, nullptr) << "two mounts on " << destination;
            found = &m;
        }
    }
    return found;
}

Strings default_cap_names() { return caps::names_of(caps::docker_default()); }

}  // namespace

// --- command, name -------------------------------------------------------------------------

TEST(RunOptions, BasicFields) {
    auto o = base();
    o.name = "web-1";
    o.rm = true;
    o.interactive = true;
    Spec s = build(o);
    EXPECT_EQ(s.root.path, "/rootfs");
    EXPECT_FALSE(s.root.readonly);
    EXPECT_EQ(s.process.args, (Strings{"sh", "-c", "true"}));
    EXPECT_EQ(s.process.cwd, "/");
    EXPECT_FALSE(s.process.terminal);
    EXPECT_FALSE(s.process.no_new_privileges);
    EXPECT_EQ(s.hutch.name, "web-1");
    EXPECT_TRUE(s.hutch.auto_remove);
    EXPECT_TRUE(s.hutch.interactive);
    EXPECT_FALSE(s.hutch.privileged);
    EXPECT_EQ(s.hutch.network, "bridge");  // Docker's default
}

TEST(RunOptions, EmptyCommandRejected) {
    auto o = base();
    o.command = {};
    EXPECT_TRUE(contains(build_error(o), "no command"));
    o.command = {""};
    EXPECT_TRUE(contains(build_error(o), "no command"));
}

TEST(RunOptions, InvalidNameRejected) {
    for (const char* name : {"bad name", "-leading", "_leading", "a/b", "x\ny", "ü"}) {
        SCOPED_TRACE(name);
        auto o = base();
        o.name = name;
        EXPECT_TRUE(contains(build_error(o), name));
    }
    for (const char* name : {"web", "my_app.v2-1", "0abc", "A-Z"}) {
        SCOPED_TRACE(name);
        auto o = base();
        o.name = name;
        EXPECT_EQ(build(o).hutch.name, name);
    }
}

// Found by the flags fuzz target (tests/fuzz/corpus/flags/regress-latin1-*): text that is not
// UTF-8 made every later to_json(...).dump() throw the JSON library's type_error 316, so
// `hutch run ROOTFS echo $'caf\xe9'` printed "[json.exception.type_error.316] ...".
TEST(RunOptions, TextThatIsNotUtf8IsAUsageErrorNamingTheField) {
    auto o = base();
    o.command = {"echo", "caf\xe9"};
    EXPECT_TRUE(contains(build_error(o), "process.args[1] \"caf\\xe9\" is not UTF-8")) << build_error(o);
    o = base();
    o.env = {"NAME=\xed\xa0\x80"};  // a surrogate, which UTF-8 must not encode
    EXPECT_TRUE(contains(build_error(o), "process.env[")) << build_error(o);
    o = base();
    o.command = {"echo", "caf\xc3\xa9", "\xf0\x9f\x90\xb9"};  // UTF-8 itself is fine
    EXPECT_EQ(build(o).process.args[2], "\xf0\x9f\x90\xb9");
}

// Docker's daemon pattern is ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (moby daemon/names), refusing a
// one-character name.
// The rule is [a-zA-Z0-9][a-zA-Z0-9_.-]* (one character is a valid name; moby's daemon
// requires two, docs/differences.md notes the difference).
TEST(RunOptions, SingleCharacterNameAccepted) {
    auto o = base();
    o.name = "a";
    EXPECT_EQ(build(o).hutch.name, "a");
}

// --- namespaces ----------------------------------------------------------------------------

TEST(RunOptions, DefaultNamespaces) {
    EXPECT_EQ(namespace_types(build(base())),
              (Strings{"mount", "network", "uts", "pid", "ipc", "cgroup"}));
}

TEST(RunOptions, HostModesDropNamespaces) {
    {
        auto o = base();
        o.pid = "host";
        EXPECT_EQ(namespace_types(build(o)), (Strings{"mount", "network", "uts", "ipc", "cgroup"}));
    }
    {
        auto o = base();
        o.ipc = "host";
        EXPECT_EQ(namespace_types(build(o)), (Strings{"mount", "network", "uts", "pid", "cgroup"}));
    }
    {
        auto o = base();
        o.uts = "host";
        EXPECT_EQ(namespace_types(build(o)), (Strings{"mount", "network", "pid", "ipc", "cgroup"}));
    }
    {
        auto o = base();
        o.network = "host";
        EXPECT_EQ(namespace_types(build(o)), (Strings{"mount", "uts", "pid", "ipc", "cgroup"}));
    }
    {
        auto o = base();
        o.pid = o.ipc = o.uts = o.network = "host";
        EXPECT_EQ(namespace_types(build(o)), (Strings{"mount", "cgroup"}));
    }
}

TEST(RunOptions, IpcPrivateAndShareableKeepNamespace) {
    for (const char* mode : {"private", "shareable"}) {
        auto o = base();
        o.ipc = mode;
        EXPECT_EQ(namespace_types(build(o)),
                  (Strings{"mount", "network", "uts", "pid", "ipc", "cgroup"}));
    }
}

TEST(RunOptions, UnsupportedNamespaceModesRejected) {
    auto o = base();
    o.pid = "container:abc";  // a container that is not running: the message names it
    EXPECT_TRUE(contains(build_error(o), "abc"));
    o = base();
    o.uts = "private";
    EXPECT_TRUE(contains(build_error(o), "private"));
    o = base();
    o.ipc = "none-such";
    EXPECT_TRUE(contains(build_error(o), "none-such"));
}

TEST(RunOptions, NetworkNoneAndHost) {
    auto o = base();
    o.network = "none";
    Spec none = build(o);
    EXPECT_EQ(none.hutch.network, "none");
    EXPECT_TRUE(none.has_new_namespace(NamespaceType::kNetwork));
    o.network = "host";
    Spec host = build(o);
    EXPECT_EQ(host.hutch.network, "host");
    EXPECT_FALSE(host.has_new_namespace(NamespaceType::kNetwork));
    EXPECT_EQ(host.hostname, "hosty");
}

TEST(RunOptions, NetworkModes) {
    auto o = base();
    o.network = "default";
    EXPECT_EQ(build(o).hutch.network, "bridge");
    o.network = "mynet";
    Spec user = build(o);
    EXPECT_EQ(user.hutch.network, "mynet");  // existence is the launcher's check
    EXPECT_TRUE(user.has_new_namespace(NamespaceType::kNetwork));
    o.network = "bad net";
    EXPECT_TRUE(contains(build_error(o), "\"bad net\""));
}

TEST(RunOptions, IpAndAliasesNeedAUserDefinedNetwork) {
    auto o = base();
    o.ip = "10.89.0.7";
    EXPECT_TRUE(contains(build_error(o), "user-defined network"));
    o.network = "mynet";
    EXPECT_EQ(build(o).hutch.ip, "10.89.0.7");
    o.ip = "not-an-ip";
    EXPECT_TRUE(contains(build_error(o), "\"not-an-ip\""));
    o.ip.clear();
    o.network_aliases = {"web", "bad alias"};
    EXPECT_TRUE(contains(build_error(o), "\"bad alias\""));
    o.network = "bridge";
    o.network_aliases = {"web"};
    EXPECT_TRUE(contains(build_error(o), "user-defined network"));
}

TEST(RunOptions, ContainerNetworkJoinsTheTargetsNamespace) {
    Fake fake;
    auto o = base();
    o.network = "container:web";
    HostFacts facts = fake.facts();
    facts.running_container = [](const std::string& ref) {
        EXPECT_EQ(ref, "web");
        return HostFacts::JoinedContainer{std::string(64, 'a'), "/proc/42/ns", "webhost"};
    };
    Spec s = build_run_spec(o, kId, facts);
    EXPECT_EQ(s.hutch.network, "container:" + std::string(64, 'a'));
    EXPECT_EQ(s.hostname, "webhost");
    bool joined = false;
    for (const auto& ns : s.linux.namespaces) joined |= ns.type == NamespaceType::kNetwork && ns.path == "/proc/42/ns/net";
    EXPECT_TRUE(joined);
    EXPECT_TRUE(s.linux.sysctl.empty()) << "the joined namespace's sysctls are its owner's";
    o.hostname = "other";
    EXPECT_TRUE(contains(build_error(o, fake), "conflicting options"));
    o.hostname.clear();
    // The joined container's /etc files and ports are its own, as Docker says.
    o.add_hosts = {"db:10.0.0.9"};
    EXPECT_TRUE(contains(build_error(o, fake), "conflicting options: --add-host and --network container:web"));
    o.add_hosts.clear();
    o.dns = {"9.9.9.9"};
    EXPECT_TRUE(contains(build_error(o, fake), "conflicting options: --dns and --network container:web"));
    o.dns.clear();
    o.expose = {"80"};
    EXPECT_TRUE(contains(build_error(o, fake), "conflicting options: --expose and --network container:web"));
    o.expose.clear();
    o.network = "container:nobody-runs-this";
    EXPECT_TRUE(contains(build_error(o, fake), "nobody-runs-this"));
}

TEST(RunOptions, PidAndIpcCanJoinARunningContainer) {
    Fake fake;
    HostFacts facts = fake.facts();
    facts.running_container = [](const std::string&) {
        return HostFacts::JoinedContainer{std::string(64, 'b'), "/proc/77/ns", "t"};
    };
    auto o = base();
    o.pid = "container:target";
    o.ipc = "container:target";
    Spec s = build_run_spec(o, kId, facts);
    std::map<std::string, std::string> paths;
    for (const auto& ns : s.linux.namespaces) paths[namespace_name(ns.type)] = ns.path;
    EXPECT_EQ(paths["pid"], "/proc/77/ns/pid");
    EXPECT_EQ(paths["ipc"], "/proc/77/ns/ipc");
    EXPECT_EQ(paths["network"], "");
    o.pid = "container:";
    EXPECT_TRUE(contains(build_error(o, fake), "container:NAME"));
}

TEST(RunOptions, DnsDefaultsComeFromTheHostConfigAndFlagsWin) {
    Fake fake;
    HostFacts facts = fake.facts();
    facts.config.dns = {"1.1.1.1"};
    facts.config.dns_search = {"corp"};
    auto o = base();
    Spec s = build_run_spec(o, kId, facts);
    EXPECT_EQ(s.hutch.dns, Strings{"1.1.1.1"});
    EXPECT_EQ(s.hutch.dns_search, Strings{"corp"});
    o.dns = {"9.9.9.9"};
    s = build_run_spec(o, kId, facts);
    EXPECT_EQ(s.hutch.dns, Strings{"9.9.9.9"});
    EXPECT_EQ(s.hutch.dns_search, Strings{"corp"});
}

// --- hostname ------------------------------------------------------------------------------

TEST(RunOptions, DefaultHostnameIsShortId) {
    Spec s = build(base());
    EXPECT_EQ(s.hostname, kShortId);
    EXPECT_EQ(s.process.env[1], "HOSTNAME=" + kShortId);
}

TEST(RunOptions, ExplicitHostname) {
    auto o = base();
    o.hostname = "myhost";
    Spec s = build(o);
    EXPECT_EQ(s.hostname, "myhost");
    EXPECT_EQ(s.process.env, (Strings{kPath, "HOSTNAME=myhost", "HOME=/root"}));
}

TEST(RunOptions, InvalidHostnameRejected) {
    for (const char* name : {"-bad", "bad_host", "a..b", "has space"}) {
        auto o = base();
        o.hostname = name;
        EXPECT_TRUE(contains(build_error(o), name));
    }
}

TEST(RunOptions, UtsHostKeepsTheShortIdAsDockersConfigHostname) {
    // Docker's Config.Hostname is the short id unless the network is the host's: with --uts host
    // alone `hostname` shows the host's (no sethostname), but $HOSTNAME is the short id.
    auto o = base();
    o.uts = "host";
    Spec s = build(o);
    EXPECT_EQ(s.hostname, "");
    EXPECT_EQ(s.process.env[1], "HOSTNAME=" + kShortId);
    o.network = "host";
    EXPECT_EQ(build(o).process.env[1], "HOSTNAME=hosty");
    o.hostname = "x";
    EXPECT_TRUE(contains(build_error(o), "--uts host"));
}

TEST(RunOptions, DockersNetworkSysctlsOnlyInANetworkNamespaceOfItsOwn) {
    // Docker 20.10 (reference engines/docker-20.10-config.json): unprivileged ports and ping in
    // every container with its own network namespace; never on the host's or a joined one.
    const std::map<std::string, std::string> docker = {{"net.ipv4.ip_unprivileged_port_start", "0"},
                                                       {"net.ipv4.ping_group_range", "0 2147483647"}};
    auto o = base();
    for (const char* mode : {"bridge", "none", "mynet"}) {
        o.network = mode;
        EXPECT_EQ(build(o).linux.sysctl, docker) << mode;
    }
    o.network = "host";
    EXPECT_TRUE(build(o).linux.sysctl.empty());
}

// --- environment ---------------------------------------------------------------------------

TEST(RunOptions, DefaultEnv) {
    Spec s = build(base());
    EXPECT_EQ(s.process.env,
              (Strings{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "HOSTNAME=" + kShortId, "HOME=/root"}));
}

TEST(RunOptions, TermOnlyWithTty) {
    auto o = base();
    o.tty = true;
    Spec s = build(o);
    EXPECT_TRUE(s.process.terminal);
    EXPECT_EQ(s.process.env, (Strings{kPath, "HOSTNAME=" + kShortId, "TERM=xterm", "HOME=/root"}));
}

TEST(RunOptions, EnvOverrides) {
    auto o = base();
    o.env = {"FOO=bar", "HOSTNAME=custom", "FOO=baz", "EMPTY=", "HOME=/custom"};
    Spec s = build(o);
    EXPECT_EQ(s.process.env,
              (Strings{kPath, "HOSTNAME=custom", "FOO=baz", "EMPTY=", "HOME=/custom"}));
}

// Docker replaces an overridden variable in place (ReplaceOrAppendEnvValues), so
// `-e PATH=/x` keeps PATH first.
TEST(RunOptions, EnvOverrideKeepsDockerPosition) {
    auto o = base();
    o.env = {"PATH=/x", "A=1"};
    Spec s = build(o);
    EXPECT_EQ(s.process.env, (Strings{"PATH=/x", "HOSTNAME=" + kShortId, "A=1", "HOME=/root"}));
}

TEST(RunOptions, EnvKeyOnlyTakesHostValue) {
    auto o = base();
    o.env = {"FROMHOST", "MISSING", "AFTER=1"};
    Spec s = build(o);
    EXPECT_EQ(s.process.env,
              (Strings{kPath, "HOSTNAME=" + kShortId, "FROMHOST=hostval", "AFTER=1", "HOME=/root"}));
}

// docker: an entry without '=' whose name hutch's environment lacks unsets what came before
// (an --env-file's value, the default HOSTNAME), as moby's ReplaceOrAppendEnvValues does.
TEST(RunOptions, EnvKeyOnlyMissingOnTheHostUnsets) {
    Fake fake;
    fake.host_files["/env.list"] = "FROMFILE=1\nKEEP=2\n";
    auto o = base();
    o.env_files = {"/env.list"};
    o.env = {"FROMFILE", "HOSTNAME"};
    Spec s = build(o, fake);
    EXPECT_EQ(s.process.env, (Strings{kPath, "KEEP=2", "HOME=/root"}));
}

TEST(RunOptions, EnvEmptyKeyRejected) {
    auto o = base();
    o.env = {"=value"};
    EXPECT_TRUE(contains(build_error(o), "=value"));
}

TEST(RunOptions, EnvFileParsing) {
    Fake fake;
    fake.host_files["/env.list"] =
        "# a comment\n"
        "\n"
        "FOO=bar\n"
        "   \n"
        "  # indented comment\n"
        "FROMHOST\n"
        "MISSING\n"
        "EMPTY=\n"
        "SPACES=a b \n"
        "WINDOWS=crlf\r\n"
        "EQ=a=b\n";
    auto o = base();
    o.env_files = {"/env.list"};
    o.env = {"FOO=override"};
    Spec s = build(o, fake);
    EXPECT_EQ(s.process.env,
              (Strings{kPath, "HOSTNAME=" + kShortId, "FOO=override", "FROMHOST=hostval", "EMPTY=",
                       "SPACES=a b ", "WINDOWS=crlf", "EQ=a=b", "HOME=/root"}));
}

TEST(RunOptions, EnvFileKeyWithWhitespaceRejected) {
    Fake fake;
    fake.host_files["/bad.env"] = "OK=1\nBAD KEY=x\n";
    auto o = base();
    o.env_files = {"/bad.env"};
    auto message = build_error(o, fake);
    EXPECT_TRUE(contains(message, "/bad.env"));
    EXPECT_TRUE(contains(message, "line 2"));
}

TEST(RunOptions, EnvFileUnreadableIsUsageError) {
    auto o = base();
    o.env_files = {"/nope.env"};
    EXPECT_TRUE(contains(build_error(o), "/nope.env"));
}

// docker/cli's env-file parser strips leading whitespace from each line
// (kvfile: strings.TrimLeftFunc(line, unicode.IsSpace)), so "  INDENTED=1" is INDENTED=1.
TEST(RunOptions, EnvFileLeadingWhitespaceIsTrimmedAsDocker) {
    Fake fake;
    fake.host_files["/indent.env"] = "  INDENTED=1\n\tTABBED=2\n";
    auto o = base();
    o.env_files = {"/indent.env"};
    Spec s;
    ASSERT_NO_THROW(s = build(o, fake));
    EXPECT_EQ(s.process.env,
              (Strings{kPath, "HOSTNAME=" + kShortId, "INDENTED=1", "TABBED=2", "HOME=/root"}));
}

// --- working directory ---------------------------------------------------------------------

TEST(RunOptions, WorkdirMustBeAbsolute) {
    auto o = base();
    o.workdir = "tmp";
    auto message = build_error(o);
    EXPECT_TRUE(contains(message, "\"tmp\""));
    EXPECT_TRUE(contains(message, "absolute"));
    o.workdir = "/tmp";
    EXPECT_EQ(build(o).process.cwd, "/tmp");
    o.workdir = "/a//b/./c/";
    EXPECT_EQ(build(o).process.cwd, "/a/b/c");
}

// --- user and capabilities -----------------------------------------------------------------

TEST(RunOptions, DefaultUserIsRootWithDefaultCaps) {
    Spec s = build(base());
    EXPECT_EQ(s.process.user, (User{0, 0, {0}}));
    auto names = default_cap_names();
    EXPECT_EQ(s.process.capabilities.bounding, names);
    EXPECT_EQ(s.process.capabilities.effective, names);
    EXPECT_EQ(s.process.capabilities.permitted, names);
    EXPECT_EQ(s.process.capabilities.inheritable, Strings{});
    EXPECT_EQ(s.process.capabilities.ambient, Strings{});
}

TEST(RunOptions, UserByNameSetsIdsAndHome) {
    auto o = base();
    o.user = "nobody";
    Spec s = build(o);
    EXPECT_EQ(s.process.user, (User{65534, 65534, {65534, 100}}));  // Docker's: the primary group first
    EXPECT_EQ(s.process.env, (Strings{kPath, "HOSTNAME=" + kShortId, "HOME=/nonexistent"}));

    o.user = "1000";
    s = build(o);
    EXPECT_EQ(s.process.user, (User{1000, 1000, {1000, 10, 100}}));
    EXPECT_EQ(s.process.env.back(), "HOME=/home/alice");

    o.user = "4242";  // no passwd entry: gid 0, HOME=/
    s = build(o);
    EXPECT_EQ(s.process.user, (User{4242, 0, {0}}));
    EXPECT_EQ(s.process.env.back(), "HOME=/");
}

TEST(RunOptions, EnvHomeWinsOverUserHome) {
    auto o = base();
    o.user = "nobody";
    o.env = {"HOME=/custom"};
    EXPECT_EQ(build(o).process.env, (Strings{kPath, "HOSTNAME=" + kShortId, "HOME=/custom"}));
}

TEST(RunOptions, NonRootUserGetsOnlyTheBoundingSet) {
    auto o = base();
    o.user = "nobody";
    o.cap_add = {"NET_ADMIN"};
    Spec s = build(o);
    auto names = caps::names_of(caps::docker_default() | caps::bit(12));
    EXPECT_EQ(s.process.capabilities.bounding, names);
    EXPECT_EQ(s.process.capabilities.effective, Strings{});
    EXPECT_EQ(s.process.capabilities.permitted, Strings{});
    EXPECT_EQ(s.process.capabilities.inheritable, Strings{});
    EXPECT_EQ(s.process.capabilities.ambient, Strings{});
}

TEST(RunOptions, UserErrors) {
    auto o = base();
    o.user = "mallory";
    EXPECT_TRUE(contains(build_error(o), "mallory"));
    o.user = "nobody:nosuchgroup";
    EXPECT_TRUE(contains(build_error(o), "nosuchgroup"));
    o.user = "no body";
    EXPECT_TRUE(contains(build_error(o), "no body"));
}

TEST(RunOptions, CapFlagsResolved) {
    auto o = base();
    o.cap_add = {"sys_admin"};
    o.cap_drop = {"CAP_CHOWN"};
    Spec s = build(o);
    auto names = caps::names_of((caps::docker_default() | caps::bit(21)) & ~caps::bit(0));
    EXPECT_EQ(s.process.capabilities.bounding, names);
    EXPECT_EQ(s.process.capabilities.effective, names);
    o.cap_add = {"NOT_A_CAP"};
    EXPECT_TRUE(contains(build_error(o), "NOT_A_CAP"));
}

TEST(RunOptions, SecurityOpts) {
    auto o = base();
    o.security_opts = {"no-new-privileges"};
    EXPECT_TRUE(build(o).process.no_new_privileges);
    o.security_opts = {"no-new-privileges:true", "no-new-privileges=false"};
    EXPECT_FALSE(build(o).process.no_new_privileges);
    o.security_opts = {"apparmor=foo"};
    EXPECT_TRUE(contains(build_error(o), "apparmor=foo"));
}

// --- privileged, ipc host ------------------------------------------------------------------

TEST(RunOptions, DefaultMaskedAndReadonlyPaths) {
    Spec s = build(base());
    EXPECT_EQ(s.linux.masked_paths, docker_masked_paths());
    EXPECT_EQ(s.linux.masked_paths.size(), 12u);
    EXPECT_EQ(s.linux.readonly_paths, (Strings{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                               "/proc/sysrq-trigger"}));
    EXPECT_EQ(s.mounts, docker_default_mounts());
    ASSERT_NE(find_mount(s, "/sys"), nullptr);
    EXPECT_EQ(find_mount(s, "/sys")->options, (Strings{"nosuid", "noexec", "nodev", "ro"}));
}

TEST(RunOptions, Privileged) {
    auto o = base();
    o.privileged = true;
    Spec s = build(o);
    EXPECT_TRUE(s.hutch.privileged);
    EXPECT_TRUE(s.hutch.host_devices);
    EXPECT_EQ(s.linux.masked_paths, Strings{});
    EXPECT_EQ(s.linux.readonly_paths, Strings{});
    ASSERT_NE(find_mount(s, "/sys"), nullptr);
    EXPECT_EQ(find_mount(s, "/sys")->options, (Strings{"nosuid", "noexec", "nodev", "rw"}));
    ASSERT_NE(find_mount(s, "/sys/fs/cgroup"), nullptr);
    EXPECT_EQ(find_mount(s, "/sys/fs/cgroup")->options, (Strings{"rw", "nosuid", "noexec", "nodev"}));
    auto all = caps::names_of((caps::CapSet{1} << 41) - 1);
    EXPECT_EQ(s.process.capabilities.bounding, all);
    EXPECT_EQ(s.process.capabilities.effective, all);
}

TEST(RunOptions, PrivilegedHonoursHostBounding) {
    Fake fake;
    auto o = base();
    o.privileged = true;
    HostFacts h = fake.facts();
    h.caps.bounding &= ~caps::bit(24);
    Spec s = build_run_spec(o, kId, h);
    EXPECT_EQ(s.process.capabilities.bounding,
              caps::names_of(((caps::CapSet{1} << 41) - 1) & ~caps::bit(24)));
}

TEST(RunOptions, IpcHostBindsHostShm) {
    auto o = base();
    o.ipc = "host";
    Spec s = build(o);
    EXPECT_TRUE(s.hutch.host_shm);
    const Mount* shm = find_mount(s, "/dev/shm");
    ASSERT_NE(shm, nullptr);
    EXPECT_EQ(*shm, (Mount{"/dev/shm", "bind", "/dev/shm", {"rbind", "rprivate"}}));
    EXPECT_FALSE(build(base()).hutch.host_shm);
}

// --- read-only and tmpfs -------------------------------------------------------------------

TEST(RunOptions, ReadOnlyAddsTmpfs) {
    auto o = base();
    o.read_only = true;
    Spec s = build(o);
    EXPECT_TRUE(s.root.readonly);
    auto expected = docker_default_mounts();
    expected.push_back({"/run", "tmpfs", "tmpfs", {"rw", "nosuid", "nodev", "mode=755"}});
    expected.push_back({"/tmp", "tmpfs", "tmpfs", {"rw", "nosuid", "nodev", "mode=1777"}});
    expected.push_back({"/var/tmp", "tmpfs", "tmpfs", {"rw", "nosuid", "nodev", "mode=1777"}});
    EXPECT_EQ(s.mounts, expected);
}

TEST(RunOptions, ReadOnlyWithoutReadOnlyTmpfs) {
    auto o = base();
    o.read_only = true;
    o.read_only_tmpfs = false;
    Spec s = build(o);
    EXPECT_TRUE(s.root.readonly);
    EXPECT_EQ(s.mounts, docker_default_mounts());
}

TEST(RunOptions, TmpfsWithoutReadOnlyAddsNothingElse) {
    auto o = base();
    o.tmpfs = {"/tmp"};
    Spec s = build(o);
    auto expected = docker_default_mounts();
    expected.push_back({"/tmp", "tmpfs", "tmpfs", {"noexec", "nosuid", "nodev"}});
    EXPECT_EQ(s.mounts, expected);
}

namespace {
Strings tmpfs_options(const std::string& flag) {
    auto o = base();
    o.tmpfs = {flag};
    Spec s = build(o);
    const Mount& m = s.mounts.back();
    EXPECT_EQ(m.type, "tmpfs");
    EXPECT_EQ(m.source, "tmpfs");
    return m.options;
}
}  // namespace

TEST(RunOptions, TmpfsMergeRules) {
    EXPECT_EQ(tmpfs_options("/t"), (Strings{"noexec", "nosuid", "nodev"}));
    EXPECT_EQ(tmpfs_options("/t:"), (Strings{"noexec", "nosuid", "nodev"}));
    EXPECT_EQ(tmpfs_options("/t:exec"), (Strings{"nosuid", "nodev", "exec"}));
    EXPECT_EQ(tmpfs_options("/t:exec,noexec"), (Strings{"nosuid", "nodev", "noexec"}));
    EXPECT_EQ(tmpfs_options("/t:noexec,exec"), (Strings{"nosuid", "nodev", "exec"}));
    EXPECT_EQ(tmpfs_options("/t:suid,dev"), (Strings{"noexec", "suid", "dev"}));
    EXPECT_EQ(tmpfs_options("/t:size=64m,mode=1777"),
              (Strings{"noexec", "nosuid", "nodev", "size=64m", "mode=1777"}));
    EXPECT_EQ(tmpfs_options("/t:size=1m,mode=700,size=2m"),
              (Strings{"noexec", "nosuid", "nodev", "mode=700", "size=2m"}));
    EXPECT_EQ(tmpfs_options("/t:ro,rw"), (Strings{"noexec", "nosuid", "nodev", "rw"}));
    EXPECT_EQ(tmpfs_options("/t:rw,exec,size=65536k"),
              (Strings{"nosuid", "nodev", "rw", "exec", "size=65536k"}));
}

TEST(RunOptions, TmpfsUnknownOptionRejected) {
    for (const char* flag : {"/t:bogus", "/t:color=red", "/t:size=1m,,mode=1", "/t:exec, nodev"}) {
        SCOPED_TRACE(flag);
        auto o = base();
        o.tmpfs = {flag};
        EXPECT_TRUE(contains(build_error(o), "--tmpfs"));
    }
    auto o = base();
    o.tmpfs = {"/t:bogus"};
    EXPECT_TRUE(contains(build_error(o), "\"bogus\""));
}

TEST(RunOptions, TmpfsPathMustBeAbsoluteAndNotRoot) {
    auto o = base();
    o.tmpfs = {"tmp"};
    EXPECT_TRUE(contains(build_error(o), "\"tmp\""));
    o.tmpfs = {"/"};
    EXPECT_TRUE(contains(build_error(o), "--tmpfs"));
    o.tmpfs = {"/a/../b"};
    EXPECT_TRUE(contains(build_error(o), "/a/../b"));
}

TEST(RunOptions, TmpfsReplacesSameDestination) {
    auto o = base();
    o.tmpfs = {"/dev/shm:size=1m"};
    Spec s = build(o);
    const Mount* shm = find_mount(s, "/dev/shm");
    ASSERT_NE(shm, nullptr);
    EXPECT_EQ(*shm, (Mount{"/dev/shm", "tmpfs", "tmpfs", {"noexec", "nosuid", "nodev", "size=1m"}}));
    EXPECT_EQ(s.mounts.size(), docker_default_mounts().size());

    o = base();
    o.read_only = true;
    o.tmpfs = {"/tmp/:exec"};
    s = build(o);
    const Mount* tmp = find_mount(s, "/tmp");
    ASSERT_NE(tmp, nullptr);
    EXPECT_EQ(tmp->options, (Strings{"nosuid", "nodev", "exec"}));
    EXPECT_EQ(s.mounts.back().destination, "/tmp");
    EXPECT_EQ(s.mounts.size(), docker_default_mounts().size() + 3);
}

// --- volumes -------------------------------------------------------------------------------

namespace {
Mount volume(const std::string& flag) {
    auto o = base();
    o.volumes = {flag};
    Spec s = build(o);
    EXPECT_EQ(s.mounts.size(), docker_default_mounts().size() + 1);
    return s.mounts.back();
}
}  // namespace

TEST(RunOptions, VolumeParsing) {
    EXPECT_EQ(volume("/src:/dst"), (Mount{"/dst", "bind", "/src", {"rbind", "rw", "rprivate"}}));
    EXPECT_EQ(volume("/src:/dst:ro"), (Mount{"/dst", "bind", "/src", {"rbind", "ro", "rprivate"}}));
    EXPECT_EQ(volume("/src:/dst:rw"), (Mount{"/dst", "bind", "/src", {"rbind", "rw", "rprivate"}}));
    EXPECT_EQ(volume("/src:/dst:ro,rshared"),
              (Mount{"/dst", "bind", "/src", {"rbind", "ro", "rshared"}}));
    EXPECT_EQ(volume("/src:/dst:slave"), (Mount{"/dst", "bind", "/src", {"rbind", "rw", "slave"}}));
    EXPECT_EQ(volume("/src:/dst:z,ro"), (Mount{"/dst", "bind", "/src", {"rbind", "ro", "rprivate"}}));
    EXPECT_EQ(volume("/src:/dst:bind"), (Mount{"/dst", "bind", "/src", {"bind", "rw", "rprivate"}}));
    EXPECT_EQ(volume("/src:/dst//sub/"),
              (Mount{"/dst/sub", "bind", "/src", {"rbind", "rw", "rprivate"}}));
}

TEST(RunOptions, VolumeReplacesSameDestination) {
    auto o = base();
    o.volumes = {"/a:/data", "/b:/data:ro"};
    Spec s = build(o);
    const Mount* m = find_mount(s, "/data");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->source, "/b");
}

TEST(RunOptions, VolumeNonexistentSourceRejected) {
    Fake fake;
    fake.missing_paths["/nope"] = true;
    auto o = base();
    o.volumes = {"/nope:/dst"};
    EXPECT_TRUE(contains(build_error(o, fake), "/nope"));
    EXPECT_TRUE(contains(build_error(o, fake), "does not exist"));
}

// Docker's propagation rule: a shared volume's source must lie on a shared mount and makes the
// root's propagation "shared"; a slave one needs a shared or slave mount and makes it "rslave",
// unless a shared one made it shared; a private one changes nothing.
TEST(RunOptions, VolumePropagationSetsTheRootsAsDockerDoes) {
    Fake fake;
    fake.mounts["/peer"] = {1, 0, "/peer", true, false};
    fake.mounts["/follower"] = {2, 0, "/follower", false, true};
    fake.mounts["/alone"] = {3, 0, "/", false, false};
    auto root_propagation = [&](const Strings& volumes) {
        auto o = base();
        o.volumes = volumes;
        return build(o, fake).linux.rootfs_propagation;
    };
    EXPECT_EQ(root_propagation({"/alone:/a"}), "");
    EXPECT_EQ(root_propagation({"/peer:/a:rshared"}), "shared");
    EXPECT_EQ(root_propagation({"/follower:/a:rslave"}), "rslave");
    EXPECT_EQ(root_propagation({"/peer:/a:slave"}), "rslave");
    EXPECT_EQ(root_propagation({"/peer:/a:rshared", "/follower:/b:rslave"}), "shared");
    EXPECT_EQ(root_propagation({"/follower:/b:rslave", "/peer:/a:shared"}), "shared");

    auto o = base();
    o.volumes = {"/alone:/a:rshared"};
    EXPECT_EQ(build_error(o, fake), "path /alone is mounted on / but it is not a shared mount");
    o.volumes = {"/follower:/a:rshared"};
    EXPECT_TRUE(contains(build_error(o, fake), "not a shared mount"));
    o.volumes = {"/alone:/a:rslave"};
    EXPECT_EQ(build_error(o, fake), "path /alone is mounted on / but it is not a shared or slave mount");
    EXPECT_EQ(root_propagation({"/unknown:/a:rslave"}), "rslave") << "a mount hutch cannot tell (hutch audit)";
}

TEST(RunOptions, VolumeErrors) {
    struct Case {
        const char* flag;
        const char* needle;
    };
    for (const Case& c : {Case{"data:/dst", "named volumes"}, Case{"./rel:/dst", "named volumes"},
                          Case{"/src:/", "destination can't be '/'"},
                          Case{"/src:/a/..", "\"..\""},
                          Case{"/src:dst", "must be absolute"},
                          Case{"/a:/b:ro:x", "\"/a:/b:ro:x\""}, Case{"/a:/b:c:d:e", "/a:/b:c:d:e"},
                          Case{"/only", "\"/only\""}, Case{":/dst", "\":/dst\""},
                          Case{"/src:/dst:bogus", "\"bogus\""}}) {
        SCOPED_TRACE(c.flag);
        auto o = base();
        o.volumes = {c.flag};
        EXPECT_TRUE(contains(build_error(o), c.needle));
    }
}

// --- name resolution flags -----------------------------------------------------------------

namespace {
ExtraHost add_host(const std::string& flag) {
    auto o = base();
    o.add_hosts = {flag};
    Spec s = build(o);
    EXPECT_EQ(s.hutch.extra_hosts.size(), 1u);
    return s.hutch.extra_hosts.empty() ? ExtraHost{} : s.hutch.extra_hosts[0];
}
std::string add_host_error(const std::string& flag) {
    auto o = base();
    o.add_hosts = {flag};
    return build_error(o);
}
}  // namespace

TEST(RunOptions, AddHostForms) {
    EXPECT_EQ(add_host("server1:123.45.67.89"), (ExtraHost{"server1", "123.45.67.89"}));
    EXPECT_EQ(add_host("server1=123.45.67.89"), (ExtraHost{"server1", "123.45.67.89"}));
    EXPECT_EQ(add_host("v6:[::1]"), (ExtraHost{"v6", "::1"}));
    EXPECT_EQ(add_host("v6=[2001:db8::1]"), (ExtraHost{"v6", "2001:db8::1"}));
    EXPECT_EQ(add_host("v6:::1"), (ExtraHost{"v6", "::1"}));
    EXPECT_EQ(add_host("v6=2001:db8::1"), (ExtraHost{"v6", "2001:db8::1"}));
    EXPECT_EQ(add_host("db.example.com:10.0.0.5"), (ExtraHost{"db.example.com", "10.0.0.5"}));
}

TEST(RunOptions, AddHostKeepsOrder) {
    auto o = base();
    o.add_hosts = {"b:10.0.0.2", "a=10.0.0.1", "b:10.0.0.3"};
    EXPECT_EQ(build(o).hutch.extra_hosts,
              (std::vector<ExtraHost>{{"b", "10.0.0.2"}, {"a", "10.0.0.1"}, {"b", "10.0.0.3"}}));
}

TEST(RunOptions, AddHostErrorsNameTheValue) {
    auto m = add_host_error("h:1.2.3.999");
    EXPECT_TRUE(contains(m, "invalid IP address in add-host"));
    EXPECT_TRUE(contains(m, "\"1.2.3.999\""));
    m = add_host_error("h:");
    EXPECT_TRUE(contains(m, "invalid IP address in add-host"));
    m = add_host_error("noseparator");
    EXPECT_TRUE(contains(m, "bad format for add-host: \"noseparator\""));
    m = add_host_error(":1.2.3.4");
    EXPECT_TRUE(contains(m, "bad format for add-host: \":1.2.3.4\""));
    m = add_host_error("evil\nname:1.2.3.4");
    EXPECT_TRUE(contains(m, "evil\nname:1.2.3.4"));
    m = add_host_error("two words:1.2.3.4");
    EXPECT_TRUE(contains(m, "two words:1.2.3.4"));
    m = add_host_error("tab\tname=1.2.3.4");
    EXPECT_TRUE(contains(m, "tab\tname=1.2.3.4"));
}

TEST(RunOptions, AddHostGatewayIsResolvedByTheLauncher) {
    auto o = base();
    o.add_hosts = {"gw:host-gateway"};
    EXPECT_EQ(build(o).hutch.extra_hosts, (std::vector<ExtraHost>{{"gw", "host-gateway"}}));
}

TEST(RunOptions, DnsFlags) {
    auto o = base();
    o.dns = {"4.4.4.2", "[2001:db8::53]"};
    o.dns_search = {"domain.com", "."};
    o.dns_options = {"ndots:2", "edns0"};
    Spec s = build(o);
    EXPECT_EQ(s.hutch.dns, (Strings{"4.4.4.2", "2001:db8::53"}));
    EXPECT_EQ(s.hutch.dns_search, (Strings{"domain.com", "."}));
    EXPECT_EQ(s.hutch.dns_options, (Strings{"ndots:2", "edns0"}));
}

TEST(RunOptions, DnsBadAddressRejected) {
    for (const char* bad : {"1.2.3", "dns.google", "8.8.8.8.8", ""}) {
        SCOPED_TRACE(bad);
        auto o = base();
        o.dns = {bad};
        EXPECT_TRUE(contains(build_error(o), std::string("\"") + bad + "\""));
    }
}

TEST(RunOptions, DnsSearchValidation) {
    const std::string label63(63, 'a'), label64(64, 'a');
    auto o = base();
    o.dns_search = {label63 + ".com"};
    EXPECT_EQ(build(o).hutch.dns_search, Strings{label63 + ".com"});
    o.dns_search = {label64 + ".com"};
    EXPECT_TRUE(contains(build_error(o), label64));
    o.dns_search = {"has space.com"};
    EXPECT_TRUE(contains(build_error(o), "\"has space.com\""));
    o.dns_search = {"new\nline"};
    EXPECT_TRUE(contains(build_error(o), "new\nline"));
    o.dns_search = {"."};
    EXPECT_EQ(build(o).hutch.dns_search, Strings{"."});
}

TEST(RunOptions, DnsOptionValidation) {
    auto o = base();
    o.dns_options = {""};
    EXPECT_TRUE(contains(build_error(o), "--dns-option"));
    o.dns_options = {"ndots:2 rotate"};
    EXPECT_TRUE(contains(build_error(o), "ndots:2 rotate"));
}

// --- validate ------------------------------------------------------------------------------

TEST(Validate, ContainerName) {
    EXPECT_TRUE(validate::container_name("web"));
    EXPECT_TRUE(validate::container_name("a_b.c-d9"));
    EXPECT_FALSE(validate::container_name(""));
    EXPECT_FALSE(validate::container_name(".web"));
    EXPECT_FALSE(validate::container_name("we b"));
}

TEST(Validate, Hostname) {
    EXPECT_TRUE(validate::hostname("a"));
    EXPECT_TRUE(validate::hostname("my-host.example.com"));
    EXPECT_TRUE(validate::hostname(std::string(63, 'x')));
    EXPECT_FALSE(validate::hostname(std::string(64, 'x')));
    EXPECT_FALSE(validate::hostname(""));
    EXPECT_FALSE(validate::hostname("-a"));
    EXPECT_FALSE(validate::hostname("a-"));
    EXPECT_FALSE(validate::hostname("a..b"));
    EXPECT_FALSE(validate::hostname("a."));
    EXPECT_FALSE(validate::hostname("a_b"));
    std::string long_name;
    for (int i = 0; i < 4; ++i) long_name += std::string(63, 'x') + ".";
    long_name.pop_back();  // 4*63+3 = 255 characters
    EXPECT_FALSE(validate::hostname(long_name));
}

TEST(Validate, IpAddress) {
    EXPECT_EQ(validate::ip_address("10.0.0.1"), "10.0.0.1");
    EXPECT_EQ(validate::ip_address("[::1]"), "::1");
    EXPECT_EQ(validate::ip_address("0:0:0:0:0:0:0:1"), "::1");
    EXPECT_EQ(validate::ip_address("2001:DB8::1"), "2001:db8::1");
    EXPECT_EQ(validate::ip_address("1.2.3"), "");
    EXPECT_EQ(validate::ip_address("[1.2.3.4"), "");
    EXPECT_EQ(validate::ip_address("[]"), "");
    EXPECT_EQ(validate::ip_address(""), "");
    EXPECT_EQ(validate::ip_address(" 1.2.3.4"), "");
}

TEST(Validate, SpaceAndControl) {
    EXPECT_TRUE(validate::has_space_or_control("a b"));
    EXPECT_TRUE(validate::has_space_or_control("a\nb"));
    EXPECT_TRUE(validate::has_space_or_control(std::string("a\0b", 3)));
    EXPECT_FALSE(validate::has_space_or_control("a-b"));
    EXPECT_TRUE(validate::has_control("a\tb"));
    EXPECT_FALSE(validate::has_control("a b"));
}

// --- user namespaces (runtime/userns.hpp) --------------------------------------------------------

namespace {

bool has_option(const Mount* m, const std::string& option) {
    return m && std::find(m->options.begin(), m->options.end(), option) != m->options.end();
}

}  // namespace

TEST(RunOptionsUserns, UidmapMakesAUserNamespaceWithTheMaps) {
    RunOptions o = base();
    o.uidmap = {"0:200000:65536"};
    Spec s = build(o);
    EXPECT_TRUE(s.has_new_namespace(NamespaceType::kUser));
    EXPECT_EQ(s.linux.uid_mappings, (std::vector<IdMapping>{{0, 200000, 65536}}));
    EXPECT_EQ(s.linux.gid_mappings, s.linux.uid_mappings) << "--gidmap defaults to --uidmap";
    // Both ends of ping_group_range must be gids of the namespace.
    EXPECT_EQ(s.linux.sysctl.at("net.ipv4.ping_group_range"), "0 65535");
    EXPECT_TRUE(has_option(find_mount(s, "/dev/pts"), "gid=5"));

    o.gidmap = {"0:300000:1"};
    o.uidmap = {"0:200000:1"};
    Spec small = build(o);
    EXPECT_EQ(small.linux.gid_mappings, (std::vector<IdMapping>{{0, 300000, 1}}));
    EXPECT_FALSE(has_option(find_mount(small, "/dev/pts"), "gid=5")) << "the tty group is not mapped";
    EXPECT_EQ(small.linux.sysctl.at("net.ipv4.ping_group_range"), "0 0");
}

TEST(RunOptionsUserns, NoUserNamespaceByDefaultOrWithUsernsHost) {
    EXPECT_FALSE(build(base()).has_namespace(NamespaceType::kUser));
    RunOptions o = base();
    o.userns = "host";
    EXPECT_FALSE(build(o).has_namespace(NamespaceType::kUser));
    o.uidmap = {"0:1:1"};
    EXPECT_TRUE(contains(build_error(o), "conflicting options: --userns host and --uidmap/--gidmap"));
}

TEST(RunOptionsUserns, UsernsRemapLaysTheSubordinateRangesEndToEnd) {
    Fake fake;
    fake.host_files["/etc/subuid"] = "other:1:5\nhutch:100000:10\n# comment\nhutch:500000:20\n";
    fake.host_files["/etc/subgid"] = "builder:700000:65536\n";
    HostFacts facts = fake.facts();
    facts.config.userns_remap = "hutch:builder";
    Spec s = build_run_spec(base(), kId, facts);
    EXPECT_EQ(s.linux.uid_mappings, (std::vector<IdMapping>{{0, 100000, 10}, {10, 500000, 20}}));
    EXPECT_EQ(s.linux.gid_mappings, (std::vector<IdMapping>{{0, 700000, 65536}}));

    RunOptions host = base();
    host.userns = "host";
    EXPECT_FALSE(build_run_spec(host, kId, facts).has_namespace(NamespaceType::kUser));

    facts.config.userns_remap = "default";
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(base(), kId, facts); }),
                         "/etc/subgid has no entry for hutch"));
    fake.host_files.erase("/etc/subuid");
    HostFacts no_file = fake.facts();
    no_file.config.userns_remap = "default";
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(base(), kId, no_file); }), "cannot read /etc/subuid"));
}

TEST(RunOptionsUserns, WhatAUserNamespaceCannotShareIsRefused) {
    auto refused = [](void (*change)(RunOptions&), const std::string& needle) {
        RunOptions o = base();
        o.uidmap = {"0:200000:65536"};
        change(o);
        EXPECT_TRUE(contains(build_error(o), needle));
    };
    refused([](RunOptions& o) { o.privileged = true; }, "privileged mode is incompatible with user namespaces");
    refused([](RunOptions& o) { o.network = "host"; }, "cannot share the host's network namespace");
    refused([](RunOptions& o) { o.pid = "host"; }, "cannot share the host PID namespace");
    refused([](RunOptions& o) { o.ipc = "host"; }, "cannot share the host IPC namespace");
    refused([](RunOptions& o) { o.user = "70000"; }, "uid 70000 is not mapped");
    refused([](RunOptions& o) { o.userns = "keep-id"; }, "--userns keep-id is for rootless hutch");
    refused([](RunOptions& o) { o.userns = "nomap"; }, "--userns nomap is for rootless hutch");
}

TEST(RunOptionsUserns, IdmapVolumesNeedAUserNamespace) {
    RunOptions o = base();
    o.volumes = {"/src:/dst:ro,idmap"};
    EXPECT_TRUE(contains(build_error(o), ":idmap needs a user namespace"));
    o.uidmap = {"0:200000:65536"};
    const Spec spec = build(o);
    const Mount* m = find_mount(spec, "/dst");
    // The whole volume (runc's ridmap), so the config means the same under runc.
    EXPECT_TRUE(has_option(m, "ridmap"));
    EXPECT_TRUE(has_option(m, "ro"));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->options.back(), "rprivate") << "the propagation stays last";
}
