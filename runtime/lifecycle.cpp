#include "runtime/lifecycle.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <thread>

#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "runtime/freezer.hpp"
#include "runtime/restart.hpp"

namespace hutch::lifecycle {

Fd running_pidfd(const Paths& paths, const ContainerState& c, const std::string& ref) {
    if (!container_running(paths, c.id) || c.pid <= 0) throw UsageError("container " + ref + " is not running");
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0)));
    if (!pidfd || !container_running(paths, c.id)) throw UsageError("container " + ref + " is not running");
    return pidfd;
}

void send_signal(const Fd& pidfd, int sig, const std::string& ref) {
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0 && errno != ESRCH)
        throw SysError("signal container " + ref, "pidfd_send_signal", std::to_string(sig), errno);
}

namespace {

Fd open_lock(const Paths& paths, const std::string& id) {
    return Fd(::open((paths.runtime_dir(id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
}

// Blocks until a shared lock on `lock` is granted: its supervisor let go.
void lock_shared(const Fd& lock, const std::string& what) {
    while (::flock(lock.get(), LOCK_SH) != 0)
        if (errno != EINTR) throw SysError(what, "flock", "lock", errno);
}

}  // namespace

bool wait_for_end(const Paths& paths, const std::string& id, milliseconds timeout) {
    Fd lock = open_lock(paths, id);
    if (!lock) return true;  // no lock file: the record is gone with its container (--rm)
    if (timeout.count() < 0) {
        lock_shared(lock, "wait for container " + id);
        return true;
    }
    // flock has no timeout: tried without blocking until the deadline.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (::flock(lock.get(), LOCK_SH | LOCK_NB) == 0) return true;
        if (errno != EWOULDBLOCK && errno != EINTR) throw SysError("wait for container " + id, "flock", "lock", errno);
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(milliseconds(20));
    }
}

int wait_exit(const Paths& paths, const std::string& id, const std::string& ref) {
    // Held open across the wait: --rm may remove the record (and the file's name) meanwhile.
    Fd lock = open_lock(paths, id);
    if (!lock) throw UsageError("no such container: " + ref);
    lock_shared(lock, "wait for container " + ref);
    std::optional<int> status = read_exit_record(lock.get());
    if (!status)
        throw Error("container " + ref + " ended without an exit status: the hutch process that supervised it was killed");
    return *status;
}

bool stop_escalating(const std::function<void(int)>& signal, const std::function<bool(milliseconds)>& ended,
                     milliseconds grace, int first) {
    signal(first);
    if (ended(grace)) return false;
    signal(SIGKILL);
    ended(milliseconds(-1));
    return true;
}

namespace {

// The container's own stop signal (--stop-signal, an image's StopSignal), recorded as a number
// in its config's annotations by the front-end (which checked it); nullopt when none was set.
std::optional<int> configured_stop_signal(const Paths& paths, const std::string& id) {
    try {
        auto config = nlohmann::json::parse(read_file(paths.data_dir(id) + "/config.json"));
        std::string text = config.at("annotations").at(kStopSignalAnnotation).get<std::string>();
        int sig = std::stoi(text);
        if (sig > 0 && sig < NSIG) return sig;
    } catch (const std::exception&) {
        // No annotation (most containers), or a config an OCI engine wrote: the default applies.
    }
    return std::nullopt;
}

// What a user's signal means to the restart policy, as dockerd decides it: SIGKILL, the stop
// signal, or any signal to a container without one ends the restarts; another only marks the
// stop as a user's.
restart::Request request_for(const Paths& paths, const std::string& id, int sig) {
    const std::optional<int> stop_signal = configured_stop_signal(paths, id);
    return !stop_signal || sig == SIGKILL || sig == *stop_signal ? restart::Request::kExit : restart::Request::kManual;
}

// The container's first process, or an empty Fd when its supervisor waits to restart it.
// UsageError when nothing runs (or a start is still making it: no pid yet).
Fd pidfd_unless_restarting(const Paths& paths, const ContainerState& c, const std::string& ref) {
    auto restarting = [&](const ContainerState& now) {
        return now.status == "restarting" && container_running(paths, now.id);
    };
    if (restarting(c)) return Fd();
    try {
        return running_pidfd(paths, c, ref);
    } catch (const UsageError&) {
        // The pid read with the record may have ended since, and the supervisor be between runs.
        if (restarting(find_container(paths, c.id))) return Fd();
        throw;
    }
}

}  // namespace

namespace {

// The freezer of container `c`: its cgroup2 directory's cgroup.freeze, else a v1 freezer.state.
std::string container_freezer(const ContainerState& c) {
    std::vector<std::string> cgroups = c.limit_cgroups;
    if (!c.cgroup.empty()) cgroups.insert(cgroups.begin(), c.cgroup);
    return freezer_of(cgroups);
}

}  // namespace

bool is_paused(const ContainerState& c) {
    if (c.status != "running") return false;
    try {
        std::string freezer = container_freezer(c);
        return !freezer.empty() && is_frozen(freezer);
    } catch (const Error&) {
        return false;  // the cgroup went with its container since the record was read
    }
}

void thaw(const ContainerState& c) {
    if (is_paused(c)) set_frozen(container_freezer(c), false);
}

std::string state_string(const ContainerState& c) { return is_paused(c) ? "paused" : c.status; }

void pause_container(const Paths& paths, const ContainerState& c, const std::string& ref) {
    if (!container_running(paths, c.id) || c.status != "running" || c.pid <= 0)
        throw UsageError("container " + ref + " is not running");
    std::string freezer = container_freezer(c);
    if (freezer.empty()) throw UsageError("container " + ref + " has no cgroup with a freezer: it cannot be paused");
    if (is_frozen(freezer)) throw UsageError("container " + ref + " is already paused");
    set_frozen(freezer, true);
    events::emit(paths.data_root, {"container", "pause", c.id, {{"image", c.rootfs}, {"name", c.name}}, 0});
}

void unpause_container(const Paths& paths, const ContainerState& c, const std::string& ref) {
    if (!container_running(paths, c.id) || !is_paused(c)) throw UsageError("container " + ref + " is not paused");
    set_frozen(container_freezer(c), false);
    events::emit(paths.data_root, {"container", "unpause", c.id, {{"image", c.rootfs}, {"name", c.name}}, 0});
}

void kill_container(const Paths& paths, const ContainerState& c, const std::string& ref, int sig) {
    if (!container_running(paths, c.id) || (c.pid <= 0 && c.status != "restarting"))
        throw UsageError("container " + ref + " is not running");
    // Left before the signal: the supervisor must know the exit was asked for when it sees it.
    restart::Request request = request_for(paths, c.id, sig);
    restart::request(paths.runtime_dir(c.id), request);
    // As dockerd: a container waiting to restart is stopped by the request alone.
    if (Fd pidfd = pidfd_unless_restarting(paths, c, ref)) send_signal(pidfd, sig, ref);
    // As dockerd: a paused container is thawed after a signal that ends it (SIGKILL, its stop
    // signal, any signal when it has none), so the signal is acted on; another one waits,
    // pending, for `hutch unpause`.
    if (request == restart::Request::kExit) thaw(c);
    events::emit(paths.data_root,
                 {"container", "kill", c.id, {{"image", c.rootfs}, {"name", c.name}, {"signal", std::to_string(sig)}}, 0});
}

void stop_container(const Paths& paths, const ContainerState& c, const std::string& ref, milliseconds grace) {
    if (!container_running(paths, c.id)) return;
    const std::map<std::string, std::string> who = {{"image", c.rootfs}, {"name", c.name}};
    // Whatever the policy: a stopped container stays stopped.
    restart::request(paths.runtime_dir(c.id), restart::Request::kExit);
    Fd pidfd = pidfd_unless_restarting(paths, c, ref);
    if (!pidfd) {
        wait_for_end(paths, c.id, milliseconds(-1));
        events::emit(paths.data_root, {"container", "stop", c.id, who, 0});
        return;
    }
    auto signal = [&](int sig) {
        send_signal(pidfd, sig, ref);
        thaw(c);  // stop's signals all end it: acted on by a paused container too (kill, above)
        auto attrs = who;
        attrs["signal"] = std::to_string(sig);
        events::emit(paths.data_root, {"container", "kill", c.id, attrs, 0});
    };
    stop_escalating(signal, [&](milliseconds timeout) { return wait_for_end(paths, c.id, timeout); }, grace,
                    configured_stop_signal(paths, c.id).value_or(SIGTERM));
    events::emit(paths.data_root, {"container", "stop", c.id, who, 0});
}

long parse_tail(const std::string& text) {
    if (text == "all") return -1;
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        throw UsageError("invalid --tail \"" + text + "\": a number of lines or all");
    return std::stol(text);
}

std::string_view last_lines(std::string_view text, long lines) {
    if (lines < 0) return text;
    std::size_t cut = text.size();
    // The newline that ends the last line is not the start of another.
    std::size_t end = !text.empty() && text.back() == '\n' ? text.size() - 1 : text.size();
    for (long seen = 0; seen < lines && end > 0; ++seen) {
        std::size_t nl = text.rfind('\n', end - 1);
        cut = nl == std::string_view::npos ? 0 : nl + 1;
        if (nl == std::string_view::npos) break;
        end = nl;
    }
    return text.substr(cut);
}

namespace {

// Reads `fd` to its current end into `out`, 64 KiB at a time.
void drain(int fd, const std::function<void(std::string_view)>& out) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) out(std::string_view(buf, static_cast<std::size_t>(n)));
        else if (n == 0) return;
        else if (errno != EINTR) throw SysError("read the container's log", "read", "container.log", errno);
    }
}

}  // namespace

void print_log(int fd, long lines, const Output& out) {
    if (lines < 0) {
        drain(fd, out);
        return;
    }
    std::string text;
    drain(fd, [&](std::string_view chunk) { text.append(chunk); });
    out(last_lines(text, lines));
}

void follow_log(int fd, const std::function<bool()>& running, const Output& out, milliseconds interval) {
    for (;;) {
        // Asked before the read: what the container wrote before it ended is read after.
        bool ended = !running();
        drain(fd, out);
        if (ended) return;
        std::this_thread::sleep_for(interval);
    }
}

}  // namespace hutch::lifecycle
