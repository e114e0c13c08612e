// The resident monitor of a detached container (runtime/monitor/monitor.cpp) and the hand-over
// to it and back.
//
// A detached container's supervisor is the hutch process that started it (run -d, start): it is
// the container's parent and holds what must outlive the start: the record's lock, the address
// claim, the published ports' sockets, pasta. Once the command runs, that process execs the
// small monitor from a sealed memfd (the trampoline's way, runtime/trampoline/trampoline.hpp): the
// same process, so still the parent and still holding those fds, but a few KiB resident instead
// of hutch's binary, libraries and heap (conmon's job, at a fraction of conmon's size). When the
// command exits, the monitor execs hutch again as `hutch __monitor-exit ...` (the Handback),
// which adopts what the start held, records the exit, cleans up and follows the restart policy
// (runtime/launch.hpp, resume_after_exit). A restart's start hands over again.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "runtime/state.hpp"

namespace hutch::monitor {

extern const unsigned char kImage[];
extern const unsigned long kImageSize;

// The hidden command the monitor runs when the command has exited, and the version of its argv.
inline constexpr const char* kExitCommand = "__monitor-exit";
inline constexpr const char* kProtocol = "1";

// What the exit half of a start needs back from the start half, across the monitor's life.
struct Handback {
    Paths paths;
    std::string config_path;        // the host config, read again for a restart
    std::string id;
    int lock_fd = -1;               // the record's lock (runtime/state.hpp)
    int claim_fd = -1;              // the address claim (netns/attach.hpp); -1: none
    std::vector<int> port_fds;      // the published host ports' sockets (netns/ports.hpp)
    pid_t pasta_pid = 0;            // --network pasta's process, this one's child; 0: none
    int restart_count = 0;          // restart::Manager's state at the start
    long long restart_delay_ms = 0;
    long long started_ns = 0;       // steady_clock at the start: how long the command ran
    int status = 0;                 // the command's exit status (the monitor's "@status")
    int signal = 0;                 // the last signal the monitor forwarded, 0: none ("@signal")
    // The fds above: they must survive both execs.
    std::vector<int> held_fds() const;
};

// hutch's argv for the exit ("hutch __monitor-exit ..."), with "@status" and "@signal" where
// the monitor puts the exit status and the forwarded signal.
std::vector<std::string> exit_argv(const Handback& back);
// The Handback of `hutch __monitor-exit ARGS...` (argv[0] is hutch, argv[1] the command).
// Error naming the argument when it is malformed: nobody but the monitor writes it.
Handback parse_exit_argv(int argc, char** argv);

// Whether this kernel lets hutch run the monitor from a memfd (the trampoline's condition).
bool available();

// One stream the monitor copies: from the command's pty or pipe to the log.
struct Relay {
    int from;
    int to;
};

// Becomes the monitor: execveat of a sealed memfd holding it, with `pidfd` (the command),
// `signal_fd` (the forwarded signals), `pasta_pidfd` (the container's pasta, or -1: its death is
// said in the log), the relays and the Handback's fds kept open. Returns only
// when that failed, with every fd as it was and a warning on stderr (the container's log): the
// caller then supervises the command itself, as before.
void become_monitor(int pidfd, int signal_fd, int pasta_pidfd, const std::vector<Relay>& relays, const Handback& back);

}  // namespace hutch::monitor
