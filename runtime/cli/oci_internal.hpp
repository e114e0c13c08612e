// What the files of `hutch oci` (oci.cpp: create, start, run, state, kill, delete;
// oci_exec.cpp: exec, ps, list, features; oci_update.cpp: update) share.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/fd.hpp"

namespace hutch::cli::ocicli {

struct OciGlobals {
    std::string root = "/run/hutch-oci";
    std::string log;                   // --log: errors are appended here too (conmon reads it)
    std::string log_format = "text";   // text | json
    bool debug = false;                // --debug: every step as the syscall it makes (--explain)
    bool systemd_cgroup = false;       // cgroupsPath in systemd's form (runtime/cgroup_resources.hpp)
};

// `path` made absolute against the current directory.
std::string absolute(const std::string& path);
// Connects to an engine's console socket (a unix stream socket it listens on); empty for "".
Fd connect_console(const std::string& path);
// Writes `pid` to the --pid-file `path` (nothing for "").
void write_pid_file(const std::string& path, pid_t pid);
// --preserve-fds N: UsageError unless fds 3 to 2+N are open. Called first in the command's
// callback, before hutch opens any fd of its own (the interrupt scope's signalfd among them), so
// those are the engine's and every fd hutch opens lies above them: a count beyond the engine's
// fds would otherwise hand hutch's own to the container.
void check_preserved_fds(int count);

void add_exec_command(CLI::App& app, const OciGlobals& g, int& exit_code);
void add_ps_and_list_commands(CLI::App& app, const OciGlobals& g);
void add_update_command(CLI::App& app, const OciGlobals& g);
void add_events_command(CLI::App& app, const OciGlobals& g);  // oci_events.cpp
void add_checkpoint_commands(CLI::App& app, const OciGlobals& g);  // oci_checkpoint.cpp
// features.md's document.
nlohmann::json features();

}  // namespace hutch::cli::ocicli
