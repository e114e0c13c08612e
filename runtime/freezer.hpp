// Pausing a container (`hutch-oci pause`/`resume`, which `docker pause`, `ctr task pause` and
// `podman pause` call): every process of it stopped where it is, as runc does, by the cgroup
// freezer rather than by signals (SIGSTOP would be seen by the container, and could be undone
// from inside with SIGCONT).
//
// cgroup2's cgroup.freeze (Linux 5.2) where the container has a cgroup2 cgroup, on a unified or a
// hybrid host: a frozen task still dies of SIGKILL there, so `delete --force` needs no thaw.
// Else cgroup v1's freezer controller (freezer.state), whose frozen tasks keep a pending SIGKILL
// until thawed.
#pragma once

#include <string>
#include <vector>

namespace hutch {

// The freezer of a container with cgroups `cgroups` (the dirs its record holds), "" when none of
// them has one.
std::string freezer_of(const std::vector<std::string>& cgroups);

// Freezes or thaws the cgroup `freezer` (from freezer_of), and waits until the kernel says it is
// done (cgroup.events "frozen 1", freezer.state FROZEN: a freeze is a request, processes stop at
// their next return to user space). Throws Error naming the file when the kernel does not finish
// within 2 s (a task in an uninterruptible sleep on v1); a freeze that did not finish is undone.
void set_frozen(const std::string& freezer, bool frozen);

// Whether `freezer` is frozen (also while a v1 freeze is still under way).
bool is_frozen(const std::string& freezer);

}  // namespace hutch
