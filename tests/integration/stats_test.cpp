// `hutch stats` (issue 16) on real containers: memory and PIDs of a limited container against its
// limits, CPU of a busy loop, network counters after packets went through the container's
// bridge, a container without limits (the host's memory as its limit, as Docker shows), the
// listing without names, streaming, and bad input.
//
// Every container runs detached; the fixture's TearDown removes them (rm -f) and reaps what the
// test's own children left. Packets go only between a container and its own bridge (made by
// this test's roots, removed by TempRoots).
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "harness.hpp"
#include "runtime/stats.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

// "19.12MiB" or "1.2kB" back into bytes (the units docker stats prints); -1 when it is not one.
double to_bytes(const std::string& text) {
    std::smatch m;
    if (!std::regex_match(text, m, std::regex(R"(([0-9.e+]+)(B|kB|MB|GB|KiB|MiB|GiB|TiB))"))) return -1;
    const std::map<std::string, double> unit = {{"B", 1},         {"kB", 1e3},          {"MB", 1e6},
                                                {"GB", 1e9},      {"KiB", 1024.0},      {"MiB", 1048576.0},
                                                {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
    return std::stod(m[1]) * unit.at(m[2]);
}

// "A / B" -> {A, B}.
std::pair<std::string, std::string> halves(const std::string& text) {
    auto slash = text.find(" / ");
    if (slash == std::string::npos) return {text, ""};
    return {text.substr(0, slash), text.substr(slash + 3)};
}

class StatsIntegration : public HutchTest {
protected:
    void TearDown() override { remove_all_containers(roots_); }

    Result hutch(const Strings& args) { return roots_.hutch(args, {}, 20s); }

    // `run -d OPTS ROOTFS CMD...`: the id, or "" with a failure recorded.
    std::string start_d(const Strings& opts, const Strings& cmd) {
        Strings args = {"run", "-d"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(rootfs_);
        args.insert(args.end(), cmd.begin(), cmd.end());
        Result r = hutch(args);
        std::string id = trim(r.out);
        if (r.code != 0 || !std::regex_match(id, std::regex("[0-9a-f]{64}"))) {
            ADD_FAILURE() << "run -d failed: " << describe(r);
            return "";
        }
        return id;
    }

    bool wait_for_log(const std::string& ref, const std::string& needle, std::chrono::milliseconds timeout = 15s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (hutch({"logs", ref}).out.find(needle) != std::string::npos) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

    // `stats --no-stream --format json REF`: its one line, parsed (null with a failure recorded).
    json stats_of(const std::string& ref) {
        Result r = hutch({"stats", "--no-stream", "--format", "json", ref});
        if (r.code != 0 || r.out_lines().size() != 1) {
            ADD_FAILURE() << describe(r);
            return json();
        }
        return json::parse(r.out_lines()[0]);
    }
};

TEST_F(StatsIntegration, LimitedContainerShowsItsMemoryAgainstItsLimitAndItsPids) {
    // 20 MB held in a shell variable: anonymous memory charged to the container. The command
    // after sleep keeps the shell (busybox sh execs a script's last command in its place).
    std::string id = start_d({"--network", "none", "--name", "held", "--memory", "64m", "--pids-limit", "50"},
                             {"sh", "-c", "x=$(head -c 20000000 /dev/zero | tr '\\0' a); echo held; sleep 100; echo ${#x}"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_for_log("held", "held")) << hutch({"logs", "held"}).err;
    json s = stats_of("held");
    ASSERT_TRUE(s.is_object());
    auto [usage, limit] = halves(s["MemUsage"].get<std::string>());
    EXPECT_EQ(limit, "64MiB") << s.dump();
    EXPECT_GT(to_bytes(usage), 19.0 * 1048576) << s.dump();
    EXPECT_LT(to_bytes(usage), 64.0 * 1048576) << s.dump();
    EXPECT_GE(std::stoi(s["PIDs"].get<std::string>()), 2) << s.dump();  // sh and sleep
    double perc = std::stod(s["MemPerc"].get<std::string>());
    // Both shown rounded: the usage to 4 digits (up to 0.005 MiB, 0.008 % of 64 MiB), the
    // percentage to 2 decimals (0.005): they agree within the sum.
    EXPECT_NEAR(perc, to_bytes(usage) / (64.0 * 1048576) * 100, 0.015) << s.dump();
    EXPECT_EQ(s["Name"], "held");
    EXPECT_EQ(s["Container"], "held");
    EXPECT_EQ(s["ID"], id.substr(0, 12));
    EXPECT_EQ(s["NetIO"], "0B / 0B");  // --network none: only lo, which Docker does not count
}

TEST_F(StatsIntegration, BusyLoopShowsCpu) {
    std::string id = start_d({"--network", "none", "--name", "busy"}, {"sh", "-c", "while :; do :; done"});
    ASSERT_FALSE(id.empty());
    std::this_thread::sleep_for(200ms);
    json s = stats_of("busy");
    ASSERT_TRUE(s.is_object());
    // A loop on one core is ~100%; the machine's cores are shared with other work, so tolerant.
    EXPECT_GT(std::stod(s["CPUPerc"].get<std::string>()), 20.0) << s.dump();
    // An idle container next to it: near zero.
    ASSERT_FALSE(start_d({"--network", "none", "--name", "idle"}, {"sleep", "100"}).empty());
    json idle = stats_of("idle");
    ASSERT_TRUE(idle.is_object());
    EXPECT_LT(std::stod(idle["CPUPerc"].get<std::string>()), 5.0) << idle.dump();
}

TEST_F(StatsIntegration, BridgeContainerShowsItsNetworkTraffic) {
    // Pings its gateway (the bridge this test's roots made), then waits.
    std::string id = start_d({"--name", "pinger"},
                             {"sh", "-c", "gw=$(ip route | awk '/default/ {print $3}'); ping -c 3 -W 1 $gw; echo pinged; sleep 100"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_for_log("pinger", "pinged")) << hutch({"logs", "pinger"}).out;
    json s = stats_of("pinger");
    ASSERT_TRUE(s.is_object());
    auto [rx, tx] = halves(s["NetIO"].get<std::string>());
    EXPECT_GT(to_bytes(tx), 3 * 84.0) << s.dump();  // three echo requests at least, on the wire
    EXPECT_GT(to_bytes(rx), 0.0) << s.dump() << "\n" << hutch({"logs", "pinger"}).out;
}

TEST_F(StatsIntegration, UnlimitedContainerShowsUsageAndTheHostsMemory) {
    std::string id = start_d({"--network", "none", "--name", "free"}, {"sleep", "100"});
    ASSERT_FALSE(id.empty());
    json s = stats_of("free");
    ASSERT_TRUE(s.is_object());
    auto [usage, limit] = halves(s["MemUsage"].get<std::string>());
    std::smatch m;
    std::string meminfo = read_file("/proc/meminfo");
    ASSERT_TRUE(std::regex_search(meminfo, m, std::regex(R"(MemTotal:\s+(\d+) kB)")));
    EXPECT_EQ(limit, hutch::stats::bytes_size(std::stod(m[1]) * 1024)) << s.dump();
    EXPECT_GT(to_bytes(usage), 0.0) << s.dump();
    EXPECT_EQ(s["PIDs"], "1") << s.dump();
}

TEST_F(StatsIntegration, WithoutNamesListsRunningContainersAndJsonParses) {
    std::string a = start_d({"--network", "none", "--name", "one"}, {"sleep", "100"});
    std::string b = start_d({"--network", "none", "--name", "two"}, {"sleep", "100"});
    ASSERT_FALSE(a.empty() || b.empty());
    ASSERT_EQ(hutch({"run", "--network", "none", "--name", "done", rootfs_, "true"}).code, 0);
    Result r = hutch({"stats", "--no-stream", "--format", "json"});
    ASSERT_EXIT_CODE(r, 0);
    ASSERT_EQ(r.out_lines().size(), 2u) << r.out;
    std::set<std::string> names;
    for (const auto& line : r.out_lines()) {
        json j = json::parse(line);
        std::set<std::string> keys;
        for (auto& [k, v] : j.items()) keys.insert(k);
        EXPECT_EQ(keys, (std::set<std::string>{"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name",
                                               "NetIO", "PIDs"}));
        EXPECT_EQ(j["Container"], j["ID"]);  // Docker names a listed container by its short id
        names.insert(j["Name"].get<std::string>());
    }
    EXPECT_EQ(names, (std::set<std::string>{"one", "two"}));
    // -a adds the exited one, with zeros as Docker shows a stopped container.
    Result all = hutch({"stats", "--no-stream", "-a", "--format", "json"});
    ASSERT_EQ(all.out_lines().size(), 3u) << all.out;
    bool saw_done = false;
    for (const auto& line : all.out_lines()) {
        json j = json::parse(line);
        if (j["Name"] != "done") continue;
        saw_done = true;
        EXPECT_EQ(j["MemUsage"], "0B / 0B");
        EXPECT_EQ(j["CPUPerc"], "0.00%");
        EXPECT_EQ(j["PIDs"], "0");
    }
    EXPECT_TRUE(saw_done) << all.out;
    // The table: Docker's header and one line per running container.
    Result table = hutch({"stats", "--no-stream"});
    ASSERT_EXIT_CODE(table, 0);
    ASSERT_EQ(table.out_lines().size(), 3u) << table.out;
    EXPECT_TRUE(std::regex_match(table.out_lines()[0],
                                 std::regex("CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS")))
        << table.out;
    EXPECT_EQ(table.out.find("\033["), std::string::npos);  // no screen codes with --no-stream
}

TEST_F(StatsIntegration, StreamsFramesUntilStopped) {
    ASSERT_FALSE(start_d({"--network", "none", "--name", "live"}, {"sleep", "100"}).empty());
    Strings argv = {hutch_binary()};
    Strings args = roots_.hutch_args({"stats", "live"});
    argv.insert(argv.end(), args.begin(), args.end());
    Process p = Process::spawn(argv);
    // Two frames, each after Docker's clear-screen codes (the second a second after the first).
    ASSERT_TRUE(p.wait_for_output("live", 10s)) << p.out_so_far() << p.err_so_far();
    auto deadline = std::chrono::steady_clock::now() + 10s;
    auto frames = [&] {
        size_t n = 0;
        for (auto pos = p.out_so_far().find("\033[2J\033[H"); pos != std::string::npos;
             pos = p.out_so_far().find("\033[2J\033[H", pos + 1))
            ++n;
        return n;
    };
    while (frames() < 2 && std::chrono::steady_clock::now() < deadline) p.wait_for_output("\033[2J\033[Hnever", 200ms);
    EXPECT_GE(frames(), 2u) << p.out_so_far();
    ::kill(p.pid(), SIGINT);  // the test's own child, by pid
    Result r = p.wait(5s);
    EXPECT_FALSE(r.timed_out);
}

TEST_F(StatsIntegration, UnknownContainerIsOneLineExit125) {
    Result r = hutch({"stats", "--no-stream", "nosuch"});
    EXPECT_EXIT_CODE(r, 125);
    ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_NE(r.err.find("no such container: nosuch"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    Result f = hutch({"stats", "--no-stream", "--format", "{{.Name}}"});
    EXPECT_EXIT_CODE(f, 125);
    EXPECT_EQ(f.err_lines().size(), 1u) << f.err;
    EXPECT_NE(f.err.find("{{.Name}}"), std::string::npos) << f.err;
}

}  // namespace
}  // namespace hutch_it
