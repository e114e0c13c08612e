// hutch profile (issue 7): real workloads profiled on the busybox rootfs, the generated flags and
// seccomp profile applied with `hutch run`, the machine's tracing state left as it was, the
// replay fallback, bad input.
//
// Nothing here changes a host setting: the trace lives in hutch's own tracefs instance, pings go
// to the loopback of a container with --network none, chown acts on a file in the container's
// own writable layer.
#include <dirent.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "caps/seccomp_profile.hpp"
#include "harness.hpp"

namespace hutch_it {
namespace {

// The machine's tracefs as hutch reaches it (runtime/profile/tracefs.cpp): a detached mount of
// its one superblock, so the tests need not find it mounted at /sys/kernel/tracing, which some
// machines do not have. The fd stays open for the test binary's life.
const std::string& tracing() {
    static const std::string path = [] {
        int fs = static_cast<int>(::syscall(SYS_fsopen, "tracefs", FSOPEN_CLOEXEC));
        if (fs < 0) return std::string("/sys/kernel/tracing");
        int mnt = -1;
        if (::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0)
            mnt = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0));
        ::close(fs);
        return mnt < 0 ? std::string("/sys/kernel/tracing") : "/proc/self/fd/" + std::to_string(mnt);
    }();
    return path;
}

// The --cap-add values of a flags line.
Strings cap_adds(const std::string& flags) {
    Strings out, words;
    std::istringstream in(flags);
    std::string w;
    while (in >> w) words.push_back(w);
    for (std::size_t i = 0; i + 1 < words.size(); ++i)
        if (words[i] == "--cap-add") out.push_back(words[i + 1]);
    return out;
}

Strings instances() { return list_dir(tracing() + "/instances"); }

class ProfileIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        out_ = std::make_unique<TempDir>();
    }
    // `hutch profile --network none [opts] --output DIR ROOTFS CMD...`
    Result profile(const Strings& opts, const Strings& cmd, const SpawnOptions& so = {}) {
        Strings args = {"profile", "--network", "none"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.insert(args.end(), {"--output", dir(), rootfs_});
        args.insert(args.end(), cmd.begin(), cmd.end());
        return roots_.hutch(args, so);
    }
    std::string dir() const { return out_->path() + "/out"; }
    std::string flags() const { return trim(read_file(dir() + "/flags.txt")); }
    // `run --network none [the generated flags] ROOTFS CMD...`
    Result run_with_flags(const std::string& flag_line, const Strings& cmd) {
        Strings args = {"--network", "none"};
        std::istringstream words(flag_line);
        for (std::string w; words >> w;) args.push_back(w);
        return run(args, cmd);
    }
    bool has_tracepoint() const { return path_exists(tracing() + "/events/capability/cap_capable"); }
    std::unique_ptr<TempDir> out_;
};

// A notification makes any call interruptible, and a call that never blocks failing with EINTR
// hung busybox ash (its rt_sigprocmask failed, so it waited in sigsuspend with every signal
// blocked). The signal-mask calls go unnotified: the report does not see them, and the
// profile allows them anyway.
TEST_F(ProfileIntegration, SignalMaskCallsAreNotNotifiedAndAlwaysAllowed) {
    Result r = profile({}, {"sh", "-c", "sleep 0.1 & wait"});
    ASSERT_EXIT_CODE(r, 0);
    std::string report = read_file(dir() + "/report.md");
    EXPECT_NE(report.find("rt_sigsuspend("), std::string::npos) << "the shell's wait is observed: " << report;
    EXPECT_EQ(report.find("rt_sigprocmask("), std::string::npos) << report;
    std::string profile_json = read_file(dir() + "/profile.json");
    for (const char* call : {"rt_sigprocmask", "rt_sigaction", "rt_sigreturn"})
        EXPECT_NE(profile_json.find(std::string("\"") + call + "\""), std::string::npos) << call;
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(ProfileIntegration, ChownToNobodyNeedsExactlyChown) {
    if (!has_tracepoint()) GTEST_SKIP() << "the kernel has no capability:cap_capable tracepoint";
    Result r = profile({}, {"sh", "-c", "touch /f && chown nobody /f"});  // = `check` below
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(cap_adds(flags()), Strings{"CHOWN"}) << flags() << "\n" << r.out;
    EXPECT_NE(r.out.find("used    CAP_CHOWN in chown"), std::string::npos) << r.out;
    // /f is outside the tmpfs mounts --read-only adds.
    EXPECT_EQ(flags().find("--read-only"), std::string::npos) << flags();
    std::string report = read_file(dir() + "/report.md");
    EXPECT_NE(report.find("| CAP_CHOWN | chown |"), std::string::npos) << report;
    EXPECT_NE(report.find("- `/f`"), std::string::npos) << report;
    EXPECT_NE(report.find("only as good as the run"), std::string::npos);
    EXPECT_EQ(roots_.leftovers(), Strings{});

    // The proof: under the generated flags the workload runs; with no capability it cannot.
    // (The profile covers this workload only: the same command, nothing added.)
    const Strings check = {"sh", "-c", "touch /f && chown nobody /f"};
    Result ok = run_with_flags(flags(), check);
    EXPECT_EXIT_CODE(ok, 0);
    EXPECT_EQ(ok.err, "") << describe(ok);
    Result bare = run({"--network", "none", "--cap-drop", "ALL"}, check);
    EXPECT_NE(bare.code, 0) << describe(bare);
    EXPECT_NE(bare.err.find("Operation not permitted"), std::string::npos) << describe(bare);
}

// hutch in a pid namespace of its own whose /proc is that namespace's (unshare --pid
// --mount-proc): NSpid shows one pid there, yet the trace's pid filter takes the initial
// namespace's numbers. It fell to "the profiled run never reached the command's execve"; it
// now knows the namespace is not the initial one and profiles by replays.
TEST_F(ProfileIntegration, InANestedPidNamespaceWithItsOwnProcItReplays) {
    Strings argv = {"unshare", "--pid", "--fork", "--mount-proc", "--mount", "--propagation", "private", hutch_binary()};
    Strings hutch = roots_.hutch_args({"profile", "--network", "none", "--output", dir(), rootfs_, "sh", "-c",
                                       "touch /f && chown nobody /f"});
    argv.insert(argv.end(), hutch.begin(), hutch.end());
    Result r = run_command(argv);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("nested pid namespace"), std::string::npos) << r.out;
    EXPECT_EQ(cap_adds(flags()), Strings{"CHOWN"}) << flags() << "\n" << r.out;
}

TEST_F(ProfileIntegration, RawPingNeedsNetRaw) {
    if (!has_tracepoint()) GTEST_SKIP() << "the kernel has no capability:cap_capable tracepoint";
    // busybox ping opens a raw ICMP socket. (Binding :80 needs no capability any more: hutch sets
    // Docker's net.ipv4.ip_unprivileged_port_start=0 in the container's network namespace.)
    const Strings check = {"sh", "-c", "ping -c1 -W1 127.0.0.1 >/dev/null && echo pinged"};
    Result r = profile({}, check);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(cap_adds(flags()), Strings{"NET_RAW"}) << flags() << "\n" << r.out;
    EXPECT_NE(r.out.find("CAP_NET_RAW in socket"), std::string::npos) << r.out;

    Result ok = run_with_flags(flags(), check);
    EXPECT_EXIT_CODE(ok, 0);
    EXPECT_EQ(ok.out, "pinged\n") << describe(ok);
    Result bare = run({"--network", "none", "--cap-drop", "ALL"}, check);
    EXPECT_NE(bare.code, 0) << describe(bare);
    EXPECT_NE(bare.err.find("permission denied"), std::string::npos) << describe(bare);
}

TEST_F(ProfileIntegration, ProfilingUnderAGeneratedProfileWorks) {
    // The observing filter goes in before the spec's: a profile that allows neither seccomp nor
    // sendmsg still lets hutch profile under it, and the result runs the workload the same.
    Result first = profile({"--cap-add", "CHOWN"}, {"sh", "-c", "echo ok"});
    ASSERT_EXIT_CODE(first, 0);
    const std::string generated = out_->path() + "/generated.json";
    ASSERT_EQ(::rename((dir() + "/profile.json").c_str(), generated.c_str()), 0);
    Result again = profile({"--cap-add", "CHOWN", "--security-opt", "seccomp=" + generated, "--verify"},
                           {"sh", "-c", "echo ok"});
    ASSERT_EXIT_CODE(again, 0);
    EXPECT_NE(again.out.find("verify: same exit status and output"), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("runs seen: profiled run (exit 0)"), std::string::npos) << again.out;
    // The observer's own handover (close, seccomp) is not in the new profile.
    std::set<std::string> names;
    for (const auto& rule : hutch::seccomp::parse_docker_profile(read_file(dir() + "/profile.json")).syscalls)
        if (rule.action == "SCMP_ACT_ALLOW") names.insert(rule.names.begin(), rule.names.end());
    EXPECT_TRUE(names.count("execve"));
    EXPECT_FALSE(names.count("seccomp")) << read_file(dir() + "/profile.json");
}

TEST_F(ProfileIntegration, ARunThatNeverReachedTheCommandFailsAndWritesNothing) {
    // A profile without capset: hutch's capability drop after the filter would fail, which
    // hutch finds before the filter goes in (caps/seccomp_eval.hpp) and says, 126; the command
    // never runs. That is no profile to write, nor a run to verify.
    Result first = profile({}, {"true"});
    ASSERT_EXIT_CODE(first, 0);
    nlohmann::json j = nlohmann::json::parse(read_file(dir() + "/profile.json"));
    for (auto& rule : j["syscalls"]) {
        auto& names = rule["names"];
        names.erase(std::remove(names.begin(), names.end(), "capset"), names.end());
    }
    const std::string broken = out_->path() + "/no-capset.json";
    write_file(broken, j.dump());
    ASSERT_EQ(::rename(dir().c_str(), (out_->path() + "/first").c_str()), 0);
    Result r = profile({"--security-opt", "seccomp=" + broken, "--verify"}, {"true"});
    EXPECT_EXIT_CODE(r, 126);
    EXPECT_NE(r.err.find("the seccomp profile blocks capset"), std::string::npos) << describe(r);
    EXPECT_EQ(r.out.find("verify: same"), std::string::npos) << r.out;
    EXPECT_FALSE(path_exists(dir())) << "something was written";
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(ProfileIntegration, TrueNeedsNoCapabilityAndARead_onlyRoot) {
    if (!has_tracepoint()) GTEST_SKIP() << "the kernel has no capability:cap_capable tracepoint";
    Result r = profile({}, {"true"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(cap_adds(flags()), Strings{}) << flags();
    EXPECT_EQ(flags().rfind("--cap-drop ALL --security-opt seccomp=", 0), 0u) << flags();
    EXPECT_NE(flags().find("--read-only"), std::string::npos) << flags();
    EXPECT_NE(r.out.find("used: none"), std::string::npos) << r.out;
}

TEST_F(ProfileIntegration, ARefusedCheckIsReportedAsDenied) {
    if (!has_tracepoint()) GTEST_SKIP() << "the kernel has no capability:cap_capable tracepoint";
    Result r = profile({"--cap-drop", "CHOWN"}, {"sh", "-c", "touch /f; chown nobody /f; echo rc=$?"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(cap_adds(flags()), Strings{}) << flags();
    EXPECT_NE(r.out.find("denied  CAP_CHOWN in chown"), std::string::npos) << r.out;
}

TEST_F(ProfileIntegration, WithSysAdminInTheSetOverlayChecksAreWeededOutByReplays) {
    if (!has_tracepoint()) GTEST_SKIP() << "the kernel has no capability:cap_capable tracepoint";
    // Writing the overlay makes overlayfs check CAP_SYS_ADMIN (trusted.* xattrs) with its own
    // credentials, which hold what this container holds: only a run without it tells.
    Result r = profile({"--cap-add", "SYS_ADMIN"}, {"sh", "-c", "touch /f && echo done"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(cap_adds(flags()), Strings{}) << flags() << "\n" << r.out;
    EXPECT_NE(r.out.find("without CAP_SYS_ADMIN"), std::string::npos) << r.out;
}

TEST_F(ProfileIntegration, VerifyPassesAndTheProfileBlocksWhatTheWorkloadNeverCalled) {
    // cat is not the script's last command, so sh forks for it: the run below forks for mkdir too.
    const std::string workload = "echo hello > /tmp/greeting && cat /tmp/greeting; true";
    Result r = profile({"--verify"}, {"sh", "-c", workload});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("verify: same exit status and output"), std::string::npos) << r.out;
    // The write is under /tmp: --read-only with its tmpfs mounts does.
    EXPECT_NE(flags().find("--read-only"), std::string::npos) << flags();
    std::string profile_json = read_file(dir() + "/profile.json");
    // Docker's format, as the parser behind --security-opt seccomp=FILE reads it.
    hutch::seccomp::DockerProfile parsed;
    ASSERT_NO_THROW(parsed = hutch::seccomp::parse_docker_profile(profile_json)) << profile_json;
    std::set<std::string> names;
    for (const auto& rule : parsed.syscalls)
        if (rule.action == "SCMP_ACT_ALLOW") names.insert(rule.names.begin(), rule.names.end());
    for (const char* call : {"execve", "write", "openat"}) EXPECT_TRUE(names.count(call)) << call;
    EXPECT_FALSE(names.count("mkdir") || names.count("mkdirat")) << profile_json;

    // Under exactly these flags, the workload runs; a call it never made (mkdir) fails with EPERM.
    Strings args = {"--network", "none"};
    std::istringstream words(flags());
    std::string w;
    while (words >> w) args.push_back(w);
    Result ok = run(args, {"sh", "-c", workload});
    EXPECT_EXIT_CODE(ok, 0);
    EXPECT_EQ(ok.out, "hello\n");
    Result blocked = run(args, {"sh", "-c", "echo hello > /tmp/greeting && cat /tmp/greeting; mkdir /tmp/d"});
    EXPECT_NE(blocked.code, 0) << describe(blocked);
    EXPECT_EQ(blocked.out, "hello\n");
    EXPECT_NE(blocked.err.find("can't create directory '/tmp/d': Operation not permitted"), std::string::npos)
        << describe(blocked);
}

TEST_F(ProfileIntegration, VerifySaysSoWhenTheWorkloadBehavesDifferently) {
    // The workload prints a different number each run: no profile can make it behave the same.
    Result r = profile({"--verify"}, {"sh", "-c", "cat /proc/sys/kernel/random/uuid"});
    EXPECT_EXIT_CODE(r, 1);
    EXPECT_NE(r.out.find("verify: DIFFERENT"), std::string::npos) << r.out;
}

TEST_F(ProfileIntegration, TheMachinesTracingStateIsUnchanged) {
    if (!has_tracepoint()) GTEST_SKIP() << "the kernel has no capability:cap_capable tracepoint";
    const std::string t = tracing();
    const Strings files = {"tracing_on", "set_event_pid", "set_event", "trace_clock", "buffer_size_kb",
                           "options/event-fork", "events/capability/cap_capable/enable",
                           "events/capability/cap_capable/filter", "events/raw_syscalls/sys_enter/enable",
                           "events/raw_syscalls/sys_enter/filter", "events/raw_syscalls/sys_exit/enable", "events/sched/sched_process_exec/enable",
                           "events/sched/sched_process_fork/enable"};
    std::map<std::string, std::string> before;
    for (const auto& f : files) before[f] = read_file(t + "/" + f);
    Strings instances_before = instances();

    Strings argv = {hutch_binary()};
    Strings args = roots_.hutch_args({"profile", "--network", "none", rootfs_, "sh", "-c", "touch /f; chown nobody /f"});
    argv.insert(argv.end(), args.begin(), args.end());
    Process p = Process::spawn(argv);
    struct stat ns {};
    ASSERT_EQ(::stat("/proc/self/ns/pid", &ns), 0);
    const std::string mine = "hutch-profile-" + std::to_string(ns.st_ino) + "-" + std::to_string(p.pid()) + "-";
    Result r = p.wait();
    ASSERT_EXIT_CODE(r, 0);

    for (const auto& f : files) EXPECT_EQ(read_file(t + "/" + f), before[f]) << f;
    // Other tests may profile in parallel: this run's instance is gone, and no other was touched.
    for (const auto& name : instances()) EXPECT_NE(name.rfind(mine, 0), 0u) << name << " was left behind";
    for (const auto& name : instances_before) {
        bool hutchs = name.rfind("hutch-profile-", 0) == 0;
        EXPECT_TRUE(hutchs || path_exists(t + "/instances/" + name)) << name;
    }
}

TEST_F(ProfileIntegration, WithoutTheTracepointCapabilitiesComeFromReplays) {
    SpawnOptions so;
    so.extra_env = {"HUTCH_PROFILE_NO_TRACEPOINT=1"};
    // The owner alone: `ls -n` also printed the file's minute, and a replay in the next minute
    // "differed" without any capability taken away.
    Result r = profile({"--verify"}, {"sh", "-c", "touch /f; chown nobody /f; stat -c %u /f"}, so);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(cap_adds(flags()), Strings{"CHOWN"}) << flags() << "\n" << r.out;
    EXPECT_NE(r.out.find("replaying"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("without CAP_CHOWN"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verify: same"), std::string::npos) << r.out;
    std::string report = read_file(dir() + "/report.md");
    EXPECT_NE(report.find("the tracepoint was not used"), std::string::npos) << report;
}

// --- resources (issue 16) -----------------------------------------------------------------------

// Whether the kernel has the controller at all (/proc/cgroups' enabled column): profile measures
// with it wherever it is mounted, v1 or cgroup2.
bool controller_enabled(const std::string& name) {
    std::istringstream lines(read_file("/proc/cgroups"));
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream f(line);
        std::string n, hierarchy, count, enabled;
        if (f >> n >> hierarchy >> count >> enabled && n == name) return enabled == "1";
    }
    return false;
}

// The number after `key` ("--memory 33m" -> 33); -1 when absent.
long number_after(const std::string& text, const std::string& key) {
    auto at = text.find(key);
    return at == std::string::npos ? -1 : std::atol(text.c_str() + at + key.size());
}

// ~20 MiB in one buffer (dd's bs), then 5 sleeps alive at once beside the shell.
const Strings kHungryWorkload = {
    "sh", "-c", "dd if=/dev/zero of=/dev/null bs=20M count=1 2>/dev/null; for i in 1 2 3 4 5; do sleep 1 & done; wait"};

TEST_F(ProfileIntegration, PeakMemoryAndPidsBecomeProposedLimits) {
    for (const char* c : {"memory", "pids"})
        if (!controller_enabled(c)) GTEST_SKIP() << "the kernel has no " << c << " cgroup controller";
    Result r = profile({}, kHungryWorkload);
    ASSERT_EXIT_CODE(r, 0);
    // The report: "memory: peak 21.4 MiB (...)", "pids: peak 6 (...)".
    EXPECT_GE(number_after(r.out, "memory: peak "), 20) << r.out;
    EXPECT_GE(number_after(r.out, "pids: peak "), 6) << r.out;
    // flags.txt: peak x1.5 in whole MiB (>= 30m for 20 MiB), pids x2 at least 16.
    EXPECT_GE(number_after(flags(), "--memory "), 30) << flags();
    EXPECT_GE(number_after(flags(), "--pids-limit "), 16) << flags();
    std::string report = read_file(dir() + "/report.md");
    EXPECT_NE(report.find("## Resources"), std::string::npos) << report;
    EXPECT_NE(report.find("memory: peak "), std::string::npos) << report;
    EXPECT_EQ(roots_.leftovers(), Strings{});

    // The workload runs under exactly the proposed flags, limits included.
    Result ok = run_with_flags(flags(), kHungryWorkload);
    EXPECT_EXIT_CODE(ok, 0);
}

// The user's limits bound the profiled run: kept as typed (the run line has them), not proposed
// again, and the peaks are reported all the same.
TEST_F(ProfileIntegration, GivenLimitsAreKeptAndThePeaksStillReported) {
    for (const char* c : {"memory", "pids"})
        if (!controller_enabled(c)) GTEST_SKIP() << "the kernel has no " << c << " cgroup controller";
    Result r = profile({"--memory", "64m", "--pids-limit", "50"}, kHungryWorkload);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_GE(number_after(r.out, "memory: peak "), 20) << r.out;
    EXPECT_GE(number_after(r.out, "pids: peak "), 6) << r.out;
    EXPECT_NE(r.out.find("--memory 64m as given"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--pids-limit 50 as given"), std::string::npos) << r.out;
    EXPECT_EQ(flags().find("--memory"), std::string::npos) << flags();
    EXPECT_EQ(flags().find("--pids-limit"), std::string::npos) << flags();
    std::string report = read_file(dir() + "/report.md");
    EXPECT_NE(report.find("--memory 64m --pids-limit 50"), std::string::npos) << report;
}

TEST_F(ProfileIntegration, BadInputIsOneLineAndLeavesNothing) {
    const Strings before = instances();
    struct Case {
        Strings args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"profile", "--cap-add", "NOPE", rootfs_, "true"}, "NOPE"},
        {{"profile", "/nonexistent-rootfs", "true"}, "/nonexistent-rootfs"},
        {{"profile", rootfs_}, "requires at least 2 arguments"},
        {{"profile", "--output", "/nonexistent-dir/out", rootfs_, "true"}, "/nonexistent-dir/out"},
        {{"profile", "-d", rootfs_, "true"}, "-d"},
        {{"profile", "--network", "none", rootfs_, "/no/such/command"}, "no/such/command"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.args.back());
        Result r = roots_.hutch(c.args);
        EXPECT_EQ(r.code, c.message == "no/such/command" ? 127 : 125) << describe(r);
        ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_EQ(r.err_lines()[0].rfind("hutch: ", 0), 0u) << describe(r);
        EXPECT_NE(r.err.find(c.message), std::string::npos) << describe(r);
        EXPECT_EQ(roots_.leftovers(), Strings{});
    }
    EXPECT_FALSE(path_exists("/nonexistent-dir"));
    // Input is checked before any trace instance exists (TheMachinesTracingStateIsUnchanged
    // checks a run that made one); the ones not hutch's are untouched.
    for (const auto& name : before) {
        bool hutchs = name.rfind("hutch-profile-", 0) == 0;
        EXPECT_TRUE(hutchs || path_exists(tracing() + "/instances/" + name)) << name;
    }
}

}  // namespace
}  // namespace hutch_it
