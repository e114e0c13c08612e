// hutch does not link libarchive and libcurl (their ~40 shared libraries cost every hutch process
// 25 ms): the few commands that need them run in hutch-image, the same command line linked with
// them, installed beside hutch. When hutch reaches image I/O it re-executes hutch-image with its
// own argv (runtime/image/io_exec.cpp); nothing of the first process's work is kept but what it
// wrote (a lease, a line on stderr), and the second one knows it was re-executed.
#pragma once

namespace hutch::image {

// Called first in main: keeps argv for a re-execution, and notes (then forgets, so no container
// inherits it) whether this process is one.
void remember_command_line(char** argv);
// Whether this process is hutch-image re-executed by hutch (lines hutch printed before it stay
// printed once).
bool reexecuted();
// Replaces this process with hutch-image (beside /proc/self/exe) on the same argv; throws an
// Error naming it when that cannot be done.
[[noreturn]] void reexec_with_image_io(const char* what);

}  // namespace hutch::image
