// The container's process: pid 1, namespaces, hostname, environment, user, working directory.
#include <unistd.h>

#include <regex>

#include "harness.hpp"

namespace hutch_it {
namespace {

using ProcessIntegration = HutchTest;

// --- pid 1 and the pid namespace -----------------------------------------------------------

TEST_F(ProcessIntegration, CommandIsPid1) {
    Result r = sh({}, "echo $$");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "1\n");
}

TEST_F(ProcessIntegration, Proc1IsTheCommandItself) {
    Result r = run({}, {"cat", "/proc/1/cmdline"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, std::string("cat\0/proc/1/cmdline\0", 20));
}

TEST_F(ProcessIntegration, OnlyTheContainersProcessesAreVisible) {
    Result r = sh({}, "ls -d /proc/[0-9]* | wc -l");
    EXPECT_EXIT_CODE(r, 0);
    // sh (pid 1), ls and wc (a subshell at most): never the host's hundred-odd processes.
    EXPECT_LE(std::stoi(trim(r.out)), 4) << r.out;
}

TEST_F(ProcessIntegration, PidHostSeesTheHostsInit) {
    std::string host_init = read_file("/proc/1/cmdline");
    ASSERT_FALSE(host_init.empty());
    Result r = sh({"--pid", "host"}, "cat /proc/1/cmdline; echo; readlink /proc/self/ns/pid; echo $$");
    ASSERT_EXIT_CODE(r, 0);
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 3u) << describe(r);
    EXPECT_EQ(lines[0], host_init) << "the container's /proc/1/cmdline";
    EXPECT_EQ(lines[1], ns_link("pid"));
    EXPECT_NE(lines[2], "1");
}

// --- namespaces ----------------------------------------------------------------------------

std::map<std::string, std::string> container_namespaces(const Result& r) {
    std::map<std::string, std::string> out;
    for (const auto& line : split_lines(r.out)) {
        auto sp = line.find(' ');
        if (sp != std::string::npos) out[line.substr(0, sp)] = line.substr(sp + 1);
    }
    return out;
}

const char* kNsScript = "for n in pid mnt uts ipc net cgroup user; do echo $n $(readlink /proc/self/ns/$n); done";

TEST_F(ProcessIntegration, NewNamespacesByDefault) {
    Result r = sh({}, kNsScript);
    ASSERT_EXIT_CODE(r, 0);
    auto ns = container_namespaces(r);
    for (const char* type : {"pid", "mnt", "uts", "ipc", "net", "cgroup"}) {
        SCOPED_TRACE(type);
        ASSERT_FALSE(ns[type].empty()) << r.out;
        EXPECT_NE(ns[type], ns_link(type)) << "the container must have its own " << type << " namespace";
    }
    // Docker does not use a user namespace by default: uid 0 inside is the host's root.
    EXPECT_EQ(ns["user"], ns_link("user"));
}

TEST_F(ProcessIntegration, HostNamespacesWhenAsked) {
    Result r = sh({"--uts", "host", "--ipc", "host", "--network", "host"}, kNsScript);
    ASSERT_EXIT_CODE(r, 0);
    auto ns = container_namespaces(r);
    EXPECT_EQ(ns["uts"], ns_link("uts"));
    EXPECT_EQ(ns["ipc"], ns_link("ipc"));
    EXPECT_EQ(ns["net"], ns_link("net"));
    EXPECT_NE(ns["pid"], ns_link("pid"));
    EXPECT_NE(ns["mnt"], ns_link("mnt"));
}

TEST_F(ProcessIntegration, EachHostFlagOnlySharesItsOwnNamespace) {
    for (const char* flag : {"uts", "ipc", "network"}) {
        SCOPED_TRACE(flag);
        Result r = sh({std::string("--") + flag, "host"}, kNsScript);
        ASSERT_EXIT_CODE(r, 0);
        auto ns = container_namespaces(r);
        std::string shared = std::string(flag) == "network" ? "net" : flag;
        for (const char* type : {"uts", "ipc", "net"}) {
            if (type == shared) {
                EXPECT_EQ(ns[type], ns_link(type)) << type;
            }
            else EXPECT_NE(ns[type], ns_link(type)) << type;
        }
    }
}

TEST_F(ProcessIntegration, NetworkNoneHasOnlyLoopbackUp) {
    Result r = sh({"--network", "none"},
                  "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "lo\nlo-ok\n") << describe(r);
}

// The lab technique: a debugging container started with --pid container:NAME sees the target's
// processes and can signal them, in its own mount namespace and with its own rootfs.
TEST_F(ProcessIntegration, PidContainerSeesAndSignalsTheTarget) {
    Result started = roots_.hutch({"run", "-d", "--network", "none", "--name", "target", rootfs_, "sh", "-c",
                                   "trap 'exit 9' USR1; while true; do sleep 0.1; done"});
    ASSERT_EXIT_CODE(started, 0);
    Result r = run({"--network", "none", "--pid", "container:target"},
                   {"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; kill -USR1 1 && echo signalled"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("while true"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("signalled"), std::string::npos) << describe(r);
    Result waited = roots_.hutch({"wait", "target"});
    EXPECT_EQ(waited.out, "9\n") << describe(waited);
    roots_.hutch({"rm", "-f", "target"});
}

TEST_F(ProcessIntegration, NetworkHostSeesHostInterfaces) {
    // The same network namespace as the host, so the host's interfaces (counting them would race
    // with parallel tests creating bridges and veths).
    char host_ns[64] = {};
    ASSERT_GT(::readlink("/proc/self/ns/net", host_ns, sizeof host_ns - 1), 0);
    Result r = sh({"--network", "host"}, "readlink /proc/self/ns/net; test -e /sys/class/net/lo && echo has-lo");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, std::string(host_ns) + "\nhas-lo\n");
}

// --- hostname ------------------------------------------------------------------------------

TEST_F(ProcessIntegration, DefaultHostnameIsShortId) {
    // Kept (no --rm) so the id can be read back from the state root.
    Result r = run_raw({"--name", "hn", rootfs_, "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME"});
    ASSERT_EXIT_CODE(r, 0);
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 3u) << describe(r);
    EXPECT_TRUE(std::regex_match(lines[0], std::regex("[0-9a-f]{12}"))) << lines[0];
    EXPECT_EQ(lines[1], lines[0]);
    EXPECT_EQ(lines[2], lines[0]);
    auto ids = roots_.container_ids();
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_TRUE(std::regex_match(ids[0], std::regex("[0-9a-f]{64}"))) << ids[0];
    EXPECT_EQ(ids[0].substr(0, 12), lines[0]);
    Result ps = roots_.hutch({"ps", "-a", "-q"});
    EXPECT_EXIT_CODE(ps, 0);
    EXPECT_EQ(ps.out, lines[0] + "\n");
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "hn"}), 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(ProcessIntegration, HostnamesDifferPerContainer) {
    Result a = run({}, {"hostname"}), b = run({}, {"hostname"});
    EXPECT_NE(a.out, b.out);
}

TEST_F(ProcessIntegration, HostnameFlag) {
    Result r = sh({"-h", "myhost"}, "hostname; cat /etc/hostname; echo $HOSTNAME");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "myhost\nmyhost\nmyhost\n");
    Result longer = run({"--hostname", "web-1.example.org"}, {"hostname"});
    EXPECT_EQ(longer.out, "web-1.example.org\n");
}

TEST_F(ProcessIntegration, UtsHostKeepsTheHostsHostname) {
    // The host's UTS namespace: the host's name. $HOSTNAME is Docker's Config.Hostname, the short
    // id (ContainerNetIntegration.UtsHostStillNamesTheContainerInEtcHostname).
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    Result r = sh({"--uts", "host"}, "hostname; echo $HOSTNAME");
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 2u) << r.out;
    EXPECT_EQ(lines[0], host);
    EXPECT_TRUE(std::regex_match(lines[1], std::regex("[0-9a-f]{12}"))) << lines[1];
}

TEST_F(ProcessIntegration, NetworkHostUsesTheHostsHostname) {
    // Docker: --network host gives the container the host's name (in its own UTS namespace).
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    Result r = sh({"--network", "host"}, "hostname; echo $HOSTNAME");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, std::string(host) + "\n" + host + "\n");
}

TEST_F(ProcessIntegration, InvalidHostnamesRejected) {
    // The message names the value; a control character in it prints escaped ("tab\there").
    const std::pair<const char*, const char*> cases[] = {
        {"bad host", "bad host"}, {"-x", "-x"}, {"a..b", "a..b"}, {"under_score", "under_score"},
        {"x-", "x-"}, {"tab\there", "tab\\there"}};
    for (const auto& [bad, shown] : cases) {
        SCOPED_TRACE(bad);
        Result r = run({"-h", bad}, {"true"});
        EXPECT_EXIT_CODE(r, 125);
        ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(shown), std::string::npos) << describe(r);
    }
    Result too_long = run({"-h", std::string(64, 'a')}, {"true"});
    EXPECT_EXIT_CODE(too_long, 125);
}

TEST_F(ProcessIntegration, IpcHostSharesDevShm) {
    std::string name = "hutch-it-shm-" + std::to_string(::getpid());
    write_file("/dev/shm/" + name, "shared\n");
    Result shared = run({"--ipc", "host"}, {"cat", "/dev/shm/" + name});
    Result own = run({}, {"cat", "/dev/shm/" + name});
    ::unlink(("/dev/shm/" + name).c_str());
    EXPECT_EXIT_CODE(shared, 0);
    EXPECT_EQ(shared.out, "shared\n");
    EXPECT_NE(own.code, 0) << describe(own);
}

// --- environment ---------------------------------------------------------------------------

TEST_F(ProcessIntegration, DefaultEnvironment) {
    // docker reference 15-env-hostname-id.txt
    Result r = run({"-h", "envhost"}, {"env"});
    ASSERT_EXIT_CODE(r, 0);
    auto lines = split_lines(r.out);
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(lines, (Strings{"HOME=/root", "HOSTNAME=envhost",
                              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}))
        << r.out;
}

TEST_F(ProcessIntegration, HostEnvironmentDoesNotLeak) {
    SpawnOptions so;
    so.extra_env = {"HUTCH_IT_SECRET=leaked"};
    Result r = run({}, {"env"}, so);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out.find("HUTCH_IT_SECRET"), std::string::npos) << r.out;
}

TEST_F(ProcessIntegration, EnvFlags) {
    SpawnOptions so;
    so.extra_env = {"HUTCH_IT_FROM_HOST=host value"};
    Result r = run({"-e", "FOO=bar", "-e", "HUTCH_IT_FROM_HOST", "-e", "HUTCH_IT_NOT_SET", "-e", "EMPTY=",
                    "--env", "FOO=baz", "-e", "WITH_EQ=a=b"},
                   {"env"}, so);
    ASSERT_EXIT_CODE(r, 0);
    auto lines = split_lines(r.out);
    auto has = [&](const std::string& l) { return std::find(lines.begin(), lines.end(), l) != lines.end(); };
    EXPECT_TRUE(has("FOO=baz")) << r.out;
    EXPECT_FALSE(has("FOO=bar")) << "the later -e wins\n" << r.out;
    EXPECT_TRUE(has("HUTCH_IT_FROM_HOST=host value")) << r.out;
    EXPECT_TRUE(has("EMPTY=")) << r.out;
    EXPECT_TRUE(has("WITH_EQ=a=b")) << r.out;
    EXPECT_EQ(r.out.find("HUTCH_IT_NOT_SET"), std::string::npos) << r.out;
}

TEST_F(ProcessIntegration, EnvOverridesPathAndHome) {
    Result r = sh({"-e", "PATH=/bin", "-e", "HOME=/tmp"}, "echo $PATH $HOME");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "/bin /tmp\n");
}

TEST_F(ProcessIntegration, EnvFile) {
    TempDir dir;
    write_file(dir / "env", "# a comment\n\nFILE_A=1\nFILE_B=two words\nFILE_C=from file\n");
    Result r = run({"--env-file", dir / "env", "-e", "FILE_C=from flag"}, {"env"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("\nFILE_A=1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nFILE_B=two words\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nFILE_C=from flag\n"), std::string::npos) << "-e wins over --env-file\n" << r.out;
    EXPECT_EQ(r.out.find("comment"), std::string::npos);
}

TEST_F(ProcessIntegration, EnvFileWithCrlfLines) {
    TempDir dir;
    write_file(dir / "env", "CR_A=1\r\nCR_B=two\r\n");
    Result r = sh({"--env-file", dir / "env"}, "echo \"[$CR_A][$CR_B]\"");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "[1][two]\n");
}

TEST_F(ProcessIntegration, TermOnlyWithTty) {
    Result r = run({}, {"env"});
    EXPECT_EQ(r.out.find("TERM="), std::string::npos) << r.out;
}

// --- user ----------------------------------------------------------------------------------

TEST_F(ProcessIntegration, DefaultUserIsRoot) {
    Result r = sh({}, "id; pwd");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "uid=0(root) gid=0(root) groups=0(root)\n/\n");
}

TEST_F(ProcessIntegration, UserNobody) {
    // docker reference 15b-env-user-workdir-hostname.txt
    Result r = sh({"-e", "FOO=bar", "-u", "nobody", "-w", "/tmp", "--hostname", "myhost"},
                  "env | sort; echo ---; hostname; id; pwd");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out,
              "FOO=bar\nHOME=/nonexistent\nHOSTNAME=myhost\n"
              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nPWD=/tmp\nSHLVL=1\n---\n"
              "myhost\nuid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n/tmp\n");
}

TEST_F(ProcessIntegration, NumericUserAndGroup) {
    Result r = sh({"-u", "1000:1000"}, "id -u; id -g; echo $HOME; touch /tmp/f && stat -c %u:%g /tmp/f");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "1000\n1000\n/\n1000:1000\n");
}

TEST_F(ProcessIntegration, UserWithNamedGroup) {
    Result r = sh({"-u", "nobody:tty"}, "id -u; id -g");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "65534\n5\n");
}

TEST_F(ProcessIntegration, NonRootCannotWriteRootOwnedFiles) {
    Result r = sh({"-u", "nobody"}, "echo x >> /etc/passwd; echo rc=$?");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("rc=1"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << describe(r);
}

TEST_F(ProcessIntegration, BadUserRejected) {
    for (const char* bad : {"nosuchuser", "nobody:nosuchgroup", "99999999999"}) {
        SCOPED_TRACE(bad);
        Result r = run({"-u", bad}, {"true"});
        EXPECT_EXIT_CODE(r, 125);
        ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
        std::string named = std::string(bad).find(':') != std::string::npos ? "nosuchgroup" : bad;
        EXPECT_NE(r.err.find(named), std::string::npos) << describe(r);
    }
}

// --- working directory ---------------------------------------------------------------------

TEST_F(ProcessIntegration, WorkdirExisting) {
    Result r = run({"-w", "/etc"}, {"pwd"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "/etc\n");
}

// docker creates a missing working directory.
TEST_F(ProcessIntegration, WorkdirIsCreated) {
    auto before = list_tree(rootfs_);
    Result r = sh({"-w", "/new/dir"}, "pwd; stat -c %U /new/dir");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "/new/dir\nroot\n");
    EXPECT_EQ(diff_trees(before, list_tree(rootfs_)), "") << "created in the container's layer only";
}

TEST_F(ProcessIntegration, RelativeWorkdirRejected) {
    Result r = run({"-w", "relative/dir"}, {"pwd"});
    EXPECT_EXIT_CODE(r, 125);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("relative/dir"), std::string::npos) << describe(r);
}

// --- stdin ---------------------------------------------------------------------------------

TEST_F(ProcessIntegration, StdinIsNotForwardedWithoutI) {
    SpawnOptions so;
    so.stdin_data = "from the host\n";
    Result r = run({}, {"cat"}, so);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "");
}

TEST_F(ProcessIntegration, StdinForwardedWithI) {
    SpawnOptions so;
    so.stdin_data = "from the host\n";
    Result r = run({"-i"}, {"cat"}, so);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "from the host\n");
}

TEST_F(ProcessIntegration, StdoutAndStderrAreSeparate) {
    Result r = sh({}, "echo out; echo err >&2");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
}

}  // namespace
}  // namespace hutch_it
