// Escapes every runtime must resist (REFERENCE.md, "Escapes"), and isolation from the host.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "harness.hpp"

namespace hutch_it {
namespace {

using SecurityIntegration = HutchTest;

// Fd numbers listed by `ls /proc/self/fd` output.
std::set<int> fd_numbers(const std::string& out) {
    std::set<int> fds;
    for (const auto& l : split_lines(out)) {
        std::string t = trim(l);
        if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos) fds.insert(std::stoi(t));
    }
    return fds;
}

// --- no fd of the host reaches the container (CVE-2024-21626) ------------------------------

TEST_F(SecurityIntegration, OnlyStdioFdsReachTheCommand) {
    // The test hands hutch extra open fds on a host directory; none may reach the container.
    int host_dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(host_dir, 0);
    SpawnOptions so;
    so.inherit_fds = {{host_dir, 3}, {host_dir, 5}, {host_dir, 9}};
    // ls is pid 1 and opens /proc/self/fd as the lowest free fd: with only 0-2 open, that is 3.
    Result r = run({}, {"/bin/ls", "/proc/self/fd"}, so);
    ::close(host_dir);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(fd_numbers(r.out), (std::set<int>{0, 1, 2, 3})) << r.out;
}

TEST_F(SecurityIntegration, Pid1HasOnlyStdio) {
    int host_dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(host_dir, 0);
    SpawnOptions so;
    so.inherit_fds = {{host_dir, 4}, {host_dir, 7}};
    // sh is pid 1; its children list pid 1's fds from outside it.
    Result r = sh({}, "ls /proc/1/fd; echo ---; ls -l /proc/1/fd/ | grep -c ' -> /proc' ", so);
    ::close(host_dir);
    EXPECT_EXIT_CODE(r, 1);  // grep -c: no fd of pid 1 points into /proc
    auto parts = r.out.find("---\n");
    ASSERT_NE(parts, std::string::npos) << describe(r);
    auto fds = fd_numbers(r.out.substr(0, parts));
    // busybox sh may keep one fd of its own (a dup of the script's tty/stdin, >= 10).
    for (int fd : fds) EXPECT_TRUE(fd <= 2 || fd >= 10) << "unexpected fd " << fd << " in pid 1\n" << r.out;
    EXPECT_TRUE(fds.count(0) && fds.count(1) && fds.count(2)) << r.out;
    EXPECT_EQ(fds.count(4) + fds.count(7), 0u) << r.out;
}

TEST_F(SecurityIntegration, WorkdirThroughProcSelfFdFails) {
    // runc's CVE-2024-21626: a leaked fd on a host directory + `-w /proc/self/fd/N` gave the
    // command a cwd outside the container. The test leaks such fds into hutch on purpose.
    int host_dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(host_dir, 0);
    SpawnOptions so;
    so.inherit_fds = {{host_dir, 5}, {host_dir, 7}, {host_dir, 8}};
    for (int n = 3; n <= 10; ++n) {
        SCOPED_TRACE(n);
        std::string wd = "/proc/self/fd/" + std::to_string(n);
        Result r = sh({"-w", wd}, "pwd; ls ../../../../../../ | head -50", so);
        EXPECT_NE(r.code, 0) << describe(r);
        EXPECT_EQ(r.out, "") << describe(r);
    }
    ::close(host_dir);
}

// --- mounts never reach the host -----------------------------------------------------------

TEST_F(SecurityIntegration, NoMountPropagatesToTheHost) {
    TempDir vol;
    std::string before = host_mountinfo();
    Result r = sh({"-v", vol.path() + ":/data", "-v", vol.path() + ":/ro:ro", "--tmpfs", "/scratch:size=1m"},
                  "mount -t tmpfs none /data 2>/dev/null; grep -c ' /data \\| /scratch ' /proc/self/mountinfo");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(host_mountinfo(), before);
    Result ro = sh({"--read-only"}, "true");
    EXPECT_EXIT_CODE(ro, 0);
    EXPECT_EQ(host_mountinfo(), before);
    Result priv = sh({"--privileged", "-v", vol.path() + ":/data"}, "mount -t tmpfs none /data && echo mounted");
    EXPECT_EXIT_CODE(priv, 0);
    EXPECT_NE(priv.out.find("mounted"), std::string::npos) << describe(priv);
    EXPECT_EQ(host_mountinfo(), before) << "a mount made inside a privileged container leaked to the host";
}

TEST_F(SecurityIntegration, RootfsMountpointsNotVisibleOnHost) {
    // While a container runs, the host sees neither its overlay nor its mounts.
    std::string before = host_mountinfo();
    Process p = start({}, {"sh", "-c", "echo ready; while true; do sleep 0.1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    std::string during = host_mountinfo();
    pid_t init = wait_for_child_of(p.pid());
    ASSERT_GT(init, 0);
    ::kill(init, SIGKILL);
    p.wait(20s);
    EXPECT_EQ(during, before);
    EXPECT_EQ(during.find(roots_.base()), std::string::npos);
}

// --- the runtime binary (CVE-2019-5736) ----------------------------------------------------

// CVE-2019-5736: the container must never get a handle on hutch's binary that it could write
// through. The tests open for writing but never write.
TEST_F(SecurityIntegration, HutchBinaryNotWritableViaProcExeFromHost) {
    auto before = list_tree(hutch_binary());
    Process p = start({}, {"sh", "-c", "echo ready; while true; do sleep 0.1; done"});
    ASSERT_TRUE(p.wait_for_output("ready", 10s)) << p.err_so_far();
    std::string exe = "/proc/" + std::to_string(p.pid()) + "/exe";
    int fd = ::open(exe.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    int err = errno;
    if (fd >= 0) ::close(fd);
    // The container's own process runs the command, not hutch.
    pid_t init = wait_for_child_of(p.pid());
    char target[4096] = {};
    ssize_t n = init > 0 ? ::readlink(("/proc/" + std::to_string(init) + "/exe").c_str(), target, sizeof target - 1) : -1;
    if (init > 0) ::kill(init, SIGKILL);
    p.wait(20s);
    EXPECT_LT(fd, 0) << "opened " << exe << " for writing while hutch ran";
    // EROFS with a read-only bind of the binary, ETXTBSY for a binary being executed.
    EXPECT_TRUE(err == EROFS || err == ETXTBSY) << std::strerror(err);
    ASSERT_GT(n, 0);
    EXPECT_NE(std::string(target, static_cast<std::size_t>(n)), hutch_binary());
    EXPECT_EQ(diff_trees(before, list_tree(hutch_binary())), "");
}

TEST_F(SecurityIntegration, HutchBinaryNotWritableFromPidHostContainer) {
    // A --pid host container sees hutch (its $PPID) but can neither resolve nor write its exe.
    auto before = list_tree(hutch_binary());
    Process p = start({"--pid", "host"},
                      {"sh", "-c",
                       "echo ppid=$PPID; echo exe=$(readlink /proc/$PPID/exe 2>/dev/null); "
                       "( echo x >> /proc/$PPID/exe ) 2>&1; echo rc=$?"});
    pid_t hutch_pid = p.pid();
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("ppid=" + std::to_string(hutch_pid) + "\n"), std::string::npos)
        << "the attempt must target hutch\n" << describe(r);
    EXPECT_NE(r.out.find("rc=1"), std::string::npos) << describe(r);
    EXPECT_EQ(r.out.find("exe=" + hutch_binary()), std::string::npos) << describe(r);
    EXPECT_EQ(diff_trees(before, list_tree(hutch_binary())), "");
}

TEST_F(SecurityIntegration, ProcSelfExeOfTheCommandIsNotHutch) {
    // The classic trigger: a command (or a #! interpreter) of /proc/self/exe resolves to whatever
    // the container's first process runs at execve time. That must not be hutch: if it were,
    // `/proc/self/exe --help` would print hutch's help from inside the container.
    if (trim(read_file("/proc/sys/vm/memfd_noexec")) == "2")
        GTEST_SKIP() << "vm.memfd_noexec=2: hutch falls back to a read-only bind of itself";
    Result r = run({}, {"/proc/self/exe", "--help"});
    EXPECT_NE(r.code, 0) << describe(r);
    EXPECT_EQ(r.out.find("Docker-style"), std::string::npos) << describe(r);
    EXPECT_EQ(r.out.find("Usage"), std::string::npos) << describe(r);
    Result sub = run({}, {"/proc/self/exe", "ps"});
    EXPECT_NE(sub.code, 0) << describe(sub);
    EXPECT_EQ(sub.out.find("CONTAINER ID"), std::string::npos) << describe(sub);
}

// --- symlinks in the rootfs (CVE-2021-30465 and kin) ---------------------------------------

class SymlinkRootfsIntegration : public SecurityIntegration {
protected:
    void SetUp() override {
        SecurityIntegration::SetUp();
        if (IsSkipped()) return;
        private_rootfs_ = work_ / "rootfs";
        ASSERT_TRUE(copy_rootfs(rootfs_, private_rootfs_)) << "cp -a " << rootfs_;
        outside_ = work_ / "outside";
        ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    }
    Result run_in_copy(const Strings& opts, const Strings& cmd) {
        Strings args = opts;
        args.push_back("--rm");
        args.push_back(private_rootfs_);
        args.insert(args.end(), cmd.begin(), cmd.end());
        return run_raw(args);
    }
    TempDir work_;
    std::string private_rootfs_, outside_;
};

TEST_F(SymlinkRootfsIntegration, VolumeTargetThroughSymlinkStaysInside) {
    ASSERT_EQ(::symlink(outside_.c_str(), (private_rootfs_ + "/evil").c_str()), 0);
    ASSERT_EQ(::symlink("/", (private_rootfs_ + "/evilroot").c_str()), 0);
    TempDir src;
    write_file(src / "payload", "p\n");
    std::string before = host_mountinfo();
    std::string marker = "/hutch-it-escape-" + std::to_string(::getpid());
    Result r = run_in_copy({"-v", src.path() + ":/evil/x", "-v", src.path() + ":/evilroot" + marker},
                           {"sh", "-c", "cat /evil/x/payload; cat " + marker + "/payload"});
    EXPECT_TRUE(r.code == 0 || r.code == 125) << describe(r);
    EXPECT_FALSE(path_exists(outside_ + "/x")) << "the volume target was created on the host";
    EXPECT_FALSE(path_exists(marker)) << "the volume target was created in the host's /";
    if (path_exists(marker)) ::rmdir(marker.c_str());
    EXPECT_EQ(host_mountinfo(), before);
    if (r.code == 0) {
        EXPECT_EQ(r.out, "p\np\n") << "followed inside the root, the volume is still usable";
    }
}

TEST_F(SymlinkRootfsIntegration, TmpfsTargetThroughSymlinkStaysInside) {
    ASSERT_EQ(::symlink(outside_.c_str(), (private_rootfs_ + "/evil").c_str()), 0);
    ASSERT_EQ(::symlink("/", (private_rootfs_ + "/evilroot").c_str()), 0);
    std::string marker = "/hutch-it-escape-tmpfs-" + std::to_string(::getpid());
    std::string before = host_mountinfo();
    Result r = run_in_copy({"--tmpfs", "/evil/y", "--tmpfs", "/evilroot" + marker},
                           {"sh", "-c", "touch /evil/y/f " + marker + "/f && echo ok"});
    EXPECT_TRUE(r.code == 0 || r.code == 125) << describe(r);
    EXPECT_FALSE(path_exists(outside_ + "/y"));
    EXPECT_FALSE(path_exists(marker));
    if (path_exists(marker)) ::rmdir(marker.c_str());
    EXPECT_EQ(host_mountinfo(), before);
}

TEST_F(SymlinkRootfsIntegration, RelativeSymlinkEscapeStaysInside) {
    // ../../../.. climbs to the container's /, never past it.
    ASSERT_EQ(::symlink("../../../../../../../../..", (private_rootfs_ + "/up").c_str()), 0);
    std::string rel = outside_.substr(1);
    std::string before = host_mountinfo();
    Result r = run_in_copy({"--tmpfs", "/up/" + rel + "/z"}, {"true"});
    EXPECT_TRUE(r.code == 0 || r.code == 125) << describe(r);
    EXPECT_FALSE(path_exists(outside_ + "/z"));
    EXPECT_EQ(host_mountinfo(), before);
}

TEST_F(SymlinkRootfsIntegration, SymlinkedProcIsRefused) {
    // CVE-2019-16884 / 2023-27561: a /proc that is a symlink must not receive the procfs mount.
    ASSERT_EQ(::rmdir((private_rootfs_ + "/proc").c_str()), 0);
    ASSERT_EQ(::symlink(outside_.c_str(), (private_rootfs_ + "/proc").c_str()), 0);
    std::string before = host_mountinfo();
    Result r = run_in_copy({}, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_EQ(host_mountinfo(), before);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

TEST_F(SymlinkRootfsIntegration, SymlinkedDevNullInRootfsIsHarmless) {
    // CVE-2025-31133: the rootfs's /dev/null is a symlink to a host file; masking binds the
    // device hutch made itself, and the host file is never touched.
    TempDir host;
    write_file(host / "precious", "keep me\n");
    ASSERT_EQ(::mkdir((private_rootfs_ + "/dev").c_str(), 0755) == 0 || errno == EEXIST, true);
    ::symlink((host / "precious").c_str(), (private_rootfs_ + "/dev/null").c_str());
    Result r = run_in_copy({}, {"sh", "-c", "echo overwritten > /dev/null; stat -c '%F %t,%T' /dev/null /proc/keys"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(read_file(host / "precious"), "keep me\n");
    EXPECT_EQ(r.out, "character special file 1,3\ncharacter special file 1,3\n") << describe(r);
}

TEST_F(SymlinkRootfsIntegration, PasswdSymlinkToHostIsNotRead) {
    // -u resolves names in the rootfs's own /etc/passwd, even through a symlink to the host.
    TempDir host;
    write_file(host / "passwd", "hostonly:x:4242:4242::/:/bin/sh\n");
    ASSERT_EQ(::unlink((private_rootfs_ + "/etc/passwd").c_str()), 0);
    ASSERT_EQ(::symlink((host / "passwd").c_str(), (private_rootfs_ + "/etc/passwd").c_str()), 0);
    Result r = run_in_copy({"-u", "hostonly"}, {"id", "-u"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_NE(r.err.find("hostonly"), std::string::npos) << describe(r);
}

TEST_F(SymlinkRootfsIntegration, ShebangProcSelfExeIsNotHutch) {
    if (trim(read_file("/proc/sys/vm/memfd_noexec")) == "2")
        GTEST_SKIP() << "vm.memfd_noexec=2: hutch falls back to a read-only bind of itself";
    write_file(private_rootfs_ + "/evil", "#!/proc/self/exe ps\n", 0755);
    auto before = list_tree(hutch_binary());
    Result r = run_in_copy({}, {"/evil"});
    EXPECT_NE(r.code, 0) << describe(r);
    EXPECT_EQ(r.out.find("CONTAINER ID"), std::string::npos) << "hutch ran inside the container\n" << describe(r);
    EXPECT_EQ(diff_trees(before, list_tree(hutch_binary())), "");
}

// --- privileges ----------------------------------------------------------------------------

TEST_F(SecurityIntegration, NoNewPrivileges) {
    Result off = run({}, {"grep", "NoNewPrivs", "/proc/self/status"});
    EXPECT_EQ(off.out, "NoNewPrivs:\t0\n") << describe(off);
    Result on = run({"--security-opt", "no-new-privileges"}, {"grep", "NoNewPrivs", "/proc/self/status"});
    EXPECT_EXIT_CODE(on, 0);
    EXPECT_EQ(on.out, "NoNewPrivs:\t1\n") << describe(on);
}

TEST_F(SecurityIntegration, DefaultContainerCannotMountOrChangeHostname) {
    Result r = sh({}, "mount -t tmpfs none /mnt; echo mount=$?; hostname evil; echo hostname=$?");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("mount=1"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("hostname=1"), std::string::npos) << describe(r);
}

TEST_F(SecurityIntegration, SysIsReadOnly) {
    // Reads /sys mount flags only: nothing is written to /sys.
    Result r = sh({}, "grep ' /sys ' /proc/self/mountinfo");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_TRUE(has_option(mount_options(mountinfo_line(r.out, "/sys")), "ro")) << r.out;
}

TEST_F(SecurityIntegration, CgroupFsIsReadOnly) {
    Result r = sh({}, "cat /proc/self/mountinfo");
    ASSERT_EXIT_CODE(r, 0);
    int cgroup_mounts = 0;
    for (const auto& line : split_lines(r.out)) {
        std::string t = mount_fstype(line);
        if (t != "cgroup" && t != "cgroup2") continue;
        ++cgroup_mounts;
        EXPECT_TRUE(has_option(mount_options(line), "ro")) << line;
    }
    EXPECT_GT(cgroup_mounts, 0) << r.out;
}

// A host file as stdout or stdin never reaches the container: root inside could fchown and
// fchmod it (a setuid-root program on the host from `> out.log`, a readable /etc/shadow from
// `< /etc/shadow`). hutch gives the command pipes and relays them.
TEST_F(SecurityIntegration, HostFilesNeverReachTheContainerAsStdio) {
    TempDir dir;
    std::string out = dir / "out.log", in = dir / "in.txt";
    write_file(in, "secret\n", 0600);
    std::string cmd = hutch_binary() + " --root " + roots_.run_root() + " --data-root " + roots_.data_root() +
                      " run --rm -i --network none " + rootfs_ +
                      " sh -c 'cat; for fd in 0 1 2; do readlink /proc/self/fd/$fd | cut -d: -f1; done;"
                      " chmod 4755 /proc/self/fd/1 2>/dev/null; true' < " + in + " > " + out + " 2>&1";
    Result r = run_command({"/bin/sh", "-c", cmd});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(read_file(out), "secret\npipe\npipe\npipe\n");
    struct stat st {};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07000, 0u) << "the container changed the host file's mode";
    ASSERT_EQ(::stat(in.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace hutch_it
