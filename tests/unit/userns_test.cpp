#include <unistd.h>
#include <gtest/gtest.h>

#include "runtime/error.hpp"
#include "runtime/userns.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using Map = std::vector<IdMapping>;

TEST(Userns, SubordinateRangesOfOneName) {
    const std::string text = "alice:100000:65536\nhutch:200000:10\nhutchx:1:1\n\nhutch:300000:5\n";
    EXPECT_EQ(userns::subordinate_ranges(text, "hutch", "/etc/subuid"), (Map{{0, 200000, 10}, {0, 300000, 5}}));
    EXPECT_EQ(userns::subordinate_ranges(text, "bob", "/etc/subuid"), Map{});
    // A broken line of another name is not this name's business; one of this name is an error.
    EXPECT_EQ(userns::subordinate_ranges("bob:x:y\nhutch:1:2\n", "hutch", "f"), (Map{{0, 1, 2}}));
    for (const char* bad : {"hutch:1\n", "hutch:1:0\n", "hutch:-1:5\n", "hutch:4294967295:2\n", "hutch:1:2:3\n"})
        EXPECT_TRUE(contains(usage_error([&] { userns::subordinate_ranges(bad, "hutch", "/etc/subuid"); }),
                             "/etc/subuid line 1: the entry of hutch"))
            << bad;
}

TEST(Userns, ParseMapping) {
    EXPECT_EQ(userns::parse_mapping("0:200000:65536", "--uidmap"), (IdMapping{0, 200000, 65536}));
    for (const char* bad : {"", "0:1", "0:1:2:3", "a:1:2", "0:1:-2", "0:4294967296:1", " 0:1:2", "0:1:2 "})
        EXPECT_TRUE(contains(usage_error([&] { userns::parse_mapping(bad, "--uidmap"); }), "invalid --uidmap")) << bad;
}

TEST(Userns, ProcMapsAndTheMapsOfAJoinedNamespace) {
    EXPECT_EQ(userns::parse_proc_map("         0     200000      65536\n     65536     300000          1\n", "m"),
              (Map{{0, 200000, 65536}, {65536, 300000, 1}}));
    for (const char* bad : {"0 1\n", "0 1 2 3\n", "0 1 0\n", "x 1 2\n", "4294967296 0 1\n"})
        EXPECT_THROW(userns::parse_proc_map(bad, "m"), Error) << bad;
    // This process's own: the host's whole range (a unit test runs in no user namespace of its own
    // or in one whose maps the kernel writes the same way).
    auto own = userns::maps_of_joined("/proc/" + std::to_string(::getpid()) + "/ns/user");
    ASSERT_TRUE(own.has_value());
    EXPECT_FALSE(own->first.empty());
    // Only a process's namespace file names maps hutch can read.
    for (const char* other : {"/run/netns/x", "/proc/self/ns/user", "/proc/1x/ns/user", "/proc//ns/user", "/proc/1/ns/net"})
        EXPECT_FALSE(userns::maps_of_joined(other).has_value()) << other;
}

TEST(Userns, CheckMap) {
    EXPECT_NO_THROW(userns::check_map({{0, 200000, 65536}}, "--uidmap"));
    EXPECT_NO_THROW(userns::check_map({{1, 300000, 10}, {0, 200000, 1}}, "--uidmap"));
    auto error = [](const Map& m) { return usage_error([&] { userns::check_map(m, "--uidmap"); }); };
    EXPECT_TRUE(contains(error({}), "no range given"));
    EXPECT_TRUE(contains(error({{0, 1, 0}}), "at least 1"));
    EXPECT_TRUE(contains(error({{0, 4294967290u, 10}}), "runs past the last id"));
    EXPECT_TRUE(contains(error({{4294967290u, 1, 10}}), "runs past the last id"));
    EXPECT_TRUE(contains(error({{0, 100, 10}, {9, 500, 1}}), "overlap inside the container"));
    EXPECT_TRUE(contains(error({{0, 100, 10}, {10, 109, 1}}), "overlap on the host"));
    EXPECT_TRUE(contains(error({{1, 100, 10}}), "must map the container's id 0"));
    Map many;
    for (std::uint32_t i = 0; i < 341; ++i) many.push_back({i, 1000 + i, 1});
    EXPECT_TRUE(contains(error(many), "the kernel takes at most 340"));
}

TEST(Userns, AutoSlotsAreLaidOverTheRangesEndToEnd) {
    Map ranges = {{0, 1000000, 65536}, {0, 2000000, 100000}, {0, 3000000, 31072}};
    EXPECT_EQ(userns::slots_in(ranges), 3u);
    EXPECT_EQ(userns::slots_in({{0, 1, 65535}}), 0u);
    EXPECT_EQ(userns::map_from(ranges, 0, 65536), (Map{{0, 1000000, 65536}}));
    EXPECT_EQ(userns::map_from(ranges, 65536, 10), (Map{{0, 2000000, 10}}));
    EXPECT_EQ(userns::map_from(ranges, 131072, 65536), (Map{{0, 2065536, 34464}, {34464, 3000000, 31072}}));
}

TEST(Userns, HostIdsAndTheHighestMapped) {
    Map m = {{0, 200000, 10}, {10, 500000, 20}};
    EXPECT_EQ(userns::host_id(m, 0), 200000u);
    EXPECT_EQ(userns::host_id(m, 12), 500002u);
    EXPECT_EQ(userns::host_id(m, 30), std::nullopt);
    EXPECT_TRUE(userns::maps(m, 29));
    EXPECT_FALSE(userns::maps(m, 30));
    EXPECT_EQ(userns::highest_mapped(m), 29u);
    EXPECT_EQ(userns::remap_names("default"), (std::pair<std::string, std::string>{"hutch", "hutch"}));
    EXPECT_EQ(userns::remap_names("a:b"), (std::pair<std::string, std::string>{"a", "b"}));
    EXPECT_EQ(userns::remap_names("a"), (std::pair<std::string, std::string>{"a", "a"}));
}
