// hutch create and hutch start: a container that exists before it runs, and runs again.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

class CreateStartIntegration : public HutchTest {
protected:
    std::string status(const std::string& name) {
        Result r = roots_.hutch({"ps", "-a", "--format", "json"});
        EXPECT_EQ(r.code, 0) << describe(r);
        for (const auto& line : r.out_lines()) {
            if (line.empty()) continue;
            json j = json::parse(line);
            if (j["Names"] == name) return j["State"];
        }
        return "";
    }
};

TEST_F(CreateStartIntegration, CreatedContainerRunsOnStartAndKeepsItsLayerAcrossStarts) {
    Result created = roots_.hutch({"create", "--network", "none", "--name", "cs1", rootfs_, "sh", "-c",
                                   "test -e /marker && echo again; touch /marker; exit 4"});
    ASSERT_EQ(created.code, 0) << describe(created);
    EXPECT_TRUE(std::regex_match(trim(created.out), std::regex("[0-9a-f]{64}"))) << created.out;
    EXPECT_EQ(status("cs1"), "created");
    // Nothing runs yet: no process of its own, no cgroup, just the record.
    Result first = roots_.hutch({"start", "-a", "cs1"});
    EXPECT_EQ(first.code, 4) << describe(first);
    EXPECT_EQ(first.out, "");
    EXPECT_EQ(status("cs1"), "exited");
    Result second = roots_.hutch({"start", "-a", "cs1"});
    EXPECT_EQ(second.code, 4) << describe(second);
    EXPECT_EQ(second.out, "again\n");  // its writable layer survived the first run
    EXPECT_EQ(roots_.hutch({"rm", "cs1"}).code, 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(CreateStartIntegration, DetachedStartAndStartOfARunningContainer) {
    ASSERT_EQ(roots_.hutch({"create", "--network", "none", "--name", "cs2", rootfs_, "sleep", "30"}).code, 0);
    Result started = roots_.hutch({"start", "cs2"});
    EXPECT_EQ(started.code, 0) << describe(started);
    EXPECT_EQ(status("cs2"), "running");
    Result again = roots_.hutch({"start", "cs2"});
    EXPECT_EQ(again.code, 125) << describe(again);
    EXPECT_EQ(again.err_lines().size(), 1u) << describe(again);
    EXPECT_EQ(roots_.hutch({"rm", "-f", "cs2"}).code, 0);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(CreateStartIntegration, BadCreateLeavesNothingAndUnknownStartIs125) {
    for (const Strings& args : {Strings{"create", "--cap-add", "NOPE", rootfs_, "true"},
                                Strings{"create", "--name", "-bad", rootfs_, "true"},
                                Strings{"create", "/nonexistent-rootfs", "true"}, Strings{"start", "nosuch"}}) {
        Result r = roots_.hutch(args);
        EXPECT_EQ(r.code, 125) << describe(r);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    }
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(CreateStartIntegration, PsFormatJson) {
    ASSERT_EQ(run({"--network", "none", "--name", "cs4"}, {"true"}).code, 0);  // --rm: gone
    ASSERT_EQ(roots_.hutch({"run", "--network", "none", "--name", "cs5", rootfs_, "sh", "-c", "exit 6"}).code, 6);
    Result r = roots_.hutch({"ps", "-a", "--format", "json"});
    ASSERT_EQ(r.code, 0) << describe(r);
    ASSERT_EQ(r.out_lines().size(), 1u) << r.out;
    json j = json::parse(r.out_lines()[0]);
    // docker ps --format json: its list context, in Docker's words.
    EXPECT_EQ(j["Names"], "cs5");
    EXPECT_EQ(j["State"], "exited");
    EXPECT_EQ(j["Status"].get<std::string>().rfind("Exited (6) ", 0), 0u) << j.dump();
    EXPECT_EQ(j["Command"], "\"sh -c 'exit 6'\"");
    EXPECT_EQ(j["Image"], rootfs_);
    EXPECT_EQ(j["Networks"], "none");
    EXPECT_EQ(j["ID"].get<std::string>().size(), 12u);
    EXPECT_EQ(inspect_container(roots_, "cs5")["Id"].get<std::string>().substr(0, 12), j["ID"]);
    // A format that is not a template Docker knows: one line, exit 125.
    Result bad = roots_.hutch({"ps", "-a", "--format", "{{.Nope}}"});
    EXPECT_EQ(bad.code, 125);
    EXPECT_EQ(bad.err_lines().size(), 1u) << describe(bad);
    EXPECT_NE(bad.err.find("can't evaluate field Nope"), std::string::npos) << describe(bad);
    roots_.hutch({"rm", "cs5"});
}

}  // namespace
}  // namespace hutch_it
