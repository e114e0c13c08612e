// Where a container lives on the host, and the record of it.
//
//   <root>/containers/<id>/        runtime dir: lock, state.json, hosts, resolv.conf, hostname,
//                                  merged/ (where the container's root is assembled)
//   <root>/names/<name> -> <id>    a symlink: creating it is the atomic claim on a name
//   <data-root>/containers/<id>/   durable: config.json (the Spec), upper/ and work/ (the
//                                  overlay's writable layer, on disk rather than in /run's RAM)
//
// Files are replaced atomically (temp file, rename), so a reader or a SIGKILL never sees half a
// file. Only durable data is also fsync'ed: runtime state describes processes that a machine
// crash ends anyway, and each fsync costs a start ~0.3 ms on ext4. A ContainerRecord removes
// everything it created unless told to keep it, so a failed start leaves nothing behind.
//
// A SIGKILL can stop hutch between any two calls, so a record appears and disappears in single
// steps that keep the name and the record consistent (`ps`, `rm NAME` and `run --name NAME`
// agree after any kill):
//   create: the runtime dir is built as containers/.new-<id> (lock held, state.json written),
//           the name is claimed, then one rename publishes the record;
//   remove: the writable layer goes first (if anything stays, the record stays, listed, and
//           `rm` is tried again), then one rename takes the record out of sight
//           (containers/.gone-<id>), then the name is released and the rest removed.
// A claim whose owner has neither a record nor a live .new- dir is stale, and the next claimer
// takes it over. A .new- or .gone- dir whose lock nobody holds is what a killed hutch left:
// the next create or rm removes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/spec.hpp"
#include "runtime/fd.hpp"
#include "runtime/remove_tree.hpp"

namespace hutch {

struct Paths {
    std::string root = "/run/hutch";
    std::string data_root = "/var/lib/hutch";

    std::string runtime_dir(const std::string& id) const { return root + "/containers/" + id; }
    // The /etc/hosts hutch keeps for container `id` (bind-mounted into it; its peers edit it).
    std::string hosts_file(const std::string& id) const { return runtime_dir(id) + "/hosts"; }
    std::string data_dir(const std::string& id) const { return data_root + "/containers/" + id; }
    std::string name_link(const std::string& name) const { return root + "/names/" + name; }
};

// A new random 64-hex container id.
std::string new_container_id();

// RFC 3339 with nanoseconds in UTC, as Docker prints times.
std::string rfc3339_now();

enum class Durability { kRuntime, kDurable };
// Replaces `path` with `content` atomically (temp file + rename), with exactly `mode`;
// kDurable also fsyncs before the rename, so a machine crash leaves the old or the new file.
// The temp file is `temp`, or `path` + ".tmp" when empty (a dir whose readers take every name
// for a record wants one they skip).
void write_file_atomic(const std::string& path, const std::string& content, unsigned mode,
                       Durability durability, const std::string& temp = {});
// mkdir -p with `mode` for each directory it creates; throws SysError naming the one that failed.
void make_dirs(const std::string& path, unsigned mode);
// Reads a whole file; throws SysError naming it.
std::string read_file(const std::string& path);

struct ContainerState {
    std::string id;
    std::string name;
    std::string status;  // created | running | restarting | exited
    int pid = 0;
    int exit_code = 0;
    bool oom_killed = false;  // the OOM killer killed a process of it (Docker's State.OOMKilled)
    int restart_count = 0;    // restarts its policy made since `hutch start` (Docker's RestartCount)
    bool stopped_by_user = false;  // its last end was kill/stop (Docker's HasBeenManuallyStopped)
    std::string created, started_at, finished_at;
    std::string rootfs;
    std::vector<std::string> command;
    std::string cgroup;  // its cgroup2 directory, if any: what `rm` cleans when hutch was killed
    // Its v1 cgroups for resource limits (--memory, --pids-limit...), if any: also `rm`'s to
    // clean, joined by exec, read by stats.
    std::vector<std::string> limit_cgroups;
    // Its published ports while it runs (-p): what `hutch port` shows, and whose DNAT rules
    // `rm` removes when the hutch that ran it was killed.
    std::vector<PortBinding> ports;
    // Its --network as the Spec has it ("bridge", a network's name, "none", "container:ID"...):
    // `ps` lists it without reading the container's config.json. Empty in records of hutch
    // before 0.x, which config.json still answers.
    std::string network;
    // Its address on a bridge network while it runs: `inspect` reads that one endpoint record
    // instead of the network's every one.
    std::string address;
};
nlohmann::json to_json(const ContainerState& state);
ContainerState state_from_json(const nlohmann::json& json);

class ContainerRecord {
public:
    // Creates the container's directories with `initial` (id, name, ...) as its state.json and
    // claims its name, published in one step (above). Throws UsageError when the name is taken
    // by a container that still exists.
    static ContainerRecord create(const Paths& paths, const ContainerState& initial);
    // A container made earlier (hutch create, or one that ran and exited), for `start`: its
    // lock is taken (UsageError when it runs), and it is kept whatever happens unless
    // discard() is called (--rm).
    static ContainerRecord reopen(const Paths& paths, const std::string& id, const std::string& name);
    // The record whose lock `lock` an earlier image of this process took (runtime/monitor.hpp):
    // kept unless discard() is called. Error unless `lock` is that lock file, holding the lock.
    static ContainerRecord adopt(const Paths& paths, const std::string& id, Fd lock);
    ContainerRecord(ContainerRecord&& other) noexcept;
    ContainerRecord& operator=(ContainerRecord&&) = delete;
    ~ContainerRecord();

    const std::string& id() const { return id_; }
    int lock_fd() const { return lock_.get(); }
    std::string runtime_file(const std::string& file) const { return paths_.runtime_dir(id_) + "/" + file; }
    std::string data_file(const std::string& file) const { return paths_.data_dir(id_) + "/" + file; }

    void save(const ContainerState& state) const;
    // Its state.json as saved last.
    ContainerState load() const;
    // Writes "exit <status>" into the lock file itself: a `wait`er holding that file open reads
    // it once the lock is released, even when --rm has removed the record by then.
    void record_exit(int status) const;
    // Empties the lock file again before a restart: that run's exit is not known yet.
    void clear_exit() const;
    // Keep everything when this record goes away (the container outlives the command).
    void keep() { keep_ = true; }
    void discard() { keep_ = false; }

private:
    ContainerRecord(Paths paths, std::string id, std::string name, Fd lock)
        : paths_(std::move(paths)), id_(std::move(id)), name_(std::move(name)), lock_(std::move(lock)) {}
    Paths paths_;
    std::string id_, name_;
    Fd lock_;  // flock held while this process manages the container
    bool keep_ = false;
    bool building_ = false;  // made as containers/.new-<id>, not published yet
};

// The exit record ContainerRecord::record_exit writes into the lock file ("exit N\n"), read
// back by `hutch wait`: N, or nullopt for anything else (an empty file: the supervisor was
// killed first; garbage, a sign, a number out of 0..255: a file someone else wrote).
std::optional<int> parse_exit_record(std::string_view text);
// The exit record of the lock file `fd` (read from offset 0, at most a line's worth).
std::optional<int> read_exit_record(int fd);

// Whether a hutch process manages the container now (it holds the container's lock): what
// tells a live claim (an address, a name) from one left by a killed hutch.
bool container_running(const Paths& paths, const std::string& id);

// Every container known under `paths`, for `ps -a`.
std::vector<ContainerState> list_containers(const Paths& paths);
// Finds a container by name, full id or unique id prefix; throws UsageError otherwise.
ContainerState find_container(const Paths& paths, const std::string& ref);
// Removes a stopped container: what a killed hutch left of it (processes and cgroup, address
// claims), its writable layer, record and name. Throws Error naming what stayed, and then the
// container stays listed, so `rm` can be run again.
void remove_container(const Paths& paths, const ContainerState& state);

}  // namespace hutch
