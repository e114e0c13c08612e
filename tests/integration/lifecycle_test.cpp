// Exit statuses, signals, terminals, --explain, and the container records (ps, rm, names).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using LifecycleIntegration = HutchTest;

// --- exit statuses -------------------------------------------------------------------------

TEST_F(LifecycleIntegration, ExitCodeOfTheCommand) {
    for (int code : {0, 1, 3, 42, 125, 126, 127, 255}) {
        SCOPED_TRACE(code);
        Result r = sh({}, "exit " + std::to_string(code));
        EXPECT_EXIT_CODE(r, code);
        EXPECT_EQ(r.err, "");
    }
}

TEST_F(LifecycleIntegration, CommandNotFoundIs127) {
    Result r = run({}, {"no-such-command-xyz"});
    EXPECT_EXIT_CODE(r, 127);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("no-such-command-xyz"), std::string::npos) << describe(r);
    Result abs = run({}, {"/no/such/path"});
    EXPECT_EXIT_CODE(abs, 127);
    EXPECT_NE(abs.err.find("/no/such/path"), std::string::npos) << describe(abs);
}

TEST_F(LifecycleIntegration, DirectoryIs126) {
    Result r = run({}, {"/etc"});
    EXPECT_EXIT_CODE(r, 126);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("/etc"), std::string::npos) << describe(r);
}

TEST_F(LifecycleIntegration, NonExecutableFileIs126) {
    Result r = run({}, {"/etc/passwd"});
    EXPECT_EXIT_CODE(r, 126);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("/etc/passwd"), std::string::npos) << describe(r);
}

TEST_F(LifecycleIntegration, CommandIsSearchedInTheContainersPath) {
    // busybox applets live in /bin and /usr/bin inside; `-e PATH=/nowhere` finds nothing.
    EXPECT_EXIT_CODE(run({}, {"env"}), 0);
    Result r = run({"-e", "PATH=/nowhere"}, {"env"});
    EXPECT_EXIT_CODE(r, 127);
}

TEST_F(LifecycleIntegration, SignalKilledContainerIs128PlusN) {
    Process p = start({}, {"sh", "-c", "echo ready; while true; do sleep 1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    pid_t init = wait_for_child_of(p.pid());
    ASSERT_GT(init, 0) << "no container process under hutch (pid " << p.pid() << ")";
    ASSERT_EQ(::kill(init, SIGKILL), 0);
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 128 + SIGKILL);
}

TEST_F(LifecycleIntegration, SigtermToHutchIsForwarded) {
    Process p = start({}, {"sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    ASSERT_EQ(::kill(p.pid(), SIGTERM), 0);
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 42);
}

TEST_F(LifecycleIntegration, SignalsOtherThanTermAreForwarded) {
    Process p = start({}, {"sh", "-c", "trap 'exit 11' USR1; trap 'exit 12' HUP; echo ready; while true; do sleep 0.1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    ASSERT_EQ(::kill(p.pid(), SIGUSR1), 0);
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 11);
}

TEST_F(LifecycleIntegration, KillingHutchKillsTheContainer) {
    Process p = start({}, {"sh", "-c", "echo ready; while true; do sleep 1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    pid_t init = wait_for_child_of(p.pid());
    ASSERT_GT(init, 0);
    auto ids = roots_.container_ids();
    ASSERT_EQ(::kill(p.pid(), SIGKILL), 0);
    Result r = p.wait(20s);
    EXPECT_EQ(r.code, 128 + SIGKILL);
    // The container's init was reparented to us (subreaper): it must die on its own.
    bool gone = false;
    for (int i = 0; i < 400 && !gone; ++i) {
        int status = 0;
        pid_t w = ::waitpid(init, &status, WNOHANG);
        gone = (w == init) || (w < 0 && errno == ECHILD && !path_exists("/proc/" + std::to_string(init)));
        if (!gone) std::this_thread::sleep_for(5ms);
    }
    EXPECT_TRUE(gone) << "container init " << init << " outlived hutch";
    if (!gone) {
        ::kill(init, SIGKILL);
        ::waitpid(init, nullptr, 0);
    }
    // A SIGKILLed hutch cannot clean up: remove the empty cgroup it leaves on the host.
    for (const auto& id : ids)
        for (int i = 0; i < 100 && remove_leftover_cgroup(id); ++i) std::this_thread::sleep_for(5ms);
}

TEST_F(LifecycleIntegration, CgroupCreatedAndRemoved) {
    if (cgroup2_mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy under /sys/fs/cgroup";
    Process p = start({}, {"sh", "-c", "echo ready; while true; do sleep 0.1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    auto ids = roots_.container_ids();
    ASSERT_EQ(ids.size(), 1u);
    std::string dir = container_cgroup_dir(ids[0]);
    pid_t init = wait_for_child_of(p.pid());
    ASSERT_GT(init, 0);
    std::string procs = read_file(dir + "/cgroup.procs");
    ::kill(init, SIGKILL);
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 137);
    EXPECT_NE(procs.find(std::to_string(init) + "\n"), std::string::npos)
        << "container init " << init << " not in " << dir << ": [" << procs << "]";
    EXPECT_FALSE(path_exists(dir)) << dir << " left behind";
}

TEST_F(LifecycleIntegration, PidHostLeavesNoProcessBehind) {
    // Without a PID namespace nothing kills the command's children when it exits: hutch must
    // (as runc does through the cgroup). Orphans reparent to this test (a subreaper).
    ASSERT_EQ(own_children(), std::vector<pid_t>{});
    Result r = sh({"--pid", "host"}, "sleep 30 >/dev/null 2>&1 </dev/null & echo started");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "started\n");
    std::vector<pid_t> left;
    for (int i = 0; i < 200; ++i) {
        left = own_children();
        // A killed orphan shows here as a zombie until reaped: reap and look again.
        for (pid_t k : left) ::waitpid(k, nullptr, WNOHANG);
        left = own_children();
        if (left.empty()) break;
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(left, std::vector<pid_t>{}) << "processes of the container outlived it";
    reap_leftover_children();
}

// --- terminal ------------------------------------------------------------------------------

bool have_script() { return path_exists("/usr/bin/script"); }

TEST_F(LifecycleIntegration, TtyGivesAPseudoTerminal) {
    if (!have_script()) GTEST_SKIP() << "util-linux `script` is not installed";
    std::string cmd = hutch_binary() + " --root " + roots_.run_root() + " --data-root " + roots_.data_root() +
                      " run --network none -t --rm " + rootfs_ +
                      " sh -c 'tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; echo TERM=$TERM; exit 5'";
    Result r = run_command({"/usr/bin/script", "-qec", cmd, "/dev/null"});
    EXPECT_EXIT_CODE(r, 5);
    std::string out;
    for (char c : r.out)
        if (c != '\r') out += c;
    EXPECT_EQ(out, "/dev/pts/0\nstdin-tty\nstdout-tty\nTERM=xterm\n") << describe(r);
}

TEST_F(LifecycleIntegration, WithoutTtyThereIsNoTerminal) {
    Result r = sh({}, "tty; test -t 0 || echo stdin-not-tty");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "not a tty\nstdin-not-tty\n");
}

// Without -t the command never holds the host's terminal (it could read it, change its modes or
// push input into the user's shell with TIOCSTI): hutch gives it pipes and relays them.
TEST_F(LifecycleIntegration, HostTerminalNeverReachesTheContainer) {
    if (!have_script()) GTEST_SKIP() << "util-linux `script` is not installed";
    std::string cmd = hutch_binary() + " --root " + roots_.run_root() + " --data-root " + roots_.data_root() +
                      " run --network none -i --rm " + rootfs_ +
                      " sh -c 'for fd in 0 1 2; do test -t $fd && echo tty$fd; readlink /proc/self/fd/$fd | cut -d: -f1; done'";
    SpawnOptions so;
    so.stdin_data = "";
    Result r = run_command({"/usr/bin/script", "-qec", cmd, "/dev/null"}, so, 20s);
    EXPECT_EXIT_CODE(r, 0);
    std::string out;
    for (char c : r.out)
        if (c != '\r') out += c;
    EXPECT_EQ(out, "pipe\npipe\npipe\n") << describe(r);
}

TEST_F(LifecycleIntegration, TtyInteractiveRelaysInput) {
    if (!have_script()) GTEST_SKIP() << "util-linux `script` is not installed";
    std::string cmd = hutch_binary() + " --root " + roots_.run_root() + " --data-root " + roots_.data_root() +
                      " run --network none -i -t --rm " + rootfs_ + " sh -c 'read line; echo got:$line'";
    SpawnOptions so;
    so.stdin_data = "hello\n";
    Result r = run_command({"/usr/bin/script", "-qec", cmd, "/dev/null"}, so, 20s);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("got:hello"), std::string::npos) << describe(r);
}

// --- --explain -----------------------------------------------------------------------------

TEST_F(LifecycleIntegration, ExplainPrintsTheSyscalls) {
    Result r = run({"--explain"}, {"echo", "hi"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "hi\n") << "the steps go to stderr only";
    for (const char* call : {"clone3(", "pivot_root", "mount(", "capset", "execveat("})
        EXPECT_NE(r.err.find(call), std::string::npos) << call << "\n" << r.err;
    // In the order they happen.
    auto pos = [&](const char* s) { return r.err.find(s); };
    EXPECT_LT(pos("clone3("), pos("pivot_root"));
    EXPECT_LT(pos("pivot_root"), pos("capset"));
    EXPECT_LT(pos("capset"), r.err.rfind("execveat("));
}

TEST_F(LifecycleIntegration, NoExplainNoNoise) {
    Result r = run({}, {"echo", "hi"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "hi\n");
    EXPECT_EQ(r.err, "");
}

// --- records, names, ps, rm ----------------------------------------------------------------

TEST_F(LifecycleIntegration, RmRemovesEverything) {
    Result r = run({}, {"true"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(LifecycleIntegration, RecordKeptWithoutRmThenRemoved) {
    Result r = run_raw({"--name", "keep-me", rootfs_, "sh", "-c", "exit 7"});
    EXPECT_EXIT_CODE(r, 7);
    EXPECT_EQ(roots_.container_ids().size(), 1u);
    Result ps = roots_.hutch({"ps", "-a"});
    EXPECT_EXIT_CODE(ps, 0);
    EXPECT_NE(ps.out.find("keep-me"), std::string::npos) << ps.out;
    EXPECT_NE(ps.out.find("Exited (7)"), std::string::npos) << ps.out;
    Result running = roots_.hutch({"ps"});
    EXPECT_EQ(running.out.find("keep-me"), std::string::npos) << "ps without -a shows running ones only\n"
                                                              << running.out;
    Result rm = roots_.hutch({"rm", "keep-me"});
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    Result again = roots_.hutch({"rm", "keep-me"});
    EXPECT_EXIT_CODE(again, 125);
    EXPECT_NE(again.err.find("keep-me"), std::string::npos) << describe(again);
}

TEST_F(LifecycleIntegration, TakenNameIsRefused) {
    Result first = run_raw({"--name", "web", rootfs_, "true"});
    ASSERT_EXIT_CODE(first, 0);
    auto before = roots_.leftovers();
    Result second = run_raw({"--name", "web", rootfs_, "sh", "-c", "echo should-not-run"});
    EXPECT_EXIT_CODE(second, 125);
    ASSERT_EQ(second.err_lines().size(), 1u) << describe(second);
    EXPECT_NE(second.err.find("web"), std::string::npos) << describe(second);
    EXPECT_EQ(second.out, "");
    EXPECT_EQ(roots_.leftovers(), before) << "a refused start adds nothing";
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "web"}), 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    // Free again.
    EXPECT_EXIT_CODE(run_raw({"--name", "web", "--rm", rootfs_, "true"}), 0);
}

TEST_F(LifecycleIntegration, RunningContainerIsListedAndCannotBeRemoved) {
    Process p = start({"--name", "busy"}, {"sh", "-c", "echo ready; while true; do sleep 0.1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    Result ps = roots_.hutch({"ps"});
    EXPECT_EXIT_CODE(ps, 0);
    EXPECT_NE(ps.out.find("busy"), std::string::npos) << ps.out;
    EXPECT_NE(ps.out.find("Up "), std::string::npos) << ps.out;
    Result rm = roots_.hutch({"rm", "busy"});
    EXPECT_EXIT_CODE(rm, 125);
    pid_t init = wait_for_child_of(p.pid());
    ASSERT_GT(init, 0);
    ::kill(init, SIGKILL);
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 137);
    EXPECT_EQ(roots_.leftovers(), Strings{}) << "--rm cleans up after a killed container too";
}

TEST_F(LifecycleIntegration, ParallelContainersAreIndependent) {
    std::vector<Process> procs;
    for (int i = 0; i < 4; ++i)
        procs.push_back(start({"-h", "c" + std::to_string(i)}, {"sh", "-c", "sleep 0.2; hostname; exit " + std::to_string(i)}));
    for (int i = 0; i < 4; ++i) {
        Result r = procs[static_cast<std::size_t>(i)].wait(20s);
        EXPECT_EXIT_CODE(r, i);
        EXPECT_EQ(r.out, "c" + std::to_string(i) + "\n");
    }
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

}  // namespace
}  // namespace hutch_it
