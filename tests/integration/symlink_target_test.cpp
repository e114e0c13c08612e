// Symlinked targets in the rootfs (issue 11): a symlinked /etc/hosts, /etc, volume destination
// or working directory. hutch follows runc: the target is created where the link points,
// resolved inside the root (runtime/mounts.hpp, Root::open), never on the host. Each case with a
// dangling link that points inside the root, one that points out of it absolutely ("/x") and
// one that climbs out ("../../../x"): the container sees the file or directory at the link's
// target inside its root, and the host's "/x" stays untouched.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "harness.hpp"

namespace hutch_it {
namespace {

class SymlinkTargetIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        private_rootfs_ = tmp_ / "rootfs";
        ASSERT_TRUE(copy_rootfs(rootfs_, private_rootfs_)) << "cp -a " << rootfs_;
        rootfs_ = private_rootfs_;
        // A name that exists nowhere on the host: the host must not get it.
        host_name_ = "hutch-symlink-test-" + std::to_string(::getpid());
        ASSERT_FALSE(path_exists("/" + host_name_));
    }
    void TearDown() override { EXPECT_FALSE(path_exists("/" + host_name_)) << "created on the host"; }

    // Replaces `path` (inside the private rootfs) by a symlink to `target`.
    void link(const std::string& path, const std::string& target) {
        std::string full = private_rootfs_ + path;
        run_command({"/bin/rm", "-rf", full});
        ASSERT_EQ(::symlink(target.c_str(), full.c_str()), 0) << full << " -> " << target;
    }

    // The three forms of a link to the missing /NAME: inside, absolute out, relative out.
    Strings targets(const std::string& from_dir) {
        std::string up;
        for (long i = 0; i < std::count(from_dir.begin(), from_dir.end(), '/') + 3; ++i) up += "../";
        return {"/" + host_name_, up + host_name_};
    }

    TempDir tmp_;
    std::string private_rootfs_, host_name_;
};

TEST_F(SymlinkTargetIntegration, EtcHostsLinkIsFollowedInsideTheRoot) {
    for (const auto& target : targets("/etc")) {
        link("/etc/hosts", target);
        Result r = sh({"--network", "none", "--add-host", "symlinked.example:10.1.2.3"},
                      "cat /etc/hosts; echo ---; cat /" + host_name_);
        ASSERT_EXIT_CODE(r, 0) << target;
        auto parts = r.out.find("---");
        ASSERT_NE(parts, std::string::npos) << r.out;
        EXPECT_NE(r.out.find("symlinked.example"), std::string::npos) << target << "\n" << r.out;
        EXPECT_EQ(r.out.substr(0, parts), r.out.substr(parts + 4)) << "the link and its target are one file";
    }
    // A link to an existing file inside the root: the generated file is bound onto that file.
    write_file(private_rootfs_ + "/etc/hosts.real", "# the rootfs' own\n");
    link("/etc/hosts", "hosts.real");
    Result r = sh({"--network", "none", "--add-host", "symlinked.example:10.1.2.3"}, "cat /etc/hosts.real");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("symlinked.example"), std::string::npos) << r.out;
}

TEST_F(SymlinkTargetIntegration, EtcHostsLinkToADirectorySaysWhatWasRefused) {
    ASSERT_EQ(::mkdir((private_rootfs_ + "/" + host_name_).c_str(), 0755), 0);
    link("/etc/hosts", "/" + host_name_);
    Result r = run({"--network", "none"}, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_EQ(r.err_lines()[0], "hutch: bind generated file: /etc/hosts in the rootfs is a symlink to /" + host_name_ +
                                    ", a directory; hutch binds its generated file only onto a file (or creates one "
                                    "where there is none)");
    EXPECT_EQ(roots_.leftovers(), Strings{});
    ::rmdir((private_rootfs_ + "/" + host_name_).c_str());
}

TEST_F(SymlinkTargetIntegration, WholeEtcLinkIsFollowedInsideTheRoot) {
    for (const auto& target : targets("/")) {
        link("/etc", target);
        Result r = sh({"--network", "none", "-h", "linked"}, "cat /" + host_name_ + "/hostname /etc/hostname");
        ASSERT_EXIT_CODE(r, 0) << target;
        EXPECT_EQ(r.out, "linked\nlinked\n") << target;
    }
}

TEST_F(SymlinkTargetIntegration, VolumeDestinationLinkIsFollowedInsideTheRoot) {
    TempDir volume;
    write_file(volume / "marker", "from the host\n");
    for (const auto& target : targets("/")) {
        link("/data", target);
        Result r = sh({"--network", "none", "-v", volume.path() + ":/data"}, "cat /data/marker /" + host_name_ + "/marker");
        ASSERT_EXIT_CODE(r, 0) << target;
        EXPECT_EQ(r.out, "from the host\nfrom the host\n") << target;
    }
}

TEST_F(SymlinkTargetIntegration, WorkdirLinkIsFollowedInsideTheRoot) {
    for (const auto& target : targets("/")) {
        link("/work", target);
        Result r = run({"--network", "none", "-w", "/work"}, {"sh", "-c", "pwd -P; ls -d /" + host_name_});
        ASSERT_EXIT_CODE(r, 0) << target;
        EXPECT_EQ(r.out, "/" + host_name_ + "\n/" + host_name_ + "\n") << target;
    }
}

}  // namespace
}  // namespace hutch_it
