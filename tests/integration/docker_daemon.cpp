#include "docker_daemon.hpp"

#include <unistd.h>

#include <thread>

namespace hutch_it {
namespace {

constexpr const char* kDockerd = "/usr/sbin/dockerd";
constexpr const char* kDocker = "/usr/bin/docker";  // the client of the same package
constexpr const char* kUnshare = "/usr/bin/unshare";

}  // namespace

std::string DockerDaemon::missing() {
    for (const char* tool : {kDockerd, kDocker, "/usr/bin/containerd", kUnshare})
        if (::access(tool, X_OK) != 0)
            return std::string(tool) + " is not installed (Debian's docker.io; scripts/setup installs it)";
    return "";
}

DockerDaemon::DockerDaemon(const std::string& dir, const Strings& extra_args, const std::string& netns_setup)
    : dir_(dir) {
    // An empty daemon.json: nothing of the host's /etc/docker applies.
    write_file(dir_ + "/daemon.json", "{}\n");
    // The output goes to a file: dockerd writes more than a pipe nobody reads can hold.
    Strings argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" >\"$LOG\" 2>&1", kUnshare,
                    "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--"};
    // dockerd makes /run/docker/plugins whatever its exec root: a tmpfs of its own mount
    // namespace over /run keeps that off the host.
    std::string setup = "mount -t tmpfs -o mode=0755 hutch-it-run /run";
    // And over /opt: the opt plugin of dockerd's containerd makes /opt/containerd.
    setup += " && mount -t tmpfs -o mode=0755 hutch-it-opt /opt";
    if (!netns_setup.empty()) setup += " && " + netns_setup;
    argv.insert(argv.end(), {"/bin/sh", "-c", setup + " && exec \"$0\" \"$@\""});
    argv.insert(argv.end(), {kDockerd, "--config-file", dir_ + "/daemon.json", "--data-root", dir_ + "/data",
                    "--exec-root", dir_ + "/exec", "--host", "unix://" + dir_ + "/docker.sock",
                    "--pidfile", dir_ + "/docker.pid", "--bridge", "none", "--iptables=false", "--ip-forward=false",
                    "--ip-masq=false", "--log-level", "warn"});
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    SpawnOptions options;
    options.extra_env = {"LOG=" + dir_ + "/dockerd.log"};
    options.die_with_test = true;
    unshare_ = std::make_unique<Process>(Process::spawn(argv, options));
    for (int i = 0; i < 120 && !ready_; ++i) {
        ready_ = docker({"version", "--format", "{{.Server.Version}}"}, std::chrono::seconds(5)).code == 0;
        if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

DockerDaemon::~DockerDaemon() = default;  // unshare_'s destructor: SIGKILL to its pid, reaped

std::string DockerDaemon::log() const { return read_file(dir_ + "/dockerd.log"); }

Result DockerDaemon::docker(const Strings& args, std::chrono::milliseconds timeout) const {
    Strings argv = {kDocker, "--host", "unix://" + dir_ + "/docker.sock"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {}, timeout);
}

}  // namespace hutch_it
