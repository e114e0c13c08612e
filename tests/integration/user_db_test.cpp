// `-u USER` reads the container's /etc/passwd and /etc/group (run: the rootfs'; exec: the
// running container's root). Both are the container's to write, so hutch reads them as hostile
// input (runtime/user_db.hpp): a device, a FIFO, a huge file or line is one line, exit 125,
// quickly, naming the file; and the supplementary groups are Docker's (the primary group too).
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "harness.hpp"

namespace hutch_it {
namespace {

using Clock = std::chrono::steady_clock;

class UserDbIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        private_rootfs_ = scratch_ / "rootfs";
        ASSERT_TRUE(copy_rootfs(rootfs_, private_rootfs_)) << "cp -a " << rootfs_;
        append(private_rootfs_ + "/etc/passwd", "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n");
        append(private_rootfs_ + "/etc/group", "audio:x:29:alice\nstaff:x:50:bob,alice\nalice:x:1000:\n");
    }
    void TearDown() override {
        for (const auto& id : roots_.container_ids()) roots_.hutch({"rm", "-f", id});
        reap_leftover_children();
    }

    static void append(const std::string& path, const std::string& text) {
        std::ofstream(path, std::ios::app) << text;
    }

    // `run --rm --network none [-u USER] PRIVATE_ROOTFS CMD`, bounded: a hang fails the test.
    Result run_private(const Strings& opts, const Strings& cmd, std::chrono::milliseconds timeout = 10s) {
        Strings args = {"run", "--rm", "--network", "none"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(private_rootfs_);
        args.insert(args.end(), cmd.begin(), cmd.end());
        return roots_.hutch(args, {}, timeout);
    }

    // Replaces the private rootfs' `file` (etc/passwd) with what `make` puts there.
    void replace(const std::string& file, const std::function<void(const std::string&)>& make) {
        std::string path = private_rootfs_ + "/" + file;
        ::unlink(path.c_str());
        make(path);
    }

    // One line, exit 125, naming `file` and `why`, within a few seconds.
    static void expect_refused(const Result& r, const std::string& file, const std::string& why) {
        EXPECT_FALSE(r.timed_out) << "hutch hung reading " << file;
        EXPECT_EXIT_CODE(r, 125);
        ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }

    TempDir scratch_;
    std::string private_rootfs_;
};

// Docker 20.10: `docker run -u alice` shows groups=29(audio),50(staff),1000(alice): the primary
// group is in the supplementary list too (daemon/oci_linux.go getUser).
TEST_F(UserDbIntegration, RunUserHasDockersSupplementaryGroups) {
    Result r = run_private({"-u", "alice"}, {"id"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "uid=1000(alice) gid=1000(alice) groups=29(audio),50(staff),1000(alice)\n");
    // An explicit group: that group only, as Docker.
    r = run_private({"-u", "alice:staff"}, {"id"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "uid=1000(alice) gid=50(staff) groups=50(staff)\n");
}

TEST_F(UserDbIntegration, ExecUserHasDockersSupplementaryGroups) {
    Result d = roots_.hutch({"run", "-d", "--network", "none", "--name", "groups", private_rootfs_, "sleep", "30"});
    ASSERT_EXIT_CODE(d, 0);
    Result r = roots_.hutch({"exec", "-u", "alice", "groups", "id"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "uid=1000(alice) gid=1000(alice) groups=29(audio),50(staff),1000(alice)\n");
}

// A rootfs whose /etc/passwd is a FIFO hung `run -u` (open for reading waits for a writer);
// a device (here the rootfs' own /dev/zero, through a symlink) grew hutch without bound.
TEST_F(UserDbIntegration, RunRefusesAPasswdThatIsNotARegularFile) {
    replace("etc/passwd", [](const std::string& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0); });
    expect_refused(run_private({"-u", "alice"}, {"true"}), "/etc/passwd", "a FIFO, not a regular file");
    // Without -u too: hutch reads it for root's HOME.
    expect_refused(run_private({}, {"true"}), "/etc/passwd", "a FIFO");

    std::string zero = private_rootfs_ + "/dev/zero";
    ::unlink(zero.c_str());
    ASSERT_EQ(::mknod(zero.c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);
    replace("etc/passwd", [](const std::string& p) { ASSERT_EQ(::symlink("/dev/zero", p.c_str()), 0); });
    auto start = Clock::now();
    expect_refused(run_private({"-u", "alice"}, {"true"}), "/etc/passwd", "a character device");
    EXPECT_LT(Clock::now() - start, 5s);

    replace("etc/passwd", [](const std::string& p) { ASSERT_EQ(::mkdir(p.c_str(), 0755), 0); });
    expect_refused(run_private({"-u", "alice"}, {"true"}), "/etc/passwd", "a directory");
    ::rmdir((private_rootfs_ + "/etc/passwd").c_str());
}

TEST_F(UserDbIntegration, RunRefusesAGroupFileBeyondItsBounds) {
    // 5 MiB of plausible lines: over the 4 MiB bound.
    std::string big;
    while (big.size() < (5u << 20)) big += "g" + std::to_string(big.size()) + ":x:" + std::to_string(big.size() % 60000) + ":\n";
    replace("etc/group", [&](const std::string& p) { write_file(p, big); });
    expect_refused(run_private({"-u", "alice"}, {"true"}), "/etc/group", "larger than 4 MiB");

    // One 100 KiB line (a member list no real system has).
    std::string members = "wheel:x:10:" + std::string(100 << 10, 'a') + "\n";
    replace("etc/group", [&](const std::string& p) { write_file(p, "root:x:0:\n" + members); });
    expect_refused(run_private({"-u", "alice"}, {"true"}), "/etc/group", "line 2 is longer than 65536 bytes");
}

// A symlink out of the rootfs resolves inside it: the host's passwd is never read.
TEST_F(UserDbIntegration, RunResolvesPasswdLinksInsideTheRootfs) {
    replace("etc/passwd", [](const std::string& p) { ASSERT_EQ(::symlink("../../../../../../etc/passwd-inside", p.c_str()), 0); });
    write_file(private_rootfs_ + "/etc/passwd-inside", "alice:x:1234:1234::/inside:/bin/sh\n");
    Result r = run_private({"-u", "alice"}, {"sh", "-c", "id -u; echo $HOME"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "1234\n/inside\n");
}

// exec -u reads the running container's files, which its root user may replace with anything:
// its /dev/zero (hutch grew to hundreds of MB), a FIFO (hutch hung).
TEST_F(UserDbIntegration, ExecRefusesHostileUserDatabases) {
    Result d = roots_.hutch({"run", "-d", "--network", "none", "--name", "hostile", private_rootfs_, "sleep", "60"});
    ASSERT_EXIT_CODE(d, 0);
    Result prep = roots_.hutch({"exec", "hostile", "sh", "-c", "rm /etc/passwd && ln -s /dev/zero /etc/passwd"});
    ASSERT_EXIT_CODE(prep, 0);
    auto start = Clock::now();
    Result r = roots_.hutch({"exec", "-u", "alice", "hostile", "true"}, {}, 10s);
    expect_refused(r, "/etc/passwd of container hostile", "a character device");
    EXPECT_LT(Clock::now() - start, 5s);

    prep = roots_.hutch({"exec", "hostile", "sh", "-c",
                         "rm /etc/passwd /etc/group && echo 'alice:x:1000:1000::/:/bin/sh' > /etc/passwd && mkfifo /etc/group"});
    ASSERT_EXIT_CODE(prep, 0);
    r = roots_.hutch({"exec", "-u", "alice", "hostile", "true"}, {}, 10s);
    expect_refused(r, "/etc/group of container hostile", "a FIFO");
    // The container itself is fine: exec without -u still works.
    EXPECT_EXIT_CODE(roots_.hutch({"exec", "hostile", "true"}), 0);
}

}  // namespace
}  // namespace hutch_it
