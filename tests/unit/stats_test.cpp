// `hutch stats`: the counters parsed from fixed file contents, and docker stats' formatting
// (docker/go-units BytesSize and HumanSizeWithPrecision, docker cli's CPU and memory arithmetic).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/stats.hpp"

using namespace hutch::stats;

TEST(StatsUnits, MemoryInBinaryUnitsWithFourDigits) {
    EXPECT_EQ(bytes_size(0), "0B");
    EXPECT_EQ(bytes_size(648), "648B");
    EXPECT_EQ(bytes_size(1.5 * 1024 * 1024), "1.5MiB");
    EXPECT_EQ(bytes_size(64.0 * 1024 * 1024), "64MiB");
    EXPECT_EQ(bytes_size(25276157952.0), "23.54GiB");
    EXPECT_EQ(bytes_size(20054016), "19.12MiB");
    EXPECT_EQ(bytes_size(1048575), "1024KiB");  // %.4g rounds up without moving to MiB, as Go does
}

TEST(StatsUnits, IoInDecimalUnitsWithThreeDigits) {
    EXPECT_EQ(human_size(0), "0B");
    EXPECT_EQ(human_size(648), "648B");
    EXPECT_EQ(human_size(1200), "1.2kB");
    EXPECT_EQ(human_size(12345678), "12.3MB");
    EXPECT_EQ(human_size(4096), "4.1kB");
    EXPECT_EQ(human_size(999999), "1e+03kB");  // Go's %.3g prints the same
}

// go-units' HumanDuration, the words of docker ps's CREATED and STATUS columns.
TEST(StatsUnits, DurationsAsDockerWordsThem) {
    using hutch::stats::human_duration;
    EXPECT_EQ(human_duration(0.4), "Less than a second");
    EXPECT_EQ(human_duration(1.9), "1 second");
    EXPECT_EQ(human_duration(59), "59 seconds");
    EXPECT_EQ(human_duration(60), "About a minute");
    EXPECT_EQ(human_duration(119), "About a minute");
    EXPECT_EQ(human_duration(120), "2 minutes");
    EXPECT_EQ(human_duration(3599), "59 minutes");
    EXPECT_EQ(human_duration(3600), "About an hour");
    EXPECT_EQ(human_duration(5399), "About an hour");
    EXPECT_EQ(human_duration(5400), "2 hours");
    EXPECT_EQ(human_duration(47 * 3600), "47 hours");
    EXPECT_EQ(human_duration(48 * 3600), "2 days");
    EXPECT_EQ(human_duration(14 * 86400), "2 weeks");
    EXPECT_EQ(human_duration(60 * 86400), "2 months");
    EXPECT_EQ(human_duration(730 * 86400), "2 years");
}

TEST(StatsUnits, PercentagesWithTwoDecimals) {
    EXPECT_EQ(percentage(0), "0.00%");
    EXPECT_EQ(percentage(50), "50.00%");
    EXPECT_EQ(percentage(199.996), "200.00%");
}

TEST(StatsParse, NumbersAndKeyedFiles) {
    EXPECT_EQ(parse_number("67108864\n"), 67108864u);
    EXPECT_EQ(parse_number("max\n"), std::nullopt);  // cgroup2 memory.max without a limit
    EXPECT_EQ(parse_number(""), std::nullopt);
    EXPECT_EQ(parse_number("12abc"), std::nullopt);
    const char* cpu_stat = "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n";
    EXPECT_EQ(keyed_value(cpu_stat, "usage_usec"), 1500000u);
    EXPECT_EQ(keyed_value(cpu_stat, "usage"), std::nullopt);
    EXPECT_EQ(keyed_value("nr_periods 0\n", "usage_usec"), std::nullopt);
}

TEST(StatsParse, MemoryWithoutInactiveFileCache) {
    // v1: total_inactive_file (hierarchical) is what docker cli subtracts, not inactive_file.
    const char* v1 = "cache 4096\ninactive_file 110592\nactive_file 0\ntotal_inactive_file 1048576\n";
    EXPECT_EQ(memory_without_cache(21000000, v1), 21000000u - 1048576u);
    // cgroup2 has only inactive_file.
    EXPECT_EQ(memory_without_cache(3000000, "anon 2000000\ninactive_file 1000000\n"), 2000000u);
    // More cache than usage (a racy read): the usage as it is.
    EXPECT_EQ(memory_without_cache(1000, "inactive_file 5000\n"), 1000u);
    EXPECT_EQ(memory_without_cache(1000, ""), 1000u);
}

TEST(StatsParse, BlockIoV1SumsReadAndWriteOverDevices) {
    const char* text =
        "8:16 Read 4096\n8:16 Write 8192\n8:16 Sync 0\n8:16 Async 12288\n8:16 Discard 0\n8:16 Total 12288\n"
        "8:0 Read 1000\n8:0 Write 0\n8:0 Total 1000\nTotal 13288\n";
    ReadWrite rw = parse_blkio_service_bytes(text);
    EXPECT_EQ(rw.read, 5096u);
    EXPECT_EQ(rw.written, 8192u);
    ReadWrite none = parse_blkio_service_bytes("Total 0\n");
    EXPECT_EQ(none.read + none.written, 0u);
}

TEST(StatsParse, BlockIoCgroup2) {
    const char* text =
        "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n"
        "253:0 rbytes=100 wbytes=200 rios=1 wios=1 dbytes=0 dios=0\n";
    ReadWrite rw = parse_io_stat(text);
    EXPECT_EQ(rw.read, 1459300u);
    EXPECT_EQ(rw.written, 314773704u);
}

TEST(StatsParse, NetDevSkipsLoopbackAndHeaders) {
    const char* text =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo:    9801      87    0    0    0     0          0         0     9801      87    0    0    0     0       0          0\n"
        "  eth0:    1200      12    0    0    0     0          0         0      648       8    0    0    0     0       0          0\n"
        "  eth1:100 1 0 0 0 0 0 0 50 1 0 0 0 0 0 0\n";  // the kernel prints a long count against the colon
    ReadWrite rw = parse_net_dev(text);
    EXPECT_EQ(rw.read, 1300u);
    EXPECT_EQ(rw.written, 698u);
    // --network none: only lo.
    ReadWrite none = parse_net_dev(
        "    lo:    0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    EXPECT_EQ(none.read + none.written, 0u);
    // A short or garbled line (an interface name the container chose) counts nothing.
    ReadWrite junk = parse_net_dev("evil: 1 2 3\nx: a b c d e f g h i j\n");
    EXPECT_EQ(junk.read + junk.written, 0u);
}

TEST(StatsParse, SystemCpuFromProcStat) {
    const char* text = "cpu  100 20 30 800 50 0 0 0 7 0\ncpu0 50 10 15 400 25 0 0 0 0 0\nintr 1 2 3\n";
    // user..steal: 100+20+30+800+50+0+0+0 ticks; guest (7) is inside user already.
    EXPECT_EQ(parse_system_cpu_ns(text, 100), 1000ull * 10000000ull);
    EXPECT_EQ(parse_system_cpu_ns("cpu0 1 2 3 4 5 6 7 8\n", 100), std::nullopt);
    EXPECT_EQ(parse_system_cpu_ns(text, 0), std::nullopt);
}

TEST(StatsParse, MeminfoAndPss) {
    EXPECT_EQ(parse_mem_total("MemTotal:       24683748 kB\nMemFree:        21167260 kB\n"), 24683748ull * 1024);
    const char* rollup = "55d0a0000000-7ffd5e7fe000 ---p 00000000 00:00 0  [rollup]\nRss:  1200 kB\nPss:  700 kB\n"
                         "Pss_Anon:  500 kB\n";
    EXPECT_EQ(kb_field(rollup, "Pss"), 700u * 1024);
    EXPECT_EQ(kb_field(rollup, "Swap"), std::nullopt);
}

TEST(StatsCpu, DockersFormula) {
    Sample before, now;
    before.cpu_ns = 1000000000;
    before.system_ns = 10000000000;
    now.cpu_ns = 1500000000;   // half a second of CPU...
    now.system_ns = 12000000000;  // ...while the host's 2 CPUs passed 2 s (1 s of wall time)
    EXPECT_DOUBLE_EQ(cpu_percent(before, now, 2), 50.0);
    // No counter, or no time passed: 0, as docker cli.
    Sample no_counter = now;
    no_counter.cpu_ns.reset();
    EXPECT_DOUBLE_EQ(cpu_percent(before, no_counter, 2), 0.0);
    EXPECT_DOUBLE_EQ(cpu_percent(now, now, 2), 0.0);
}

namespace {

Row sample_row() {
    Sample before, now;
    before.cpu_ns = 0;
    before.system_ns = 0;
    now.cpu_ns = 500000000;
    now.system_ns = 2000000000;
    now.memory = 1572864;
    now.memory_limit = 67108864;
    now.net = {1200, 648};
    now.pids = 2;
    return make_row("web", std::string(64, 'f'), "web", before, now, 2);
}

}  // namespace

TEST(StatsFormat, RowAsDockerPrintsIt) {
    Row r = sample_row();
    EXPECT_EQ(r.id, "ffffffffffff");
    EXPECT_EQ(r.cpu, "50.00%");
    EXPECT_EQ(r.mem_usage, "1.5MiB / 64MiB");
    EXPECT_EQ(r.mem_perc, "2.34%");
    EXPECT_EQ(r.net_io, "1.2kB / 648B");
    EXPECT_EQ(r.block_io, "0B / 0B");
    EXPECT_EQ(r.pids, "2");
}

TEST(StatsFormat, GoneContainerShowsDashes) {
    Sample gone;
    gone.valid = false;
    Row r = make_row("abc", std::string(64, 'a'), "x", Sample{}, gone, 2);
    EXPECT_EQ(r.cpu, "--");
    EXPECT_EQ(r.mem_usage, "-- / --");
    EXPECT_EQ(r.mem_perc, "--");
    EXPECT_EQ(r.net_io, "--");
    EXPECT_EQ(r.block_io, "--");
    EXPECT_EQ(r.pids, "--");
    // A stopped container reads as zeros (docker stats -a).
    Row stopped = make_row("abc", std::string(64, 'a'), "x", Sample{}, Sample{}, 2);
    EXPECT_EQ(stopped.mem_usage, "0B / 0B");
    EXPECT_EQ(stopped.mem_perc, "0.00%");
}

TEST(StatsFormat, TableColumnsAsDockersTabwriter) {
    // Each column the widest cell + 3, at least 10; the last one unpadded.
    const std::string want =
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O        BLOCK I/O   PIDS\n"
        "ffffffffffff   web       50.00%    1.5MiB / 64MiB      2.34%     1.2kB / 648B   0B / 0B     2\n";
    EXPECT_EQ(format_table({sample_row()}), want);
    EXPECT_EQ(format_table({}),
              "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n");
}

TEST(StatsFormat, JsonHasDockersKeysInOrder) {
    std::string line = format_json(sample_row());
    EXPECT_EQ(line,
              R"({"BlockIO":"0B / 0B","CPUPerc":"50.00%","Container":"web","ID":"ffffffffffff","MemPerc":"2.34%",)"
              R"("MemUsage":"1.5MiB / 64MiB","Name":"web","NetIO":"1.2kB / 648B","PIDs":"2"})");
    EXPECT_EQ(line.find('\n'), std::string::npos);
}
