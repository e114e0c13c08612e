#include "runtime/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "runtime/cgroup.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"

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

namespace {


void remove_tree_at(int parent, const char* name) {
    int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        ::unlinkat(parent, name, 0);  // not a directory (or gone): unlink it
        return;
    }
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        return;
    }
    while (dirent* entry = ::readdir(dir)) {
        std::string child = entry->d_name;
        if (child == "." || child == "..") continue;
        if (entry->d_type == DT_DIR) remove_tree_at(fd, child.c_str());
        else if (::unlinkat(fd, child.c_str(), 0) != 0 && errno == EISDIR)
            remove_tree_at(fd, child.c_str());
    }
    ::closedir(dir);
    ::unlinkat(parent, name, AT_REMOVEDIR);
}

}  // namespace

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
                       Durability durability) {
    std::string temp = path + ".tmp";
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

void remove_tree(const std::string& path) {
    auto slash = path.find_last_of('/');
    std::string parent = slash == 0 ? "/" : path.substr(0, slash);
    Fd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return;
    remove_tree_at(dir.get(), path.substr(slash + 1).c_str());
}

nlohmann::json to_json(const ContainerState& s) {
    return {{"id", s.id},           {"name", s.name},         {"status", s.status},
            {"pid", s.pid},         {"exitCode", s.exit_code}, {"created", s.created},
            {"startedAt", s.started_at}, {"finishedAt", s.finished_at},
            {"rootfs", s.rootfs},   {"command", s.command}, {"cgroup", s.cgroup}};
}

ContainerState state_from_json(const nlohmann::json& j) {
    ContainerState s;
    s.id = j.value("id", "");
    s.name = j.value("name", "");
    s.status = j.value("status", "unknown");
    s.pid = j.value("pid", 0);
    s.exit_code = j.value("exitCode", 0);
    s.created = j.value("created", "");
    s.started_at = j.value("startedAt", "");
    s.finished_at = j.value("finishedAt", "");
    s.rootfs = j.value("rootfs", "");
    s.command = j.value("command", std::vector<std::string>{});
    s.cgroup = j.value("cgroup", "");
    return s;
}

ContainerRecord ContainerRecord::create(const Paths& paths, const std::string& id,
                                        const std::string& name) {
    make_dirs(paths.root + "/containers", 0711);
    make_dirs(paths.root + "/names", 0711);
    make_dirs(paths.data_root + "/containers", 0711);

    // The record's directories and lock exist before the name is published, so a claim anyone
    // can see always has a container behind it; a claim without one is stale.
    ContainerRecord record(paths, id, "", Fd());
    make_dirs(paths.runtime_dir(id), 0711);
    make_dirs(paths.data_dir(id), 0700);
    record.lock_ = Fd(::open(record.runtime_file("lock").c_str(),
                             O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!record.lock_ || ::flock(record.lock_.get(), LOCK_EX | LOCK_NB) != 0)
        throw SysError("lock container", "flock", record.runtime_file("lock"), errno);
    if (name.empty()) return record;

    std::string link = paths.name_link(name);
    for (int attempt = 0;; ++attempt) {
        if (::symlink(id.c_str(), link.c_str()) == 0) break;
        if (errno != EEXIST) throw SysError("claim container name", "symlink", link, errno);
        char owner[128] = {};
        ssize_t n = ::readlink(link.c_str(), owner, sizeof owner - 1);
        std::string owner_id = n > 0 ? std::string(owner, static_cast<std::size_t>(n)) : "";
        struct stat st {};
        bool owner_exists = !owner_id.empty() && ::stat(paths.runtime_dir(owner_id).c_str(), &st) == 0;
        if (owner_exists || attempt > 0)
            throw UsageError("the container name \"/" + name + "\" is already in use by container \"" +
                             owner_id + "\": remove that container to reuse the name");
        // A claim left by a container that no longer exists: take it over atomically, so two
        // starts that both found it stale cannot both end up holding it.
        std::string mine = link + "." + id;
        if (::symlink(id.c_str(), mine.c_str()) != 0 || ::rename(mine.c_str(), link.c_str()) != 0) {
            ::unlink(mine.c_str());
            continue;
        }
        char now[128] = {};
        if (::readlink(link.c_str(), now, sizeof now - 1) > 0 && id == now) break;
    }
    record.name_ = name;
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

ContainerRecord::ContainerRecord(ContainerRecord&& other) noexcept
    : paths_(other.paths_), id_(other.id_), name_(other.name_), lock_(std::move(other.lock_)),
      keep_(other.keep_) {
    other.keep_ = true;  // the moved-from shell owns nothing
}

ContainerRecord::~ContainerRecord() {
    if (keep_) return;
    events::emit(paths_.data_root, {"container", "destroy", id_, {{"name", name_}}, 0});
    // The name first: once `ps` no longer lists the container (its runtime dir is gone), its
    // name must be free already, or a `run --name` right after would find it taken.
    if (!name_.empty()) {
        char owner[128] = {};
        if (::readlink(paths_.name_link(name_).c_str(), owner, sizeof owner - 1) > 0 && id_ == owner)
            ::unlink(paths_.name_link(name_).c_str());
    }
    // The data dir before the runtime dir: `ps` lists what has a runtime dir, so once it no
    // longer lists the container, nothing of it is left.
    remove_tree(paths_.data_dir(id_));
    remove_tree(paths_.runtime_dir(id_));
}

void ContainerRecord::record_exit(int status) const {
    std::string text = "exit " + std::to_string(status) + "\n";
    [[maybe_unused]] ssize_t n = ::pwrite(lock_.get(), text.data(), text.size(), 0);
}

void ContainerRecord::save(const ContainerState& state) const {
    write_file_atomic(runtime_file("state.json"), to_json(state).dump(2) + "\n", 0644,
                      Durability::kRuntime);
}

bool container_running(const Paths& paths, const std::string& id) {
    Fd lock(::open((paths.runtime_dir(id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    return lock && ::flock(lock.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

std::vector<ContainerState> list_containers(const Paths& paths) {
    std::vector<ContainerState> out;
    DIR* dir = ::opendir((paths.root + "/containers").c_str());
    if (!dir) return out;
    while (dirent* entry = ::readdir(dir)) {
        std::string id = entry->d_name;
        if (id.size() != 64) continue;
        try {
            ContainerState state = state_from_json(
                nlohmann::json::parse(read_file(paths.runtime_dir(id) + "/state.json")));
            // "running" is only true while the hutch process that manages it holds the lock; if
            // that process was killed, say so rather than repeat a stale record.
            if (state.status == "running" && !container_running(paths, id)) state.status = "unknown";
            out.push_back(state);
        } catch (const std::exception&) {
            ContainerState unknown;  // a container caught mid-write: show it honestly
            unknown.id = id;
            unknown.status = "unknown";
            out.push_back(unknown);
        }
    }
    ::closedir(dir);
    return out;
}

ContainerState find_container(const Paths& paths, const std::string& ref) {
    std::vector<ContainerState> matches;
    for (auto& c : list_containers(paths)) {
        if (c.name == ref || c.id == ref) return c;
        if (!ref.empty() && c.id.rfind(ref, 0) == 0) matches.push_back(c);
    }
    if (matches.size() == 1) return matches[0];
    if (matches.empty()) throw UsageError("no such container: " + ref);
    throw UsageError("multiple containers match the id prefix \"" + ref + "\": be more specific");
}

void remove_container(const Paths& paths, const ContainerState& state) {
    Fd lock(::open((paths.runtime_dir(state.id) + "/lock").c_str(), O_RDWR | O_CLOEXEC));
    if (lock && ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
        throw UsageError("container " + state.id.substr(0, 12) +
                         " is running (a hutch process manages it): stop it first");
    events::emit(paths.data_root, {"container", "destroy", state.id, {{"name", state.name}, {"image", state.rootfs}}, 0});
    // Left behind when the hutch that ran it was killed: its processes, then its cgroup.
    if (!state.cgroup.empty()) remove_cgroup(state.cgroup);
    remove_tree(paths.data_dir(state.id));
    remove_tree(paths.runtime_dir(state.id));
    if (!state.name.empty()) {
        char owner[128] = {};
        if (::readlink(paths.name_link(state.name).c_str(), owner, sizeof owner - 1) > 0 &&
            state.id == owner)
            ::unlink(paths.name_link(state.name).c_str());
    }
}

}  // namespace hutch
