// `hutch-oci checkpoint` and `restore`: runc's commands, which Docker (`docker checkpoint`),
// podman (`container checkpoint`) and containerd call. runc drives Debian's CRIU for them.
// hutch does not dump or restore a container yet; both commands take runc's flags, check the
// container, and refuse with the reason: CRIU missing, CRIU unable to work on this kernel (its
// own `criu check`, which on Linux 6.18 with CRIU 3.17 fails on the vDSO), or hutch's own gap.
// Exit 1, as runc's errors; the container is left as it was.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>

#include "runtime/cli/cli.hpp"
#include "runtime/cli/oci_internal.hpp"
#include "runtime/error.hpp"
#include "runtime/oci/state.hpp"

extern char** environ;

namespace hutch::cli::ocicli {
namespace {

std::string find_criu() {
    for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/usr/local/sbin/"})
        if (::access((std::string(dir) + "criu").c_str(), X_OK) == 0) return std::string(dir) + "criu";
    return "";
}

// `criu check`'s verdict: "" when CRIU can work here, else its first error, without the source
// position ("Error (criu/vdso.c:381): vdso: ..." -> "vdso: ..."). Bounded: 10 s, 64 KiB.
std::string criu_check(const std::string& criu) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw SysError("check CRIU", "pipe2", criu, errno);
    Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
    char* argv[] = {const_cast<char*>(criu.c_str()), const_cast<char*>("check"), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, criu.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw SysError("check CRIU", "posix_spawn", criu, rc);
    write_end.reset();
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto left_ms = [&] {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<long long>(0, left.count()));
    };
    std::string out;
    char buf[4096];
    while (out.size() < 65536 && left_ms() > 0) {
        pollfd p{read_end.get(), POLLIN, 0};
        int ready = ::poll(&p, 1, left_ms());
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        ssize_t n = ::read(read_end.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    // Its output ended: it exits a moment later. Waited for until the same deadline.
    pollfd exited{pidfd.get(), POLLIN, 0};
    int status = 0;
    if (!pidfd || ::poll(&exited, 1, left_ms()) <= 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return "criu check did not finish in 10 s";
    }
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    std::size_t at = out.find("Error (");
    if (at == std::string::npos) return "criu check failed";
    std::string line = out.substr(at, out.find('\n', at) - at);
    std::size_t colon = line.find("): ");
    return colon == std::string::npos ? line : line.substr(colon + 3);
}

// checkpoint checks its container first (an unknown or stopped one is that error); restore
// names a container it would create, so it has none to check.
[[noreturn]] void refuse(const char* command, const std::string& id, const OciGlobals& g) {
    if (std::string(command) == "checkpoint") {
        oci::StateRoot root(g.root);
        oci::State s = root.load(id);
        if (std::string status = oci::status_of(root, s); status != "running")
            throw UsageError("checkpoint: container " + id + " is " + status + ", not running");
    }
    const std::string criu = find_criu();
    if (criu.empty())
        throw UsageError(std::string(command) + ": hutch-oci needs CRIU for it, and CRIU is not installed (Debian's criu package)");
    if (std::string why = criu_check(criu); !why.empty())
        throw UsageError(std::string(command) + ": CRIU cannot work on this kernel: " + why + " (criu check)");
    throw UsageError(std::string(command) + ": not implemented by hutch-oci yet (CRIU itself works here)");
}

}  // namespace

void add_checkpoint_commands(CLI::App& app, const OciGlobals& g) {
    struct Options {
        std::string id, image_path, work_path, parent_path, manage_cgroups_mode, bundle, console_socket, pid_file;
        bool leave_running = false, tcp = false, ext_unix = false, shell_job = false, file_locks = false,
             pre_dump = false, detach = false, no_subreaper = false, no_pivot = false, lazy = false,
             auto_dedup = false;
        std::vector<std::string> empty_ns;
    };
    auto o = std::make_shared<Options>();
    for (const char* name : {"checkpoint", "restore"}) {
        const bool dump = std::string(name) == "checkpoint";
        auto* cmd = app.add_subcommand(name, dump ? "Checkpoint a running container with CRIU (runc's)"
                                                  : "Restore a container from a CRIU checkpoint (runc's)");
        cmd->add_option("--image-path", o->image_path, "The checkpoint's directory");
        cmd->add_option("--work-path", o->work_path, "CRIU's work and log directory");
        cmd->add_option("--manage-cgroups-mode", o->manage_cgroups_mode, "soft, full, strict or ignore");
        cmd->add_option("--empty-ns", o->empty_ns, "A namespace type to create empty, not checkpoint");
        cmd->add_flag("--tcp-established", o->tcp, "Allow open TCP connections");
        cmd->add_flag("--ext-unix-sk", o->ext_unix, "Allow external unix sockets");
        cmd->add_flag("--shell-job", o->shell_job, "Allow shell jobs");
        cmd->add_flag("--file-locks", o->file_locks, "Handle file locks");
        cmd->add_flag("--lazy-pages", o->lazy, "Use userfaultfd to lazily restore memory pages");
        cmd->add_flag("--auto-dedup", o->auto_dedup, "Deduplicate memory pages in the checkpoint");
        if (dump) {
            cmd->add_option("--parent-path", o->parent_path, "A previous pre-dump, relative to --image-path");
            cmd->add_flag("--leave-running", o->leave_running, "Leave the process running after the checkpoint");
            cmd->add_flag("--pre-dump", o->pre_dump, "Dump memory only, leaving the container running");
        } else {
            cmd->add_option("--bundle,-b", o->bundle, "The container's bundle");
            cmd->add_option("--console-socket", o->console_socket, "Where to send the pty master");
            cmd->add_option("--pid-file", o->pid_file, "Write the restored process's pid here");
            cmd->add_flag("--detach,-d", o->detach, "Detach from the restored container");
            cmd->add_flag("--no-subreaper", o->no_subreaper, "Do not become the container's subreaper");
            cmd->add_flag("--no-pivot", o->no_pivot, "Do not use pivot_root");
        }
        cmd->add_option("id", o->id, "Container id")->required();
        cmd->callback([&g, o, name] { refuse(name, o->id, g); });
    }
}

}  // namespace hutch::cli::ocicli
