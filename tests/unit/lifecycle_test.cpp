// runtime/lifecycle.hpp and the exit record of runtime/state.hpp, without root and without the
// hutch binary: a temp state root, a lock held by a forked child, processes the test forks.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "runtime/fd.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/state.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using namespace std::chrono_literals;
using hutch::test::contains;
using hutch::test::usage_error;
using std::chrono::milliseconds;

namespace {

// --- exit record ----------------------------------------------------------------------------

TEST(ExitRecord, ParsesWhatRecordExitWrites) {
    EXPECT_EQ(parse_exit_record("exit 0\n"), 0);
    EXPECT_EQ(parse_exit_record("exit 3\n"), 3);
    EXPECT_EQ(parse_exit_record("exit 137\n"), 137);
    EXPECT_EQ(parse_exit_record("exit 255"), 255);
}

TEST(ExitRecord, RejectsGarbledAndHostileText) {
    for (std::string_view bad : std::initializer_list<std::string_view>{"", "exit", "exit ", "exit \n", "exit x\n", "exit 3x\n", "exit -1\n", "exit +1\n", "exit 256\n",
          "exit 99999999999999999999\n", "exit 1234\n", "Exit 1\n", "exit  1\n", "exit 1\n\n", "exit 1\nexit 2\n",
          "xexit 1", std::string_view("exit 1\0", 7), "exit 0x10"})
        EXPECT_EQ(parse_exit_record(bad), std::nullopt) << "\"" << bad << "\"";
}

// A temp state root with one container's runtime dir and lock file, removed afterwards.
struct TempContainer {
    Paths paths;
    std::string id = std::string(64, 'a');
    TempContainer() {
        char tmpl[] = "/tmp/hutch-lifecycle-XXXXXX";
        root = ::mkdtemp(tmpl);
        paths.root = root + "/run";
        paths.data_root = root + "/data";
        std::filesystem::create_directories(paths.runtime_dir(id));
        std::filesystem::create_directories(paths.data_root);
        Fd(::open(lock_path().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    }
    ~TempContainer() { std::filesystem::remove_all(root); }
    std::string lock_path() const { return paths.runtime_dir(id) + "/lock"; }
    std::string root;
};

// A child holding the container's lock for `hold`, having written `record` into it; it then
// exits, releasing the lock. Returns once the lock is held.
pid_t supervisor(const TempContainer& c, milliseconds hold, const std::string& record) {
    int ready[2];
    EXPECT_EQ(::pipe(ready), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        int fd = ::open(c.lock_path().c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
        [[maybe_unused]] ssize_t w = ::write(ready[1], "x", 1);
        ::usleep(static_cast<useconds_t>(hold.count() * 1000));
        if (!record.empty() && ::pwrite(fd, record.data(), record.size(), 0) < 0) ::_exit(1);
        ::_exit(0);
    }
    ::close(ready[1]);
    char x;
    EXPECT_EQ(::read(ready[0], &x, 1), 1);
    ::close(ready[0]);
    return pid;
}

int reap(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

TEST(Lifecycle, WaitExitReturnsTheRecordedStatusOnceTheLockIsReleased) {
    TempContainer c;
    pid_t pid = supervisor(c, 150ms, "exit 42\n");
    EXPECT_TRUE(container_running(c.paths, c.id));
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(lifecycle::wait_exit(c.paths, c.id, "ctr"), 42);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
    EXPECT_EQ(reap(pid), 0);
}

TEST(Lifecycle, WaitExitWithoutARecordIsAnError) {
    TempContainer c;
    pid_t pid = supervisor(c, 10ms, "");  // a supervisor killed before it wrote one
    try {
        lifecycle::wait_exit(c.paths, c.id, "ctr");
        ADD_FAILURE() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "without an exit status"));
    }
    reap(pid);
    std::filesystem::remove(c.lock_path());
    EXPECT_TRUE(contains(usage_error([&] { lifecycle::wait_exit(c.paths, c.id, "ctr"); }), "no such container: ctr"));
}

TEST(Lifecycle, WaitForEndTimesOutWhileHeldAndReturnsOnceReleased) {
    TempContainer c;
    pid_t pid = supervisor(c, 300ms, "exit 0\n");
    EXPECT_FALSE(lifecycle::wait_for_end(c.paths, c.id, 50ms));
    EXPECT_TRUE(lifecycle::wait_for_end(c.paths, c.id, 5000ms));
    EXPECT_FALSE(container_running(c.paths, c.id));
    EXPECT_TRUE(lifecycle::wait_for_end(c.paths, c.id, milliseconds(-1)));
    reap(pid);
}

// --- stop escalation against processes the test forks ------------------------------------------

struct Child {
    pid_t pid = -1;
    Fd pidfd;
    explicit Child(bool ignore_term) {
        pid = ::fork();
        if (pid == 0) {
            if (ignore_term) ::signal(SIGTERM, SIG_IGN);
            for (;;) ::pause();
        }
        pidfd = Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        // Give it the moment to ignore SIGTERM before the test sends one.
        std::this_thread::sleep_for(50ms);
    }
    std::vector<int> sent;
    void signal(int sig) {
        sent.push_back(sig);
        lifecycle::send_signal(pidfd, sig, "child");
    }
    bool ended(milliseconds timeout) {
        pollfd p{pidfd.get(), POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
    }
};

TEST(Lifecycle, StopEndsWithSigtermWhenTheProcessHonoursIt) {
    Child child(false);
    bool killed = lifecycle::stop_escalating([&](int sig) { child.signal(sig); },
                                             [&](milliseconds t) { return child.ended(t); }, 5000ms);
    EXPECT_FALSE(killed);
    EXPECT_EQ(child.sent, std::vector<int>{SIGTERM});
    int status = reap(child.pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(Lifecycle, StopEscalatesToSigkillAfterTheGracePeriod) {
    Child child(true);
    auto started = std::chrono::steady_clock::now();
    bool killed = lifecycle::stop_escalating([&](int sig) { child.signal(sig); },
                                             [&](milliseconds t) { return child.ended(t); }, 200ms);
    EXPECT_TRUE(killed);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
    EXPECT_EQ(child.sent, (std::vector<int>{SIGTERM, SIGKILL}));
    int status = reap(child.pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(Lifecycle, StopOfAContainerThatIsNotRunningDoesNothing) {
    TempContainer c;
    ContainerState state;
    state.id = c.id;
    state.pid = 1;  // never signalled: nobody holds the lock
    lifecycle::stop_container(c.paths, state, "ctr", 10ms);
    EXPECT_TRUE(contains(usage_error([&] { lifecycle::kill_container(c.paths, state, "ctr", SIGKILL); }),
                         "container ctr is not running"));
}

// --- logs --------------------------------------------------------------------------------------

TEST(Logs, TailParsing) {
    EXPECT_EQ(lifecycle::parse_tail("all"), -1);
    EXPECT_EQ(lifecycle::parse_tail("0"), 0);
    EXPECT_EQ(lifecycle::parse_tail("25"), 25);
    for (const char* bad : {"", "-1", "ten", "1e3", "99999999999999999999999"})
        EXPECT_TRUE(contains(usage_error([&] { lifecycle::parse_tail(bad); }), "invalid --tail")) << bad;
}

TEST(Logs, LastLines) {
    EXPECT_EQ(lifecycle::last_lines("a\nb\nc\n", 2), "b\nc\n");
    EXPECT_EQ(lifecycle::last_lines("a\nb\nc", 2), "b\nc");  // an unterminated last line counts
    EXPECT_EQ(lifecycle::last_lines("a\nb\nc\n", 0), "");
    EXPECT_EQ(lifecycle::last_lines("a\nb\nc\n", 10), "a\nb\nc\n");
    EXPECT_EQ(lifecycle::last_lines("a\nb\nc\n", -1), "a\nb\nc\n");
    EXPECT_EQ(lifecycle::last_lines("", 3), "");
    EXPECT_EQ(lifecycle::last_lines("\n\n", 1), "\n");
}

struct TempLog {
    std::string path;
    Fd writer, reader;
    TempLog() {
        char tmpl[] = "/tmp/hutch-log-XXXXXX";
        writer = Fd(::mkstemp(tmpl));
        path = tmpl;
        reader = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    }
    ~TempLog() { ::unlink(path.c_str()); }
    void append(const std::string& text) { ASSERT_EQ(::write(writer.get(), text.data(), text.size()), static_cast<ssize_t>(text.size())); }
};

TEST(Logs, PrintLogTailsTheLastLinesOfAFile) {
    TempLog log;
    std::string all;
    for (int i = 1; i <= 5000; ++i) all += "line " + std::to_string(i) + "\n";  // more than one read
    log.append(all);
    std::string out;
    lifecycle::print_log(log.reader.get(), 3, [&](std::string_view t) { out.append(t); });
    EXPECT_EQ(out, "line 4998\nline 4999\nline 5000\n");
    ::lseek(log.reader.get(), 0, SEEK_SET);
    out.clear();
    lifecycle::print_log(log.reader.get(), -1, [&](std::string_view t) { out.append(t); });
    EXPECT_EQ(out, all);
}

TEST(Logs, FollowPrintsAppendedLinesAndStopsWhenTheContainerEnds) {
    TempLog log;
    log.append("before\n");
    std::string out;
    lifecycle::print_log(log.reader.get(), -1, [&](std::string_view t) { out.append(t); });
    std::atomic<bool> running{true};
    std::thread writer([&] {
        std::this_thread::sleep_for(50ms);
        log.append("during 1\n");
        std::this_thread::sleep_for(50ms);
        log.append("during 2\n");
        log.append("last words\n");  // written just before it ends: still printed
        running = false;
    });
    lifecycle::follow_log(log.reader.get(), [&] { return running.load(); },
                          [&](std::string_view t) { out.append(t); }, 10ms);
    writer.join();
    EXPECT_EQ(out, "before\nduring 1\nduring 2\nlast words\n");
}

}  // namespace
