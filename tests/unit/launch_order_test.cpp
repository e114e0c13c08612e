// The order of a launch, without root: the container's first process (and an exec'd one) runs
// its whole checklist against the recording kernel (recording_kernel.hpp), and the order of the
// calls it made is checked against the rules the checklist exists for (container_init.cpp):
//   private propagation before the first mount; the read-only root before any other mount;
//   masks after every bind; pivot_root after the masks; capset after setresuid; the seccomp
//   filter the last call before execveat (but for the capset that drops the CAP_SYS_ADMIN kept
//   for it, when no_new_privs is off, as runc does).
// And a checklist stops where it fails: nothing runs after a failed step, or after the exec.
// (exec_order_test.cpp and oci_order_test.cpp do the same for `hutch exec` and OCI bundles.)
// A violation here is a hole in the container, which an integration test would only see if it
// looked for that one hole.
#include <gtest/gtest.h>

#include "launch_order.hpp"

namespace hutch {
namespace {

using namespace hutch::testing;

// The child's checklist for a `hutch run` spec, to its exec, against a recording kernel.
class ChildOrder : public LaunchOrder {};

TEST_F(ChildOrder, MountsArePrivateBeforeTheFirstMount) {
    run_child(run_spec({"-v", "/srv/data:/data", "--tmpfs", "/scratch"}));
    EXPECT_EQ(first("mount("), first("mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)")) << all_steps();
}

// As Docker's rw layer under a read-only root: the container's own overlay, its mount points
// made in the upper dir, then the root read-only once every mount is in, before pivot_root.
TEST_F(ChildOrder, AReadOnlyRootIsTheOverlayMadeReadOnlyAfterTheLastMount) {
    run_child(run_spec({"--read-only", "-v", "/srv/data:/data"}));
    int overlay = first("mount(\"overlay\", \"" + kMerged + "\", \"overlay\", 0, \"lowerdir=/srv/rootfs,upperdir=");
    int read_only = first("mount(NULL, \"" + kMerged + "\", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND");
    EXPECT_GT(read_only, overlay) << all_steps();
    EXPECT_GT(read_only, last("mount(\"/srv/data\"")) << all_steps();
    EXPECT_GT(read_only, last("mount(NULL, \"" + kMerged + "/proc/sys\"")) << all_steps();
    EXPECT_LT(read_only, first("pivot_root(")) << all_steps();
}

// process.scheduler and ioPriority: set while the child still holds every capability (a
// real-time policy needs CAP_SYS_NICE), so before the capabilities are set.
TEST_F(ChildOrder, SchedulerAndIoPriorityAreSetBeforeTheCapabilitiesGo) {
    Spec spec = run_spec({});
    spec.process.scheduler = Scheduler{"SCHED_BATCH", 5, 0, {}, 0, 0, 0};
    spec.process.io_priority = IoPriority{"IOPRIO_CLASS_IDLE", 0};
    run_child(spec);
    int sched = first("sched_setattr(0, {sched_policy=SCHED_BATCH, sched_flags=0, sched_nice=5, sched_priority=0}, 0)");
    int io = first("ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0))");
    EXPECT_LT(sched, first("capset(")) << all_steps();
    EXPECT_LT(io, first("capset(")) << all_steps();
    EXPECT_GT(sched, first("pivot_root(")) << all_steps();
}

// linux.memoryPolicy: set_mempolicy with the mode, its flags and the node mask, in the child.
TEST_F(ChildOrder, TheMemoryPolicyIsSetInTheChild) {
    Spec spec = run_spec({});
    spec.linux.memory_policy = MemoryPolicy{"MPOL_BIND", "0-2,5", {"MPOL_F_STATIC_NODES"}};
    run_child(spec);
    int policy = first("set_mempolicy(MPOL_BIND|MPOL_F_STATIC_NODES, [0-2,5], 1025)");
    EXPECT_GT(policy, first("pivot_root(")) << all_steps();
    EXPECT_LT(policy, first("execveat(")) << all_steps();
}

TEST_F(ChildOrder, MasksComeAfterEveryBindAndPivotRootAfterTheMasks) {
    Spec spec = run_spec({"-v", "/srv/data:/proc/acpi-cover", "-v", "/srv/more:/data", "--tmpfs", "/scratch"});
    run_child(spec);
    std::vector<int> masks = mask_mounts(spec);
    ASSERT_FALSE(masks.empty()) << all_steps();
    int last_volume = std::max(last("mount(\"/srv/data\""), last("mount(\"/srv/more\""));
    int last_tmpfs = last("mount(\"tmpfs\", \"" + kMerged + "/scratch\"");
    for (int m : masks) {
        EXPECT_GT(m, last_volume) << steps_[static_cast<std::size_t>(m)] << "\n" << all_steps();
        EXPECT_GT(m, last_tmpfs) << steps_[static_cast<std::size_t>(m)];
    }
    EXPECT_GT(first("pivot_root("), masks.back()) << all_steps();
    EXPECT_GT(first("pivot_root("), last("mount(NULL, \"" + kMerged + "/proc/sys\"")) << "read-only paths first";
}

TEST_F(ChildOrder, CapabilitiesAreSetAfterTheUserChangesAndTheBoundingSetIsDroppedBefore) {
    run_child(run_spec({"-u", "1000"}));
    EXPECT_LT(last("prctl(PR_CAPBSET_DROP"), first("setresuid(1000, 1000, 1000)")) << all_steps();
    EXPECT_LT(first("setgroups("), first("setresgid(1000"));
    EXPECT_LT(first("setresgid(1000"), first("setresuid(1000"));
    EXPECT_GT(first("capset("), first("setresuid(1000, 1000, 1000)")) << all_steps();
    EXPECT_GT(first("pivot_root("), 0);
    EXPECT_LT(first("pivot_root("), first("setresuid(1000"));
}

TEST_F(ChildOrder, WithNoNewPrivsTheSeccompFilterIsTheLastCallBeforeExec) {
    run_child(run_spec({"--security-opt", "no-new-privileges"}));
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 2, steps_.size()) << all_steps();
    EXPECT_EQ(steps_.back().rfind("execveat(\"/bin/sh\"", 0), 0u) << steps_.back();
    EXPECT_LT(first("prctl(PR_SET_NO_NEW_PRIVS, 1)"), seccomp);
    EXPECT_EQ(kernel_.all("seccomp(").size(), 1u);
}

TEST_F(ChildOrder, WithoutNoNewPrivsOnlyTheDropOfTheBorrowedSysAdminFollowsTheFilter) {
    run_child(run_spec({}));
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 3, steps_.size()) << all_steps();
    const std::string& drop = steps_[static_cast<std::size_t>(seccomp) + 1];
    EXPECT_EQ(drop.rfind("capset(", 0), 0u) << drop;
    EXPECT_EQ(drop.find("CAP_SYS_ADMIN"), std::string::npos) << "the borrowed capability goes: " << drop;
    // Until the filter CAP_SYS_ADMIN was held: the filter needs it without no_new_privs.
    int capset = kernel_.first("capset(");
    ASSERT_LT(capset, seccomp);
    EXPECT_NE(steps_[static_cast<std::size_t>(capset)].find("CAP_SYS_ADMIN"), std::string::npos) << all_steps();
    EXPECT_EQ(kernel_.first("prctl(PR_SET_NO_NEW_PRIVS"), -1) << "Docker leaves no_new_privs off";
}

TEST_F(ChildOrder, NoFdOfHutchsSurvivesAndTheWorkdirIsEnteredAfterThePivot) {
    run_child(run_spec({}));
    EXPECT_GT(first("close_range("), first("pivot_root("));
    EXPECT_LT(last("close_range("), last("chdir(")) << "the workdir is entered with no host fd open";
    EXPECT_GT(last("chdir("), first("pivot_root(")) << all_steps();
    EXPECT_LT(last("close_range("), first("capset(")) << "fds close while hutch still holds its capabilities";
}

// The exec is the end: ExecReached stands for a process that is now the command, and nothing of
// hutch's may run after it (a clean-up that catches the exec's unwinding would show here).
TEST_F(ChildOrder, NothingIsCalledAfterTheExec) {
    run_child(run_spec({}));
    const auto& calls = kernel_.calls();
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.back().line.rfind("execveat(\"/bin/sh\"", 0), 0u) << all_calls();
    EXPECT_EQ(calls.back().result, sys::Kernel::kPending) << "recorded as made, never as returned";
    EXPECT_EQ(kernel_.all("execveat(").size(), 1u);
}

// A failed step ends the checklist at once: what follows it (the pivot's clean-up, the user
// change, the privileges, the filter, the exec) never runs, and the error names the step,
// the call and errno, as the parent prints it.
TEST_F(ChildOrder, AFailedPivotRootStopsTheChecklistThere) {
    kernel_.fail("pivot_root(", EPERM);
    Outcome o = attempt_child(run_spec({"-u", "1000"}));
    EXPECT_FALSE(o.exec_reached);
    ASSERT_TRUE(o.sys_error) << o.error;
    EXPECT_EQ(o.sys_error->step(), "pivot into the root");
    EXPECT_EQ(o.sys_error->syscall(), "pivot_root");
    EXPECT_EQ(o.sys_error->error_number(), EPERM);
    EXPECT_EQ(o.error, "pivot into the root: pivot_root " + kMerged + ": Operation not permitted");
    const auto& calls = kernel_.calls();
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.back().line.rfind("pivot_root(", 0), 0u) << "a call after the failed one\n" << all_calls();
    EXPECT_EQ(calls.back().err, EPERM);
    for (const char* after : {"umount2(", "setresuid(", "capset(", "close_range(", "seccomp(", "execveat("})
        EXPECT_FALSE(any_call(after)) << after << "\n" << all_calls();
}

TEST_F(ChildOrder, AFailedCapsetStopsTheChecklistBeforeTheFilterAndTheExec) {
    kernel_.fail("capset(", EPERM);
    Outcome o = attempt_child(run_spec({"-u", "1000"}));
    ASSERT_TRUE(o.sys_error) << o.error;
    EXPECT_EQ(o.sys_error->syscall(), "capset");
    EXPECT_EQ(o.sys_error->error_number(), EPERM);
    EXPECT_FALSE(o.sys_error->step().empty());
    EXPECT_EQ(kernel_.calls().back().line.rfind("capset(", 0), 0u) << all_calls();
    for (const char* after : {"prctl(PR_CAP_AMBIENT", "seccomp(", "execveat("})
        EXPECT_FALSE(any_call(after)) << after << "\n" << all_calls();
}

TEST_F(ChildOrder, AFailedSetnsStopsAnExecBeforeItTouchesTheContainer) {
    kernel_.fail("setns(", EINVAL);
    Outcome o = attempt_exec(run_spec({}));
    ASSERT_TRUE(o.sys_error) << o.error;
    EXPECT_EQ(o.error, "join the container's namespaces: setns pidfd: Invalid argument");
    EXPECT_EQ(kernel_.calls().back().line.rfind("setns(", 0), 0u) << all_calls();
    for (const char* after : {"setsid(", "openat(", "close_range(", "chdir(", "capset(", "seccomp(", "execveat("})
        EXPECT_FALSE(any_call(after)) << after << "\n" << all_calls();
}

}  // namespace
}  // namespace hutch
