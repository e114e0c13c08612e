// `hutch oci exec|ps|list|features`: a process into a running container, and what the
// runtime reports (runtime/cli/oci.cpp has the commands that make and remove containers).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "caps/capabilities.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/cli/oci_internal.hpp"
#include "runtime/env.hpp"
#include "runtime/error.hpp"
#include "runtime/launch.hpp"
#include "runtime/oci/bundle.hpp"
#include "runtime/oci/lifecycle.hpp"
#include "runtime/oci/state.hpp"
#include "runtime/state.hpp"

namespace hutch::cli::ocicli {
namespace {

using nlohmann::json;

struct ExecRequest {
    std::string id, process_file, console_socket, pid_file, cwd, user;
    std::vector<std::string> env, caps;
    std::vector<std::uint32_t> additional_gids;
    bool detach = false, tty = false, no_new_privs = false;
    int preserve_fds = 0;
};

// exec's process: the container's own, or --process's, with the flags' changes.
Spec exec_spec(const oci::StateRoot& root, const ExecRequest& r, std::vector<std::string> args) {
    check_preserved_fds(r.preserve_fds);  // first: no fd of hutch's is open yet
    Spec spec = oci::stored_spec(root, r.id);
    if (!r.process_file.empty()) {
        spec.process = process_from_json(oci::parse_config(read_file(absolute(r.process_file)), r.process_file));
    } else {
        if (!args.empty() && args[0] == "--") args.erase(args.begin());
        spec.process.args = args;
        spec.process.terminal = r.tty;
    }
    if (spec.process.args.empty() || spec.process.args[0].empty()) throw UsageError("exec: no command given");
    for (const auto& e : r.env) {
        // runc's --env is NAME=VALUE only; the rest as every exec (runtime/env.hpp).
        if (e.find('=') == std::string::npos) throw UsageError("invalid --env \"" + e + "\": expected NAME=VALUE");
        env::apply(spec.process.env, e);
    }
    if (!r.cwd.empty()) spec.process.cwd = r.cwd;
    if (spec.process.cwd.empty() || spec.process.cwd[0] != '/')
        throw UsageError("exec: the working directory \"" + spec.process.cwd + "\" must be absolute");
    if (!r.user.empty()) {
        auto colon = r.user.find(':');
        auto id = [&](const std::string& text) {
            if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos ||
                std::stoull(text) >= 0xffffffffULL)
                throw UsageError("invalid --user \"" + r.user + "\": use UID[:GID]");
            return static_cast<std::uint32_t>(std::stoull(text));
        };
        spec.process.user = {id(r.user.substr(0, colon)), colon == std::string::npos ? 0u : id(r.user.substr(colon + 1)), {}, {}};
    }
    for (std::uint32_t gid : r.additional_gids) spec.process.user.additional_gids.push_back(gid);
    oci::default_home(spec.process, spec.root.path);
    for (const auto& cap : r.caps) {
        if (!caps::number_from_name(cap)) throw UsageError("unknown capability \"" + cap + "\"");
        for (auto* set : {&spec.process.capabilities.bounding, &spec.process.capabilities.effective,
                          &spec.process.capabilities.permitted})
            set->push_back(cap);
    }
    if (r.no_new_privs) spec.process.no_new_privileges = true;
    return spec;
}

int exec(const OciGlobals& g, const ExecRequest& r, const std::vector<std::string>& args) {
    oci::StateRoot root(g.root);
    oci::State s = root.load(r.id);
    Spec spec = exec_spec(root, r, args);
    // As runc: a created container (its first process waiting for start, everything but the
    // command in place) takes an exec too; a paused or stopped one does not.
    std::string status = oci::status_of(root, s);
    if (status == "paused") throw UsageError("cannot exec in a paused container " + r.id);
    if (status != "running" && status != "created") throw UsageError("container " + r.id + " is not running");
    Fd pidfd = oci::open_live_pidfd(s);
    if (!pidfd) throw UsageError("container " + r.id + " is not running");
    Fd console = connect_console(r.console_socket);
    if (spec.process.terminal && !console && r.detach) throw UsageError("exec --tty --detach needs --console-socket");
    ExecLaunch launch;
    launch.target_pidfd = pidfd.get();
    // The new process starts in the container's cgroups: clone3 puts it into the unified one;
    // for the v1 ones hutch moves itself first and the child inherits them (as runc's exec
    // process sits in them too), so it never runs a moment outside the container's limits.
    launch.cgroup = join_v1_cgroups(s.cgroups);
    launch.seccomp_cache_dir = g.root + "/seccomp";
    launch.console_socket = console.get();
    launch.detach = r.detach;
    launch.preserve_fds = r.preserve_fds;
    launch.container_state = oci::state_json(s, status).dump();  // for a seccomp agent
    launch.started = [&](pid_t pid) { write_pid_file(r.pid_file, pid); };
    return exec_process(spec, launch);
}

}  // namespace

void add_exec_command(CLI::App& app, const OciGlobals& g, int& exit_code) {
    auto r = std::make_shared<ExecRequest>();
    auto* cmd = app.add_subcommand("exec", "Run a new process in a running container");
    cmd->add_option("--process,-p", r->process_file, "The process as config.json's process object");
    cmd->add_flag("--detach,-d", r->detach, "Return once the command runs");
    cmd->add_flag("--tty,-t", r->tty, "Give the process a terminal");
    cmd->add_option("--console-socket", r->console_socket, "Unix socket that receives the pty master");
    cmd->add_option("--pid-file", r->pid_file, "Write the process's pid here");
    cmd->add_option("--cwd", r->cwd, "Working directory");
    // One value per occurrence (`--cap CAP_KILL ID cmd`): CLI11's vector options would otherwise
    // take ID and the command too.
    cmd->add_option("--env,-e", r->env, "KEY=VALUE, over the container's environment")->allow_extra_args(false);
    cmd->add_option("--user,-u", r->user, "UID[:GID]");
    cmd->add_option("--additional-gids,-g", r->additional_gids, "Additional gids of the process")->allow_extra_args(false);
    cmd->add_option("--cap,-c", r->caps, "Add a capability")->allow_extra_args(false);
    cmd->add_flag("--no-new-privs", r->no_new_privs, "Set no_new_privs");
    cmd->add_option("--preserve-fds", r->preserve_fds, "Pass N more fds (3 to 2+N) to the command");
    cmd->add_option("id", r->id, "Container id")->required();
    // Everything after the id is the command, options included (`exec ID sh -c ...`), as runc
    // takes it; CLI11 leaves it in remaining().
    cmd->prefix_command();
    cmd->callback([&g, &exit_code, r, cmd] { exit_code = exec(g, *r, cmd->remaining()); });
}

void add_ps_and_list_commands(CLI::App& app, const OciGlobals& g) {
    // ps
    struct Options {
        std::string ps_id, ps_format = "table", list_format = "table";
        bool list_quiet = false;
    };
    auto o = std::make_shared<Options>();
    auto* ps_cmd = app.add_subcommand("ps", "List the processes of a container");
    ps_cmd->add_option("--format,-f", o->ps_format, "table or json")->check(CLI::IsMember({"table", "json"}));
    ps_cmd->add_option("id", o->ps_id, "Container id")->required();
    ps_cmd->callback([&g, o] {
        oci::StateRoot root(g.root);
        oci::State s = root.load(o->ps_id);
        std::vector<pid_t> pids = oci::container_pids(s, oci::stored_spec(root, o->ps_id));
        if (o->ps_format == "json") {
            std::cout << json(pids).dump() << "\n";
            return;
        }
        std::cout << "PID\tCMD\n";
        for (pid_t pid : pids) {
            std::string cmd;
            try {
                cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
            } catch (const SysError& e) {
                // It exited since it was listed: no longer one of the container's processes.
                if (e.error_number() == ENOENT || e.error_number() == ESRCH) continue;
                throw;
            }
            std::replace(cmd.begin(), cmd.end(), '\0', ' ');
            std::cout << pid << "\t" << cmd << "\n";
        }
    });

    // list
    auto* list_cmd = app.add_subcommand("list", "List the containers");
    list_cmd->add_option("--format,-f", o->list_format, "table or json")->check(CLI::IsMember({"table", "json"}));
    list_cmd->add_flag("--quiet,-q", o->list_quiet, "Only the ids");
    list_cmd->callback([&g, o] {
        oci::StateRoot root(g.root);
        json all = json::array();
        if (!o->list_quiet && o->list_format == "table") std::printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
        for (const auto& id : root.ids()) {
            oci::State s = root.load(id);
            std::string status = oci::status_of(root, s);
            if (o->list_quiet) std::cout << id << "\n";
            else if (o->list_format == "json") all.push_back(oci::state_json(s, status));
            else std::printf("%-20s %-8d %-10s %-40s %s\n", id.c_str(), status == "stopped" ? 0 : s.pid, status.c_str(),
                             s.bundle.c_str(), s.created.c_str());
        }
        if (!o->list_quiet && o->list_format == "json") std::cout << all.dump() << "\n";
    });
}


json features() {
    json caps = json::array();
    for (int n = 0; n <= caps::HostCaps::read().last_cap; ++n) caps.push_back(caps::name_of(n));
    std::vector<std::string> namespaces;  // sorted, as runc lists them
    for (const auto& k : kNamespaceKinds) namespaces.push_back(k.name);
    std::sort(namespaces.begin(), namespaces.end());
    return {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.2.0"},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions",
         {"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async", "dirsync", "noatime",
          "atime", "nodiratime", "diratime", "relatime", "norelatime", "strictatime", "nostrictatime", "bind",
          "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
          "tmpcopyup", "notmpcopyup", "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "idmap", "ridmap"}},
        {"linux",
         {{"namespaces", namespaces},
          {"capabilities", caps},
          // systemd: --systemd-cgroup's SLICE:PREFIX:NAME paths, made on cgroupfs (no D-Bus).
          {"cgroup", {{"v1", false}, {"v2", true}, {"systemd", true}, {"systemdUser", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions",
             {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
              "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY"}},
            {"operators",
             {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
              "SCMP_CMP_MASKED_EQ"}},
            {"archs", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}}}},
          // Idmapped binds (idmap, ridmap, mounts[].uidMappings): containerd asks before it uses them.
          {"mountExtensions", {{"idmap", {{"enabled", true}}}}},
          {"apparmor", {{"enabled", false}}},
          {"selinux", {{"enabled", false}}}}},
        // Not in features.md: what create refuses, so an engine or a user can see it up front.
        {"org.hutch.unsupportedFields", oci::unsupported_fields()},
    };
}

}  // namespace hutch::cli::ocicli
