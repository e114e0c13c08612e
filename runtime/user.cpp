#include "runtime/user.hpp"

#include <charconv>
#include <optional>
#include <sstream>

#include "runtime/error.hpp"
#include "runtime/validate.hpp"

namespace hutch {
namespace {

struct PasswdEntry {
    std::string name;
    std::uint32_t uid, gid;
    std::string home;
};
struct GroupEntry {
    std::string name;
    std::uint32_t gid;
    std::vector<std::string> members;
};

// Docker accepts ids 0..2^31-1 (runc refuses larger ones).
std::optional<std::uint32_t> parse_id(std::string_view s) {
    std::uint64_t value = 0;
    if (s.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || value > 0x7fffffff) return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

bool is_number(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

template <typename Entry, typename Parse>
std::vector<Entry> parse_file(std::string_view text, Parse parse) {
    std::vector<Entry> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (auto entry = parse(validate::fields(line, ':'))) out.push_back(*entry);
    }
    return out;
}

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
    return parse_file<PasswdEntry>(text, [](const std::vector<std::string>& f)
                                             -> std::optional<PasswdEntry> {
        if (f.size() < 7) return std::nullopt;
        auto uid = parse_id(f[2]), gid = parse_id(f[3]);
        if (!uid || !gid) return std::nullopt;
        return PasswdEntry{f[0], *uid, *gid, f[5]};
    });
}

std::vector<GroupEntry> parse_group(std::string_view text) {
    return parse_file<GroupEntry>(text, [](const std::vector<std::string>& f)
                                            -> std::optional<GroupEntry> {
        if (f.size() < 4) return std::nullopt;
        auto gid = parse_id(f[2]);
        if (!gid) return std::nullopt;
        std::vector<std::string> members;
        if (!f[3].empty()) members = validate::fields(f[3], ',');
        return GroupEntry{f[0], *gid, members};
    });
}

}  // namespace

ResolvedUser resolve_user(std::string_view spec, std::string_view passwd_text,
                          std::string_view group_text) {
    std::string_view user_part = spec, group_part;
    bool has_group = false;
    if (auto colon = spec.find(':'); colon != std::string_view::npos) {
        user_part = spec.substr(0, colon);
        group_part = spec.substr(colon + 1);
        has_group = true;
        if (group_part.empty()) throw UsageError("invalid --user \"" + std::string(spec) + "\": empty group");
    }
    const auto passwd = parse_passwd(passwd_text);
    const auto groups = parse_group(group_text);

    ResolvedUser out;
    const PasswdEntry* entry = nullptr;
    if (user_part.empty()) user_part = "0";  // ":group" keeps root, as Docker does
    if (is_number(user_part)) {
        auto uid = parse_id(user_part);
        if (!uid)
            throw UsageError("invalid --user \"" + std::string(spec) +
                             "\": uids must be in range 0-2147483647");
        out.uid = *uid;
        for (const auto& e : passwd)
            if (e.uid == *uid) { entry = &e; break; }
    } else {
        for (const auto& e : passwd)
            if (e.name == user_part) { entry = &e; break; }
        if (!entry)
            throw UsageError("unable to find user " + std::string(user_part) +
                             ": no matching entries in passwd file");
        out.uid = entry->uid;
    }
    if (entry) {
        out.gid = entry->gid;
        out.home = entry->home;
    }

    if (has_group) {
        if (is_number(group_part)) {
            auto gid = parse_id(group_part);
            if (!gid)
                throw UsageError("invalid --user \"" + std::string(spec) +
                                 "\": gids must be in range 0-2147483647");
            out.gid = *gid;
        } else {
            const GroupEntry* found = nullptr;
            for (const auto& g : groups)
                if (g.name == group_part) { found = &g; break; }
            if (!found)
                throw UsageError("unable to find group " + std::string(group_part) +
                                 ": no matching entries in group file");
            out.gid = found->gid;
        }
    }
    // Supplementary groups as Docker sets them (daemon/oci_linux.go getUser): the primary gid
    // first, then, only in the implicit form (no group given, moby/sys/user GetExecUser), every
    // group naming the user as a member, in the group file's order. `id` in the container
    // shows `groups=29(audio),50(staff),1000(alice)` (the kernel sorts them); a default
    // container `groups=0(root)`. A group listing the user as well as being its primary one
    // appears twice, as in Docker.
    out.additional_gids.push_back(out.gid);
    if (entry && !has_group) {
        for (const auto& g : groups)
            for (const auto& member : g.members)
                if (member == entry->name) out.additional_gids.push_back(g.gid);
    }
    return out;
}

std::string home_of(std::uint32_t uid, std::string_view passwd) {
    for (const auto& entry : parse_passwd(passwd))
        if (entry.uid == uid) return entry.home.empty() ? "/" : entry.home;
    return "/";
}

}  // namespace hutch
