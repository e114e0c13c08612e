#include "runtime/explain.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <utility>
#include <vector>

namespace hutch::explain {

// line() at the time `at` (null: now).
void line(const std::string& text, const timespec* at);

namespace {
bool g_enabled = false;
const char* g_actor = "parent";
std::vector<std::pair<std::string, std::string>> g_aliases;  // prefix -> $NAME, longest first

std::string abbreviate(std::string text) {
    for (const auto& [prefix, name] : g_aliases) {
        for (std::size_t at = text.find(prefix); at != std::string::npos;
             at = text.find(prefix, at + name.size()))
            text.replace(at, prefix.size(), name);
    }
    return text;
}
}  // namespace

void define(const std::string& name, const std::string& prefix) {
    if (!g_enabled) return;
    line("# " + name + "=" + prefix);
    g_aliases.emplace_back(prefix, "$" + name);
    std::sort(g_aliases.begin(), g_aliases.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

bool g_times = false;
bool g_lookups = false;
timespec g_main_began{};

void main_began() { ::clock_gettime(CLOCK_MONOTONIC, &g_main_began); }

void enable(bool on) {
    g_enabled = on;
    // HUTCH_EXPLAIN_TIMES=1 stamps each line with CLOCK_MONOTONIC, to see where a start's time
    // goes (the same clock in parent, child and the re-executed parent).
    g_times = on && std::getenv("HUTCH_EXPLAIN_TIMES") != nullptr;
    const char* level = std::getenv("HUTCH_EXPLAIN");
    g_lookups = on && level && std::string(level) == "all";
    if (g_times && g_main_began.tv_sec != 0) {
        line("# main() began (before it: the exec, the dynamic loader, static constructors)", &g_main_began);
        line("# the command line parsed (CLI11); for run and create, the Spec built from it too");
    }
}
bool enabled() { return g_enabled; }
bool lookups() { return g_lookups; }
void set_actor(const char* actor) { g_actor = actor; }

void line(const std::string& text) { line(text, nullptr); }

void line(const std::string& text, const timespec* at) {
    if (!g_enabled) return;
    std::string out;
    if (g_times) {
        timespec ts{};
        if (at) ts = *at;
        else ::clock_gettime(CLOCK_MONOTONIC, &ts);
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "%ld.%06ld ", static_cast<long>(ts.tv_sec), ts.tv_nsec / 1000);
        out += stamp;
    }
    out += "[";
    out += g_actor;
    out += "] ";
    out += abbreviate(text);
    out += '\n';
    // One write so concurrent parent/child lines stay whole; a short write on stderr is not
    // worth retrying for a diagnostic.
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, out.data(), out.size());
}

void comment(const std::string& text) {
    if (g_enabled) line("# " + text);
}

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace hutch::explain
