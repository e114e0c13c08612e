// A dockerd of the test's own (Debian's docker.io): its own data root, exec root, socket and
// daemon.json, no bridge, no iptables rules, no forwarding. It runs in new mount, network and pid
// namespaces (unshare), with a /run of its own: its mounts and files never reach the host,
// whatever it does to a network stays in a namespace nobody else uses, and it is the pid
// namespace's init, so the managed containerd it starts dies with it when the test kills it by
// its pid.
#pragma once

#include <memory>
#include <string>

#include "harness.hpp"

namespace hutch_it {

class DockerDaemon {
public:
    // Why no dockerd can run here ("" when it can), for GTEST_SKIP.
    static std::string missing();

    // Starts dockerd under `dir` (which must outlive it) and waits until it answers;
    // `extra_args` go to dockerd (--add-runtime, --cgroup-parent). `netns_setup`, a shell
    // command, runs first inside its namespaces (links and addresses a swarm manager needs).
    explicit DockerDaemon(const std::string& dir, const Strings& extra_args = {},
                          const std::string& netns_setup = "");
    ~DockerDaemon();  // SIGKILL to unshare: dockerd and its containerd die with their namespace
    DockerDaemon(const DockerDaemon&) = delete;
    DockerDaemon& operator=(const DockerDaemon&) = delete;

    bool ready() const { return ready_; }
    std::string log() const;  // dockerd's and containerd's output, for a failure's message
    // The Docker CLI of the same package against this daemon.
    Result docker(const Strings& args, std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

    const std::string& dir() const { return dir_; }
    // The host's pid of the unshare that holds its namespaces: every process of this dockerd
    // (containerd, shims, containers) descends from it.
    pid_t pid() const { return unshare_->pid(); }

private:
    std::string dir_;
    std::unique_ptr<Process> unshare_;
    bool ready_ = false;
};

}  // namespace hutch_it
