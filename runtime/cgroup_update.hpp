// Changing a running container's limits (`hutch update`, `hutch-oci update`): the new values are
// written into the cgroups the container has, as runc's update does.
//
// The hard case is a container without a cgroup in the hierarchy a new limit needs: on a hybrid
// host `hutch run` without limits places a container only in the unified hierarchy
// (runtime/cgroup.hpp), while memory, pids and cpu live in v1. Such a container gets its v1
// cgroup now, and every process of it is moved in. A process that forks while the list is read
// would leave a child behind, outside the limit, so the unified cgroup is frozen first
// (cgroup.freeze, Linux 5.2: no process runs until thawed, so none forks), its processes moved,
// and thawed. The new cgroup goes where the container's first process is in that hierarchy,
// below hutch's parent: the place of the hutch that started it, whose exit (and `rm`) look for
// <every hierarchy>/<own cgroup>/<parent>/<id> (container_cgroups).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/cgroup_resources.hpp"
#include "runtime/spec.hpp"

namespace hutch {

struct RunningCgroups {
    std::string id;
    std::string parent;                 // "hutch" or "hutch-oci": where new cgroups go
    pid_t pid = 0;                      // the container's first process
    std::vector<std::string> recorded;  // its cgroups, the one holding all its processes first
};

// Writes `changes` into the container's cgroups, making (and moving the container into) those a
// limit needs that it lacks. Returns the cgroups it made, for the container's record. A memory
// limit the kernel cannot reclaim down to (EBUSY) is a UsageError naming the value and usage;
// it is written before anything else, so such a refusal changes nothing.
std::vector<std::string> update_cgroups(const RunningCgroups& container, const Resources& changes, ResourceName name);

}  // namespace hutch
