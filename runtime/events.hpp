// Events, as `docker system events` shows them: one JSON line per event, appended to
// <data-root>/events.jsonl by whichever hutch process acted (under the file's flock, so
// concurrent writers never interleave a line, and whole or not at all: a full disk never leaves
// half a line for the next one to glue onto), read back by `hutch events`, which skips a line
// that is not a whole event.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>


namespace hutch::events {

struct Event {
    std::string type;    // container | network
    std::string action;  // create, start, die, kill, stop, destroy, exec_create: sh, connect, ...
    std::string id;
    std::map<std::string, std::string> attributes;  // sorted by key, as Docker prints them
    std::int64_t time_nano = 0;
};

// Appends `event` (stamped now when time_nano is 0). Failing to log never fails the action: it
// is reported on stderr as one warning line.
void emit(const std::string& data_root, Event event);

nlohmann::json to_json(const Event& event);
Event from_json(const nlohmann::json& json);
// One line of events.jsonl; nullopt when it is not a whole event (a line a full disk or a crash
// cut short, or anything else that is not what emit() writes).
std::optional<Event> parse_line(const std::string& line);
// Docker's text line: 2017-09-27T10:54:58.943347229-07:00 container create <id> (k=v, k=v)
std::string to_text(const Event& event);

// --since/--until: RFC 3339 (with or without fraction and zone), Unix seconds ("1700000000.5"),
// or a duration before now ("10m", "1h30m", "45s"). nullopt when the text is none of these.
// The wall clock in nanoseconds since the epoch, as events record time.
std::int64_t now_nano();
std::optional<std::int64_t> parse_time(const std::string& text, std::int64_t now_nano);

struct Filter {
    std::map<std::string, std::vector<std::string>> values;  // key -> accepted values (OR)
    // "type=container", "event=die", "container=NAME|ID", "network=NAME|ID"; UsageError otherwise.
    void add(const std::string& key_value);
    bool matches(const Event& event) const;  // every key (AND) has one matching value (OR)
};

}  // namespace hutch::events
