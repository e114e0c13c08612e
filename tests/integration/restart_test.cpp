// Restart policies (--restart), kept by each container's own monitor: what the policy restarts
// and what it does not, as seen in the log, inspect, ps, events and the container's pid; the
// stops a user asks for (kill, stop, rm -f, a signal to the supervisor) that must end it, also
// while the monitor waits out its back-off; `hutch restart`; `start --all-restartable` after the
// runtime root is gone (a reboot empties /run); bad values.
//
// Every container runs with --network none. TearDown removes every container (rm -f) and reaps
// what is left among the test's own children.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class RestartIntegration : public HutchTest {
protected:
    void TearDown() override { remove_all_containers(roots_); }

    Result hutch(const Strings& args, std::chrono::milliseconds timeout = 20s) { return roots_.hutch(args, {}, timeout); }

    std::string start_d(const Strings& opts, const Strings& cmd) {
        return started_id(run_detached(roots_, rootfs_, opts, cmd));
    }

    json inspect(const std::string& ref) { return inspect_container(roots_, ref); }

    // Polls inspect until `done(inspect)` holds; false after `timeout`.
    bool wait_until(const std::string& ref, const std::function<bool(const json&)>& done,
                    std::chrono::milliseconds timeout = 10s) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            json j = inspect(ref);
            if (!j.is_null() && done(j)) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    Strings actions_of(const std::string& id) {
        Result r = hutch({"events", "--since", "1h", "--until", "0s", "--format", "json"});
        Strings out;
        for (const auto& line : r.out_lines()) {
            json e = json::parse(line, nullptr, false);
            if (!e.is_discarded() && e["Actor"]["ID"] == id) out.push_back(e["Action"]);
        }
        return out;
    }

    std::string status(const std::string& ref) { return inspect(ref)["State"]["Status"]; }
};

TEST_F(RestartIntegration, OnFailureRestartsUpToItsCountThenStaysExited) {
    std::string id = start_d({"--name", "flaky", "--restart", "on-failure:2"}, {"sh", "-c", "echo run; exit 3"});
    ASSERT_FALSE(id.empty());
    // wait blocks while the monitor restarts it, and returns the last run's status.
    Result w = hutch({"wait", "flaky"});
    ASSERT_EXIT_CODE(w, 0);
    EXPECT_EQ(trim(w.out), "3");
    EXPECT_EQ(count_of(hutch({"logs", "flaky"}).out, "run\n"), 3u);
    json j = inspect("flaky");
    EXPECT_EQ(j["RestartCount"], 2);
    EXPECT_EQ(j["State"]["Status"], "exited");
    EXPECT_EQ(j["State"]["Restarting"], false);
    EXPECT_EQ(j["State"]["ExitCode"], 3);
    EXPECT_EQ(j["HostConfig"]["RestartPolicy"], (json{{"Name", "on-failure"}, {"MaximumRetryCount", 2}}));
    // dockerd's events for automatic restarts: die, then start, no "restart".
    EXPECT_EQ(actions_of(id), (Strings{"create", "start", "die", "start", "die", "start", "die"}));
    EXPECT_NE(hutch({"ps", "-a"}).out.find("Exited (3)"), std::string::npos);
}

// `logs -f`, started during the first run, follows every run (one log, appended to by each) and
// returns once the last run has ended, as `docker logs -f` does.
TEST_F(RestartIntegration, LogsFollowEveryRunAndEndWithTheLast) {
    ASSERT_FALSE(start_d({"--name", "followed", "--restart", "on-failure:2"}, {"sh", "-c", "echo run; sleep 0.3; exit 3"}).empty());
    Result followed = hutch({"logs", "-f", "followed"});
    EXPECT_EXIT_CODE(followed, 0);
    EXPECT_EQ(followed.out, "run\nrun\nrun\n");
    EXPECT_EQ(status("followed"), "exited");
}

TEST_F(RestartIntegration, OnFailureLeavesASuccessAlone) {
    start_d({"--name", "fine", "--restart", "on-failure"}, {"true"});
    Result w = hutch({"wait", "fine"});
    EXPECT_EQ(trim(w.out), "0");
    EXPECT_EQ(inspect("fine")["RestartCount"], 0);
}

TEST_F(RestartIntegration, ARestartOnABridgeGetsItsNetworkWhileTheLastRunsIsStillThere) {
    // The last run's veth goes with that run's network namespace, which the kernel tears down in
    // the background: a restart 100 ms later can find it still there (the queue pipeline did,
    // under load). Here a second container keeps that namespace (--network container:), so the
    // last run's veth is certainly there when the restart comes.
    Result r = hutch({"run", "-d", "--name", "net", "--restart", "on-failure:1", rootfs_, "sh", "-c",
                      "ls /sys/class/net | grep -x eth0; sleep 1; exit 1"});
    ASSERT_EXIT_CODE(r, 0);
    Result joiner = hutch({"run", "-d", "--name", "keeper", "--network", "container:net", rootfs_, "sleep", "30"});
    ASSERT_EXIT_CODE(joiner, 0);
    Result w = hutch({"wait", "net"});
    EXPECT_EQ(trim(w.out), "1") << describe(w) << hutch({"logs", "net"}).out;
    EXPECT_EQ(count_of(hutch({"logs", "net"}).out, "eth0\n"), 2u) << hutch({"logs", "net"}).out;
    EXPECT_EQ(inspect("net")["RestartCount"], 1);
}

TEST_F(RestartIntegration, AKillFromOutsideIsRestartedAndHutchKillIsNot) {
    start_d({"--name", "worker", "--restart", "on-failure"}, {"sleep", "100"});
    const int first = inspect("worker")["State"]["Pid"];
    ASSERT_GT(first, 0);
    // A crash, as the host sees one: SIGKILL to the container's process, not through hutch.
    ASSERT_EQ(::kill(first, SIGKILL), 0);
    ASSERT_TRUE(wait_until("worker", [&](const json& j) {
        return j["RestartCount"] == 1 && j["State"]["Status"] == "running" && j["State"]["Pid"] != first &&
               j["State"]["Pid"] != 0;
    })) << inspect("worker").dump();
    EXPECT_EQ(inspect("worker")["State"]["ExitCode"], 137);
    // hutch kill is a user's stop: no restart, whatever the status.
    ASSERT_EXIT_CODE(hutch({"kill", "worker"}), 0);
    EXPECT_EQ(trim(hutch({"wait", "worker"}).out), "137");
    std::this_thread::sleep_for(300ms);  // longer than the back-off a restart would wait
    EXPECT_EQ(status("worker"), "exited");
    EXPECT_EQ(inspect("worker")["RestartCount"], 1);
}

TEST_F(RestartIntegration, StopEndsAlwaysEvenWhileItWaitsToRestart) {
    std::string id = start_d({"--name", "loop", "--restart", "always"}, {"sh", "-c", "exit 1"});
    // The back-off grows (100, 200, 400, 800 ms...): it soon spends most of its time waiting.
    ASSERT_TRUE(wait_until("loop", [](const json& j) {
        return j["RestartCount"] >= 3 && j["State"]["Status"] == "restarting";
    })) << inspect("loop").dump();
    json waiting = inspect("loop");
    EXPECT_EQ(waiting["State"]["Running"], true);
    EXPECT_EQ(waiting["State"]["Restarting"], true);
    EXPECT_EQ(waiting["State"]["Pid"], 0);
    EXPECT_NE(hutch({"ps"}).out.find("Restarting (1)"), std::string::npos);
    // rm without -f refuses, as for a running container.
    EXPECT_EQ(hutch({"rm", "loop"}).code, 125);
    const auto before = Clock::now();
    ASSERT_EXIT_CODE(hutch({"stop", "loop"}), 0);
    EXPECT_LT(Clock::now() - before, 5s) << "stop waited out the back-off";
    EXPECT_EQ(status("loop"), "exited");
    const int count = inspect("loop")["RestartCount"];
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(inspect("loop")["RestartCount"], count) << "restarted after stop";
    ASSERT_EXIT_CODE(hutch({"rm", "loop"}), 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(RestartIntegration, UnlessStoppedStaysDownAfterAUsersSignalAlwaysComesBack) {
    // With a stop signal set, another signal is only a user's stop (dockerd's rule):
    // unless-stopped stays down, always restarts.
    const std::string script = "trap 'exit 5' HUP; while true; do sleep 0.05; done";
    start_d({"--name", "us", "--restart", "unless-stopped", "--stop-signal", "TERM"}, {"sh", "-c", script});
    start_d({"--name", "al", "--restart", "always", "--stop-signal", "TERM"}, {"sh", "-c", script});
    std::this_thread::sleep_for(200ms);  // the traps are set
    ASSERT_EXIT_CODE(hutch({"kill", "-s", "HUP", "us"}), 0);
    ASSERT_EXIT_CODE(hutch({"kill", "-s", "HUP", "al"}), 0);
    EXPECT_EQ(trim(hutch({"wait", "us"}).out), "5");
    ASSERT_TRUE(wait_until("al", [](const json& j) {
        return j["RestartCount"] == 1 && j["State"]["Status"] == "running";
    })) << inspect("al").dump();
    EXPECT_EQ(inspect("us")["RestartCount"], 0);
}

TEST_F(RestartIntegration, ASignalToAForegroundRunEndsItsRestarts) {
    Strings argv = {hutch_binary()};
    Strings args = roots_.hutch_args({"run", "--network", "none", "--restart", "always", rootfs_, "sh", "-c",
                                      "echo again; sleep 0.2; exit 1"});
    argv.insert(argv.end(), args.begin(), args.end());
    Process fg = Process::spawn(argv);
    // Restarted at least once in the foreground: its output comes twice.
    auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline && count_of(fg.out_so_far(), "again") < 2) fg.wait_for_output("again\nagain", 100ms);
    ASSERT_GE(count_of(fg.out_so_far(), "again"), 2u) << fg.out_so_far();
    ::kill(fg.pid(), SIGINT);
    Result r = fg.wait(10s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_TRUE(r.code == 130 || r.code == 1) << describe(r);  // forwarded, or it was between runs
}

TEST_F(RestartIntegration, RestartCommandStopsAndStartsWithARestartEvent) {
    std::string id = start_d({"--name", "svc"}, {"sleep", "100"});
    const int first = inspect("svc")["State"]["Pid"];
    Result r = hutch({"restart", "-t", "1", "svc"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(trim(r.out), "svc");
    json j = inspect("svc");
    EXPECT_EQ(j["State"]["Status"], "running");
    EXPECT_NE(j["State"]["Pid"], first);
    Strings actions = actions_of(id);
    ASSERT_FALSE(actions.empty());
    EXPECT_EQ(actions.back(), "restart");
    EXPECT_NE(std::find(actions.begin(), actions.end(), "stop"), actions.end());
}

TEST_F(RestartIntegration, StartAllRestartableAfterTheRuntimeRootIsGone) {
    start_d({"--name", "keep", "--restart", "always"}, {"sleep", "100"});
    start_d({"--name", "down", "--restart", "unless-stopped"}, {"sleep", "100"});
    start_d({"--name", "plain"}, {"sleep", "100"});
    ASSERT_EXIT_CODE(hutch({"stop", "-t", "0", "keep", "down", "plain"}), 0);
    // Before a reboot: only `always` comes back (unless-stopped was stopped by a user).
    Result r = hutch({"start", "--all-restartable"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "keep\n");
    EXPECT_EQ(status("keep"), "running");
    EXPECT_EQ(status("down"), "exited");
    ASSERT_EXIT_CODE(hutch({"stop", "-t", "0", "keep"}), 0);
    // A reboot empties /run: nothing is left of the records, only the data dirs.
    ASSERT_EQ(std::system(("rm -rf " + roots_.run_root()).c_str()), 0);
    r = hutch({"start", "--all-restartable"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "keep\n");
    json j = inspect("keep");
    EXPECT_EQ(j["State"]["Status"], "running");
    EXPECT_EQ(hutch({"inspect", "down"}).code, 125);
}

TEST_F(RestartIntegration, AStartThatFailsAtBootLeavesTheContainerAndItsLayer) {
    const std::string volume = roots_.base() + "/volume";
    ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
    std::string id = start_d({"--name", "vol", "--restart", "always", "-v", volume + ":/x"},
                             {"sh", "-c", "echo kept > /kept; exec sleep 100"});
    ASSERT_FALSE(id.empty());
    std::this_thread::sleep_for(300ms);
    ASSERT_EXIT_CODE(hutch({"stop", "-t", "0", "vol"}), 0);
    // A reboot, and the volume's file system not there yet when the boot unit runs.
    ASSERT_EQ(std::system(("rm -rf " + roots_.run_root() + " " + volume).c_str()), 0);
    Result r = hutch({"start", "--all-restartable"});
    EXPECT_NE(r.code, 0) << describe(r);
    EXPECT_NE(r.err.find(id.substr(0, 12)), std::string::npos) << describe(r);
    // Still there, stopped, with what it wrote: the next boot (or a start by hand) can run it.
    EXPECT_NE(inspect("vol")["State"]["Status"], "running");
    EXPECT_EQ(read_file(roots_.data_root() + "/containers/" + id + "/upper/kept"), "kept\n");
    ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
    ASSERT_EXIT_CODE(hutch({"start", "vol"}), 0);
    EXPECT_EQ(inspect("vol")["State"]["Status"], "running");
}

TEST_F(RestartIntegration, BadPoliciesAreRefusedLeavingNothing) {
    struct Case {
        Strings flags;
        std::string says;
    };
    for (const Case& c : {Case{{"--restart", "sometimes"}, "invalid restart policy \"sometimes\""},
                          Case{{"--restart", "always:2"}, "cannot be used with restart policy 'always'"},
                          Case{{"--restart", "on-failure:-1"}, "cannot be negative"},
                          Case{{"--restart", "on-failure:x"}, "must be an integer"},
                          Case{{"--restart", "always", "--rm"}, "--restart always and --rm"}}) {
        Strings args = {"run", "--network", "none"};
        args.insert(args.end(), c.flags.begin(), c.flags.end());
        args.insert(args.end(), {rootfs_, "true"});
        Result r = hutch(args);
        EXPECT_EQ(r.code, 125) << describe(r);
        EXPECT_NE(r.err.find(c.says), std::string::npos) << describe(r);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    }
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

}  // namespace
}  // namespace hutch_it
