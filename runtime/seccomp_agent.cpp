#include "runtime/seccomp_agent.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/sync.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::seccomp_agent {

Fd connect(const Spec& spec) {
    if (!spec.linux.seccomp || spec.linux.seccomp->listener_path.empty()) return Fd();
    const std::string& path = spec.linux.seccomp->listener_path;
    const char* step = "connect to the seccomp agent (linux.seccomp.listenerPath)";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw UsageError("linux.seccomp.listenerPath \"" + path + "\": longer than a socket path may be");
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw SysError(step, "socket", path, errno);
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw SysError(step, "connect", path, errno);
    return sock;
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
