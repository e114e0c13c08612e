// The device policy seen from inside real containers (hutch-probe's devices section: mknod of a
// fixed list of nodes in a scratch directory, then a harmless open) and from the host (the
// eBPF program attached to the container's unified cgroup, the v1 devices cgroup it keeps out
// of). Docker's answer for each node is the probe's own `docker_allows_open`.
//
// Also the cgroup findings of issue 11: a cgroup2 mount hidden under a tmpfs (hutch must not make
// its cgroup inside the tmpfs), and the container's view of /sys/fs/cgroup (its own cgroups only).
//
// Every open is O_RDONLY|O_NONBLOCK|O_NOCTTY and closed at once; nothing is written to a device.
// Tests that change mounts do it in a private mount namespace (unshare -m) of their own.
#include <linux/bpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

const char* kProbe = "/dev/.hutch-probe";

class DevicesIntegration : public HutchTest {
protected:
    void TearDown() override {
        for (const auto& id : roots_.container_ids()) roots_.hutch({"rm", "-f", id}, {}, 20s);
        reap_leftover_children();
    }

    // The probe's devices section, from a run's stdout; null (and a failure) when it is not there.
    static json nodes_of(const Result& r) {
        try {
            return json::parse(r.out).at("devices").at("nodes");
        } catch (const std::exception& e) {
            ADD_FAILURE() << "no devices section in the probe's output (" << e.what() << "): " << describe(r);
            return nullptr;
        }
    }

    // `run --probe OPTS ROOTFS hutch-probe --only devices --json`.
    json probe_run(const Strings& opts) {
        Strings all = {"--probe", "--network", "none"};
        all.insert(all.end(), opts.begin(), opts.end());
        Result r = run(all, {kProbe, "--only", "devices", "--json"});
        EXPECT_EXIT_CODE(r, 0);
        return nodes_of(r);
    }
};

bool denied(const json& node, const char* what) { return node[what].value("denied", false); }

std::string errno_of(const json& node, const char* what) {
    const json& e = node[what]["errno"];
    return e.is_string() ? e.get<std::string>() : "ok";
}

// Every node tried opens or fails exactly as under Docker: mknod always works, an open is
// refused with EPERM exactly where Docker's policy refuses it. `except` names nodes a test
// widened (they must open, whatever Docker says).
void expect_dockers_answers(const json& nodes, const std::set<std::string>& except = {}) {
    ASSERT_TRUE(nodes.is_object());
    for (const auto& [name, node] : nodes.items()) {
        SCOPED_TRACE(name + " " + node.value("node", ""));
        if (node["skipped"].is_string()) continue;  // not on this host (cpu_dma_latency)
        EXPECT_FALSE(denied(node, "mknod")) << "mknod " << errno_of(node, "mknod");
        EXPECT_EQ(node["mknod"]["errno"], nullptr) << node.dump();
        if (!node["open"].value("tried", false)) continue;  // mknod only (no block device to try)
        bool docker = node.value("docker_allows_open", false) || except.count(name);
        if (docker) {
            EXPECT_FALSE(denied(node, "open")) << "opening it was refused: " << errno_of(node, "open");
        } else {
            EXPECT_EQ(errno_of(node, "open"), "EPERM") << "Docker refuses this open";
        }
    }
}

// Programs attached to a cgroup2 directory for BPF_CGROUP_DEVICE (BPF_PROG_QUERY); -1 on error.
int device_programs(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    __u32 ids[8] = {};
    bpf_attr attr{};
    attr.query.target_fd = static_cast<__u32>(fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<__u64>(ids);
    attr.query.prog_cnt = 8;
    long rc = ::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr);
    ::close(fd);
    return rc == 0 ? static_cast<int>(attr.query.prog_cnt) : -1;
}

bool hybrid_host() {
    const std::string mi = host_mountinfo();
    return mountinfo_line(mi, "/sys/fs/cgroup/unified").find(" - cgroup2 ") != std::string::npos &&
           mountinfo_line(mi, "/sys/fs/cgroup/devices").find(" - cgroup ") != std::string::npos;
}

// --- hutch run --------------------------------------------------------------------------------

TEST_F(DevicesIntegration, DefaultContainerGetsDockersAllowList) {
    json nodes = probe_run({});
    expect_dockers_answers(nodes);
    // The nodes the issue found open: each refused.
    for (const char* name : {"fuse", "hwrng", "tty0", "kmsg"}) EXPECT_EQ(errno_of(nodes[name], "open"), "EPERM") << name;
    if (nodes["block"]["open"].value("tried", false)) {
        EXPECT_EQ(errno_of(nodes["block"], "open"), "EPERM") << "a block device made with mknod opened";
    }
}

TEST_F(DevicesIntegration, KernelLogDeniedEvenWithSyslog) {
    // With CAP_SYSLOG only the device policy keeps /dev/kmsg shut, as in Docker.
    json nodes = probe_run({"--cap-add", "SYSLOG"});
    EXPECT_EQ(errno_of(nodes["kmsg"], "open"), "EPERM");
    EXPECT_EQ(nodes["kmsg"]["open"]["note"], nullptr) << "EPERM must be the policy's, not CAP_SYSLOG's";
}

TEST_F(DevicesIntegration, DeviceFlagAndCgroupRuleWidenIt) {
    if (!path_exists("/dev/fuse")) GTEST_SKIP() << "no /dev/fuse on this host";
    // --device: the host's node at the same path, and the rule that opens it; a cgroup rule opens
    // the hwrng for reading only.
    Result r = sh({"--probe", "--network", "none", "--device", "/dev/fuse", "--device-cgroup-rule", "c 10:183 r"},
                  "stat -c '%F %t:%T' /dev/fuse; dd if=/dev/fuse bs=1 count=0 2>&1 | grep -c 'can.t open'; " +
                      std::string(kProbe) + " --only devices --json");
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_GE(lines.size(), 2u) << describe(r);
    EXPECT_EQ(lines[0], "character special file a:e5");
    EXPECT_EQ(lines[1], "0") << "the --device node could not be opened";
    Result only_json = r;
    only_json.out = r.out.substr(r.out.find('{'));
    json nodes = nodes_of(only_json);
    expect_dockers_answers(nodes, {"fuse", "hwrng"});
    EXPECT_FALSE(denied(nodes["hwrng"], "open")) << "--device-cgroup-rule 'c 10:183 r' did not open it";
}

// Whether the test itself, on the host, may open the device "TYPE M:m" read-only: some hosts
// refuse their own disks to everyone (this VM's /dev/vda is EPERM even for root).
bool host_can_open(const std::string& node) {
    std::string numbers = node.substr(2);
    std::string uevent = read_file(std::string(node[0] == 'b' ? "/sys/dev/block/" : "/sys/dev/char/") + numbers + "/uevent");
    auto at = uevent.find("DEVNAME=");
    if (at == std::string::npos) return true;  // no host node to compare with: expect it opens
    std::string dev = "/dev/" + uevent.substr(at + 8, uevent.find('\n', at) - at - 8);
    int fd = ::open(dev.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
    return fd >= 0 || errno != EPERM;
}

TEST_F(DevicesIntegration, PrivilegedAllowsEverything) {
    json nodes = probe_run({"--privileged"});
    ASSERT_TRUE(nodes.is_object());
    for (const auto& [name, node] : nodes.items()) {
        if (node["skipped"].is_string()) continue;
        if (!host_can_open(node.value("node", ""))) continue;  // the host refuses it to everyone
        EXPECT_FALSE(denied(node, "mknod")) << name;
        EXPECT_FALSE(denied(node, "open")) << name << ": " << errno_of(node, "open");
    }
}

TEST_F(DevicesIntegration, ExecObeysTheSamePolicy) {
    Result d = roots_.hutch({"run", "-d", "--name", "dev-exec", "--probe", "--network", "none", rootfs_, "sleep", "30"});
    ASSERT_EXIT_CODE(d, 0);
    Result r = roots_.hutch({"exec", "dev-exec", kProbe, "--only", "devices", "--json"});
    ASSERT_EXIT_CODE(r, 0);
    expect_dockers_answers(nodes_of(r));
    // The same with an exec'd shell's own mknod, the way an intruder would try it.
    Result shell = roots_.hutch({"exec", "dev-exec", "sh", "-c",
                                 "mknod /dev/f c 10 229 && dd if=/dev/f bs=1 count=0; rm -f /dev/f"});
    EXPECT_NE(shell.err.find("Operation not permitted"), std::string::npos) << describe(shell);
}

TEST_F(DevicesIntegration, BadDeviceFlagsAreOneLineAndLeaveNothing) {
    const std::vector<std::pair<Strings, std::string>> cases = {
        {{"--device", "/etc/passwd"}, "invalid --device \"/etc/passwd\": not a character or block device"},
        {{"--device", "/dev/no-such-device"}, "invalid --device \"/dev/no-such-device\": No such file or directory"},
        {{"--device", "/dev/null:/dev/n:rwx"}, "invalid --device \"/dev/null:/dev/n:rwx\""},
        {{"--device", "/dev/null:/etc/n"}, "must lie below /dev"},
        {{"--device", "relative"}, "the host path must be absolute"},
        {{"--device-cgroup-rule", "c 10:* rwx"}, "invalid --device-cgroup-rule \"c 10:* rwx\""},
        {{"--device-cgroup-rule", "q 1:2 r"}, "invalid --device-cgroup-rule \"q 1:2 r\""},
    };
    for (const auto& [flags, message] : cases) {
        SCOPED_TRACE(flags[1]);
        Strings opts = {"--name", "bad-device", "--network", "none"};
        opts.insert(opts.end(), flags.begin(), flags.end());
        Result r = run(opts, {"true"});
        EXPECT_EXIT_CODE(r, 125);
        Strings err = r.err_lines();
        ASSERT_EQ(err.size(), 1u) << describe(r);
        EXPECT_EQ(err[0].rfind("hutch: ", 0), 0u) << err[0];
        EXPECT_NE(err[0].find(message), std::string::npos) << err[0];
        EXPECT_TRUE(roots_.leftovers().empty()) << "left behind: " << roots_.leftovers().size() << " entries";
    }
}

// On a hybrid host the container is only in the unified hierarchy: its v1 devices cgroup is
// whatever the caller's is (here the root, allow-all), and the program on the unified cgroup is
// what refuses (the kernel runs the cgroup2 hook, then v1's check).
TEST_F(DevicesIntegration, HybridHostEnforcesTheUnifiedProgram) {
    if (!hybrid_host()) GTEST_SKIP() << "not a hybrid host (v1 devices + /sys/fs/cgroup/unified)";
    Result d = roots_.hutch({"run", "-d", "--name", "hybrid", "--network", "none", rootfs_, "sleep", "30"});
    ASSERT_EXIT_CODE(d, 0);
    std::string id = trim(d.out);
    pid_t pid = container_pid(roots_, "hybrid");
    ASSERT_GT(pid, 0);
    std::string dir = container_cgroup_dir(id);
    ASSERT_FALSE(dir.empty());
    EXPECT_EQ(device_programs(dir), 1) << "no BPF_CGROUP_DEVICE program on " << dir;
    // Its v1 devices cgroup is the test's own, which allows everything.
    std::string v1;
    for (const auto& line : split_lines(read_file("/proc/" + std::to_string(pid) + "/cgroup")))
        if (line.find(":devices:") != std::string::npos) v1 = line.substr(line.find(":devices:") + 9);
    std::string own;
    for (const auto& line : split_lines(read_file("/proc/self/cgroup")))
        if (line.find(":devices:") != std::string::npos) own = line.substr(line.find(":devices:") + 9);
    EXPECT_EQ(v1, own);
    EXPECT_EQ(read_file("/sys/fs/cgroup/devices" + (v1 == "/" ? std::string() : v1) + "/devices.list"), "a *:* rwm\n");
    Result r = roots_.hutch({"exec", "hybrid", "sh", "-c", "mknod /dev/h c 10 183 && dd if=/dev/h bs=1 count=0"});
    EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << describe(r);
}

// --- cgroups (issue 11) -----------------------------------------------------------------------

// A tmpfs over the unified mount (as some tools mount one) hides it: hutch must see that, use
// the v1 devices hierarchy it can see, and still apply the policy there, for run and exec.
TEST_F(DevicesIntegration, HiddenUnifiedMountFallsBackToTheV1DevicesHierarchy) {
    if (!hybrid_host()) GTEST_SKIP() << "not a hybrid host (v1 devices + /sys/fs/cgroup/unified)";
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "no util-linux unshare";
    Strings hutch = roots_.hutch_args({});
    std::string h = hutch_binary();
    for (const auto& a : hutch) h += " '" + a + "'";
    const std::string script =
        "mount -t tmpfs -o size=64k hutch-test-hide /sys/fs/cgroup/unified || exit 99; "
        "id=$(" + h + " run -d --name hidden --probe --network none '" + rootfs_ + "' sleep 30) || exit 98; "
        "echo \"ID=$id\"; "
        "d=/sys/fs/cgroup/devices$(sed -n 's/^[0-9]*:devices://p' /proc/self/cgroup)/hutch; "
        "ls $d | grep -c \"$id\"; " +
        h + " exec hidden " + kProbe + " --only devices --json; " +
        h + " exec hidden sh -c 'cat /proc/self/cgroup; ls /sys/fs/cgroup' >&2; " +
        h + " rm -f hidden >/dev/null; "
        "ls $d 2>/dev/null | grep -c \"$id\"; exit 0";
    Result r = run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", script}, {}, 60s);
    ASSERT_EXIT_CODE(r, 0);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("ID=([0-9a-f]{64})\n1\n"))) << describe(r);
    EXPECT_NE(r.err.find(":devices:/\n"), std::string::npos) << "not in a devices cgroup of its own: " << r.err;
    Result probe = r;
    probe.out = r.out.substr(r.out.find('{'), r.out.rfind('}') - r.out.find('{') + 1);
    expect_dockers_answers(nodes_of(probe));
    EXPECT_EQ(r.out.substr(r.out.rfind('}') + 1), "\n0\n") << "its v1 cgroup outlived rm -f";
    EXPECT_TRUE(roots_.leftovers().empty());
}

// The container sees its own cgroups and nothing above or beside them: one hierarchy root (its
// own cgroup) per hierarchy shown, and no other process in it.
TEST_F(DevicesIntegration, CgroupViewIsTheContainersOwn) {
    Result r = sh({"--network", "none"},
                  "ls /sys/fs/cgroup; echo --; find /sys/fs/cgroup -name cgroup.procs | wc -l; "
                  "grep -c '' $(find /sys/fs/cgroup -name cgroup.procs | head -1)");
    ASSERT_EXIT_CODE(r, 0);
    std::string view = r.out.substr(0, r.out.find("--\n"));
    Strings counts = split_lines(r.out.substr(r.out.find("--\n") + 3));
    ASSERT_EQ(counts.size(), 2u) << describe(r);
    if (hybrid_host()) {
        EXPECT_EQ(view, "unified\n") << "hutch run is in the unified hierarchy only: the v1 ones would show the host's";
        EXPECT_EQ(counts[0], "1") << "cgroups beside or below its own are visible";
    }
    EXPECT_EQ(counts[1], "1") << "its cgroup holds only grep (the last command, which sh execs)";
}

}  // namespace
}  // namespace hutch_it
