#include "runtime/restart.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fcntl.h>
#include <stdio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <vector>
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
    // A temp file of this writer's own: a stop and an rm -f at once must not share one.
    std::string temp = runtime_dir + "/.stop-request-XXXXXX";
    Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return;  // the record is gone: nothing left to stop
        throw SysError("ask the container's supervisor to stop", "mkostemp", temp, errno);
    }
    const std::string text = request == Request::kExit ? "exit\n" : "manual\n";
    const bool written = ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
    fd.reset();
    // kExit replaces whatever is there; kManual never replaces anything (an exit asked for
    // already must stay an exit).
    const unsigned flags = request == Request::kExit ? 0 : RENAME_NOREPLACE;
    if (!written || ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), flags) != 0) {
        const int err = written ? errno : EIO;
        ::unlink(temp.c_str());
        if (err == EEXIST || err == ENOENT) return;
        throw SysError("ask the container's supervisor to stop", "renameat2", path, err);
    }
}

Request take_request(const std::string& runtime_dir) {
    // Moved out of the way before it is read: a request renamed into place after this is the
    // next one, never unlinked unread.
    const std::string path = runtime_dir + "/" + kRequestFile;
    const std::string taken = runtime_dir + "/.stop-request-taken";
    if (::rename(path.c_str(), taken.c_str()) != 0) return Request::kNone;
    std::string text;
    try {
        text = read_file(taken);
    } catch (const SysError&) {
        // Unreadable: still a request to stop.
    }
    ::unlink(taken.c_str());
    return text == "manual\n" ? Request::kManual : Request::kExit;
}

Request peek_request(const std::string& runtime_dir) {
    std::string text;
    try {
        text = read_file(runtime_dir + "/" + kRequestFile);
    } catch (const SysError& e) {
        return e.error_number() == ENOENT ? Request::kNone : Request::kExit;
    }
    return text == "manual\n" ? Request::kManual : Request::kExit;
}

Wait wait_delay(const std::string& runtime_dir, milliseconds delay, int signal_fd) {
    // The request is renamed into place: IN_MOVED_TO. Without inotify (the user's instances
    // used up) the file is looked for every 100 ms instead.
    Fd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (watch && ::inotify_add_watch(watch.get(), runtime_dir.c_str(), IN_MOVED_TO | IN_CREATE) < 0) watch.reset();
    const auto deadline = std::chrono::steady_clock::now() + delay;
    for (;;) {
        // Asked after the watch exists: a request written before it is seen here, one after by it.
        if (::access((runtime_dir + "/" + kRequestFile).c_str(), F_OK) == 0) return Wait::kRequest;
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return Wait::kElapsed;
        pollfd fds[2] = {{watch ? watch.get() : -1, POLLIN, 0}, {signal_fd, POLLIN, 0}};
        const long long timeout = watch ? left.count() : std::min<long long>(left.count(), 100);
        int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(timeout, INT_MAX)));
        if (n < 0 && errno != EINTR) throw SysError("wait to restart the container", "poll", "", errno);
        if (n <= 0) continue;
        if (fds[1].revents & POLLIN) {
            // Meant for a command that is not running. A terminal's resize is no stop.
            bool stop = false;
            signalfd_siginfo info{};
            while (::read(signal_fd, &info, sizeof info) == sizeof info)
                if (info.ssi_signo != SIGWINCH) stop = true;
            if (stop) return Wait::kSignal;
        }
        if (fds[0].revents & POLLIN) {
            alignas(inotify_event) char buf[4096];
            while (::read(watch.get(), buf, sizeof buf) > 0) {
            }
        }
    }
}

bool wait_to_restart(const RestartPolicy& policy, const std::string& runtime_dir, milliseconds delay, int signal_fd,
                     bool& stopped_by_user) {
    const auto deadline = std::chrono::steady_clock::now() + delay;
    for (;;) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        switch (wait_delay(runtime_dir, std::max(left, milliseconds(0)), signal_fd)) {
        case Wait::kElapsed:
            return true;
        case Wait::kSignal:
            stopped_by_user = true;
            return false;
        case Wait::kRequest:
            const Request asked = take_request(runtime_dir);
            if (asked == Request::kNone) continue;
            stopped_by_user = true;
            if (asked == Request::kExit || policy.name == "unless-stopped") return false;
        }
    }
}

void record_last_run(const std::string& data_dir, const LastRun& last) {
    const std::string text = last.running ? "running\n"
                                          : "exited " + std::to_string(last.exit_code) + " " +
                                                std::to_string(last.restart_count) +
                                                (last.stopped_by_user ? " stopped-by-user\n" : "\n");
    write_file_atomic(data_dir + "/last-run", text, 0600, Durability::kDurable);
}

namespace {

// A whole decimal number of at most 9 digits, nothing else.
std::optional<int> small_number(std::string_view text) {
    int value = 0;
    if (text.empty() || text.size() > 9 || text[0] < '0' || text[0] > '9') return std::nullopt;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (err != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

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
    // "exited CODE RESTARTS[ stopped-by-user]\n", exactly: anything else is not hutch's words.
    if (text.size() > 64 || text.rfind("exited ", 0) != 0 || text.back() != '\n') return std::nullopt;
    std::vector<std::string_view> words;
    std::string_view rest(text.data() + 7, text.size() - 8);
    for (std::size_t at = 0; at <= rest.size();) {
        std::size_t space = rest.find(' ', at);
        if (space == std::string_view::npos) space = rest.size();
        words.push_back(rest.substr(at, space - at));
        at = space + 1;
    }
    if (words.size() < 2 || words.size() > 3 || (words.size() == 3 && words[2] != "stopped-by-user")) return std::nullopt;
    const auto code = small_number(words[0]), count = small_number(words[1]);
    if (!code || *code > 255 || !count) return std::nullopt;
    last.exit_code = *code;
    last.restart_count = *count;
    last.stopped_by_user = words.size() == 3;
    return last;
}

}  // namespace hutch::restart
