// hutch profile's pure half (caps/least_privilege): trace lines, which capability checks count
// and which call they belong to, the split of seccomp notifications, written paths, the
// generated Docker profile, the flags and the report. The trace lines are real ones, taken from
// a `chown` run on Linux 6.18.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "caps/least_privilege.hpp"
#include "caps/seccomp_profile.hpp"

using namespace hutch::profile;
namespace caps = hutch::caps;
namespace seccomp = hutch::seccomp;

namespace {

std::string name_of(long nr) {
    switch (nr) {
    case 12: return "brk";
    case 56: return "clone";
    case 59: return "execve";
    case 72: return "fcntl";
    case 92: return "chown";
    case 257: return "openat";
    case 322: return "execveat";
    case 49: return "bind";
    case 105: return "setuid";
    default: return "nr" + std::to_string(nr);
    }
}

constexpr int kInit = 17417;
const caps::CapSet kDefault = caps::docker_default();

std::string cap_line(int pid, const char* cred, int cap, int ret, const char* comm = "chown") {
    return std::string("           ") + comm + "-" + std::to_string(pid) +
           "   [000] .....  9824.075884: cap_capable: cred " + cred +
           ", target_ns 00000000639650e9, capable_ns 00000000639650e9, cap " + std::to_string(cap) + ", ret " +
           std::to_string(ret);
}
std::string fork_line(int parent, int child) {
    return "  sh-" + std::to_string(parent) + " [000] ..... 1.0: sched_process_fork: comm=sh pid=" + std::to_string(parent) +
           " child_comm=sh child_pid=" + std::to_string(child);
}
std::string enter(int pid, long nr) {
    return "           sh-" + std::to_string(pid) + "   [001] .....  9824.075299: sys_enter: NR " + std::to_string(nr) +
           " (1200011, 0, 0, 2d82690, 0, 5e2740)";
}

CapFindings analyze(const std::vector<std::string>& lines, caps::CapSet effective = kDefault) {
    CapAnalyzer a(kInit, effective, 59, name_of);
    for (const auto& l : lines)
        if (auto e = parse_trace_line(l)) a.feed(*e);
    return a.finish();
}

}  // namespace

TEST(TraceLine, CapCapable) {
    auto e = parse_trace_line(
        "           chown-17417   [000] .....  9824.075884: cap_capable: cred 00000000b4b0aa36, target_ns "
        "00000000639650e9, capable_ns 00000000639650e9, cap 0, ret 0");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, EventKind::kCapCheck);
    EXPECT_EQ(e->pid, 17417);
    EXPECT_EQ(e->cap, 0);
    EXPECT_EQ(e->ret, 0);
    EXPECT_EQ(e->cred, "00000000b4b0aa36");
    auto denied = parse_trace_line(
        "           chown-17417   [000] .....  9824.075123: cap_capable: cred 00000000b4b0aa36, target_ns "
        "00000000639650e9, capable_ns 0000000000000000, cap 21, ret -1");
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->cap, 21);
    EXPECT_EQ(denied->ret, -1);
}

TEST(TraceLine, SysEnterExecForkAndCommsWithDashesAndSpaces) {
    auto s = parse_trace_line("  my-prog x-99 [001] .....  1.000001: sys_enter: NR 92 (2d83bc8, fffe, 0, 100, 0, 0)");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, EventKind::kSysEnter);
    EXPECT_EQ(s->pid, 99);
    EXPECT_EQ(s->nr, 92);
    auto x = parse_trace_line(
        "           chown-17417   [000] .....  9824.074831: sched_process_exec: filename=/bin/sh pid=17417 old_pid=17417");
    ASSERT_TRUE(x);
    EXPECT_EQ(x->kind, EventKind::kExec);
    EXPECT_EQ(x->filename, "/bin/sh");
    auto f = parse_trace_line(
        "           chown-17417   [000] .....  9824.075354: sched_process_fork: comm=sh pid=17417 child_comm=sh "
        "child_pid=17418");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->kind, EventKind::kFork);
    EXPECT_EQ(f->pid, 17417);
    EXPECT_EQ(f->child_pid, 17418);
    // With options/record-tgid.
    auto t = parse_trace_line("              sh-5  (      5) [000] .....  2.5: sys_enter: NR 0 (0, 0, 0, 0, 0, 0)");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->pid, 5);
}

TEST(TraceLine, OtherLinesAreIgnored) {
    EXPECT_FALSE(parse_trace_line("# tracer: nop"));
    EXPECT_FALSE(parse_trace_line(""));
    EXPECT_FALSE(parse_trace_line("CPU:1 [LOST 12 EVENTS]"));
    EXPECT_FALSE(parse_trace_line("  sh-1 [000] ..... 1.0: sched_switch: prev_comm=sh"));
    EXPECT_FALSE(parse_trace_line("  sh-1 [000] ..... 1.0: cap_capable: cred 1, cap x, ret 0"));
}

TEST(CapAnalyzer, OnlyChecksAfterTheCommandsExecveCount) {
    auto f = analyze({
        cap_line(kInit, "aaaa", 21, 0),  // hutch's setup: mounts with CAP_SYS_ADMIN
        cap_line(kInit, "aaaa", 0, 0),
        enter(kInit, 322),               // execveat of the trampoline: still hutch
        enter(kInit, 59),                // the command's execve
        enter(kInit, 92),
        cap_line(kInit, "bbbb", 0, 0),
    });
    EXPECT_TRUE(f.saw_command);
    ASSERT_EQ(f.used.size(), 1u);
    EXPECT_EQ(f.used.at(0).checks, 1);
    EXPECT_EQ(f.used.at(0).syscalls.at("chown"), 1);
    EXPECT_EQ(f.needed(), caps::bit(0));
}

TEST(CapAnalyzer, NoExecveNoChecks) {
    auto f = analyze({cap_line(kInit, "aaaa", 0, 0)});
    EXPECT_FALSE(f.saw_command);
    EXPECT_TRUE(f.used.empty());
}

TEST(CapAnalyzer, GrantsOutsideTheSetMarkTheCredentialForeign) {
    // overlayfs does the container's write with its mounter's credentials: a CAP_SYS_ADMIN grant
    // (trusted.* xattrs) the container cannot have, then a CAP_CHOWN grant on the upper file.
    auto f = analyze({
        enter(kInit, 59),
        enter(kInit, 92),
        cap_line(kInit, "bbbb", 0, 0),   // the container's own check
        cap_line(kInit, "9e1e", 0, 0),   // the overlay's, before it shows itself
        cap_line(kInit, "9e1e", 21, 0),  // granted SYS_ADMIN: not the container's credentials
        enter(kInit, 257),
        cap_line(kInit, "9e1e", 1, 0),   // DAC_OVERRIDE by the overlay: not counted
    });
    ASSERT_EQ(f.used.size(), 1u);
    EXPECT_EQ(f.used.at(0).checks, 1);
    EXPECT_EQ(f.foreign_checks, 2);
    EXPECT_EQ(f.needed(), caps::bit(0));
}

// The kernel frees an overlay's short-lived credential after the call and may give its address
// to the next credential it makes: a forked child's. That child's own grants are not the
// overlay's (seen as a flaky missing capability: `hutch profile` left CAP_CHOWN out).
TEST(CapAnalyzer, AForeignCredentialsAddressReusedByANewTasksIsNotForeign) {
    const std::string fork = fork_line(kInit, 18000);
    std::string exec = "  chown-18000 [000] ..... 1.0: sched_process_exec: filename=/bin/chown pid=18000 old_pid=18000";
    auto f = analyze({
        enter(kInit, 59),
        enter(kInit, 257),
        cap_line(kInit, "9e1e", 21, 0),  // the overlay creating a file: its copy of the mounter's
        cap_line(kInit, "9e1e", 1, 0),   // credentials, freed when the call ends
        enter(kInit, 56),
        fork,                            // the child's new credential lands at 9e1e's address
        exec,                            // and exec makes another, there again
        enter(18000, 92),
        cap_line(18000, "9e1e", 0, 0),   // chown's own CAP_CHOWN
    });
    EXPECT_EQ(f.needed(), caps::bit(0));
    EXPECT_EQ(f.foreign_checks, 1);
}

// ...and once a task has exited, its address may go to an overlay's credential: that does not
// make the task's earlier grants foreign.
TEST(CapAnalyzer, ForeignAfterATaskEndedDoesNotReachBack) {
    const std::string fork = fork_line(kInit, 18000);
    auto f = analyze({
        enter(kInit, 59),
        enter(kInit, 56),
        fork,
        enter(18000, 92),
        cap_line(18000, "cccc", 0, 0),   // the child's chown, its last event: it exits
        enter(kInit, 257),
        cap_line(kInit, "cccc", 21, 0),  // an overlay's credential, now at the child's old address
    });
    EXPECT_EQ(f.needed(), caps::bit(0));
    // The mounter's own credential stays foreign for the whole life of the task using it.
    auto g = analyze({
        enter(kInit, 59),
        enter(kInit, 92),
        cap_line(kInit, "9e1e", 0, 0),
        enter(kInit, 257),
        cap_line(kInit, "9e1e", 21, 0),
    });
    EXPECT_TRUE(g.used.empty());
    EXPECT_EQ(g.foreign_checks, 1);
}

// setuid (and the other set*id calls, setgroups, capset, unshare, setns) commit a new
// credential too: it may land where a freed foreign one was, as at fork and exec.
TEST(CapAnalyzer, ACredentialChangingCallStartsANewCredential) {
    std::string setuid_exit = "  sh-17417 [000] ..... 1.0: sys_exit: NR 105 = 0";
    auto f = analyze({
        enter(kInit, 59),
        enter(kInit, 257),
        cap_line(kInit, "9e1e", 21, 0),  // an overlay's short-lived credential, then freed
        enter(kInit, 105),
        setuid_exit,                     // the task's new credential, at 9e1e's address
        enter(kInit, 92),
        cap_line(kInit, "9e1e", 0, 0),   // its own CAP_CHOWN
    });
    EXPECT_EQ(f.needed(), caps::bit(0));
}

TEST(CapAnalyzer, DeniedAndSpeculativeChecks) {
    auto f = analyze({
        enter(kInit, 59),
        cap_line(kInit, "bbbb", 21, -1),  // during the execve: memory accounting
        enter(kInit, 12),
        cap_line(kInit, "bbbb", 21, -1),  // brk: memory accounting
        enter(kInit, 49),
        cap_line(kInit, "bbbb", 10, -1),  // bind below 1024 refused: a real denial
    });
    EXPECT_TRUE(f.used.empty());
    ASSERT_EQ(f.denied.size(), 1u);
    EXPECT_EQ(f.denied.at(10).syscalls.at("bind"), 1);
    EXPECT_EQ(f.speculative.at(21).checks, 2);
}

TEST(CapAnalyzer, AForkedChildStartsInsideItsParentsClone) {
    const std::string fork = fork_line(kInit, 18000);
    auto f = analyze({enter(kInit, 59), enter(kInit, 56), fork, cap_line(18000, "cccc", 5, 0),
                      enter(18000, 92), cap_line(18000, "cccc", 0, 0)});
    EXPECT_EQ(f.used.at(5).syscalls.at("clone"), 1);  // CAP_KILL
    EXPECT_EQ(f.used.at(0).syscalls.at("chown"), 1);
}

TEST(CapAnalyzer, ProgramsAndSyscallsAfterTheStart) {
    auto f = analyze({enter(kInit, 72), enter(kInit, 59),
                      "  sh-17417 [000] ..... 1.0: sched_process_exec: filename=/bin/sh pid=17417 old_pid=17417",
                      enter(kInit, 92), enter(kInit, 92)});
    EXPECT_EQ(f.programs, std::vector<std::string>{"/bin/sh"});
    EXPECT_EQ(f.syscalls.at("chown"), 2);
    EXPECT_EQ(f.syscalls.count("fcntl"), 0u);
}

TEST(Syscalls, SplitAtTheInitProcessesFirstExecve) {
    std::vector<Notification> seen = {{7, 0, 126, "capset"}, {7, 0, 72, "fcntl"}, {7, 0, 322, "execveat"},
                                      {7, 0, 72, "fcntl"},   {7, 0, 59, "execve"}, {7, 0, 12, "brk"},
                                      {8, 0, 59, "execve"},  {8, 0, 12, "brk"}};
    auto s = split_syscalls(seen, 7);
    EXPECT_EQ(s.runtime, (std::set<std::string>{"capset", "fcntl", "execveat", "execve"}));
    EXPECT_EQ(s.workload, (std::map<std::string, int>{{"brk", 2}, {"execve", 1}}));
    EXPECT_TRUE(s.saw_command);
}

TEST(Syscalls, TheObserversOwnHandoverIsNotARuntimeCall) {
    // The observing filter goes in first: the child closes its copy of the listener and loads
    // the spec's filter, both before that filter exists; a profile need not allow them.
    std::vector<Notification> seen = {{7, 0, 3, "close"},    {7, 0, 317, "seccomp"}, {7, 0, 126, "capset"},
                                      {7, 0, 59, "execve"},  {7, 0, 3, "close"},     {8, 0, 317, "seccomp"}};
    auto s = split_syscalls(seen, 7);
    EXPECT_EQ(s.runtime, (std::set<std::string>{"capset", "execve"}));
    EXPECT_EQ(s.workload, (std::map<std::string, int>{{"close", 1}, {"seccomp", 1}}));
    EXPECT_TRUE(s.saw_command);
}

TEST(Syscalls, ARunThatNeverExecedTheCommandSaysSo) {
    std::vector<Notification> seen = {{7, 0, 3, "close"}, {7, 0, 317, "seccomp"}, {7, 0, 231, "exit_group"}};
    auto s = split_syscalls(seen, 7);
    EXPECT_FALSE(s.saw_command);
    EXPECT_TRUE(s.workload.empty());
}

TEST(Writes, ReadOnlySufficesOnlyBelowTheTmpfsDirs) {
    EXPECT_TRUE(judge_writes({}).read_only_suffices());
    auto ok = judge_writes({"/tmp/x", "/run/a/b", "/var/tmp/y", "/tmp/x"});
    EXPECT_TRUE(ok.read_only_suffices());
    EXPECT_EQ(ok.paths.size(), 3u);
    auto no = judge_writes({"/tmp/x", "/f", "/tmpfoo", "/tmp"});
    EXPECT_FALSE(no.read_only_suffices());
    EXPECT_EQ(no.outside, (std::vector<std::string>{"/f", "/tmp", "/tmpfoo"}));
}

TEST(GeneratedProfile, KeepsOnlyTheCallsSeenWithTheirConditions) {
    const auto& base = seccomp::default_profile();
    auto p = generate_profile(base, {"read", "write", "clone", "chroot", "exit_group", "keyctl"});
    // Through JSON and back with the parser `--security-opt seccomp=FILE` uses.
    auto again = seccomp::parse_docker_profile(to_docker_json(p).dump());
    EXPECT_EQ(again, p);
    EXPECT_EQ(again.default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(again.arch_map, base.arch_map);
    std::set<std::string> named;
    bool clone_has_args = false, clone3_enosys = false;
    for (const auto& r : again.syscalls) {
        for (const auto& n : r.names) named.insert(n);
        if (r.names == std::vector<std::string>{"clone"} && r.action == "SCMP_ACT_ALLOW" && !r.args.empty())
            clone_has_args = true;
        if (r.names == std::vector<std::string>{"clone3"} && r.errno_ret == 38u) clone3_enosys = true;
    }
    EXPECT_TRUE(clone_has_args) << "clone keeps the default profile's namespace-flag filter";
    EXPECT_TRUE(clone3_enosys) << "clone3 keeps ENOSYS so libc falls back to clone";
    EXPECT_FALSE(named.count("openat"));
    EXPECT_TRUE(named.count("keyctl"));

    // Resolved for a container with no capabilities: chroot needs CAP_SYS_CHROOT, so it goes.
    auto resolved = seccomp::resolve(again, 0, {"amd64", {6, 18}});
    std::set<std::string> allowed;
    for (const auto& r : resolved.syscalls)
        if (r.action == "SCMP_ACT_ALLOW")
            for (const auto& n : r.names) allowed.insert(n);
    EXPECT_EQ(allowed, (std::set<std::string>{"read", "write", "clone", "exit_group", "keyctl"}));
}

TEST(Flags, CapDropAllThenEachNeeded) {
    EXPECT_EQ(cap_flags(0), "--cap-drop ALL");
    EXPECT_EQ(cap_flags(caps::bit(0) | caps::bit(10)), "--cap-drop ALL --cap-add CHOWN --cap-add NET_BIND_SERVICE");
}

TEST(Flags, RunLineReplacesWhatTheProfileDecides) {
    std::string line = run_line({"--network", "none", "--cap-add", "SYS_ADMIN", "--cap-drop=NET_RAW", "--privileged",
                                 "--security-opt", "seccomp=old.json", "--security-opt", "no-new-privileges",
                                 "--output", "out", "--verify", "-e", "A=b c"},
                                "--cap-drop ALL --cap-add CHOWN", "/srv/root fs", {"sh", "-c", "chown nobody /f"});
    EXPECT_EQ(line, "hutch run --network none --security-opt no-new-privileges -e 'A=b c' --cap-drop ALL --cap-add "
                    "CHOWN '/srv/root fs' sh -c 'chown nobody /f'");
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

TEST(Report, SaysWhatItSawAndHowHonestItIs) {
    Report r;
    r.command = {"chown", "nobody", "/f"};
    r.cap_source = "the tracepoint";
    r.syscall_source = "notifications";
    r.caps.used[0].checks = 1;
    r.caps.used[0].syscalls["chown"] = 1;
    r.caps.denied[10].syscalls["bind"] = 1;
    r.writes = judge_writes({"/f"});
    r.flags = "--cap-drop ALL --cap-add CHOWN";
    r.run_line = "hutch run --cap-drop ALL --cap-add CHOWN ROOTFS chown nobody /f";
    r.runs.push_back({"profiled run", 0, "out\n", ""});
    r.verified = true;
    std::string md = report_markdown(r);
    for (const char* needle : {"only as good as the run that produced it", "| CAP_CHOWN | chown |",
                               "CAP_NET_BIND_SERVICE in bind", "`/f`", "would not suffice", "profiled run: exit status 0",
                               "**Verify:** the same", "hutch run --cap-drop ALL --cap-add CHOWN"})
        EXPECT_NE(md.find(needle), std::string::npos) << needle << "\n" << md;
    std::string text = summary_text(r);
    for (const char* needle : {"used    CAP_CHOWN in chown", "denied  CAP_NET_BIND_SERVICE in bind",
                               "--read-only would not suffice", "verify: same", "flags: --cap-drop ALL --cap-add CHOWN"})
        EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}

// Issue 16: the limits proposed from the profiled run's peaks, and how the report shows them.
TEST(Limits, HeadroomRule) {
    constexpr std::int64_t MiB = 1024 * 1024;
    EXPECT_EQ(proposed_memory(20 * MiB), 30 * MiB);
    EXPECT_EQ(proposed_memory(20 * MiB + 1), 31 * MiB);  // x1.5 rounded up to a whole MiB
    EXPECT_EQ(proposed_memory(1), 6 * MiB);              // Docker's minimum
    EXPECT_EQ(proposed_memory(0), 6 * MiB);
    EXPECT_EQ(proposed_pids(1), 16);
    EXPECT_EQ(proposed_pids(8), 16);
    EXPECT_EQ(proposed_pids(9), 18);
}

TEST(Limits, FlagsProposeOnlyWhatWasMeasuredAndNotGiven) {
    ResourceUsage u;
    EXPECT_EQ(resource_flags(u), "");
    u.memory_peak = 21 * 1024 * 1024;
    u.pids_peak = 6;
    EXPECT_EQ(resource_flags(u), " --memory 32m --pids-limit 16");
    u.memory_given = "64m";
    EXPECT_EQ(resource_flags(u), " --pids-limit 16");
    u.pids_given = "50";
    EXPECT_EQ(resource_flags(u), "");
}

TEST(Limits, ReportShowsPeaksSourcesAndProposals) {
    Report r;
    r.usage.memory_peak = 21 * 1024 * 1024 + 400 * 1024;
    r.usage.memory_source = "memory.max_usage_in_bytes, cgroup v1";
    r.usage.pids_source = "the container has no pids cgroup on this host";
    std::string text = summary_text(r);
    EXPECT_NE(text.find("memory: peak 21.4 MiB (memory.max_usage_in_bytes, cgroup v1): --memory 33m"),
              std::string::npos) << text;
    EXPECT_NE(text.find("pids: not measured (the container has no pids cgroup on this host)"), std::string::npos)
        << text;
    r.usage.memory_given = "64m";
    EXPECT_NE(report_markdown(r).find("- memory: peak 21.4 MiB (memory.max_usage_in_bytes, cgroup v1): --memory 64m as given"),
              std::string::npos) << report_markdown(r);
}

TEST(SeccompLog, RecordsOfLoggedCallsAndTheGapsBetweenThem) {
    auto r = parse_seccomp_log(
        "audit: type=1326 audit(1795892166.923:14): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=9237 "
        "comm=\"true\" exe=\"/bin/busybox\" sig=0 arch=c000003e syscall=12 compat=0 ip=0x49641b code=0x7ffc0000");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pid, 9237);
    EXPECT_EQ(r->arch, 0xc000003eu);
    EXPECT_EQ(r->nr, 12);
    EXPECT_EQ(r->serial, 14u);
    // A kill is audited too, but it is no call that ran.
    EXPECT_FALSE(parse_seccomp_log("audit: type=1326 audit(1.2:15): pid=1 arch=c000003e syscall=12 code=0x80000000"));
    EXPECT_FALSE(parse_seccomp_log("audit: type=1400 audit(1.2:15): apparmor=\"DENIED\""));
    std::vector<Notification> seen = {{1, 0, 0, "", 14}, {1, 0, 0, "", 15}, {1, 0, 0, "", 19}, {1, 0, 0, "", 20}};
    EXPECT_EQ(missing_records(seen), 3u);
}

TEST(CapAnalyzer, ARefusalCountsOnlyWhenTheCallFailed) {
    auto exit_line = [](int pid, long nr, long result) {
        return "  sh-" + std::to_string(pid) + " [000] ..... 1.0: sys_exit: NR " + std::to_string(nr) + " = " +
               std::to_string(result);
    };
    auto e = parse_trace_line(exit_line(kInit, 92, -1));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, EventKind::kSysExit);
    EXPECT_EQ(e->result, -1);
    auto f = analyze({enter(kInit, 59),
                      enter(kInit, 257), cap_line(kInit, "bbbb", 2, -1), exit_line(kInit, 257, 3),  // opened anyway
                      enter(kInit, 92), cap_line(kInit, "bbbb", 0, -1), exit_line(kInit, 92, -1)});  // EPERM
    EXPECT_EQ(f.denied.size(), 1u);
    EXPECT_EQ(f.denied.at(0).syscalls.at("chown"), 1);
    EXPECT_EQ(f.speculative.at(2).syscalls.at("openat"), 1);
}

TEST(CapAnalyzer, SysAdminInMemoryAccountingIsNeverAUse) {
    // --privileged: the reserve check is granted, and still no reason to keep CAP_SYS_ADMIN.
    auto f = analyze({enter(kInit, 59), enter(kInit, 12), cap_line(kInit, "bbbb", 21, 0)}, ~caps::CapSet{0});
    EXPECT_TRUE(f.used.empty());
    EXPECT_EQ(f.speculative.at(21).checks, 1);
}
