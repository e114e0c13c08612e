#include "runtime/rootless.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <string>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/fd.hpp"
#include "runtime/remove_tree.hpp"
#include "runtime/userns.hpp"

namespace hutch::rootless {
namespace {

// Where Debian's uidmap package puts its helpers; a user's PATH is not asked (a program of the
// user's own under that name would get the maps' job).
std::string find_helper(const char* name) {
    for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"})
        if (::access((std::string(dir) + name).c_str(), X_OK) == 0) return std::string(dir) + name;
    return "";
}

// Container ids from `first` on, laid over `ranges` (end to end) from their `offset`-th id:
// userns::map_from's layout, moved up to start at `first`.
std::vector<IdMapping> laid_from(std::uint32_t first, const std::vector<IdMapping>& ranges, std::uint64_t offset,
                                 std::uint64_t size) {
    // No container id past the last one (4294967294).
    size = std::min<std::uint64_t>(size, 0xfffffffeull - first);
    std::vector<IdMapping> out = userns::map_from(ranges, offset, static_cast<std::uint32_t>(size));
    for (auto& m : out) m.container_id += first;
    return out;
}

std::uint64_t ids_in(const std::vector<IdMapping>& ranges) {
    std::uint64_t total = 0;
    for (const auto& r : ranges) total += r.size;
    return total;
}

// 0 -> the user's own id, 1.. -> the file's ranges of `name` laid end to end.
std::vector<IdMapping> map_for(std::uint32_t own, const std::string& text, const std::string& name, const char* file) {
    std::vector<IdMapping> ranges = userns::subordinate_ranges(text, name, file);
    if (ranges.empty())
        throw UsageError(std::string(file) + " has no entry for " + name + ": rootless hutch maps the container's ids 1.. onto "
                         "it (add a line such as " + name + ":100000:65536)");
    std::vector<IdMapping> map{{0, own, 1}};
    for (const auto& m : laid_from(1, ranges, 0, ids_in(ranges))) map.push_back(m);
    userns::check_map(map, std::string(file) + "'s ranges of " + name);
    return map;
}

std::string read_small(const char* path) {
    Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return "";
        throw SysError("read the subordinate ids", "open", path, errno);
    }
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            throw SysError("read the subordinate ids", "read", path, errno);
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > (1u << 20)) throw Error(std::string("read the subordinate ids: ") + path + " is over 1 MiB");
    }
    return out;
}

// What a helper writes to `fd` until it closes it: the first 4 KiB kept, the rest drained so the
// writer never blocks on a full pipe.
std::string read_to_end(int fd) {
    std::string out;
    char buf[1024];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (out.size() < 4096) out.append(buf, std::min(static_cast<std::size_t>(n), 4096 - out.size()));
    }
    return out;
}

// Runs `helper` with `args`; its first line of output is the error when it fails.
void run_helper(const std::string& helper, const std::vector<std::string>& args) {
    int fds[2];
    check(::pipe2(fds, O_CLOEXEC), "map the user namespace's ids", "pipe2");
    Fd read_end(fds[0]), write_end(fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
    std::vector<char*> argv{const_cast<char*>(helper.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    char* no_env[] = {nullptr};  // setuid: nothing of the caller's environment is its business
    // hutch blocks some signals and ignores SIGPIPE: the helper gets neither.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, helper.c_str(), &actions, &attr, argv.data(), no_env);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw SysError("map the user namespace's ids", "posix_spawn", helper, rc);
    write_end.reset();
    const std::string out = read_to_end(read_end.get());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno == EINTR) continue;
        status = -1;  // not a clean exit
        break;
    }
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    std::string line = out.substr(0, out.find('\n'));
    std::string shown = helper;
    for (const auto& a : args) shown += " " + a;
    throw Error("map the user namespace's ids: " + shown + " failed" + (line.empty() ? "" : ": " + line));
}

}  // namespace

bool active() { return ::geteuid() != 0; }

Paths default_paths(const char* (*getenv)(const char*)) {
    Paths paths;
    auto absolute = [](const char* v) { return v && v[0] == '/' ? std::string(v) : std::string(); };
    std::string runtime = absolute(getenv("XDG_RUNTIME_DIR"));
    if (runtime.empty()) {
        // pam_systemd's directory, when the variable was lost (su, sudo -u): only if it is the
        // user's own.
        const std::string own = "/run/user/" + std::to_string(::getuid());
        struct stat st {};
        if (::lstat(own.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::getuid() && (st.st_mode & 077) == 0)
            runtime = own;
    }
    paths.root = runtime.empty() ? "" : runtime + "/hutch";
    std::string data = absolute(getenv("XDG_DATA_HOME"));
    if (data.empty()) {
        const std::string home = absolute(getenv("HOME"));
        if (!home.empty()) data = home + "/.local/share";
    }
    paths.data_root = data.empty() ? "" : data + "/hutch";
    return paths;
}

void require_roots(const Paths& paths) {
    if (paths.root.empty())
        throw UsageError("rootless hutch keeps its state in $XDG_RUNTIME_DIR/hutch, and XDG_RUNTIME_DIR is not set to an "
                         "absolute path (set it, or give --root)");
    if (paths.data_root.empty())
        throw UsageError("rootless hutch keeps its data in ~/.local/share/hutch, and neither XDG_DATA_HOME nor HOME is set "
                         "to an absolute path (set one, or give --data-root)");
}

User current_user() {
    User user{::getuid(), ::getgid(), ""};
    // getpwuid_r: bounded, and no static buffer another thread might share.
    std::vector<char> buf(16384);
    passwd entry{}, *found = nullptr;
    if (::getpwuid_r(user.uid, &entry, buf.data(), buf.size(), &found) == 0 && found) user.name = found->pw_name;
    if (user.name.empty())
        throw UsageError("rootless hutch: uid " + std::to_string(user.uid) +
                         " has no name in the passwd database, and /etc/subuid is keyed by name");
    return user;
}

Maps user_maps(const User& user, const std::string& subuid_text, const std::string& subgid_text) {
    // newuidmap takes an entry by name or by uid; so does hutch, the name first.
    auto pick = [&](const std::string& text, std::uint32_t own, std::uint32_t id, const char* file) {
        if (!userns::subordinate_ranges(text, user.name, file).empty()) return map_for(own, text, user.name, file);
        if (!userns::subordinate_ranges(text, std::to_string(id), file).empty())
            return map_for(own, text, std::to_string(id), file);
        return map_for(own, text, user.name, file);  // throws, naming the file and the user
    };
    return {pick(subuid_text, user.uid, user.uid, "/etc/subuid"), pick(subgid_text, user.gid, user.uid, "/etc/subgid")};
}

Maps user_maps(const User& user) { return user_maps(user, read_small("/etc/subuid"), read_small("/etc/subgid")); }

KeepId parse_keep_id(const std::string& value) {
    KeepId how;
    if (value == "keep-id") return how;
    const std::string prefix = "keep-id:";
    if (value.rfind(prefix, 0) != 0 || value.size() == prefix.size())
        throw UsageError("invalid --userns " + in_quotes(value) + ": keep-id[:uid=UID,gid=GID,size=SIZE]");
    std::size_t at = prefix.size();
    while (at <= value.size()) {
        std::size_t end = value.find(',', at);
        if (end == std::string::npos) end = value.size();
        const std::string option = value.substr(at, end - at);
        at = end + 1;
        const std::size_t equals = option.find('=');
        const std::string key = option.substr(0, equals);
        std::optional<std::uint32_t>* slot = key == "uid" ? &how.uid : key == "gid" ? &how.gid : key == "size" ? &how.size : nullptr;
        std::uint32_t n = 0;
        const char* digits = option.data() + (equals == std::string::npos ? option.size() : equals + 1);
        auto [rest, err] = std::from_chars(digits, option.data() + option.size(), n);
        if (!slot || equals == std::string::npos || err != std::errc() || rest != option.data() + option.size() ||
            digits == rest || n == 0xffffffffu || (key == "size" && n == 0))
            throw UsageError("invalid --userns keep-id option " + in_quotes(option) +
                             ": uid=UID, gid=GID (the id you become inside) or size=SIZE (how many ids the container gets)");
        if (*slot) throw UsageError("--userns keep-id: " + key + "= given twice");
        *slot = n;
    }
    return how;
}

Maps keep_id(const Maps& maps, const KeepId& how) {
    auto lay = [&how](const std::vector<IdMapping>& map, std::optional<std::uint32_t> inside, const char* file) {
        const std::uint32_t own = map.front().host_id;  // user_maps puts 0 -> the user first
        const std::uint32_t at = inside.value_or(own);
        const std::vector<IdMapping> subordinate(map.begin() + 1, map.end());
        const std::uint64_t total = ids_in(subordinate);
        // The container's ids: `size` of them, or your one and every subordinate id.
        const std::uint64_t ids = how.size ? *how.size : total + 1;
        if (!how.size && at > total)
            throw UsageError("--userns keep-id puts your id at " + std::to_string(at) + ": ids 0 to " + std::to_string(at - 1) +
                             " below it take " + file + "'s ranges, which hold only " + std::to_string(total));
        if (at >= ids)
            throw UsageError("--userns keep-id puts your id at " + std::to_string(at) + ", beyond the " + std::to_string(ids) +
                             " ids of the container (size=)");
        if (total < ids - 1)
            throw UsageError("--userns keep-id with " + std::to_string(ids) + " ids (your id at " + std::to_string(at) +
                             ") needs " + std::to_string(ids - 1) + " of " + file + "'s ranges, which hold only " +
                             std::to_string(total));
        std::vector<IdMapping> out = laid_from(0, subordinate, 0, at);
        out.push_back({at, own, 1});
        for (const auto& m : laid_from(at + 1, subordinate, at, ids - 1 - at)) out.push_back(m);
        userns::check_map(out, std::string("--userns keep-id over ") + file + "'s ranges");
        return out;
    };
    return {lay(maps.uids, how.uid, "/etc/subuid"), lay(maps.gids, how.gid, "/etc/subgid")};
}

Maps nomap(const Maps& maps) {
    auto lay = [](const std::vector<IdMapping>& map) {
        const std::vector<IdMapping> subordinate(map.begin() + 1, map.end());  // user_maps puts 0 -> the user first
        return laid_from(0, subordinate, 0, ids_in(subordinate));
    };
    return {lay(maps.uids), lay(maps.gids)};
}

void require_helpers() {
    for (const char* helper : {"newuidmap", "newgidmap"})
        if (find_helper(helper).empty())
            throw UsageError(std::string("rootless hutch needs ") + helper +
                             " to map the container's ids, and it is not installed (Debian's uidmap package)");
}

void write_maps(pid_t pid, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids) {
    for (const auto& [helper, map] : {std::pair{"newuidmap", &uids}, std::pair{"newgidmap", &gids}}) {
        const std::string path = find_helper(helper);
        if (path.empty())
            throw UsageError(std::string("rootless hutch needs ") + helper + " (Debian's uidmap package)");
        std::vector<std::string> args{std::to_string(pid)};
        for (const auto& m : *map)
            for (std::uint32_t v : {m.container_id, m.host_id, m.size}) args.push_back(std::to_string(v));
        std::string shown = helper;
        for (const auto& a : args) shown += " " + a;
        explain::comment(shown + ": the setuid helper writes /proc/" + std::to_string(pid) + "/" +
                         (map == &uids ? "uid_map" : "gid_map") + " for the user");
        run_helper(path, args);
    }
}

std::string as_namespace_root_with_result(const Maps& maps, const std::string& what, const std::function<std::string()>& work) {
    int ready[2], go[2], result[2];
    check(::pipe2(ready, O_CLOEXEC), what.c_str(), "pipe2");
    Fd ready_read(ready[0]), ready_write(ready[1]);
    check(::pipe2(go, O_CLOEXEC), what.c_str(), "pipe2");
    Fd go_read(go[0]), go_write(go[1]);
    check(::pipe2(result, O_CLOEXEC), what.c_str(), "pipe2");
    Fd result_read(result[0]), result_write(result[1]);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw SysError(what, "fork", "a helper in a user namespace", errno);
    if (pid == 0) {
        // Only its own ends: the parent's closing "go" must read as EOF here.
        ::close(ready[0]);
        ::close(go[1]);
        ::close(result[0]);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(2);
        char c = 'x';
        if (::unshare(CLONE_NEWUSER) != 0 || ::write(ready[1], &c, 1) != 1) ::_exit(2);
        if (::read(go[0], &c, 1) != 1) ::_exit(2);  // the parent is gone, or could not map it
        // The result pipe carries 'R' and work's result, or 'E' and its error's message.
        std::string message;
        try {
            if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)
                throw SysError(what, "setresuid", "the user namespace's root", errno);
            message = "R" + work();
        } catch (const std::exception& e) {
            message = std::string("E") + e.what();
        }
        [[maybe_unused]] ssize_t n = ::write(result[1], message.data(), std::min<std::size_t>(message.size(), 4096));
        ::_exit(message[0] == 'R' ? 0 : 1);
    }
    ready_write.reset();
    go_read.reset();
    result_write.reset();
    auto reap = [pid] {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) return -1;  // not a clean exit
        return status;
    };
    char c;
    if (::read(ready_read.get(), &c, 1) != 1) {
        reap();
        throw Error(what + ": the helper could not make a user namespace (unshare(CLONE_NEWUSER))");
    }
    try {
        write_maps(pid, maps.uids, maps.gids);
    } catch (...) {
        ::kill(pid, SIGKILL);
        reap();
        throw;
    }
    if (::write(go_write.get(), "g", 1) != 1) {
        ::kill(pid, SIGKILL);
        reap();
        throw SysError(what, "write", "the helper's go pipe", errno);
    }
    go_write.reset();
    const std::string message = read_to_end(result_read.get());
    const int status = reap();
    if (message.size() > 1 && message[0] == 'E') throw Error(message.substr(1));
    if (message.empty() || message[0] != 'R' || status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error(what + ": the helper in the user namespace failed");
    return message.substr(1);
}

void as_namespace_root(const Maps& maps, const std::string& what, const std::function<void()>& work) {
    as_namespace_root_with_result(maps, what, [&] {
        work();
        return std::string();
    });
}

void remove_tree_as_owner(const std::string& path) {
    try {
        remove_tree(path);
    } catch (const Error&) {
        if (!active()) throw;
        // A subordinate id owns a directory in it: only the user namespace's root may empty it.
        as_namespace_root(user_maps(current_user()), "remove " + path, [&] { remove_tree(path); });
    }
}

}  // namespace hutch::rootless
