#include "runtime/monitor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#include "runtime/error.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/trampoline/trampoline.hpp"

extern char** environ;

namespace hutch::monitor {
namespace {

// The words after the command, in this order (exit_argv, parse_exit_argv).
enum Word { kVersion, kRoot, kDataRoot, kConfig, kId, kLock, kClaim, kPorts, kPasta, kCount, kDelay, kStarted, kStatus, kSignal, kWords };

long long number(const char* text, long long min, long long max, const char* what) {
    long long value = 0;
    const char* end = text + std::strlen(text);
    auto [ptr, ec] = std::from_chars(text, end, value);
    if (ec != std::errc() || ptr != end || text == end || value < min || value > max)
        throw Error(std::string(kExitCommand) + ": bad " + what + " " + in_quotes(text));
    return value;
}

int fd_number(const char* text, const char* what, bool optional = false) {
    return static_cast<int>(number(text, optional ? -1 : 0, 1 << 20, what));
}

// Clears FD_CLOEXEC on each fd for the exec, remembering the flags; restores them if it fails.
class KeptAcrossExec {
public:
    explicit KeptAcrossExec(const std::vector<int>& fds) {
        for (int fd : fds) {
            int flags = ::fcntl(fd, F_GETFD);
            if (flags < 0) throw SysError("hand the container to its monitor", "fcntl(F_GETFD)", std::to_string(fd), errno);
            saved_.emplace_back(fd, flags);
            ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
        }
    }
    ~KeptAcrossExec() {
        for (auto [fd, flags] : saved_) ::fcntl(fd, F_SETFD, flags);
    }
    KeptAcrossExec(const KeptAcrossExec&) = delete;
    KeptAcrossExec& operator=(const KeptAcrossExec&) = delete;

private:
    std::vector<std::pair<int, int>> saved_;
};

}  // namespace

std::vector<int> Handback::held_fds() const {
    std::vector<int> fds = {lock_fd};
    if (claim_fd >= 0) fds.push_back(claim_fd);
    fds.insert(fds.end(), port_fds.begin(), port_fds.end());
    return fds;
}

std::vector<std::string> exit_argv(const Handback& back) {
    std::string ports;
    for (int fd : back.port_fds) ports += (ports.empty() ? "" : ",") + std::to_string(fd);
    return {"hutch",
            kExitCommand,
            kProtocol,
            back.paths.root,
            back.paths.data_root,
            back.config_path,
            back.id,
            std::to_string(back.lock_fd),
            std::to_string(back.claim_fd),
            ports.empty() ? "-" : ports,
            std::to_string(back.pasta_pid),
            std::to_string(back.restart_count),
            std::to_string(back.restart_delay_ms),
            std::to_string(back.started_ns),
            "@status",
            "@signal"};
}

Handback parse_exit_argv(int argc, char** argv) {
    if (argc != 2 + kWords) throw Error(std::string(kExitCommand) + ": expects " + std::to_string(kWords) + " arguments");
    char** w = argv + 2;
    // A hutch installed over the one that started the container may read another argv.
    if (std::strcmp(w[kVersion], kProtocol) != 0)
        throw Error(std::string(kExitCommand) + ": hand-back " + in_quotes(w[kVersion]) + " is not this hutch's (" +
                    kProtocol + ")");
    Handback back;
    back.paths.root = w[kRoot];
    back.paths.data_root = w[kDataRoot];
    back.config_path = w[kConfig];
    back.id = w[kId];
    // A path component below: a whole id, nothing else.
    if (back.id.size() != 64 || back.id.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw Error(std::string(kExitCommand) + ": bad container id " + in_quotes(back.id));
    back.lock_fd = fd_number(w[kLock], "lock fd");
    back.claim_fd = fd_number(w[kClaim], "claim fd", true);
    if (std::strcmp(w[kPorts], "-") != 0) {
        std::string list = w[kPorts];
        for (std::size_t start = 0; start <= list.size();) {
            std::size_t comma = std::min(list.find(',', start), list.size());
            back.port_fds.push_back(fd_number(list.substr(start, comma - start).c_str(), "port fd"));
            start = comma + 1;
        }
    }
    back.pasta_pid = static_cast<pid_t>(number(w[kPasta], 0, 1 << 22, "pasta pid"));
    back.restart_count = static_cast<int>(number(w[kCount], 0, 1 << 30, "restart count"));
    back.restart_delay_ms = number(w[kDelay], 0, 1LL << 40, "restart delay");
    back.started_ns = number(w[kStarted], 0, 1LL << 62, "start time");
    back.status = static_cast<int>(number(w[kStatus], 0, 255, "exit status"));
    back.signal = static_cast<int>(number(w[kSignal], 0, 64, "signal"));
    return back;
}

bool available() { return trampoline::available(); }

void become_monitor(int pidfd, int signal_fd, int pasta_pidfd, const std::vector<Relay>& relays, const Handback& back) {
    try {
        Fd program = trampoline::seal_program("hutch-monitor", kImage, kImageSize);
        Fd self(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
        if (!self) throw SysError("hand the container to its monitor", "open", "/proc/self/exe", errno);
        std::string relay_text;
        std::vector<int> kept = back.held_fds();
        kept.insert(kept.end(), {pidfd, signal_fd, self.get()});
        if (pasta_pidfd >= 0) kept.push_back(pasta_pidfd);
        for (const Relay& r : relays) {
            relay_text += (relay_text.empty() ? "" : ",") + std::to_string(r.from) + ":" + std::to_string(r.to);
            kept.push_back(r.from);
        }
        std::vector<std::string> words = {"hutch-monitor", std::to_string(pidfd), std::to_string(signal_fd),
                                          std::to_string(self.get()), relay_text.empty() ? "-" : relay_text,
                                          std::to_string(back.lock_fd),
                                          pasta_pidfd >= 0 ? std::to_string(pasta_pidfd) : "-"};
        for (auto& w : exit_argv(back)) words.push_back(std::move(w));
        std::vector<char*> args;
        for (auto& w : words) args.push_back(w.data());
        args.push_back(nullptr);
        KeptAcrossExec keep(kept);
        std::fflush(nullptr);
        sys::kernel().execveat(program.get(), "", args.data(), environ, AT_EMPTY_PATH);
        throw SysError("hand the container to its monitor", "execveat", "memfd:hutch-monitor", errno);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hutch: warning: %s; this process supervises the container instead\n", e.what());
    }
}

}  // namespace hutch::monitor
