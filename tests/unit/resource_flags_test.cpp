// `hutch run`'s resource flags into the Spec: Docker's units, defaults and refusals.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/resource_flags.hpp"
#include "runtime/run_options.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;

// Named, tests and all: a unity batch may hold run_options_test.cpp, whose helpers have the same
// names (kId, base, build).
namespace resource_flags_test {
namespace {

const std::string kId(64, 'a');

HostFacts host() {
    HostFacts h;
    h.caps = caps::HostCaps{40, ~caps::CapSet{0}};
    h.read_in_rootfs = [](const std::string&) { return std::string(); };
    h.online_cpus = "0-1";
    h.online_mems = "0";
    h.cpu_count = 2;
    h.swap_accounting = true;
    h.hard_rlimit = [](int resource) -> std::uint64_t { return resource == RLIMIT_NOFILE ? 20000 : RLIM_INFINITY; };
    h.can_raise_rlimits = false;
    return h;
}

RunOptions base() {
    RunOptions o;
    o.rootfs = "/rootfs";
    o.command = {"true"};
    return o;
}

Spec build(const RunOptions& o, const HostFacts& h = host()) { return build_run_spec(o, kId, h); }
std::string error_of(const RunOptions& o, const HostFacts& h = host()) {
    return usage_error([&] { build(o, h); });
}

}  // namespace

TEST(ParseBytes, DockerUnitsAre1024BasedAndCaseInsensitive) {
    EXPECT_EQ(parse_bytes("--memory", "100"), 100);
    EXPECT_EQ(parse_bytes("--memory", "64m"), 64 << 20);
    EXPECT_EQ(parse_bytes("--memory", "64M"), 64 << 20);
    EXPECT_EQ(parse_bytes("--memory", "64mb"), 64 << 20);
    EXPECT_EQ(parse_bytes("--memory", "64MiB"), 64 << 20);
    EXPECT_EQ(parse_bytes("--memory", "1.5g"), 3LL << 29);
    EXPECT_EQ(parse_bytes("--memory", "2k"), 2048);
    EXPECT_EQ(parse_bytes("--memory", "1 t"), 1LL << 40);
}

TEST(ParseBytes, RefusesWhatIsNotASize) {
    for (const char* bad : {"", "m", "64x", "-1m", "1..5m", ".5m", "5.m", "64 mm", "64ib", "1e3", "99999999p"})
        EXPECT_TRUE(contains(usage_error([&] { parse_bytes("--memory", bad); }), "--memory")) << bad;
}

TEST(ResourceFlags, NoFlagsAskForNoLimits) {
    Spec s = build(base());
    EXPECT_FALSE(s.linux.resources.limits_anything());
    EXPECT_TRUE(s.process.rlimits.empty());
    EXPECT_FALSE(s.process.oom_score_adj);
}

TEST(ResourceFlags, MemoryGetsDockersDefaultSwapOfTwiceTheLimit) {
    RunOptions o = base();
    o.memory = "32m";
    Spec s = build(o);
    EXPECT_EQ(s.linux.resources.memory_limit, 32 << 20);
    EXPECT_EQ(s.linux.resources.memory_swap, 64 << 20);
    // Without swap accounting there is no swap limit to set.
    HostFacts h = host();
    h.swap_accounting = false;
    EXPECT_FALSE(build(o, h).linux.resources.memory_swap);
    o.memory_swap = "-1";
    EXPECT_EQ(build(o).linux.resources.memory_swap, -1);
    o.memory_swap = "100m";
    EXPECT_EQ(build(o).linux.resources.memory_swap, 100 << 20);
}

TEST(ResourceFlags, MemoryRefusals) {
    RunOptions o = base();
    o.memory = "5m";
    EXPECT_TRUE(contains(error_of(o), "invalid --memory \"5m\": the least is 6 MiB"));
    o.memory = "lots";
    EXPECT_TRUE(contains(error_of(o), "invalid --memory \"lots\""));
    o = base();
    o.memory_swap = "64m";
    EXPECT_TRUE(contains(error_of(o), "--memory-swap \"64m\": needs --memory"));
    o.memory = "64m";
    o.memory_swap = "32m";
    EXPECT_TRUE(contains(error_of(o), "--memory-swap \"32m\": below --memory 64m"));
    o = base();
    o.memory = "32m";
    o.memory_reservation = "64m";
    EXPECT_TRUE(contains(error_of(o), "--memory-reservation \"64m\": above --memory 32m"));
    o = base();
    o.kernel_memory = "1m";
    EXPECT_TRUE(contains(error_of(o), "--kernel-memory \"1m\": the least is 4 MiB"));
    o = base();
    o.oom_score_adj = "1001";
    EXPECT_TRUE(contains(error_of(o), "--oom-score-adj \"1001\": must be from -1000 to 1000"));
    o.oom_score_adj = "12x";
    EXPECT_TRUE(contains(error_of(o), "--oom-score-adj \"12x\": not a whole number"));
}

TEST(ResourceFlags, OomSettings) {
    RunOptions o = base();
    o.oom_kill_disable = true;
    o.oom_score_adj = "-500";
    Spec s = build(o);
    EXPECT_EQ(s.linux.resources.disable_oom_killer, true);
    EXPECT_EQ(s.process.oom_score_adj, -500);
}

TEST(ResourceFlags, CpusIsAQuotaOverTheDefaultPeriod) {
    RunOptions o = base();
    o.cpus = "0.5";
    Spec s = build(o);
    EXPECT_EQ(s.linux.resources.cpu_period, 100000u);
    EXPECT_EQ(s.linux.resources.cpu_quota, 50000);
    o.cpus = "2";
    EXPECT_EQ(build(o).linux.resources.cpu_quota, 200000);
}

TEST(ResourceFlags, CpuRefusals) {
    RunOptions o = base();
    for (const char* bad : {"0", "-1", "0.001", "abc", "1.5.2", "nan", "inf"}) {
        o.cpus = bad;
        EXPECT_TRUE(contains(error_of(o), std::string("invalid --cpus \"") + bad + "\"")) << bad;
    }
    o.cpus = "3";
    EXPECT_TRUE(contains(error_of(o), "more than the 2 CPUs this host has"));
    o.cpus = "1";
    o.cpu_period = "50000";
    EXPECT_TRUE(contains(error_of(o), "conflicts with --cpu-period"));
    o = base();
    o.cpu_period = "999";
    EXPECT_TRUE(contains(error_of(o), "--cpu-period \"999\""));
    o = base();
    o.cpu_quota = "500";
    EXPECT_TRUE(contains(error_of(o), "--cpu-quota \"500\""));
    o = base();
    o.cpuset_cpus = "0,5";
    EXPECT_TRUE(contains(error_of(o), "--cpuset-cpus \"0,5\": CPU 5 is not available (this host has 0-1)"));
    o.cpuset_cpus = "1-0";
    EXPECT_TRUE(contains(error_of(o), "--cpuset-cpus \"1-0\": not a list"));
    o = base();
    o.cpuset_mems = "1";
    EXPECT_TRUE(contains(error_of(o), "--cpuset-mems \"1\": memory node 1 is not available"));
}

TEST(ResourceFlags, CpuSettings) {
    RunOptions o = base();
    o.cpu_shares = "512";
    o.cpu_period = "50000";
    o.cpu_quota = "25000";
    o.cpuset_cpus = "0-1";
    o.cpuset_mems = "0";
    Spec s = build(o);
    EXPECT_EQ(s.linux.resources.cpu_shares, 512u);
    EXPECT_EQ(s.linux.resources.cpu_period, 50000u);
    EXPECT_EQ(s.linux.resources.cpu_quota, 25000);
    EXPECT_EQ(s.linux.resources.cpus, "0-1");
    EXPECT_EQ(s.linux.resources.mems, "0");
}

TEST(ResourceFlags, PidsLimitZeroAndMinusOneMeanUnlimited) {
    RunOptions o = base();
    o.pids_limit = "16";
    EXPECT_EQ(build(o).linux.resources.pids_limit, 16);
    for (const char* none : {"0", "-1"}) {
        o.pids_limit = none;
        EXPECT_FALSE(build(o).linux.resources.pids_limit) << none;
    }
    o.pids_limit = "-2";
    EXPECT_TRUE(contains(error_of(o), "--pids-limit \"-2\""));
}

TEST(ResourceFlags, BlkioWeightRange) {
    RunOptions o = base();
    o.blkio_weight = "500";
    EXPECT_EQ(build(o).linux.resources.blkio_weight, 500);
    o.blkio_weight = "5";
    EXPECT_TRUE(contains(error_of(o), "--blkio-weight \"5\": must be from 10 to 1000"));
}

TEST(ResourceFlags, UlimitsBecomeRlimits) {
    RunOptions o = base();
    o.ulimits = {"nofile=100:200", "core=0", "nproc=unlimited", "nofile=50:100"};
    Spec s = build(o);
    ASSERT_EQ(s.process.rlimits.size(), 3u);
    EXPECT_EQ(s.process.rlimits[0].type, "RLIMIT_CORE");
    EXPECT_EQ(s.process.rlimits[0].hard, 0u);
    EXPECT_EQ(s.process.rlimits[1].type, "RLIMIT_NPROC");
    EXPECT_EQ(s.process.rlimits[1].soft, RLIM_INFINITY);
    // A later --ulimit of the same name replaces the earlier one, as in Docker.
    EXPECT_EQ(s.process.rlimits[2].type, "RLIMIT_NOFILE");
    EXPECT_EQ(s.process.rlimits[2].soft, 50u);
    EXPECT_EQ(s.process.rlimits[2].hard, 100u);
}

TEST(ResourceFlags, UlimitRefusals) {
    RunOptions o = base();
    o.ulimits = {"nofiles=1"};
    EXPECT_TRUE(contains(error_of(o), "--ulimit \"nofiles=1\": unknown limit \"nofiles\""));
    o.ulimits = {"nofile"};
    EXPECT_TRUE(contains(error_of(o), "not NAME=SOFT[:HARD]"));
    o.ulimits = {"nofile=200:100"};
    EXPECT_TRUE(contains(error_of(o), "the soft limit is above the hard limit"));
    o.ulimits = {"nofile=x"};
    EXPECT_TRUE(contains(error_of(o), "\"x\" is not a whole number"));
    // Above hutch's own hard limit without CAP_SYS_RESOURCE: refused before anything starts.
    o.ulimits = {"nofile=100:30000"};
    EXPECT_TRUE(contains(error_of(o), "above hutch's own (20000)"));
    HostFacts h = host();
    h.can_raise_rlimits = true;
    EXPECT_EQ(build(o, h).process.rlimits.at(0).hard, 30000u);
}

TEST(ResourceFlags, ShmSizeSizesDevShm) {
    RunOptions o = base();
    o.shm_size = "128m";
    Spec s = build(o);
    bool found = false;
    for (const auto& m : s.mounts)
        if (m.destination == "/dev/shm") {
            found = true;
            EXPECT_TRUE(std::count(m.options.begin(), m.options.end(), "size=134217728") == 1);
            EXPECT_TRUE(std::count(m.options.begin(), m.options.end(), "size=67108864") == 0);
        }
    EXPECT_TRUE(found);
    o.shm_size = "0";
    EXPECT_TRUE(contains(error_of(o), "--shm-size \"0\": must be more than 0"));
}

TEST(ResourceFlags, SysctlsGoToTheSpec) {
    RunOptions o = base();
    o.sysctls = {"net.ipv4.ip_forward=1", "kernel.msgmax=65536"};
    Spec s = build(o);
    EXPECT_EQ(s.linux.sysctl.at("net.ipv4.ip_forward"), "1");
    EXPECT_EQ(s.linux.sysctl.at("kernel.msgmax"), "65536");
    o.sysctls = {"novalue"};
    EXPECT_TRUE(contains(error_of(o), "--sysctl \"novalue\": not KEY=VALUE"));
}

TEST(ResourceFlags, RefusalsFromTheCgroupCodeNameTheFlag) {
    EXPECT_EQ(resource_flag_name("linux.resources.memory"), "--memory");
    EXPECT_EQ(resource_flag_name("linux.resources.pids"), "--pids-limit");
    EXPECT_EQ(resource_flag_name("linux.resources.memory.kernel"), "--kernel-memory");
}

// `hutch update`: the same flags over a container's current limits.
TEST(LimitUpdate, KeepsWhatTheFlagsDoNotChangeAndChecksTheResult) {
    Resources current;
    current.memory_limit = 64 << 20;
    current.memory_swap = 128 << 20;
    current.pids_limit = 5;
    RunOptions o;
    o.memory = "128m";
    LimitUpdate u = merge_limit_flags(current, o, host());
    EXPECT_EQ(u.result.memory_limit, 128 << 20);
    EXPECT_EQ(u.result.memory_swap, 128 << 20);  // kept: the container's memory+swap limit
    EXPECT_EQ(u.result.pids_limit, 5);
    // Only what changes is written, but a pair whole: cgroup2 keeps swap apart from memory.
    EXPECT_EQ(u.write.memory_swap, 128 << 20);
    EXPECT_FALSE(u.write.pids_limit);
    o.memory = "256m";  // above the current memory+swap without --memory-swap: dockerd refuses it
    EXPECT_TRUE(contains(usage_error([&] { merge_limit_flags(current, o, host()); }),
                         "invalid --memory \"256m\": above the container's memory+swap limit 134217728"));
    o = RunOptions{};
    o.memory_swap = "32m";  // checked against the container's memory limit
    EXPECT_TRUE(contains(usage_error([&] { merge_limit_flags(current, o, host()); }),
                         "--memory-swap \"32m\": below the container's memory limit 67108864"));
}

// Review finding: a period alone was written as cpu.max "max PERIOD" on cgroup2, lifting the
// quota; a swap limit alone as memory.swap.max "max".
TEST(LimitUpdate, PairsAreWrittenWholeFromTheMergedResult) {
    Resources current;
    current.cpu_quota = 100000;
    current.cpu_period = 100000;
    current.memory_limit = 64 << 20;
    current.memory_swap = 128 << 20;
    RunOptions o;
    o.cpu_period = "200000";
    o.memory_swap = "256m";
    LimitUpdate u = merge_limit_flags(current, o, host());
    EXPECT_EQ(u.write.cpu_quota, 100000);
    EXPECT_EQ(u.write.cpu_period, 200000u);
    EXPECT_EQ(u.write.memory_limit, 64 << 20);
    EXPECT_EQ(u.write.memory_swap, 256 << 20);
}

TEST(ResourceFlags, HugeValuesAreRefusedOrUnlimitedNotWrapped) {
    RunOptions o = base();
    o.memory = "4500p";  // twice this overflows int64: the default swap is then unlimited
    EXPECT_EQ(build(o).linux.resources.memory_swap, -1);
    o.memory = "1" + std::string(400, '0');
    EXPECT_TRUE(contains(error_of(o), "invalid --memory"));
    o = base();
    o.cpus = "99999999999999999999";
    EXPECT_TRUE(contains(error_of(o), "more than the 2 CPUs this host has"));
}

TEST(LimitUpdate, PidsLimitMinusOneLiftsALimit) {
    Resources current;
    current.pids_limit = 5;
    RunOptions o;
    o.pids_limit = "-1";
    LimitUpdate u = merge_limit_flags(current, o, host());
    EXPECT_FALSE(u.result.pids_limit);   // recorded as none, as run records it
    EXPECT_EQ(u.write.pids_limit, -1);   // written as pids.max "max"
    EXPECT_FALSE(merge_limit_flags({}, o, host()).write.pids_limit);  // nothing to lift
    EXPECT_FALSE(has_limit_flags(RunOptions{}));
    EXPECT_TRUE(has_limit_flags(o));
}

}  // namespace resource_flags_test
