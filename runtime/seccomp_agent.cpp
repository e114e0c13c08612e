#include "runtime/seccomp_agent.hpp"

#include <fcntl.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/sync.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::seccomp_agent {

Fd connect(const Spec& spec) {
    if (!spec.linux.seccomp || spec.linux.seccomp->listener_path.empty()) return Fd();
    const std::string& path = spec.linux.seccomp->listener_path;
    return sync::connect_unix(path, "linux.seccomp.listenerPath \"" + path + "\"",
                              "connect to the seccomp agent (linux.seccomp.listenerPath)");
}

pid_t host_pid() {
    char link[32] = {};
    if (sys::kernel().readlinkat(AT_FDCWD, "/proc/self", link, sizeof link - 1) <= 0)
        throw SysError("hand the seccomp listener to the agent", "readlink", "/proc/self", errno);
    return static_cast<pid_t>(std::atol(link));
}

std::string message(pid_t pid, const std::string& metadata, const std::string& state_json) {
    nlohmann::json state = nlohmann::json::parse(state_json, nullptr, false);
    if (!state.is_object()) state = nlohmann::json::object();
    return nlohmann::json{{"ociVersion", state.value("ociVersion", "1.0.2")},
                          {"fds", {"seccompFd"}},
                          {"pid", pid},
                          {"metadata", metadata},
                          {"state", state}}
        .dump();
}

void send(int agent, int listener, const std::string& message) {
    sync::send_bytes(agent, message.data(), message.size(), listener, "hand the seccomp listener to the agent");
}

}  // namespace hutch::seccomp_agent
