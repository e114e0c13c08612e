// `hutch run`'s user namespaces: which one a container gets (--userns, --uidmap/--gidmap, the
// host config's "userns-remap") and the id maps, checked before anything is made. Pure: the
// host's files come in as text (tests give their own).
//
//   --userns host            the host's ids, no user namespace (the default without a remap)
//   --uidmap C:H:N ...       a new user namespace with these maps (podman's meaning; --gidmap
//   --gidmap C:H:N ...       defaults to the uid maps)
//   --userns auto[:size=N]   a slot of kSlotSize ids of hutch's ranges for each container,
//                            claimed when its record is made (claim_slot); podman's auto
//   "userns-remap": "default" | "USER[:GROUP]" in /etc/hutch/config.json: every container
//                            without --userns host maps 0, 1, ... onto USER's /etc/subuid
//                            ranges laid end to end (and GROUP's /etc/subgid ones; "default":
//                            hutch), Docker's userns-remap
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/spec.hpp"

namespace hutch::userns {

// The subordinate ranges one name has in /etc/subuid or /etc/subgid ("name:start:count" lines).
// `file` names the file in errors. Lines of other names are skipped; a malformed line of this
// name is an error.
std::vector<IdMapping> subordinate_ranges(const std::string& text, const std::string& name, const std::string& file);

// A process's /proc/PID/uid_map or gid_map ("CONTAINER HOST SIZE" lines, as the kernel writes
// them). Throws Error naming `what` when the text is not that.
std::vector<IdMapping> parse_proc_map(const std::string& text, const std::string& what);

// The uid and gid maps of the user namespace at `path` when it is a process's
// (/proc/PID/ns/user): that process's /proc/PID/uid_map and gid_map. nullopt for any other path,
// or when they cannot be read (the process is gone).
std::optional<std::pair<std::vector<IdMapping>, std::vector<IdMapping>>> maps_of_joined(const std::string& path);

// --uidmap/--gidmap's CONTAINER:HOST:SIZE; `flag` names the flag in errors.
IdMapping parse_mapping(const std::string& text, const char* flag);

// Checks one map as the kernel takes it and as hutch needs it: 1 to 340 ranges of a size of at
// least 1, none past 2^32-1, none overlapping another on either side, the container's id 0
// among them (its root assembles the root). `what` names the map ("--uidmap").
void check_map(const std::vector<IdMapping>& map, const std::string& what);
// The same without the id 0: a mount's own maps (OCI mounts[].uidMappings) need not have it.
void check_ranges(const std::vector<IdMapping>& map, const std::string& what);

// Whether `id` inside is one the map has.
bool maps(const std::vector<IdMapping>& map, std::uint32_t id);

// The host id the container's `id` stands for, if the map has it.
std::optional<std::uint32_t> host_id(const std::vector<IdMapping>& map, std::uint32_t id);

// The highest container id the map has (ping_group_range's upper end must be a mapped gid).
std::uint32_t highest_mapped(const std::vector<IdMapping>& map);

// --userns auto gives each container a slot of kSlotSize ids of hutch's ranges (podman's auto
// takes them from the "containers" entry); `auto:size=N` maps the slot's first N.
inline constexpr std::uint32_t kSlotSize = 65536;

// How many whole slots `ranges` hold, laid end to end.
std::uint64_t slots_in(const std::vector<IdMapping>& ranges);

// Container ids 0..size-1 laid onto `ranges` (laid end to end) from `offset` on: one map line per
// range crossed.
std::vector<IdMapping> map_from(const std::vector<IdMapping>& ranges, std::uint64_t offset, std::uint32_t size);

// Claims the lowest free slot below `slots` for container `id`: a symlink data_root/userns/K ->
// id, made only if absent. A claim whose container has no record any more (`exists` says no)
// is stale and taken over; claims are made under an flock of data_root/userns/.lock, so two
// starts never take one slot. Throws UsageError when every slot is taken.
std::uint64_t claim_slot(const std::string& data_root, const std::string& id, std::uint64_t slots,
                         const std::function<bool(const std::string&)>& exists);

// The containers holding a slot (the claims of claim_slot's in data_root/userns), by id.
std::vector<std::string> slot_holders(const std::string& data_root);

// The remap config's USER and GROUP: "default" is hutch:hutch, "USER" is USER:USER.
std::pair<std::string, std::string> remap_names(const std::string& remap);

}  // namespace hutch::userns
