// The docker-style command line. Each command is one small file that maps options into a Spec
// (or reads state) and calls the launcher; nothing here touches the kernel directly.
#pragma once

#include <CLI/CLI.hpp>

#include "runtime/state.hpp"

namespace hutch::cli {

// Registers a command on `app`; the callback it installs runs the command and sets `exit_code`.
void add_run_command(CLI::App& app, const Paths& paths, int& exit_code, char** argv);
void add_ps_command(CLI::App& app, const Paths& paths, int& exit_code);
void add_rm_command(CLI::App& app, const Paths& paths, int& exit_code);

}  // namespace hutch::cli
