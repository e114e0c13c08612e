// `hutch kill|stop|wait|logs|exec|inspect`: flags mapped onto runtime/lifecycle.hpp (acting on
// a container another hutch process supervises) and the launcher's exec.
#include <array>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "netns/network.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/env.hpp"
#include "runtime/error.hpp"
#include "runtime/go_template.hpp"
#include "runtime/explain.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/events.hpp"
#include "runtime/launch.hpp"
#include "runtime/lifecycle.hpp"

namespace hutch::cli {

namespace {

// HostConfig's resource fields, as docker inspect shows them (0 or null: not set), from the
// config.json the container runs with.
void add_resources(nlohmann::json& host_config, const nlohmann::json& config) {
    using nlohmann::json;
    const json linux = config.value("linux", json::object());
    const json r = linux.value("resources", json::object());
    const json memory = r.value("memory", json::object()), cpu = r.value("cpu", json::object());
    const json process = config.value("process", json::object());
    std::int64_t quota = cpu.value("quota", std::int64_t{0}), period = cpu.value("period", std::int64_t{0});
    host_config["Memory"] = memory.value("limit", std::int64_t{0});
    host_config["MemorySwap"] = memory.value("swap", std::int64_t{0});
    host_config["MemoryReservation"] = memory.value("reservation", std::int64_t{0});
    host_config["KernelMemory"] = memory.value("kernel", std::int64_t{0});
    host_config["OomKillDisable"] = memory.value("disableOOMKiller", false);
    host_config["OomScoreAdj"] = process.value("oomScoreAdj", 0);
    host_config["CpuShares"] = cpu.value("shares", std::int64_t{0});
    host_config["CpuPeriod"] = period;
    host_config["CpuQuota"] = quota;
    // --cpus sets a quota over the default period; shown as Docker's NanoCpus too.
    host_config["NanoCpus"] = period == 100000 && quota > 0 ? quota * 10000 : 0;
    host_config["CpusetCpus"] = cpu.value("cpus", "");
    host_config["CpusetMems"] = cpu.value("mems", "");
    host_config["BlkioWeight"] = r.value("blockIO", json::object()).value("weight", 0);
    host_config["PidsLimit"] = r.contains("pids") ? r["pids"].value("limit", json(nullptr)) : json(nullptr);
    json ulimits = json(nullptr);
    for (const auto& l : process.value("rlimits", json::array())) {
        if (ulimits.is_null()) ulimits = json::array();
        std::string name = l.value("type", "");
        if (name.rfind("RLIMIT_", 0) == 0) name = name.substr(7);
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        ulimits.push_back({{"Name", name}, {"Soft", l.value("soft", json(0))}, {"Hard", l.value("hard", json(0))}});
    }
    host_config["Ulimits"] = ulimits;
    host_config["Sysctls"] = linux.value("sysctl", json::object());
    for (const auto& m : config.value("mounts", json::array()))
        if (m.value("destination", "") == "/dev/shm")
            for (const auto& o : m.value("options", json::array()))
                if (o.is_string() && o.get<std::string>().rfind("size=", 0) == 0)
                    host_config["ShmSize"] = std::strtoll(o.get<std::string>().c_str() + 5, nullptr, 10);
}

// NetworkSettings: the container's place on its network while it runs (from the network's
// endpoint record), and its published ports, in Docker's shape. As Docker, the default network's
// address is also at the top level (NetworkSettings.IPAddress), a user-defined one's only under
// Networks.
// The root's layers and the container's own, as docker inspect shows overlay2's (LowerDir top
// first, ':' between, as overlayfs takes them; a directory rootfs is the one lower dir).
nlohmann::json graph_driver(const Paths& paths, const std::string& id, const nlohmann::json& config) {
    auto layers = config.value("hutch", nlohmann::json::object()).value("layers", std::vector<std::string>{});
    if (layers.empty()) layers.push_back(config.value("root", nlohmann::json::object()).value("path", ""));
    std::string lower;
    for (const auto& layer : layers) lower += (lower.empty() ? "" : ":") + layer;
    return {{"Name", "overlay"},
            {"Data",
             {{"LowerDir", lower},
              {"UpperDir", paths.data_dir(id) + "/upper"},
              {"WorkDir", paths.data_dir(id) + "/work"},
              {"MergedDir", paths.runtime_dir(id) + "/merged"}}}};
}

nlohmann::json network_settings(const Paths& paths, const ContainerState& c, const std::string& network) {
    nlohmann::json ports = nlohmann::json::object();
    for (const auto& p : c.ports)
        ports[p.key()].push_back({{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
    nlohmann::json networks = nlohmann::json::object();
    if (network == "bridge" || (!network.empty() && network != "none" && network != "host" && network.rfind("container:", 0) != 0)) {
        nlohmann::json entry = {{"IPAddress", ""}, {"IPPrefixLen", 0}, {"Gateway", ""}, {"MacAddress", ""},
                                {"Aliases", nullptr}, {"NetworkID", ""}, {"EndpointID", ""}};
        net::NetworkStore store(paths.data_root, {}, [](const std::string&) { return true; });
        for (const auto& n : store.list()) {
            if (n.name != network) continue;
            entry["NetworkID"] = n.id;
            if (c.status != "running") break;
            // The one endpoint the record names; a record without an address, every one.
            std::vector<net::Endpoint> candidates;
            if (c.address.empty()) candidates = store.endpoints(n);
            else if (auto own = store.endpoint_at(n, c.address, c.id)) candidates.push_back(*own);
            for (const auto& e : candidates) {
                if (e.container_id != c.id) continue;
                entry["IPAddress"] = e.address.str();
                entry["IPPrefixLen"] = n.subnet.prefix;
                entry["Gateway"] = n.gateway.str();
                entry["MacAddress"] = net::mac_string(e.mac);
                entry["Aliases"] = e.aliases;
                entry["EndpointID"] = e.host_veth;  // the veth's host end names the endpoint
            }
        }
        networks[network] = entry;
    }
    nlohmann::json out = {{"Ports", ports}, {"Networks", networks}};
    const nlohmann::json none = nlohmann::json::object();
    const nlohmann::json& bridge = network == "bridge" ? networks["bridge"] : none;
    for (const char* key : {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress", "EndpointID"})
        out[key] = bridge.contains(key) ? bridge[key] : (std::string(key) == "IPPrefixLen" ? nlohmann::json(0) : nlohmann::json(""));
    return out;
}

nlohmann::json inspect_json(const Paths& paths, const ContainerState& c) {
    nlohmann::json config = nlohmann::json::object();
    try {
        config = nlohmann::json::parse(read_file(paths.data_dir(c.id) + "/config.json"));
    } catch (const std::exception& e) {
        // A record whose config is gone or torn (its data root was cleaned by hand): the record
        // alone is still worth showing, and stderr says what is missing.
        std::fprintf(stderr, "hutch: warning: inspect %s without its config: %s\n", c.id.c_str(), e.what());
    }
    // As dockerd: a container waiting to restart is still "running" (it is not stopped), with no pid.
    bool running = c.status == "running" || c.status == "restarting";
    const std::string state = lifecycle::state_string(c);  // a paused one's freezer, read once
    const auto& hutch = config.value("hutch", nlohmann::json::object());
    const auto& process = config.value("process", nlohmann::json::object());
    nlohmann::json out = {
        {"Id", c.id},
        {"Created", c.created},
        {"Path", c.command.empty() ? "" : c.command[0]},
        {"Args", c.command.size() > 1 ? std::vector<std::string>(c.command.begin() + 1, c.command.end())
                                      : std::vector<std::string>{}},
        {"State",
         {{"Status", state},
          {"Running", running},
          {"Paused", state == "paused"},
          {"Restarting", c.status == "restarting"},
          {"Pid", running ? c.pid : 0},
          {"OOMKilled", c.oom_killed},
          {"ExitCode", c.exit_code},
          {"StartedAt", c.started_at.empty() ? "0001-01-01T00:00:00Z" : c.started_at},
          {"FinishedAt", c.finished_at.empty() ? "0001-01-01T00:00:00Z" : c.finished_at}}},
        {"Name", "/" + c.name},
        {"RestartCount", c.restart_count},
        {"LogPath", paths.runtime_dir(c.id) + "/container.log"},
        {"HostsPath", paths.hosts_file(c.id)},
        {"ResolvConfPath", paths.runtime_dir(c.id) + "/resolv.conf"},
        {"HostnamePath", paths.runtime_dir(c.id) + "/hostname"},
        {"Config",
         {{"Hostname", config.value("hostname", "")},
          {"Env", process.value("env", nlohmann::json::array())},
          {"Cmd", c.command},
          {"WorkingDir", process.value("cwd", "/")},
          {"Image", c.rootfs}}},
        {"Image", hutch.value("image", "")},
        {"HostConfig",
         {{"NetworkMode", hutch.value("network", "")},
          {"AutoRemove", hutch.value("autoRemove", false)},
          {"RestartPolicy",
           {{"Name", hutch.value("restartPolicy", nlohmann::json::object()).value("name", "no")},
            {"MaximumRetryCount", hutch.value("restartPolicy", nlohmann::json::object()).value("maximumRetryCount", 0)}}},
          {"Privileged", hutch.value("privileged", false)},
          {"ReadonlyRootfs", config.value("root", nlohmann::json::object()).value("readonly", false)},
          {"CapAdd", nullptr},
          // As given (docker shows null for none).
          {"SecurityOpt", hutch.value("securityOpt", nlohmann::json::array()).empty()
                              ? nlohmann::json(nullptr) : hutch.value("securityOpt", nlohmann::json::array())},
          {"ExtraHosts", hutch.value("extraHosts", nlohmann::json::array())},
          {"Dns", hutch.value("dns", nlohmann::json::array())},
          {"DnsSearch", hutch.value("dnsSearch", nlohmann::json::array())},
          {"DnsOptions", hutch.value("dnsOptions", nlohmann::json::array())}}},
        {"GraphDriver", graph_driver(paths, c.id, config)},
        {"NetworkSettings", network_settings(paths, c, hutch.value("network", ""))},
        {"OCI", config},
    };
    add_resources(out["HostConfig"], config);
    return out;
}

// exec's --env-file and -e, in docker's order, resolved here against hutch's environment
// (runtime/env.hpp): the launcher applies them over the container's.
std::vector<std::string> exec_env(const std::vector<std::string>& files, const std::vector<std::string>& entries) {
    std::vector<std::string> resolved;
    for (const auto& file : files) {
        std::string text;
        try {
            text = read_named_file(file);
        } catch (const UsageError& e) {
            throw UsageError(std::string("--env-file: ") + e.what());
        }
        for (const auto& entry : env::file_entries(file, text)) resolved.push_back(env::resolve(entry, std::getenv));
    }
    for (const auto& entry : entries) resolved.push_back(env::resolve(entry, std::getenv));
    return resolved;
}

void add_kill_and_stop(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* kill = app.add_subcommand("kill", "Send a signal to a running container (default SIGKILL)");
    auto kill_signal = std::make_shared<std::string>("KILL");
    auto kill_refs = std::make_shared<std::vector<std::string>>();
    kill->add_option("-s,--signal", *kill_signal, "Signal to send (name or number)");
    kill->add_option("CONTAINER", *kill_refs, "Container names or ids")->required();
    kill->callback([&paths, &exit_code, kill_signal, kill_refs]() {
        int sig = parse_signal(*kill_signal);
        for (const auto& ref : *kill_refs) {
            lifecycle::kill_container(paths, find_container(paths, ref), ref, sig);
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
            lifecycle::stop_container(paths, find_container(paths, ref), ref, std::chrono::seconds(*stop_time));
            std::printf("%s\n", ref.c_str());
        }
        exit_code = 0;
    });
}

// docker pause / unpause: each container frozen or thawed whole (runtime/lifecycle.hpp). As
// hutch kill: the first that cannot be is 125, with one line naming it.
void add_pause_and_unpause(CLI::App& app, const Paths& paths, int& exit_code) {
    for (bool pausing : {true, false}) {
        auto* cmd = app.add_subcommand(pausing ? "pause" : "unpause",
                                       pausing ? "Pause all processes within one or more containers"
                                               : "Unpause all processes within one or more containers");
        auto refs = std::make_shared<std::vector<std::string>>();
        cmd->add_option("CONTAINER", *refs, "Container names or ids")->required();
        cmd->callback([&paths, &exit_code, refs, pausing]() {
            for (const auto& ref : *refs) {
                ContainerState c = find_container(paths, ref);
                if (pausing)
                    lifecycle::pause_container(paths, c, ref);
                else
                    lifecycle::unpause_container(paths, c, ref);
                std::printf("%s\n", ref.c_str());
            }
            exit_code = 0;
        });
    }
}

void add_wait_and_logs(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* wait = app.add_subcommand("wait", "Block until containers stop, then print their exit codes");
    auto wait_refs = std::make_shared<std::vector<std::string>>();
    wait->add_option("CONTAINER", *wait_refs, "Container names or ids")->required();
    wait->callback([&paths, &exit_code, wait_refs]() {
        for (const auto& ref : *wait_refs)
            std::printf("%d\n", lifecycle::wait_exit(paths, find_container(paths, ref).id, ref));
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
        long lines = lifecycle::parse_tail(*tail);
        ContainerState c = find_container(paths, *logs_ref);
        Fd log(::open((paths.runtime_dir(c.id) + "/container.log").c_str(), O_RDONLY | O_CLOEXEC));
        if (!log) throw UsageError("container " + *logs_ref + " has no log (only -d containers keep one)");
        auto out = [](std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
        };
        lifecycle::print_log(log.get(), lines, out);
        if (*follow)
            lifecycle::follow_log(log.get(), [&] { return container_running(paths, c.id); }, out,
                                  std::chrono::milliseconds(50));
        exit_code = 0;
    });
}

void add_exec(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* exec = app.add_subcommand("exec", "Run a command in a running container");
    exec->set_help_flag("--help", "Print this help and exit");
    exec->prefix_command();  // everything from CONTAINER on: options after it are the command's
    set_usage(exec, "CONTAINER COMMAND [ARG...]");
    auto request = std::make_shared<ExecRequest>();
    exec->add_flag("-i,--interactive", request->interactive, "Keep STDIN open");
    exec->add_flag("-t,--tty", request->tty, "Allocate a pseudo-TTY");
    exec->add_option("-u,--user", request->user, "Username or UID (format: <name|uid>[:<group|gid>])");
    exec->add_option("-w,--workdir", request->workdir, "Working directory inside the container");
    auto env_entries = std::make_shared<std::vector<std::string>>();
    auto env_files = std::make_shared<std::vector<std::string>>();
    exec->add_option("-e,--env", *env_entries, "Set environment variables (KEY=VALUE, or KEY to pass hutch's)")
        ->allow_extra_args(false)
        ->take_all();
    exec->add_option("--env-file", *env_files, "Read environment variables from a file")
        ->allow_extra_args(false)
        ->take_all();
    auto detach = std::make_shared<bool>(false);
    exec->add_flag("-d,--detach", *detach, "Run in the background (its output is discarded, as Docker's)");
    auto explain_flag = std::make_shared<bool>(false);
    exec->add_flag("--explain", *explain_flag, "Print each kernel-level step as the call it makes (stderr)");
    exec->callback([exec, &paths, &exit_code, request, detach, env_entries, env_files, explain_flag]() {
        require_run_privilege();
        interrupt::Scope start_scope;  // SIGINT/SIGTERM abandon the exec until it runs
        std::vector<std::string> rest = exec->remaining();
        if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') throw UsageError("unknown flag: " + rest[0]);
        if (rest.size() < 2)
            throw UsageError("\"hutch exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]");
        request->args.assign(rest.begin() + 1, rest.end());
        request->env = exec_env(*env_files, *env_entries);
        refuse_tty_without_terminal(request->tty, request->interactive && !*detach);
        refuse_detached_explain(*explain_flag, *detach, "exec -d");
        explain::enable(*explain_flag);
        if (*detach) {
            if (request->tty || request->interactive)
                throw UsageError("exec -d with -i or -t: a detached process has no terminal or input to attach");
            std::string container = rest[0];
            exit_code = in_monitor([&](int started) { return exec_in_container(paths, container, *request, started); });
            return;
        }
        exit_code = exec_in_container(paths, rest[0], *request);
    });
}

void add_inspect(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* inspect = app.add_subcommand("inspect", "Show containers as JSON (Docker's shape where it applies)");
    auto inspect_refs = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>();
    inspect->add_option("-f,--format", *format, "Format the output using a Go template: {{.NetworkSettings.IPAddress}}");
    inspect->add_option("CONTAINER", *inspect_refs, "Container names or ids")->required();
    inspect->callback([&paths, &exit_code, inspect_refs, format]() {
        // Parsed first: a bad template is refused before anything is read.
        std::optional<go_template::Template> tmpl;
        if (!format->empty()) tmpl.emplace(*format);
        nlohmann::json out = nlohmann::json::array();
        for (const auto& ref : *inspect_refs) out.push_back(inspect_json(paths, find_container(paths, ref)));
        if (format->empty()) {
            std::cout << out.dump(4) << std::endl;
        } else {
            for (const auto& one : out) std::cout << tmpl->render(one) << "\n";
        }
        exit_code = 0;
    });

    // `hutch port NAME [PORT[/PROTO]]`, as docker port prints it.
    auto* port = app.add_subcommand("port", "List port mappings of a container");
    auto port_args = std::make_shared<std::array<std::string, 2>>();
    port->add_option("CONTAINER", (*port_args)[0], "The container")->required();
    port->add_option("PRIVATE_PORT", (*port_args)[1], "Only this port of it: PORT[/PROTO] (tcp when left out)");
    set_usage(port, "CONTAINER [PRIVATE_PORT[/PROTO]]");
    port->callback([&paths, &exit_code, port_args]() {
        const ContainerState c = find_container(paths, port_args->at(0));
        std::string wanted = port_args->at(1);
        if (!wanted.empty() && wanted.find('/') == std::string::npos) wanted += "/tcp";
        bool found = false;
        for (const auto& p : c.ports) {
            if (!wanted.empty() && p.key() != wanted) continue;
            found = true;
            const std::string host = p.host_ip + ":" + std::to_string(p.host_port);
            std::printf("%s\n", wanted.empty() ? (p.key() + " -> " + host).c_str() : host.c_str());
        }
        if (!wanted.empty() && !found)
            throw UsageError("No public port '" + wanted + "' published for " + port_args->at(0));
        exit_code = 0;
    });
}

}  // namespace

void add_lifecycle_commands(CLI::App& app, const Paths& paths, int& exit_code) {
    add_kill_and_stop(app, paths, exit_code);
    add_pause_and_unpause(app, paths, exit_code);
    add_wait_and_logs(app, paths, exit_code);
    add_exec(app, paths, exit_code);
    add_inspect(app, paths, exit_code);
}

}  // namespace hutch::cli
