// --user resolution against the container's own /etc/passwd and /etc/group, as Docker does it
// (moby/sys/user GetExecUser): "name", "uid", "name:group", "uid:gid", ":group".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hutch {

struct ResolvedUser {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> additional_gids;  // the primary gid, then groups listing the user
    std::string home = "/";
};

// `passwd` and `group` are the files' contents (empty when the rootfs lacks them). Throws
// UsageError naming the value when a name is unknown or a number is out of range.
ResolvedUser resolve_user(std::string_view spec, std::string_view passwd, std::string_view group);

// The home directory of `uid`'s first entry in `passwd`, "/" when it has none (or an empty one):
// what runc gives a process whose environment lacks HOME.
std::string home_of(std::uint32_t uid, std::string_view passwd);

}  // namespace hutch
