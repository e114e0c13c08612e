// Engines driving hutch-oci: a dockerd of the test's own (Debian's docker.io,
// tests/integration/docker_daemon.hpp) with hutch-oci added as the runtime "hutch" beside its
// runc. Every check runs under both runtimes and the test asserts the same observable result:
// what the container sees (capabilities, limits in its cgroup files, a read-only root, its
// devices, HOME), the exit codes Docker derives from the runtime's words (126, 127), and the
// lifecycle Docker drives (run -d, exec, logs, pause/unpause, stop, kill, rm).
// Not compared: --privileged, which runc itself cannot start on a machine whose bounding set
// lacks capabilities ("unable to apply caps"), as these sandboxes are.
#include <unistd.h>

#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "docker_daemon.hpp"
#include "harness.hpp"
#include "image_archives.hpp"

namespace hutch_it {
namespace {

using namespace std::chrono_literals;

constexpr const char* kImage = "hutch-it/busybox:engines";

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
        dockerd_ = std::make_unique<DockerDaemon>(
            dir_.path(), Strings{"--add-runtime", "hutch=" + oci_binary_, "--cgroup-parent", "/" + cgroup_parent_});
        ASSERT_TRUE(dockerd_->ready()) << "dockerd did not answer:\n" << dockerd_->log();
        write_file(dir_ / "rootfs.tar", tar_of_directory(rootfs_));
        ASSERT_EXIT_CODE(docker({"import", dir_ / "rootfs.tar", kImage}), 0);
    }

    void TearDown() override {
        if (dockerd_ && dockerd_->ready()) {
            Result ids = docker({"ps", "-aq"});
            for (const auto& id : split_lines(ids.out)) docker({"rm", "-f", id});
        }
        dockerd_.reset();  // its namespace, and every process in it, gone
        for (const auto& hierarchy : list_dir("/sys/fs/cgroup")) remove_cgroup_tree("/sys/fs/cgroup/" + hierarchy + "/" + cgroup_parent_);
        remove_cgroup_tree("/sys/fs/cgroup/" + cgroup_parent_);
    }

    // Empty cgroups, deepest first (their processes died with dockerd's pid namespace).
    static void remove_cgroup_tree(const std::string& dir) {
        if (::access(dir.c_str(), F_OK) != 0) return;
        for (const auto& e : list_dir(dir))
            if (::access((dir + "/" + e + "/cgroup.procs").c_str(), F_OK) == 0) remove_cgroup_tree(dir + "/" + e);
        for (int i = 0; i < 50 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(100ms);
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

}  // namespace
}  // namespace hutch_it
