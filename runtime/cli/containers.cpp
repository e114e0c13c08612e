// `hutch rm`: removing containers of the state root (with -f, stopping them first).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/restart.hpp"

namespace hutch::cli {
namespace {

// rm -f: SIGKILL the container's first process (a pidfd opened while its supervisor holds the
// lock, so never a recycled pid), then wait for the supervisor to finish its cleanup.
void kill_and_wait(const Paths& paths, const ContainerState& c) {
    if (!container_running(paths, c.id)) return;
    // Its restart policy must not start it again (runtime/restart.hpp); one waiting to restart
    // has no process, and ends on the request alone.
    restart::request(paths.runtime_dir(c.id), restart::Request::kExit);
    if (c.pid > 0) {
        Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0)));
        if (pidfd && container_running(paths, c.id)) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
        lifecycle::thaw(c);  // a v1 freezer keeps the SIGKILL pending until thawed
    }
    Fd lock(::open((paths.runtime_dir(c.id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC));
    while (lock && ::flock(lock.get(), LOCK_SH) != 0 && errno == EINTR) {
    }
}

}  // namespace

void add_rm_command(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* rm = app.add_subcommand("rm", "Remove one or more stopped containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    rm->add_flag("-f,--force", *force, "Kill a running container first");
    rm->add_option("CONTAINER", *refs, "Container names or ids")->required();
    rm->callback([refs, force, &paths, &exit_code]() {
        exit_code = 0;
        for (const auto& ref : *refs) {
            try {
                ContainerState c = find_container(paths, ref);
                if (*force) kill_and_wait(paths, c);
                remove_container(paths, c);
                std::printf("%s\n", ref.c_str());
            } catch (const Error& e) {
                std::fprintf(stderr, "hutch: %s\n", e.what());  // names come from the state root
                exit_code = e.exit_code();
            }
        }
    });
}

}  // namespace hutch::cli
