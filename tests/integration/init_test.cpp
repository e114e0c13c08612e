// `hutch run --init`: hutch-init (runtime/init/init.cpp) as pid 1, the command its child; signals
// forwarded, orphans reaped, the command's status as the container's. Each behaviour is checked
// beside the same command without --init, where it must differ, so no check here passes without it.
#include <signal.h>

#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using Clock = std::chrono::steady_clock;

class InitIntegration : public HutchTest {
protected:
    void TearDown() override {
        for (const auto& id : roots_.container_ids()) roots_.hutch({"rm", "-f", id}, {}, 20s);
        reap_leftover_children();  // the monitors of detached containers
    }

    // `run -d --network none OPTS ROOTFS CMD...`: the container's id, "" with a failure recorded.
    std::string run_d(const Strings& opts, const Strings& cmd) {
        Strings args = {"run", "-d", "--network", "none"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(rootfs_);
        args.insert(args.end(), cmd.begin(), cmd.end());
        Result r = roots_.hutch(args, {}, 15s);
        EXPECT_EXIT_CODE(r, 0);
        return r.code == 0 ? trim(r.out) : "";
    }
};

// /proc/1/cmdline with spaces for NULs, then the shell's pid and its parent's (field 4 of its
// /proc/PID/stat).
const char* kWhoIsWho = "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$ $(cut -d' ' -f4 /proc/$$/stat)";

TEST_F(InitIntegration, InitIsPid1AndTheCommandItsChild) {
    Result r = sh({"--init"}, kWhoIsWho);
    ASSERT_EXIT_CODE(r, 0);
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 2u) << describe(r);
    EXPECT_EQ(lines[0].rfind("/dev/.hutch-init -- sh -c ", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1], "2 1") << "the command is pid 2, the init's child";

    Result plain = sh({}, kWhoIsWho);
    ASSERT_EXIT_CODE(plain, 0);
    EXPECT_EQ(split_lines(plain.out).at(1), "1 0") << "without --init the command is pid 1";
}

// An orphan (the subshell's `sleep 0.1`) is re-parented to pid 1. Pid 1 then becomes `sleep`,
// which never waits: without --init the orphan stays a zombie; hutch-init reaps it.
TEST_F(InitIntegration, OrphanedZombiesAreReaped) {
    const std::string script =
        "(sleep 0.1 &); (sleep 0.6; grep -h '^State:' /proc/[0-9]*/status) & exec sleep 1.2";
    Result r = sh({"--init"}, script);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("State:"), std::string::npos) << describe(r);
    EXPECT_EQ(r.out.find("zombie"), std::string::npos) << "a zombie was left under --init: " << describe(r);

    Result plain = sh({}, script);
    ASSERT_EXIT_CODE(plain, 0);
    EXPECT_NE(plain.out.find("zombie"), std::string::npos) << "the check sees no zombie even without --init: "
                                                           << describe(plain);
}

// `hutch stop` sends SIGTERM to pid 1: hutch-init passes it on and `sleep` dies of it at once,
// 143. Without --init pid 1 is `sleep` itself, whose SIGTERM the kernel drops: stop waits for
// its timeout, then kills (DetachIntegration.StopEscalatesToKillAfterTheTimeout).
TEST_F(InitIntegration, StopEndsTheCommandPromptlyWith143) {
    ASSERT_FALSE(run_d({"--init", "--name", "sleeper"}, {"sleep", "100"}).empty());
    pid_t init = container_pid(roots_, "sleeper");
    ASSERT_GT(init, 0);
    // The init blocks its signals before it forks: once it has a child, SIGTERM is taken.
    ASSERT_GT(wait_for_child_of(init, 10s), 0);
    // exec'd processes are no children of the init, and work beside it.
    Result ex = roots_.hutch({"exec", "sleeper", "cat", "/proc/1/cmdline"});
    EXPECT_EXIT_CODE(ex, 0);
    EXPECT_EQ(ex.out, std::string("/dev/.hutch-init\0--\0sleep\0" "100\0", 30));

    auto t0 = Clock::now();
    Result stop = roots_.hutch({"stop", "-t", "10", "sleeper"});
    double took = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_EXIT_CODE(stop, 0);
    EXPECT_LT(took, 5.0) << "stop waited for its timeout: SIGTERM did not reach the command";
    EXPECT_EQ(roots_.hutch({"wait", "sleeper"}).out, "143\n");
    EXPECT_TRUE(wait_until_gone(init, 2s));
}

TEST_F(InitIntegration, ExitStatusPassesThrough) {
    EXPECT_EXIT_CODE(sh({"--init"}, "exit 7"), 7);
    // Killed by a signal: 128+N, as Docker reports it. Without --init the shell is pid 1, which
    // the kernel keeps from its own SIGTERM, so it goes on to `exit 3`.
    EXPECT_EXIT_CODE(sh({"--init"}, "kill -TERM $$; exit 3"), 143);
    EXPECT_EXIT_CODE(sh({"--init"}, "kill -KILL $$; exit 3"), 137);
    EXPECT_EXIT_CODE(sh({}, "kill -TERM $$; exit 3"), 3);
}

TEST_F(InitIntegration, CommandNotFoundIs127) {
    Result r = run({"--init"}, {"no-such-command"});
    EXPECT_EXIT_CODE(r, 127);
    EXPECT_NE(r.err.find("exec \"no-such-command\": executable file not found in $PATH"), std::string::npos)
        << describe(r);
    EXPECT_EXIT_CODE(run({"--init"}, {"/etc/passwd"}), 126);
}

// No hutch-init where $HUTCH_INIT says: one line naming it, 125, nothing made.
TEST_F(InitIntegration, MissingInitBinaryIs125AndLeavesNothing) {
    SpawnOptions so;
    so.extra_env = {"HUTCH_INIT=/nonexistent/hutch-init"};
    Result r = run({"--init"}, {"true"}, so);
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err, "hutch: --init: hutch-init not found at \"/nonexistent/hutch-init\" (build it, or set HUTCH_INIT)\n");
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

// With --read-only, and the binary itself: a read-only, nosuid, nodev bind nobody inside can
// write through (hutch's rule: no container writes a host binary).
TEST_F(InitIntegration, ReadOnlyRootAndAReadOnlyBinary) {
    Result r = sh({"--init", "--read-only"},
                  "tr '\\0' ' ' < /proc/1/cmdline; echo; grep ' /dev/.hutch-init ' /proc/self/mountinfo; "
                  "echo x >> /dev/.hutch-init && echo WROTE; exit 7");
    ASSERT_EXIT_CODE(r, 7);
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 2u) << describe(r);
    EXPECT_EQ(lines[0].rfind("/dev/.hutch-init -- sh -c ", 0), 0u) << lines[0];
    std::string options = mount_options(lines[1]);
    for (const char* option : {"ro", "nosuid", "nodev"}) EXPECT_TRUE(has_option(options, option)) << lines[1];
    EXPECT_EQ(r.out.find("\nWROTE\n"), std::string::npos) << "wrote into hutch-init";
}

TEST_F(InitIntegration, InteractiveStdinReachesTheCommand) {
    SpawnOptions so;
    so.stdin_data = "hello\n";
    Result r = run({"-i", "--init"}, {"sh", "-c", "read line; echo got:$line"}, so);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "got:hello\n");
}

// With -t the command's process group is the terminal's foreground one (field 8, tpgid, equals
// field 5, pgrp), so ^C and SIGWINCH reach it, not the init.
TEST_F(InitIntegration, TtyForegroundIsTheCommand) {
    if (!path_exists("/usr/bin/script")) GTEST_SKIP() << "util-linux `script` is not installed";
    std::string cmd = hutch_binary() + " --root " + roots_.run_root() + " --data-root " + roots_.data_root() +
                      " run --network none -t --init --rm " + rootfs_ +
                      " sh -c 'tty; cut -d\" \" -f5,8 /proc/$$/stat; exit 5'";
    Result r = run_command({"/usr/bin/script", "-qec", cmd, "/dev/null"});
    EXPECT_EXIT_CODE(r, 5);
    std::string out;
    for (char c : r.out)
        if (c != '\r') out += c;
    EXPECT_EQ(out, "/dev/pts/0\n2 2\n") << describe(r);
}

}  // namespace
}  // namespace hutch_it
