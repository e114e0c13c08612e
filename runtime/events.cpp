#include "runtime/events.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string_view>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"

namespace hutch::events {

std::int64_t now_nano() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

// Appends `line` whole or not at all. Writers take the file's flock, so between the size read
// here and the write nobody else appends; a write the disk could only take part of (ENOSPC,
// EDQUOT, EFBIG) is cut off again, so the next line never glues onto half an event. A file that
// does not end in a newline (a crash mid-write, an older hutch on a full disk) gets one first.
void append_line(const std::string& file, std::string line) {
    Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw SysError("record an event", "open", file, errno);
    while (::flock(fd.get(), LOCK_EX) != 0)
        if (errno != EINTR) throw SysError("record an event", "flock", file, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw SysError("record an event", "fstat", file, errno);
    char last = '\n';
    if (st.st_size > 0 && ::pread(fd.get(), &last, 1, st.st_size - 1) != 1) last = '\n';
    if (last != '\n') line.insert(0, "\n");
    for (std::size_t done = 0; done < line.size();) {
        ssize_t n = ::write(fd.get(), line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : ENOSPC;
            // Should the cut fail too, the part written stays: the newline check above starts
            // the next line on a line of its own, and readers skip the damaged one.
            [[maybe_unused]] int cut = done > 0 ? ::ftruncate(fd.get(), st.st_size) : 0;
            throw SysError("record an event", "write", file, err);
        }
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace

void emit(const std::string& data_root, Event event) {
    if (!event.time_nano) event.time_nano = now_nano();
    // An exec'd command may be Latin-1: replaced by U+FFFD as Docker's JSON encoder does, not a
    // JSON type_error that would fail the exec itself.
    std::string line = to_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    ::mkdir(data_root.c_str(), 0711);
    try {
        append_line(data_root + "/events.jsonl", line);
    } catch (const SysError& e) {
        // As Docker, whose event log never fails the action it reports: the action goes on, and
        // the missing event is said once, on stderr (a detached container's monitor writes it
        // into that container's log, where its other messages go).
        std::string warning = "hutch: warning: event \"" + event.type + " " + event.action + "\" not recorded: " +
                              e.what() + "\n";
        [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, warning.data(), warning.size());
    }
}

nlohmann::json to_json(const Event& e) {
    return {{"Type", e.type},
            {"Action", e.action},
            {"Actor", {{"ID", e.id}, {"Attributes", e.attributes}}},
            {"scope", "local"},
            {"time", e.time_nano / 1'000'000'000},
            {"timeNano", e.time_nano}};
}

Event from_json(const nlohmann::json& j) {
    Event e;
    e.type = j.value("Type", "");
    e.action = j.value("Action", "");
    const auto& actor = j.value("Actor", nlohmann::json::object());
    e.id = actor.value("ID", "");
    e.attributes = actor.value("Attributes", std::map<std::string, std::string>{});
    // An integer only: nlohmann converts a float such as 1e36 to int64 with undefined behaviour.
    if (j.contains("timeNano") && !j["timeNano"].is_number_integer())
        throw UsageError("event: timeNano must be an integer, not " + j["timeNano"].dump());
    e.time_nano = j.value("timeNano", std::int64_t{0});
    return e;
}

std::optional<Event> parse_line(const std::string& line) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    auto text = [&](const char* key) { return j.contains(key) && j[key].is_string(); };
    if (!text("Type") || !text("Action") || !j.contains("timeNano") || !j["timeNano"].is_number_integer() ||
        !j.contains("Actor") || !j["Actor"].is_object())
        return std::nullopt;
    try {
        return from_json(j);
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;  // an Actor whose fields have the wrong types: not an event hutch wrote
    }
}

std::string to_text(const Event& e) {
    time_t secs = static_cast<time_t>(e.time_nano / 1'000'000'000);
    tm local{};
    ::localtime_r(&secs, &local);
    char date[40], zone[8];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
    std::strftime(zone, sizeof zone, "%z", &local);  // +0100 -> +01:00
    std::string offset = std::string(zone).substr(0, 3) + ":" + std::string(zone).substr(3);
    char nanos[16];
    std::snprintf(nanos, sizeof nanos, ".%09lld", static_cast<long long>(e.time_nano % 1'000'000'000));
    std::string out = std::string(date) + nanos + offset + " " + e.type + " " + e.action + " " + e.id;
    if (!e.attributes.empty()) {
        out += " (";
        bool first = true;
        for (const auto& [k, v] : e.attributes) {
            out += (first ? "" : ", ") + k + "=" + v;
            first = false;
        }
        out += ")";
    }
    return out;
}

namespace {

// Times are int64 nanoseconds, which end in 2262: every step is checked, so a text of many
// digits, year 1 or year 9999 is "not a time" instead of a signed overflow.
std::optional<std::int64_t> scaled(std::int64_t value, std::int64_t unit, std::int64_t plus = 0) {
    std::int64_t out = 0;
    if (__builtin_mul_overflow(value, unit, &out) || __builtin_add_overflow(out, plus, &out)) return std::nullopt;
    return out;
}

// Decimal digits only, at most 18 of them (so the value fits); nullopt otherwise.
std::optional<std::int64_t> decimal(std::string_view digits) {
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    std::int64_t value = 0;
    for (char c : digits) value = value * 10 + (c - '0');
    return value;
}

// Up to 9 fraction digits as nanoseconds ("5" is 500000000); more digits are cut off.
std::int64_t fraction(std::string_view digits) {
    std::string nine = (std::string(digits.substr(0, 9)) + "000000000").substr(0, 9);
    return *decimal(nine);
}

// A duration before now: digits and units, e.g. 1h30m, 45s, 10m.
std::optional<std::int64_t> parse_duration(std::string_view text, std::int64_t now) {
    std::int64_t total = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(text[i]))) continue;
        std::int64_t unit = text[i] == 'h' ? 3600 : text[i] == 'm' ? 60 : text[i] == 's' ? 1 : 0;
        auto number = decimal(text.substr(start, i - start));
        auto seconds = number && unit ? scaled(*number, unit) : std::nullopt;
        if (!seconds || __builtin_add_overflow(total, *seconds, &total)) return std::nullopt;
        start = i + 1;
    }
    if (start != text.size()) return std::nullopt;  // digits without a unit
    auto nanos = scaled(total, 1'000'000'000);
    std::int64_t out = 0;
    if (!nanos || __builtin_sub_overflow(now, *nanos, &out)) return std::nullopt;
    return out;
}

// Unix seconds, with an optional fraction: "1700000000", "1700000000.5".
std::optional<std::int64_t> parse_unix(std::string_view text) {
    auto dot = text.find('.');
    auto secs = decimal(text.substr(0, dot));
    std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (!secs || frac.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return scaled(*secs, 1'000'000'000, fraction(frac));
}

// RFC 3339: 2026-11-28T16:00:00[.123456789](Z|+01:00)
std::optional<std::int64_t> parse_rfc3339(const std::string& text) {
    tm t{};
    const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
    if (!rest) return std::nullopt;
    std::int64_t frac = 0;
    if (*rest == '.') {
        std::size_t n = 0;
        while (std::isdigit(static_cast<unsigned char>(rest[1 + n]))) ++n;
        if (n == 0) return std::nullopt;
        frac = fraction(std::string_view(rest + 1, n));
        rest += 1 + n;
    }
    std::int64_t offset = 0;
    std::string_view zone = rest;
    if (zone == "Z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' && decimal(zone.substr(1, 2)) &&
               decimal(zone.substr(4, 2))) {
        offset = (zone[0] == '+' ? 1 : -1) * (*decimal(zone.substr(1, 2)) * 3600 + *decimal(zone.substr(4, 2)) * 60);
    } else {
        return std::nullopt;
    }
    std::int64_t secs = 0;
    if (__builtin_sub_overflow(static_cast<std::int64_t>(::timegm(&t)), offset, &secs)) return std::nullopt;
    return scaled(secs, 1'000'000'000, frac);
}

}  // namespace

std::optional<std::int64_t> parse_time(const std::string& text, std::int64_t now) {
    if (text.empty()) return std::nullopt;
    if (text.find_first_not_of("0123456789hms") == std::string::npos &&
        std::isalpha(static_cast<unsigned char>(text.back())))
        return parse_duration(text, now);
    if (text.find_first_not_of("0123456789.") == std::string::npos) return parse_unix(text);
    return parse_rfc3339(text);
}

void Filter::add(const std::string& key_value) {
    auto eq = key_value.find('=');
    std::string key = key_value.substr(0, eq);
    if (eq == std::string::npos || eq + 1 == key_value.size())
        throw UsageError("invalid filter \"" + key_value + "\": expected KEY=VALUE");
    if (key != "type" && key != "event" && key != "container" && key != "network")
        throw UsageError("invalid filter key \"" + key + "\": use type, event, container or network");
    values[key].push_back(key_value.substr(eq + 1));
}

bool Filter::matches(const Event& e) const {
    for (const auto& [key, accepted] : values) {
        bool any = false;
        for (const auto& v : accepted) {
            if (key == "type") any |= e.type == v;
            else if (key == "event") any |= e.action == v || e.action.rfind(v + ":", 0) == 0;
            else if (key == "container")
                any |= e.type == "container"
                           ? (e.id == v || e.id.rfind(v, 0) == 0 || (e.attributes.count("name") && e.attributes.at("name") == v))
                           : (e.attributes.count("container") && e.attributes.at("container").rfind(v, 0) == 0);
            else if (key == "network")
                any |= e.type == "network" &&
                       (e.id == v || e.id.rfind(v, 0) == 0 || (e.attributes.count("name") && e.attributes.at("name") == v));
        }
        if (!any) return false;
    }
    return true;
}

}  // namespace hutch::events
