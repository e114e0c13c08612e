// `hutch ps` and `hutch rm`: what is known under the state root, and removing stopped ones.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
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
    }
    Fd lock(::open((paths.runtime_dir(c.id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC));
    while (lock && ::flock(lock.get(), LOCK_SH) != 0 && errno == EINTR) {
    }
}

// Columns are counted in characters, not bytes: a cut command ends in "…" (3 bytes).
std::size_t display_width(const std::string& text) {
    std::size_t n = 0;
    for (unsigned char ch : text) n += (ch & 0xC0) != 0x80;
    return n;
}

}  // namespace

void add_ps_command(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* ps = app.add_subcommand("ps", "List containers");
    auto all = std::make_shared<bool>(false);
    auto quiet = std::make_shared<bool>(false);
    ps->add_flag("-a,--all", *all, "Show all containers (default shows just running)");
    ps->add_flag("-q,--quiet", *quiet, "Only display container IDs");
    auto format = std::make_shared<std::string>();
    ps->add_option("--format", *format, "json: one JSON object per container");
    ps->callback([all, quiet, format, &paths, &exit_code]() {
        if (!format->empty() && *format != "json")
            throw UsageError("invalid --format \"" + *format + "\": hutch prints a table or json");
        if (*format == "json") {
            for (const auto& c : list_containers(paths)) {
                if (!*all && c.status != "running" && c.status != "restarting") continue;
                nlohmann::json j = to_json(c);
                j["ID"] = c.id.substr(0, 12);
                std::printf("%s\n", j.dump().c_str());
            }
            exit_code = 0;
            return;
        }
        // Docker's table: each column as wide as its widest cell, then three spaces.
        std::vector<std::array<std::string, 4>> rows = {{"CONTAINER ID", "COMMAND", "STATUS", "NAMES"}};
        for (const auto& c : list_containers(paths)) {
            if (!*all && c.status != "running" && c.status != "restarting") continue;
            if (*quiet) {
                std::printf("%s\n", c.id.substr(0, 12).c_str());
                continue;
            }
            std::string command;
            for (const auto& a : c.command) command += (command.empty() ? "" : " ") + a;
            if (command.size() > 22) command = command.substr(0, 21) + "…";
            std::string status = c.status == "exited"       ? "Exited (" + std::to_string(c.exit_code) + ")"
                                 : c.status == "restarting" ? "Restarting (" + std::to_string(c.exit_code) + ")"
                                                            : c.status;
            rows.push_back({c.id.substr(0, 12), "\"" + command + "\"", status, c.name});
        }
        if (*quiet) {
            exit_code = 0;
            return;
        }
        std::array<std::size_t, 3> width{};
        for (const auto& row : rows)
            for (std::size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
        for (const auto& row : rows) {
            std::string line;
            for (std::size_t i = 0; i < width.size(); ++i)
                line += row[i] + std::string(width[i] - display_width(row[i]) + 3, ' ');
            std::printf("%s%s\n", line.c_str(), row[3].c_str());
        }
        exit_code = 0;
    });
}

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
