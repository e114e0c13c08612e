#include "runtime/mountinfo.hpp"

#include <sstream>

#include "runtime/state.hpp"

namespace hutch::mountinfo {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ and three octal digits.
std::string unescape(const std::string& field) {
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 4 <= field.size() && octal(field[i + 1]) && octal(field[i + 2]) &&
            octal(field[i + 3])) {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

}  // namespace

std::vector<Entry> parse(const std::string& text) {
    std::vector<Entry> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        Entry e;
        std::string devno, root, point, options, optional;
        if (!(fields >> e.id >> e.parent >> devno >> root >> point >> options)) continue;
        bool ended = false;
        while (fields >> optional) {
            if (optional == "-") {
                ended = true;
                break;
            }
            if (optional.starts_with("shared:")) e.shared = true;
            if (optional.starts_with("master:")) e.slave = true;
        }
        if (!ended) continue;
        e.point = unescape(point);
        out.push_back(e);
    }
    return out;
}

std::optional<Entry> mount_of(const std::vector<Entry>& all, const std::string& path) {
    if (path.empty() || path[0] != '/') return std::nullopt;
    std::optional<Entry> best;
    for (const auto& e : all) {
        bool above = e.point == "/" || path == e.point || path.starts_with(e.point + "/");
        if (above && (!best || e.point.size() >= best->point.size())) best = e;
    }
    return best;
}

std::vector<Entry> read_own() { return parse(read_file("/proc/self/mountinfo")); }

}  // namespace hutch::mountinfo
