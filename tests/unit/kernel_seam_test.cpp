// The kernel seam itself (runtime/sys/kernel.hpp): how calls are described, and the recording
// backend the ordering tests rely on.
#include <gtest/gtest.h>

#include <algorithm>

#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>

#include "recording_kernel.hpp"
#include "runtime/sys/describe.hpp"

namespace hutch {
namespace {

using testing::RecordingKernel;

TEST(KernelSeam, AMountOnAnOpenedTargetIsShownByThePathItWasOpenedOn) {
    RecordingKernel k;
    open_how how{};
    how.flags = O_PATH;
    how.resolve = RESOLVE_IN_ROOT;
    int root = k.openat(AT_FDCWD, "/run/c/merged", O_PATH | O_DIRECTORY);
    int proc = k.openat2(root, "proc", how);
    std::string target = "/proc/self/fd/" + std::to_string(proc);
    ASSERT_EQ(k.mount("proc", target.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), 0);
    ASSERT_EQ(k.steps().size(), 1u) << "lookups are not steps";
    EXPECT_EQ(k.steps()[0], R"(mount("proc", "/run/c/merged/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL))");
    EXPECT_EQ(k.calls()[1].line, R"(openat2("/run/c/merged", "proc", {flags=O_PATH, resolve=RESOLVE_IN_ROOT}))");
}

TEST(KernelSeam, AScriptedFailureReachesTheCallerWithItsErrno) {
    RecordingKernel k;
    k.fail("mknodat(", EPERM);
    int dev = k.openat(AT_FDCWD, "/root/dev", O_RDONLY | O_DIRECTORY);
    errno = 0;
    EXPECT_EQ(k.mknodat(dev, "null", S_IFCHR | 0666, makedev(1, 3)), -1);
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(k.calls().back().err, EPERM);
    EXPECT_EQ(k.calls().back().line, R"(mknodat("/root/dev", "null", S_IFCHR|0666, makedev(1, 3)))");
    // Only the first matching call fails.
    EXPECT_EQ(k.mknodat(dev, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
}

TEST(KernelSeam, Openat2IsTriedAgainWhenARaceMadeItAnswerEagain) {
    RecordingKernel k;
    k.fail("openat2(", EAGAIN);
    open_how how{};
    how.flags = O_PATH;
    how.resolve = RESOLVE_IN_ROOT;
    int root = k.openat(AT_FDCWD, "/root", O_PATH | O_DIRECTORY);
    auto tries = [&k] {
        return std::count_if(k.calls().begin(), k.calls().end(),
                             [](const auto& c) { return c.line.rfind("openat2(", 0) == 0; });
    };
    EXPECT_GE(k.openat2(root, "etc/../etc/hosts", how), 0);
    EXPECT_EQ(tries(), 2);
    // Any other error is the caller's at once.
    k.fail("openat2(", ELOOP);
    EXPECT_EQ(k.openat2(root, "etc/hosts", how), -1);
    EXPECT_EQ(errno, ELOOP);
    EXPECT_EQ(tries(), 3);
}

TEST(KernelSeam, WhatWasMadeIsWhatFstatReports) {
    RecordingKernel k;
    int dev = k.openat(AT_FDCWD, "/root/dev", O_RDONLY | O_DIRECTORY);
    k.mknodat(dev, "null", S_IFCHR | 0666, makedev(1, 3));
    int null = k.openat(dev, "null", O_PATH | O_NOFOLLOW);
    struct stat st {};
    ASSERT_EQ(k.fstat(null, &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    struct statfs sf {};
    int proc = k.openat(AT_FDCWD, "/root/proc", O_PATH);
    ASSERT_EQ(k.fstatfs(proc, &sf), 0);
    EXPECT_EQ(sf.f_type, PROC_SUPER_MAGIC);
    k.missing("/root/etc/hosts");
    EXPECT_EQ(k.openat(AT_FDCWD, "/root/etc/hosts", O_PATH), -1);
    EXPECT_EQ(errno, ENOENT);
}

TEST(KernelSeam, PrivilegeCallsAreShownByName) {
    RecordingKernel k;
    k.prctl(PR_CAPBSET_DROP, 21);
    k.prctl(PR_SET_NO_NEW_PRIVS, 1);
    k.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
    k.capset(1u << 0 | 1u << 5, 1u << 0 | 1u << 5, 0);
    gid_t groups[] = {29, 50};
    k.setgroups(2, groups);
    EXPECT_EQ(k.steps(), (std::vector<std::string>{
                             "prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)",
                             "prctl(PR_SET_NO_NEW_PRIVS, 1)",
                             "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)",
                             "capset(effective=CAP_CHOWN|CAP_KILL, permitted=CAP_CHOWN|CAP_KILL, inheritable=0)",
                             "setgroups(2, [29, 50])",
                         }));
}

TEST(KernelSeam, ExecIsRecordedOnceAndEndsTheRecordedProcess) {
    RecordingKernel k;
    char arg0[] = "/bin/sh";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    EXPECT_THROW(k.execveat(AT_FDCWD, "/bin/sh", argv, envp, 0), testing::ExecReached);
    ASSERT_EQ(k.steps().size(), 1u);
    EXPECT_EQ(k.steps()[0], R"(execveat("/bin/sh", ["/bin/sh"], [0 variables], 0))");
}

TEST(KernelSeam, Clone3IsDescribedWithItsFlagsAndCgroup) {
    RecordingKernel k;
    int cgroup = k.openat(AT_FDCWD, "/sys/fs/cgroup/hutch/c1", O_PATH | O_DIRECTORY);
    clone_args args{};
    args.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_PIDFD | CLONE_INTO_CGROUP;
    args.cgroup = static_cast<std::uint64_t>(cgroup);
    args.exit_signal = SIGCHLD;
    EXPECT_GT(k.clone3(args), 0);
    EXPECT_EQ(k.steps()[0], R"(clone3({flags=CLONE_NEWNS|CLONE_NEWPID|CLONE_INTO_CGROUP|CLONE_PIDFD, )"
                            R"(cgroup="/sys/fs/cgroup/hutch/c1", exit_signal=SIGCHLD}))");
}

TEST(KernelSeam, DescribedFlagsKeepUnknownBitsVisible) {
    EXPECT_EQ(sys::mount_flags(MS_BIND | MS_REC), "MS_BIND|MS_REC");
    EXPECT_EQ(sys::mount_flags(0), "0");
    EXPECT_EQ(sys::mount_flags(MS_RDONLY | (1UL << 30)), "MS_RDONLY|0x40000000");
    EXPECT_EQ(sys::open_flags(O_RDONLY | O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
    EXPECT_EQ(sys::open_flags(O_PATH | O_NOFOLLOW), "O_PATH|O_NOFOLLOW");
    EXPECT_EQ(sys::file_mode(S_IFCHR | 0666), "S_IFCHR|0666");
    EXPECT_EQ(sys::errno_name(EPERM), "EPERM");
    EXPECT_EQ(sys::quoted("a\"b\n"), R"("a\"b\n")");
    EXPECT_EQ(sys::quoted(nullptr), "NULL");
}

}  // namespace
}  // namespace hutch
