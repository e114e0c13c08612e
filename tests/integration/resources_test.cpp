// Resource limits of `hutch run` (issue 16), observed from inside the container and from the
// cgroup files on the host: memory and OOM, pids, CPU quota and cpuset, ulimits, /dev/shm's size,
// oom_score_adj, sysctls; exec joining the limits; nothing left after rm, a killed hutch or bad
// input.
//
// On a hybrid host (v1 controllers, a unified hierarchy without them, as these machines) the
// limits live in the v1 hierarchies; on a cgroup2 host in the unified one. The test finds which.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

// The test process's cgroup in hierarchy `controller` ("memory", "pids", ...), from
// /proc/self/cgroup; nullopt when no v1 hierarchy holds it.
std::optional<std::string> own_v1_cgroup(const std::string& controller) {
    std::istringstream lines(read_file("/proc/self/cgroup"));
    for (std::string line; std::getline(lines, line);) {
        auto first = line.find(':'), second = line.find(':', first + 1);
        std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
        if (controllers.find("," + controller + ",") == std::string::npos) continue;
        std::string path = line.substr(second + 1);
        return path == "/" ? "" : path;
    }
    return std::nullopt;
}

// Where hutch puts container `id`'s cgroup for `controller`: the v1 hierarchy holding it, else
// the unified one (container_cgroup_dir).
std::string limit_dir(const std::string& controller, const std::string& id) {
    if (auto own = own_v1_cgroup(controller)) {
        std::string mount = "/sys/fs/cgroup/" + controller;
        if (!path_exists(mount)) mount = "/sys/fs/cgroup/cpu,cpuacct";  // a combined hierarchy
        return mount + *own + "/hutch/" + id;
    }
    return container_cgroup_dir(id);
}

// The unified hierarchy has no controllers to give (every one is bound to v1): the cgroup2
// branch of the code cannot be exercised here.
std::string cgroup2_controllers() {
    std::string dir = container_cgroup_dir(std::string(64, '0'));
    if (dir.empty()) return "";
    return trim(read_file(dir.substr(0, dir.find("/hutch/")) + "/cgroup.controllers"));
}

class ResourcesIntegration : public HutchTest {
protected:
    void TearDown() override {
        for (const auto& id : roots_.container_ids()) roots_.hutch({"rm", "-f", id}, {}, 20s);
        reap_leftover_children();
    }
    // `run -d OPTS ROOTFS CMD` (sleep 100 by default): the id.
    std::string detached(const Strings& opts, const Strings& cmd = {"sleep", "100"}) {
        Strings args = {"run", "-d", "--network", "none"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(rootfs_);
        args.insert(args.end(), cmd.begin(), cmd.end());
        Result r = roots_.hutch(args);
        EXPECT_EXIT_CODE(r, 0);
        return trim(r.out);
    }
    // Whether any hierarchy still holds hutch/<id>.
    bool any_cgroup_left(const std::string& id) {
        for (const char* c : {"memory", "pids", "cpu", "cpuset", "blkio"})
            if (path_exists(limit_dir(c, id))) return true;
        return path_exists(container_cgroup_dir(id));
    }
};

TEST_F(ResourcesIntegration, LimitsAreInPlaceBeforeTheCommandRunsAndSeenInside) {
    // The first thing the command does is read them: they were written before "go".
    Result r = sh({"--network", "none", "--memory", "64m", "--pids-limit", "50"},
                  "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || "
                  "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out_lines(), (Strings{"67108864", "50"}));
}

TEST_F(ResourcesIntegration, HostSeesTheLimitsAndRmRemovesEveryCgroup) {
    std::string id = detached({"--memory", "64m", "--memory-reservation", "32m", "--pids-limit", "50",
                               "--cpu-shares", "512", "--cpus", "0.5", "--cpuset-cpus", "0"});
    ASSERT_FALSE(id.empty());
    if (own_v1_cgroup("memory")) {
        EXPECT_EQ(trim(read_file(limit_dir("memory", id) + "/memory.limit_in_bytes")), "67108864");
        EXPECT_EQ(trim(read_file(limit_dir("memory", id) + "/memory.soft_limit_in_bytes")), "33554432");
    }
    if (own_v1_cgroup("pids")) {
        EXPECT_EQ(trim(read_file(limit_dir("pids", id) + "/pids.max")), "50");
    }
    if (own_v1_cgroup("cpu")) {
        EXPECT_EQ(trim(read_file(limit_dir("cpu", id) + "/cpu.shares")), "512");
        EXPECT_EQ(trim(read_file(limit_dir("cpu", id) + "/cpu.cfs_quota_us")), "50000");
        EXPECT_EQ(trim(read_file(limit_dir("cpu", id) + "/cpu.cfs_period_us")), "100000");
    }
    if (own_v1_cgroup("cpuset")) {
        EXPECT_EQ(trim(read_file(limit_dir("cpuset", id) + "/cpuset.cpus")), "0");
    }
    // The container's init is in each of them.
    pid_t pid = container_pid(roots_, id);
    ASSERT_GT(pid, 0);
    std::string procs = read_file(limit_dir("pids", id) + "/cgroup.procs");
    EXPECT_NE(procs.find(std::to_string(pid)), std::string::npos) << procs;
    nlohmann::json hc = inspect_container(roots_, id)["HostConfig"];
    EXPECT_EQ(hc["Memory"], 67108864);
    EXPECT_EQ(hc["PidsLimit"], 50);
    EXPECT_EQ(hc["NanoCpus"], 500000000);
    EXPECT_EQ(hc["CpusetCpus"], "0");
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "-f", id}), 0);
    EXPECT_FALSE(any_cgroup_left(id));
}

TEST_F(ResourcesIntegration, RunsWithoutLimitsStayOutOfTheV1Hierarchies) {
    if (!own_v1_cgroup("memory")) GTEST_SKIP() << "no cgroup v1 memory hierarchy on this host";
    std::string id = detached({});
    ASSERT_FALSE(id.empty());
    for (const char* c : {"memory", "pids", "cpu"}) EXPECT_FALSE(path_exists(limit_dir(c, id))) << c;
}

TEST_F(ResourcesIntegration, OomKillIs137WithOomKilledAndAnOomEventBeforeDie) {
    Result r = roots_.hutch({"run", "--name", "hog", "--network", "none", "--memory", "32m", rootfs_, "sh", "-c",
                             "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived ${#x}"});
    EXPECT_EXIT_CODE(r, 137);
    EXPECT_EQ(r.out.find("survived"), std::string::npos) << describe(r);
    nlohmann::json state = inspect_container(roots_, "hog")["State"];
    EXPECT_EQ(state["OOMKilled"], true);
    EXPECT_EQ(state["ExitCode"], 137);
    Result events = roots_.hutch({"events", "--since", "0", "--until", "0s", "--format", "{{json .}}"});
    std::string out = events.out;
    auto oom = out.find("\"oom\""), die = out.find("\"die\"");
    EXPECT_NE(oom, std::string::npos) << out;
    EXPECT_LT(oom, die) << out;
    // A container that stays under its limit is not OOMKilled.
    EXPECT_EXIT_CODE(roots_.hutch({"run", "--name", "calm", "--network", "none", "--memory", "32m", rootfs_, "true"}), 0);
    EXPECT_EQ(inspect_container(roots_, "calm")["State"]["OOMKilled"], false);
}

TEST_F(ResourcesIntegration, PidsLimitMakesForkFailWithEagain) {
    // A subshell starts 40 background sleeps under a limit of 16: its first failed fork ends it
    // (ash gives up on EAGAIN), so the rest never start. The outer shell then counts with
    // builtins only (at the limit no other command could fork) and reads the error back.
    const std::string script =
        "( i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done ) 2>/tmp/err; "
        "set -- /proc/[0-9]*; echo procs $#; read line </tmp/err; echo \"$line\"";
    Result r = sh({"--network", "none", "--pids-limit", "16"}, script);
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 2u) << describe(r);
    EXPECT_LE(std::stoi(lines[0].substr(6)), 16) << describe(r);
    EXPECT_NE(lines[1].find("Resource temporarily unavailable"), std::string::npos) << describe(r);  // EAGAIN
    // Without the limit all 40 start.
    Result free = sh({"--network", "none"}, script);
    EXPECT_EQ(free.out_lines().at(0), "procs 41") << describe(free);
}

TEST_F(ResourcesIntegration, CpusThrottlesABusyLoopNearHalfACore) {
    std::string id = detached({"--cpus", "0.5"}, {"sh", "-c", "while :; do :; done"});
    ASSERT_FALSE(id.empty());
    std::this_thread::sleep_for(300ms);
    auto usage = [&] {  // µs of CPU the container's cgroup used (cgroup2 core's cpu.stat)
        std::istringstream in(read_file(container_cgroup_dir(id) + "/cpu.stat"));
        std::string key;
        long long v = 0;
        while (in >> key >> v)
            if (key == "usage_usec") return v;
        return -1LL;
    };
    long long before = usage();
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(1500ms);
    long long after = usage();
    double wall = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_GE(before, 0) << "no cpu.stat in " << container_cgroup_dir(id);
    double share = static_cast<double>(after - before) / wall;
    // Half a core at most (a little slack for the period boundaries); more than nothing even on
    // a loaded machine.
    EXPECT_LT(share, 0.65) << "the busy loop used " << share << " of a CPU under --cpus 0.5";
    EXPECT_GT(share, 0.1) << "the busy loop hardly ran: " << share;
    if (own_v1_cgroup("cpu")) {
        // CFS bandwidth control counts periods only for a cgroup with a quota in force (whether
        // the loop was throttled depends on the machine's load: not asserted).
        std::string stat = read_file(limit_dir("cpu", id) + "/cpu.stat");
        EXPECT_EQ(stat.find("nr_periods 0\n"), std::string::npos) << stat;
    }
}

TEST_F(ResourcesIntegration, CpusetPinsTheContainer) {
    Result r = sh({"--network", "none", "--cpuset-cpus", "0"}, "grep Cpus_allowed_list /proc/self/status");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(trim(r.out), "Cpus_allowed_list:\t0");
}

TEST_F(ResourcesIntegration, UlimitsAreSeenAndRaisingPastHutchsOwnIsRefused) {
    Result r = sh({"--network", "none", "--ulimit", "nofile=100:200"}, "ulimit -n; ulimit -Hn");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out_lines(), (Strings{"100", "200"}));
    // Lowering below the soft limit of the shell works inside too.
    rlimit own{};
    ::getrlimit(RLIMIT_NOFILE, &own);
    bool can_raise = own_status_field("CapEff").size() == 16 &&
                     (std::stoull(own_status_field("CapEff"), nullptr, 16) >> 24 & 1);
    if (can_raise) GTEST_SKIP() << "this hutch has CAP_SYS_RESOURCE: it may raise any limit";
    std::string past = std::to_string(own.rlim_max == RLIM_INFINITY ? 1 : own.rlim_max + 1);
    Result refused = sh({"--network", "none", "--ulimit", "nofile=10:" + past}, "true");
    EXPECT_EXIT_CODE(refused, 125);
    ASSERT_EQ(refused.err_lines().size(), 1u) << describe(refused);
    EXPECT_NE(refused.err.find("CAP_SYS_RESOURCE"), std::string::npos) << describe(refused);
    EXPECT_TRUE(roots_.leftovers().empty());
}

TEST_F(ResourcesIntegration, ShmSizeOomScoreAdjAndSysctl) {
    Result r = sh({"--network", "none", "--shm-size", "16m", "--oom-score-adj", "500", "--sysctl",
                   "net.ipv4.ip_forward=1"},
                  "df -k /dev/shm | tail -1 | awk '{print $2}'; cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out_lines(), (Strings{"16384", "500", "1"}));
}

TEST_F(ResourcesIntegration, DeviceFlagGivesOneNodeAndTheRestStayRefused) {
    // The pair: a declared device works under its new name; an undeclared one made with
    // CAP_MKNOD is refused by the device policy (the cgroup's eBPF program or v1 list).
    Result r = sh({"--network", "none", "--device", "/dev/null:/dev/mynull"},
                  "echo x > /dev/mynull && echo wrote; mknod /tmp/sda b 8 0 && head -c1 /tmp/sda; echo read=$?");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out_lines(), (Strings{"wrote", "read=1"})) << describe(r);
    EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << describe(r);
}

TEST_F(ResourcesIntegration, ExecJoinsTheLimitCgroups) {
    std::string id = detached({"--pids-limit", "64"});
    ASSERT_FALSE(id.empty());
    // sleep (the init) + the exec'd sh + cat: counted only when exec joined the pids cgroup.
    Result r = roots_.hutch({"exec", id, "sh", "-c", "cat /sys/fs/cgroup/pids/pids.current 2>/dev/null || "
                                                     "cat /sys/fs/cgroup/pids.current"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_GE(std::stoi(trim(r.out)), 3) << describe(r);
}

TEST_F(ResourcesIntegration, KilledHutchLeavesLimitCgroupsThatRmRemoves) {
    std::string id = detached({"--memory", "64m", "--pids-limit", "50"});
    ASSERT_FALSE(id.empty());
    pid_t init = container_pid(roots_, id);
    ASSERT_GT(init, 0);
    pid_t monitor = parent_of(init);
    ASSERT_GT(monitor, 1);
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    ASSERT_TRUE(wait_until_gone(monitor));
    EXPECT_TRUE(path_exists(limit_dir("pids", id)));
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "-f", id}), 0);
    EXPECT_TRUE(wait_until_gone(init));
    EXPECT_FALSE(any_cgroup_left(id));
}

TEST_F(ResourcesIntegration, BadValuesAreOneLineExit125AndLeaveNothing) {
    // Each: the flags, and the flag the one line must name.
    const std::vector<std::pair<Strings, std::string>> bad = {
        {{"--memory", "3m"}, "--memory"},
        {{"--memory", "lots"}, "--memory"},
        {{"--memory", "64m", "--memory-swap", "32m"}, "--memory-swap"},
        {{"--memory-swap", "1g"}, "--memory-swap"},
        {{"--cpus", "0"}, "--cpus"},
        {{"--cpus", "64"}, "--cpus"},
        {{"--cpuset-cpus", "63"}, "--cpuset-cpus"},
        {{"--pids-limit", "x"}, "--pids-limit"},
        {{"--ulimit", "nofiles=1"}, "--ulimit"},
        {{"--ulimit", "nofile=2:1"}, "--ulimit"},
        {{"--sysctl", "kernel.panic=1"}, "kernel.panic"},
        {{"--blkio-weight", "5"}, "--blkio-weight"},
        {{"--oom-score-adj", "2000"}, "--oom-score-adj"},
        {{"--shm-size", "0"}, "--shm-size"},
    };
    for (const auto& [flags, named] : bad) {
        Strings args = {"run", "--network", "none"};
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), {rootfs_, "true"});
        Result r = roots_.hutch(args);
        SCOPED_TRACE(flags[0] + " " + flags[1]);
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(named), std::string::npos) << describe(r);
    }
    EXPECT_TRUE(roots_.leftovers().empty());
    EXPECT_TRUE(roots_.container_ids().empty());
}

TEST_F(ResourcesIntegration, KernelMemoryIsRefusedWhereTheKernelNoLongerEnforcesIt) {
    Result r = sh({"--network", "none", "--kernel-memory", "64m"}, "cat /sys/fs/cgroup/memory/memory.kmem.limit_in_bytes");
    if (r.code == 0) {
        EXPECT_EQ(trim(r.out), "67108864") << "accepted, so it must be in force";
        return;
    }
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_NE(r.err.find("--kernel-memory"), std::string::npos) << describe(r);
    EXPECT_TRUE(roots_.leftovers().empty());
}

TEST_F(ResourcesIntegration, Cgroup2LimitsWhereTheUnifiedHierarchyHasTheControllers) {
    std::string controllers = " " + cgroup2_controllers() + " ";
    if (controllers.find(" memory ") == std::string::npos || own_v1_cgroup("memory"))
        GTEST_SKIP() << "the unified hierarchy here offers no memory controller (it has \"" << trim(controllers)
                     << "\"; the others are bound to cgroup v1 hierarchies, and a controller bound to v1 "
                        "cannot be moved to cgroup2 while in use, not even in a private mount namespace)";
    Result r = sh({"--network", "none", "--memory", "64m", "--pids-limit", "50"},
                  "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out_lines(), (Strings{"67108864", "50"}));
}

}  // namespace
}  // namespace hutch_it
