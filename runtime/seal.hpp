// CVE-2019-5736: a container must never be able to write hutch's binary.
//
// The container's first process is a fork of hutch, so until it execs, /proc/<pid>/exe (and a
// command of `#!/proc/self/exe`) lead to hutch's own file on the host. hutch normally execs the
// command through a sealed-memfd trampoline (runtime/trampoline), which closes that door at no
// cost. Where the kernel forbids executable memfds (vm.memfd_noexec=2) this is the fallback:
// hutch runs from a read-only view of itself. In a private mount namespace it bind-mounts its
// binary over itself read-only and re-executes through it (~1 ms); any open of that exe for
// writing then fails with EROFS. When the binary already sits on a read-only mount, nothing is
// done.
#pragma once

namespace hutch {

// Returns when this process runs from a read-only mount; otherwise seals and re-executes
// (does not return). Throws SysError when sealing fails.
void ensure_sealed_binary(char** argv);

}  // namespace hutch
