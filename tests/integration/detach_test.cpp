// Detached containers and the commands that act on them: run -d, logs, wait, stop, kill,
// inspect, ps, rm; bad input; a failed detached start; the monitor killed with SIGKILL.
//
// Every container runs with --network none (no bridge to set up). The fixture's TearDown
// removes every container (rm -f) and reaps what is left among the test's own children (the
// monitors are reparented to the test, a subreaper, once `run -d` returns).
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

class DetachIntegration : public HutchTest {
protected:
    void TearDown() override { remove_all_containers(roots_); }

    Result hutch(const Strings& args, std::chrono::milliseconds timeout = 20s) {
        return roots_.hutch(args, {}, timeout);
    }

    // `run -d --network none OPTS ROOTFS CMD...` as given.
    Result run_d(const Strings& opts, const Strings& cmd) { return run_detached(roots_, rootfs_, opts, cmd); }

    // Starts a detached container; its id, or "" (with a failure recorded).
    std::string start_d(const Strings& opts, const Strings& cmd) { return started_id(run_d(opts, cmd)); }

    json inspect(const std::string& ref) { return inspect_container(roots_, ref); }
    pid_t container_pid(const std::string& ref) { return hutch_it::container_pid(roots_, ref); }

    // Polls `logs REF` until it contains `needle` `times` times.
    bool wait_for_log(const std::string& ref, const std::string& needle, size_t times = 1,
                      std::chrono::milliseconds timeout = 5s) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            if (count_of(hutch({"logs", ref}).out, needle) >= times) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    // `ps -a` line of the container (by its 12-char short id); "" if absent.
    std::string ps_line(const std::string& id, bool all = true) {
        Result r = hutch(all ? Strings{"ps", "-a"} : Strings{"ps"});
        for (const auto& line : r.out_lines())
            if (line.rfind(id.substr(0, 12), 0) == 0) return line;
        return "";
    }

    // A host directory shared with containers (-v DIR:/x): the test's go-ahead files.
    std::string shared_dir() {
        std::string dir = roots_.base() + "/shared";
        ::mkdir(dir.c_str(), 0755);
        return dir;
    }

    // Host mounts under this test's roots (an overlay a killed monitor could leave behind).
    Strings mounts_under_roots() {
        Strings out;
        for (const auto& line : split_lines(host_mountinfo()))
            if (line.find(roots_.base() + "/") != std::string::npos) out.push_back(line);
        return out;
    }

    // Process for `hutch ROOTS ARGS...` in the background.
    Process spawn_hutch(const Strings& args) {
        Strings argv = {hutch_binary()};
        Strings all = roots_.hutch_args(args);
        argv.insert(argv.end(), all.begin(), all.end());
        return Process::spawn(argv);
    }
};

// A script that waits (polling) until the test creates /x/go.
const std::string kUntilGo = "while [ ! -e /x/go ]; do sleep 0.05; done; ";

// --- run -d, ps ----------------------------------------------------------------------------

TEST_F(DetachIntegration, RunDetachedPrintsIdAndReturnsWhileTheContainerRuns) {
    auto t0 = Clock::now();
    Result r = run_d({"--name", "bg"}, {"sh", "-c", "echo hello-detached; exec sleep 30"});
    double took = seconds_since(t0);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_LT(took, 5.0) << "run -d did not return while the container runs";
    EXPECT_EQ(r.err, "");
    // Only the id: the container's output goes to its log, not to run -d's stdout.
    ASSERT_TRUE(std::regex_match(r.out, std::regex("[0-9a-f]{64}\n"))) << describe(r);
    std::string id = trim(r.out);
    EXPECT_EQ(roots_.container_ids(), Strings{id});

    std::string line = ps_line(id, /*all=*/false);
    EXPECT_NE(line.find("Up "), std::string::npos) << "ps: [" << line << "]";
    EXPECT_NE(line.find("bg"), std::string::npos) << line;
    Result q = hutch({"ps", "-q"});
    EXPECT_EXIT_CODE(q, 0);
    EXPECT_EQ(q.out, id.substr(0, 12) + "\n");

    pid_t pid = container_pid("bg");
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(process_alive(pid)) << "container pid " << pid << " is not running";
    std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    EXPECT_EQ(cmdline.substr(0, cmdline.find('\0')), "sleep");
    // Its supervisor is a monitor process (reparented to the test, a subreaper), not the CLI.
    pid_t monitor = parent_of(pid);
    auto kids = own_children();
    EXPECT_NE(std::find(kids.begin(), kids.end(), monitor), kids.end())
        << "the container's parent " << monitor << " is not the test's (reparented) child";
    EXPECT_TRUE(wait_for_log("bg", "hello-detached"));
}

// What stays beside a running container is hutch's small monitor (runtime/monitor.hpp), run
// from a sealed memfd: under the 1 MiB, with only the fds its duties need; it still
// relays the output, forwards a signal sent to it, and hands the exit back to hutch, which
// records it once.
TEST_F(DetachIntegration, TheResidentMonitorIsSmallHoldsOnlyItsFdsAndStillDoesItsDuties) {
    std::string id = start_d({"--name", "small"}, {"sh", "-c",
                                                   "trap 'echo got-term; exit 9' TERM; echo out; echo err >&2; "
                                                   "while :; do sleep 0.05; done"});
    ASSERT_FALSE(id.empty());
    pid_t pid = container_pid("small");
    ASSERT_GT(pid, 0);
    pid_t monitor = parent_of(pid);
    const std::string proc = "/proc/" + std::to_string(monitor);
    // The hand-over follows "started" by a few system calls.
    auto deadline = Clock::now() + 5s;
    while (trim(read_file(proc + "/comm")) != "hutch-monitor" && Clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(trim(read_file(proc + "/comm")), "hutch-monitor");
    char exe[256] = {};
    ASSERT_GT(::readlink((proc + "/exe").c_str(), exe, sizeof exe - 1), 0);
    EXPECT_EQ(std::string(exe).rfind("/memfd:hutch-monitor", 0), 0u) << exe;
    std::smatch rss;
    std::string status = read_file(proc + "/status");
    ASSERT_TRUE(std::regex_search(status, rss, std::regex("VmRSS:\\s+(\\d+) kB")));
    EXPECT_LT(std::stol(rss[1]), 1024) << "the monitor's resident set, kB";
    // Its fds: /dev/null, the log twice, the command's pidfd, the signalfd, the record's lock,
    // hutch's binary (to record the exit), the two pipes of the command's output. Nothing else
    // of the start (sync socket, cgroup, namespaces, seccomp) stays open.
    std::multiset<std::string> fds;
    for (const auto& fd : list_dir(proc + "/fd")) {
        char target[512] = {};
        ASSERT_GT(::readlink((proc + "/fd/" + fd).c_str(), target, sizeof target - 1), 0);
        std::string t = target;
        if (t.rfind("pipe:", 0) == 0) t = "pipe";
        else if (t.rfind(roots_.base(), 0) == 0) t = t.substr(t.find_last_of('/') + 1);
        else if (t == hutch_binary()) t = "hutch";
        fds.insert(t);
    }
    EXPECT_EQ(fds, (std::multiset<std::string>{"/dev/null", "container.log", "container.log", "anon_inode:[pidfd]",
                                               "anon_inode:[signalfd]", "lock", "hutch", "pipe", "pipe"}));

    ASSERT_TRUE(wait_for_log("small", "out"));
    ASSERT_EQ(::kill(monitor, SIGTERM), 0);  // a user's stop, passed on to the command
    ASSERT_EQ(::waitpid(monitor, nullptr, 0), monitor);
    json state = inspect("small");
    EXPECT_EQ(state["State"]["Status"], "exited");
    EXPECT_EQ(state["State"]["ExitCode"], 9);
    std::string log = hutch({"logs", "small"}).out + hutch({"logs", "small"}).err;
    for (const char* line : {"out", "err", "got-term"}) EXPECT_NE(log.find(line), std::string::npos) << log;
    Result events = hutch({"events", "--since", "1h", "--until", "0s", "--filter", "event=die"});
    EXPECT_EQ(events.out_lines().size(), 1u) << events.out;
    EXPECT_EQ(hutch({"wait", "small"}).out, "9\n");
}

// The monitor leaves the exited command a zombie until hutch has recorded its exit: while the
// record still says "running" with that pid, no other process can be given it. Seen at the
// monitor's exec of hutch (ptrace's exec event), the moment between its wait and the record.
TEST_F(DetachIntegration, TheCommandStaysAZombieUntilItsExitIsRecorded) {
    std::string id = start_d({"--name", "zombie"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    const pid_t pid = container_pid("zombie");
    ASSERT_GT(pid, 0);
    const pid_t monitor = parent_of(pid);
    const std::string proc = "/proc/" + std::to_string(monitor);
    auto deadline = Clock::now() + 5s;
    while (trim(read_file(proc + "/comm")) != "hutch-monitor" && Clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(trim(read_file(proc + "/comm")), "hutch-monitor");
    ASSERT_EQ(::ptrace(PTRACE_SEIZE, monitor, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEEXEC)), 0)
        << std::strerror(errno);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    std::string command_state = "never seen";
    json recorded_at_reap;
    for (;;) {
        int status = 0;
        ASSERT_EQ(::waitpid(monitor, &status, __WALL), monitor);
        ASSERT_TRUE(WIFSTOPPED(status)) << "the monitor ended before it ran hutch again: " << status;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
            // /proc/PID/stat: "pid (comm) S ...", the state after the comm's closing parenthesis.
            std::string stat = path_exists("/proc/" + std::to_string(pid))
                                   ? read_file("/proc/" + std::to_string(pid) + "/stat")
                                   : std::string();
            command_state = stat.empty() ? "reaped" : stat.substr(stat.rfind(')') + 2, 1);
#if defined(__x86_64__)
            // Then hutch's exit half, to its reap of the command (waitid(P_PID, pid)): by then the
            // record says "exited", with no pid, so nothing finds the pid in it once it is free.
            ::ptrace(PTRACE_SETOPTIONS, monitor, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACESYSGOOD));
            for (bool entry = true;; entry = !entry) {
                ASSERT_EQ(::ptrace(PTRACE_SYSCALL, monitor, nullptr, nullptr), 0);
                ASSERT_EQ(::waitpid(monitor, &status, __WALL), monitor);
                ASSERT_TRUE(WIFSTOPPED(status)) << "hutch ended before reaping the command: " << status;
                if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {  // a signal, not a system call: passed on
                    entry = !entry;
                    continue;
                }
                user_regs_struct regs{};
                ASSERT_EQ(::ptrace(PTRACE_GETREGS, monitor, nullptr, &regs), 0);
                if (entry && regs.orig_rax == SYS_waitid && regs.rdi == P_PID && static_cast<pid_t>(regs.rsi) == pid) {
                    recorded_at_reap = json::parse(read_file(roots_.run_root() + "/containers/" + id + "/state.json"));
                    break;
                }
            }
#endif
            ::ptrace(PTRACE_DETACH, monitor, nullptr, nullptr);
            break;
        }
        // Any other stop is a signal for the monitor: passed on as it came.
        const int signal = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
        ::ptrace(PTRACE_CONT, monitor, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
    }
    EXPECT_EQ(command_state, "Z") << "the command's pid while hutch had not yet recorded its exit";
#if defined(__x86_64__)
    EXPECT_EQ(recorded_at_reap.value("status", ""), "exited") << recorded_at_reap.dump();
    EXPECT_EQ(recorded_at_reap.value("pid", -1), 0) << recorded_at_reap.dump();
#endif
    Result w = hutch({"wait", "zombie"});
    EXPECT_EQ(w.out, "137\n");
    ASSERT_EQ(::waitpid(monitor, nullptr, 0), monitor);  // the exit half is done
    EXPECT_FALSE(path_exists("/proc/" + std::to_string(pid))) << "reaped once recorded";
    EXPECT_EQ(inspect("zombie")["State"]["Status"], "exited");
}

TEST_F(DetachIntegration, PsAllShowsExitedOnesPsDoesNot) {
    std::string id = start_d({"--name", "short"}, {"sh", "-c", "exit 3"});
    ASSERT_FALSE(id.empty());
    Result w = hutch({"wait", "short"});
    ASSERT_EXIT_CODE(w, 0);
    EXPECT_EQ(ps_line(id, /*all=*/false), "");
    std::string line = ps_line(id);
    EXPECT_NE(line.find("Exited (3)"), std::string::npos) << "ps -a: [" << line << "]";
    Result q = hutch({"ps", "-a", "-q"});
    EXPECT_EQ(q.out, id.substr(0, 12) + "\n");
}

// Docker's table: each column as wide as its widest cell, in characters, so a long status
// ("Restarting (1)") or a cut command ("…", three bytes) does not push the names out of line.
TEST_F(DetachIntegration, PsColumnsLineUp) {
    ASSERT_FALSE(start_d({"--name", "a-long-command", "--restart", "always"}, {"sh", "-c", "exit 1; echo padding out the command"}).empty());
    ASSERT_FALSE(start_d({"--name", "s"}, {"true"}).empty());
    ASSERT_EQ(hutch({"wait", "s"}).out, "0\n");
    Strings lines;
    for (int i = 0; i < 100; ++i) {  // between its runs (a back-off of 100 ms, then doubling)
        lines = hutch({"ps", "-a"}).out_lines();
        if (lines.size() == 3 && (lines[1] + lines[2]).find("Restarting (1)") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(lines.size(), 3u);
    auto column_of = [](const std::string& line, const std::string& cell) {
        std::size_t at = line.rfind(cell);
        EXPECT_NE(at, std::string::npos) << cell;
        std::size_t chars = 0;
        for (std::size_t i = 0; i < at && i < line.size(); ++i) chars += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
        return chars;
    };
    const std::size_t names = column_of(lines[0], "NAMES"), status = column_of(lines[0], "STATUS");
    for (std::size_t i = 1; i < lines.size(); ++i) {
        SCOPED_TRACE(lines[i]);
        const bool restarting = lines[i].find("a-long-command") != std::string::npos;
        EXPECT_EQ(column_of(lines[i], restarting ? "a-long-command" : "s"), names);
        EXPECT_EQ(column_of(lines[i], restarting ? "Restarting (1)" : "Exited (0)"), status);
    }
    EXPECT_EXIT_CODE(hutch({"rm", "-f", "a-long-command"}), 0);
}

// docker ps's words and options: STATUS and CREATED as Docker words them, newest first,
// --filter (id, name as a regular expression over "/NAME", status, exited), -n/-l (every state),
// --no-trunc, and --format with a template, `table TEMPLATE` (headers, aligned) or json.
TEST_F(DetachIntegration, PsSpeaksDockersListing) {
    ASSERT_FALSE(start_d({"--name", "old-exited"}, {"sh", "-c", "exit 4"}).empty());
    ASSERT_EQ(hutch({"wait", "old-exited"}).out, "4\n");
    std::string up = start_d({"--name", "web-up"}, {"sleep", "30"});
    ASSERT_FALSE(up.empty());

    Strings table = hutch({"ps"}).out_lines();
    ASSERT_EQ(table.size(), 2u);
    EXPECT_EQ(table[0].rfind("CONTAINER ID   IMAGE", 0), 0u) << table[0];
    for (const char* column : {"COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"})
        EXPECT_NE(table[0].find(column), std::string::npos) << table[0];
    EXPECT_TRUE(std::regex_search(table[1], std::regex("\"sleep 30\" +(Less than a second|[0-9]+ seconds?) ago +Up ")))
        << table[1];

    // Newest first; -n and -l count every state.
    EXPECT_EQ(hutch({"ps", "-a", "--format", "{{.Names}}"}).out, "web-up\nold-exited\n");
    EXPECT_EQ(hutch({"ps", "-l", "--format", "{{.Names}}"}).out, "web-up\n");
    EXPECT_EQ(hutch({"ps", "-l", "-n", "2", "-q"}).out_lines().size(), 2u) << "an explicit -n wins over -l";
    EXPECT_EQ(hutch({"ps", "-n", "2", "--format", "{{.Names}} {{.State}}"}).out, "web-up running\nold-exited exited\n");
    EXPECT_TRUE(std::regex_match(hutch({"ps", "-a", "--filter", "exited=4", "--format", "{{.Status}}"}).out,
                                 std::regex("Exited \\(4\\) (Less than a second|[0-9]+ seconds?) ago\n")));

    // Filters: one key's values are alternatives, keys all apply; a status filter lists all.
    EXPECT_EQ(hutch({"ps", "--filter", "status=exited", "--format", "{{.Names}}"}).out, "old-exited\n");
    EXPECT_EQ(hutch({"ps", "-a", "--filter", "name=^/web", "--format", "{{.Names}}"}).out, "web-up\n");
    EXPECT_EQ(hutch({"ps", "-a", "--filter", "name=^web-up$", "--format", "{{.Names}}"}).out, "web-up\n");
    EXPECT_EQ(hutch({"ps", "-a", "--filter", "name=exited", "--filter", "name=up", "--format", "{{.Names}}"}).out,
              "web-up\nold-exited\n");
    EXPECT_EQ(hutch({"ps", "-a", "--filter", "name=web", "--filter", "status=exited", "-q"}).out, "");
    EXPECT_EQ(hutch({"ps", "--filter", "id=" + up.substr(0, 5), "-q"}).out, up.substr(0, 12) + "\n");
    EXPECT_EQ(hutch({"ps", "--filter", "id=" + up.substr(0, 5), "-q", "--no-trunc"}).out, up + "\n");

    // A table of the user's own, and json, in Docker's keys.
    Strings own = hutch({"ps", "-a", "--format", "table {{.Names}}\t{{.State}}"}).out_lines();
    EXPECT_EQ(own, (Strings{"NAMES        STATE", "web-up       running", "old-exited   exited"}));
    json j = json::parse(hutch({"ps", "--format", "json"}).out);
    EXPECT_EQ(j["Names"], "web-up");
    EXPECT_EQ(j["Command"], "\"sleep 30\"");
    EXPECT_EQ(j["ID"], up.substr(0, 12));

    // Bad input: one line naming it, exit 125.
    for (const Strings& bad : {Strings{"ps", "--filter", "status=sleeping"}, Strings{"ps", "--filter", "colour=red"},
                               Strings{"ps", "--filter", "name=("}, Strings{"ps", "--format", "{{.Names"}}) {
        Result r = hutch(bad);
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    }
}

// --- logs ----------------------------------------------------------------------------------

TEST_F(DetachIntegration, LogsHoldStdoutAndStderr) {
    std::string id = start_d({"--name", "talk"}, {"sh", "-c", "echo out1; echo err1 >&2; echo out2"});
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(hutch({"wait", "talk"}).out, "0\n");
    // Once `wait` returns, everything the container wrote is in the log.
    Result r = hutch({"logs", "talk"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.err, "");
    Strings lines = r.out_lines();
    EXPECT_EQ(std::multiset<std::string>(lines.begin(), lines.end()),
              (std::multiset<std::string>{"out1", "out2", "err1"}))
        << r.out;
    auto o1 = std::find(lines.begin(), lines.end(), "out1"), o2 = std::find(lines.begin(), lines.end(), "out2");
    EXPECT_LT(o1, o2) << "stdout out of order: " << r.out;
    // Also by id prefix, and the file itself is where the brief says.
    EXPECT_EQ(hutch({"logs", id.substr(0, 8)}).out, r.out);
    EXPECT_EQ(read_file(roots_.run_root() + "/containers/" + id + "/container.log"), r.out);
}

TEST_F(DetachIntegration, LogsKeepEverythingOnceItEnded) {
    ASSERT_FALSE(start_d({"--name", "loud"}, {"sh", "-c", "seq 1 30000; seq 1 30000 >&2"}).empty());
    ASSERT_EQ(hutch({"wait", "loud"}).out, "0\n");
    Result r = hutch({"logs", "loud"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out_lines().size(), 60000u);
    EXPECT_EQ(count_of(r.out, "\n30000\n"), 2u);
    EXPECT_EQ(hutch({"logs", "--tail", "2", "loud"}).out_lines().size(), 2u);
}

TEST_F(DetachIntegration, LogsTail) {
    ASSERT_FALSE(start_d({"--name", "lines"}, {"sh", "-c", "echo l1; echo l2; echo l3"}).empty());
    ASSERT_EQ(hutch({"wait", "lines"}).out, "0\n");
    auto logs = [&](const Strings& opts) {
        Strings args = {"logs"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back("lines");
        Result r = hutch(args);
        EXPECT_EXIT_CODE(r, 0);
        return r.out;
    };
    EXPECT_EQ(logs({"--tail", "1"}), "l3\n");
    EXPECT_EQ(logs({"-n", "2"}), "l2\nl3\n");
    EXPECT_EQ(logs({"--tail", "0"}), "");
    EXPECT_EQ(logs({"--tail", "3"}), "l1\nl2\nl3\n");
    EXPECT_EQ(logs({"--tail", "10"}), "l1\nl2\nl3\n");
    EXPECT_EQ(logs({"--tail", "all"}), "l1\nl2\nl3\n");
}

// A last line without a newline (a prompt, a progress line) is one line, not two.
TEST_F(DetachIntegration, LogsTailWithUnterminatedLastLine) {
    ASSERT_FALSE(start_d({"--name", "partial"}, {"printf", "a\\nb\\nc"}).empty());
    ASSERT_EQ(hutch({"wait", "partial"}).out, "0\n");
    EXPECT_EQ(hutch({"logs", "partial"}).out, "a\nb\nc");
    EXPECT_EQ(hutch({"logs", "--tail", "1", "partial"}).out, "c");
    EXPECT_EQ(hutch({"logs", "--tail", "2", "partial"}).out, "b\nc");
}

TEST_F(DetachIntegration, LogsFollowUntilTheContainerEnds) {
    std::string dir = shared_dir();
    ASSERT_FALSE(start_d({"-v", dir + ":/x", "--name", "follow"},
                         {"sh", "-c", "echo one; " + kUntilGo + "echo two; exit 0"})
                     .empty());
    Process logs = spawn_hutch({"logs", "-f", "follow"});
    ASSERT_TRUE(logs.wait_for_output("one\n", 10s)) << logs.out_so_far() << logs.err_so_far();
    // Still following: nothing more and no exit while the container runs.
    EXPECT_FALSE(logs.wait_for_output("two", 300ms)) << "logs -f ended or saw output too early";
    write_file(dir + "/go", "");
    auto t0 = Clock::now();
    Result r = logs.wait(10s);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "one\ntwo\n");
    EXPECT_LT(seconds_since(t0), 5.0);
}

// --- wait ----------------------------------------------------------------------------------

TEST_F(DetachIntegration, WaitBlocksUntilTheEndAndPrintsTheExitCode) {
    std::string dir = shared_dir();
    ASSERT_FALSE(start_d({"-v", dir + ":/x", "--name", "seven"}, {"sh", "-c", kUntilGo + "exit 7"}).empty());
    Process waiter = spawn_hutch({"wait", "seven"});
    EXPECT_FALSE(waiter.wait_for_output("\n", 500ms)) << "wait returned while the container runs: "
                                                       << waiter.out_so_far() << waiter.err_so_far();
    EXPECT_NE(ps_line(trim(hutch({"ps", "-q"}).out)).find("Up "), std::string::npos);
    write_file(dir + "/go", "");
    Result r = waiter.wait(10s);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "7\n");
    // On a stopped container it returns at once with the same code.
    EXPECT_EQ(hutch({"wait", "seven"}, 5s).out, "7\n");
}

// `wait` on a --rm container prints its exit code, as Docker does, though --rm removes the record.
TEST_F(DetachIntegration, WaitOnAnAutoRemovedContainerPrintsItsExitCode) {
    std::string dir = shared_dir();
    ASSERT_FALSE(start_d({"-v", dir + ":/x", "--rm", "--name", "three"}, {"sh", "-c", kUntilGo + "exit 3"}).empty());
    Process waiter = spawn_hutch({"wait", "three"});
    EXPECT_FALSE(waiter.wait_for_output("\n", 300ms)) << waiter.out_so_far();
    write_file(dir + "/go", "");
    Result r = waiter.wait(10s);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "3\n") << "a container that failed reported as a success";
}

// --- stop, kill ----------------------------------------------------------------------------

TEST_F(DetachIntegration, StopSendsTermAndTheTrapsCodeIsTheExitCode) {
    std::string id =
        start_d({"--name", "trapper"}, {"sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_for_log("trapper", "ready"));
    auto t0 = Clock::now();
    Result r = hutch({"stop", "trapper"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "trapper\n");
    EXPECT_LT(seconds_since(t0), 5.0) << "stop waited for the timeout although the trap exits";
    // stop returns once it has stopped.
    json j = inspect("trapper");
    EXPECT_EQ(j["State"]["Running"], false) << j.dump();
    EXPECT_EQ(j["State"]["ExitCode"], 42) << j.dump();
    EXPECT_EQ(hutch({"wait", "trapper"}).out, "42\n");
    // Stopping a stopped container is fine.
    Result again = hutch({"stop", "trapper"});
    EXPECT_EXIT_CODE(again, 0);
    EXPECT_EQ(again.err, "");
}

TEST_F(DetachIntegration, StopEscalatesToKillAfterTheTimeout) {
    // `sleep` is pid 1 of its namespace without a handler: SIGTERM is ignored.
    ASSERT_FALSE(start_d({"--name", "stubborn"}, {"sleep", "30"}).empty());
    pid_t pid = container_pid("stubborn");
    ASSERT_GT(pid, 0);
    auto t0 = Clock::now();
    Result r = hutch({"stop", "-t", "1", "stubborn"});
    double took = seconds_since(t0);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_GE(took, 0.9) << "stop returned before its timeout: SIGTERM was not ignored?";
    EXPECT_LE(took, 5.0);
    EXPECT_EQ(hutch({"wait", "stubborn"}).out, "137\n");
    EXPECT_TRUE(wait_until_gone(pid, 2s));
}

TEST_F(DetachIntegration, KillSignalReachesATrapByNameOrNumber) {
    ASSERT_FALSE(start_d({"--name", "sig"}, {"sh", "-c",
                                            "trap 'echo got-usr1' USR1; trap 'exit 12' USR2; echo ready; "
                                            "while true; do sleep 0.05; done"})
                     .empty());
    ASSERT_TRUE(wait_for_log("sig", "ready"));
    size_t n = 0;
    for (const std::string& form : {std::string("USR1"), std::string("SIGUSR1"), std::string("usr1"),
                                    std::to_string(SIGUSR1)}) {
        SCOPED_TRACE(form);
        Result r = hutch({"kill", "-s", form, "sig"});
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, "sig\n");
        // One at a time: two pending USR1 would merge into one.
        EXPECT_TRUE(wait_for_log("sig", "got-usr1", ++n)) << hutch({"logs", "sig"}).out;
    }
    EXPECT_NE(ps_line(trim(hutch({"ps", "-q"}).out)).find("Up "), std::string::npos);
    EXPECT_EXIT_CODE(hutch({"kill", "--signal", "USR2", "sig"}), 0);
    EXPECT_EQ(hutch({"wait", "sig"}).out, "12\n");
}

TEST_F(DetachIntegration, KillDefaultsToSigkill) {
    std::string id = start_d({"--name", "victim"}, {"sh", "-c", "trap 'exit 1' TERM INT HUP; while true; do sleep 0.1; done"});
    ASSERT_FALSE(id.empty());
    Result r = hutch({"kill", "victim"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "victim\n");
    EXPECT_EQ(hutch({"wait", "victim"}).out, "137\n");
    EXPECT_NE(ps_line(id).find("Exited (137)"), std::string::npos) << ps_line(id);
}

// --- pause and unpause ---------------------------------------------------------------------


// docker pause / unpause: every process of the container stops where it is (its log stops
// growing) and goes on after unpause; ps, its status filter and inspect say paused; exec is
// refused; both are events; pausing twice or unpausing a running container is 125 with one line, as hutch kill's errors.
TEST_F(DetachIntegration, PauseFreezesTheContainerAndUnpauseLetsItGoOn) {
    // hutch pause freezes a hutch run container through its cgroup2 cgroup: it joins v1
    // hierarchies only for its limits, never the freezer.
    if (cgroup2_mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy: a hutch run container has no freezer here";
    std::string id = start_d({"--name", "ticker"}, {"sh", "-c", "while true; do echo tick; sleep 0.02; done"});
    ASSERT_FALSE(id.empty());
    auto grows = [&] {
        size_t before = count_of(hutch({"logs", "ticker"}).out, "tick");
        std::this_thread::sleep_for(300ms);
        return count_of(hutch({"logs", "ticker"}).out, "tick") > before;
    };
    ASSERT_TRUE(grows());

    Result p = hutch({"pause", "ticker"});
    ASSERT_EXIT_CODE(p, 0);
    EXPECT_EQ(p.out, "ticker\n");
    EXPECT_FALSE(grows()) << "a paused container went on";
    json j = inspect("ticker");
    EXPECT_EQ(j["State"]["Status"], "paused") << j.dump();
    EXPECT_EQ(j["State"]["Paused"], true) << j.dump();
    EXPECT_EQ(j["State"]["Running"], true) << j.dump();
    EXPECT_NE(ps_line(id).find("(Paused)"), std::string::npos) << ps_line(id);
    EXPECT_EQ(hutch({"ps", "-q", "--filter", "status=paused"}).out, id.substr(0, 12) + "\n");
    EXPECT_EQ(hutch({"ps", "-q", "--filter", "status=running"}).out, "");
    Result again = hutch({"pause", "ticker"});
    EXPECT_EXIT_CODE(again, 125);
    EXPECT_EQ(again.err_lines().size(), 1u) << describe(again);
    EXPECT_NE(again.err.find("already paused"), std::string::npos) << describe(again);
    Result e = hutch({"exec", "ticker", "true"});
    EXPECT_EXIT_CODE(e, 125);
    EXPECT_NE(e.err.find("is paused, unpause the container before exec"), std::string::npos) << describe(e);

    Result u = hutch({"unpause", "ticker"});
    ASSERT_EXIT_CODE(u, 0);
    EXPECT_EQ(u.out, "ticker\n");
    EXPECT_TRUE(grows()) << "an unpaused container stayed stopped";
    EXPECT_EQ(inspect("ticker")["State"]["Paused"], false);
    Result not_paused = hutch({"unpause", "ticker"});
    EXPECT_EXIT_CODE(not_paused, 125);
    EXPECT_NE(not_paused.err.find("is not paused"), std::string::npos) << describe(not_paused);

    Result events = hutch({"events", "--since", "1h", "--until", "0s", "--filter", "event=pause", "--filter", "event=unpause"});
    EXPECT_TRUE(std::regex_search(events.out, std::regex(" container pause " + id + " .*\n.* container unpause " + id + " ")))
        << events.out;
}

// A paused container still ends: stop's SIGTERM and kill's SIGKILL are acted on (the container
// is thawed after them, as dockerd does), rm -f removes it, and a stopped one cannot be paused.
TEST_F(DetachIntegration, APausedContainerStopsKillsAndIsRemoved) {
    // hutch pause freezes a hutch run container through its cgroup2 cgroup: it joins v1
    // hierarchies only for its limits, never the freezer.
    if (cgroup2_mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy: a hutch run container has no freezer here";
    std::string id = start_d({"--name", "frozen"}, {"sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.05; done"});
    ASSERT_FALSE(id.empty());
    ASSERT_EXIT_CODE(hutch({"pause", "frozen"}), 0);
    ASSERT_EXIT_CODE(hutch({"stop", "-t", "10", "frozen"}), 0);
    EXPECT_EQ(hutch({"wait", "frozen"}).out, "42\n") << "the trap did not run: SIGTERM stayed pending";
    Result stopped = hutch({"pause", "frozen"});
    EXPECT_EXIT_CODE(stopped, 125);
    EXPECT_NE(stopped.err.find("is not running"), std::string::npos) << describe(stopped);

    ASSERT_FALSE(start_d({"--name", "frozen2"}, {"sleep", "30"}).empty());
    ASSERT_EXIT_CODE(hutch({"pause", "frozen2"}), 0);
    ASSERT_EXIT_CODE(hutch({"kill", "frozen2"}), 0);
    EXPECT_EQ(hutch({"wait", "frozen2"}).out, "137\n");

    std::string third = start_d({"--name", "frozen3"}, {"sleep", "30"});
    ASSERT_FALSE(third.empty());
    pid_t pid = container_pid("frozen3");
    ASSERT_EXIT_CODE(hutch({"pause", "frozen3"}), 0);
    ASSERT_EXIT_CODE(hutch({"rm", "-f", "frozen3"}), 0);
    EXPECT_TRUE(wait_until_gone(pid, 2s));
    EXPECT_FALSE(path_exists(roots_.run_root() + "/containers/" + third));
}

// --- inspect -------------------------------------------------------------------------------

TEST_F(DetachIntegration, InspectRunningThenExited) {
    std::string id = start_d({"--name", "look"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    json j = inspect("look");
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(j["Id"], id);
    EXPECT_EQ(j["Name"], "/look");
    EXPECT_EQ(j["State"]["Status"], "running");
    EXPECT_EQ(j["State"]["Running"], true);
    int pid = j["State"].value("Pid", 0);
    EXPECT_GT(pid, 0);
    EXPECT_TRUE(process_alive(pid));
    EXPECT_NE(j["State"]["StartedAt"], "0001-01-01T00:00:00Z");
    EXPECT_EQ(j["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    EXPECT_EQ(j["Config"]["Cmd"], (json{"sleep", "30"}));
    EXPECT_EQ(j["Config"]["Image"], rootfs_);
    EXPECT_EQ(j["Config"]["WorkingDir"], "/");
    EXPECT_EQ(j["Config"]["Hostname"], id.substr(0, 12));
    EXPECT_TRUE(j["Config"]["Env"].is_array());
    EXPECT_EQ(j["HostConfig"]["NetworkMode"], "none");
    EXPECT_EQ(j["HostConfig"]["AutoRemove"], false);
    EXPECT_TRUE(j["OCI"].is_object());
    // By unique id prefix: the same container.
    EXPECT_EQ(inspect(id.substr(0, 5))["Id"], id);

    ASSERT_EXIT_CODE(hutch({"kill", "look"}), 0);
    ASSERT_EQ(hutch({"wait", "look"}).out, "137\n");
    j = inspect("look");
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(j["State"]["Status"], "exited");
    EXPECT_EQ(j["State"]["Running"], false);
    EXPECT_EQ(j["State"]["ExitCode"], 137);
    EXPECT_EQ(j["State"]["Pid"], 0);
    EXPECT_NE(j["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
}

TEST_F(DetachIntegration, InspectSeveralIsOneArray) {
    std::string a = start_d({"--name", "a"}, {"true"});
    std::string b = start_d({"--name", "b", "--rm"}, {"sleep", "30"});
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    Result r = hutch({"inspect", "b", "a"});
    ASSERT_EXIT_CODE(r, 0);
    json j = json::parse(r.out);
    ASSERT_EQ(j.size(), 2u) << r.out;
    EXPECT_EQ(j[0]["Id"], b);
    EXPECT_EQ(j[1]["Id"], a);
    EXPECT_EQ(j[0]["HostConfig"]["AutoRemove"], true);
}

// --- rm, --rm, names -----------------------------------------------------------------------

TEST_F(DetachIntegration, RmOfARunningContainerNeedsForce) {
    std::string id = start_d({"--name", "busy"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    pid_t pid = container_pid("busy");
    ASSERT_GT(pid, 0);
    Result r = hutch({"rm", "busy"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(process_alive(pid)) << "rm without -f touched the running container";
    EXPECT_NE(ps_line(id).find("Up "), std::string::npos);

    Result f = hutch({"rm", "-f", "busy"});
    EXPECT_EXIT_CODE(f, 0);
    EXPECT_EQ(f.out, "busy\n");
    EXPECT_TRUE(wait_until_gone(pid, 2s)) << "container process " << pid << " outlived rm -f";
    EXPECT_EQ(roots_.leftovers(), Strings{});
    EXPECT_FALSE(path_exists(roots_.run_root() + "/containers/" + id));
    EXPECT_FALSE(path_exists(roots_.data_root() + "/containers/" + id));
    EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
    EXPECT_EQ(mounts_under_roots(), Strings{});
}

TEST_F(DetachIntegration, AutoRemoveDetachedRemovesItselfOnExit) {
    std::string id = start_d({"--rm", "--name", "gone"}, {"sh", "-c", "sleep 0.2; exit 3"});
    ASSERT_FALSE(id.empty());
    std::string left;
    Strings files;
    // ps stops listing it once its record is renamed .gone-; the monitor then removes the tree,
    // which takes a moment more on a loaded machine: both must end, within 5 s.
    auto deadline = Clock::now() + 5s;
    do {
        left = hutch({"ps", "-a", "-q"}).out;
        files = roots_.leftovers();
        if (left.empty() && files.empty()) break;
        std::this_thread::sleep_for(50ms);
    } while (Clock::now() < deadline);
    EXPECT_EQ(left, "") << "--rm -d container still listed after 5 s";
    EXPECT_EQ(files, Strings{}) << "--rm -d container's files still there after 5 s";
    // Its name is free again.
    EXPECT_FALSE(start_d({"--name", "gone"}, {"true"}).empty());
}

TEST_F(DetachIntegration, NameIsReusableAfterRm) {
    std::string first = start_d({"--name", "web"}, {"sleep", "30"});
    ASSERT_FALSE(first.empty());
    Result clash = run_d({"--name", "web"}, {"sleep", "30"});
    EXPECT_EXIT_CODE(clash, 125);
    EXPECT_EQ(clash.err_lines().size(), 1u) << describe(clash);
    EXPECT_EQ(clash.out, "");
    EXPECT_EQ(roots_.container_ids(), Strings{first}) << "the losing start left state behind";

    ASSERT_EXIT_CODE(hutch({"rm", "-f", "web"}), 0);
    std::string second = start_d({"--name", "web"}, {"sleep", "30"});
    ASSERT_FALSE(second.empty());
    EXPECT_NE(second, first);
    EXPECT_EQ(inspect("web")["Id"], second);
}

// --- bad input -----------------------------------------------------------------------------

void expect_usage_error(const Result& r, const std::string& mention) {
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find(mention), std::string::npos) << describe(r);
    EXPECT_EQ(r.out, "") << describe(r);
}

TEST_F(DetachIntegration, UnknownContainerIs125) {
    for (const Strings& cmd : {Strings{"kill"}, Strings{"kill", "-s", "TERM"}, Strings{"stop"}, Strings{"wait"},
                               Strings{"logs"}, Strings{"logs", "-f"}, Strings{"inspect"}, Strings{"rm"},
                               Strings{"rm", "-f"}}) {
        Strings args = cmd;
        args.push_back("no-such-ctr");
        SCOPED_TRACE(args[0] + (args.size() > 2 ? " " + args[1] : ""));
        expect_usage_error(hutch(args, 10s), "no-such-ctr");
    }
}

TEST_F(DetachIntegration, AmbiguousIdPrefixIs125) {
    // Exited containers until two ids share their first hex digit (at most 17 by pigeonhole).
    std::string prefix;
    for (int i = 0; i < 17 && prefix.empty(); ++i) {
        ASSERT_FALSE(start_d({}, {"true"}).empty());
        std::map<char, int> first;
        for (const auto& id : roots_.container_ids())
            if (++first[id[0]] == 2) prefix = std::string(1, id[0]);
    }
    ASSERT_FALSE(prefix.empty());
    for (const Strings& cmd : {Strings{"inspect"}, Strings{"kill"}, Strings{"wait"}, Strings{"logs"},
                               Strings{"rm"}}) {
        Strings args = cmd;
        args.push_back(prefix);
        SCOPED_TRACE(args[0]);
        expect_usage_error(hutch(args, 10s), prefix);
    }
    // Nothing was removed by the ambiguous rm; a full id still works.
    std::string one = roots_.container_ids()[0];
    EXPECT_EQ(inspect(one)["Id"], one);
}

TEST_F(DetachIntegration, KillOfAStoppedContainerIs125StopIsFine) {
    ASSERT_FALSE(start_d({"--name", "done"}, {"true"}).empty());
    ASSERT_EQ(hutch({"wait", "done"}).out, "0\n");
    expect_usage_error(hutch({"kill", "done"}), "done");
    expect_usage_error(hutch({"kill", "-s", "USR1", "done"}), "done");
    Result stop = hutch({"stop", "done"});
    EXPECT_EXIT_CODE(stop, 0);
    EXPECT_EQ(stop.err, "");
}

TEST_F(DetachIntegration, BadSignalIs125AndSendsNothing) {
    std::string id = start_d({"--name", "calm"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    for (const std::string sig : {"bogus", "SIGFOO", "0", "99", "65", "1.5", "SIG", ""}) {
        SCOPED_TRACE("signal [" + sig + "]");
        Result r = hutch({"kill", "-s", sig, "calm"});
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_EQ(r.out, "");
    }
    EXPECT_NE(ps_line(id).find("Up "), std::string::npos) << "a bad signal stopped the container";
}

TEST_F(DetachIntegration, BadTailIs125) {
    ASSERT_FALSE(start_d({"--name", "t"}, {"true"}).empty());
    for (const std::string tail : {"x", "1.5", "1x", ""}) {
        SCOPED_TRACE("--tail [" + tail + "]");
        expect_usage_error(hutch({"logs", "--tail", tail, "t"}), "tail");
    }
}

// --- failures and faults -------------------------------------------------------------------

TEST_F(DetachIntegration, FailedDetachedStartIs127AndLeavesNothing) {
    Result r = run_d({"--name", "broken"}, {"no-such-command-xyz"});
    EXPECT_EXIT_CODE(r, 127);
    EXPECT_EQ(r.out, "") << "an id was printed for a container that never ran";
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("no-such-command-xyz"), std::string::npos) << describe(r);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
    EXPECT_EQ(own_children(), std::vector<pid_t>{}) << "the monitor of a failed start is still around";
    // The name was released.
    EXPECT_FALSE(start_d({"--name", "broken"}, {"true"}).empty());
}

TEST_F(DetachIntegration, KillingTheMonitorKillsTheContainer) {
    std::string id = start_d({"--name", "orphan"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    pid_t pid = container_pid("orphan");
    ASSERT_GT(pid, 0);
    pid_t monitor = parent_of(pid);
    auto kids = own_children();
    // Only a process the test owns (its reparented child) is ever signalled.
    ASSERT_NE(std::find(kids.begin(), kids.end(), monitor), kids.end())
        << "parent " << monitor << " of the container is not the test's child";
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    ASSERT_EQ(::waitpid(monitor, nullptr, 0), monitor);
    EXPECT_TRUE(wait_until_gone(pid, 3s)) << "container " << pid << " outlived its monitor";

    std::string line = ps_line(id);
    EXPECT_NE(line.find("unknown"), std::string::npos) << "ps -a: [" << line << "]";
    EXPECT_EQ(ps_line(id, /*all=*/false).find("Up "), std::string::npos);

    Result rm = hutch({"rm", "orphan"});
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
    EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
    EXPECT_EQ(mounts_under_roots(), Strings{});
}

// After its monitor was SIGKILLed (the container died with it), `wait` must not report a clean
// exit: nobody saw the exit status.
TEST_F(DetachIntegration, WaitAfterTheMonitorDiedIsNotASuccess) {
    std::string id = start_d({"--name", "lost"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    pid_t pid = container_pid("lost");
    ASSERT_GT(pid, 0);
    pid_t monitor = parent_of(pid);
    auto kids = own_children();
    ASSERT_NE(std::find(kids.begin(), kids.end(), monitor), kids.end());
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    ASSERT_EQ(::waitpid(monitor, nullptr, 0), monitor);
    ASSERT_TRUE(wait_until_gone(pid, 3s));
    Result r = hutch({"wait", "lost"}, 10s);
    EXPECT_FALSE(r.code == 0 && r.out == "0\n")
        << "wait claims a clean exit for a container killed with its monitor: " << describe(r);
}

}  // namespace
}  // namespace hutch_it
