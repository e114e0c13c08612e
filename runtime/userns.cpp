#include "runtime/userns.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "runtime/error.hpp"
#include "runtime/validate.hpp"

namespace hutch::userns {
namespace {

constexpr std::uint64_t kIdLimit = 1ull << 32;  // ids are 32 bits; (uid_t)-1 is no id
constexpr std::size_t kMaxRanges = 340;         // the kernel's limit per map (Linux 4.15)

bool parse_u32(const std::string& text, std::uint32_t& out) {
    if (text.empty() || text.size() > 10 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    std::uint64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    if (v >= kIdLimit) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string part;
    std::istringstream in(s);
    while (std::getline(in, part, sep)) out.push_back(part);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

}  // namespace

std::vector<IdMapping> subordinate_ranges(const std::string& text, const std::string& name, const std::string& file) {
    std::vector<IdMapping> out;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        auto fields = split(line, ':');
        if (fields.empty() || fields[0] != name) continue;
        IdMapping range;
        if (fields.size() != 3 || !parse_u32(fields[1], range.host_id) || !parse_u32(fields[2], range.size) || range.size == 0 ||
            range.host_id + std::uint64_t{range.size} > kIdLimit)
            throw UsageError(file + " line " + std::to_string(number) + ": the entry of " + name +
                             " is not NAME:START:COUNT with a range of 32-bit ids");
        out.push_back(range);
    }
    return out;
}

IdMapping parse_mapping(const std::string& text, const char* flag) {
    auto fields = split(text, ':');
    IdMapping m;
    if (fields.size() != 3 || !parse_u32(fields[0], m.container_id) || !parse_u32(fields[1], m.host_id) ||
        !parse_u32(fields[2], m.size))
        throw UsageError(std::string("invalid ") + flag + " " + in_quotes(text) + ": expected CONTAINER:HOST:SIZE (32-bit ids)");
    return m;
}

void check_map(const std::vector<IdMapping>& map, const std::string& what) {
    if (map.empty()) throw UsageError(what + ": no range given");
    if (map.size() > kMaxRanges)
        throw UsageError(what + ": " + std::to_string(map.size()) + " ranges, the kernel takes at most " + std::to_string(kMaxRanges));
    auto shown = [](const IdMapping& m) {
        return std::to_string(m.container_id) + ":" + std::to_string(m.host_id) + ":" + std::to_string(m.size);
    };
    for (std::size_t i = 0; i < map.size(); ++i) {
        const IdMapping& a = map[i];
        if (a.size == 0) throw UsageError(what + " " + shown(a) + ": the size must be at least 1");
        if (a.container_id + std::uint64_t{a.size} > kIdLimit - 1 || a.host_id + std::uint64_t{a.size} > kIdLimit - 1)
            throw UsageError(what + " " + shown(a) + ": the range runs past the last id (4294967294)");
        for (std::size_t j = 0; j < i; ++j) {
            const IdMapping& b = map[j];
            auto overlap = [](std::uint64_t x, std::uint64_t xs, std::uint64_t y, std::uint64_t ys) { return x < y + ys && y < x + xs; };
            if (overlap(a.container_id, a.size, b.container_id, b.size))
                throw UsageError(what + " " + shown(a) + " and " + shown(b) + " overlap inside the container");
            if (overlap(a.host_id, a.size, b.host_id, b.size))
                throw UsageError(what + " " + shown(a) + " and " + shown(b) + " overlap on the host");
        }
    }
    if (!maps(map, 0)) throw UsageError(what + " must map the container's id 0 (its root assembles the root)");
}

bool maps(const std::vector<IdMapping>& map, std::uint32_t id) {
    return std::any_of(map.begin(), map.end(),
                       [id](const IdMapping& m) { return id >= m.container_id && id - m.container_id < m.size; });
}

std::optional<std::uint32_t> host_id(const std::vector<IdMapping>& map, std::uint32_t id) {
    for (const auto& m : map)
        if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
    return std::nullopt;
}

std::uint32_t highest_mapped(const std::vector<IdMapping>& map) {
    std::uint32_t top = 0;
    for (const auto& m : map) top = std::max(top, m.container_id + m.size - 1);
    return top;
}

std::pair<std::string, std::string> remap_names(const std::string& remap) {
    if (remap == "default") return {"hutch", "hutch"};
    auto colon = remap.find(':');
    if (colon == std::string::npos) return {remap, remap};
    return {remap.substr(0, colon), remap.substr(colon + 1)};
}

}  // namespace hutch::userns
