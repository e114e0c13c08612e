#include "runtime/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "runtime/cgroup.hpp"
#include "runtime/error.hpp"
#include "runtime/image/image_store.hpp"
#include "runtime/events.hpp"
#include "runtime/remove_tree.hpp"
#include "runtime/rootless.hpp"
#include "netns/firewall.hpp"
#include "netns/network.hpp"

namespace hutch {

void make_dirs(const std::string& path, unsigned mode) {
    std::string partial;
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            partial = path.substr(0, i);
            if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
                throw SysError("create state directory", "mkdir", partial, errno);
        }
    }
}

std::string new_container_id() {
    unsigned char bytes[32];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno != EINTR) throw SysError("make container id", "getrandom", "", errno);
        if (n > 0) got += static_cast<std::size_t>(n);
    }
    std::string id;
    char hex[3];
    for (unsigned char b : bytes) {
        std::snprintf(hex, sizeof hex, "%02x", b);
        id += hex;
    }
    return id;
}

std::string rfc3339_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    ::gmtime_r(&ts.tv_sec, &utc);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    char out[96];
    std::snprintf(out, sizeof out, "%s.%09ldZ", buf, ts.tv_nsec);
    return out;
}

void write_file_atomic(const std::string& path, const std::string& content, unsigned mode,
                       Durability durability, const std::string& temp_path) {
    const std::string temp = temp_path.empty() ? path + ".tmp" : temp_path;
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) throw SysError("write state", "open", temp, errno);
    ::fchmod(fd.get(), mode);  // the umask must not decide what the container can read
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw SysError("write state", "write", temp, errno);
        }
        done += static_cast<std::size_t>(n);
    }
    if (durability == Durability::kDurable && ::fsync(fd.get()) != 0)
        throw SysError("write state", "fsync", temp, errno);
    fd.reset();
    if (::rename(temp.c_str(), path.c_str()) != 0) throw SysError("write state", "rename", path, errno);
}

std::string read_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw SysError("read file", "open", path, errno);
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw SysError("read file", "read", path, errno);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

nlohmann::json to_json(const ContainerState& s) {
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : s.ports)
        ports.push_back({{"hostIp", p.host_ip}, {"hostPort", p.host_port}, {"containerPort", p.container_port},
                         {"protocol", p.protocol}});
    return {{"ports", ports},       {"id", s.id},           {"name", s.name},         {"status", s.status},
            {"pid", s.pid},         {"exitCode", s.exit_code}, {"created", s.created},
            {"startedAt", s.started_at}, {"finishedAt", s.finished_at},
            {"rootfs", s.rootfs},   {"command", s.command}, {"cgroup", s.cgroup},
            {"limitCgroups", s.limit_cgroups}, {"oomKilled", s.oom_killed},
            {"restartCount", s.restart_count}, {"stoppedByUser", s.stopped_by_user},
            {"network", s.network}, {"address", s.address}};
}

ContainerState state_from_json(const nlohmann::json& j) {
    ContainerState s;
    s.id = j.value("id", "");
    s.name = j.value("name", "");
    s.status = j.value("status", "unknown");
    s.pid = j.value("pid", 0);
    s.exit_code = j.value("exitCode", 0);
    s.oom_killed = j.value("oomKilled", false);
    s.restart_count = j.value("restartCount", 0);
    s.stopped_by_user = j.value("stoppedByUser", false);
    s.created = j.value("created", "");
    s.started_at = j.value("startedAt", "");
    s.finished_at = j.value("finishedAt", "");
    s.rootfs = j.value("rootfs", "");
    s.command = j.value("command", std::vector<std::string>{});
    s.cgroup = j.value("cgroup", "");
    s.limit_cgroups = j.value("limitCgroups", std::vector<std::string>{});
    s.network = j.value("network", "");
    s.address = j.value("address", "");
    if (j.contains("ports") && j["ports"].is_array())
        for (const auto& p : j["ports"])
            s.ports.push_back({p.value("hostIp", ""), p.value("hostPort", 0), p.value("containerPort", 0),
                               p.value("protocol", "tcp")});
    return s;
}

namespace {

std::string containers_dir(const Paths& paths) { return paths.root + "/containers"; }
std::string new_dir(const Paths& paths, const std::string& id) { return containers_dir(paths) + "/.new-" + id; }
std::string gone_dir(const Paths& paths, const std::string& id) { return containers_dir(paths) + "/.gone-" + id; }
std::string claim_temp(const Paths& paths, const std::string& id) { return paths.root + "/names/.claim-" + id; }

void warn(const std::string& message) {
    std::string line = "hutch: warning: " + message + "\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

// The containers dir's own flock: shared while a .new- dir is made and its lock taken,
// exclusive while debris is swept, so a sweep never removes a dir made an instant ago whose
// maker has not locked it yet.
Fd lock_containers_dir(const Paths& paths, int how) {
    Fd dir(::open(containers_dir(paths).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw SysError("lock the containers directory", "open", containers_dir(paths), errno);
    while (::flock(dir.get(), how) != 0)
        if (errno != EINTR) throw SysError("lock the containers directory", "flock", containers_dir(paths), errno);
    return dir;
}

// Whether some process holds the lock file at `path` (LOCK_EX: also a shared holder counts).
bool lock_held(const std::string& path, int how = LOCK_SH) {
    Fd lock(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    return lock && ::flock(lock.get(), how | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

std::string link_target(const std::string& link) {
    char target[128] = {};
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "";
}

// A name's owner still exists: its record is published, or being built by a live hutch. The
// .new- lock is looked at first: a rename between the two looks finds the record.
bool owner_exists(const Paths& paths, const std::string& owner) {
    if (owner.empty() || owner.find('/') != std::string::npos) return false;
    if (lock_held(new_dir(paths, owner) + "/lock")) return true;
    struct stat st {};
    return ::stat(paths.runtime_dir(owner).c_str(), &st) == 0;
}

void claim_name(const Paths& paths, const std::string& id, const std::string& name) {
    std::string link = paths.name_link(name);
    for (int attempt = 0;; ++attempt) {
        if (::symlink(id.c_str(), link.c_str()) == 0) return;
        if (errno != EEXIST) throw SysError("claim container name", "symlink", link, errno);
        std::string owner = link_target(link);
        if (owner_exists(paths, owner) || attempt > 0)
            throw UsageError("the container name \"/" + name + "\" is already in use by container \"" + owner +
                             "\": remove that container to reuse the name");
        // A claim left by a container that no longer exists: take it over atomically, so two
        // starts that both found it stale cannot both end up holding it. The temp link's name
        // cannot be a container name (those start with a letter or digit).
        std::string mine = claim_temp(paths, id);
        ::unlink(mine.c_str());
        if (::symlink(id.c_str(), mine.c_str()) != 0 || ::rename(mine.c_str(), link.c_str()) != 0) {
            ::unlink(mine.c_str());
            continue;
        }
        if (link_target(link) == id) return;
    }
}

void release_name(const Paths& paths, const std::string& name, const std::string& id) {
    if (!name.empty() && link_target(paths.name_link(name)) == id) ::unlink(paths.name_link(name).c_str());
}

// What killed hutch processes left: .new- and .gone- dirs whose lock nobody holds, and
// .claim- links of starts no longer running.
void sweep_debris(const Paths& paths) {
    Fd held = lock_containers_dir(paths, LOCK_EX);
    std::vector<std::string> debris;
    if (DIR* dir = ::opendir(containers_dir(paths).c_str())) {
        while (dirent* e = ::readdir(dir)) {
            std::string name = e->d_name;
            if (name.rfind(".new-", 0) == 0 || name.rfind(".gone-", 0) == 0) debris.push_back(name);
        }
        ::closedir(dir);
    }
    for (const auto& name : debris) {
        std::string path = containers_dir(paths) + "/" + name;
        if (lock_held(path + "/lock", LOCK_EX)) continue;  // its hutch is still at work
        try {
            rootless::remove_tree_as_owner(path);
        } catch (const Error& e) {
            warn(e.what());
        }
    }
    if (DIR* dir = ::opendir((paths.root + "/names").c_str())) {
        std::vector<std::string> claims;
        while (dirent* e = ::readdir(dir))
            if (std::strncmp(e->d_name, ".claim-", 7) == 0) claims.emplace_back(e->d_name + 7);
        ::closedir(dir);
        for (const auto& id : claims)
            if (!lock_held(new_dir(paths, id) + "/lock")) ::unlink(claim_temp(paths, id).c_str());
    }
}

// Removes a record in the order the header describes: the writable layer (throws when
// anything stays: the record stays too), then the record out of sight in one rename, the name,
// the rest.
void remove_record(const Paths& paths, const std::string& id, const std::string& name) {
    // Rootless: the overlay's own work dir (mode 000, the mounter's: the user's) is opened to
    // its owner, so only what the container wrote as its other ids, the user's subordinate
    // ids', needs the helper in a user namespace. (Never seen by the container: no link there.)
    if (rootless::active()) ::chmod((paths.data_dir(id) + "/work/work").c_str(), 0700);
    rootless::remove_tree_as_owner(paths.data_dir(id));
    image::drop_lease(paths.data_root, id);  // the image it was made from is free of it now
    std::string tomb = gone_dir(paths, id);
    if (::rename(paths.runtime_dir(id).c_str(), tomb.c_str()) != 0 && errno != ENOENT)
        throw SysError("remove the container's record", "rename", paths.runtime_dir(id), errno);
    release_name(paths, name, id);
    remove_tree(tomb);
}

// A container's record as its state.json holds it (throws when it is unreadable).
ContainerState read_state(const Paths& paths, const std::string& id) {
    return state_from_json(nlohmann::json::parse(read_file(paths.runtime_dir(id) + "/state.json")));
}

}  // namespace

ContainerRecord ContainerRecord::create(const Paths& paths, const ContainerState& initial) {
    make_dirs(paths.root + "/containers", 0711);
    make_dirs(paths.root + "/names", 0711);
    make_dirs(paths.data_root + "/containers", 0711);
    sweep_debris(paths);

    const std::string& id = initial.id;
    ContainerRecord record(paths, id, "", Fd());
    record.building_ = true;  // until the rename below: the destructor removes the .new- dir
    const std::string building = new_dir(paths, id);
    {
        Fd shared = lock_containers_dir(paths, LOCK_SH);
        check(::mkdir(building.c_str(), 0711), "create the container's record", "mkdir", building);
        record.lock_ = Fd(::open((building + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
        // Blocking: nobody else takes this new lock but for an instant (a `ps` or a sweep
        // looking whether it is held), and a non-blocking try would fail the start then.
        if (!record.lock_) throw SysError("lock container", "open", building + "/lock", errno);
        while (::flock(record.lock_.get(), LOCK_EX) != 0)
            if (errno != EINTR) throw SysError("lock container", "flock", building + "/lock", errno);
    }
    write_file_atomic(building + "/state.json", to_json(initial).dump(2) + "\n", 0644, Durability::kRuntime);
    if (!initial.name.empty()) {
        claim_name(paths, id, initial.name);
        record.name_ = initial.name;
    }
    check(::rename(building.c_str(), paths.runtime_dir(id).c_str()), "publish the container's record", "rename",
          paths.runtime_dir(id));
    record.building_ = false;
    if (::mkdir(paths.data_dir(id).c_str(), 0700) != 0 && errno != EEXIST)
        throw SysError("create the container's data directory", "mkdir", paths.data_dir(id), errno);
    return record;
}

ContainerRecord ContainerRecord::reopen(const Paths& paths, const std::string& id, const std::string& name) {
    ContainerRecord record(paths, id, name, Fd());
    record.keep_ = true;
    record.lock_ = Fd(::open(record.runtime_file("lock").c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!record.lock_) throw SysError("open container", "open", record.runtime_file("lock"), errno);
    if (::flock(record.lock_.get(), LOCK_EX | LOCK_NB) != 0)
        throw UsageError("container " + (name.empty() ? id.substr(0, 12) : name) + " is already running");
    ::ftruncate(record.lock_.get(), 0);  // the last run's exit status is not this run's
    return record;
}

ContainerState ContainerRecord::load() const { return read_state(paths_, id_); }

ContainerRecord ContainerRecord::adopt(const Paths& paths, const std::string& id, Fd lock) {
    // Only the lock itself, held: the fd is the record's lock file, another open of it cannot
    // take the lock, and this one can (it already holds it). Anything else would let the caller
    // act on a container another hutch runs.
    const std::string path = paths.runtime_dir(id) + "/lock";
    struct stat held {}, named {};
    Fd other(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!lock || ::fstat(lock.get(), &held) != 0 || !other || ::fstat(other.get(), &named) != 0 ||
        held.st_dev != named.st_dev || held.st_ino != named.st_ino || ::flock(other.get(), LOCK_EX | LOCK_NB) == 0 ||
        ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
        throw Error("take back container " + id.substr(0, 12) + ": the fd given is not its lock, held");
    ContainerRecord record(paths, id, read_state(paths, id).name, std::move(lock));
    record.keep_ = true;
    return record;
}

ContainerRecord::ContainerRecord(ContainerRecord&& other) noexcept
    : paths_(other.paths_), id_(other.id_), name_(other.name_), lock_(std::move(other.lock_)),
      keep_(other.keep_), building_(other.building_) {
    other.keep_ = true;  // the moved-from shell owns nothing
}

ContainerRecord::~ContainerRecord() {
    if (keep_) return;
    if (building_) {  // never published: nobody saw it
        release_name(paths_, name_, id_);
        try {
            remove_tree(new_dir(paths_, id_));
        } catch (const Error& e) {
            warn(e.what());
        }
        return;
    }
    try {
        // The destroy event names the image as every other event of the container does.
        std::map<std::string, std::string> who = {{"name", name_}};
        try {
            who["image"] = read_state(paths_, id_).rootfs;
        } catch (const std::exception&) {  // an unreadable record: the event without it
        }
        remove_record(paths_, id_, name_);
        events::emit(paths_.data_root, {"container", "destroy", id_, who, 0});
    } catch (const Error& e) {
        warn(std::string(e.what()) + ": `hutch rm " + id_.substr(0, 12) + "` removes the rest");
    }
}

void ContainerRecord::clear_exit() const {
    if (lock_ && ::ftruncate(lock_.get(), 0) != 0)
        throw SysError("restart the container", "ftruncate", runtime_file("lock"), errno);
}

void ContainerRecord::record_exit(int status) const {
    std::string text = "exit " + std::to_string(status) + "\n";
    [[maybe_unused]] ssize_t n = ::pwrite(lock_.get(), text.data(), text.size(), 0);
}

std::optional<int> parse_exit_record(std::string_view text) {
    constexpr std::string_view kPrefix = "exit ";
    if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
    text.remove_prefix(kPrefix.size());
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    // 1 to 3 digits, nothing else: an exit status is 0..255 (128+N for signal N).
    if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    int status = 0;
    for (char c : text) status = status * 10 + (c - '0');
    if (status > 255) return std::nullopt;
    return status;
}

std::optional<int> read_exit_record(int fd) {
    char buf[16];
    ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    return parse_exit_record(std::string_view(buf, static_cast<std::size_t>(n)));
}

void ContainerRecord::save(const ContainerState& state) const {
    write_file_atomic(runtime_file("state.json"), to_json(state).dump(2) + "\n", 0644,
                      Durability::kRuntime);
}

bool container_running(const Paths& paths, const std::string& id) {
    Fd lock(::open((paths.runtime_dir(id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    return lock && ::flock(lock.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

namespace {

// One container's record as ps and inspect show it.
ContainerState listed_state(const Paths& paths, const std::string& id) {
    try {
        ContainerState state = read_state(paths, id);
        // "running" is only true while the hutch process that manages it holds the lock; if
        // that process was killed, say so rather than repeat a stale record.
        if ((state.status == "running" || state.status == "restarting") && !container_running(paths, id))
            state.status = "unknown";
        return state;
    } catch (const std::exception&) {
        ContainerState unknown;  // a container caught mid-write: show it honestly
        unknown.id = id;
        unknown.status = "unknown";
        return unknown;
    }
}

// The 64-hex ids of the containers' records: the directory's names, no record read.
std::vector<std::string> container_ids(const Paths& paths) {
    std::vector<std::string> out;
    DIR* dir = ::opendir((paths.root + "/containers").c_str());
    if (!dir) return out;
    while (dirent* entry = ::readdir(dir)) {
        std::string id = entry->d_name;
        if (id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos) out.push_back(id);
    }
    ::closedir(dir);
    return out;
}

bool is_name(const std::string& ref) {
    return !ref.empty() && std::isalnum(static_cast<unsigned char>(ref[0])) &&
           ref.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
}

}  // namespace

std::vector<ContainerState> list_containers(const Paths& paths) {
    std::vector<ContainerState> out;
    for (const auto& id : container_ids(paths)) out.push_back(listed_state(paths, id));
    return out;
}

// A name (its names/ link) or a whole id is one record, read alone: with a thousand containers
// a lookup reads one record, not a thousand. An id prefix reads the directory's names and only
// the record it matches. A name wins over an id prefix, as it always did.
ContainerState find_container(const Paths& paths, const std::string& ref) {
    auto exists = [&](const std::string& id) {
        struct stat st {};
        return ::stat((paths.runtime_dir(id) + "/state.json").c_str(), &st) == 0;
    };
    if (is_name(ref)) {
        const std::string owner = link_target(paths.name_link(ref));
        if (owner.size() == 64 && owner.find('/') == std::string::npos && exists(owner)) {
            ContainerState state = listed_state(paths, owner);
            if (state.name == ref || state.status == "unknown") return state;
        }
        if (ref.size() == 64 && exists(ref)) return listed_state(paths, ref);
    }
    std::vector<std::string> matches;
    if (is_name(ref))
        for (const auto& id : container_ids(paths))
            if (id.rfind(ref, 0) == 0) matches.push_back(id);
    if (matches.size() == 1) return listed_state(paths, matches[0]);
    if (matches.empty()) throw UsageError("no such container: " + ref);
    throw UsageError("multiple containers match the id prefix \"" + ref + "\": be more specific");
}

void remove_container(const Paths& paths, const ContainerState& state) {
    Fd lock(::open((paths.runtime_dir(state.id) + "/lock").c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (lock && ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
        throw UsageError("container " + state.id.substr(0, 12) +
                         " is running (a hutch process manages it): stop it first");
    // Left behind when the hutch that ran it was killed: its processes, then its cgroups (also
    // those `hutch update` made, which the record may not list), and its address claims.
    std::vector<std::string> recorded = state.limit_cgroups;
    if (!state.cgroup.empty()) recorded.insert(recorded.begin(), state.cgroup);
    remove_container_cgroups(state.id, recorded);
    // Its published ports before its address: once released, the address may go to another
    // container, which must not receive the old ports' traffic.
    // (Rootless hutch's ports are pasta's forwards, gone with pasta: it makes no rule.)
    if (!state.ports.empty() && !rootless::active()) net::remove_port_rules(state.id);
    net::release_claims(paths.data_root, state.id,
                        [&paths](const std::string& other) { return paths.hosts_file(other); });
    remove_record(paths, state.id, state.name);
    events::emit(paths.data_root, {"container", "destroy", state.id, {{"name", state.name}, {"image", state.rootfs}}, 0});
    sweep_debris(paths);
}

}  // namespace hutch
