// The exec trampoline's image (see trampoline.cpp), and running it from a sealed memfd.
#pragma once

#include <string>
#include <vector>

#include "runtime/fd.hpp"

namespace hutch::trampoline {

extern const unsigned char kImage[];
extern const unsigned long kImageSize;

// Whether this kernel lets hutch execute a memfd (vm.memfd_noexec below 2).
bool available();

// A freestanding program of hutch's (`image`, `size` bytes) in a sealed memfd named `name`,
// ready for execveat(AT_EMPTY_PATH). Throws SysError naming the failing step.
Fd seal_program(const char* name, const unsigned char* image, unsigned long size);

// The trampoline in a sealed memfd, made before the seccomp filter goes in, so a profile only
// has to allow execveat, fcntl and execve. Throws SysError naming the failing step.
Fd prepare();

// Replaces the calling process with `path` through the trampoline `image` (from prepare()):
// execveat of the memfd, which then execs `path` with `argv` and `envp`. `sync_fd` is the
// socket to report an execve failure on. Throws SysError when execveat itself fails.
[[noreturn]] void exec(const Fd& image, int sync_fd, const std::string& path,
                       const std::vector<std::string>& argv, const std::vector<std::string>& envp);

}  // namespace hutch::trampoline
