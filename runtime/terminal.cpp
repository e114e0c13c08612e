#include "runtime/terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace hutch {

RawTerminal::RawTerminal(int fd) : fd_(fd) {
    termios t{};
    if (::isatty(fd) != 1 || ::tcgetattr(fd, &t) != 0) return;
    saved_ = t;
    ::cfmakeraw(&t);
    ::tcsetattr(fd, TCSANOW, &t);
}

RawTerminal::~RawTerminal() {
    if (saved_) ::tcsetattr(fd_, TCSANOW, &*saved_);
}

void copy_window_size(int master) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
        ::ioctl(master, TIOCSWINSZ, &ws);
}

bool relay(int from, int to) {
    char buf[16384];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return true;  // the reader went away; keep draining the source
        }
        done += w;
    }
    return true;
}

}  // namespace hutch
