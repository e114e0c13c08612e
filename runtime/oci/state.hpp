// The OCI front-end's record of a container: <root>/<id>/ (default root /run/hutch-oci).
//
//   state.json   id, bundle, pid and the pid's start time, created, annotations, cgroup
//   config.json  the Spec as created (exec and delete's hooks read it; the bundle may change)
//   exec.fifo    present from create until start: the container's first process blocks
//                opening it for writing, `start` opens it for reading (runtime.md's lifecycle:
//                the user program must not run before start)
//
// Unlike `hutch run`, no hutch process stays with an OCI container: the engine (conmon,
// containerd-shim) is the subreaper that reaps it. Status is therefore read from the process
// itself: its pid, checked against the start time recorded at create so a recycled pid never
// passes for the container.
//
// state.json exists from the start of create, marked `creating` with the create process's own
// pid and start time, and each thing a killed create would leave (its cgroups, then its first
// process) is recorded the moment it exists. So a create SIGKILLed at any point leaves a record
// `state`, `list` and `delete` see: "creating" while the create process lives, "stopped" once
// it is gone (its process never runs the command: start refuses it), and `delete` or the next
// `create` of the id kills what is left of it (the process by a pidfd checked against its start
// time, the cgroups) and removes it.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hutch::oci {

struct State {
    std::string id;
    std::string bundle;
    std::string rootfs;
    int pid = 0;
    unsigned long long pid_start_time = 0;  // /proc/<pid>/stat field 22
    std::string created;
    std::map<std::string, std::string> annotations;
    std::vector<std::string> cgroups;  // the unified one first, if any
    std::vector<std::string> cgroup_parents;  // levels above them that create made
    bool creating = false;                     // create has not finished (or was killed)
    int creator_pid = 0;                       // the create process, while `creating`
    unsigned long long creator_start_time = 0;
};

class StateRoot {
public:
    explicit StateRoot(std::string root) : root_(std::move(root)) {}
    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return root_ + "/" + id; }
    std::string file(const std::string& id, const char* name) const { return dir(id) + "/" + name; }

    // Loads the record of `id`; throws UsageError "container <id> does not exist".
    State load(const std::string& id) const;
    void save(const State& state) const;
    // Every id with a record.
    std::vector<std::string> ids() const;

private:
    std::string root_;
};

// A container id as runc accepts it: letters, digits, '_', '+', '-', '.', not "." or "..",
// at most 1024 bytes. Throws UsageError naming the id.
void validate_id(const std::string& id);

// /proc/<pid>/stat's start time, or 0 when the process is gone or a zombie.
unsigned long long live_start_time(pid_t pid);

// creating | created | running | paused | stopped, from the processes, the fifo and the freezer
// (runtime.md "State"; paused is runc's).
std::string status_of(const StateRoot& root, const State& state);
bool process_alive(const State& state);
// A create that will never finish: `creating`, and its create process is gone.
bool aborted_create(const State& state);

// The state runtime.md defines, as `state` prints it and hooks read it on stdin.
nlohmann::json state_json(const State& state, const std::string& status);

}  // namespace hutch::oci
