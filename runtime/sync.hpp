// The parent/child protocol of one container start, over a SOCK_SEQPACKET socketpair.
// Who sends which message when, as a diagram: docs/design.md, "2. The parent/child protocol".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/fd.hpp"

namespace hutch::sync {

// kExecFailed is sent by the freestanding trampoline (runtime/trampoline) as two raw ints:
// keep its number in step with trampoline.cpp.
// kListener is numbered apart so the start protocol's own kinds can grow without meeting it.
enum class Kind : std::uint32_t {
    kGo = 1, kTerminal = 2, kError = 3, kExecFailed = 4, kCreated = 5, kIdmappedMount = 6, kListener = 16
};

struct Message {
    Kind kind{};
    std::int32_t number = 0;     // what the kind carries, read through the accessors below
    std::string text;            // kError: the whole one-line message; kGo: the OCI state
    Fd fd;                       // kTerminal: the pty master; kIdmappedMount: the copy
    bool eof = false;            // the peer closed its end (for the parent: execve happened)

    int exit_code() const { return number; }       // kError: 125, 126 or 127
    int exec_errno() const { return number; }      // kExecFailed: why the command's execve failed
    int listener_fd() const { return number; }     // kListener: the child's fd for its listener
    int mount_index() const { return number; }     // kIdmappedMount: its spec.mounts index
};

// One message of `kind`; `number` is its exit code, errno or fd number (see Message).
void send(int socket, Kind kind, std::int32_t number = 0, const std::string& text = {},
          int fd_to_pass = -1);
// One sendmsg of `data` with `fd_to_pass` (if >= 0) as SCM_RIGHTS: also what an engine's
// console socket receives. Throws SysError with `step`.
void send_bytes(int socket, const void* data, std::size_t size, int fd_to_pass, const char* step);
// A SOCK_STREAM connection to the unix socket at `path`, close-on-exec: an engine's console
// socket, a seccomp agent's. `what` names the path in a UsageError when it is too long for a
// socket address; a failed socket or connect is a SysError of `step`.
Fd connect_unix(const std::string& path, const std::string& what, const char* step);
// Blocks for one message; EINTR is retried. Throws SysError on a socket error.
Message receive(int socket);

}  // namespace hutch::sync
