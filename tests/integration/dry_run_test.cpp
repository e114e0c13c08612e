// --dry-run: the OCI config.json hutch would run, and nothing else; cross-checked with crun.
#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace hutch_it {
namespace {

using DryRunIntegration = HutchTest;
using nlohmann::json;

TEST_F(DryRunIntegration, PrintsValidOciConfig) {
    Result r = run_raw({"--dry-run", "--cap-drop", "ALL", "--cap-add", "SYS_TIME", "-e", "A=1", "--rm", rootfs_,
                        "grep", "Cap", "/proc/self/status"});
    ASSERT_EXIT_CODE(r, 0);
    json config;
    ASSERT_NO_THROW(config = json::parse(r.out)) << r.out;
    EXPECT_TRUE(config["ociVersion"].is_string());
    EXPECT_EQ(config["process"]["args"], (json{"grep", "Cap", "/proc/self/status"}));
    std::string root = config["root"]["path"];
    EXPECT_EQ(root, rootfs_);
    EXPECT_EQ(root.front(), '/');
    auto caps = config["process"]["capabilities"];
    EXPECT_EQ(caps["bounding"], (json{"CAP_SYS_TIME"}));
    EXPECT_EQ(caps["effective"], (json{"CAP_SYS_TIME"}));
    EXPECT_EQ(caps["permitted"], (json{"CAP_SYS_TIME"}));
    EXPECT_TRUE(caps["inheritable"].empty());
    EXPECT_TRUE(caps["ambient"].empty());
    auto env = config["process"]["env"];
    EXPECT_NE(std::find(env.begin(), env.end(), "A=1"), env.end()) << env.dump();
    EXPECT_EQ(r.err, "");
}

TEST_F(DryRunIntegration, DefaultConfigMatchesDockersShape) {
    Result r = run_raw({"--dry-run", rootfs_, "true"});
    ASSERT_EXIT_CODE(r, 0);
    json c = json::parse(r.out);
    EXPECT_EQ(c["process"]["capabilities"]["bounding"].size(), 14u);
    EXPECT_EQ(c["process"]["cwd"], "/");
    std::set<std::string> ns;
    for (const auto& n : c["linux"]["namespaces"]) ns.insert(n["type"].get<std::string>());
    EXPECT_EQ(ns, (std::set<std::string>{"mount", "network", "uts", "pid", "ipc", "cgroup"}));
    EXPECT_EQ(c["linux"]["maskedPaths"].size(), 12u);
    EXPECT_EQ(c["linux"]["readonlyPaths"].size(), 5u);
    std::set<std::string> dests;
    for (const auto& m : c["mounts"]) dests.insert(m["destination"].get<std::string>());
    for (const char* d : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"})
        EXPECT_TRUE(dests.count(d)) << d;
}

TEST_F(DryRunIntegration, RunsNothing) {
    TempDir vol;
    Result r = run_raw({"--dry-run", "-v", vol.path() + ":/data", "--name", "dry", rootfs_, "sh", "-c",
                        "touch /data/ran"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_FALSE(path_exists(vol / "ran"));
    EXPECT_EQ(roots_.leftovers(), Strings{});
    // The name was not claimed either.
    EXPECT_EXIT_CODE(run_raw({"--name", "dry", "--rm", rootfs_, "true"}), 0);
}

TEST_F(DryRunIntegration, StillValidatesInput) {
    Result r = run_raw({"--dry-run", "--cap-add", "NOPE", "--rm", rootfs_, "true"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("NOPE"), std::string::npos) << describe(r);
}

// crun runs the very config hutch prints: both must give the process the same capabilities.
TEST_F(DryRunIntegration, CrunRunsTheSameConfig) {
    std::string crun;
    for (const char* c : {"/usr/bin/crun", "/usr/local/bin/crun", "/usr/sbin/crun"})
        if (path_exists(c)) crun = c;
    if (crun.empty()) GTEST_SKIP() << "crun is not installed";
    const Strings opts = {"--cap-drop", "ALL", "--cap-add", "SYS_TIME", "--rm"};
    const Strings cmd = {"grep", "Cap", "/proc/self/status"};
    Strings dry = {"--dry-run"};
    dry.insert(dry.end(), opts.begin(), opts.end());
    dry.push_back(rootfs_);
    dry.insert(dry.end(), cmd.begin(), cmd.end());
    Result config = run_raw(dry);
    ASSERT_EXIT_CODE(config, 0);

    TempDir bundle;
    write_file(bundle / "config.json", config.out);
    write_file(bundle / "empty", "");
    // Debian's crun 1.8 refuses hybrid cgroup hosts: in a private mount namespace an empty
    // file hides the v2 controllers (as scripts/bench does); the host is untouched.
    std::string controllers = "/sys/fs/cgroup/unified/cgroup.controllers";
    std::string id = "hutch-it-" + std::to_string(::getpid());
    std::string crun_cmd = crun + " --root " + bundle.path() + "/state run --bundle " + bundle.path() + " " + id;
    std::string script = path_exists(controllers)
                             ? "mount --bind " + bundle.path() + "/empty " + controllers + " && exec " + crun_cmd
                             : "exec " + crun_cmd;
    Result crun_result = run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", script});
    ASSERT_EXIT_CODE(crun_result, 0);
    Result hutch_result = run(Strings(opts.begin(), opts.end() - 1), cmd);
    ASSERT_EXIT_CODE(hutch_result, 0);
    EXPECT_EQ(hutch_result.out, crun_result.out);
    EXPECT_NE(crun_result.out.find("CapEff:\t0000000002000000"), std::string::npos) << crun_result.out;
}

}  // namespace
}  // namespace hutch_it
