// Engines driving hutch-oci: a dockerd of the test's own (Debian's docker.io,
// tests/integration/docker_daemon.hpp) with hutch-oci added as the runtime "hutch" beside its
// runc. Every check runs under both runtimes and the test asserts the same observable result:
// what the container sees (capabilities, limits in its cgroup files, a read-only root, its
// devices, HOME), the exit codes Docker derives from the runtime's words (126, 127), and the
// lifecycle Docker drives (run -d, exec, logs, pause/unpause, stop, kill, rm).
// Not compared: --privileged, which runc itself cannot start on a machine whose bounding set
// lacks capabilities ("unable to apply caps"), as these sandboxes are.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "docker_daemon.hpp"
#include "harness.hpp"
#include "image_archives.hpp"

namespace hutch_it {
namespace {

using namespace std::chrono_literals;

constexpr const char* kImage = "hutch-it/busybox:engines";

// Empty cgroups, deepest first (their processes died with the engine's pid namespace). Only ever
// below a test's own parent, named hutch-it-engines-...
void remove_cgroup_tree(const std::string& dir) {
    if (dir.find("/hutch-it-engines-") == std::string::npos) throw std::logic_error("not a test cgroup: " + dir);
    if (::access(dir.c_str(), F_OK) != 0) return;
    for (const auto& e : list_dir(dir))
        if (::access((dir + "/" + e + "/cgroup.procs").c_str(), F_OK) == 0) remove_cgroup_tree(dir + "/" + e);
    for (int i = 0; i < 50 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(100ms);
}

class DockerEngineIntegration : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        if (std::string why = DockerDaemon::missing(); !why.empty()) GTEST_SKIP() << why;
        rootfs_ = test_rootfs();
        if (rootfs_.empty()) GTEST_SKIP() << rootfs_skip_reason();
        oci_binary_ = hutch_binary().substr(0, hutch_binary().rfind('/')) + "/hutch-oci";
        // The containers' cgroups go below a parent of this test's own, removed at the end.
        cgroup_parent_ = "hutch-it-engines-" + std::to_string(::getpid());
        Strings daemon_args = {"--add-runtime", "hutch=" + oci_binary_, "--cgroup-parent", "/" + cgroup_parent_};
        for (const auto& a : extra_daemon_args()) daemon_args.push_back(a);
        dockerd_ = std::make_unique<DockerDaemon>(dir_.path(), daemon_args, netns_setup());
        ASSERT_TRUE(dockerd_->ready()) << "dockerd did not answer:\n" << dockerd_->log();
        write_file(dir_ / "rootfs.tar", tar_of_directory(rootfs_));
        ASSERT_EXIT_CODE(docker({"import", dir_ / "rootfs.tar", kImage}), 0);
    }

    // More of dockerd's flags, for a fixture of its own (--default-runtime).
    virtual Strings extra_daemon_args() const { return {}; }
    // A shell command run in dockerd's network namespace before it starts (DockerDaemon).
    virtual std::string netns_setup() const { return ""; }

    void TearDown() override {
        if (dockerd_ && dockerd_->ready()) {
            Result ids = docker({"ps", "-aq"});
            for (const auto& id : split_lines(ids.out)) docker({"rm", "-f", id});
        }
        dockerd_.reset();  // its namespace, and every process in it, gone
        // A SetUp that skipped before naming the parent has no cgroup to remove: an empty name
        // would make the paths below the hierarchies' roots, the machine's own cgroups.
        if (cgroup_parent_.empty()) return;
        for (const auto& hierarchy : list_dir("/sys/fs/cgroup")) remove_cgroup_tree("/sys/fs/cgroup/" + hierarchy + "/" + cgroup_parent_);
        remove_cgroup_tree("/sys/fs/cgroup/" + cgroup_parent_);
    }

    Result docker(const Strings& args) { return dockerd_->docker(args); }

    // `docker run --rm --runtime RUNTIME --network none OPTS IMAGE CMD...`
    Result run(const std::string& runtime, const Strings& opts, const Strings& cmd) {
        Strings args = {"run", "--rm", "--runtime", runtime, "--network", "none"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(kImage);
        args.insert(args.end(), cmd.begin(), cmd.end());
        return docker(args);
    }

    // What a container of `runtime` shows for each check: its output and exit code.
    std::map<std::string, std::string> observe(const std::string& runtime) {
        const Strings sh = {"sh", "-c"};
        auto script = [&](const std::string& s) { Strings c = sh; c.push_back(s); return c; };
        struct Check {
            std::string name;
            Strings opts, cmd;
        };
        const std::string limits =
            "for f in memory.max memory/memory.limit_in_bytes pids.max pids/pids.max cpu.max cpu/cpu.cfs_quota_us; do "
            "[ -r /sys/fs/cgroup/$f ] && echo $f $(cat /sys/fs/cgroup/$f); done";
        const std::vector<Check> checks = {
            {"default capabilities", {}, script("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status")},
            {"cap-drop ALL, cap-add NET_RAW", {"--cap-drop", "ALL", "--cap-add", "NET_RAW"},
             script("grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status")},
            {"limits seen inside", {"--memory", "64m", "--pids-limit", "50", "--cpus", "1.5"}, script(limits)},
            {"read-only root", {"--read-only"}, script("touch /x; echo $?; touch /tmp/x; echo $?")},
            {"devices", {}, script("ls /dev | sort | tr '\\n' ' '; head -c 1 /dev/kmsg; echo $?")},
            {"user", {"--user", "1000:1000"}, {"id"}},
            {"no-new-privileges", {"--security-opt", "no-new-privileges"}, script("grep NoNewPrivs /proc/self/status")},
            {"seccomp", {}, script("grep Seccomp: /proc/self/status; unshare -U true; echo $?")},
            {"hostname", {"--hostname", "box"}, {"hostname"}},
            {"exit status", {}, script("exit 3")},
            {"command not found: 127", {}, {"/no/such/command"}},
            {"not executable: 126", {}, {"/etc/passwd"}},
            {"environment", {"-e", "FOO=bar"}, script("env | grep -v HOSTNAME | sort")},
        };
        std::map<std::string, std::string> seen;
        for (const auto& c : checks) {
            Result r = run(runtime, c.opts, c.cmd);
            // Docker's own message for 126/127 names the runtime's error: only the code matters.
            seen[c.name] = "exit " + std::to_string(r.code) + (r.code >= 125 && r.code <= 127 ? "" : "\n" + r.out);
        }
        return seen;
    }

    TempDir dir_;
    std::string rootfs_, oci_binary_, cgroup_parent_;
    std::unique_ptr<DockerDaemon> dockerd_;
};

TEST_F(DockerEngineIntegration, RunShowsWhatRuncShows) {
    auto runc = observe("runc");
    auto hutch = observe("hutch");
    for (const auto& [check, expected] : runc) EXPECT_EQ(hutch[check], expected) << "check: " << check;
    // The checks themselves must have run: runc's answers are the ones Docker documents.
    EXPECT_EQ(runc["command not found: 127"], "exit 127");
    EXPECT_EQ(runc["not executable: 126"], "exit 126");
    EXPECT_NE(runc["limits seen inside"].find("50"), std::string::npos) << runc["limits seen inside"];
}

// The lifecycle Docker drives through the runtime: create, start, exec, pause and resume,
// kill with SIGTERM (stop) and SIGKILL, delete; the runtime's state root is empty at the end.
TEST_F(DockerEngineIntegration, DetachedLifecycle) {
    Result started = docker({"run", "-d", "--runtime", "hutch", "--network", "none", "--name", "ticker", kImage, "sh", "-c",
                             "trap 'exit 7' TERM; while :; do echo tick; sleep 0.05; done"});
    ASSERT_EXIT_CODE(started, 0) << dockerd_->log();
    const std::string id = trim(started.out);
    Result exec = docker({"exec", "ticker", "hostname"});
    EXPECT_EXIT_CODE(exec, 0);
    EXPECT_EQ(exec.out, id.substr(0, 12) + "\n");
    // Docker 20.10 maps any failed exec start to 126, runc's as well (measured by hand).
    EXPECT_EQ(docker({"exec", "ticker", "/no/such/command"}).code, 126);
    EXPECT_EQ(docker({"exec", "ticker", "sh", "-c", "exit 5"}).code, 5);
    EXPECT_EQ(docker({"exec", "ticker", "sh", "-c", "echo $HOME"}).out, "/root\n") << "runc's HOME";
    auto ticks = [&] { return split_lines(docker({"logs", "ticker"}).out).size(); };
    auto grows = [&] {
        std::size_t before = ticks();
        std::this_thread::sleep_for(400ms);
        return ticks() > before;
    };
    EXPECT_TRUE(grows());

    Result pause = docker({"pause", "ticker"});
    ASSERT_EXIT_CODE(pause, 0) << dockerd_->log();
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}}", "ticker"}).out, "paused\n");
    EXPECT_FALSE(grows()) << "a paused container went on";
    ASSERT_EXIT_CODE(docker({"unpause", "ticker"}), 0);
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}}", "ticker"}).out, "running\n");
    EXPECT_TRUE(grows()) << "an unpaused container stayed stopped";

    ASSERT_EXIT_CODE(docker({"stop", "-t", "5", "ticker"}), 0);
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.ExitCode}}", "ticker"}).out, "7\n") << "SIGTERM reached the trap";
    // Started again: a new runtime container under the same id.
    ASSERT_EXIT_CODE(docker({"start", "ticker"}), 0);
    ASSERT_EXIT_CODE(docker({"kill", "ticker"}), 0);
    EXPECT_EQ(docker({"wait", "ticker"}).out, "137\n");
    ASSERT_EXIT_CODE(docker({"rm", "ticker"}), 0);
    EXPECT_EQ(list_dir(dir_ / "exec/runtime-hutch/moby"), Strings{}) << "hutch-oci's state root keeps a container";
}

// What a two-service compose file makes: a user-defined bridge network (inside dockerd's own
// network namespace), where one container reaches another by its name through Docker's embedded
// DNS (set up by dockerd's prestart hook, which hutch-oci runs), under both runtimes.
TEST_F(DockerEngineIntegration, UserNetworkReachesAPeerByName) {
    ASSERT_EXIT_CODE(docker({"network", "create", "lab"}), 0) << dockerd_->log();
    for (const std::string runtime : {"runc", "hutch"}) {
        const std::string web = "web-" + runtime;
        ASSERT_EXIT_CODE(docker({"run", "-d", "--name", web, "--network", "lab", "--runtime", runtime, kImage, "nc", "-ll",
                                 "-p", "80", "-e", "echo", "hello from " + web}),
                         0);
        Result reply;
        for (int i = 0; i < 20; ++i) {
            reply = docker({"run", "--rm", "--network", "lab", "--runtime", runtime, kImage, "nc", "-w", "2", web, "80"});
            if (reply.code == 0 && !reply.out.empty()) break;
            std::this_thread::sleep_for(100ms);
        }
        EXPECT_EQ(reply.out, "hello from " + web + "\n") << runtime << ": " << describe(reply);
        Result address = docker({"inspect", "-f", "{{.NetworkSettings.Networks.lab.IPAddress}}", web});
        Result seen = docker({"exec", web, "ip", "-4", "-o", "addr", "show", "eth0"});
        EXPECT_NE(seen.out.find(trim(address.out) + "/"), std::string::npos) << runtime << ": " << seen.out;
    }
}

// The queue pipeline (examples/queue-pipeline) under an engine: a dockerd whose default runtime
// is hutch-oci, given the image the example builds. Compose and swarm each drive it with the
// example's own file.
class QueuePipelineEngine : public DockerEngineIntegration {
protected:
    Strings extra_daemon_args() const override { return {"--default-runtime", "hutch"}; }

    void SetUp() override {
        // The image's root, made (or found in the cache) as the example's own test makes it.
        Result built = run_command({example_ + "/build", "--rootfs-only"}, {}, 600s);
        if (built.code == 77) GTEST_SKIP() << "Debian's mirror or the npm registry cannot be reached: " << built.err;
        ASSERT_EXIT_CODE(built, 0);
        image_root_ = trim(built.out);
        DockerEngineIntegration::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        ASSERT_EXIT_CODE(run_command({"tar", "-C", image_root_, "-cf", dir_ / "qp.tar", "."}, {}, 120s), 0);
        ASSERT_EXIT_CODE(docker({"import", dir_ / "qp.tar", "queue-pipeline:latest"}), 0);
    }

    std::string inspect(const std::string& name, const std::string& format) {
        return trim(docker({"inspect", "-f", format, name}).out);
    }

    // The host's pid of the process this fixture's dockerd knows as `pid` (dockerd runs in a pid
    // namespace of its own): the one whose NSpid line has `pid` as its second field and that
    // descends from this dockerd's unshare. Another test's dockerd has the same small pids. 0
    // when none.
    pid_t host_pid_of(pid_t pid) const {
        for (const auto& entry : list_dir("/proc")) {
            if (entry.find_first_not_of("0123456789") != std::string::npos) continue;
            Strings fields;
            std::istringstream in(status_field(read_file("/proc/" + entry + "/status"), "NSpid"));
            for (std::string f; in >> f;) fields.push_back(f);
            if (fields.size() < 3 || fields[1] != std::to_string(pid)) continue;
            for (pid_t p = std::stoi(entry); p > 1;) {
                if (p == dockerd_->pid()) return std::stoi(entry);
                std::string ppid = status_field(read_file("/proc/" + std::to_string(p) + "/status"), "PPid");
                p = ppid.empty() ? 0 : std::stoi(ppid);
            }
        }
        return 0;
    }

    // SIGKILL from the host to the container's first process, as a crash looks to the engine
    // (a docker kill would be a user's stop, which no policy undoes).
    void crash(const std::string& container) {
        const pid_t in_dockerd = std::stoi(inspect(container, "{{.State.Pid}}"));
        const pid_t host_pid = host_pid_of(in_dockerd);
        ASSERT_GT(host_pid, 0) << "no host pid for " << in_dockerd;
        ASSERT_EQ(::kill(host_pid, SIGKILL), 0);
    }

    // The queue's counts and completed ids (worker.js stats), from a container on `network`;
    // true once `jobs` are completed and none waits or is active.
    bool settled(const std::string& network, std::size_t jobs, std::string& stats) {
        Result r = docker({"run", "--rm", "--network", network, "-e", "QUEUE_HOST=redis", "queue-pipeline:latest", "node",
                           "/app/worker.js", "stats"});
        stats = r.out + r.err;
        nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
        return !j.is_discarded() && j["completed"].size() == jobs && j["counts"]["waiting"] == 0 &&
               j["counts"]["active"] == 0;
    }

    bool poll(const std::function<bool()>& done, std::chrono::seconds timeout) {
        for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;) {
            if (done()) return true;
            std::this_thread::sleep_for(300ms);
        }
        return false;
    }

    const std::string example_ = std::string(HUTCH_SOURCE_DIR) + "/examples/queue-pipeline";
    std::string image_root_;
};

// Debian's docker-compose with the example's docker-compose.yml: every container of the stack
// runs under hutch-oci; a receiver killed from the host mid-run is restarted by dockerd's policy;
// every job is processed; `down` leaves nothing.
class ComposeEngineIntegration : public QueuePipelineEngine {
protected:
    void SetUp() override {
        if (::access("/usr/bin/docker-compose", X_OK) != 0)
            GTEST_SKIP() << "no /usr/bin/docker-compose (Debian's docker-compose, installed by scripts/setup)";
        QueuePipelineEngine::SetUp();
    }

    void TearDown() override {
        if (dockerd_ && dockerd_->ready()) compose({"down", "--remove-orphans"});
        QueuePipelineEngine::TearDown();
    }

    Result compose(const Strings& args) {
        Strings argv = {"/usr/bin/docker-compose", "--compatibility", "-p", "qp", "-f", example_ + "/docker-compose.yml"};
        argv.insert(argv.end(), args.begin(), args.end());
        SpawnOptions env;
        env.extra_env = {"DOCKER_HOST=unix://" + dir_ / "docker.sock", "JOBS=6", "INTERVAL_MS=300", "HOLD_MS=1500", "LOCK_MS=2000"};
        return run_command(argv, env, 180s);
    }
};

// A single-node swarm (`docker swarm init`) with the example's docker-stack.yml, deployed by
// `docker stack deploy` on an overlay network: every task runs under hutch-oci; a receiver
// killed from the host is replaced by a new task; every job is processed; `docker stack rm`
// leaves no container or network. The swarm's addresses are on a veth pair in dockerd's own
// network namespace, which nothing else shares.
class SwarmEngineIntegration : public QueuePipelineEngine {
protected:
    std::string netns_setup() const override {
        return "ip link set lo up && ip link add qp0 type veth peer name qp1 && ip addr add 10.231.0.1/24 dev qp0 && "
               "ip link set qp1 up && ip link set qp0 up";
    }

    void TearDown() override {
        if (dockerd_ && dockerd_->ready()) {
            docker({"stack", "rm", "qp"});
            docker({"swarm", "leave", "--force"});
        }
        QueuePipelineEngine::TearDown();
    }

    Result stack(const Strings& args) {
        Strings argv = {"/usr/bin/docker", "--host", "unix://" + dir_ / "docker.sock", "stack"};
        argv.insert(argv.end(), args.begin(), args.end());
        SpawnOptions env;
        env.extra_env = {"JOBS=6", "INTERVAL_MS=300", "HOLD_MS=1500", "LOCK_MS=2000"};
        return run_command(argv, env, 120s);
    }

    // The service's tasks as "NAME STATE" lines, newest first.
    Strings tasks(const std::string& service) {
        return split_lines(docker({"service", "ps", "--format", "{{.Name}} {{.CurrentState}}", service}).out);
    }
    Strings containers(const std::string& service) {
        return split_lines(docker({"ps", "-q", "--filter", "label=com.docker.swarm.service.name=" + service}).out);
    }
};

TEST_F(ComposeEngineIntegration, TheQueuePipelineRunsUnderDockerComposeOnHutch) {
    Result up = compose({"up", "-d"});
    ASSERT_EXIT_CODE(up, 0);
    const Strings services = {"qp_redis_1", "qp_receiver_1", "qp_receiver_2", "qp_sender_1"};
    for (const auto& name : services) EXPECT_EQ(inspect(name, "{{.HostConfig.Runtime}}"), "hutch") << name;
    // The least privilege the compose file asks for, as hutch-oci gave it.
    EXPECT_EQ(inspect("qp_receiver_1", "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}} {{.HostConfig.Memory}} "
                                       "{{.HostConfig.PidsLimit}}"),
              "true 65534:65534 56623104 22");

    // A crash of receiver 1: dockerd restarts it.
    ASSERT_TRUE(poll([&] { return inspect("qp_receiver_1", "{{.State.Status}}") == "running"; }, 30s));
    crash("qp_receiver_1");
    EXPECT_TRUE(poll([&] { return inspect("qp_receiver_1", "{{.RestartCount}} {{.State.Status}}") == "1 running"; }, 30s))
        << inspect("qp_receiver_1", "{{.RestartCount}} {{.State.Status}}");

    EXPECT_TRUE(poll([&] { return inspect("qp_sender_1", "{{.State.Status}}") == "exited"; }, 60s));
    EXPECT_EQ(inspect("qp_sender_1", "{{.State.ExitCode}}"), "0") << docker({"logs", "qp_sender_1"}).err;
    std::string stats;
    EXPECT_TRUE(poll([&] { return settled("qp_queue_network", 6, stats); }, 60s))
        << stats << docker({"logs", "qp_receiver_1"}).out << docker({"logs", "qp_receiver_2"}).out;
    EXPECT_NE(stats.find("\"failed\":0"), std::string::npos) << stats;

    ASSERT_EXIT_CODE(compose({"down"}), 0);
    EXPECT_EQ(trim(docker({"ps", "-aq"}).out), "");
    EXPECT_EQ(docker({"network", "ls", "-q", "--filter", "name=qp_queue_network"}).out, "");
}

TEST_F(SwarmEngineIntegration, TheQueuePipelineRunsAsASwarmStackOnHutch) {
    ASSERT_EXIT_CODE(docker({"swarm", "init", "--advertise-addr", "10.231.0.1", "--listen-addr", "10.231.0.1:2377"}), 0)
        << dockerd_->log();
    Result deployed = stack({"deploy", "-c", example_ + "/docker-stack.yml", "qp"});
    ASSERT_EXIT_CODE(deployed, 0);
    EXPECT_EQ(inspect("qp_queue_network", "{{.Driver}} {{.Scope}}"), "overlay swarm");
    ASSERT_TRUE(poll([&] { return containers("qp_receiver").size() == 2 && containers("qp_redis").size() == 1; }, 60s))
        << docker({"service", "ps", "qp_receiver"}).out;
    for (const auto& service : {"qp_redis", "qp_receiver"})
        for (const auto& id : containers(service)) {
            EXPECT_EQ(inspect(id, "{{.HostConfig.Runtime}}"), "hutch") << service;
            EXPECT_EQ(inspect(id, "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}} {{.HostConfig.CapDrop}}"),
                      "true 65534:65534 [ALL]") << service;
        }
    // redis is published in host mode: the "host" (dockerd's namespace) sees it on 6379.
    const std::string redis = containers("qp_redis").front();
    EXPECT_NE(inspect(redis, "{{json .NetworkSettings.Ports}}").find("\"HostPort\":\"6379\""), std::string::npos);

    // A receiver crashes: swarm replaces its task with a new container.
    const std::string victim = containers("qp_receiver").front();
    crash(victim);
    EXPECT_TRUE(poll([&] {
        Strings now = containers("qp_receiver");
        return now.size() == 2 && std::find(now.begin(), now.end(), victim) == now.end();
    }, 60s)) << docker({"service", "ps", "qp_receiver"}).out;
    Strings history = tasks("qp_receiver");
    EXPECT_EQ(std::count_if(history.begin(), history.end(), [](const std::string& t) { return t.find(" Failed ") != std::string::npos; }), 1)
        << docker({"service", "ps", "--no-trunc", "qp_receiver"}).out;

    std::string stats;
    EXPECT_TRUE(poll([&] { return settled("qp_queue_network", 6, stats); }, 60s))
        << stats << docker({"service", "logs", "qp_receiver"}).out << docker({"service", "logs", "qp_sender"}).out;
    EXPECT_NE(stats.find("\"failed\":0"), std::string::npos) << stats;

    ASSERT_EXIT_CODE(stack({"rm", "qp"}), 0);
    EXPECT_TRUE(poll([&] { return trim(docker({"ps", "-aq"}).out).empty(); }, 60s)) << docker({"ps", "-a"}).out;
    EXPECT_TRUE(poll([&] { return docker({"network", "ls", "-q", "--filter", "name=qp_queue_network"}).out.empty(); }, 30s));
}

}  // namespace
}  // namespace hutch_it

namespace hutch_it {
namespace {

// containerd (Debian's) driving hutch-oci through its runc shim (containerd-shim-runc-v2), as
// `ctr run --runc-binary` and Kubernetes' CRI do: a containerd of the test's own (its root,
// state and socket; CRI off) in new mount, network and pid namespaces with a /run of its own, so
// neither it nor its shims reach the host's. Each check runs under runc and under hutch-oci and
// the test asserts the same observable result; the containers' cgroups go below a parent of the
// test's own, removed at the end.
class ContainerdEngineIntegration : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        for (const char* tool : {kContainerd, kCtr, "/usr/bin/containerd-shim-runc-v2", "/usr/bin/unshare", "/usr/bin/runc"})
            if (::access(tool, X_OK) != 0)
                GTEST_SKIP() << tool << " is not installed (Debian's containerd and runc; scripts/setup installs them)";
        rootfs_ = test_rootfs();
        if (rootfs_.empty()) GTEST_SKIP() << rootfs_skip_reason();
        oci_binary_ = hutch_binary().substr(0, hutch_binary().rfind('/')) + "/hutch-oci";
        cgroup_parent_ = "hutch-it-engines-ctr-" + std::to_string(::getpid());
        host_had_fifo_dir_ = path_exists("/run/containerd/fifo");
        socket_ = dir_ / "containerd.sock";
        write_file(dir_ / "config.toml", "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n");
        Strings argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" >\"$LOG\" 2>&1", "/usr/bin/unshare", "--mount", "--net", "--pid",
                        "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--", "/bin/sh", "-c",
                        // /opt too: containerd's opt plugin makes /opt/containerd.
                        "mount -t tmpfs -o mode=0755 hutch-it-run /run && mount -t tmpfs -o mode=0755 hutch-it-opt /opt && "
                        "exec \"$0\" \"$@\"",
                        kContainerd, "--config",
                        dir_ / "config.toml", "--root", dir_ / "root", "--state", dir_ / "state", "--address", socket_,
                        "--log-level", "warn"};
        SpawnOptions options;
        options.extra_env = {"LOG=" + dir_ / "containerd.log"};
        options.die_with_test = true;
        containerd_ = std::make_unique<Process>(Process::spawn(argv, options));
        bool ready = false;
        for (int i = 0; i < 80 && !ready; ++i) {
            ready = ctr({"version"}).code == 0;
            if (!ready) std::this_thread::sleep_for(250ms);
        }
        ASSERT_TRUE(ready) << "containerd did not answer:\n" << read_file(dir_ / "containerd.log");
    }

    void TearDown() override {
        // A test that failed between pause and resume leaves a frozen cgroup, where a v1 freezer
        // would keep the SIGKILL below pending: thawed first.
        if (!cgroup_parent_.empty())
            for (const auto& dir : split_lines(run_command({"/usr/bin/find", "/sys/fs/cgroup", "-path", "*/" + cgroup_parent_ + "/*",
                                                            "-name", "freezer.state", "-o", "-path", "*/" + cgroup_parent_ + "/*",
                                                            "-name", "cgroup.freeze"}).out))
                write_file(dir, dir.ends_with("freezer.state") ? "THAWED" : "0");
        containerd_.reset();  // SIGKILL to unshare: containerd, its shims and containers die with it
        if (cgroup_parent_.empty()) return;
        for (const auto& hierarchy : list_dir("/sys/fs/cgroup"))
            remove_cgroup_tree("/sys/fs/cgroup/" + hierarchy + "/" + cgroup_parent_);
        remove_cgroup_tree("/sys/fs/cgroup/" + cgroup_parent_);
    }

    Result ctr(const Strings& args, std::chrono::milliseconds timeout = 60s) {
        Strings argv = {kCtr, "--address", socket_};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, {}, timeout);
    }

    // `ctr run OPTS --read-only --rootfs ROOTFS ID CMD...` with `runtime` ("runc" or hutch-oci's
    // path) as the shim's runc binary, in a cgroup below the test's parent.
    Strings run_args(const std::string& runtime, const std::string& id, const Strings& opts, const Strings& cmd) {
        // A --rootfs container has no image config: no PATH unless given. The stdio fifos go in
        // the test's dir: ctr's default, /run/containerd/fifo, would be the host's /run.
        Strings args = {"run", "--fifo-dir", dir_ / "fifo", "--runc-binary", runtime == "runc" ? "/usr/bin/runc" : oci_binary_, "--cgroup",
                        "/" + cgroup_parent_ + "/" + id, "--env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "--read-only",
                        "--rootfs"};
        args.insert(args.begin() + 1, opts.begin(), opts.end());
        args.push_back(rootfs_);
        args.push_back(id);
        args.insert(args.end(), cmd.begin(), cmd.end());
        return args;
    }

    static constexpr const char* kContainerd = "/usr/bin/containerd";
    static constexpr const char* kCtr = "/usr/bin/ctr";
    TempDir dir_;
    std::string rootfs_, oci_binary_, cgroup_parent_, socket_;
    std::unique_ptr<Process> containerd_;
    bool host_had_fifo_dir_ = false;  // a containerd of the machine's own uses it
};

// `ctr run --rm`: what the container sees (capabilities, a read-only root, its devices, its
// environment) and the exit status ctr returns are runc's under hutch-oci.
TEST_F(ContainerdEngineIntegration, CtrRunShowsWhatRuncShows) {
    const std::string script =
        "grep -E '^Cap(Prm|Eff|Bnd)|^NoNewPrivs|^Seccomp:' /proc/self/status; touch /x 2>/dev/null; echo ro $?; "
        "ls /dev | sort | tr '\\n' ' '; echo; env | grep -v -e HOSTNAME -e '^_=' | sort; exit 3";
    std::map<std::string, Result> seen;
    for (const std::string runtime : {"runc", "hutch"}) {
        seen[runtime] = ctr(run_args(runtime, "once-" + runtime, {"--rm"}, {"sh", "-c", script}));
        EXPECT_EQ(seen[runtime].code, 3) << runtime << ": " << describe(seen[runtime]) << read_file(dir_ / "containerd.log");
    }
    EXPECT_EQ(seen["hutch"].out, seen["runc"].out);
    EXPECT_NE(seen["runc"].out.find("ro 1\n"), std::string::npos) << seen["runc"].out;
    EXPECT_EQ(ctr({"containers", "ls", "-q"}).out, "") << "--rm left a container";
    if (!host_had_fifo_dir_) {
        EXPECT_FALSE(path_exists("/run/containerd/fifo")) << "ctr wrote into the host's /run";
    }
}

// The lifecycle containerd drives through the shim: create and start (run -d), exec, pause and
// resume (the task's status is the runtime's state), kill, delete; hutch-oci's state root
// (the shim's runc root, in containerd's /run) keeps nothing afterwards.
TEST_F(ContainerdEngineIntegration, CtrTaskLifecycle) {
    for (const std::string runtime : {"runc", "hutch"}) {
        SCOPED_TRACE(runtime);
        const std::string id = "ticker-" + runtime;
        Result started = ctr(run_args(runtime, id, {"-d"}, {"sh", "-c", "while :; do sleep 0.05; done"}));
        ASSERT_EXIT_CODE(started, 0) << read_file(dir_ / "containerd.log");
        auto status = [&] {
            for (const auto& line : split_lines(ctr({"task", "ls"}).out))
                if (line.rfind(id + " ", 0) == 0) return line.substr(line.find_last_of(' ') + 1);
            return std::string("(none)");
        };
        EXPECT_EQ(status(), "RUNNING");
        Result exec = ctr({"task", "exec", "--fifo-dir", dir_ / "fifo", "--exec-id", "e1", id, "sh", "-c", "echo in-$((1 + 2)); exit 4"});
        EXPECT_EQ(exec.code, 4) << describe(exec);
        EXPECT_EQ(exec.out, "in-3\n");
        ASSERT_EXIT_CODE(ctr({"task", "pause", id}), 0);
        EXPECT_EQ(status(), "PAUSED");
        ASSERT_EXIT_CODE(ctr({"task", "resume", id}), 0);
        EXPECT_EQ(status(), "RUNNING");
        ASSERT_EXIT_CODE(ctr({"task", "kill", "--signal", "SIGKILL", id}), 0);
        for (int i = 0; i < 100 && status() != "STOPPED"; ++i) std::this_thread::sleep_for(50ms);
        EXPECT_EQ(status(), "STOPPED");
        EXPECT_EXIT_CODE(ctr({"task", "rm", id}), 0);
        EXPECT_EXIT_CODE(ctr({"containers", "rm", id}), 0);
        EXPECT_EQ(status(), "(none)");
    }
}

}  // namespace
}  // namespace hutch_it
