#include "runtime/sync.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "runtime/error.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::sync {
namespace {

struct Header {
    std::uint32_t kind;
    std::int32_t number;  // the kind's one number: an exit code, an errno or an fd number
};
// GO carries the container's OCI state, for the hooks and a seccomp agent the child runs: its
// annotations are the engine's (Kubernetes adds many), so the room is ample, and a state that
// does not fit is refused, never cut (an error's text may be).
constexpr std::size_t kMaxText = 64 * 1024;

const char* kind_name(Kind kind) {
    switch (kind) {
    case Kind::kGo: return "GO";
    case Kind::kTerminal: return "TERMINAL";
    case Kind::kError: return "ERROR";
    case Kind::kExecFailed: return "EXEC_FAILED";
    case Kind::kCreated: return "CREATED";
    case Kind::kIdmappedMount: return "IDMAPPED_MOUNT";
    case Kind::kListener: return "LISTENER";
    }
    return "?";
}

void send_packet(int socket, const void* data, std::size_t size, int fd_to_pass, const char* step, const char* what) {
    iovec iov{const_cast<void*>(data), size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd_to_pass >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    while (sys::kernel().sendmsg(socket, msg, MSG_NOSIGNAL, what) < 0) {
        if (errno != EINTR) throw SysError(step, "sendmsg", "", errno);
    }
}

}  // namespace

Fd connect_unix(const std::string& path, const std::string& what, const char* step) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw UsageError(what + ": path too long for a socket");
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw SysError(step, "socket", path, errno);
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw SysError(step, "connect", path, errno);
    return sock;
}

void send_bytes(int socket, const void* data, std::size_t size, int fd_to_pass, const char* step) {
    send_packet(socket, data, size, fd_to_pass, step, "console");
}

void send(int socket, Kind kind, std::int32_t number, const std::string& text, int fd_to_pass) {
    char buf[sizeof(Header) + kMaxText];
    Header h{static_cast<std::uint32_t>(kind), number};
    std::memcpy(buf, &h, sizeof h);
    if (kind == Kind::kGo && text.size() > kMaxText)
        throw Error("start the container: its state (" + std::to_string(text.size()) + " bytes of annotations and all) is over " +
                    std::to_string(kMaxText) + " bytes");
    std::size_t len = std::min(text.size(), kMaxText);
    std::memcpy(buf + sizeof h, text.data(), len);
    send_packet(socket, buf, sizeof h + len, fd_to_pass, "talk to the other side of the start", kind_name(kind));
}

Message receive(int socket) {
    char buf[sizeof(Header) + kMaxText];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    while ((n = sys::kernel().recvmsg(socket, msg, MSG_CMSG_CLOEXEC)) < 0) {
        if (errno != EINTR) throw SysError("talk to the other side of the start", "recvmsg", "sync socket", errno);
    }
    Message out;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            out.fd = Fd(fd);
        }
    }
    if (n == 0) {
        out.eof = true;
        return out;
    }
    if (static_cast<std::size_t>(n) < sizeof(Header))
        throw Error("start protocol: short message from the other side");
    Header h;
    std::memcpy(&h, buf, sizeof h);
    out.kind = static_cast<Kind>(h.kind);
    out.number = h.number;
    out.text.assign(buf + sizeof h, static_cast<std::size_t>(n) - sizeof h);
    return out;
}

}  // namespace hutch::sync
