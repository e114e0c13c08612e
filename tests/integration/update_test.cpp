// `hutch update`: a running container's limits change in its cgroups (read from inside and from
// the host), in inspect and for a later start; a container started without limits on a hybrid
// host is moved into the v1 cgroup a new limit needs, and nothing of it is left after rm -f;
// bad input is one line, exit 125, and changes nothing.
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

// The cgroup v1 hierarchy named `controller` (/sys/fs/cgroup/<controller>), or "" when this host
// does not mount one there.
std::string v1_mount(const std::string& controller) {
    std::string point = "/sys/fs/cgroup/" + controller;
    std::string line = mountinfo_line(host_mountinfo(), point);
    return !line.empty() && mount_fstype(line) == "cgroup" ? point : "";
}

// The cgroup of `pid` in the v1 hierarchy of `controller`, from /proc/<pid>/cgroup ("/a/b").
std::string v1_cgroup_of(pid_t pid, const std::string& controller) {
    for (const auto& line : split_lines(read_file("/proc/" + std::to_string(pid) + "/cgroup"))) {
        auto first = line.find(':'), second = line.find(':', first + 1);
        if (second != std::string::npos && line.substr(first + 1, second - first - 1) == controller)
            return line.substr(second + 1);
    }
    return "";
}

// Every directory named `id` under /sys/fs/cgroup, in any hierarchy.
Strings cgroups_named(const std::string& id) {
    namespace fs = std::filesystem;
    Strings out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it("/sys/fs/cgroup", fs::directory_options::skip_permission_denied, ec), end;
         it != end; it.increment(ec)) {
        if (ec) break;
        if (it->is_directory(ec) && it->path().filename() == id) out.push_back(it->path());
    }
    return out;
}

class UpdateIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        if (v1_mount("memory").empty() || v1_mount("pids").empty())
            GTEST_SKIP() << "this host mounts no cgroup v1 memory and pids hierarchies under /sys/fs/cgroup";
    }
    void TearDown() override { remove_all_containers(roots_); }

    Result hutch(const Strings& args) { return roots_.hutch(args, {}, 20s); }

    // `run -d --network none --name NAME OPTS ROOTFS sleep 300`: its id.
    std::string run_d(const std::string& name, const Strings& opts) {
        Strings args = {"run", "-d", "--network", "none", "--name", name};
        args.insert(args.end(), opts.begin(), opts.end());
        args.insert(args.end(), {rootfs_, "sleep", "300"});
        Result r = hutch(args);
        EXPECT_EXIT_CODE(r, 0);
        return trim(r.out);
    }

    std::string host_file(pid_t pid, const std::string& controller, const std::string& file) {
        return trim(read_file(v1_mount(controller) + v1_cgroup_of(pid, controller) + "/" + file));
    }
};

TEST_F(UpdateIntegration, MemoryLimitOfARunningContainerChanges) {
    std::string id = run_d("mem", {"--memory", "64m"});
    pid_t pid = container_pid(roots_, "mem");
    ASSERT_GT(pid, 0);
    ASSERT_EQ(host_file(pid, "memory", "memory.limit_in_bytes"), "67108864");

    Result u = hutch({"update", "--memory", "128m", "mem"});
    ASSERT_EXIT_CODE(u, 0);
    EXPECT_EQ(u.out, "mem\n");  // as docker update prints it
    Result inside = hutch({"exec", "mem", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"});
    EXPECT_EXIT_CODE(inside, 0);
    EXPECT_EQ(inside.out, "134217728\n");
    EXPECT_EQ(host_file(pid, "memory", "memory.limit_in_bytes"), "134217728");
    EXPECT_EQ(inspect_container(roots_, "mem")["HostConfig"]["Memory"], 134217728);
}

TEST_F(UpdateIntegration, PidsLimitMovesAContainerStartedWithoutLimits) {
    std::string id = run_d("plain", {});
    pid_t pid = container_pid(roots_, "plain");
    ASSERT_GT(pid, 0);
    // Started without limits: only its unified cgroup; in v1 it is where hutch was.
    ASSERT_EQ(v1_cgroup_of(pid, "pids").find("/hutch/" + id), std::string::npos);

    ASSERT_EXIT_CODE(hutch({"update", "--pids-limit", "5", "plain"}), 0);
    std::string place = v1_cgroup_of(pid, "pids");
    EXPECT_NE(place.find("/hutch/" + id), std::string::npos) << place;
    EXPECT_EQ(host_file(pid, "pids", "pids.max"), "5");
    EXPECT_EQ(inspect_container(roots_, "plain")["HostConfig"]["PidsLimit"], 5);

    // A fork loop in an exec'd shell (placed in the cgroups the record lists) stops at the
    // limit: the shell's fork fails (EAGAIN), and the container never holds more than 5.
    Result forks = hutch({"exec", "plain", "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 60 & done; echo all-forked"});
    EXPECT_NE(forks.err.find("fork"), std::string::npos) << describe(forks);
    Strings procs = split_lines(read_file(v1_mount("pids") + place + "/cgroup.procs"));
    EXPECT_GE(procs.size(), 2u);
    EXPECT_LE(procs.size(), 5u);

    ASSERT_EXIT_CODE(hutch({"rm", "-f", "plain"}), 0);
    EXPECT_EQ(cgroups_named(id), Strings{}) << "cgroups of the container left after rm -f";
}

TEST_F(UpdateIntegration, CreatedContainerStartsWithTheUpdatedLimit) {
    Result c = hutch({"create", "--network", "none", "--name", "later", rootfs_, "sleep", "300"});
    ASSERT_EXIT_CODE(c, 0);
    ASSERT_EXIT_CODE(hutch({"update", "--pids-limit", "7", "later"}), 0);
    EXPECT_EQ(inspect_container(roots_, "later")["HostConfig"]["PidsLimit"], 7);
    ASSERT_EXIT_CODE(hutch({"start", "later"}), 0);
    pid_t pid = container_pid(roots_, "later");
    ASSERT_GT(pid, 0);
    EXPECT_EQ(host_file(pid, "pids", "pids.max"), "7");
}

TEST_F(UpdateIntegration, BadInputIsOneLineAndChangesNothing) {
    std::string id = run_d("keep", {"--memory", "64m"});
    pid_t pid = container_pid(roots_, "keep");
    ASSERT_GT(pid, 0);
    const std::string config = read_file(roots_.data_root() + "/containers/" + id + "/config.json");
    struct Case {
        Strings args;
        std::string names;
    };
    for (const Case& bad : {Case{{"update", "--memory", "3m", "keep"}, "--memory \"3m\""},
                            Case{{"update", "--memory", "128m", "keep", "nosuch"}, "nosuch"},
                            Case{{"update", "keep"}, "--memory"},
                            Case{{"update", "--pids-limit", "many", "keep"}, "--pids-limit \"many\""},
                            Case{{"update", "--memory-swap", "32m", "keep"}, "--memory-swap \"32m\""}}) {
        Result r = hutch(bad.args);
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(split_lines(r.err).size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(bad.names), std::string::npos) << describe(r);
        EXPECT_EQ(r.out, "");
    }
    EXPECT_EQ(host_file(pid, "memory", "memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(read_file(roots_.data_root() + "/containers/" + id + "/config.json"), config);
}

}  // namespace
}  // namespace hutch_it
