// Compiled seccomp filters kept between starts: compiling Docker's default profile for x86_64,
// x86 and x32 takes 6-11 ms in libseccomp, longer than a whole container start, while reading the
// ready BPF back takes microseconds. A cache entry holds the exact resolved linux.seccomp it
// was compiled from (and libseccomp's version) and is used only when that text matches in full,
// so no two profiles can ever share an entry; entries are written atomically.
#pragma once

#include <string>

#include "caps/seccomp_filter.hpp"

namespace hutch::seccomp {

// compile(), through the cache directory `dir` (created when missing; an unusable cache only
// costs the compile).
Program compile_cached(const Seccomp& seccomp, const std::string& dir);

}  // namespace hutch::seccomp
