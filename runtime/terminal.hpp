// The host side of `-t`: the user's terminal in raw mode, relayed to and from the pty master
// the container's init opened in its own devpts, with window size changes passed on.
#pragma once

#include <termios.h>

#include <optional>

#include "runtime/fd.hpp"

namespace hutch {

// Puts the host terminal on `fd` in raw mode for its lifetime; does nothing if `fd` is not a tty.
class RawTerminal {
public:
    explicit RawTerminal(int fd);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    int fd_;
    std::optional<termios> saved_;
};

// Copies the host terminal's window size (from stdin or stdout) onto the pty master.
void copy_window_size(int master);

// Moves what is readable on `from` to `to`. Returns false at end of input (EOF or EIO, which
// a pty master returns once the last slave holder is gone).
bool relay(int from, int to);

}  // namespace hutch
