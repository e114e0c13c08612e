#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/events.hpp"

using namespace hutch;
using events::Event;

namespace {
constexpr std::int64_t kNow = 1'800'000'000'000'000'000;  // 2027-01-15T08:00:00Z
}

TEST(EventsTime, Rfc3339WithAndWithoutFractionAndZone) {
    EXPECT_EQ(events::parse_time("2026-11-28T16:00:00Z", kNow), 1795881600LL * 1'000'000'000);
    EXPECT_EQ(events::parse_time("2026-11-28T16:00:00.5Z", kNow), 1795881600LL * 1'000'000'000 + 500'000'000);
    EXPECT_EQ(events::parse_time("2026-11-28T17:00:00+01:00", kNow), 1795881600LL * 1'000'000'000);
    EXPECT_EQ(events::parse_time("2026-11-28T15:00:00.000000001-01:00", kNow), 1795881600LL * 1'000'000'000 + 1);
}

TEST(EventsTime, UnixSecondsAndDurations) {
    EXPECT_EQ(events::parse_time("1795881600", kNow), 1795881600LL * 1'000'000'000);
    EXPECT_EQ(events::parse_time("1795881600.25", kNow), 1795881600LL * 1'000'000'000 + 250'000'000);
    EXPECT_EQ(events::parse_time("10m", kNow), kNow - 600LL * 1'000'000'000);
    EXPECT_EQ(events::parse_time("1h30m", kNow), kNow - 5400LL * 1'000'000'000);
    EXPECT_EQ(events::parse_time("0s", kNow), kNow);
}

TEST(EventsTime, BadTextIsRejected) {
    for (const char* bad : {"", "yesterday", "10x", "m10", "1.2.3", "2026-11-28", "2026-11-28T16:00:00",
                            "2026-11-28T16:00:00Zjunk"})
        EXPECT_FALSE(events::parse_time(bad, kNow).has_value()) << bad;
}

// Found by the events fuzz target (tests/fuzz/corpus/events/regress-*): each threw out of
// parse_time (std::stoll), overflowed int64 nanoseconds, or read past the text's end.
TEST(EventsTime, OutOfRangeAndCutShortAreRejected) {
    for (const char* bad : {".", ".5", "99999999999999999999", "9999999999s", "1h99999999999999999m",
                            "9999999999999999999h", "0001-01-01T00:00:00Z", "9999-01-01T00:00:00Z",
                            "2026-01-01T00:00:00.5+1:2", "2026-01-01T00:00:00+01:0", "2026-01-01T00:00:00+01:00:"}) {
        std::optional<std::int64_t> t;
        EXPECT_NO_THROW(t = events::parse_time(bad, kNow)) << bad;
        EXPECT_FALSE(t.has_value()) << bad << " read as " << *t;
    }
    // The ends of the range still read.
    EXPECT_EQ(events::parse_time("9223372036.854775807", kNow), INT64_MAX);
    EXPECT_EQ(events::parse_time("1677-09-21T00:12:44Z", kNow), -9223372036LL * 1'000'000'000);
}

TEST(EventsText, DockersLineWithSortedAttributes) {
    Event e{"container", "die", "abc", {{"name", "web"}, {"exitCode", "3"}, {"image", "/r"}}, 1795881600LL * 1'000'000'000 + 42};
    std::string line = events::to_text(e);
    // The time is local with a numeric offset; the rest is fixed.
    EXPECT_NE(line.find(".000000042"), std::string::npos) << line;
    EXPECT_NE(line.find(" container die abc (exitCode=3, image=/r, name=web)"), std::string::npos) << line;
}

TEST(EventsJson, DockersShapeRoundTrips) {
    Event e{"network", "connect", "n1", {{"container", "c1"}, {"name", "lab"}}, 1795881600LL * 1'000'000'000 + 7};
    nlohmann::json j = events::to_json(e);
    EXPECT_EQ(j["Type"], "network");
    EXPECT_EQ(j["Action"], "connect");
    EXPECT_EQ(j["Actor"]["ID"], "n1");
    EXPECT_EQ(j["Actor"]["Attributes"]["container"], "c1");
    EXPECT_EQ(j["scope"], "local");
    EXPECT_EQ(j["time"], 1795881600);
    EXPECT_EQ(j["timeNano"], 1795881600LL * 1'000'000'000 + 7);
    Event back = events::from_json(j);
    EXPECT_EQ(back.type, e.type);
    EXPECT_EQ(back.action, e.action);
    EXPECT_EQ(back.attributes, e.attributes);
    EXPECT_EQ(back.time_nano, e.time_nano);
}

TEST(EventsFilter, SameKeyOrDifferentKeysAnd) {
    Event die{"container", "die", "abcdef", {{"name", "web"}}, 1};
    Event exec{"container", "exec_start: sh -c true", "abcdef", {{"name", "web"}}, 1};
    Event net{"network", "connect", "n1", {{"name", "lab"}, {"container", "abcdef"}}, 1};
    events::Filter f;
    f.add("event=die");
    f.add("event=exec_start");
    EXPECT_TRUE(f.matches(die));
    EXPECT_TRUE(f.matches(exec));  // "exec_start: <command>" matches exec_start
    EXPECT_FALSE(f.matches(net));
    f.add("container=web");
    EXPECT_TRUE(f.matches(die));
    f.add("type=network");
    EXPECT_FALSE(f.matches(die));  // type AND event: nothing is both
    events::Filter by_prefix;
    by_prefix.add("container=abc");
    EXPECT_TRUE(by_prefix.matches(die));
    EXPECT_TRUE(by_prefix.matches(net));  // a network event names the container
    events::Filter network;
    network.add("network=lab");
    EXPECT_TRUE(network.matches(net));
    EXPECT_FALSE(network.matches(die));
}

TEST(EventsFilter, UnknownKeyAndMalformedAreErrors) {
    events::Filter f;
    EXPECT_THROW(f.add("image=x"), UsageError);
    EXPECT_THROW(f.add("type"), UsageError);
    EXPECT_THROW(f.add("type="), UsageError);
}

// Found by the events fuzz target (corpus events/regress-float-time): a float timeNano was
// converted to int64 with undefined behaviour (1e36) or silently cut (1.5). `hutch events`
// skips a line that does not read as an event, as it skips a torn one.
TEST(EventsJson, TimeThatIsNotAnIntegerIsRefused) {
    for (const char* line : {R"({"Type":"container","timeNano":1e36})", R"({"Type":"container","timeNano":1.5})",
                             R"({"Type":"container","timeNano":"1"})"})
        EXPECT_THROW(events::from_json(nlohmann::json::parse(line)), UsageError) << line;
    EXPECT_EQ(events::from_json(nlohmann::json::parse(R"({"timeNano":7})")).time_nano, 7);
}

// `hutch exec C echo $'caf\xe9'` failed with the JSON library's type_error 316: its
// exec_create event names the command, and writing the event line threw.
TEST(EventsEmit, TextThatIsNotUtf8IsLoggedWithReplacementCharacters) {
    char dir[] = "/tmp/hutch-events-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    EXPECT_NO_THROW(events::emit(dir, {"container", "exec_create: echo caf\xe9", "abc", {}, 1}));
    std::string path = std::string(dir) + "/events.jsonl";
    std::ifstream in(path);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(events::from_json(nlohmann::json::parse(line)).action, "exec_create: echo caf\xef\xbf\xbd");
    std::remove(path.c_str());
    ::rmdir(dir);
}
