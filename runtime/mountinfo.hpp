#pragma once
// /proc/self/mountinfo, parsed by hutch-probe's parser, read for what a mount's propagation is
// and which mount a path lies on: Docker's checks of a volume's source for `rshared`/`rslave`
// binds, and the mounts holding a container's root, made private before a shared root
// propagation (runc's rootfsParentMountPrivate).

#include <optional>
#include <string>
#include <vector>

namespace hutch::mountinfo {

struct Entry {
    int id = 0;
    int parent = 0;
    std::string point;     // the mount point, unescaped (mountinfo writes " " as \040)
    bool shared = false;   // "shared:N": a member of a peer group
    bool slave = false;    // "master:N": receives from a peer group
};

// Every line of `text` (mountinfo's format, proc(5)); a malformed line is skipped.
std::vector<Entry> parse(const std::string& text);
// The entry the absolute path `path` lies on: the mount with the longest mount point above it,
// the last mounted where several share that point (the one on top). None: not absolute.
std::optional<Entry> mount_of(const std::vector<Entry>& all, const std::string& path);
// This process's mounts (/proc/self/mountinfo).
std::vector<Entry> read_own();

}  // namespace hutch::mountinfo
