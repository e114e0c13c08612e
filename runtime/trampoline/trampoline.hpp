// The exec trampoline's image (see trampoline.cpp), and running it from a sealed memfd.
#pragma once

#include <string>
#include <vector>

namespace hutch::trampoline {

extern const unsigned char kImage[];
extern const unsigned long kImageSize;

// Whether this kernel lets hutch execute a memfd (vm.memfd_noexec below 2).
bool available();

// Replaces the calling process with `path` through the trampoline: execveat of a sealed memfd
// that then execs `path` with `argv` and `envp`. `sync_fd` is the socket to report an execve
// failure on. Returns only if the trampoline itself could not be started (errno set).
void exec(int sync_fd, const std::string& path, const std::vector<std::string>& argv,
          const std::vector<std::string>& envp);

}  // namespace hutch::trampoline
