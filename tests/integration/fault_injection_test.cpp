// Fault injection: SIGKILL of `hutch run` (with and without --rm), `run -d`, the monitor, `rm`,
// `hutch-oci create`, `start` and `delete` at random points, each followed by what a user would
// run next (ps -a, inspect, rm -f, run --name again; hutch-oci state, list, delete -f, create
// again), asserting that what they say is true and that everything can be cleaned: nothing
// left under the roots, no cgroup, no mount in the test's namespace, no process.
//
// "A random point" is a random system call: each command runs under ptrace and SIGKILL comes as
// it enters its k-th call (syscall_kill.hpp), k drawn uniformly from the calls a normal run of
// that command makes. So every window between two state changes can be hit, the microsecond
// ones included (the name claim, a record's rename, the moment create's process stops waiting
// for its parent), which a delay sweep reaches only by luck. What is covered per command: every
// call the command itself makes, from its first after exec to its exit; for `run -d` the caller
// (whose monitor then starts the container alone); for the monitor, its calls up to a settle
// time after the caller returned (the start, and the first moments of supervision).
//
// The sequence is seeded; the seed and each kill are printed. Replay a run with
// HUTCH_FAULT_SEED=<seed>, one kill with HUTCH_FAULT_AT=<command>:<call>; HUTCH_FAULT_COUNT sets
// how many kills (default 40: five per command); HUTCH_FAULT_ALL=1 kills before every
// state-changing call of every command instead (~800 kills, a few minutes).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "harness.hpp"
#include "syscall_kill.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

enum class Kind { kRun, kRunRm, kRunDetached, kMonitor, kRm, kOciCreate, kOciStart, kOciDelete };
constexpr Kind kKinds[] = {Kind::kRun, Kind::kRunRm, Kind::kRunDetached, Kind::kMonitor,
                           Kind::kRm,  Kind::kOciCreate, Kind::kOciStart, Kind::kOciDelete};

const char* name_of(Kind k) {
    switch (k) {
        case Kind::kRun: return "run";
        case Kind::kRunRm: return "run--rm";
        case Kind::kRunDetached: return "run-d";
        case Kind::kMonitor: return "monitor";
        case Kind::kRm: return "rm";
        case Kind::kOciCreate: return "oci-create";
        case Kind::kOciStart: return "oci-start";
        case Kind::kOciDelete: return "oci-delete";
    }
    return "?";
}
bool is_oci(Kind k) { return k == Kind::kOciCreate || k == Kind::kOciStart || k == Kind::kOciDelete; }

std::string oci_binary() { return HUTCH_OCI_BINARY; }

// A call that changes something a kill could leave half-done: files and directories, locks,
// processes and signals, mounts and namespaces, and the messages that move the container's
// process on.
bool changes_state(const SyscallEntry& e) {
    auto writes = [](std::uint64_t flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0; };
    switch (e.nr) {
        case SYS_open: return writes(e.args[1]);
        case SYS_openat: return writes(e.args[2]);
        case SYS_mkdir: case SYS_mkdirat: case SYS_rmdir: case SYS_rename: case SYS_renameat:
        case SYS_renameat2: case SYS_link: case SYS_linkat: case SYS_symlink: case SYS_symlinkat:
        case SYS_unlink: case SYS_unlinkat: case SYS_mknodat: case SYS_write: case SYS_pwrite64:
        case SYS_writev: case SYS_ftruncate: case SYS_flock: case SYS_clone: case SYS_clone3:
        case SYS_fork: case SYS_vfork: case SYS_kill: case SYS_pidfd_send_signal: case SYS_mount:
        case SYS_umount2: case SYS_setns: case SYS_sendmsg: case SYS_sendto:
            return true;
        default: return false;
    }
}

class FaultInjection : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        std::string why = ptrace_unavailable();
        if (!why.empty()) GTEST_SKIP() << why;
        ASSERT_TRUE(path_exists(oci_binary())) << oci_binary();
        oci_root_ = scratch_ / "oci-root";
        bundle_ = scratch_ / "bundle";
        ASSERT_EQ(::mkdir(bundle_.c_str(), 0755), 0);
        ASSERT_EXIT_CODE(oci({"spec", "--bundle", bundle_}), 0);
        json config = json::parse(read_file(bundle_ + "/config.json"));
        config["process"]["terminal"] = false;
        config["process"]["args"] = {"sleep", "30"};
        config["root"] = {{"path", rootfs_}, {"readonly", true}};
        write_file(bundle_ + "/config.json", config.dump(2));
        reap_zombies();
    }

    void TearDown() override {
        for (const auto& id : roots_.container_ids()) roots_.hutch({"rm", "-f", id}, {}, 20s);
        for (const auto& id : oci_ids_) oci({"delete", "-f", id});
        reap_leftover_children();
        for (const auto& id : hutch_ids_) remove_leftover_cgroup(id);
    }

    // --- running things ------------------------------------------------------------------

    Result hutch(const Strings& args) { return roots_.hutch(args, {}, 20s); }
    Strings hutch_argv(const Strings& args) {
        Strings argv = {hutch_binary()};
        Strings all = roots_.hutch_args(args);
        argv.insert(argv.end(), all.begin(), all.end());
        return argv;
    }
    Strings oci_argv(const Strings& args) {
        Strings argv = {oci_binary(), "--root", oci_root_};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }
    // hutch-oci with its output in files: a created container keeps its stdio (a pipe would
    // hold the harness until it ends).
    Result oci(const Strings& args) { return run_to_files(oci_argv(args)); }
    std::string oci_id(int round) {
        std::string id = "fi-" + std::to_string(::getpid()) + "-" + std::to_string(round);
        oci_ids_.insert(id);
        return id;
    }
    std::string oci_cgroup(const std::string& id) {
        std::string dir = container_cgroup_dir(id);
        return dir.empty() ? "" : dir.substr(0, dir.size() - id.size() - 7) + "/hutch-oci/" + id;
    }

    // The command a round kills, and the normal set-up before it.
    Strings prepare(Kind kind, const std::string& name, const std::string& id) {
        switch (kind) {
            case Kind::kRun: return hutch_argv({"run", "--name", name, "--network", "none", rootfs_, "true"});
            case Kind::kRunRm: return hutch_argv({"run", "--rm", "--name", name, "--network", "none", rootfs_, "true"});
            case Kind::kRunDetached:
            case Kind::kMonitor:
                return hutch_argv({"run", "-d", "--name", name, "--network", "none", rootfs_, "sleep", "30"});
            case Kind::kRm:
                EXPECT_EXIT_CODE(hutch({"run", "-d", "--name", name, "--network", "none", rootfs_, "sleep", "30"}), 0);
                return hutch_argv({"rm", "-f", name});
            case Kind::kOciCreate: return oci_argv({"create", "--bundle", bundle_, id});
            case Kind::kOciStart:
                EXPECT_EXIT_CODE(oci({"create", "--bundle", bundle_, id}), 0);
                return oci_argv({"start", id});
            case Kind::kOciDelete:
                EXPECT_EXIT_CODE(oci({"create", "--bundle", bundle_, id}), 0);
                EXPECT_EXIT_CODE(oci({"start", id}), 0);
                return oci_argv({"delete", "-f", id});
        }
        return {};
    }

    Traced kill_at(Kind kind, long at, const std::string& name, const std::string& id) {
        Strings argv = prepare(kind, name, id);
        KillPlan plan;
        plan.at = at;
        plan.follow_fork = kind == Kind::kMonitor;
        Traced t = run_traced(argv, plan);
        for (const auto& recorded : roots_.container_ids()) hutch_ids_.insert(recorded);
        return t;
    }

    // --- what must hold afterwards --------------------------------------------------------

    // No process of the test's is left (its orphans are its children: it is a subreaper).
    void expect_no_process() {
        std::vector<pid_t> alive;
        for (auto deadline = Clock::now() + 3s; Clock::now() < deadline;) {
            alive = reap_zombies();
            if (alive.empty()) return;
            std::this_thread::sleep_for(20ms);
        }
        std::string shown;
        for (pid_t p : alive) shown += std::to_string(p) + " " + read_file("/proc/" + std::to_string(p) + "/cmdline") + "\n";
        ADD_FAILURE() << "processes left:\n" << shown;
        reap_leftover_children();
    }
    void expect_no_mount() {
        for (const auto& line : split_lines(host_mountinfo()))
            EXPECT_EQ(line.find(scratch_.path()), std::string::npos) << line;
        for (const auto& line : split_lines(host_mountinfo()))
            EXPECT_EQ(line.find(roots_.base() + "/"), std::string::npos) << line;
    }

    // A detached start whose caller was killed goes on in its monitor: wait until no start is
    // under way (a record being built, or "created" with its lock held by a live hutch) before
    // judging what is left. A "created" record whose lock is free is what a kill left.
    bool lock_held(const std::string& dir) {
        int fd = ::open((dir + "/lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) return false;
        bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        ::close(fd);
        return held;
    }
    void settle() {
        std::string containers = roots_.run_root() + "/containers";
        for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
            bool busy = false;
            for (const auto& e : list_dir(containers)) {
                std::string status;
                if (e.size() == 64) {
                    json s = json::parse(read_file(containers + "/" + e + "/state.json"), nullptr, false);
                    status = s.is_object() ? s.value("status", "") : "";
                }
                if ((e.rfind(".new-", 0) == 0 || status == "created") && lock_held(containers + "/" + e)) busy = true;
            }
            if (!busy) return;
            std::this_thread::sleep_for(20ms);
        }
    }

    bool stops_running(const std::string& name) {
        for (auto deadline = Clock::now() + 2s; Clock::now() < deadline;) {
            bool running = false;
            for (const auto& line : hutch({"ps", "-a", "--format", "json"}).out_lines()) {
                json c = json::parse(line, nullptr, false);
                running |= c.is_object() && c.value("Names", "") == name && c.value("State", "") == "running";
            }
            if (!running) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    void check_hutch(const std::string& name) {
        settle();
        Result ps = hutch({"ps", "-a", "--format", "json"});
        ASSERT_EXIT_CODE(ps, 0);
        int named = 0;
        for (const auto& line : ps.out_lines()) {
            json c = json::parse(line, nullptr, false);
            ASSERT_TRUE(c.is_object()) << line;
            EXPECT_EQ(c.value("Names", ""), name) << "a record without its name: " << line;
            std::string status = c.value("State", "");
            EXPECT_TRUE(status == "created" || status == "running" || status == "exited" || status == "unknown") << line;
            auto pid_of = [&] {
                return std::atoi(trim(hutch({"inspect", "-f", "{{.State.Pid}}", c.value("ID", "")}).out).c_str());
            };
            if (status == "running" && !process_alive(pid_of())) {
                // ps ran while the orphaned command was dying (its lock still held): the record
                // must stop saying "running" once the process is gone.
                EXPECT_TRUE(stops_running(name)) << "running, but its pid is gone: " << line;
            }
            named += c.value("Names", "") == name;
        }
        EXPECT_LE(named, 1) << ps.out;
        if (named == 1) {
            EXPECT_EXIT_CODE(hutch({"inspect", name}), 0);
            Result rm = hutch({"rm", "-f", name});
            EXPECT_EXIT_CODE(rm, 0);
        } else {
            Result rm = hutch({"rm", "-f", name});
            EXPECT_NE(rm.err.find("no such container"), std::string::npos) << describe(rm);
        }
        Result again = hutch({"run", "--rm", "--name", name, "--network", "none", rootfs_, "true"});
        EXPECT_EXIT_CODE(again, 0);
        EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
        Strings left;
        for (const auto& e : roots_.leftovers())
            if (e != roots_.data_root() + "/events.jsonl") left.push_back(e);
        EXPECT_EQ(left, Strings{});
        for (const auto& id : hutch_ids_) EXPECT_FALSE(remove_leftover_cgroup(id)) << "cgroup left: " << id;
        expect_no_mount();
        expect_no_process();
    }

    void check_oci(const std::string& id) {
        Result list = oci({"list", "--format", "json"});
        ASSERT_EXIT_CODE(list, 0);
        json listed = json::parse(list.out, nullptr, false);
        ASSERT_TRUE(listed.is_array()) << list.out;
        bool in_list = false;
        for (const auto& c : listed) in_list |= c.value("id", "") == id;
        Result state = oci({"state", id});
        if (state.code == 0) {
            EXPECT_TRUE(in_list) << "state sees it, list does not: " << list.out;
            std::string status = json::parse(state.out, nullptr, false).value("status", "");
            // The create process is dead in every round: nothing is still "creating".
            EXPECT_TRUE(status == "created" || status == "running" || status == "stopped") << state.out;
        } else {
            EXPECT_FALSE(in_list) << list.out;
            EXPECT_NE(state.err.find("does not exist"), std::string::npos) << describe(state);
        }
        Result del = oci({"delete", "-f", id});
        EXPECT_EXIT_CODE(del, 0);
        EXPECT_FALSE(path_exists(oci_root_ + "/" + id)) << "delete -f left the state dir";
        std::string cg = oci_cgroup(id);
        EXPECT_TRUE(cg.empty() || !path_exists(cg)) << "cgroup left: " << cg;
        expect_no_process();
        // The id can be used again.
        Result again = oci({"create", "--bundle", bundle_, id});
        EXPECT_EXIT_CODE(again, 0);
        Result st = oci({"state", id});
        EXPECT_EQ(json::parse(st.out, nullptr, false).value("status", ""), "created") << describe(st);
        EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
        EXPECT_FALSE(path_exists(oci_root_ + "/" + id));
        expect_no_mount();
        expect_no_process();
    }

    // The calls a normal run of `kind` makes: how many, and which of them change state (kills
    // right before those are the interesting ones).
    struct Calls {
        long total = 0;
        std::vector<long> changing;
    };
    Calls calibrate(Kind kind) {
        std::string id = oci_id(900 + static_cast<int>(kind));
        std::string name = std::string("fi-cal-") + name_of(kind);
        Strings argv = prepare(kind, name, id);
        Calls calls;
        KillPlan none;
        none.follow_fork = kind == Kind::kMonitor;
        none.when = [&calls](const SyscallEntry& e) {
            if (changes_state(e)) calls.changing.push_back(e.index);
            return false;
        };
        Traced t = run_traced(argv, none);
        EXPECT_EXIT_CODE(t.result, 0) << name_of(kind);
        for (const auto& recorded : roots_.container_ids()) hutch_ids_.insert(recorded);
        if (is_oci(kind)) oci({"delete", "-f", id});
        else hutch({"rm", "-f", name});
        reap_zombies();
        calls.total = t.calls;
        return calls;
    }

    void round(Kind kind, long at, long of, int number) {
        std::cout << "[ fault    ] #" << number << " SIGKILL " << name_of(kind) << " at system call " << at << " of " << of
                  << "   (replay: HUTCH_FAULT_AT=" << name_of(kind) << ":" << at << ")" << std::endl;
        SCOPED_TRACE(std::string("SIGKILL of ") + name_of(kind) + " at system call " + std::to_string(at));
        std::string name = std::string("fi-") + name_of(kind);
        std::string id = oci_id(number);
        Traced t = kill_at(kind, at, name, id);
        if (is_oci(kind)) check_oci(id);
        else check_hutch(name);
        (void)t;
    }

    TempDir scratch_;
    std::string oci_root_, bundle_;
    std::set<std::string> oci_ids_, hutch_ids_;
};

std::optional<Kind> kind_named(const std::string& text) {
    for (Kind k : kKinds)
        if (text == name_of(k)) return k;
    return std::nullopt;
}

TEST_F(FaultInjection, SigkillAtRandomPointsLeavesTruthfulCleanableState) {
    if (const char* at = std::getenv("HUTCH_FAULT_AT"); at && *at) {
        std::string spec = at;
        auto colon = spec.find(':');
        auto kind = kind_named(spec.substr(0, colon));
        ASSERT_TRUE(kind && colon != std::string::npos) << "HUTCH_FAULT_AT=<command>:<call>, e.g. run:120";
        round(*kind, std::stol(spec.substr(colon + 1)), 0, 0);
        return;
    }
    unsigned seed = std::random_device{}();
    if (const char* s = std::getenv("HUTCH_FAULT_SEED"); s && *s) seed = static_cast<unsigned>(std::stoul(s));
    int count = 40;
    if (const char* c = std::getenv("HUTCH_FAULT_COUNT"); c && *c) count = std::stoi(c);
    std::cout << "[ fault    ] seed " << seed << ", " << count << " kills (replay: HUTCH_FAULT_SEED=" << seed << ")"
              << std::endl;
    std::map<Kind, Calls> calls;
    for (Kind k : kKinds) {
        calls[k] = calibrate(k);
        ASSERT_GT(calls[k].total, 0) << name_of(k);
        ASSERT_FALSE(calls[k].changing.empty()) << name_of(k);
    }
    if (const char* all = std::getenv("HUTCH_FAULT_ALL"); all && *all == '1') {
        // The long run: a kill right before every state-changing call of every command.
        int number = 0;
        for (Kind kind : kKinds)
            for (long at : calls[kind].changing) {
                if (HasFailure()) return;
                round(kind, at, calls[kind].total, number++);
            }
        return;
    }
    // Three kills in four right before a call that changes state, the fourth anywhere.
    std::mt19937 rng(seed);
    for (int i = 0; i < count && !HasFailure(); ++i) {
        Kind kind = kKinds[static_cast<std::size_t>(i) % std::size(kKinds)];
        const Calls& c = calls[kind];
        long at = std::uniform_int_distribution<long>(1, c.total)(rng);
        if (std::uniform_int_distribution<int>(0, 3)(rng) != 0)
            at = c.changing[std::uniform_int_distribution<std::size_t>(0, c.changing.size() - 1)(rng)];
        round(kind, at, c.total, i);
    }
}

// hutch-oci create killed after its container's process stopped waiting for it (blocked on
// exec.fifo, out of reach of the parent-death signal) and before the state was recorded: it
// left a container state, list and delete -f could not see, that create said exists, with an
// orphaned process anyone opening the fifo would release. Now the record exists from the start.
TEST_F(FaultInjection, HutchOciCreateKilledBeforeItsLastRecordIsVisibleAndDeletable) {
    const std::string id = oci_id(1000);
    long renames = 0;
    KillPlan count;
    count.when = [&renames, pred = renames_to("/" + id + "/state.json")](const SyscallEntry& e) {
        renames += pred(e);
        return false;
    };
    ASSERT_EXIT_CODE(run_traced(oci_argv({"create", "--bundle", bundle_, id}), count).result, 0);
    ASSERT_GT(renames, 0);
    ASSERT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    reap_zombies();

    long seen = 0;
    KillPlan plan;
    plan.when = [&seen, renames, pred = renames_to("/" + id + "/state.json")](const SyscallEntry& e) {
        return pred(e) && ++seen == renames;  // the create's last record: the container is made
    };
    Traced t = run_traced(oci_argv({"create", "--bundle", bundle_, id}), plan);
    ASSERT_TRUE(t.killed) << describe(t.result);
    std::vector<pid_t> orphans = reap_zombies();
    EXPECT_EQ(orphans.size(), 1u) << "the container's process, waiting for start";

    Result state = oci({"state", id});
    ASSERT_EXIT_CODE(state, 0);
    EXPECT_EQ(json::parse(state.out).value("status", ""), "stopped") << state.out;
    Result list = oci({"list"});
    EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
    EXPECT_NE(oci({"start", id}).code, 0) << "an aborted create must never run its command";
    Result del = oci({"delete", "-f", id});
    EXPECT_EXIT_CODE(del, 0);
    for (pid_t p : orphans) EXPECT_TRUE(wait_until_gone(p, 3s)) << "the orphaned process " << p << " lives on";
    EXPECT_FALSE(path_exists(oci_root_ + "/" + id));
    std::string cg = oci_cgroup(id);
    EXPECT_TRUE(cg.empty() || !path_exists(cg)) << cg;
    ASSERT_EXIT_CODE(oci({"create", "--bundle", bundle_, id}), 0);
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    expect_no_process();
}

}  // namespace
}  // namespace hutch_it
