#include "runtime/oci/lifecycle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/error.hpp"
#include "runtime/freezer.hpp"
#include "runtime/oci/bundle.hpp"
#include "runtime/cgroup_resources.hpp"
#include "runtime/hooks.hpp"
#include "runtime/remove_tree.hpp"
#include "runtime/state.hpp"

namespace hutch::oci {
namespace {

// The pid namespace of `pid` as its /proc link reads ("pid:[4026531836]"); "" when gone.
std::string pid_ns_of(pid_t pid) {
    char link[64] = {};
    std::string path = "/proc/" + std::to_string(pid) + "/ns/pid";
    ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
    return n > 0 ? std::string(link, static_cast<std::size_t>(n)) : std::string();
}

// Every process in the pid namespace `ns`, from /proc.
std::vector<pid_t> pids_in_namespace(const std::string& ns) {
    std::vector<pid_t> pids;
    std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
    if (!proc) throw SysError("list the container's processes", "opendir", "/proc", errno);
    while (dirent* e = ::readdir(proc.get())) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (pid > 0 && *end == '\0' && pid_ns_of(static_cast<pid_t>(pid)) == ns) pids.push_back(static_cast<pid_t>(pid));
    }
    return pids;
}

void wait_until_stopped(const State& state) {
    for (int i = 0; i < 2000 && process_alive(state); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (process_alive(state)) throw Error("container " + state.id + " did not stop after SIGKILL");
}

}  // namespace

Spec stored_spec(const StateRoot& root, const std::string& id) {
    return spec_from_json(parse_config(read_file(root.file(id, "config.json")), root.file(id, "config.json")));
}

std::vector<pid_t> container_pids(const State& state, const Spec& spec) {
    std::vector<pid_t> pids;
    if (!process_alive(state)) return pids;
    if (spec.has_new_namespace(NamespaceType::kPid)) {
        if (std::string ns = pid_ns_of(state.pid); !ns.empty()) pids = pids_in_namespace(ns);
    } else if (!state.cgroups.empty()) {
        std::ifstream procs(state.cgroups.front() + "/cgroup.procs");
        for (pid_t pid; procs >> pid;) pids.push_back(pid);
    }
    if (std::find(pids.begin(), pids.end(), state.pid) == pids.end()) pids.insert(pids.begin(), state.pid);
    std::sort(pids.begin(), pids.end());
    return pids;
}

Fd open_live_pidfd(const State& state) {
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, state.pid, 0)));
    if (!pidfd || !process_alive(state)) return Fd();
    return pidfd;
}

void signal_container(const State& state, const Spec& spec, int sig, bool all) {
    Fd pidfd = open_live_pidfd(state);
    if (!pidfd) throw UsageError("container " + state.id + " is not running");
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0) {
        // Signal 0 asks whether it still runs: one that died meanwhile does not.
        if (errno == ESRCH && sig == 0) throw UsageError("container " + state.id + " is not running");
        if (errno != ESRCH) throw SysError("signal container " + state.id, "pidfd_send_signal", std::to_string(sig), errno);
    }
    if (!all) return;
    // The others by pid, as runc's kill --all: in the container's own pid namespace they cannot
    // outlive its first process, which the pidfd pins.
    for (pid_t pid : container_pids(state, spec))
        if (pid != state.pid) ::kill(pid, sig);
}

void destroy(const StateRoot& root, const State& state, const Spec& spec) {
    // runtime.md: poststop runs after the container is deleted.
    remove_cgroups(state.cgroups, state.cgroup_parents);
    remove_tree(root.dir(state.id));
    run_hooks_warning(spec.hooks.poststop, "poststop", state_json(state, "stopped").dump());
}

void kill(const StateRoot& root, const std::string& id, int sig, bool all) {
    State s = root.load(id);
    std::string status = status_of(root, s);
    if (status != "created" && status != "running" && status != "paused")
        throw UsageError("container " + id + " is not running");
    signal_container(s, stored_spec(root, id), sig, all);
}

void pause(const StateRoot& root, const std::string& id) {
    State s = root.load(id);
    std::string status = status_of(root, s);
    if (status != "running") throw UsageError("container " + id + " is not running (it is " + status + ")");
    std::string freezer = freezer_of(s.cgroups);
    if (freezer.empty()) throw UsageError("container " + id + " has no cgroup with a freezer: it cannot be paused");
    set_frozen(freezer, true);
}

void resume(const StateRoot& root, const std::string& id) {
    State s = root.load(id);
    std::string status = status_of(root, s);
    if (status != "paused") throw UsageError("container " + id + " is not paused (it is " + status + ")");
    set_frozen(freezer_of(s.cgroups), false);
}

void run_hooks_warning(const std::vector<Hook>& hooks, const char* point, const std::string& state_json) {
    run_hooks(hooks, point, state_json, false);
}

// A state dir without state.json whose lock nobody holds (killed before it wrote one: nothing
// else exists yet), or a record still `creating` whose create process is gone. Its first process
// (alive when the kill came after it stopped waiting for the create, blocked on exec.fifo) is
// killed by a pidfd checked against its recorded start time, its cgroups removed (the default
// ones by the id when the kill came before they were recorded), and its poststop hooks run, as
// for any create that failed.
bool remove_if_abandoned(const StateRoot& root, const std::string& id) {
    if (::access(root.file(id, "state.json").c_str(), F_OK) != 0) {
        Fd dir(::open(root.dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir || ::flock(dir.get(), LOCK_EX | LOCK_NB) != 0) return false;
        remove_default_cgroups(id);
        remove_tree(root.dir(id));
        return true;
    }
    State s = root.load(id);
    if (!aborted_create(s)) return false;
    if (Fd pidfd = open_live_pidfd(s)) {
        if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0 && errno != ESRCH)
            throw SysError("remove the aborted create of " + id, "pidfd_send_signal", "SIGKILL", errno);
        wait_until_stopped(s);
    }
    if (s.cgroups.empty()) remove_default_cgroups(id);
    destroy(root, s, stored_spec(root, id));
    return true;
}

void remove(const StateRoot& root, const std::string& id, bool force) {
    validate_id(id);
    if (force && ::access(root.dir(id).c_str(), F_OK) != 0) return;  // as runc: nothing to do
    if (remove_if_abandoned(root, id)) return;
    State s = root.load(id);
    Spec spec = stored_spec(root, id);
    std::string status = status_of(root, s);
    if (status == "creating")  // its create process still works on it: that one cleans up if it fails
        throw UsageError("cannot delete container " + id + ": it is being created (by process " +
                         std::to_string(s.creator_pid) + ")");
    if (status != "stopped") {
        // runtime.md: deleting a container that is not stopped MUST fail and change nothing.
        if (!force) throw UsageError("cannot delete container " + id + ": it is " + status + " (use --force)");
        signal_container(s, spec, SIGKILL, true);
        // A paused container's processes die only once thawed on cgroup v1 (cgroup2 lets
        // SIGKILL through a freeze): thawed after the signal, so none runs another instruction.
        if (status == "paused") set_frozen(freezer_of(s.cgroups), false);
        wait_until_stopped(s);
    }
    destroy(root, s, spec);
}

void abort_run(const StateRoot& root, const std::string& id, const Spec& spec) {
    State s = root.load(id);
    if (Fd pidfd = open_live_pidfd(s)) signal_container(s, spec, SIGKILL, true);
    wait_until_stopped(s);
    destroy(root, s, spec);
}

}  // namespace hutch::oci
