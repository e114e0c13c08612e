// The parent's side of a start after "go" (runtime/sync.hpp), one loop for every launcher:
// hutch run and start, exec, and the OCI front-end's create and run. Until the command runs
// (EOF: execve closed the child's end) or `until` arrives, the child may hand over its pty
// master or a seccomp listener, or report why it failed; anything else is a protocol error.
#include <utility>

#include "runtime/interrupt.hpp"
#include "runtime/launch_internal.hpp"

namespace hutch::launch_detail {

void receive_until(const Fd& socket, Child& child, const Spec& spec, Until until, const StartHandlers& on,
                   const char* step) {
    for (;;) {
        sync::Message msg;
        try {
            interrupt::wait_for_answer(socket.get(), step);
            msg = sync::receive(socket.get());
            // EOF: execve closed the child's end, the command runs. A SIGINT or SIGTERM from now
            // on is the command's (the caller forwards it), even one that came with the EOF:
            // taken as an interrupted start, it killed a command that had already printed.
            if (msg.eof && until == Until::kExec) return;
            interrupt::check();  // with any other answer the start is not done: the signal wins
        } catch (const interrupt::Interrupted&) {
            child.signal(SIGKILL);
            child.wait();
            if (on.interrupted) on.interrupted();
            throw;
        }
        if (!msg.eof && msg.kind == sync::Kind::kCreated && until == Until::kCreated) return;
        if (!msg.eof && msg.kind == sync::Kind::kTerminal && on.terminal) {
            on.terminal(std::move(msg.fd));
            continue;
        }
        if (!msg.eof && msg.kind == sync::Kind::kListener && on.listener) {
            on.listener(msg.listener_fd());
            continue;
        }
        child.wait();
        Error failure = msg.eof ? Error(std::string(step) + ": the container's process ended before it was created")
                      : msg.kind == sync::Kind::kError || msg.kind == sync::Kind::kExecFailed
                          ? start_failure(spec, msg)
                          : Error(std::string(step) + ": the container sent a message nobody asked for (kind " +
                                  std::to_string(static_cast<int>(msg.kind)) + ")");
        if (on.failed) on.failed(failure);
        throw failure;
    }
}

}  // namespace hutch::launch_detail
