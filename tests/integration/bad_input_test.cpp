// Bad input: exit 125, exactly one `hutch: ...` line on stderr naming the bad value, and
// nothing left behind (no state, no mount on the host, no process).
#include <unistd.h>

#include "harness.hpp"

namespace hutch_it {
namespace {

struct BadInput {
    const char* label;
    Strings args;        // after `run`; "@ROOTFS" is replaced by the rootfs, "@FILE" by a regular file
    std::string names;   // what the error line must contain
};

std::ostream& operator<<(std::ostream& os, const BadInput& b) { return os << b.label; }

// AddHostWithNewline, DnsWithNewline: the error message quotes the value, so its newline must
// print escaped, or stderr would get a second line of attacker-chosen text.
//
// "--rm" follows each bad value, so a repeatable flag never sits right before ROOTFS (that
// parser bug is pinned separately by CliIntegration.RepeatableOptionBeforeRootfs).
const BadInput kBadInputs[] = {
    {"MissingRootfs", {"--rm", "/nonexistent/rootfs-xyz", "true"}, "/nonexistent/rootfs-xyz"},
    {"FileAsRootfs", {"--rm", "@FILE", "true"}, "@FILE"},
    {"UnknownCapAdd", {"--cap-add", "NOPE", "--rm", "@ROOTFS", "true"}, "NOPE"},
    {"UnknownCapDrop", {"--cap-drop", "CAP_NOPE2", "--rm", "@ROOTFS", "true"}, "CAP_NOPE2"},
    {"CapWithSpace", {"--cap-add", "SYS TIME", "--rm", "@ROOTFS", "true"}, "SYS TIME"},
    {"VolumeWithoutDestination", {"-v", "foo", "--rm", "@ROOTFS", "true"}, "foo"},
    {"VolumeOnlyPath", {"-v", "/x", "--rm", "@ROOTFS", "true"}, "/x"},
    {"VolumeNamedSource", {"-v", "named:/data", "--rm", "@ROOTFS", "true"}, "named:/data"},
    {"VolumeMissingSource", {"-v", "/nonexistent-src-xyz:/data", "--rm", "@ROOTFS", "true"}, "/nonexistent-src-xyz"},
    {"VolumeRelativeDestination", {"-v", "/tmp:data", "--rm", "@ROOTFS", "true"}, "\"data\""},
    {"VolumeDotDotDestination", {"-v", "/tmp:/a/../../etc", "--rm", "@ROOTFS", "true"}, "/a/../../etc"},
    {"VolumeOnRoot", {"-v", "/tmp:/", "--rm", "@ROOTFS", "true"}, "/tmp:/"},
    {"VolumeBadMode", {"-v", "/tmp:/data:rx", "--rm", "@ROOTFS", "true"}, "rx"},
    {"RelativeTmpfs", {"--tmpfs", "rel/dir", "--rm", "@ROOTFS", "true"}, "rel/dir"},
    {"TmpfsUnknownOption", {"--tmpfs", "/x:bogus=1", "--rm", "@ROOTFS", "true"}, "bogus=1"},
    {"BadUser", {"-u", "nosuchuser", "--rm", "@ROOTFS", "true"}, "nosuchuser"},
    {"BadGroup", {"-u", "0:nosuchgroup", "--rm", "@ROOTFS", "true"}, "nosuchgroup"},
    {"UidOutOfRange", {"-u", "4294967296", "--rm", "@ROOTFS", "true"}, "4294967296"},
    {"HostnameWithSpace", {"-h", "bad host", "--rm", "@ROOTFS", "true"}, "bad host"},
    {"HostnameLikeAnOption", {"-h", "-x", "--rm", "@ROOTFS", "true"}, "-x"},
    {"UnknownOption", {"--bogus-flag", "--rm", "@ROOTFS", "true"}, "--bogus-flag"},
    {"EmptyCommand", {"--rm", "@ROOTFS", ""}, "command"},
    {"NoCommand", {"--rm", "@ROOTFS"}, "COMMAND"},
    {"NameLikeAnOption", {"--name", "-x", "--rm", "@ROOTFS", "true"}, "-x"},
    {"NameWithSlash", {"--name", "a/b", "--rm", "@ROOTFS", "true"}, "a/b"},
    {"AddHostWithNewline", {"--add-host", "a:1.2.3.4\nevil 6.6.6.6", "--rm", "@ROOTFS", "true"}, "add-host"},
    {"AddHostWithoutAddress", {"--add-host", "justaname", "--rm", "@ROOTFS", "true"}, "justaname"},
    {"AddHostBadAddress", {"--add-host", "h:999.1.1.1", "--rm", "@ROOTFS", "true"}, "999.1.1.1"},
    {"BadDns", {"--dns", "1.2.3", "--rm", "@ROOTFS", "true"}, "1.2.3"},
    {"DnsWithNewline", {"--dns", "1.1.1.1\nnameserver 6.6.6.6", "--rm", "@ROOTFS", "true"}, "dns"},
    {"BadDnsSearch", {"--dns-search", "bad domain", "--rm", "@ROOTFS", "true"}, "bad domain"},
    {"BadNetwork", {"--network", "nosuchnet", "--rm", "@ROOTFS", "true"}, "nosuchnet"},
    {"BadPidMode", {"--pid", "private", "--rm", "@ROOTFS", "true"}, "private"},
    {"PidOfNoRunningContainer", {"--pid", "container:nosuch", "--rm", "@ROOTFS", "true"}, "nosuch"},
    {"IpcOfNoRunningContainer", {"--ipc", "container:nosuch", "--rm", "@ROOTFS", "true"}, "nosuch"},
    {"BadSecurityOpt", {"--security-opt", "apparmor=x", "--rm", "@ROOTFS", "true"}, "apparmor=x"},
    {"MissingEnvFile", {"--env-file", "/nonexistent-env-xyz", "--rm", "@ROOTFS", "true"}, "/nonexistent-env-xyz"},
    {"EnvWithoutName", {"-e", "=value", "--rm", "@ROOTFS", "true"}, "=value"},
    {"RelativeWorkdir", {"-w", "rel/wd", "--rm", "@ROOTFS", "true"}, "rel/wd"},
    {"HostnameWithUtsHost", {"-h", "x", "--uts", "host", "--rm", "@ROOTFS", "true"}, "hostname"},
};

class BadInputIntegration : public HutchTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(BadInputIntegration, Exits125WithOneLineAndLeavesNothing) {
    const BadInput& bad = GetParam();
    const std::string file = std::string(HUTCH_SOURCE_DIR) + "/CMakeLists.txt";
    Strings args;
    for (const auto& a : bad.args) args.push_back(a == "@ROOTFS" ? rootfs_ : a == "@FILE" ? file : a);
    std::string names = bad.names == "@FILE" ? file : bad.names;

    std::string mounts_before = host_mountinfo();
    ASSERT_EQ(own_children(), std::vector<pid_t>{});
    Result r = run_raw(args);
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.out, "");
    auto lines = r.err_lines();
    EXPECT_EQ(lines.size(), 1u) << describe(r);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].rfind("hutch: ", 0), 0u) << lines[0];
    EXPECT_NE(r.err.find(names), std::string::npos) << "the message must name " << names << "\n" << describe(r);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    EXPECT_EQ(host_mountinfo(), mounts_before);
    EXPECT_EQ(own_children(), std::vector<pid_t>{});
    reap_leftover_children();
}

INSTANTIATE_TEST_SUITE_P(Cli, BadInputIntegration, ::testing::ValuesIn(kBadInputs),
                         [](const ::testing::TestParamInfo<BadInput>& p) { return std::string(p.param.label); });

class CliIntegration : public HutchTest {};

// Start failures after validation (exec errors) also leave nothing behind with --rm.
TEST_F(CliIntegration, FailedExecLeavesNothing) {
    std::string before = host_mountinfo();
    Result r = run({}, {"/no/such/binary"});
    EXPECT_EXIT_CODE(r, 127);
    // runc's words, as `docker run` shows them.
    EXPECT_NE(r.err.find("exec: \"/no/such/binary\": stat /no/such/binary: no such file or directory"), std::string::npos)
        << describe(r);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    EXPECT_EQ(host_mountinfo(), before);
    EXPECT_EQ(own_children(), std::vector<pid_t>{});
}

// Regression (found by this suite, fixed in ec74cd1): a repeatable option (-e, -v, --tmpfs,
// --cap-add, ...) given right before ROOTFS swallowed ROOTFS and the command:
// `hutch run --cap-add SYS_TIME ROOTFS true` failed with `"hutch run" requires at least 2
// arguments`. docker run takes exactly one value per occurrence of these flags.

TEST_F(CliIntegration, RepeatableOptionBeforeRootfs) {
    TempDir dir;
    write_file(dir / "env", "A=1\n");
    const std::vector<Strings> cases = {
        {"-e", "A=1"},
        {"--env", "A=1"},
        {"--env-file", dir / "env"},
        {"-v", dir.path() + ":/data"},
        {"--tmpfs", "/x"},
        {"--cap-add", "SYS_TIME"},
        {"--cap-drop", "CHOWN"},
        {"--add-host", "a:1.2.3.4"},
        {"--dns", "192.0.2.1"},
        {"--dns-search", "example.org"},
        {"--dns-option", "ndots:1"},
        {"--security-opt", "no-new-privileges"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c[0]);
        Strings args = {"--rm"};
        args.insert(args.end(), c.begin(), c.end());
        args.push_back(rootfs_);
        args.insert(args.end(), {"echo", "ran"});
        Result r = run_raw(args);
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, "ran\n");
    }
}

TEST_F(CliIntegration, OptionsAfterRootfsBelongToTheCommand) {
    Result r = run_raw({"--rm", rootfs_, "echo", "--rm", "-e", "X=1", "--privileged"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "--rm -e X=1 --privileged\n");
}

TEST_F(CliIntegration, EqualsFormOfOptions) {
    Result r = run_raw({"--rm", "--hostname=eqhost", "--env=A=1", "--user=65534", rootfs_, "sh", "-c",
                        "hostname; echo $A; id -u"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "eqhost\n1\n65534\n");
}

TEST_F(CliIntegration, HelpExitsZero) {
    Result r = run_hutch({"--help"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("run"), std::string::npos);
}

TEST_F(CliIntegration, RmOfUnknownContainer) {
    Result r = roots_.hutch({"rm", "nosuch"});
    EXPECT_EXIT_CODE(r, 125);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("nosuch"), std::string::npos);
}

}  // namespace
}  // namespace hutch_it
