// `hutch-oci events` (runtime/oci/stats): runc's stats record from cgroup files, here made by the
// test in plain directories with the kernel's file names and contents; and --interval's Go
// durations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <string>

#include "runtime/oci/stats.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using nlohmann::json;

namespace {

class FakeCgroups : public ::testing::Test {
protected:

    // A cgroup directory named `name` with `files` (name, content).
    std::string cgroup(const std::string& name, const std::map<std::string, std::string>& files) {
        std::string d = dir_ + "/" + name;
        ::mkdir(d.c_str(), 0755);
        for (const auto& [file, content] : files) std::ofstream(d + "/" + file) << content;
        return d;
    }
    hutch::test::TempDir tmp_{"hutch-stats-test"};
    const std::string dir_ = tmp_.path();
};

// A hybrid host's container: counters in its v1 cgroups (cpuacct, memory, pids, blkio), its
// unified one without controllers; runc's field names and units (ns, bytes).
TEST_F(FakeCgroups, V1CountersInRuncsShape) {
    std::string unified = cgroup("unified", {{"cgroup.controllers", ""}, {"cpu.stat", "usage_usec 5\n"}});
    std::string cpuacct = cgroup("cpuacct", {{"cpuacct.usage", "123456789\n"},
                                             {"cpuacct.usage_percpu", "100000000 23456789 \n"},
                                             {"cpuacct.stat", "user 7\nsystem 3\n"}});
    std::string cpu = cgroup("cpu", {{"cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 5000\n"}});
    std::string memory = cgroup("memory", {{"memory.usage_in_bytes", "4096000\n"},
                                           {"memory.max_usage_in_bytes", "8192000\n"},
                                           {"memory.limit_in_bytes", "67108864\n"},
                                           {"memory.failcnt", "2\n"},
                                           {"memory.stat", "cache 4096\nrss 1024\n"},
                                           {"memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"}});
    std::string pids = cgroup("pids", {{"pids.current", "3\n"}, {"pids.max", "50\n"}});
    std::string blkio = cgroup("blkio", {{"blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n"},
                                         {"blkio.throttle.io_serviced_recursive", "8:0 Read 1\nTotal 1\n"}});
    json s = oci::runc_stats({unified, cpuacct, cpu, memory, pids, blkio});
    long hz = ::sysconf(_SC_CLK_TCK);
    EXPECT_EQ(s["cpu"]["usage"]["total"], 123456789u) << "cpuacct.usage, not the unified cpu.stat";
    EXPECT_EQ(s["cpu"]["usage"]["percpu"], json::parse("[100000000, 23456789]"));
    EXPECT_EQ(s["cpu"]["usage"]["user"], 7u * (1'000'000'000u / hz));
    EXPECT_EQ(s["cpu"]["usage"]["kernel"], 3u * (1'000'000'000u / hz));
    EXPECT_EQ(s["cpu"]["throttling"], json::parse(R"({"periods":10,"throttled_periods":4,"throttled_time":5000})"));
    EXPECT_EQ(s["memory"]["usage"], json::parse(R"({"usage":4096000,"max":8192000,"limit":67108864,"failcnt":2})"));
    EXPECT_EQ(s["memory"]["cache"], 4096u);
    EXPECT_EQ(s["memory"]["raw"]["rss"], 1024u);
    EXPECT_EQ(s["pids"], json::parse(R"({"current":3,"limit":50})"));
    EXPECT_EQ(s["blkio"]["ioServiceBytesRecursive"], json::parse(R"([{"major":8,"minor":0,"op":"Read","value":4096},
                                                                       {"major":8,"minor":0,"op":"Write","value":0}])"));
    EXPECT_EQ(s["blkio"]["ioServicedRecursive"].size(), 1u) << "Total lines are left out";
    for (const char* key : {"cpuset", "hugetlb", "intel_rdt"}) EXPECT_EQ(s[key], json::object()) << key;
    EXPECT_EQ(oci::oom_kills({unified, memory}), 1u);
}

// A cgroup2 container: cpu.stat in microseconds becomes nanoseconds, "max" is runc's MaxUint64
// for memory and no limit for pids, io.stat becomes Read and Write entries.
TEST_F(FakeCgroups, Cgroup2CountersInRuncsShape) {
    std::string d = cgroup("c2", {{"cgroup.controllers", "cpu memory pids io\n"},
                                  {"cpu.stat", "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 0\n"},
                                  {"memory.current", "1048576\n"},
                                  {"memory.max", "max\n"},
                                  {"memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n"},
                                  {"memory.stat", "anon 4096\nfile 8192\n"},
                                  {"pids.current", "1\n"},
                                  {"pids.max", "max\n"},
                                  {"io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n"}});
    json s = oci::runc_stats({d});
    EXPECT_EQ(s["cpu"]["usage"]["total"], 2000000u);
    EXPECT_EQ(s["cpu"]["usage"]["user"], 1500000u);
    EXPECT_EQ(s["cpu"]["usage"]["kernel"], 500000u);
    EXPECT_EQ(s["cpu"]["throttling"], json::object()) << "zero counters are left out, as runc's omitempty";
    EXPECT_EQ(s["memory"]["usage"]["usage"], 1048576u);
    EXPECT_EQ(s["memory"]["usage"]["limit"], std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(s["memory"]["usage"]["failcnt"], 3u) << "memory.events max: times the limit was hit";
    EXPECT_EQ(s["memory"]["cache"], 8192u);
    EXPECT_EQ(s["pids"], json::parse(R"({"current":1})"));
    EXPECT_EQ(s["blkio"]["ioServiceBytesRecursive"], json::parse(R"([{"major":8,"minor":0,"op":"Read","value":512},
                                                                       {"major":8,"minor":0,"op":"Write","value":1024}])"));
    EXPECT_EQ(s["blkio"]["ioServicedRecursive"].size(), 2u);
    EXPECT_EQ(oci::oom_kills({d}), 2u);
}

TEST_F(FakeCgroups, NoCgroupsGiveZerosNotErrors) {
    json s = oci::runc_stats({});
    EXPECT_EQ(s["memory"]["usage"], json::parse(R"({"limit":0,"failcnt":0})"));
    EXPECT_EQ(s["pids"], json::object());
    EXPECT_EQ(oci::oom_kills({}), std::nullopt);
}

TEST(OciEvents, IntervalIsAGoDuration) {
    EXPECT_EQ(oci::parse_go_duration_ms("5s"), 5000);
    EXPECT_EQ(oci::parse_go_duration_ms("100ms"), 100);
    EXPECT_EQ(oci::parse_go_duration_ms("1m30s"), 90000);
    EXPECT_EQ(oci::parse_go_duration_ms("1.5s"), 1500);
    EXPECT_EQ(oci::parse_go_duration_ms("1h"), 3600000);
    EXPECT_EQ(oci::parse_go_duration_ms(".5s"), 500);
    for (const char* bad : {"", "5", "s", "-1s", "0s", "5x", "1e3s", "100us", "5 s", "1.2.3s", ".s", "1..5s"}) {
        std::string message = usage_error([&] { oci::parse_go_duration_ms(bad); });
        EXPECT_TRUE(contains(message, std::string("\"") + bad + "\"")) << message;
    }
}

}  // namespace
