#include "runtime/env.hpp"

#include <algorithm>
#include <sstream>

#include "runtime/error.hpp"

namespace hutch::env {
namespace {

// NAME of NAME=VALUE or NAME; UsageError when it is empty or anything holds a NUL.
std::string checked_name(const std::string& entry) {
    std::string name = entry.substr(0, entry.find('='));
    if (name.empty() || entry.find('\0') != std::string::npos) {
        std::string shown = entry;
        std::replace(shown.begin(), shown.end(), '\0', '?');
        throw UsageError("invalid environment variable: " + in_quotes(shown));
    }
    return name;
}

// A predicate: the entry sets `name`.
auto setting(const std::string& name) {
    return [prefix = name + "="](const std::string& e) { return e.rfind(prefix, 0) == 0; };
}

}  // namespace

std::string resolve(const std::string& entry, const Getenv& getenv) {
    std::string name = checked_name(entry);
    if (entry.size() > name.size()) return entry;  // NAME=VALUE
    const char* value = getenv ? getenv(name.c_str()) : nullptr;
    return value ? name + "=" + value : name;
}

void apply(Strings& env, const std::string& resolved) {
    std::string name = checked_name(resolved);
    auto it = std::find_if(env.begin(), env.end(), setting(name));
    // Without '=': unset (moby's ReplaceOrAppendEnvValues).
    if (resolved.size() == name.size()) std::erase_if(env, setting(name));
    else if (it != env.end()) *it = resolved;
    else env.push_back(resolved);
}

void add(Strings& env, const std::string& entry, const Getenv& getenv) { env::apply(env, env::resolve(entry, getenv)); }

Strings file_entries(const std::string& path, const std::string& text) {
    Strings entries;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        line.erase(0, first);  // docker's kvfile trims leading whitespace
        if (line.find('\r') != std::string::npos) line.erase(line.find_last_not_of('\r') + 1);
        if (line.substr(0, line.find('=')).find_first_of(" \t") != std::string::npos)
            throw UsageError("invalid --env-file " + in_quotes(path) + " line " + std::to_string(number) +
                             ": variable name contains whitespace");
        checked_name(line);
        entries.push_back(line);
    }
    return entries;
}

bool has(const Strings& env, const std::string& name) {
    return std::any_of(env.begin(), env.end(), setting(name));
}

}  // namespace hutch::env
