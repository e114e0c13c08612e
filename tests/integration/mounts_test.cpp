// The container's file system: the root (overlay or read-only), volumes, tmpfs, /dev, and the
// masked and read-only paths, as the process inside sees them.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "harness.hpp"

namespace hutch_it {
namespace {

using MountsIntegration = HutchTest;

// --- --read-only ---------------------------------------------------------------------------

TEST_F(MountsIntegration, ReadOnlyRootRefusesWrites) {
    Result r = sh({"--read-only"},
                  "touch /bin/x; echo rc=$?; for d in /tmp /run /var/tmp; do touch $d/ok && echo $d=ok; done");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.err.find("touch: /bin/x: Read-only file system"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("rc=1"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("/tmp=ok"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("/run=ok"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("/var/tmp=ok"), std::string::npos) << describe(r);
}

TEST_F(MountsIntegration, WritableRootAcceptsWrites) {
    // The counterpart of ReadOnlyRootRefusesWrites: without --read-only /bin is writable.
    Result r = sh({}, "touch /bin/x && echo wrote");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("wrote"), std::string::npos) << describe(r);
}

TEST_F(MountsIntegration, ReadOnlyMountinfoShowsRootRo) {
    Result r = run({"--read-only"}, {"cat", "/proc/self/mountinfo"});
    ASSERT_EXIT_CODE(r, 0);
    std::string root = mountinfo_line(r.out, "/");
    ASSERT_FALSE(root.empty()) << r.out;
    EXPECT_TRUE(has_option(mount_options(root), "ro")) << root;
    for (const char* dir : {"/tmp", "/run", "/var/tmp"}) {
        std::string line = mountinfo_line(r.out, dir);
        EXPECT_EQ(mount_fstype(line), "tmpfs") << dir << "\n" << r.out;
        EXPECT_TRUE(has_option(mount_options(line), "rw")) << line;
        EXPECT_TRUE(has_option(mount_options(line), "nosuid")) << line;
        EXPECT_TRUE(has_option(mount_options(line), "nodev")) << line;
    }
    // The generated /etc files must not be a way to write into a read-only container.
    for (const char* file : {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}) {
        std::string line = mountinfo_line(r.out, file);
        EXPECT_TRUE(has_option(mount_options(line), "ro")) << file << ": " << line;
    }
}

TEST_F(MountsIntegration, WritableRootMountinfoShowsRootRw) {
    Result r = run({}, {"cat", "/proc/self/mountinfo"});
    ASSERT_EXIT_CODE(r, 0);
    std::string root = mountinfo_line(r.out, "/");
    EXPECT_TRUE(has_option(mount_options(root), "rw")) << root;
    EXPECT_EQ(mount_fstype(root), "overlay") << root;
    EXPECT_EQ(mountinfo_line(r.out, "/tmp"), "") << "no tmpfs on /tmp without --read-only";
}

TEST_F(MountsIntegration, ReadOnlyTmpfsFalseLeavesTmpReadOnly) {
    Result r = sh({"--read-only", "--read-only-tmpfs=false"},
                  "touch /tmp/x; echo tmp=$?; touch /run/x; echo run=$?; grep -c ' /tmp ' /proc/self/mountinfo");
    EXPECT_EXIT_CODE(r, 1);  // grep -c prints 0 and fails: no mount on /tmp
    EXPECT_NE(r.out.find("tmp=1"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("run=1"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("touch: /tmp/x: Read-only file system"), std::string::npos) << describe(r);
}

// --- the rootfs itself ---------------------------------------------------------------------

TEST_F(MountsIntegration, RootfsDirectoryIsNeverWritten) {
    auto before = list_tree(rootfs_);
    ASSERT_GT(before.size(), 100u) << "the busybox rootfs should hold the applet links";
    ASSERT_TRUE(before.count("/bin/ls") && before.count("/etc/passwd"));
    Result r = sh({},
                  "echo hacked:x:0:0::/:/bin/sh >> /etc/passwd && touch /newfile && rm /bin/ls && "
                  "mkdir /newdir && chmod 700 /etc && "
                  "test -e /newfile && ! test -e /bin/ls && grep -q hacked /etc/passwd && echo visible");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("visible"), std::string::npos) << "writes must be visible in the same container\n"
                                                         << describe(r);
    auto after = list_tree(rootfs_);
    EXPECT_EQ(diff_trees(before, after), "");

    // A second container starts from the pristine rootfs.
    Result fresh = sh({}, "test -e /newfile && echo newfile; test -e /bin/ls && echo ls-present; "
                          "grep -c hacked /etc/passwd; stat -c %a /etc");
    EXPECT_EQ(fresh.out, "ls-present\n0\n755\n") << describe(fresh);
}

TEST_F(MountsIntegration, KeptContainerLayerIsPrivateToIt) {
    // Without --rm the written layer stays with that container's record, not in the rootfs.
    auto before = list_tree(rootfs_);
    Result r = run_raw({"--name", "keeper", rootfs_, "sh", "-c", "echo data > /kept"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(diff_trees(before, list_tree(rootfs_)), "");
    Result other = sh({}, "cat /kept");
    EXPECT_NE(other.code, 0) << describe(other);
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "keeper"}), 0);
}

// --- volumes -------------------------------------------------------------------------------

TEST_F(MountsIntegration, VolumeIsVisibleAndWritable) {
    TempDir host;
    write_file(host / "from-host", "hello from host\n");
    Result r = sh({"-v", host.path() + ":/data"}, "cat /data/from-host && echo from-container > /data/new");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "hello from host\n");
    EXPECT_EQ(read_file(host / "new"), "from-container\n");
}

// Volume propagation, Docker's `:rshared` and `:rslave`, in a mount namespace of the test's own
// that plays the host (its tmpfs sources made shared there): a mount the host makes under either
// source appears in the container; one the container makes appears on the host only through the
// shared volume; the container's root is shared, as Docker makes it for a shared volume. After
// rm, the host's mounts are exactly those the test made. A source on a mount that is not shared
// is one line naming it, exit 125, nothing left.
TEST_F(MountsIntegration, SharedAndSlaveVolumesPropagateAsDockersDo) {
    TempDir base;
    // The container's state on a shared tmpfs, reached through a symlink (as Docker's
    // /var/run/docker is through /var/run -> /run): the mount holding its root must still be
    // found and made private, or the root and every mount in it would show up there.
    const std::string state = base / "state", link = base / "link";
    std::string h = hutch_binary() + " --root " + link + "/run --data-root " + link + "/data";
    std::string h_clean = hutch_binary();
    for (const auto& a : roots_.hutch_args({})) h_clean += " " + a;
    const std::string src = base / "shared", slv = base / "slave", plain = base / "plain";
    const std::string script =
        "set -e; H='" + h + "'; mkdir -p " + src + " " + slv + " " + plain + " " + state + "; "
        "mount -t tmpfs hstate " + state + " && mount --make-shared " + state + " && ln -s " + state + " " + link + "; "
        "mount -t tmpfs hsrc " + src + " && mount --make-shared " + src + "; "
        "mount -t tmpfs hslv " + slv + " && mount --make-shared " + slv + "; "
        "before=$(cut -d' ' -f5 /proc/self/mountinfo | sort); "
        "$H run -d --name prop --network none --cap-add SYS_ADMIN -v " + src + ":/shared:rshared -v " + slv +
        ":/slave:rslave " + rootfs_ + " sleep 60 >/dev/null; "
        "mkdir " + src + "/host " + slv + "/host; "
        "mount -t tmpfs h1 " + src + "/host; mount -t tmpfs h2 " + slv + "/host; "
        "$H exec prop sh -c 'grep -c \" /shared/host \" /proc/self/mountinfo; grep -c \" /slave/host \" /proc/self/mountinfo; "
        "grep \" / / \" /proc/self/mountinfo | grep -c shared:; "
        "mkdir /shared/ctr /slave/ctr; mount -t tmpfs c1 /shared/ctr; mount -t tmpfs c2 /slave/ctr'; "
        "grep -c \" " + src + "/ctr \" /proc/self/mountinfo || true; "
        "grep -c \" " + slv + "/ctr \" /proc/self/mountinfo || true; "
        "cut -d' ' -f5 /proc/self/mountinfo | grep -c '^" + state + "/' || true; "
        "$H rm -f prop >/dev/null; umount " + src + "/ctr " + src + "/host " + slv + "/host; "
        "after=$(cut -d' ' -f5 /proc/self/mountinfo | sort); [ \"$before\" = \"$after\" ] && echo same; "
        "H='" + h_clean + "'; $H run --rm --network none -v " + plain + ":/p:rshared " + rootfs_ + " true || echo exit=$?";
    Result r = run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", script}, {}, 60s);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "1\n1\n1\n1\n0\n0\nsame\nexit=125\n") << "the 6th: mounts under the shared state root";
    EXPECT_EQ(split_lines(r.err).size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("path " + plain + " is mounted on "), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("but it is not a shared mount"), std::string::npos) << describe(r);
    EXPECT_TRUE(roots_.leftovers().empty());
}

TEST_F(MountsIntegration, ReadOnlyVolumeRefusesWrites) {
    TempDir host;
    write_file(host / "f", "x\n");
    Result r = sh({"-v", host.path() + ":/data:ro"},
                  "cat /data/f; touch /data/new; echo rc=$?; grep ' /data ' /proc/self/mountinfo");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("x\n"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("rc=1"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << describe(r);
    EXPECT_FALSE(path_exists(host / "new"));
    std::string line = mountinfo_line(r.out, "/data");
    EXPECT_TRUE(has_option(mount_options(line), "ro")) << line;
}

TEST_F(MountsIntegration, ExplicitRwVolume) {
    TempDir host;
    Result r = sh({"-v", host.path() + ":/data:rw"}, "touch /data/new");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_TRUE(path_exists(host / "new"));
}

TEST_F(MountsIntegration, FileVolume) {
    TempDir host;
    write_file(host / "config", "key=value\n");
    Result r = sh({"-v", host / "config" + ":/etc/app.conf:ro"},
                  "cat /etc/app.conf; test -f /etc/app.conf && echo is-file");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "key=value\nis-file\n");
}

TEST_F(MountsIntegration, VolumeDestinationCreatedInsideContainerOnly) {
    TempDir host;
    auto before = list_tree(rootfs_);
    Result r = sh({"-v", host.path() + ":/deep/new/dir"}, "touch /deep/new/dir/x && echo ok");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_TRUE(path_exists(host / "x"));
    EXPECT_EQ(diff_trees(before, list_tree(rootfs_)), "") << "mount points must not be made in the rootfs";
}

TEST_F(MountsIntegration, ReadOnlyRootWithVolumeMountPointThatDoesNotExist) {
    // As Docker makes it in the container's rw layer before the root turns read-only: the mount
    // point lands in the container's upper dir, never in the rootfs directory or image layer,
    // and the root is read-only all the same.
    TempDir host;
    auto before = list_tree(rootfs_);
    Result r = sh({"--read-only", "-v", host.path() + ":/brand-new-mountpoint"},
                  "touch /brand-new-mountpoint/x && echo volume; touch /y 2>/dev/null || echo root read-only");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "volume\nroot read-only\n") << describe(r);
    EXPECT_TRUE(path_exists(host / "x"));
    EXPECT_EQ(diff_trees(before, list_tree(rootfs_)), "") << "--read-only must not create mount points inside the rootfs directory";
    // An image: its layer is as untouched.
    ASSERT_EXIT_CODE(roots_.hutch({"import", rootfs_, "ro-mountpoint:1"}), 0);
    Result image = roots_.hutch({"run", "--rm", "--network", "none", "--read-only", "-v", host.path() + ":/data/deep",
                                 "ro-mountpoint:1", "ls", "/data/deep"});
    EXPECT_EXIT_CODE(image, 0);
    EXPECT_EQ(image.out, "x\n") << describe(image);
    Result after = roots_.hutch({"run", "--rm", "--network", "none", "ro-mountpoint:1", "ls", "-d", "/data"});
    EXPECT_EXIT_CODE(after, 1);  // the image never got /data
}

TEST_F(MountsIntegration, ReadOnlyRootWithWritableVolume) {
    TempDir host;
    Result r = sh({"--read-only", "-v", host.path() + ":/mnt"}, "touch /mnt/y && echo ok; touch /y; echo rc=$?");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "ok\nrc=1\n") << describe(r);
    EXPECT_TRUE(path_exists(host / "y"));
}

// runc (checkProcMount) refuses any mount on /proc that is not a procfs: `-v DIR:/proc` or
// `--tmpfs /proc` would replace the container's procfs and void its masks.
TEST_F(MountsIntegration, NothingButProcfsOnProc) {
    TempDir host;
    for (const Strings& opts : {Strings{"-v", host.path() + ":/proc"}, Strings{"--tmpfs", "/proc"}}) {
        SCOPED_TRACE(opts[0]);
        Result r = sh(opts, "grep ' /proc ' /proc/self/mountinfo; test -e /proc/self/status && echo procfs");
        if (r.code == 125) continue;  // refused: fine
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_NE(r.out.find("procfs"), std::string::npos) << "/proc is not procfs\n" << describe(r);
    }
}

// --- tmpfs ---------------------------------------------------------------------------------

TEST_F(MountsIntegration, TmpfsWithOptions) {
    Result r = sh({"--tmpfs", "/x:size=1m,mode=700"}, "grep ' /x ' /proc/self/mountinfo; stat -c %a /x");
    ASSERT_EXIT_CODE(r, 0);
    std::string line = mountinfo_line(r.out, "/x");
    ASSERT_FALSE(line.empty()) << r.out;
    EXPECT_EQ(mount_fstype(line), "tmpfs");
    std::string opts = mount_options(line);
    EXPECT_TRUE(has_option(opts, "noexec")) << line;
    EXPECT_TRUE(has_option(opts, "nosuid")) << line;
    EXPECT_TRUE(has_option(opts, "nodev")) << line;
    EXPECT_NE(line.find("size=1024k"), std::string::npos) << line;
    EXPECT_NE(line.find("mode=700"), std::string::npos) << line;
    EXPECT_NE(r.out.find("\n700\n"), std::string::npos) << r.out;
}

TEST_F(MountsIntegration, TmpfsExecOptionRemovesNoexec) {
    Result r = sh({"--tmpfs", "/x:exec"},
                  "grep ' /x ' /proc/self/mountinfo; cp /bin/busybox /x/echo && /x/echo ran");
    ASSERT_EXIT_CODE(r, 0);
    std::string line = mountinfo_line(r.out, "/x");
    EXPECT_FALSE(has_option(mount_options(line), "noexec")) << line;
    EXPECT_TRUE(has_option(mount_options(line), "nosuid")) << line;
    EXPECT_NE(r.out.find("\nran\n"), std::string::npos) << describe(r);
}

TEST_F(MountsIntegration, TmpfsDefaultIsNoexec) {
    Result r = sh({"--tmpfs", "/x"}, "cp /bin/busybox /x/echo && /x/echo ran");
    EXPECT_EQ(r.out.find("ran"), std::string::npos) << describe(r);
    EXPECT_EXIT_CODE(r, 126);
}

TEST_F(MountsIntegration, TmpfsIsEmptyAndPrivate) {
    // A tmpfs over an existing rootfs directory hides its content.
    Result r = sh({"--tmpfs", "/etc"}, "ls -A /etc | grep -v -e hosts -e resolv.conf -e hostname; echo end");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "end\n") << describe(r);
}

// --- /dev ----------------------------------------------------------------------------------

TEST_F(MountsIntegration, DevHoldsOnlyDockersNodes) {
    // docker reference 16-dev-listing.txt (the `core` link is checked by DevCoreLinkFollowsHostKcore).
    Result r = sh({}, "ls -A /dev | grep -vx core; echo ---; "
                      "stat -c '%n %F %t,%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; "
                      "for l in fd stdin stdout stderr ptmx; do echo $l=$(readlink /dev/$l); done");
    ASSERT_EXIT_CODE(r, 0);
    auto parts = r.out.find("---\n");
    ASSERT_NE(parts, std::string::npos);
    EXPECT_EQ(r.out.substr(0, parts),
              "fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n");
    std::string rest = r.out.substr(parts + 4);
    for (const char* want : {"/dev/null character special file 1,3 666", "/dev/zero character special file 1,5 666",
                             "/dev/full character special file 1,7 666", "/dev/random character special file 1,8 666",
                             "/dev/urandom character special file 1,9 666", "/dev/tty character special file 5,0 666",
                             "fd=/proc/self/fd", "stdin=/proc/self/fd/0", "stdout=/proc/self/fd/1",
                             "stderr=/proc/self/fd/2", "ptmx=pts/ptmx"})
        EXPECT_NE(rest.find(want), std::string::npos) << want << "\n" << rest;
}

// runc creates /dev/core -> /proc/kcore only when the host has /proc/kcore (CONFIG_PROC_KCORE);
// Docker's /dev listing (16-dev-listing.txt, taken on a kernel without kcore) has no `core`.
TEST_F(MountsIntegration, DevCoreLinkFollowsHostKcore) {
    bool host_kcore = path_exists("/proc/kcore");
    Result r = sh({}, "readlink /dev/core || echo none");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, host_kcore ? "/proc/kcore\n" : "none\n")
        << "host has /proc/kcore: " << host_kcore;
}

TEST_F(MountsIntegration, DevMounts) {
    Result r = sh({}, "cat /proc/self/mountinfo; stat -c 'shm=%a' /dev/shm; stat -c 'mqueue=%a' /dev/mqueue");
    ASSERT_EXIT_CODE(r, 0);
    std::string dev = mountinfo_line(r.out, "/dev");
    EXPECT_EQ(mount_fstype(dev), "tmpfs") << dev;
    EXPECT_TRUE(has_option(mount_options(dev), "nosuid")) << dev;
    EXPECT_NE(dev.find("size=65536k"), std::string::npos) << dev;
    std::string shm = mountinfo_line(r.out, "/dev/shm");
    EXPECT_EQ(mount_fstype(shm), "tmpfs") << shm;
    for (const char* o : {"nosuid", "noexec", "nodev"}) EXPECT_TRUE(has_option(mount_options(shm), o)) << shm;
    EXPECT_NE(shm.find("size=65536k"), std::string::npos) << shm;
    EXPECT_NE(r.out.find("shm=1777"), std::string::npos) << r.out;
    std::string pts = mountinfo_line(r.out, "/dev/pts");
    EXPECT_EQ(mount_fstype(pts), "devpts") << pts;
    for (const char* o : {"gid=5", "mode=620", "ptmxmode=666"}) EXPECT_NE(pts.find(o), std::string::npos) << pts;
    std::string mq = mountinfo_line(r.out, "/dev/mqueue");
    EXPECT_EQ(mount_fstype(mq), "mqueue") << mq;
    std::string sys = mountinfo_line(r.out, "/sys");
    EXPECT_EQ(mount_fstype(sys), "sysfs") << sys;
    EXPECT_TRUE(has_option(mount_options(sys), "ro")) << sys;
    std::string proc = mountinfo_line(r.out, "/proc");
    EXPECT_EQ(mount_fstype(proc), "proc") << proc;
    for (const char* o : {"nosuid", "noexec", "nodev"}) EXPECT_TRUE(has_option(mount_options(proc), o)) << proc;
}

TEST_F(MountsIntegration, DevShmIsPrivateToTheContainer) {
    Result r = sh({}, "echo x > /dev/shm/hutch-it-marker && echo ok");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_FALSE(path_exists("/dev/shm/hutch-it-marker"));
}

// --- masked and read-only paths ------------------------------------------------------------

const Strings kMaskedPaths = {"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore",
                              "/proc/keys", "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
                              "/proc/timer_list", "/proc/timer_stats", "/sys/devices/virtual/powercap",
                              "/sys/firmware"};

TEST_F(MountsIntegration, MaskedPathsAreMasked) {
    // Every masked path the host has: files read as /dev/null, directories are empty
    // read-only tmpfs.
    std::string script = "cat /proc/self/mountinfo; echo ===;";
    for (const auto& p : kMaskedPaths)
        script += " if [ -e " + p + " ]; then echo \"" + p + " $(stat -c '%F %t,%T' " + p +
                  ") bytes=$(cat " + p + " 2>/dev/null | wc -c) entries=$(ls -A " + p +
                  " 2>/dev/null | wc -l)\"; else echo \"" + p + " absent\"; fi;";
    script += " touch /sys/firmware/x; echo touch=$?";
    Result r = sh({}, script);
    ASSERT_EXIT_CODE(r, 0);
    auto sep = r.out.find("===\n");
    ASSERT_NE(sep, std::string::npos);
    std::string mountinfo = r.out.substr(0, sep), facts = r.out.substr(sep + 4);
    int checked = 0;
    for (const auto& p : kMaskedPaths) {
        SCOPED_TRACE(p);
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) {
            EXPECT_NE(facts.find(p + " absent"), std::string::npos) << facts;
            continue;
        }
        ++checked;
        if (S_ISDIR(st.st_mode)) {
            EXPECT_NE(facts.find(p + " directory 0,0 bytes=0 entries=0"), std::string::npos) << facts;
            std::string line = mountinfo_line(mountinfo, p);
            EXPECT_EQ(mount_fstype(line), "tmpfs") << line;
            EXPECT_TRUE(has_option(mount_options(line), "ro")) << line;
        } else {
            EXPECT_NE(facts.find(p + " character special file 1,3 bytes=0"), std::string::npos) << facts;
        }
    }
    EXPECT_GE(checked, 3) << "the host should have at least /proc/keys, /proc/timer_list, /sys/firmware";
    EXPECT_NE(r.out.find("touch=1"), std::string::npos) << describe(r);
}

TEST_F(MountsIntegration, TimerListHiddenButReadableOnHost) {
    // Distinguishes masking from an empty file: the host's /proc/timer_list has content.
    if (read_file("/proc/timer_list").empty()) GTEST_SKIP() << "host /proc/timer_list is empty";
    Result r = sh({}, "wc -c < /proc/timer_list; wc -c < /proc/interrupts");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "0\n0\n") << describe(r);
}

TEST_F(MountsIntegration, KcoreIsMaskedAsDevNull) {
    if (!path_exists("/proc/kcore"))
        GTEST_SKIP() << "this kernel has no /proc/kcore (CONFIG_PROC_KCORE off): nothing to mask";
    Result r = sh({}, "stat -c '%F %t,%T' /proc/kcore");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "character special file 1,3\n");
}

TEST_F(MountsIntegration, ReadOnlyPaths) {
    Result r = sh({}, "echo x > /proc/sys/kernel/hostname; echo rc=$?; grep -E ' /proc/(bus|fs|irq|sys) ' "
                      "/proc/self/mountinfo");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_NE(r.err.find("can't create /proc/sys/kernel/hostname: Read-only file system"), std::string::npos)
        << describe(r);
    EXPECT_NE(r.out.find("rc=1"), std::string::npos);
    for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"}) {
        if (!path_exists(p)) continue;
        std::string line = mountinfo_line(r.out, p);
        EXPECT_TRUE(has_option(mount_options(line), "ro")) << p << ": " << line;
    }
}

TEST_F(MountsIntegration, PrivilegedHasNoMasksAndWritableSys) {
    // Only looks: nothing is written to /sys or /proc/sys of a privileged container.
    Result r = sh({"--privileged"}, "cat /proc/self/mountinfo; echo ===; wc -c < /proc/timer_list; "
                                    "ls /sys/firmware | wc -l");
    ASSERT_EXIT_CODE(r, 0);
    auto sep = r.out.find("===\n");
    ASSERT_NE(sep, std::string::npos);
    std::string mountinfo = r.out.substr(0, sep);
    for (const auto& p : kMaskedPaths) EXPECT_EQ(mountinfo_line(mountinfo, p), "") << p << " must not be masked";
    for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})
        EXPECT_EQ(mountinfo_line(mountinfo, p), "") << p << " must not be read-only";
    std::string sys = mountinfo_line(mountinfo, "/sys");
    EXPECT_TRUE(has_option(mount_options(sys), "rw")) << sys;
    std::string facts = r.out.substr(sep + 4);
    auto lines = split_lines(facts);
    ASSERT_EQ(lines.size(), 2u) << facts;
    if (!read_file("/proc/timer_list").empty()) {
        EXPECT_NE(lines[0], "0") << "timer_list should be readable";
    }
    EXPECT_NE(lines[1], "0") << "/sys/firmware should show the host's entries";
}

TEST_F(MountsIntegration, PrivilegedSeesHostDevices) {
    // --privileged copies the host's device nodes; the default container has only six.
    struct stat st {};
    if (::stat("/dev/vda", &st) != 0 && ::stat("/dev/loop-control", &st) != 0)
        GTEST_SKIP() << "no /dev/vda or /dev/loop-control on the host to look for";
    std::string node = ::stat("/dev/vda", &st) == 0 ? "/dev/vda" : "/dev/loop-control";
    Result priv = sh({"--privileged"}, "test -e " + node + " && echo present");
    EXPECT_EQ(priv.out, "present\n") << describe(priv);
    Result plain = sh({}, "test -e " + node + " && echo present; true");
    EXPECT_EQ(plain.out, "") << describe(plain);
}

// --- /etc files ----------------------------------------------------------------------------

TEST_F(MountsIntegration, EtcHostsDefault) {
    Result r = run({"-h", "myhost"}, {"cat", "/etc/hosts"});
    ASSERT_EXIT_CODE(r, 0);
    // docker reference 02-etc-hosts-default.txt, minus the bridge address (hutch has no bridge).
    const std::string head =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
    EXPECT_EQ(r.out.substr(0, head.size()), head) << r.out;
}

TEST_F(MountsIntegration, AddHostLines) {
    Result r = run({"--add-host", "server1:123.45.67.89", "--add-host", "v6=[::1]"}, {"cat", "/etc/hosts"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("\n123.45.67.89\tserver1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n::1\tv6\n"), std::string::npos) << r.out;
}

TEST_F(MountsIntegration, EtcFilesAreRootOwned0644) {
    Result r = sh({}, "stat -c '%n %a %U' /etc/hosts /etc/resolv.conf /etc/hostname");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "/etc/hosts 644 root\n/etc/resolv.conf 644 root\n/etc/hostname 644 root\n");
}

TEST_F(MountsIntegration, EtcFilesAreNotTheRootfsOnes) {
    // hutch generates them per container; the rootfs's own files stay untouched.
    auto before = list_tree(rootfs_);
    Result r = sh({"-h", "gen"}, "echo changed > /etc/hostname; cat /etc/hostname");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "changed\n");
    EXPECT_EQ(diff_trees(before, list_tree(rootfs_)), "");
}

TEST_F(MountsIntegration, ResolvConfWithoutLoopbackNameservers) {
    // With its own network namespace the container cannot reach the host's loopback resolver.
    Result r = run({}, {"cat", "/etc/resolv.conf"});
    ASSERT_EXIT_CODE(r, 0);
    int nameservers = 0;
    for (const auto& line : split_lines(r.out)) {
        if (line.rfind("nameserver ", 0) != 0) continue;
        ++nameservers;
        std::string addr = trim(line.substr(11));
        EXPECT_NE(addr.rfind("127.", 0), 0u) << line;
        EXPECT_NE(addr, "::1") << line;
    }
    EXPECT_GT(nameservers, 0) << r.out;
    bool host_only_loopback = true;
    for (const auto& line : split_lines(read_file("/etc/resolv.conf")))
        if (line.rfind("nameserver ", 0) == 0 && line.find(" 127.") == std::string::npos &&
            line.find(" ::1") == std::string::npos)
            host_only_loopback = false;
    if (host_only_loopback) {
        EXPECT_NE(r.out.find("nameserver 8.8.8.8"), std::string::npos) << r.out;
    }
}

TEST_F(MountsIntegration, DnsFlagsWriteResolvConf) {
    Result r = run({"--dns", "192.0.2.1", "--dns-search", "example.org", "--dns-option", "ndots:2"},
                   {"cat", "/etc/resolv.conf"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("nameserver 192.0.2.1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("search example.org"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("options ndots:2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace hutch_it
