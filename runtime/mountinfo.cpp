#include "runtime/mountinfo.hpp"

#include "caps/probe/probe_lib.hpp"
#include "runtime/state.hpp"

namespace hutch::mountinfo {

// hutch-probe's parser (caps/probe/probe_lib.hpp) unescapes the fields and skips a malformed
// line; kept here is what propagation and lookups need.
std::vector<Entry> parse(const std::string& text) {
    std::vector<Entry> out;
    for (const auto& m : probe::parse_mountinfo(text)) {
        Entry e{m.id, m.parent, m.mount_point};
        for (const auto& field : m.optional) {
            if (field.starts_with("shared:")) e.shared = true;
            if (field.starts_with("master:")) e.slave = true;
        }
        out.push_back(std::move(e));
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
