// Acting on a container another hutch process supervises (`hutch kill|stop|wait|logs`): that
// process (its monitor, or a foreground `run`) holds the container's lock for as long as the
// container runs, so "running" and "has ended" are questions about the lock, and waiting for the
// end is waiting for the lock. The CLI (runtime/cli/lifecycle.cpp) only maps flags onto these.
#pragma once

#include <csignal>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "runtime/fd.hpp"
#include "runtime/state.hpp"

namespace hutch::lifecycle {

using std::chrono::milliseconds;

// A pidfd on the container's first process, opened while the lock says its supervisor still
// runs, so the pid cannot name a recycled process. UsageError (naming `ref`) when not running.
Fd running_pidfd(const Paths& paths, const ContainerState& c, const std::string& ref);
// pidfd_send_signal; a process already gone (ESRCH) is no error.
void send_signal(const Fd& pidfd, int sig, const std::string& ref);

// Waits until the supervisor of container `id` releases its lock, at most `timeout` (negative:
// no limit). Returns whether the container has ended.
bool wait_for_end(const Paths& paths, const std::string& id, milliseconds timeout);
// `hutch wait`: blocks until the container ends and returns its exit status, read from the lock
// file its supervisor writes before letting go (which outlives the record under --rm). Error
// when it ended without one (its supervisor was killed).
int wait_exit(const Paths& paths, const std::string& id, const std::string& ref);

// docker stop's escalation: `signal(first)` (SIGTERM, or the container's stop signal), then,
// unless `ended(grace)` says the process ended within the grace period, `signal(SIGKILL)` and
// `ended(no limit)`. Returns whether SIGKILL was needed.
bool stop_escalating(const std::function<void(int sig)>& signal, const std::function<bool(milliseconds)>& ended,
                     milliseconds grace, int first = SIGTERM);
// The OCI annotation that carries a container's stop signal (--stop-signal, an image's
// StopSignal), as image-spec names it.
inline constexpr const char* kStopSignalAnnotation = "org.opencontainers.image.stopSignal";
// `hutch kill`: sends `sig` to a running container, with its "kill" event.
void kill_container(const Paths& paths, const ContainerState& c, const std::string& ref, int sig);
// `hutch stop`: stop_escalating on a container, with docker's "kill" and "stop" events; a
// container that is not running is already stopped.
void stop_container(const Paths& paths, const ContainerState& c, const std::string& ref, milliseconds grace);

// `hutch pause` / `hutch unpause` (docker pause): every process of a running container stopped
// where it is by the cgroup freezer (runtime/freezer.hpp), with the "pause" / "unpause" events.
// UsageError when it is not running, is already paused (or is not), or has no cgroup with a
// freezer.
void pause_container(const Paths& paths, const ContainerState& c, const std::string& ref);
void unpause_container(const Paths& paths, const ContainerState& c, const std::string& ref);
// Thaws a paused container without an event: `rm -f`'s SIGKILL must be acted on.
void thaw(const ContainerState& c);
// Whether running container `c` is paused now: its freezer is the only record of it, so a
// container never shows "paused" after its cgroup is gone. Docker's State.Paused and ps's
// "Up 5 seconds (Paused)".
bool is_paused(const ContainerState& c);
// docker ps's State and its status filter: "paused" for a paused running container, else the
// record's status.
std::string state_string(const ContainerState& c);

// `--tail`: "all" is -1, else a count of lines; UsageError otherwise.
long parse_tail(const std::string& text);
// The last `lines` lines of `text` (all of it when negative); a final line without a newline is
// a line too.
std::string_view last_lines(std::string_view text, long lines);

using Output = std::function<void(std::string_view)>;
// `hutch logs`: the log `fd` from where it stands to its end, the last `lines` of it (-1: all).
void print_log(int fd, long lines, const Output& out);
// `hutch logs -f` after print_log: whatever is appended to `fd`, polled every `interval`, until
// `running()` says the container ended; what it wrote before ending is printed too.
void follow_log(int fd, const std::function<bool()>& running, const Output& out, milliseconds interval);

}  // namespace hutch::lifecycle
