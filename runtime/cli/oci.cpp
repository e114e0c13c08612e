// `hutch oci COMMAND` / `hutch-oci COMMAND`: the OCI runtime command line that runc and crun
// speak, so engines (podman through conmon, containerd, CRI-O) can drive hutch.
//
// Each command maps its flags onto the same Spec and launcher `hutch run` uses (the bundle's
// config.json is read by runtime/oci/bundle). State lives under --root (runtime/oci/state.hpp);
// no hutch process stays with a container after create: the engine reaps it.
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <seccomp.h>

#include "runtime/cli/cli.hpp"
#include "runtime/cli/oci_internal.hpp"
#include "runtime/error.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/explain.hpp"
#include "runtime/launch.hpp"
#include "runtime/oci/bundle.hpp"
#include "runtime/cgroup_resources.hpp"
#include "runtime/hooks.hpp"
#include "runtime/oci/lifecycle.hpp"
#include "runtime/sync.hpp"
#include "runtime/oci/state.hpp"
#include "runtime/state.hpp"

namespace hutch::cli {
namespace ocicli {

using nlohmann::json;

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) throw SysError("resolve a path", "getcwd", path, errno);
    return path.empty() || path == "." ? cwd : std::string(cwd) + "/" + path;
}

// Connects to an engine's console socket (a unix stream socket it listens on).
Fd connect_console(const std::string& path) {
    if (path.empty()) return Fd();
    return sync::connect_unix(path, "--console-socket \"" + path + "\"", "connect to the console socket");
}

void write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return;
    // Atomically: the engine may read it the moment create returns, or watch for it.
    write_file_atomic(absolute(path), std::to_string(pid), 0644, Durability::kRuntime);
}

void check_preserved_fds(int count) {
    if (count < 0 || count > 1024) throw UsageError("--preserve-fds " + std::to_string(count) + ": not from 0 to 1024");
    for (int fd = 3; fd < 3 + count; ++fd)
        if (::fcntl(fd, F_GETFD) < 0)
            throw UsageError("--preserve-fds " + std::to_string(count) + ": fd " + std::to_string(fd) + " is not open");
}

}  // namespace ocicli

namespace {

using nlohmann::json;
using namespace ocicli;

// The bundle directory, absolute and without symlinks (state.json records it for `state`).
std::string bundle_dir(const std::string& given) {
    std::string path = absolute(given.empty() ? "." : given);
    char resolved[PATH_MAX];
    if (!::realpath(path.c_str(), resolved))
        throw UsageError("invalid bundle \"" + given + "\": " + std::strerror(errno));
    return resolved;
}

// Removes a state dir it was given unless told the container exists now.
class StateDirGuard {
public:
    explicit StateDirGuard(std::string dir) : dir_(std::move(dir)) {}
    ~StateDirGuard() {
        if (dir_.empty()) return;
        try {
            remove_tree(dir_);
        } catch (const Error& e) {
            std::fprintf(stderr, "hutch: warning: %s\n", e.what());
        }
    }
    void keep() { dir_.clear(); }

private:
    std::string dir_;
};

struct CreateRequest {
    std::string id, bundle, pid_file, console_socket;
    bool no_pivot = false, no_new_keyring = false;
    int preserve_fds = 0;
};

void add_create_flags(CLI::App* cmd, CreateRequest& r) {
    cmd->add_option("--bundle,-b", r.bundle, "The bundle directory (default: the current directory)");
    cmd->add_option("--pid-file", r.pid_file, "Write the container's pid here");
    cmd->add_option("--console-socket", r.console_socket, "Unix socket that receives the pty master");
    cmd->add_flag("--no-pivot", r.no_pivot, "Accepted for runc compatibility (hutch always uses pivot_root)");
    cmd->add_flag("--no-new-keyring", r.no_new_keyring, "Accepted: hutch does not create session keyrings");
    cmd->add_option("--preserve-fds", r.preserve_fds, "Pass N more fds (3 to 2+N) to the command");
    cmd->add_option("id", r.id, "Container id")->required();
}

// What create and run share: the spec, the state dir and the launch description.
struct Prepared {
    Spec spec;
    std::string bundle;
    Fd console;
    std::unique_ptr<StateDirGuard> guard;
    Fd lock;  // flock on the state dir while create runs (the container's process inherits it)
    OciLaunch launch;
};

Prepared prepare(const OciGlobals& g, const CreateRequest& r) {
    oci::validate_id(r.id);
    Prepared p;
    p.bundle = bundle_dir(r.bundle);
    p.spec = oci::load_bundle(p.bundle);
    if (g.systemd_cgroup && !p.spec.linux.cgroups_path.empty())
        p.spec.linux.cgroups_path = systemd_cgroups_path(p.spec.linux.cgroups_path);
    validate_spec(p.spec);  // before anything exists: bad input leaves nothing behind
    oci::default_home(p.spec.process, p.spec.root.path);
    oci::StateRoot root(g.root);
    make_dirs(g.root, 0711);
    std::string dir = root.dir(r.id);
    if (::mkdir(dir.c_str(), 0700) != 0) {
        if (errno != EEXIST) throw SysError("create the container's state", "mkdir", dir, errno);
        if (!oci::remove_if_abandoned(root, r.id) || ::mkdir(dir.c_str(), 0700) != 0)
            throw UsageError("container " + r.id + " already exists");
    }
    p.guard = std::make_unique<StateDirGuard>(dir);
    p.lock = Fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!p.lock || ::flock(p.lock.get(), LOCK_EX) != 0) throw SysError("lock the container's state", "flock", dir, errno);
    std::string fifo = root.file(r.id, "exec.fifo");
    if (::mkfifo(fifo.c_str(), 0600) != 0) throw SysError("create the start fifo", "mkfifo", fifo, errno);
    write_file_atomic(root.file(r.id, "config.json"), to_json(p.spec).dump(2) + "\n", 0600, Durability::kRuntime);
    oci::State state;
    state.id = r.id;
    state.bundle = p.bundle;
    state.rootfs = p.spec.root.path;
    state.created = rfc3339_now();
    state.annotations = p.spec.annotations;
    // Visible from now on, as "creating" (runtime/oci/state.hpp): a SIGKILL at any later point
    // leaves a record state, list and delete see.
    oci::State creating = state;
    creating.creating = true;
    creating.creator_pid = ::getpid();
    creating.creator_start_time = oci::live_start_time(::getpid());
    root.save(creating);
    p.console = connect_console(r.console_socket);
    if (p.console && !p.spec.process.terminal)
        throw UsageError("--console-socket given, but the config's process.terminal is false");

    p.launch.id = r.id;
    p.launch.state_dir = dir;
    p.launch.seccomp_cache_dir = g.root + "/seccomp";
    p.launch.console_socket = p.console.get();
    p.launch.preserve_fds = r.preserve_fds;
    p.launch.state_json = [state](pid_t pid, const std::string& status) {
        oci::State s = state;
        s.pid = pid;
        return oci::state_json(s, status).dump();
    };
    p.launch.cgroup_holder = [root, id = r.id](const std::string& cgroup) -> std::string {
        for (const auto& other : root.ids()) {
            if (other == id) continue;
            try {
                const auto dirs = root.load(other).cgroups;
                if (std::find(dirs.begin(), dirs.end(), cgroup) != dirs.end()) return other;
            } catch (const Error&) {
                // A record deleted meanwhile holds nothing.
            }
        }
        return "";
    };
    p.launch.made = [creating, root](pid_t pid, const std::vector<std::string>& cgroups,
                                      const std::vector<std::string>& made_parents) {
        oci::State s = creating;
        s.pid = pid;
        s.pid_start_time = pid > 0 ? oci::live_start_time(pid) : 0;
        s.cgroups = cgroups;
        s.cgroup_parents = made_parents;
        root.save(s);
    };
    p.launch.created = [state, root, pid_file = r.pid_file](pid_t pid, const std::vector<std::string>& cgroups,
                                                             const std::vector<std::string>& made_parents) {
        oci::State s = state;
        s.pid = pid;
        s.pid_start_time = oci::live_start_time(pid);
        s.cgroups = cgroups;
        s.cgroup_parents = made_parents;
        root.save(s);
        write_pid_file(pid_file, pid);
    };
    return p;
}

void start(const OciGlobals& g, const std::string& id) {
    oci::StateRoot root(g.root);
    oci::State state = root.load(id);
    std::string status = oci::status_of(root, state);
    if (status != "created") throw UsageError("cannot start container " + id + ": it is " + status);
    Spec spec = oci::stored_spec(root, id);  // before the release: nothing may fail after it but hooks
    Fd pidfd = oci::open_live_pidfd(state);
    if (!pidfd) throw UsageError("cannot start container " + id + ": it has stopped");
    // Claimed by renaming the fifo: of two starts at once, one renames it and the other finds
    // it gone (the container is then running), instead of waiting on a fifo nobody writes.
    std::string claimed = root.file(id, "exec.fifo.starting");
    if (::rename(root.file(id, "exec.fifo").c_str(), claimed.c_str()) != 0) {
        if (errno == ENOENT) throw UsageError("cannot start container " + id + ": it is running");
        throw SysError("start the container", "rename", root.file(id, "exec.fifo"), errno);
    }
    start_oci_container(claimed, pidfd.get(), true, spec.process.args.empty() ? "" : spec.process.args[0]);
    oci::run_hooks_warning(spec.hooks.poststart, "poststart", oci::state_json(state, "running").dump());
}

// `run`: create and start; with `detach` return once it runs, else wait and delete it.
int run(const OciGlobals& g, const CreateRequest& r, bool detach) {
    Prepared p = prepare(g, r);
    if (detach) {
        create_oci_container(p.spec, p.launch);
        p.guard->keep();
        try {
            start(g, r.id);
        } catch (...) {
            // runc leaves nothing of a container whose run failed: neither does hutch.
            oci::abort_run(oci::StateRoot(g.root), r.id, p.spec);
            throw;
        }
        return 0;
    }
    oci::StateRoot root(g.root);
    int status = 0;
    try {
        status = run_oci_container(p.spec, p.launch);
    } catch (...) {
        oci::run_hooks_warning(p.spec.hooks.poststop, "poststop", p.launch.state_json(0, "stopped"));
        throw;
    }
    oci::destroy(root, root.load(r.id), p.spec);
    p.guard->keep();
    return status;
}

// create, start, run: the requests live as long as `app`'s callbacks may run.
void add_create_start_run(CLI::App& app, const OciGlobals& g, int& exit_code) {
    auto create_req = std::make_shared<CreateRequest>();
    auto* create_cmd = app.add_subcommand("create", "Create a container: everything but its command");
    add_create_flags(create_cmd, *create_req);
    create_cmd->callback([&g, create_req] {
        check_preserved_fds(create_req->preserve_fds);  // before the scope's signalfd: fd 3 up are the engine's
        interrupt::Scope start_scope;  // SIGINT/SIGTERM abandon the create (runtime/interrupt.hpp)
        Prepared p = prepare(g, *create_req);
        try {
            create_oci_container(p.spec, p.launch);
        } catch (...) {
            // runtime.md: a failed createRuntime (or later) step stops the container and goes on
            // with delete, whose poststop hooks run.
            oci::run_hooks_warning(p.spec.hooks.poststop, "poststop", p.launch.state_json(0, "stopped"));
            throw;
        }
        p.guard->keep();
    });

    auto start_id = std::make_shared<std::string>();
    auto* start_cmd = app.add_subcommand("start", "Run the command of a created container");
    start_cmd->add_option("id", *start_id, "Container id")->required();
    start_cmd->callback([&g, start_id] { start(g, *start_id); });

    auto run_req = std::make_shared<CreateRequest>();
    auto run_detach = std::make_shared<bool>(false);
    auto* run_cmd = app.add_subcommand("run", "Create and start a container, and wait for it unless --detach");
    add_create_flags(run_cmd, *run_req);
    run_cmd->add_flag("--detach,-d", *run_detach, "Return once the command runs");
    run_cmd->callback([&g, &exit_code, run_req, run_detach] {
        check_preserved_fds(run_req->preserve_fds);  // before the scope's signalfd
        interrupt::Scope start_scope;
        exit_code = run(g, *run_req, *run_detach);
    });
}

void add_state_kill_delete(CLI::App& app, const OciGlobals& g) {
    struct Options {
        std::string state_id, kill_id, kill_signal = "SIGTERM", delete_id, pause_id, resume_id;
        bool kill_all = false, delete_force = false;
    };
    auto o = std::make_shared<Options>();
    auto* state_cmd = app.add_subcommand("state", "Print the state of a container (runtime.md)");
    state_cmd->add_option("id", o->state_id, "Container id")->required();
    state_cmd->callback([&g, o] {
        oci::StateRoot root(g.root);
        oci::State s = root.load(o->state_id);
        std::cout << oci::state_json(s, oci::status_of(root, s)).dump(2) << "\n";
    });

    auto* kill_cmd = app.add_subcommand("kill", "Send a signal to a container's first process");
    kill_cmd->add_flag("--all,-a", o->kill_all, "Signal every process of the container");
    kill_cmd->add_option("id", o->kill_id, "Container id")->required();
    kill_cmd->add_option("signal", o->kill_signal, "Signal name or number (default SIGTERM)");
    kill_cmd->callback([&g, o] {
        // Signal 0, as runc takes it: nothing is sent, the kill only says whether the container
        // still runs (exit 1 when not), which engines use as a liveness check.
        int sig = o->kill_signal == "0" ? 0 : parse_signal(o->kill_signal);
        oci::kill(oci::StateRoot(g.root), o->kill_id, sig, o->kill_all);
    });

    auto* pause_cmd = app.add_subcommand("pause", "Freeze every process of a running container (cgroup freezer)");
    pause_cmd->add_option("id", o->pause_id, "Container id")->required();
    pause_cmd->callback([&g, o] { oci::pause(oci::StateRoot(g.root), o->pause_id); });
    auto* resume_cmd = app.add_subcommand("resume", "Thaw a paused container");
    resume_cmd->add_option("id", o->resume_id, "Container id")->required();
    resume_cmd->callback([&g, o] { oci::resume(oci::StateRoot(g.root), o->resume_id); });

    auto* delete_cmd = app.add_subcommand("delete", "Delete a stopped container (--force: kill it first)");
    delete_cmd->add_flag("--force,-f", o->delete_force, "Kill the container if it runs");
    delete_cmd->add_option("id", o->delete_id, "Container id")->required();
    delete_cmd->callback([&g, o] { oci::remove(oci::StateRoot(g.root), o->delete_id, o->delete_force); });
}

void report(const OciGlobals& g, const char* program, const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program, message.c_str());
    if (g.log.empty()) return;
    std::ofstream log(g.log, std::ios::app);
    if (g.log_format == "json")
        log << json{{"level", "error"}, {"msg", message}, {"time", rfc3339_now()}}.dump() << "\n";
    else
        log << rfc3339_now() << " error: " << message << "\n";
}

}  // namespace

int oci_main(int argc, char** argv) {
    OciGlobals g;
    int exit_code = 0;
    std::string program = ::basename(argv[0]);
    if (program != "hutch-oci") program = "hutch oci";
    // Never destroyed: freeing the command tree at exit is work no one needs (the process ends).
    CLI::App& app = *new CLI::App{"The OCI runtime command line (runc and crun compatible), for engines such as podman",
                                  program};
    app.set_help_flag("--help,-h", "Print this help and exit");
    app.require_subcommand(1);
    app.add_option("--root", g.root, "State directory of the containers")->capture_default_str();
    app.add_option("--log", g.log, "Also append errors to this file");
    app.add_option("--log-format", g.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", g.debug, "Print every step as the syscall it makes");
    app.add_flag("--systemd-cgroup", g.systemd_cgroup,
                 "cgroupsPath is systemd's SLICE:PREFIX:NAME, made as the cgroupfs dirs systemd would make");
    std::string cgroup_manager;
    app.add_option("--cgroup-manager", cgroup_manager, "crun's form: systemd is --systemd-cgroup")
        ->check(CLI::IsMember({"cgroupfs", "systemd"}));
    bool rootless = false;
    app.add_flag("--rootless", rootless, "Accepted; hutch runs as root");
    app.parse_complete_callback([&] {
        explain::enable(g.debug);
        if (cgroup_manager == "systemd") g.systemd_cgroup = true;
    });
    // runc's shape, which podman and Docker show as the runtime's version (`podman info`).
    const scmp_version* seccomp = seccomp_version();
    app.set_version_flag("-v,--version", std::string(program == "hutch-oci" ? "hutch-oci" : "hutch oci") +
                                             " version " HUTCH_VERSION "\nspec: 1.0.2\nlibseccomp: " +
                                             std::to_string(seccomp->major) + "." + std::to_string(seccomp->minor) +
                                             "." + std::to_string(seccomp->micro));

    // spec
    std::string spec_bundle;
    bool spec_rootless = false;
    auto* spec_cmd = app.add_subcommand("spec", "Write a default config.json into the bundle directory");
    spec_cmd->add_option("--bundle,-b", spec_bundle, "Where to write it (default: the current directory)");
    spec_cmd->add_flag("--rootless", spec_rootless, "A config for a user who is not root (runc's: a user namespace, the host's network)");
    spec_cmd->callback([&] {
        std::string path = absolute(spec_bundle.empty() ? "." : spec_bundle) + "/config.json";
        if (::access(path.c_str(), F_OK) == 0) throw UsageError(path + " exists: remove it first");
        json config = oci::default_config();
        if (spec_rootless) config = oci::rootless_config(std::move(config), ::geteuid(), ::getegid());
        write_file_atomic(path, config.dump(2) + "\n", 0644, Durability::kDurable);
    });

    add_create_start_run(app, g, exit_code);
    add_state_kill_delete(app, g);
    add_exec_command(app, g, exit_code);
    add_ps_and_list_commands(app, g);
    add_update_command(app, g);
    add_events_command(app, g);
    add_checkpoint_commands(app, g);

    // features
    auto* features_cmd = app.add_subcommand("features", "What this runtime supports, as JSON (features.md)");
    features_cmd->callback([&] { std::cout << features().dump(2) << "\n"; });

    // runc exits 1 on any error of its own, and engines expect it; a command that cannot run
    // keeps 126 or 127, as crun gives them.
    return parse_and_run(app, argc, argv, exit_code,
                         [&](const std::string& message) { report(g, program.c_str(), message); }, 1);
}

}  // namespace hutch::cli
