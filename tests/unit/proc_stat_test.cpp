// /proc/PID/stat's fields, counted past a command name that holds spaces and parentheses.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/proc_stat.hpp"

namespace hutch {
namespace {

TEST(ProcStat, ReadsTheFieldsPastAnAwkwardCommandName) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::prctl(PR_SET_NAME, "a) b (c");
        [[maybe_unused]] ssize_t n = ::write(ready[1], "x", 1);
        ::pause();
        ::_exit(0);
    }
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    const ProcStat stat(child);
    EXPECT_TRUE(stat.exists());
    EXPECT_EQ(stat.field(1), std::to_string(child));
    EXPECT_EQ(stat.field(2), "a) b (c");
    EXPECT_EQ(stat.field(4), std::to_string(::getpid()));
    EXPECT_FALSE(stat.field(22).empty());
    EXPECT_EQ(stat.field(99), "");
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    EXPECT_FALSE(ProcStat(child).exists());
    EXPECT_FALSE(ProcStat(-1).exists());
    EXPECT_EQ(ProcStat(0).field(4), "");
}

}  // namespace
}  // namespace hutch
