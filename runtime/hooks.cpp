#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <cstdio>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/fd.hpp"

namespace hutch {
namespace {

void run_hook(const Hook& hook, const std::string& shown, const std::string& state_json, bool in_container) {
    std::vector<char*> argv, envp;
    // config.md: args has the same semantics as execv's argv; an empty list still needs argv[0].
    std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = hook.env;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    int in[2];
    check(::pipe2(in, O_CLOEXEC), "run a hook", "pipe2");
    Fd read_end(in[0]), write_end(in[1]);
    explain::comment(shown + " hook: fork, then execve(" + explain::quote(hook.path) + ") with the state on its stdin");
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw SysError("run hook " + shown, "fork", hook.path, errno);
    if (pid == 0) {
        // A hook's own process group: a timeout kills whatever it started too. And it dies with
        // the hutch that runs it: a killed create must not leave its hooks running.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (::getppid() != parent) ::_exit(125);
        // Hooks that run in the container (createContainer, startContainer: the latter's binary
        // comes from the image) sit beside the container's first process, which is still
        // hutch's binary until the command is exec'd. Without CAP_SYS_PTRACE no hook can open
        // its /proc/1/exe (it is not dumpable) and reach hutch's binary (CVE-2019-5736).
        if (in_container) {
            capng_get_caps_process();
            capng_update(CAPNG_DROP, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE |
                                                               CAPNG_BOUNDING_SET),
                         CAP_SYS_PTRACE);
            if (capng_apply(CAPNG_SELECT_BOTH) != 0) ::_exit(126);
        }
        ::dup2(read_end.get(), STDIN_FILENO);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    read_end.reset();
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    // The state fits a pipe's buffer; a hook that does not read it must not block us.
    ::fcntl(write_end.get(), F_SETFL, O_NONBLOCK);
    [[maybe_unused]] ssize_t n = ::write(write_end.get(), state_json.data(), state_json.size());
    write_end.reset();

    int timeout_ms = hook.timeout ? static_cast<int>(std::min(*hook.timeout, 86400) * 1000) : -1;
    // A SIGINT or SIGTERM during a create ends the hook with it (runtime/interrupt.hpp).
    pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {interrupt::fd(), POLLIN, 0}};
    int ready;
    while ((ready = ::poll(p, interrupt::fd() >= 0 ? 2 : 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    const bool interrupted = ready > 0 && !p[0].revents;
    if (ready == 0 || interrupted) ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (interrupted) interrupt::check();
    if (ready == 0)
        throw Error("hook " + shown + " " + hook.path + " timed out after " + std::to_string(*hook.timeout) + " s");
    if (WIFSIGNALED(status))
        throw Error("hook " + shown + " " + hook.path + " was killed by signal " + std::to_string(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0)
        throw Error("hook " + shown + " " + hook.path + " exited with status " + std::to_string(WEXITSTATUS(status)));
}

}  // namespace

void run_hooks(const std::vector<Hook>& hooks, const char* point, const std::string& state_json,
               bool stop_at_failure) {
    for (std::size_t i = 0; i < hooks.size(); ++i) {
        try {
            run_hook(hooks[i], std::string(point) + "[" + std::to_string(i) + "]", state_json,
                     std::string_view(point) == "createContainer" || std::string_view(point) == "startContainer");
        } catch (const interrupt::Interrupted&) {
            throw;  // never a warning: the start is being abandoned
        } catch (const Error& e) {
            if (stop_at_failure) throw;
            std::fprintf(stderr, "hutch-oci: warning: %s\n", e.what());
        }
    }
}

}  // namespace hutch
