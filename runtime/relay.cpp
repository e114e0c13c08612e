// The relay of a running container's streams (launch.cpp, launch_oci.cpp): its pty or the
// pipes standing in for the host's files, copied while signals are forwarded, until it exits.
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/launch_internal.hpp"
#include "runtime/pasta.hpp"
#include "runtime/terminal.hpp"

namespace hutch::launch_detail {
namespace {

// One direction of a stream the parent copies while the container runs: the pty master to
// stdout, stdin to the master, or a pipe standing in for a host terminal.
struct Relay {
    int from;
    int to;
    bool close_to_at_eof;  // stdin into a pipe: the container must see the end of input
    // Into the pty master: written without blocking, the rest kept for POLLOUT. A blocking write
    // there would deadlock once the pty's input buffer is full while the command is busy
    // writing output that only this loop reads.
    bool buffered = false;
    bool open = true;
    std::string pending;
};

// Reads what `r.from` has and writes it on; false once the source is done (EOF, or EIO from a
// pty master whose slave is gone).
bool pump(Relay& r) {
    if (!r.buffered) return relay(r.from, r.to);
    char buf[16384];
    ssize_t n = ::read(r.from, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return false;
    if (n > 0) r.pending.append(buf, static_cast<std::size_t>(n));
    return true;
}

// Writes as much of `r.pending` as `r.to` takes now.
void flush(Relay& r) {
    while (!r.pending.empty()) {
        ssize_t w = ::write(r.to, r.pending.data(), r.pending.size());
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) r.pending.clear();  // the reader went away
            return;
        }
        r.pending.erase(0, static_cast<std::size_t>(w));
    }
}


// The wait loop: forwards signals, relays streams, returns when the child has exited.
void supervise(Child& child, const BlockedSignals& signals, std::vector<Relay> relays, int master, int pasta_pidfd) {
    for (auto& r : relays)
        if (r.buffered) ::fcntl(r.to, F_SETFL, ::fcntl(r.to, F_GETFL) | O_NONBLOCK);
    constexpr std::size_t kRelaysAt = 3;
    for (;;) {
        // Per relay: its source while nothing waits to be written, else its destination.
        std::vector<pollfd> fds = {{child.pidfd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}, {pasta_pidfd, POLLIN, 0}};
        for (const auto& r : relays) {
            if (!r.pending.empty()) fds.push_back({r.to, POLLOUT, 0});
            else fds.push_back({r.open ? r.from : -1, POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            throw SysError("supervise the container", "poll", "", errno);
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo si{};
            while (::read(signals.fd(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGWINCH) {
                    if (master >= 0) copy_window_size(master);
                } else {
                    child.forward(static_cast<int>(si.ssi_signo));
                }
            }
        }
        if (fds[2].revents & POLLIN) {
            // Said once, on hutch's stderr (the log of a detached container), and not watched again.
            const std::string notice = pasta::death_notice(pasta_pidfd);
            [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, notice.data(), notice.size());
            pasta_pidfd = -1;
        }
        for (std::size_t i = 0; i < relays.size(); ++i) {
            Relay& r = relays[i];
            short events = fds[kRelaysAt + i].revents;
            if (!r.pending.empty()) {
                if (events & (POLLOUT | POLLERR | POLLHUP)) flush(r);
            } else if (r.open && (events & (POLLIN | POLLHUP | POLLERR))) {
                // A pty master with no slave left reads EIO: stop watching it (the command may run on).
                if (!pump(r)) {
                    r.open = false;
                    if (r.close_to_at_eof) ::close(r.to);
                }
                flush(r);
            }
        }
        if (fds[0].revents & POLLIN) {
            // Drain what the command wrote before it exited.
            for (auto& r : relays) {
                if (!r.open || r.close_to_at_eof) continue;
                ::fcntl(r.from, F_SETFL, ::fcntl(r.from, F_GETFL) | O_NONBLOCK);
                while (relay(r.from, r.to)) {
                    pollfd p{r.from, POLLIN, 0};
                    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
                }
            }
            return;
        }
    }
}

}  // namespace

StdioPipes pipes_for_host_streams(const Spec& spec) {
    StdioPipes p;
    if (spec.process.terminal) return p;
    for (int fd = 0; fd <= 2; ++fd) {
        if (fd == 0 && !spec.hutch.interactive) continue;  // stdin is /dev/null then
        struct stat st {};
        if (::fstat(fd, &st) != 0 || S_ISFIFO(st.st_mode)) continue;  // closed, or a pipe already
        int ends[2];
        check(::pipe2(ends, O_CLOEXEC), "replace the host's terminal", "pipe2");
        // fd 0: the child reads ends[0]; fds 1, 2: the child writes ends[1].
        p.child_ends[fd] = Fd(fd == 0 ? ends[0] : ends[1]);
        p.parent_ends[fd] = Fd(fd == 0 ? ends[1] : ends[0]);
    }
    return p;
}

// Relays the process's streams (its pty, or the pipes standing in for host files) and forwards
// signals until it exits; returns its exit status.
int supervise_until_exit(Child& child, const BlockedSignals& signals, const Fd& master, StdioPipes& pipes,
                         bool interactive, int pasta_pidfd) {
    std::optional<RawTerminal> raw;
    std::vector<Relay> relays;
    if (master) {
        if (interactive) raw.emplace(STDIN_FILENO);
        copy_window_size(master.get());
        relays.push_back({master.get(), STDOUT_FILENO, false});
        if (interactive) relays.push_back({STDIN_FILENO, master.get(), false, true});
    }
    for (int fd = 0; fd <= 2; ++fd) {
        if (!pipes.parent_ends[fd]) continue;
        if (fd == 0) relays.push_back({STDIN_FILENO, pipes.parent_ends[0].release(), true});
        else relays.push_back({pipes.parent_ends[fd].get(), fd, false});
    }
    supervise(child, signals, relays, master.get(), pasta_pidfd);
    return child.wait();
}

}  // namespace hutch::launch_detail
