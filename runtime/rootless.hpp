// Rootless hutch: `hutch run` by a user without root (issue 17's second half), the way podman
// and rootless Docker do it.
//
// The container gets a user namespace whose root is the user (0 -> uid) and whose other ids are
// the user's /etc/subuid and /etc/subgid ranges (1, 2, ... laid end to end over them). Only the
// setuid helpers of Debian's uidmap package (newuidmap, newgidmap) may write such maps for an
// ordinary user: hutch spawns them for the child's pid, where root hutch writes the maps itself.
// The child then assembles its root as an OCI bundle's child does, in its own namespaces: the
// overlay with `userxattr` (Linux 5.11), the devices bound from the host. There is no cgroup of
// hutch's (limits are refused, never skipped), no bridge (`--network none` or pasta), and state
// and data live under the user's own directories ($XDG_RUNTIME_DIR/hutch, ~/.local/share/hutch).
//
// Files a container writes as its other ids land on disk owned by the user's subordinate ids,
// which the user cannot remove directly: removing a container's tree falls back to a helper in a
// user namespace of the same maps (podman's `unshare`).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/spec.hpp"
#include "runtime/state.hpp"

namespace hutch::rootless {

// Whether this hutch runs without root (its effective uid is not 0).
bool active();

// The default roots of a user: $XDG_RUNTIME_DIR/hutch (or /run/user/UID/hutch when that
// directory is the user's own) for state, ${XDG_DATA_HOME:-$HOME/.local/share}/hutch for data.
// A variable that is missing or not absolute leaves that root empty: require_roots says which
// variable to set.
Paths default_paths(const char* (*getenv)(const char*));

// Throws UsageError when `paths` has an empty root (no XDG_RUNTIME_DIR, no HOME): one line
// naming what to set.
void require_roots(const Paths& paths);

// The user: uid, gid and login name (from the passwd database).
struct User {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};
User current_user();

// The container's maps for `user`: 0 -> the user's own id, 1.. -> the ranges of `subuid_text` and
// `subgid_text` (the files' contents) laid end to end, as podman maps a rootless container.
// Throws UsageError naming the file and the line to add when the user has no entry there.
struct Maps {
    std::vector<IdMapping> uids, gids;
};
Maps user_maps(const User& user, const std::string& subuid_text, const std::string& subgid_text);
// The same from /etc/subuid and /etc/subgid.
Maps user_maps(const User& user);

// --userns keep-id[:uid=UID,gid=GID,size=SIZE] (podman's), parsed: where the user's own ids
// sit inside (default: the same ids), and how many ids the container gets (default: the user's
// and every subordinate id). Throws UsageError naming a bad option.
struct KeepId {
    std::optional<std::uint32_t> uid, gid, size;
};
KeepId parse_keep_id(const std::string& value);

// --userns keep-id from user_maps()'s: the user's own id sits at `how.uid` inside (its own
// value unless given; the same for gids), and the subordinate ranges take the container ids
// 0..that-1 and those after it, `how.size` ids in all; the container's root is the first
// subordinate id. Throws UsageError when the ranges are too few, or the id lies past the size.
Maps keep_id(const Maps& maps, const KeepId& how = {});

// --userns nomap (podman's) from user_maps()'s: the user's own id is left out, and the
// subordinate ranges take the container ids from 0 (the container's root is the first
// subordinate id): nothing in the container can act as the user.
Maps nomap(const Maps& maps);

// Writes the maps of the new user namespace of `pid` with newuidmap and newgidmap. Throws Error
// with the helper's own message when it refuses (a range not the user's, say), UsageError when
// uidmap is not installed.
void write_maps(pid_t pid, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids);

// Throws UsageError when newuidmap or newgidmap is missing: before anything is made.
void require_helpers();

// Runs `work` in a forked helper that is root of a user namespace with `maps`: what the user's
// subordinate ids own on disk (a container's writable layer) is the helper's to remove. An
// Error `work` throws comes back with its message; `what` names the job in errors.
void as_namespace_root(const Maps& maps, const std::string& what, const std::function<void()>& work);
// The same, returning what `work` returns (up to 4 KiB, through a pipe).
std::string as_namespace_root_with_result(const Maps& maps, const std::string& what, const std::function<std::string()>& work);

// remove_tree, and when the user may not remove an entry (a subordinate id owns its directory),
// again as the root of a user namespace of the user's maps.
void remove_tree_as_owner(const std::string& path);

}  // namespace hutch::rootless
