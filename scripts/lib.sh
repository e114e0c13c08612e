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
  # CI builds with warnings as errors; set it both ways so a cached value never sticks.
  local werror=OFF
  [[ ${CI:-} == true ]] && werror=ON
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHUTCH_WERROR="$werror"
  cmake --build build -j "$(nproc)"
  rootfs=$(scripts/rootfs)
}
