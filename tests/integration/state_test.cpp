// State that must stay truthful (issue 11): removing a writable layer of any shape, the name and
// the record after a kill at any point, the event log on a full disk, what the monitor of
// `run -d` keeps open, and address claims after a SIGKILL.
//
// Kills at exact points go through syscall_kill.hpp (ptrace): SIGKILL as hutch enters a chosen
// system call. Mounts (a tmpfs as a full disk, a mount point inside a writable layer) are made
// only in a private mount namespace the test process enters first.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <regex>
#include <set>
#include <thread>

#include "harness.hpp"
#include "syscall_kill.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

// The test process enters a mount namespace of its own, private (a mount made in it is seen by
// nothing else); "" when it did, else why it could not (a skip reason).
std::string enter_private_mount_namespace() {
    if (status_field(read_file("/proc/self/status"), "Threads") != "1")
        return "the test process has threads: unshare(CLONE_NEWNS) needs a single-threaded process";
    if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return std::string("mount --make-rprivate /: ") + std::strerror(errno);
    return "";
}

class StateIntegration : public HutchTest {
protected:
    void TearDown() override {
        for (const auto& id : roots_.container_ids()) roots_.hutch({"rm", "-f", id}, {}, 20s);
        reap_leftover_children();
        for (const auto& id : ids_) remove_leftover_cgroup(id);
    }

    Result hutch(const Strings& args, std::chrono::milliseconds timeout = 20s, const SpawnOptions& so = {}) {
        return roots_.hutch(args, so, timeout);
    }
    Strings hutch_argv(const Strings& args) {
        Strings argv = {hutch_binary()};
        Strings all = roots_.hutch_args(args);
        argv.insert(argv.end(), all.begin(), all.end());
        return argv;
    }
    // The record's id, noted for TearDown's cgroup check.
    std::string only_id() {
        Strings ids = roots_.container_ids();
        EXPECT_EQ(ids.size(), 1u);
        if (ids.empty()) return "";
        ids_.insert(ids[0]);
        return ids[0];
    }
    Strings state_left() {
        Strings out;
        for (const auto& e : roots_.leftovers())
            if (e != roots_.data_root() + "/events.jsonl") out.push_back(e);
        return out;
    }
    json ps_all() {
        json out = json::array();
        for (const auto& line : hutch({"ps", "-a", "--format", "json"}).out_lines())
            if (!line.empty()) out.push_back(json::parse(line));
        return out;
    }
    std::set<std::string> ids_;
};

// --- rm of a writable layer of any shape ----------------------------------------------------

// 1,500 nested directories: a removal holding one fd per level ran out at ~1,000, returned 0
// and left them, invisible to every command.
TEST_F(StateIntegration, RmOfADeepWritableLayerRemovesItAll) {
    ASSERT_EXIT_CODE(hutch({"run", "--name", "deep", "--network", "none", rootfs_, "true"}), 0);
    std::string id = only_id();
    std::string upper = roots_.data_root() + "/containers/" + id + "/upper";
    int dir = ::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dir, 0) << upper;
    for (int level = 0; level < 1500; ++level) {
        ASSERT_EQ(::mkdirat(dir, "d", 0755), 0) << "level " << level;
        int next = ::openat(dir, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ::close(dir);
        ASSERT_GE(next, 0);
        dir = next;
    }
    int file = ::openat(dir, "bottom", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(file, 0);
    ::close(file);
    ::close(dir);

    // With a limit of 256 open files (a removal holding one per level fails at any limit
    // below the depth; the suite's default limit may be high).
    rlimit saved{};
    ::getrlimit(RLIMIT_NOFILE, &saved);
    rlimit low = saved;
    low.rlim_cur = 256;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    Result rm = hutch({"rm", "deep"});
    ::setrlimit(RLIMIT_NOFILE, &saved);
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_EQ(state_left(), Strings{});
    EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
}

// What cannot be removed (here a mount point inside the layer, in this test's own mount
// namespace) fails rm with one line naming it; the container stays listed; the mount's content
// is never touched; `rm` again finishes once the mount is gone.
TEST_F(StateIntegration, RmThatCannotRemoveEverythingSaysWhatStayedAndCanBeRetried) {
    std::string why = enter_private_mount_namespace();
    if (!why.empty()) GTEST_SKIP() << why;
    ASSERT_EXIT_CODE(hutch({"run", "--name", "stuck", "--network", "none", rootfs_, "sh", "-c",
                            "mkdir -p /a/b/c && echo x > /a/b/c/f && mkdir /mnt/m"}),
                     0);
    std::string id = only_id();
    std::string upper = roots_.data_root() + "/containers/" + id + "/upper";
    std::string mount_point = upper + "/mnt/m";
    ASSERT_EQ(::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=64k"), 0) << std::strerror(errno);
    write_file(mount_point + "/keep", "kept\n");
    // A link to a host file: removed as a link, never followed.
    TempDir host;
    write_file(host / "precious", "host data\n");
    ASSERT_EQ(::symlink((host.path()).c_str(), (upper + "/host-link").c_str()), 0);

    Result rm = hutch({"rm", "stuck"});
    EXPECT_NE(rm.code, 0) << describe(rm);
    ASSERT_EQ(rm.err_lines().size(), 1u) << describe(rm);
    EXPECT_NE(rm.err.find("mnt/m"), std::string::npos) << rm.err;
    EXPECT_NE(rm.err.find("mount point"), std::string::npos) << rm.err;
    EXPECT_EQ(read_file(mount_point + "/keep"), "kept\n") << "the removal crossed into a mount";
    EXPECT_EQ(read_file(host / "precious"), "host data\n") << "the removal followed a symlink";
    json ps = ps_all();
    ASSERT_EQ(ps.size(), 1u) << ps.dump();
    EXPECT_EQ(ps[0].value("Names", ""), "stuck");

    ASSERT_EQ(::umount2(mount_point.c_str(), MNT_DETACH), 0);
    Result again = hutch({"rm", "stuck"});
    EXPECT_EXIT_CODE(again, 0);
    EXPECT_EQ(state_left(), Strings{});
    EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
}

// --- the name and the record after a kill ---------------------------------------------------

// After a kill: every record ps lists has its name; if one is listed `rm -f NAME` removes it,
// else `rm -f NAME` finds nothing; and `run --name NAME` works; nothing stays.
void expect_consistent(const std::string& name, const std::string& rootfs, const TempRoots& roots) {
    json ps = json::array();
    for (const auto& line : roots.hutch({"ps", "-a", "--format", "json"}).out_lines())
        if (!line.empty()) ps.push_back(json::parse(line));
    int named = 0;
    for (const auto& c : ps) {
        EXPECT_EQ(c.value("Names", ""), name) << "a record without its name: " << c.dump();
        named += c.value("Names", "") == name;
    }
    EXPECT_LE(named, 1) << ps.dump();
    Result rm = roots.hutch({"rm", "-f", name});
    if (named == 1) {
        EXPECT_EXIT_CODE(rm, 0);
    } else {
        EXPECT_NE(rm.err.find("no such container"), std::string::npos) << describe(rm);
    }
    Result again = roots.hutch({"run", "--rm", "--name", name, "--network", "none", rootfs, "true"});
    EXPECT_EXIT_CODE(again, 0);
}

// SIGKILL at each system call around the name claim: the claim and the record appear as one.
// (Before, a kill after the claim and before the record's state left `ps -a` an unnamed
// "unknown" container, `rm -f NAME` "no such container", `run --name NAME` "already in use".)
TEST_F(StateIntegration, NameAndRecordStayConsistentAfterAKillAroundTheClaim) {
    std::string why = ptrace_unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
    const std::string name = "claimed";
    Strings argv = hutch_argv({"run", "--name", name, "--network", "none", rootfs_, "true"});
    long claim = 0;
    KillPlan find;
    find.when = [&claim, pred = symlinks_at("/names/" + name)](const SyscallEntry& e) {
        if (!claim && pred(e)) claim = e.index;
        return false;
    };
    Traced calibrate = run_traced(argv, find);
    ASSERT_EXIT_CODE(calibrate.result, 0);
    ASSERT_GT(claim, 0) << "hutch never claimed the name with symlink()";
    ASSERT_EXIT_CODE(hutch({"rm", name}), 0);
    for (long at = std::max(1L, claim - 6); at <= claim + 8; ++at) {
        SCOPED_TRACE("SIGKILL at system call " + std::to_string(at) + " (the claim is " + std::to_string(claim) + ")");
        KillPlan plan;
        plan.at = at;
        Traced t = run_traced(argv, plan);
        ASSERT_TRUE(t.killed) << describe(t.result);
        for (const auto& id : roots_.container_ids()) ids_.insert(id);
        expect_consistent(name, rootfs_, roots_);
        EXPECT_EQ(state_left(), Strings{});
        if (HasFailure()) break;
    }
}

// --- the event log on a full disk -------------------------------------------------------------

// A full disk cut an events.jsonl line short, and the next event was glued onto it (both lost
// to every reader). Now an append is whole or nothing, the failure is a warning line, the
// action itself goes on (as Docker's does when its event log fails).
// Looking a container up by name, id or id prefix reads its own record and no other: with a
// thousand containers, inspect, exec, stop and rm each read one (issue 19). Another
// container's record here is a FIFO, which a scan of every record would block on forever.
TEST_F(StateIntegration, ALookupReadsOnlyTheRecordItFinds) {
    ASSERT_EXIT_CODE(hutch({"run", "-d", "--name", "found", "--network", "none", rootfs_, "sleep", "60"}), 0);
    Strings ids = roots_.container_ids();
    ASSERT_EQ(ids.size(), 1u);
    const std::string other = roots_.run_root() + "/containers/" + std::string(64, 'f');
    ASSERT_EQ(::mkdir(other.c_str(), 0711), 0);
    ASSERT_EQ(::mkfifo((other + "/state.json").c_str(), 0600), 0);
    struct Gone {
        std::string dir;
        ~Gone() {
            ::unlink((dir + "/state.json").c_str());
            ::rmdir(dir.c_str());
        }
    } gone{other};
    for (const std::string& ref : {std::string("found"), ids[0], ids[0].substr(0, 12)}) {
        SCOPED_TRACE(ref);
        Result r = hutch({"inspect", "-f", "{{.Name}} {{.State.Status}}", ref}, 5s);
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, "/found running\n");
    }
    Result ex = hutch({"exec", "found", "echo", "in"}, 5s);
    EXPECT_EXIT_CODE(ex, 0);
    EXPECT_EQ(ex.out, "in\n");
    EXPECT_EXIT_CODE(hutch({"rm", "-f", "found"}, 10s), 0);
}

TEST_F(StateIntegration, EventLogOnAFullDiskKeepsWholeLines) {
    std::string why = enter_private_mount_namespace();
    if (!why.empty()) GTEST_SKIP() << why;
    std::string data = roots_.data_root();
    ASSERT_EQ(::mkdir(data.c_str(), 0711), 0);
    ASSERT_EQ(::mount("tmpfs", data.c_str(), "tmpfs", 0, "size=1m,mode=0711"), 0) << std::strerror(errno);
    struct Unmount {
        std::string dir;
        ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
    } unmount{data};
    ASSERT_EXIT_CODE(hutch({"run", "-d", "--name", "ev", "--network", "none", rootfs_, "sleep", "60"}), 0);
    only_id();

    // The log's last page left with 40 bytes free, every other page taken.
    std::string log = data + "/events.jsonl";
    struct stat st {};
    ASSERT_EQ(::stat(log.c_str(), &st), 0);
    std::size_t size = static_cast<std::size_t>(st.st_size);
    std::size_t pad = (4096 - 40 - size % 4096 + 4096) % 4096;
    if (pad < 64) pad += 4096;
    std::string filler_line = R"({"Type":"test","Action":"pad","x":")";
    filler_line += std::string(pad - filler_line.size() - 3, 'p') + "\"}\n";
    {
        int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_EQ(::write(fd, filler_line.data(), filler_line.size()), static_cast<ssize_t>(filler_line.size()));
        ::close(fd);
    }
    std::string filler = data + "/filler";
    {
        int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        std::string page(4096, 'f');
        while (::write(fd, page.data(), page.size()) == static_cast<ssize_t>(page.size())) {
        }
        ::close(fd);
    }

    for (int i = 0; i < 2; ++i) {
        Result kill = hutch({"kill", "-s", "USR1", "ev"});  // pid 1 without a handler: ignored
        EXPECT_EXIT_CODE(kill, 0);
        ASSERT_EQ(kill.err_lines().size(), 1u) << describe(kill);
        EXPECT_NE(kill.err.find("hutch: warning: event \"container kill\" not recorded"), std::string::npos) << kill.err;
        EXPECT_NE(kill.err.find("No space left on device"), std::string::npos) << kill.err;
    }
    ASSERT_EQ(::unlink(filler.c_str()), 0);
    Result kill = hutch({"kill", "-s", "USR1", "ev"});
    EXPECT_EXIT_CODE(kill, 0);
    EXPECT_EQ(kill.err, "");

    std::string text = read_file(log);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    int kills = 0;
    for (const auto& line : split_lines(text)) {
        json j = json::parse(line, nullptr, false);
        EXPECT_TRUE(j.is_object()) << "a damaged line: " << line;
        if (j.is_object() && j.value("Action", "") == "kill") ++kills;
    }
    EXPECT_EQ(kills, 1) << text;
    Result events = hutch({"events", "--since", "0", "--until", "0s", "--filter", "event=kill"});
    EXPECT_EXIT_CODE(events, 0);
    EXPECT_EQ(events.out_lines().size(), 1u) << events.out;
    EXPECT_EXIT_CODE(hutch({"rm", "-f", "ev"}), 0);
}

// --- what the monitor of run -d keeps ---------------------------------------------------------

// The monitor kept the caller's inherited fds for the container's whole life: a lock a script
// took with flock(1) stayed held, a pipe's reader never saw EOF.
TEST_F(StateIntegration, RunDetachedMonitorKeepsNoneOfTheCallersFiles) {
    TempDir dir;
    std::string lock_path = dir / "lock";
    int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(lock, 0);
    ASSERT_EQ(::flock(lock, LOCK_EX), 0);
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    struct stat pipe_st {};
    ASSERT_EQ(::fstat(pipe_fds[0], &pipe_st), 0);
    SpawnOptions so;
    so.inherit_fds = {{lock, 5}, {pipe_fds[1], 6}};
    Process p = Process::spawn(hutch_argv({"run", "-d", "--name", "fds", "--network", "none", rootfs_, "sleep", "60"}), so);
    ::close(lock);
    ::close(pipe_fds[1]);
    Result r = p.wait(20s);
    ASSERT_EXIT_CODE(r, 0);
    only_id();

    int other = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
    EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), 0) << "the caller's lock is still held after run -d returned";
    ::close(other);
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 3000), 1) << "the caller's pipe is still open after run -d returned";
    char c;
    EXPECT_EQ(::read(pipe_fds[0], &c, 1), 0);
    ::close(pipe_fds[0]);

    pid_t container = container_pid(roots_, "fds");
    ASSERT_GT(container, 0);
    pid_t monitor = parent_of(container);
    std::string pipe_name = "pipe:[" + std::to_string(pipe_st.st_ino) + "]";
    for (const auto& fd : list_dir("/proc/" + std::to_string(monitor) + "/fd")) {
        char target[512] = {};
        ::readlink(("/proc/" + std::to_string(monitor) + "/fd/" + fd).c_str(), target, sizeof target - 1);
        EXPECT_NE(std::string(target), lock_path) << "fd " << fd;
        EXPECT_NE(std::string(target), pipe_name) << "fd " << fd;
    }
}

// --- address claims after SIGKILL --------------------------------------------------------------

// A SIGKILLed monitor never releases its address: `rm -f` does, rather than a later start.
TEST_F(StateIntegration, RmForceReleasesTheAddressOfAKilledContainer) {
    ASSERT_EXIT_CODE(hutch({"run", "-d", "--name", "addr", rootfs_, "sleep", "60"}), 0);
    only_id();
    std::string endpoints = roots_.data_root() + "/networks/bridge/endpoints";
    ASSERT_EQ(list_dir(endpoints).size(), 1u);
    pid_t container = container_pid(roots_, "addr");
    ASSERT_GT(container, 0);
    pid_t monitor = parent_of(container);
    auto kids = own_children();
    ASSERT_NE(std::find(kids.begin(), kids.end(), monitor), kids.end()) << "the monitor is not the test's child";
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    ::waitpid(monitor, nullptr, 0);
    ASSERT_TRUE(wait_until_gone(container, 3s));
    EXPECT_EQ(list_dir(endpoints).size(), 1u) << "the claim a killed hutch leaves (the case under test)";
    EXPECT_EXIT_CODE(hutch({"rm", "-f", "addr"}), 0);
    EXPECT_EQ(list_dir(endpoints), Strings{});
}

// Killed as it links its claim into place: no temp claim file stays (they accumulated).
TEST_F(StateIntegration, AKillDuringTheAddressClaimLeavesNoTempFile) {
    std::string why = ptrace_unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
    KillPlan plan;
    plan.when = [](const SyscallEntry& e) {
        if (e.nr == SYS_link) return tracee_string(e.pid, e.args[1]).find("/endpoints/") != std::string::npos;
        if (e.nr == SYS_linkat) return tracee_string(e.pid, e.args[3]).find("/endpoints/") != std::string::npos;
        return false;
    };
    Traced t = run_traced(hutch_argv({"run", "--name", "tmpclaim", rootfs_, "true"}), plan);
    ASSERT_TRUE(t.killed) << describe(t.result);
    for (const auto& id : roots_.container_ids()) ids_.insert(id);
    EXPECT_EXIT_CODE(hutch({"rm", "-f", "tmpclaim"}), 0);
    EXPECT_EQ(list_dir(roots_.data_root() + "/networks/bridge/endpoints"), Strings{});
    EXPECT_EQ(state_left(), Strings{});
}

}  // namespace
}  // namespace hutch_it
