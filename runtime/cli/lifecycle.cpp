// `hutch kill|stop|wait|logs|inspect`: acting on a container another hutch process (its
// monitor, or a foreground `run`) supervises. That process holds the container's lock for as
// long as the container runs, so "running" and "has ended" are questions about the lock, and
// waiting for the end is waiting for the lock.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/events.hpp"
#include "runtime/launch.hpp"

namespace hutch::cli {
namespace {

struct SignalName {
    const char* name;
    int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},   {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

}  // namespace

int parse_signal(const std::string& text) {
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 2) {
        int n = std::stoi(text);
        if (n >= 1 && n <= SIGRTMAX) return n;
    }
    std::string name;
    for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
    for (const auto& s : kSignals)
        if (name == s.name) return s.number;
    throw UsageError("invalid signal \"" + text + "\"");
}

namespace {

// The container, which must be running: a pidfd on its first process, opened while the lock
// says its supervisor still runs, so the pid cannot name a recycled process.
Fd running_pidfd(const Paths& paths, const ContainerState& c, const std::string& ref) {
    if (!container_running(paths, c.id) || c.pid <= 0)
        throw UsageError("container " + ref + " is not running");
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0)));
    if (!pidfd || !container_running(paths, c.id)) throw UsageError("container " + ref + " is not running");
    return pidfd;
}

void send_signal(const Fd& pidfd, int sig, const std::string& ref) {
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0 && errno != ESRCH)
        throw SysError("signal container " + ref, "pidfd_send_signal", std::to_string(sig), errno);
}

// Waits until the container's supervisor releases its lock, at most `timeout` (negative: no
// limit). Returns whether the container has ended.
bool wait_for_end(const Paths& paths, const std::string& id, std::chrono::milliseconds timeout) {
    Fd lock(::open((paths.runtime_dir(id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC));
    if (!lock) return true;
    if (timeout.count() < 0) {
        while (::flock(lock.get(), LOCK_SH) != 0)
            if (errno != EINTR) return true;
        ::flock(lock.get(), LOCK_UN);
        return true;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (::flock(lock.get(), LOCK_SH | LOCK_NB) == 0) {
            ::flock(lock.get(), LOCK_UN);
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

nlohmann::json inspect_json(const Paths& paths, const ContainerState& c) {
    nlohmann::json config = nlohmann::json::object();
    try {
        config = nlohmann::json::parse(read_file(paths.data_dir(c.id) + "/config.json"));
    } catch (const std::exception&) {
    }
    bool running = c.status == "running";
    const auto& hutch = config.value("hutch", nlohmann::json::object());
    const auto& process = config.value("process", nlohmann::json::object());
    return {
        {"Id", c.id},
        {"Created", c.created},
        {"Path", c.command.empty() ? "" : c.command[0]},
        {"Args", c.command.size() > 1 ? std::vector<std::string>(c.command.begin() + 1, c.command.end())
                                      : std::vector<std::string>{}},
        {"State",
         {{"Status", c.status},
          {"Running", running},
          {"Pid", running ? c.pid : 0},
          {"ExitCode", c.exit_code},
          {"StartedAt", c.started_at.empty() ? "0001-01-01T00:00:00Z" : c.started_at},
          {"FinishedAt", c.finished_at.empty() ? "0001-01-01T00:00:00Z" : c.finished_at}}},
        {"Name", "/" + c.name},
        {"LogPath", paths.runtime_dir(c.id) + "/container.log"},
        {"HostsPath", paths.runtime_dir(c.id) + "/hosts"},
        {"ResolvConfPath", paths.runtime_dir(c.id) + "/resolv.conf"},
        {"HostnamePath", paths.runtime_dir(c.id) + "/hostname"},
        {"Config",
         {{"Hostname", config.value("hostname", "")},
          {"Env", process.value("env", nlohmann::json::array())},
          {"Cmd", c.command},
          {"WorkingDir", process.value("cwd", "/")},
          {"Image", c.rootfs}}},
        {"HostConfig",
         {{"NetworkMode", hutch.value("network", "")},
          {"AutoRemove", hutch.value("autoRemove", false)},
          {"Privileged", hutch.value("privileged", false)},
          {"ReadonlyRootfs", config.value("root", nlohmann::json::object()).value("readonly", false)},
          {"CapAdd", nullptr},
          {"ExtraHosts", hutch.value("extraHosts", nlohmann::json::array())},
          {"Dns", hutch.value("dns", nlohmann::json::array())},
          {"DnsSearch", hutch.value("dnsSearch", nlohmann::json::array())},
          {"DnsOptions", hutch.value("dnsOptions", nlohmann::json::array())}}},
        {"OCI", config},
    };
}

}  // namespace

void add_lifecycle_commands(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* kill = app.add_subcommand("kill", "Send a signal to a running container (default SIGKILL)");
    auto kill_signal = std::make_shared<std::string>("KILL");
    auto kill_refs = std::make_shared<std::vector<std::string>>();
    kill->add_option("-s,--signal", *kill_signal, "Signal to send (name or number)");
    kill->add_option("CONTAINER", *kill_refs, "Container names or ids")->required();
    kill->callback([&paths, &exit_code, kill_signal, kill_refs]() {
        int sig = parse_signal(*kill_signal);
        for (const auto& ref : *kill_refs) {
            ContainerState c = find_container(paths, ref);
            send_signal(running_pidfd(paths, c, ref), sig, ref);
            events::emit(paths.data_root, {"container", "kill", c.id,
                                           {{"image", c.rootfs}, {"name", c.name}, {"signal", std::to_string(sig)}}, 0});
            std::printf("%s\n", ref.c_str());
        }
        exit_code = 0;
    });

    auto* stop = app.add_subcommand("stop", "Stop running containers: SIGTERM, then SIGKILL after a timeout");
    auto stop_time = std::make_shared<int>(10);
    auto stop_refs = std::make_shared<std::vector<std::string>>();
    stop->add_option("-t,--time", *stop_time, "Seconds to wait before killing (default 10)")
        ->check(CLI::NonNegativeNumber);
    stop->add_option("CONTAINER", *stop_refs, "Container names or ids")->required();
    stop->callback([&paths, &exit_code, stop_time, stop_refs]() {
        for (const auto& ref : *stop_refs) {
            ContainerState c = find_container(paths, ref);
            if (container_running(paths, c.id)) {  // a stopped container is already stopped
                Fd pidfd = running_pidfd(paths, c, ref);
                const std::map<std::string, std::string> who = {{"image", c.rootfs}, {"name", c.name}};
                auto killed = [&](int sig) {
                    send_signal(pidfd, sig, ref);
                    auto attrs = who;
                    attrs["signal"] = std::to_string(sig);
                    events::emit(paths.data_root, {"container", "kill", c.id, attrs, 0});
                };
                killed(SIGTERM);
                if (!wait_for_end(paths, c.id, std::chrono::seconds(*stop_time))) {
                    killed(SIGKILL);
                    wait_for_end(paths, c.id, std::chrono::milliseconds(-1));
                }
                events::emit(paths.data_root, {"container", "stop", c.id, who, 0});
            }
            std::printf("%s\n", ref.c_str());
        }
        exit_code = 0;
    });

    auto* wait = app.add_subcommand("wait", "Block until containers stop, then print their exit codes");
    auto wait_refs = std::make_shared<std::vector<std::string>>();
    wait->add_option("CONTAINER", *wait_refs, "Container names or ids")->required();
    wait->callback([&paths, &exit_code, wait_refs]() {
        for (const auto& ref : *wait_refs) {
            ContainerState c = find_container(paths, ref);
            // Hold the lock file open: its supervisor writes the exit status into it before it
            // lets go, which outlives the record when --rm removes it.
            Fd lock(::open((paths.runtime_dir(c.id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC));
            if (!lock) throw UsageError("no such container: " + ref);
            while (::flock(lock.get(), LOCK_SH) != 0)
                if (errno != EINTR) throw SysError("wait for container " + ref, "flock", "lock", errno);
            char buf[32] = {};
            ssize_t n = ::pread(lock.get(), buf, sizeof buf - 1, 0);
            if (n <= 5 || std::strncmp(buf, "exit ", 5) != 0)
                throw Error("container " + ref + " ended without an exit status: the hutch process that "
                            "supervised it was killed");
            std::printf("%d\n", std::atoi(buf + 5));
        }
        exit_code = 0;
    });

    auto* logs = app.add_subcommand("logs", "Print a container's output");
    auto follow = std::make_shared<bool>(false);
    auto tail = std::make_shared<std::string>("all");
    auto logs_ref = std::make_shared<std::string>();
    logs->add_flag("-f,--follow", *follow, "Follow the output until the container stops");
    logs->add_option("-n,--tail", *tail, "Number of lines to show from the end (default all)");
    logs->add_option("CONTAINER", *logs_ref, "Container name or id")->required();
    logs->callback([&paths, &exit_code, follow, tail, logs_ref]() {
        long lines = -1;
        if (*tail != "all") {
            if (tail->empty() || tail->find_first_not_of("0123456789") != std::string::npos)
                throw UsageError("invalid --tail \"" + *tail + "\": a number of lines or all");
            lines = std::stol(*tail);
        }
        ContainerState c = find_container(paths, *logs_ref);
        std::string file = paths.runtime_dir(c.id) + "/container.log";
        Fd log(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!log) throw UsageError("container " + *logs_ref + " has no log (only -d containers keep one)");
        std::string text;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(log.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
        if (lines >= 0) {
            // The last `lines` lines; a final line without a newline is a line too.
            std::size_t cut = text.size();
            long seen = 0;
            std::size_t end = text.empty() || text.back() != '\n' ? text.size() : text.size() - 1;
            while (seen < lines && end > 0) {
                std::size_t nl = text.rfind('\n', end - 1);
                cut = nl == std::string::npos ? 0 : nl + 1;
                ++seen;
                if (nl == std::string::npos) break;
                end = nl;
            }
            if (lines == 0) cut = text.size();
            text = text.substr(cut);
        }
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        while (*follow) {
            bool ended = !container_running(paths, c.id);
            while ((n = ::read(log.get(), buf, sizeof buf)) > 0) std::fwrite(buf, 1, static_cast<std::size_t>(n), stdout);
            std::fflush(stdout);
            if (ended) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        exit_code = 0;
    });

    auto* exec = app.add_subcommand("exec", "Run a command in a running container");
    exec->set_help_flag("--help", "Print this help and exit");
    exec->prefix_command();  // everything from CONTAINER on: options after it are the command's
    auto request = std::make_shared<ExecRequest>();
    exec->add_flag("-i,--interactive", request->interactive, "Keep STDIN open");
    exec->add_flag("-t,--tty", request->tty, "Allocate a pseudo-TTY");
    exec->add_option("-u,--user", request->user, "Username or UID (format: <name|uid>[:<group|gid>])");
    exec->add_option("-w,--workdir", request->workdir, "Working directory inside the container");
    exec->add_option("-e,--env", request->env, "Set environment variables")->allow_extra_args(false)->take_all();
    auto detach = std::make_shared<bool>(false);
    exec->add_flag("-d,--detach", *detach, "Run in the background (its output is discarded, as Docker's)");
    exec->callback([exec, &paths, &exit_code, request, detach]() {
        interrupt::Scope start_scope;  // SIGINT/SIGTERM abandon the exec until it runs
        std::vector<std::string> rest = exec->remaining();
        if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') throw UsageError("unknown flag: " + rest[0]);
        if (rest.size() < 2)
            throw UsageError("\"hutch exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]");
        request->args.assign(rest.begin() + 1, rest.end());
        if (*detach) {
            if (request->tty || request->interactive)
                throw UsageError("exec -d with -i or -t: a detached process has no terminal or input to attach");
            std::string container = rest[0];
            exit_code = in_monitor([&](int started) { return exec_in_container(paths, container, *request, started); });
            return;
        }
        exit_code = exec_in_container(paths, rest[0], *request);
    });

    auto* inspect = app.add_subcommand("inspect", "Show containers as JSON (Docker's shape where it applies)");
    auto inspect_refs = std::make_shared<std::vector<std::string>>();
    inspect->add_option("CONTAINER", *inspect_refs, "Container names or ids")->required();
    inspect->callback([&paths, &exit_code, inspect_refs]() {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& ref : *inspect_refs) out.push_back(inspect_json(paths, find_container(paths, ref)));
        std::cout << out.dump(4) << std::endl;
        exit_code = 0;
    });
}

}  // namespace hutch::cli
