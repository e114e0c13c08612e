// Removing a directory tree that someone else filled: a container's writable layer, a state
// dir. Its shape is the container's choice, so the removal holds a bounded number of fds
// whatever the depth (a recursive walk holding one fd per level ran out of fds at ~1,000 levels
// and silently left the rest), never follows a symlink, never crosses a mount point, and
// reports what it could not remove instead of returning as if it had.
//
// The walk goes down by opening the child relative to its parent (openat2 with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV, O_NOFOLLOW) and back up through "..",
// checking device and inode at each step against those it saw on the way down: a directory
// renamed under the walk stops it (with an error) rather than sending it elsewhere. Only the
// names on the way down are kept, a few bytes per level.
#pragma once

#include <string>

namespace hutch {

// Removes `path` and everything below it; missing is fine. Throws Error naming how many entries
// stayed and the first of them with its reason ("a mount point", the errno) when anything
// stayed: what was removed stays removed, so calling it again finishes the job once the cause
// is gone.
void remove_tree(const std::string& path);

}  // namespace hutch
