// Restart policies (--restart), kept by the container's own supervisor. hutch has no daemon: the
// process that waits for the command (a -d container's monitor, or a foreground `run`) decides
// at each exit whether to start it again, by Docker's rules (moby's restartmanager):
//   no              never
//   on-failure[:N]  after a non-zero exit, at most N times (none or 0: no limit)
//   always          after every exit
//   unless-stopped  after every exit but one a user asked for
// The delay before a restart starts at 100 ms and doubles up to a minute; a run of 10 s or more
// starts it over. Between runs the container is "restarting" and its supervisor keeps the
// container's lock, so `start` and `rm` (without -f) refuse, as Docker's do.
//
// A stop a user asks for must not be undone by the policy. kill, stop and rm -f leave a request
// in the container's runtime dir before they signal (request), and the supervisor takes it at
// the next exit (take_request) or while it waits to restart (wait_delay). As dockerd: SIGKILL,
// the container's stop signal, or any signal when the container has none set, ends the restarts
// (kExit); any other signal only marks the stop as a user's (kManual: unless-stopped stays down).
// A signal that reaches the supervisor itself (Ctrl-C on a foreground run, a SIGTERM to the
// monitor) is a user's stop too: the supervisor forwards it and restarts nothing after.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "runtime/spec.hpp"

namespace hutch::restart {

using std::chrono::milliseconds;

// docker run's --restart text: no, always, unless-stopped, on-failure[:N]. UsageError in
// Docker's words otherwise.
RestartPolicy parse(const std::string& text);
// The same checks on a policy's parts (a config.json's hutch.restartPolicy).
RestartPolicy parse_policy(const std::string& name, int max_retries);
// "on-failure:3", "always": as given to --restart.
std::string describe(const RestartPolicy& policy);

// Docker's decision and back-off for one container's life under one supervisor.
class Manager {
public:
    explicit Manager(RestartPolicy policy, int restart_count = 0, milliseconds delay = milliseconds(0))
        : policy_(std::move(policy)), count_(restart_count), delay_(delay) {}
    // After an exit with `exit_code`, having run for `ran`: the delay before the next start, or
    // nullopt when the policy says no more. A restart it allows is counted.
    std::optional<milliseconds> after_exit(int exit_code, bool stopped_by_user, milliseconds ran);
    int count() const { return count_; }
    // The last delay (the back-off doubles it): with count(), what a Manager carries over to
    // the exit half of a start run by another process image (runtime/monitor.hpp).
    milliseconds delay() const { return delay_; }

private:
    RestartPolicy policy_;
    int count_;
    milliseconds delay_{0};
};

// Whether a stopped container is started again at boot (`hutch start --all-restartable`): what
// dockerd asks of each container when it starts.
bool restart_at_boot(const RestartPolicy& policy, int exit_code, bool stopped_by_user, int restart_count);

enum class Request { kNone, kManual, kExit };
// Leaves `request` for the supervisor of the container whose runtime dir is `runtime_dir`; a
// kExit already there is never weakened to kManual. A runtime dir that is gone (the container
// was removed meanwhile) is nothing to stop.
void request(const std::string& runtime_dir, Request request);
// Takes (moves aside, reads and removes) the request left there; kNone when there is none.
Request take_request(const std::string& runtime_dir);
// The request waiting there, left in place.
Request peek_request(const std::string& runtime_dir);

// Waits out `delay` before a restart: kElapsed when it passed; kRequest as soon as a request
// is there (inotify on `runtime_dir`, or a look every 100 ms without it); kSignal when a signal
// other than SIGWINCH is readable on `signal_fd` (read and dropped: it was meant for a command
// that is not running).
enum class Wait { kElapsed, kRequest, kSignal };
Wait wait_delay(const std::string& runtime_dir, milliseconds delay, int signal_fd);

// The whole back-off before a restart under `policy`: true when it passed, false when a user
// stopped the container meanwhile (kill, stop, rm -f, or a signal to the supervisor); either
// sets `stopped_by_user` when one asked. A request that only marks the stop as a user's ends
// the wait for unless-stopped alone; the other policies go on waiting.
bool wait_to_restart(const RestartPolicy& policy, const std::string& runtime_dir, milliseconds delay, int signal_fd,
                     bool& stopped_by_user);

// What `start --all-restartable` needs of a container after a reboot, which empties the runtime
// root (/run) and with it the record: kept in its data dir, durably, for containers with a
// policy. "running" from each start to the end; the exit and whether a user stopped it then.
struct LastRun {
    bool running = false;
    int exit_code = 0;
    int restart_count = 0;  // on-failure:N counts across a reboot, as dockerd's RestartCount
    bool stopped_by_user = false;
};
void record_last_run(const std::string& data_dir, const LastRun& last);
// nullopt: never started (a created container), or no policy.
std::optional<LastRun> read_last_run(const std::string& data_dir);

}  // namespace hutch::restart
