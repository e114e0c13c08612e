// events.jsonl lines and `hutch events` arguments (runtime/events.hpp). The file is shared by
// every hutch process of a data root and may hold a torn or foreign line; --since, --until and
// --filter are typed by users. The input is lines: each is read as an event the way `hutch
// events` reads the file (a line that is not an event is skipped), and as a --since/--until time
// and a --filter.
//
// Invariants: an event survives to_json/from_json unchanged and prints as text; a duration
// ("10m") lies before now; an event matches a filter of its own type, action and id; times,
// filters and matching never throw anything but UsageError, and
// never run into undefined behaviour (overflowing digits, a zone cut short).
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using hutch::events::Event;

constexpr std::int64_t kNow = 1'795'876'405'593'610'807;  // a fixed "now": runs repeat exactly

bool same(const Event& a, const Event& b) {
    return a.type == b.type && a.action == b.action && a.id == b.id && a.attributes == b.attributes &&
           a.time_nano == b.time_nano;
}

// As runtime/cli/events.cpp reads each line: a line that does not parse is skipped.
std::optional<Event> read_line(const std::string& line) {
    try {
        return hutch::events::from_json(nlohmann::json::parse(line));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void check_time(const std::string& text) {
    auto t = hutch::events::parse_time(text, kNow);
    if (!t) return;
    bool duration = !text.empty() && text.find_first_not_of("0123456789hms") == std::string::npos &&
                    std::isalpha(static_cast<unsigned char>(text.back()));
    if (duration) FUZZ_CHECK(*t <= kNow, "a duration lies after now: " + text);
    FUZZ_CHECK(hutch::events::parse_time(text, kNow) == t, "parse_time is not repeatable: " + text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 16384) return -1;
    std::string text = hutch::fuzz::as_string(data, size);
    std::vector<Event> events;
    hutch::events::Filter filter;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = std::min(text.find('\n', start), text.size());
        std::string line = text.substr(start, nl - start);
        start = nl + 1;
        if (auto e = read_line(line)) {
            Event back = hutch::events::from_json(hutch::events::to_json(*e));
            FUZZ_CHECK(same(*e, back), "an event changed through to_json/from_json: " + line);
            std::string shown = hutch::events::to_text(*e);
            FUZZ_CHECK(shown.find(" " + e->type + " " + e->action + " ") != std::string::npos,
                       "the text line lacks the type and action: " + shown);
            events.push_back(*e);
        }
        check_time(line);
        try {
            filter.add(line);
        } catch (const hutch::UsageError&) {
        }
    }
    for (const auto& e : events) {
        bool any = filter.matches(e);
        FUZZ_CHECK(filter.matches(e) == any, "matching is not repeatable");
        // An event matches a filter made of its own type, action and (container) id.
        hutch::events::Filter own;
        if (!e.type.empty()) own.add("type=" + e.type);
        if (!e.action.empty()) own.add("event=" + e.action);
        if (!e.id.empty() && e.type == "container") own.add("container=" + e.id);
        FUZZ_CHECK(own.matches(e), "an event does not match its own type, action and id");
    }
    return 0;
}
