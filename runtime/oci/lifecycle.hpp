// What the OCI command line (runtime/cli/oci.cpp) does to a container that exists: find its
// processes, signal them, and delete what is left of it, including what a killed create left.
// No hutch process stays with an OCI container (runtime/oci/state.hpp), so every step here
// works from the record and the processes themselves, never a recycled pid.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/fd.hpp"
#include "runtime/oci/state.hpp"
#include "runtime/spec.hpp"

namespace hutch::oci {

// The Spec as create stored it (config.json of the state dir).
Spec stored_spec(const StateRoot& root, const std::string& id);

// The processes of a container: every process in its pid namespace when it has its own (the
// kernel ends them all with its first), else those of its cgroup, else its first process.
// Sorted; empty when its first process is gone.
std::vector<pid_t> container_pids(const State& state, const Spec& spec);

// A pidfd on the container's first process, opened and then checked against the recorded
// start time: never a recycled pid. Empty when the process is gone.
Fd open_live_pidfd(const State& state);

// Sends `sig` to the first process (UsageError when it is gone), and with `all` to every
// process container_pids finds.
void signal_container(const State& state, const Spec& spec, int sig, bool all);

// `kill [--all] ID SIGNAL`: only a created or running container (UsageError otherwise).
void kill(const StateRoot& root, const std::string& id, int sig, bool all);

// `pause ID`, `resume ID`: a running container's processes frozen, a paused one's thawed
// (runtime/freezer.hpp); UsageError for a container in any other state or without a freezer.
void pause(const StateRoot& root, const std::string& id);
void resume(const StateRoot& root, const std::string& id);

// `delete [--force] ID`: a stopped container's cgroups and state dir, then its poststop hooks
// (runtime.md). A container that is not stopped is an error that changes nothing, unless
// `force`: then its processes are killed first. What a killed create left is removed too;
// `force` on an id that does not exist does nothing, as runc.
void remove(const StateRoot& root, const std::string& id, bool force);

// What is left of a stopped container: its cgroups and state dir, then its poststop hooks.
void destroy(const StateRoot& root, const State& state, const Spec& spec);

// What a failed `run --detach` leaves once created: its processes are killed and it is deleted
// (runc leaves nothing of a run that failed).
void abort_run(const StateRoot& root, const std::string& id, const Spec& spec);

// A killed create's leftovers under `id` (above), removed so the id can be used again.
// Returns whether there were any.
bool remove_if_abandoned(const StateRoot& root, const std::string& id);

// Runs hooks whose failure runtime.md turns into a warning (poststart, poststop).
void run_hooks_warning(const std::vector<Hook>& hooks, const char* point, const std::string& state_json);

}  // namespace hutch::oci
