// The order of `hutch exec` (and `hutch oci exec`), without root: the process exec adds to a
// running container runs its checklist (exec_init_steps) against the recording kernel, and the
// order of its calls is checked against the rules container_init.cpp gives it:
//   the container's namespaces (its mount namespace above all) joined before any path is
//   resolved, so the workdir, the terminal and the command are the container's, never the
//   host's; the bounding set dropped before the user changes, capset after; every fd of hutch's
//   closed before the workdir is entered; the seccomp filter the last call before execveat (but
//   for the drop of the CAP_SYS_ADMIN borrowed for it); and no mount at all: an exec'd process
//   lives in the container's tree as it is.
#include <gtest/gtest.h>

#include "launch_order.hpp"

namespace hutch {
namespace {

using namespace hutch::testing;

// `hutch exec` of `ls` in /srv as `user`, in a container run with `flags`; as launch.cpp
// builds it, a non-root user starts with no effective or permitted capabilities.
Spec exec_spec(Strings flags, std::optional<std::uint32_t> user = std::nullopt) {
    Spec spec = run_spec(std::move(flags));
    spec.process.args = {"ls", "-l"};
    spec.process.cwd = "/srv";
    if (user) {
        spec.process.user = {*user, *user, {}};
        spec.process.capabilities.effective = spec.process.capabilities.permitted = {};
    }
    return spec;
}

class ExecOrder : public LaunchOrder {};

TEST_F(ExecOrder, TheContainersNamespacesAreJoinedBeforeAnyPathIsResolved) {
    Spec spec = exec_spec({});
    spec.process.terminal = true;  // /dev/pts/ptmx: the container's devpts, not the host's
    run_exec(spec);
    ASSERT_EQ(kernel_.all("setns(").size(), 1u) << all_steps();
    int join = first_call("setns(pidfd of the container, ");
    const std::string& line = kernel_.calls()[static_cast<std::size_t>(join)].line;
    for (const char* ns : {"CLONE_NEWNS", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWCGROUP"})
        EXPECT_NE(line.find(ns), std::string::npos) << ns << " missing from " << line;
    // Every call that resolves a path: its lines start with the call's name.
    const Strings resolving = {"openat(", "openat2(", "fstatat(", "faccessat(", "readlinkat(", "mkdirat(",
                               "chdir(", "execveat("};
    const auto& calls = kernel_.calls();
    int resolved = 0;
    for (std::size_t i = 0; i < calls.size(); ++i)
        for (const auto& call : resolving)
            if (calls[i].line.rfind(call, 0) == 0) {
                ++resolved;
                EXPECT_GT(static_cast<int>(i), join) << calls[i].line << " resolves a host path\n" << all_calls();
            }
    EXPECT_GE(resolved, 4) << "ptmx, workdir, the PATH search and the exec at least\n" << all_calls();
    EXPECT_GT(first_call("openat(AT_FDCWD, \"/dev/pts/ptmx\""), join);
    EXPECT_GT(last_call("chdir(\"/srv\")"), join);
}

TEST_F(ExecOrder, TheBoundingSetIsDroppedBeforeTheUserChangesAndCapsetFollows) {
    run_exec(exec_spec({}, 1000));
    int setresuid = first("setresuid(1000, 1000, 1000)");
    EXPECT_LT(last("prctl(PR_CAPBSET_DROP"), setresuid) << all_steps();
    EXPECT_LT(first("setgroups("), first("setresgid(1000"));
    EXPECT_LT(first("setresgid(1000"), setresuid);
    EXPECT_GT(first("capset("), setresuid) << all_steps();
    // The kernel clears the parent-death signal at the uid change: set again after it.
    EXPECT_GT(last("prctl(PR_SET_PDEATHSIG, SIGKILL)"), setresuid) << all_steps();
}

TEST_F(ExecOrder, WithNoNewPrivsTheSeccompFilterIsTheLastCallBeforeExec) {
    run_exec(exec_spec({"--security-opt", "no-new-privileges"}, 1000));
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 2, steps_.size()) << all_steps();
    EXPECT_EQ(steps_.back().rfind("execveat(", 0), 0u) << steps_.back();
    EXPECT_LT(first("prctl(PR_SET_NO_NEW_PRIVS, 1)"), seccomp);
    EXPECT_LT(last("capset("), seccomp);
    EXPECT_EQ(kernel_.all("seccomp(").size(), 1u);
}

TEST_F(ExecOrder, WithoutNoNewPrivsOnlyTheDropOfTheBorrowedSysAdminFollowsTheFilter) {
    run_exec(exec_spec({}, 1000));
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 3, steps_.size()) << all_steps();
    const std::string& drop = steps_[static_cast<std::size_t>(seccomp) + 1];
    EXPECT_EQ(drop.rfind("capset(", 0), 0u) << drop;
    EXPECT_EQ(drop.find("CAP_SYS_ADMIN"), std::string::npos) << "the borrowed capability goes: " << drop;
    const std::string& borrowed = steps_[static_cast<std::size_t>(first("capset("))];
    EXPECT_NE(borrowed.find("CAP_SYS_ADMIN"), std::string::npos) << all_steps();
    EXPECT_EQ(kernel_.first("prctl(PR_SET_NO_NEW_PRIVS"), -1) << "Docker leaves no_new_privs off";
}

// CVE-2024-21626: an fd of hutch's (the pidfd it joined through, a host directory) left open
// could become the command's cwd through /proc/self/fd.
TEST_F(ExecOrder, NoFdOfHutchsSurvivesButTheSyncSocketWhichClosesOnExec) {
    run_exec(exec_spec({}));
    EXPECT_EQ(left_open(kTargetPidfd + 1), std::vector<int>{sync_.get()}) << all_steps();
    EXPECT_LT(last("close_range("), last("chdir(\"/srv\")")) << "the workdir is entered with no host fd open";
    EXPECT_LT(last("close_range("), first("capset(")) << all_steps();
}

TEST_F(ExecOrder, NothingIsMountedAndNoNamespaceIsMade) {
    Spec spec = exec_spec({"-v", "/srv/data:/data", "--tmpfs", "/scratch", "--read-only"});
    spec.process.terminal = true;
    run_exec(spec);
    for (const char* call : {"mount(", "umount2(", "pivot_root(", "unshare(", "mkdirat(", "mknodat(", "symlinkat("})
        EXPECT_EQ(kernel_.first(call), -1) << call << "\n" << all_steps();
}

// `hutch oci exec --detach`: the engine reaps the process, so it must not die with hutch.
TEST_F(ExecOrder, ADetachedExecDoesNotDieWithItsParent) {
    run_exec(exec_spec({}, 1000), true);
    EXPECT_EQ(kernel_.first("prctl(PR_SET_PDEATHSIG, SIGKILL)"), -1) << all_steps();
}

}  // namespace
}  // namespace hutch
