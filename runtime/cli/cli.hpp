// The docker-style command line. Each command is one small file that maps options into a Spec
// (or reads state) and calls the launcher. The few calls made here (the -d monitor's fork and
// setsid, the OCI state directory) are process housekeeping, not container set-up.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <ostream>

#include "runtime/image/image_store.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/run_options.hpp"
#include "runtime/state.hpp"

namespace hutch::cli {

// Settings every command shares: the state roots and the host config file.
struct Globals {
    Paths paths;
    std::string config_path;
};

// The first word of argv that is not an option of `app` or its value: the command ("" for none,
// or when --help comes first).
std::string command_word(const CLI::App& app, int argc, char** argv);
// Registers the commands `word` belongs to (runtime/cli/commands.cpp), or all of them when it
// names none (help, a misspelling) or is `completion` or `__generate-docs`.
void add_commands(CLI::App& app, const Globals& globals, int& exit_code, char** argv, const std::string& word);
// Registers a command on `app`; the callback it installs runs the command and sets `exit_code`.
void add_run_command(CLI::App& app, const Globals& globals, int& exit_code, char** argv);
// `start` (also --all-restartable) and `restart` (runtime/cli/start.cpp).
void add_start_commands(CLI::App& app, const Globals& globals, int& exit_code, char** argv);
void add_network_command(CLI::App& app, const Globals& globals, int& exit_code);
void add_ps_command(CLI::App& app, const Paths& paths, int& exit_code);
void add_rm_command(CLI::App& app, const Paths& paths, int& exit_code);
void add_events_command(CLI::App& app, const Paths& paths, int& exit_code);
// exec, kill, stop, wait, logs, inspect
void add_lifecycle_commands(CLI::App& app, const Paths& paths, int& exit_code);
void add_stats_command(CLI::App& app, const Paths& paths, int& exit_code);
void add_audit_command(CLI::App& app, const Paths& paths, int& exit_code);
void add_update_command(CLI::App& app, const Paths& paths, int& exit_code);
// images, rmi, tag, load, save, import, image ... (runtime/cli/images.cpp)
void add_image_commands(CLI::App& app, const Globals& globals, int& exit_code);
// Pulls `ref` into the store (hutch pull, run --pull), progress lines to `progress` when given.
image::ImageRecord pull_image_ref(const image::Reference& ref, const Globals& globals, std::ostream* progress);
void add_profile_command(CLI::App& app, const Globals& globals, int& exit_code, char** argv);

// `hutch oci ...` and the binary invoked as hutch-oci: the OCI runtime command line
// (runc/crun compatible). argv[0] is the command's own name.
int oci_main(int argc, char** argv);

// Parses argv and runs the chosen command; help goes to stdout, errors to `report` as one line,
// with hutch's exit codes: `own_error` (125, Docker's; runc's 1 for hutch-oci) for its own
// errors, 126 and 127 for a command that cannot run. Returns the exit status.
int parse_and_run(CLI::App& app, int argc, char** argv, const int& exit_code,
                  const std::function<void(const std::string&)>& report, int own_error = kExitHutchError);

// "TERM", "SIGTERM", "sigterm", "15" -> 15; anything else is a UsageError naming it.
int parse_signal(const std::string& text);

// A file named on the command line (--env-file, --security-opt seccomp=FILE), bounded;
// UsageError naming the path when it cannot be read.
std::string read_named_file(const std::string& path);

// docker run's flags into `opts`: shared by `run` and `audit`, so both build the same Spec.
void add_run_flags(CLI::App* cmd, RunOptions& opts);
// Takes back run flags that mean nothing for a command built on them (audit's -d, profile's
// --restart): its help, man page and completion then leave them out, and using one is an
// unknown flag.
void drop_run_flags(CLI::App* cmd, std::initializer_list<const char*> names);
// The cgroup limit flags among them (--memory ... --blkio-weight), shared with `update`.
void add_limit_flags(CLI::App* cmd, RunOptions& opts);
// Runs `body` in a forked monitor and returns once it wrote "started" to the fd it is given
// (hutch run -d, start, exec -d); its start errors come back as this process's.
int in_monitor(const std::function<int(int)>& body);
// `hutch __monitor-exit ...` (runtime/monitor.hpp): the exit half of a detached start; its
// errors go to stderr, the container's log.
int monitor_exit_main(int argc, char** argv);
// --explain with a detached start (`what`: "run -d", ...) is refused: the monitor's stderr is
// the container's log, and the lines would end up in `hutch logs`.
void refuse_detached_explain(bool explain, bool detached, const char* what);
// docker's check before run and exec: -t with an attached stdin (-i, not -d) that is not a
// terminal is refused, "the input device is not a TTY".
void refuse_tty_without_terminal(bool tty, bool attached_stdin);
// Commands that make or start containers: as root, or rootless with newuidmap and newgidmap
// (runtime/rootless.hpp); one line saying what is missing, before anything is made.
void require_run_privilege();
// hutch profile needs root (its seccomp listener and cgroup accounting): one line saying so.
void require_root(const char* command, const char* why);

// Help, man pages and completion from the one command tree (runtime/cli/docs_gen.cpp).
// The positionals of a command CLI11 does not parse itself (a prefix command), for its Usage
// line, its man page and completion; the formatter that prints them; `completion` and the
// build's hidden `__generate-docs DIR`.
void set_usage(CLI::App* command, const std::string& positionals);
std::shared_ptr<CLI::Formatter> usage_formatter();
void add_docs_commands(CLI::App& app, int& exit_code);
// The Spec `hutch run` builds from `opts` (rootfs absolute, command set) on this host.
Spec spec_from_options(const RunOptions& opts, const Globals& globals, const std::string& id);
// The real host's facts for build_run_spec, reading the rootfs' own files under `rootfs`.
HostFacts host_facts(const std::string& rootfs);
// The same for `opts`: an image's files are read through its layers (read_in_layers).
HostFacts host_facts(const RunOptions& opts);
// --network/--pid/--ipc container:REF: the running container's facts (its namespaces, its user
// namespace's maps, whether it holds a --userns auto slot). UsageError when it is not running.
HostFacts::JoinedContainer running_container(const Paths& paths, const std::string& ref);
// ROOTFS-or-IMAGE and the words after it into `opts` (runtime/cli/run_image.cpp): a directory's
// path, or an image whose layers, command, Env, User and WorkingDir the container takes. For an
// image, a lease for container `id` is recorded (empty `id`: none, for audit, which runs nothing
// and needs no command), and `pull` fetches it as --pull asks (empty: never pulls).
using PullImage = std::function<void(const image::Reference&)>;
void resolve_root_argument(RunOptions& opts, const std::string& arg, const std::vector<std::string>& args,
                           const Paths& paths, const std::string& id, const PullImage& pull = {});
// A user database (/etc/passwd, /etc/group) as the overlay of `layers` (top first) shows it.
std::string read_in_layers(const std::vector<std::string>& layers, const std::string& path);
// The facts the resource flags of `flags` check against (CPUs, swap accounting, rlimits);
// nothing when none is given.
void add_resource_facts(HostFacts& host, const RunOptions& flags);

}  // namespace hutch::cli
