// A container's user databases (/etc/passwd, /etc/group), read by hutch as root on the host for
// `run -u` (from the rootfs) and `exec -u` (from the running container's root). Both are
// written by whoever made the image or runs in the container, so they are hostile input:
//
//   - resolved inside the root (openat2 RESOLVE_IN_ROOT): a link to the host's /etc/shadow
//     reads the container's own /etc/shadow, or nothing;
//   - opened O_PATH first and checked to be a regular file before any read: a link to
//     /dev/zero (endless: hutch grew to hundreds of MB), a FIFO (a read that never returns),
//     /dev/watchdog or a tty (an open with side effects) is never opened for reading; the
//     O_PATH handle is then reopened through /proc/self/fd, the very inode that was checked;
//   - read up to kUserDbMaxBytes, with lines of at most kUserDbMaxLine bytes.
//
// Anything else is a one-line UsageError (exit 125) naming the file; a missing file is "" (no
// entries), as moby's GetExecUser treats it.
#pragma once

#include <cstddef>
#include <string>

namespace hutch {

// Far above any real database (Debian's largest are a few KiB; LDAP-fed ones stay well under a
// MiB), far below what hurts.
inline constexpr std::size_t kUserDbMaxBytes = 4u << 20;
inline constexpr std::size_t kUserDbMaxLine = 64u << 10;

// `path` (absolute inside the root) read from `root_fd`, a directory handle on the container's
// root. `shown` names the file in errors ("/srv/rootfs/etc/passwd", "/etc/passwd of container
// web"). "" when the file does not exist.
std::string read_user_db(int root_fd, const std::string& path, const std::string& shown);

}  // namespace hutch
