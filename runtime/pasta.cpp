#include "runtime/pasta.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/fd.hpp"
#include "runtime/proc_stat.hpp"

namespace hutch::pasta {
namespace {

constexpr const char* kStep = "start pasta";

// pasta's last word in its log (bounded): what made it give up, past its warnings and its notes
// that syslog is unreachable.
std::string last_error_in(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return "";
    char buf[4096];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return "";
    const std::string text(buf, static_cast<std::size_t>(n));
    std::string last;
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        std::string line = text.substr(at, end - at);
        if (!line.empty() && line.find("to syslog") == std::string::npos) last = line;
        at = end + 1;
    }
    return last;
}

}  // namespace

std::string binary() {
    for (const char* path : {"/usr/bin/pasta", "/bin/pasta", "/usr/local/bin/pasta"})
        if (::access(path, X_OK) == 0) return path;
    return "";
}

void check_ports(const std::vector<PublishedPort>& ports) {
    for (const auto& p : ports) {
        const std::string shown = std::to_string(p.container_port) + "/" + p.protocol;
        if (p.host_port == 0)
            throw UsageError("--network pasta forwards the host ports it is given: publish " + shown +
                             " as HOST_PORT:CONTAINER_PORT (no port the kernel picks, no -P)");
        if (p.host_port_end != 0 && p.host_port_end != p.host_port)
            throw UsageError("--network pasta forwards one host port per published port: " + std::to_string(p.host_port) + "-" +
                             std::to_string(p.host_port_end) + " is a range");
        if (p.protocol != "tcp" && p.protocol != "udp")
            throw UsageError("--network pasta forwards tcp and udp, not " + p.protocol + " (" + shown + ")");
    }
}

std::vector<PortBinding> bindings(const std::vector<PublishedPort>& ports) {
    std::vector<PortBinding> out;
    for (const auto& p : ports)
        out.push_back({p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port, p.container_port, p.protocol});
    return out;
}

std::vector<std::string> arguments(pid_t pid, const std::vector<PublishedPort>& ports, bool ipv4_only,
                                   const std::string& pid_file) {
    std::vector<std::string> out = {"--config-net", "--quiet", "--foreground", "--no-map-gw", "--pid", pid_file};
    // Without IPv6 in the container (Docker's default), none on the host side either: a client
    // of ::1 would be accepted, then reset.
    if (ipv4_only) out.push_back("--ipv4-only");
    // One option per port: an address prefix applies to the whole value it starts.
    bool tcp = false, udp = false;
    for (const auto& p : ports) {
        (p.protocol == "udp" ? udp : tcp) = true;
        out.push_back(p.protocol == "udp" ? "-u" : "-t");
        out.push_back((p.host_ip.empty() ? "" : p.host_ip + "/") + std::to_string(p.host_port) + ":" + std::to_string(p.container_port));
    }
    if (!tcp) out.insert(out.end(), {"-t", "none"});
    if (!udp) out.insert(out.end(), {"-u", "none"});
    out.insert(out.end(), {"-T", "none", "-U", "none", std::to_string(pid)});
    return out;
}

Process::Process(pid_t container_pid, const std::vector<PublishedPort>& ports, bool ipv4_only, const std::string& state_dir) {
    const std::string path = binary();
    if (path.empty())
        throw UsageError("--network pasta needs pasta, and it is not installed (Debian's passt package); --network none "
                         "runs the container without a network");
    // pasta opens the tun device from inside the container's user namespace, whose root is only
    // the user here: the node must be the user's to open (Debian's udev makes it 0666).
    if (::access("/dev/net/tun", R_OK | W_OK) != 0)
        throw UsageError("--network pasta needs /dev/net/tun, which you cannot open here (" + std::string(std::strerror(errno)) +
                         "; udev makes it mode 0666 on Debian); --network none runs the container without a network");
    const std::string pid_file = state_dir + "/pasta.pid", log = state_dir + "/pasta.log";
    ::unlink(pid_file.c_str());
    std::vector<std::string> args = arguments(container_pid, ports, ipv4_only, pid_file);
    std::string shown = "pasta";
    for (const auto& a : args) shown += " " + a;
    explain::comment(shown + ": joins the container's user and network namespaces and carries its traffic");
    Fd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!log_fd) throw SysError(kStep, "open", log, errno);
    std::vector<char*> argv{const_cast<char*>(path.c_str())};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw SysError(kStep, "fork", path, errno);
    if (pid == 0) {
        // Gone with hutch, whatever kills it; with default signals (hutch blocks and ignores some).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        const int null = ::open("/dev/null", O_RDONLY);
        if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(log_fd.get(), 1) < 0 || ::dup2(log_fd.get(), 2) < 0) ::_exit(127);
        ::close_range(3, ~0U, 0);
        char* no_env[] = {nullptr};
        ::execve(path.c_str(), argv.data(), no_env);
        ::_exit(127);
    }
    pid_ = pid;
    pidfd_ = Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));  // none on a kernel before 5.3: not watched
    // Ready once it wrote its pid (after configuring the namespace); an exit before is its error.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        int status = 0;
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            pid_ = -1;
            const std::string why = last_error_in(log);
            throw Error(std::string(kStep) + ": pasta exited before the network was up" + (why.empty() ? "" : ": " + why) +
                        " (" + log + ")");
        }
        struct stat st {};
        if (::stat(pid_file.c_str(), &st) == 0 && st.st_size > 0) break;
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
            throw Error(std::string(kStep) + ": pasta did not set up the network within 10 s (" + log + ")");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

Process::Process(pid_t adopted) {
    if (ProcStat(adopted).field(4) != std::to_string(::getpid()))
        throw Error("take back pasta: process " + std::to_string(adopted) + " is not this one's child");
    pid_ = adopted;
    pidfd_ = Fd(static_cast<int>(::syscall(SYS_pidfd_open, adopted, 0)));
}

std::string death_notice(int pidfd) {
    siginfo_t info{};
    std::string how = "exited";
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0)
        how = info.si_code == CLD_EXITED ? "exited with status " + std::to_string(info.si_status)
                                         : "was killed by signal " + std::to_string(info.si_status);
    return "hutch: pasta, the container's network, " + how + ": the container has no network from now on\n";
}

Process::~Process() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace hutch::pasta
