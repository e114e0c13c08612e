// Restart policies (runtime/restart.hpp): Docker's words for bad --restart values, and
// moby's restartmanager decisions and back-off, step by step.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/restart.hpp"
#include "test_helpers.hpp"

namespace hutch::restart {
namespace {

using std::chrono::milliseconds;

std::string refusal(const std::string& text) {
    try {
        parse(text);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

TEST(RestartPolicy, ParsesDockersForms) {
    EXPECT_EQ(parse(""), (RestartPolicy{"no", 0}));
    EXPECT_EQ(parse("no"), (RestartPolicy{"no", 0}));
    EXPECT_EQ(parse("always"), (RestartPolicy{"always", 0}));
    EXPECT_EQ(parse("unless-stopped"), (RestartPolicy{"unless-stopped", 0}));
    EXPECT_EQ(parse("on-failure"), (RestartPolicy{"on-failure", 0}));
    EXPECT_EQ(parse("on-failure:5"), (RestartPolicy{"on-failure", 5}));
    EXPECT_EQ(describe(parse("on-failure:5")), "on-failure:5");
    EXPECT_EQ(describe(parse("always")), "always");
}

TEST(RestartPolicy, RefusesWhatDockerRefusesNamingTheValue) {
    EXPECT_NE(refusal("sometimes").find("invalid restart policy \"sometimes\""), std::string::npos);
    EXPECT_NE(refusal("always:3").find("maximum retry count cannot be used with restart policy 'always'"),
              std::string::npos);
    EXPECT_NE(refusal("on-failure:-1").find("cannot be negative"), std::string::npos);
    EXPECT_NE(refusal("on-failure:x").find("must be an integer"), std::string::npos);
    EXPECT_NE(refusal("on-failure:").find("must be an integer"), std::string::npos);
    EXPECT_NE(refusal("on-failure:99999999999").find("must be an integer"), std::string::npos);
}

TEST(RestartManager, BackOffDoublesFrom100MsToAMinuteAndResetsAfterTenSeconds) {
    Manager m(parse("always"));
    const milliseconds quick(50);
    EXPECT_EQ(m.after_exit(0, false, quick), milliseconds(100));
    EXPECT_EQ(m.after_exit(0, false, quick), milliseconds(200));
    EXPECT_EQ(m.after_exit(0, false, quick), milliseconds(400));
    for (int i = 0; i < 20; ++i) m.after_exit(0, false, quick);
    EXPECT_EQ(m.after_exit(0, false, quick), milliseconds(60000));
    EXPECT_EQ(m.after_exit(0, false, milliseconds(10000)), milliseconds(100));
    EXPECT_EQ(m.count(), 25);
}

TEST(RestartManager, OnFailureRestartsNonZeroExitsUpToItsCount) {
    Manager m(parse("on-failure:2"));
    EXPECT_FALSE(m.after_exit(0, false, milliseconds(1)));
    EXPECT_TRUE(m.after_exit(1, false, milliseconds(1)));
    EXPECT_TRUE(m.after_exit(137, false, milliseconds(1)));
    EXPECT_FALSE(m.after_exit(1, false, milliseconds(1)));
    EXPECT_EQ(m.count(), 2);
    Manager unlimited(parse("on-failure"), 1000);
    EXPECT_TRUE(unlimited.after_exit(1, false, milliseconds(1)));
}

TEST(RestartManager, UserStopsOnlyHoldUnlessStopped) {
    EXPECT_TRUE(Manager(parse("always")).after_exit(143, true, milliseconds(1)));
    EXPECT_FALSE(Manager(parse("unless-stopped")).after_exit(143, true, milliseconds(1)));
    EXPECT_TRUE(Manager(parse("unless-stopped")).after_exit(0, false, milliseconds(1)));
    EXPECT_FALSE(Manager(parse("no")).after_exit(1, false, milliseconds(1)));
}

TEST(RestartManager, AtBootAsDockerdDecides) {
    EXPECT_TRUE(restart_at_boot(parse("always"), 137, true, 0));
    EXPECT_FALSE(restart_at_boot(parse("unless-stopped"), 137, true, 0));
    EXPECT_TRUE(restart_at_boot(parse("unless-stopped"), 255, false, 0));
    EXPECT_FALSE(restart_at_boot(parse("on-failure"), 0, false, 0));
    EXPECT_FALSE(restart_at_boot(parse("on-failure:3"), 1, false, 3));
    EXPECT_FALSE(restart_at_boot(parse("no"), 1, false, 0));
}

class RestartFiles : public ::testing::Test {
protected:
    hutch::test::TempDir tmp_{"hutch-restart"};
    const std::string dir_ = tmp_.path();
};

TEST_F(RestartFiles, RequestIsTakenOnceAndExitIsNeverWeakened) {
    EXPECT_EQ(take_request(dir_), Request::kNone);
    request(dir_, Request::kManual);
    EXPECT_EQ(take_request(dir_), Request::kManual);
    EXPECT_EQ(take_request(dir_), Request::kNone);
    request(dir_, Request::kExit);
    request(dir_, Request::kManual);
    EXPECT_EQ(take_request(dir_), Request::kExit);
}

TEST_F(RestartFiles, WaitEndsEarlyOnARequestAndRunsOutWithout) {
    EXPECT_EQ(wait_delay(dir_, milliseconds(30), -1), Wait::kElapsed);
    // One that arrives while it waits (inotify), and one already there.
    std::thread stopper([this] {
        std::this_thread::sleep_for(milliseconds(100));
        request(dir_, Request::kExit);
    });
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(wait_delay(dir_, milliseconds(60000), -1), Wait::kRequest);
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
    EXPECT_EQ(peek_request(dir_), Request::kExit);
    EXPECT_EQ(wait_delay(dir_, milliseconds(60000), -1), Wait::kRequest);
    EXPECT_EQ(take_request(dir_), Request::kExit);
    EXPECT_EQ(peek_request(dir_), Request::kNone);
}

TEST_F(RestartFiles, AUsersMarkEndsTheBackOffOfUnlessStoppedAlone) {
    bool by_user = false;
    request(dir_, Request::kManual);
    EXPECT_TRUE(wait_to_restart(parse("always"), dir_, milliseconds(50), -1, by_user));
    EXPECT_TRUE(by_user);
    by_user = false;
    request(dir_, Request::kManual);
    EXPECT_FALSE(wait_to_restart(parse("unless-stopped"), dir_, milliseconds(60000), -1, by_user));
    EXPECT_TRUE(by_user);
    request(dir_, Request::kExit);
    EXPECT_FALSE(wait_to_restart(parse("always"), dir_, milliseconds(60000), -1, by_user));
    EXPECT_EQ(peek_request(dir_), Request::kNone);
}

TEST_F(RestartFiles, ConcurrentRequestsNeitherFailNorLoseAnExit) {
    std::vector<std::thread> writers;
    for (int i = 0; i < 8; ++i)
        writers.emplace_back([this, i] { request(dir_, i % 2 ? Request::kManual : Request::kExit); });
    for (auto& w : writers) w.join();
    EXPECT_EQ(take_request(dir_), Request::kExit);
    // No temp file of a writer is left.
    std::string left = "";
    for (const auto& e : std::filesystem::directory_iterator(dir_)) left += e.path().filename().string() + " ";
    EXPECT_EQ(left, "");
    // A removed container's runtime dir: nothing to stop, no error.
    EXPECT_NO_THROW(request(dir_ + "/gone", Request::kExit));
}

TEST_F(RestartFiles, LastRunRoundTripsAndForeignTextIsIgnored) {
    EXPECT_FALSE(read_last_run(dir_));
    record_last_run(dir_, {.running = true});
    auto last = read_last_run(dir_);
    ASSERT_TRUE(last);
    EXPECT_TRUE(last->running);
    EXPECT_EQ(last->exit_code, 255);
    record_last_run(dir_, {.running = false, .exit_code = 143, .restart_count = 3, .stopped_by_user = true});
    last = read_last_run(dir_);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->exit_code, 143);
    EXPECT_EQ(last->restart_count, 3);
    EXPECT_TRUE(last->stopped_by_user);
    for (const char* foreign : {"exited 999 0\n", "exited 4294967297 0\n", "exited 1 0 junk\n", "exited 1\n",
                                "exited -1 0\n", "exited 1 0", "garbage"}) {
        std::ofstream(dir_ + "/last-run") << foreign;
        EXPECT_FALSE(read_last_run(dir_)) << foreign;
    }
}

}  // namespace
}  // namespace hutch::restart
