#include "runtime/restart.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <climits>
#include <cstring>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/state.hpp"

namespace hutch::restart {

namespace {

constexpr milliseconds kFirstDelay{100};
constexpr milliseconds kLongestDelay{60000};
constexpr milliseconds kRunThatResets{10000};
constexpr const char* kRequestFile = "stop-request";

}  // namespace

RestartPolicy parse_policy(const std::string& name, int max_retries) {
    if (name == "no" || name == "always" || name == "unless-stopped") {
        if (max_retries != 0)
            throw UsageError("invalid restart policy \"" + name + ":" + std::to_string(max_retries) +
                             "\": maximum retry count cannot be used with restart policy '" + name + "'");
    } else if (name == "on-failure") {
        if (max_retries < 0)
            throw UsageError("invalid restart policy \"on-failure:" + std::to_string(max_retries) +
                             "\": maximum retry count cannot be negative");
    } else {
        throw UsageError("invalid restart policy \"" + name + "\": no, on-failure[:N], always or unless-stopped");
    }
    return {name, max_retries};
}

RestartPolicy parse(const std::string& text) {
    if (text.empty()) return {};
    const auto colon = text.find(':');
    const std::string name = text.substr(0, colon);
    int max_retries = 0;
    if (colon != std::string::npos) {
        const std::string count = text.substr(colon + 1);
        if (count.empty() || count.size() > 9 ||
            count.find_first_not_of("0123456789", count[0] == '-' ? 1 : 0) != std::string::npos || count == "-")
            throw UsageError("invalid restart policy \"" + text + "\": maximum retry count must be an integer");
        max_retries = std::stoi(count);
    }
    return parse_policy(name, max_retries);
}

std::string describe(const RestartPolicy& policy) {
    if (policy.name == "on-failure" && policy.max_retries > 0) return "on-failure:" + std::to_string(policy.max_retries);
    return policy.name;
}

std::optional<milliseconds> Manager::after_exit(int exit_code, bool stopped_by_user, milliseconds ran) {
    if (policy_.name == "no") return std::nullopt;
    // The delay grows with each restart in a row; a long enough run means the last failure is
    // history, and the next restart is quick again.
    if (ran >= kRunThatResets) delay_ = milliseconds(0);
    delay_ = delay_.count() == 0 ? kFirstDelay : std::min(delay_ * 2, kLongestDelay);
    bool restart = false;
    if (policy_.name == "always") restart = true;
    else if (policy_.name == "unless-stopped") restart = !stopped_by_user;
    else if (policy_.name == "on-failure")
        restart = exit_code != 0 && (policy_.max_retries == 0 || count_ < policy_.max_retries);
    if (!restart) return std::nullopt;
    ++count_;
    return delay_;
}

bool restart_at_boot(const RestartPolicy& policy, int exit_code, bool stopped_by_user, int restart_count) {
    return Manager(policy, restart_count).after_exit(exit_code, stopped_by_user, milliseconds(0)).has_value();
}

void request(const std::string& runtime_dir, Request request) {
    if (request == Request::kNone) return;
    const std::string path = runtime_dir + "/" + kRequestFile;
    if (request == Request::kManual) {
        try {
            if (read_file(path) == "exit\n") return;
        } catch (const SysError&) {
            // None there yet: this one is the first.
        }
    }
    write_file_atomic(path, request == Request::kExit ? "exit\n" : "manual\n", 0600, Durability::kRuntime);
}

Request take_request(const std::string& runtime_dir) {
    const std::string path = runtime_dir + "/" + kRequestFile;
    std::string text;
    try {
        text = read_file(path);
    } catch (const SysError&) {
        return Request::kNone;
    }
    ::unlink(path.c_str());
    return text == "manual\n" ? Request::kManual : Request::kExit;
}

bool wait_delay(const std::string& runtime_dir, milliseconds delay, int signal_fd) {
    Fd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!watch) throw SysError("wait to restart the container", "inotify_init1", "", errno);
    // The request is written to a temp file and renamed into place (write_file_atomic).
    if (::inotify_add_watch(watch.get(), runtime_dir.c_str(), IN_MOVED_TO | IN_CREATE) < 0)
        throw SysError("wait to restart the container", "inotify_add_watch", runtime_dir, errno);
    // Asked after the watch exists: a request written before it is seen here, one after by it.
    if (::access((runtime_dir + "/" + kRequestFile).c_str(), F_OK) == 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + delay;
    for (;;) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return true;
        pollfd fds[2] = {{watch.get(), POLLIN, 0}, {signal_fd, POLLIN, 0}};
        int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
        if (n < 0 && errno != EINTR) throw SysError("wait to restart the container", "poll", "", errno);
        if (n <= 0) continue;
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(signal_fd, &info, sizeof info) == sizeof info) {
            }
            return false;
        }
        if (fds[0].revents & POLLIN) {
            alignas(inotify_event) char buf[4096];
            ssize_t got = ::read(watch.get(), buf, sizeof buf);
            for (ssize_t at = 0; at < got;) {
                const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
                if (event->len > 0 && std::strcmp(event->name, kRequestFile) == 0) return false;
                at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            }
        }
    }
}

void record_last_run(const std::string& data_dir, const LastRun& last) {
    const std::string text = last.running ? "running\n"
                                          : "exited " + std::to_string(last.exit_code) +
                                                (last.stopped_by_user ? " stopped-by-user\n" : "\n");
    write_file_atomic(data_dir + "/last-run", text, 0600, Durability::kDurable);
}

std::optional<LastRun> read_last_run(const std::string& data_dir) {
    std::string text;
    try {
        text = read_file(data_dir + "/last-run");
    } catch (const SysError&) {
        return std::nullopt;
    }
    LastRun last;
    if (text == "running\n") {
        // Running when the machine went down: ended without an exit status, as dockerd counts it.
        last.running = true;
        last.exit_code = 255;
        return last;
    }
    int code = 0;
    char by_user[32] = {};
    if (text.size() > 64 || std::sscanf(text.c_str(), "exited %d %31s", &code, by_user) < 1 || code < 0 || code > 255)
        return std::nullopt;  // not hutch's words: nothing to act on
    last.exit_code = code;
    last.stopped_by_user = std::strcmp(by_user, "stopped-by-user") == 0;
    return last;
}

}  // namespace hutch::restart
