// SIGTERM and SIGINT during a start (issue 11): the start is abandoned promptly and cleanly,
// hutch says so in one line and dies of the signal (runtime/interrupt.hpp). Before, both were
// blocked for the whole start: a slow start (a large seccomp profile) could not be stopped, and
// the signal then went to the command.
//
// The starts are made slow on purpose, in both halves: a large but legal profile (1,000 rules
// with argument conditions, a few hundred ms of libseccomp's compile in the parent) and 500
// volumes (a second or more of mounts in the child while the parent waits for its exec). The
// signal is sent as soon as the container's record exists, so it lands in the compile or in the
// wait, long before the command could run.
#include <signal.h>
#include <sys/stat.h>

#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using Clock = std::chrono::steady_clock;

class StartAbortIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        std::string rules;
        for (int i = 0; i < 1000; ++i)
            rules += std::string(i ? "," : "") + R"({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [)" +
                     R"({"index": 1, "value": )" + std::to_string(1000000 + i) + R"(, "op": "SCMP_CMP_EQ"}]})";
        profile_ = tmp_ / "slow.json";
        write_file(profile_, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [)" + rules + "]}");
        ASSERT_EQ(::mkdir((tmp_ / "volume").c_str(), 0755), 0);
        slow_ = {"--network", "none", "--security-opt", "seccomp=" + profile_};
        for (int i = 0; i < 500; ++i) {
            slow_.push_back("-v");
            slow_.push_back(tmp_ / "volume" + ":/v/" + std::to_string(i));
        }
    }
    Strings slow(Strings more = {}) const {
        more.insert(more.end(), slow_.begin(), slow_.end());
        return more;
    }

    // Waits until a container record exists under the roots (the start has begun making
    // things), then sends `sig` to `p` and waits for it.
    Result interrupt_when_recorded(Process& p, int sig) {
        auto deadline = Clock::now() + 20s;
        while (roots_.container_ids().empty() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
        EXPECT_FALSE(roots_.container_ids().empty()) << "no record appeared";
        sent_ = Clock::now();
        ::kill(p.pid(), sig);
        return p.wait(20s);
    }
    double seconds_since_signal() const { return std::chrono::duration<double>(Clock::now() - sent_).count(); }

    void expect_nothing_left(const Result& r, const char* signal_name, int code) {
        EXPECT_EXIT_CODE(r, code);
        EXPECT_LT(seconds_since_signal(), 5.0) << "the start must end promptly";
        auto lines = r.err_lines();
        ASSERT_EQ(lines.size(), 1u) << describe(r);
        EXPECT_EQ(lines[0], std::string("hutch: the start was interrupted by ") + signal_name +
                                "; nothing of the container was left");
        EXPECT_EQ(roots_.leftovers(), Strings{});
        // Other work on the machine mounts things meanwhile: only mounts of this test count.
        EXPECT_EQ(host_mountinfo().find(roots_.base()), std::string::npos);
        EXPECT_EQ(own_children(), std::vector<pid_t>{});
    }

    TempDir tmp_;
    std::string profile_;
    Strings slow_;
    Clock::time_point sent_;
};

TEST_F(StartAbortIntegration, SigtermEndsRunDuringTheStart) {
    Process p = start(slow({"--name", "aborted"}), {"sleep", "30"});
    Result r = interrupt_when_recorded(p, SIGTERM);
    expect_nothing_left(r, "SIGTERM", 128 + SIGTERM);
    // The name claim went with it: the name is free again.
    Result again = run({"--name", "aborted", "--network", "none"}, {"true"});
    EXPECT_EXIT_CODE(again, 0);
}

TEST_F(StartAbortIntegration, SigintEndsRunDuringTheStart) {
    Process p = start(slow(), {"sleep", "30"});
    Result r = interrupt_when_recorded(p, SIGINT);
    expect_nothing_left(r, "SIGINT", 128 + SIGINT);
}

TEST_F(StartAbortIntegration, SigtermEndsRunDetachedDuringTheStart) {
    // The signal reaches the command that waits for the monitor; the monitor makes the start.
    Strings argv = {hutch_binary(), "--root", roots_.run_root(), "--data-root", roots_.data_root(), "run", "-d"};
    for (const auto& a : slow()) argv.push_back(a);
    for (const auto& a : Strings{rootfs_, "sleep", "30"}) argv.push_back(a);
    Process p = Process::spawn(argv);
    Result r = interrupt_when_recorded(p, SIGTERM);
    EXPECT_EQ(r.out, "") << "no container id for a start that did not happen";
    // The monitor is gone too (it is not the test's child: wait for the record to go).
    auto deadline = Clock::now() + 5s;
    while (!roots_.leftovers().empty() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    expect_nothing_left(r, "SIGTERM", 128 + SIGTERM);
}

TEST_F(StartAbortIntegration, SigtermEndsStartOfACreatedContainerWhichStaysCreated) {
    Strings create = {"create", "--name", "made"};
    for (const auto& a : slow()) create.push_back(a);
    for (const auto& a : Strings{rootfs_, "sleep", "30"}) create.push_back(a);
    Result c = roots_.hutch(create);
    ASSERT_EXIT_CODE(c, 0);
    Process p = Process::spawn(
        {hutch_binary(), "--root", roots_.run_root(), "--data-root", roots_.data_root(), "start", "-a", "made"});
    // The record exists already: give the start a moment to begin compiling.
    std::this_thread::sleep_for(100ms);
    sent_ = Clock::now();
    ::kill(p.pid(), SIGTERM);
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 128 + SIGTERM);
    EXPECT_LT(seconds_since_signal(), 5.0);
    EXPECT_EQ(r.err_lines(), Strings{"hutch: the start was interrupted by SIGTERM; nothing of the container was left"});
    Result ps = roots_.hutch({"ps", "-a", "--format", "json"});
    EXPECT_NE(ps.out.find("\"created\""), std::string::npos) << "the container stays as create made it\n" << describe(ps);
    EXPECT_EQ(own_children(), std::vector<pid_t>{});
    Result rm = roots_.hutch({"rm", "made"});
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(StartAbortIntegration, SigtermWhileReadingAProfileFromAPipe) {
    // `--security-opt seccomp=<(...)`: a pipe whose writer has not come yet. The wait for it
    // must end on SIGTERM too (it was a blocking read).
    std::string fifo = tmp_ / "profile.fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    Process p = start({"--security-opt", "seccomp=" + fifo}, {"true"});
    std::this_thread::sleep_for(200ms);
    sent_ = Clock::now();
    ::kill(p.pid(), SIGTERM);
    Result r = p.wait(20s);
    expect_nothing_left(r, "SIGTERM", 128 + SIGTERM);
}

}  // namespace
}  // namespace hutch_it
