#include "runtime/events.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
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
    std::string line = to_json(event).dump() + "\n";
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

std::optional<std::int64_t> parse_time(const std::string& text, std::int64_t now) {
    if (text.empty()) return std::nullopt;
    // A duration before now: digits and units, e.g. 1h30m, 45s, 10m.
    if (text.find_first_not_of("0123456789hms") == std::string::npos &&
        std::isalpha(static_cast<unsigned char>(text.back()))) {
        std::int64_t total = 0, number = 0;
        bool digits = false;
        for (char c : text) {
            if (std::isdigit(static_cast<unsigned char>(c))) {
                number = number * 10 + (c - '0');
                digits = true;
                continue;
            }
            std::int64_t unit = c == 'h' ? 3600 : c == 'm' ? 60 : c == 's' ? 1 : 0;
            if (!unit || !digits) return std::nullopt;
            total += number * unit;
            number = 0;
            digits = false;
        }
        if (digits) return std::nullopt;
        return now - total * 1'000'000'000;
    }
    // Unix seconds, with an optional fraction.
    if (text.find_first_not_of("0123456789.") == std::string::npos) {
        auto dot = text.find('.');
        if (text.find('.', dot == std::string::npos ? 0 : dot + 1) != std::string::npos && dot != std::string::npos)
            return std::nullopt;
        std::int64_t secs = std::stoll(text.substr(0, dot));
        std::int64_t frac = 0;
        if (dot != std::string::npos) {
            std::string f = (text.substr(dot + 1) + "000000000").substr(0, 9);
            frac = std::stoll(f);
        }
        return secs * 1'000'000'000 + frac;
    }
    // RFC 3339: 2026-11-28T16:00:00[.123456789](Z|+01:00)
    tm t{};
    const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
    if (!rest) return std::nullopt;
    std::int64_t frac = 0;
    if (*rest == '.') {
        std::string digits;
        for (++rest; std::isdigit(static_cast<unsigned char>(*rest)); ++rest) digits += *rest;
        if (digits.empty()) return std::nullopt;
        frac = std::stoll((digits + "000000000").substr(0, 9));
    }
    std::int64_t offset = 0;
    if (*rest == 'Z') {
        ++rest;
    } else if (*rest == '+' || *rest == '-') {
        int hh = 0, mm = 0;
        if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
        offset = (*rest == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
        rest += 6;
    } else {
        return std::nullopt;
    }
    if (*rest) return std::nullopt;
    return (static_cast<std::int64_t>(::timegm(&t)) - offset) * 1'000'000'000 + frac;
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
