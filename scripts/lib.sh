# shellcheck shell=bash disable=SC2034  # $repo and $rootfs are for the scripts that source this
# Shared by scripts/test and scripts/demo (sourced, not run).
# Sets $repo (the repo root, from this file's own path, so any cwd works) and cds there.
# Named repo, not HUTCH_ROOT: that name belongs to hutch's own state-root setting.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

# Install dependencies, build hutch into build/, and make sure the busybox rootfs exists.
# Sets $rootfs to the rootfs path.
prepare() {
  scripts/setup
  # CI builds with warnings as errors, without debug information (-g adds 40% to the compile
  # of a source file: launch.cpp 6.2 s against 4.4 s of CPU, and changes no instruction) and at
  # -O1 (runtime/cli/run.cpp: 14 s against 19 s at -O2; -O0 was measured no faster over the
  # whole build, 559 s against 533 s): CI has 15 minutes for set-up, both builds and the run,
  # and measures no speed (scripts/bench does, on a developer's -O2 build).
  # At -O1 GCC 12's -Wmaybe-uninitialized reports an Fd inside a std::optional that is never
  # read uninitialized (runtime/cli/run_image.cpp); -O2 builds keep the warning.
  # Both set both ways, so a cached value never sticks.
  # CI also compiles each target as a few large files (CMakeLists.txt, HUTCH_UNITY).
  local werror=OFF unity=OFF flags="-O2 -g -DNDEBUG"
  [[ ${CI:-} == true ]] && werror=ON unity=ON flags="-O1 -DNDEBUG -Wno-maybe-uninitialized"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHUTCH_WERROR="$werror" -DHUTCH_UNITY="$unity" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags"
  cmake --build build -j "$(nproc)"
  rootfs=$(scripts/rootfs)
}
