// hutch events: what each command records, read back as Docker prints it.
#include <gtest/gtest.h>

#include <time.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

class EventsIntegration : public HutchTest {
protected:
    // Every event so far, as JSON objects.
    std::vector<json> all(const Strings& extra = {}) {
        Strings args = {"events", "--since", "1h", "--until", "0s", "--format", "json"};
        args.insert(args.end(), extra.begin(), extra.end());
        Result r = roots_.hutch(args);
        EXPECT_EQ(r.code, 0) << describe(r);
        std::vector<json> out;
        for (const auto& line : r.out_lines())
            if (!line.empty()) out.push_back(json::parse(line));
        return out;
    }
    static Strings actions(const std::vector<json>& events) {
        Strings out;
        for (const auto& e : events) out.push_back(e["Action"]);
        return out;
    }
};

TEST_F(EventsIntegration, RunRmRecordsCreateStartDieDestroyWithTheExitCode) {
    Result r = run({"--network", "none", "--name", "ev1"}, {"sh", "-c", "exit 3"});
    EXPECT_EQ(r.code, 3) << describe(r);
    auto events = all();
    EXPECT_EQ(actions(events), (Strings{"create", "start", "die", "destroy"}));
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[2]["Actor"]["Attributes"]["exitCode"], "3");
    EXPECT_EQ(events[2]["Actor"]["Attributes"]["name"], "ev1");
    EXPECT_EQ(events[2]["Type"], "container");
    EXPECT_EQ(events[2]["Actor"]["ID"].get<std::string>().size(), 64u);
    EXPECT_LE(events[0]["timeNano"].get<long long>(), events[3]["timeNano"].get<long long>());
    // Every one names the image, --rm's destroy too.
    for (const auto& e : events) EXPECT_EQ(e["Actor"]["Attributes"]["image"], rootfs_) << e.dump();
}

TEST_F(EventsIntegration, BridgeRunRecordsNetworkConnectAndDisconnect) {
    Result r = run({"--name", "ev2"}, {"true"});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(actions(all()), (Strings{"create", "connect", "start", "die", "disconnect", "destroy"}));
    auto net = all({"--filter", "type=network"});
    ASSERT_EQ(net.size(), 2u);
    EXPECT_EQ(net[0]["Actor"]["Attributes"]["name"], "bridge");
}

TEST_F(EventsIntegration, StopExecAndFilters) {
    // An image: exec's events name it as run does, not the layer the root is made of.
    ASSERT_EQ(roots_.hutch({"import", rootfs_, "evimg:1"}).code, 0);
    ASSERT_EQ(roots_.hutch({"run", "-d", "--network", "none", "--name", "ev3", "evimg:1", "sleep", "30"}).code, 0);
    EXPECT_EQ(roots_.hutch({"exec", "ev3", "sh", "-c", "exit 2"}).code, 2);
    EXPECT_EQ(roots_.hutch({"stop", "-t", "1", "ev3"}).code, 0);
    auto execs = all({"--filter", "event=exec_create", "--filter", "event=exec_die"});
    ASSERT_EQ(execs.size(), 2u);
    EXPECT_EQ(execs[0]["Action"], "exec_create: sh -c exit 2");
    EXPECT_EQ(execs[1]["Actor"]["Attributes"]["exitCode"], "2");
    EXPECT_EQ(execs[0]["Actor"]["Attributes"]["execID"], execs[1]["Actor"]["Attributes"]["execID"]);
    for (const auto& e : execs) EXPECT_EQ(e["Actor"]["Attributes"]["image"], "evimg:1") << e.dump();
    // stop: SIGTERM, ignored by sleep as pid 1, then SIGKILL, die 137, stop.
    auto stop = all({"--filter", "container=ev3", "--filter", "event=kill", "--filter", "event=die",
                     "--filter", "event=stop"});
    EXPECT_EQ(actions(stop), (Strings{"kill", "kill", "die", "stop"}));
    EXPECT_EQ(stop[0]["Actor"]["Attributes"]["signal"], "15");
    EXPECT_EQ(stop[1]["Actor"]["Attributes"]["signal"], "9");
    EXPECT_EQ(stop[2]["Actor"]["Attributes"]["exitCode"], "137");
    EXPECT_TRUE(all({"--filter", "container=nobody-of-that-name"}).empty());
    roots_.hutch({"rm", "-f", "ev3"});
}

TEST_F(EventsIntegration, TextFormatIsDockersLine) {
    ASSERT_EQ(run({"--network", "none", "--name", "ev4"}, {"true"}).code, 0);
    Result r = roots_.hutch({"events", "--since", "1h", "--until", "0s", "--filter", "event=die"});
    ASSERT_EQ(r.code, 0) << describe(r);
    // 2026-11-28T17:54:52.096498712+00:00 container die <64 hex> (exitCode=0, image=..., name=ev4)
    EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d container die [0-9a-f]{64} \(exitCode=0, image=[^,]+, name=ev4\)\n$)")))
        << r.out;
}

TEST_F(EventsIntegration, FollowsNewEventsUntilTheGivenTime) {
    // --until in the future: it follows, prints what happens meanwhile, then ends.
    Process follower = Process::spawn({hutch_binary(), "--root", roots_.run_root(), "--data-root", roots_.data_root(),
                                       "events", "--until", std::to_string(::time(nullptr) + 2), "--filter",
                                       "event=start"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(run({"--network", "none", "--name", "ev5"}, {"true"}).code, 0);
    Result r = follower.wait(std::chrono::seconds(10));
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_NE(r.out.find("container start"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("name=ev5"), std::string::npos) << describe(r);
}

TEST_F(EventsIntegration, BadTimesAndFiltersAre125) {
    for (const Strings& args : {Strings{"events", "--since", "yesterday"}, Strings{"events", "--until", "10x"},
                                Strings{"events", "--filter", "image=x", "--until", "0s"},
                                Strings{"events", "--filter", "type", "--until", "0s"}}) {
        Result r = roots_.hutch(args);
        EXPECT_EQ(r.code, 125) << describe(r);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    }
}

}  // namespace
}  // namespace hutch_it
