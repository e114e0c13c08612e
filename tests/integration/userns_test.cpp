// User namespaces for `hutch run` (issue 17, root's half): --uidmap/--gidmap and the host
// config's userns-remap. Observed from inside (the maps, ids, what the root and volumes show,
// capabilities) and from the host (the process's real uid, owners on disk, the rootfs untouched).
//
// /etc/subuid and /etc/subgid are only ever replaced inside a private mount namespace of the
// test (unshare -m), by binds of temp files: the machine's own files are never written.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace hutch_it {
namespace {

const Strings kMap = {"--uidmap", "0:200000:65536"};

class UsernsIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        // The container's root (host uid 200000) must reach nothing of the test's through the
        // temp dir's mode: what it gets, it gets through mounts the parent made.
        ASSERT_EQ(::chmod(roots_.base().c_str(), 0700), 0);
    }
    void TearDown() override { remove_all_containers(roots_); }

    // The first line of /proc/self/uid_map, as "INSIDE OUTSIDE SIZE".
    static std::string map_line(const std::string& text) {
        std::istringstream in(text);
        std::string a, b, c;
        in >> a >> b >> c;
        return a + " " + b + " " + c;
    }

    // Runs hutch ARGS in a private mount namespace where /etc/subuid and /etc/subgid are the
    // test's temp files with these contents. Skips when the machine has no such files to bind
    // over (a test never creates one in the machine's /etc).
    Result with_subids(const std::string& subuid_text, const std::string& subgid_text, const Strings& args) {
        std::string subuid = roots_.base() + "/subuid", subgid = roots_.base() + "/subgid";
        write_file(subuid, subuid_text);
        write_file(subgid, subgid_text);
        // The paths are the test's own temp paths: no quote in them.
        std::string command = "mount --bind '" + subuid + "' /etc/subuid && mount --bind '" + subgid +
                              "' /etc/subgid && exec '" + hutch_binary() + "'";
        for (const auto& arg : roots_.hutch_args(args)) command += " '" + arg + "'";
        return run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", command});
    }
    static std::string subids_missing() {
        for (const char* file : {"/etc/subuid", "/etc/subgid"})
            if (!path_exists(file)) return std::string(file) + " does not exist here: the test binds over it, it never creates one";
        return "";
    }

    static uid_t owner_of(const std::string& path) {
        struct stat st {};
        return ::lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
    }
};

// The container's root is host uid 200000: its uid_map says so, the host sees that uid, and the
// rootfs' files (the host root's) still show as root's inside, through the idmapped layer.
TEST_F(UsernsIntegration, RootInsideIsAHostIdOfTheRange) {
    Result r = sh(kMap, "id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map; stat -c '%u:%g' /bin/busybox /; "
                        "grep CapEff /proc/self/status; readlink /proc/self/ns/user");
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 8u) << describe(r);
    EXPECT_EQ(lines[0], "0");
    EXPECT_EQ(lines[1], "0");
    EXPECT_EQ(map_line(lines[2]), "0 200000 65536");
    EXPECT_EQ(map_line(lines[3]), "0 200000 65536") << "--gidmap defaults to the --uidmap";
    EXPECT_EQ(lines[4], "0:0") << "the rootfs' files show with the ids they have on disk";
    EXPECT_EQ(lines[5], "0:0") << "the root directory is the container's root's";
    EXPECT_EQ(lines[6], "CapEff:\t00000000a80425fb") << "Docker's 14 capabilities, in the namespace";
    EXPECT_NE(lines[7], ns_link("user"));

    // From the host: the process's ids are the mapped ones.
    Result d = run_detached(roots_, rootfs_, kMap, {"sleep", "60"});
    std::string id = started_id(d);
    ASSERT_FALSE(id.empty());
    pid_t pid = container_pid(roots_, id);
    ASSERT_GT(pid, 0);
    std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    EXPECT_EQ(status_field(status, "Uid"), "200000\t200000\t200000\t200000");
    EXPECT_EQ(status_field(status, "Gid"), "200000\t200000\t200000\t200000");
    // An exec joins the same user namespace, as the same root.
    Result e = roots_.hutch({"exec", id, "sh", "-c", "id -u; readlink /proc/self/ns/user"});
    ASSERT_EXIT_CODE(e, 0);
    EXPECT_EQ(e.out, "0\n" + ns_link("user", pid) + "\n");
}

// Nothing of the rootfs changes on disk, whatever the container writes; what it writes lands in
// its own upper dir with the mapped ids.
TEST_F(UsernsIntegration, TheRootfsOnDiskIsUntouched) {
    auto before = list_tree(rootfs_);
    Result d = run_detached(roots_, rootfs_, kMap,
                            {"sh", "-c", "echo x > /etc/written && chmod 600 /etc/passwd && chown 1:1 /bin && "
                                         "rm /bin/true && mkdir /new && echo ready && sleep 60"});
    std::string id = started_id(d);
    ASSERT_FALSE(id.empty());
    std::string upper = roots_.data_root() + "/containers/" + id + "/upper";
    for (int i = 0; i < 100 && !path_exists(upper + "/new"); ++i) ::usleep(50 * 1000);
    EXPECT_EQ(owner_of(upper + "/etc/written"), 200000u) << "written by the container's root";
    EXPECT_EQ(owner_of(upper + "/etc/passwd"), 200000u) << "copied up for its new mode, then the container's";
    EXPECT_EQ(owner_of(upper + "/bin"), 200001u) << "chown 1:1 inside is host uid 200001";
    EXPECT_EQ(owner_of(upper + "/new"), 200000u);
    EXPECT_EQ(diff_trees(before, list_tree(rootfs_)), "") << "the rootfs changed on disk";
}

// A plain volume keeps its host owners: the container's root owns only what its host id owns,
// and a file it makes there belongs to that id. With :idmap the volume shows its disk owners
// inside, and what root makes there is the host root's.
TEST_F(UsernsIntegration, VolumesKeepHostOwnersOrTakeTheMapWithIdmap) {
    std::string mine = roots_.base() + "/mine", roots = roots_.base() + "/roots", mapped = roots_.base() + "/mapped";
    for (const auto& dir : {mine, roots, mapped}) ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    ASSERT_EQ(::chown(mine.c_str(), 200000, 200000), 0);
    write_file(roots + "/secret", "host root only\n", 0600);
    Result r = sh({"--uidmap", "0:200000:65536", "-v", mine + ":/mine", "-v", roots + ":/roots", "-v", mapped + ":/mapped:idmap"},
                  "touch /mine/made; echo -n 'secret: '; cat /roots/secret 2>/dev/null || echo denied; "
                  "touch /roots/x 2>/dev/null && echo wrote-roots || echo roots-read-only-to-me; "
                  "stat -c %u /roots/secret; touch /mapped/made && stat -c %u /mapped/made");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "secret: denied\nroots-read-only-to-me\n65534\n0\n") << describe(r);
    EXPECT_EQ(owner_of(mine + "/made"), 200000u);
    EXPECT_EQ(owner_of(mapped + "/made"), 0u) << "root inside an idmapped volume is the disk's root";
    EXPECT_FALSE(path_exists(roots + "/x"));
}

// One source mounted twice is two mounts, each with its own options.
TEST_F(UsernsIntegration, OneSourceTwiceIsTwoMounts) {
    std::string dir = roots_.base() + "/data";
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    ASSERT_EQ(::chown(dir.c_str(), 200000, 200000), 0);
    Result r = sh({"--uidmap", "0:200000:65536", "-v", dir + ":/rw", "-v", dir + ":/ro:ro", "-v", dir + ":/mapped:idmap"},
                  "echo through-rw > /rw/f && cat /ro/f; touch /ro/g 2>/dev/null || echo ro-refused; stat -c %u /rw/f /mapped/f");
    ASSERT_EXIT_CODE(r, 0);
    // Host uid 200000 is root inside through the plain mounts; through the idmapped one it is
    // disk uid 200000, which the map sends past its range.
    EXPECT_EQ(r.out, "through-rw\nro-refused\n0\n65534\n") << describe(r);
    EXPECT_EQ(read_file(dir + "/f"), "through-rw\n") << "the write reached the volume";
}

// The parent's copies reach the child's namespace locked and as slaves, as a namespace copied
// into a user namespace is: with CAP_SYS_ADMIN in its namespace, the container can neither
// unmount a volume's submount to see what it hides, nor make a read-only volume writable, nor
// send a mount back out through a shared volume. Run in a mount namespace of the test's own,
// whose tmpfs "world" plays the host's shared mounts.
TEST_F(UsernsIntegration, CopiesAreLockedAndReceiveOnly) {
    const std::string world = roots_.base() + "/world";
    ASSERT_EQ(::mkdir(world.c_str(), 0755), 0);
    const std::string script =
        "set -e; W='" + world + "'; mount -t tmpfs world \"$W\"; mount --make-shared \"$W\"; "
        "mkdir -p \"$W/vol/sub\" \"$W/vol/new\" \"$W/ro\"; echo hidden > \"$W/vol/sub/hidden\"; mount -t tmpfs sub \"$W/vol/sub\"; "
        "set +e; '" + hutch_binary() + "'";
    std::string command = script;
    for (const auto& arg : roots_.hutch_args({"run", "--rm", "--network", "none", "--uidmap", "0:200000:65536", "--cap-add",
                                              "SYS_ADMIN", "-v", world + "/vol:/vol:rshared", "-v", world + "/ro:/ro:ro",
                                              rootfs_, "sh", "-c",
                                              "umount /vol/sub 2>/dev/null && echo UNMOUNTED; "
                                              "cat /vol/sub/hidden 2>/dev/null && echo REVEALED; "
                                              "mount -o remount,bind,rw /ro 2>/dev/null && echo RO-CLEARED; "
                                              "touch /ro/x 2>/dev/null && echo WROTE-RO; "
                                              "mount -t tmpfs inside /vol/new && echo MOUNTED-INSIDE"}))
        command += " '" + arg + "'";
    command += "; echo \"exit=$?\"; grep -c ' inside ' /proc/self/mountinfo";
    Result r = run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", command});
    EXPECT_EQ(r.out, "MOUNTED-INSIDE\nexit=0\n0\n") << "a mount made inside must stay inside: " << describe(r);
}

// A breakout simulation: the host's root-only file bound in, and every capability the container
// can have, is still out of reach: the capabilities are the namespace's, the file is not.
TEST_F(UsernsIntegration, AHostRootFileStaysOutOfReachWithEveryCapability) {
    std::string dir = roots_.base() + "/host";
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    write_file(dir + "/shadow", "root:secret\n", 0600);
    Result r = sh({"--uidmap", "0:200000:65536", "--cap-add", "ALL", "-v", dir + ":/host"},
                  "cat /host/shadow 2>&1; chmod 666 /host/shadow 2>&1; chown 0 /host/shadow 2>&1; "
                  "echo pwned > /host/shadow 2>&1; echo done");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out.find("root:secret"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << describe(r);
    EXPECT_EQ(read_file(dir + "/shadow"), "root:secret\n");
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/shadow").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
}

// The rest of a container works inside: its bridge network (the test's own bridge, no firewall),
// /etc files its root may edit, /proc and sysfs, devices bound from the host, -u of the image.
TEST_F(UsernsIntegration, NetworkEtcFilesProcSysAndDevicesWork) {
    Result r = sh({"--uidmap", "0:200000:65536", "--network", "bridge", "--hostname", "remapped", "-u", "65534"},
                  "id -u; ip -4 addr show eth0 | grep -c inet; cat /etc/hostname; ls /sys/class/net | grep -c lo; "
                  "cat /proc/1/status | grep -c Name; echo x > /dev/null && echo null-ok; "
                  "cat /proc/sys/net/ipv4/ping_group_range");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "65534\n1\nremapped\n1\n1\nnull-ok\n0\t65535\n") << describe(r);
    Result etc = sh(kMap, "echo '10.1.2.3 extra' >> /etc/hosts && tail -1 /etc/hosts; stat -c %u /etc/hosts");
    ASSERT_EXIT_CODE(etc, 0);
    EXPECT_EQ(etc.out, "10.1.2.3 extra\n0\n");
}

// The parent's thread leaves the staging namespace where it was: relative state roots still
// name the same directories after the start (setns alone would put it at "/").
TEST_F(UsernsIntegration, RelativeStateRootsSurviveTheStaging) {
    auto in_base = [&](const std::string& args) {
        return run_command({"/bin/sh", "-c", "cd '" + roots_.base() + "' && exec '" + hutch_binary() +
                                                 "' --root run --data-root data --config config.json " + args});
    };
    Result d = in_base("run -d --name rel --network none --uidmap 0:200000:65536 '" + rootfs_ + "' sleep 60");
    ASSERT_EXIT_CODE(d, 0);
    Result ps = in_base("ps --format '{{.Names}} {{.Status}}'");
    EXPECT_EQ(ps.out.substr(0, 7), "rel Up ") << describe(ps);
    EXPECT_EQ(roots_.container_ids().size(), 1u) << "the record is under the relative root";
}

// Today's bars hold in a user namespace: masked and read-only paths, exit codes 126 and 127,
// /proc/sys read-only, the command's pid 1.
TEST_F(UsernsIntegration, MaskedPathsAndExitCodesHold) {
    Result r = sh(kMap, "wc -c < /proc/interrupts; ls /sys/firmware | wc -l; touch /sys/firmware/x 2>/dev/null || echo ro; "
                        "echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-read-only; echo $$");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "0\n0\nro\nsys-read-only\n1\n")
        << "/proc/interrupts is /dev/null, /sys/firmware an empty read-only tmpfs, /proc/sys read-only: " << describe(r);
    EXPECT_EXIT_CODE(run(kMap, {"/nosuch"}), 127);
    EXPECT_EXIT_CODE(run(kMap, {"/etc/passwd"}), 126);
    EXPECT_EXIT_CODE(sh(kMap, "exit 7"), 7);
}

// A container without a user namespace may join a remapped one's namespaces (root on the host
// may enter any). A remapped one joins another's network (hutch's parent enters it for the
// clone, and /sys is the host's bound read-only, as runc binds it); joining its pid or ipc
// namespace, it joins that container's user namespace too, as Docker's containers do (their
// root alone may mount /proc and /dev/mqueue there), with the same maps or none given.
TEST_F(UsernsIntegration, JoiningARemappedContainer) {
    Result d = run_detached(roots_, rootfs_, kMap, {"sleep", "60"});
    std::string id = started_id(d);
    ASSERT_FALSE(id.empty());
    pid_t pid = container_pid(roots_, id);
    ASSERT_GT(pid, 0);
    Result joined = run({"--network", "container:" + id, "--pid", "container:" + id},
                        {"sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/user; tr '\\0' ' ' < /proc/1/cmdline"});
    ASSERT_EXIT_CODE(joined, 0);
    EXPECT_EQ(joined.out, ns_link("net", pid) + "\n" + ns_link("user") + "\nsleep 60 ") << describe(joined);
    Result remapped = run({"--network", "container:" + id, "--uidmap", "0:300000:65536"},
                          {"sh", "-c", "readlink /proc/self/ns/net; cat /proc/self/uid_map; touch /sys/x 2>/dev/null || echo sys-ro"});
    ASSERT_EXIT_CODE(remapped, 0);
    Strings lines = remapped.out_lines();
    ASSERT_EQ(lines.size(), 3u) << describe(remapped);
    EXPECT_EQ(lines[0], ns_link("net", pid));
    EXPECT_EQ(map_line(lines[1]), "0 300000 65536");
    EXPECT_EQ(lines[2], "sys-ro");
    // The monitor of a detached one, hutch's parent, went back to its own network and mounts.
    std::string joiner = started_id(
        roots_.hutch({"run", "-d", "--network", "container:" + id, "--uidmap", "0:300000:65536", rootfs_, "sleep", "60"}));
    ASSERT_FALSE(joiner.empty());
    pid_t monitor = parent_of(container_pid(roots_, joiner));
    ASSERT_GT(monitor, 0);
    EXPECT_EQ(ns_link("net", monitor), ns_link("net"));
    EXPECT_EQ(ns_link("mnt", monitor), ns_link("mnt"));
    // Its pid and ipc namespaces, hence its user namespace: the sleeper is pid 1 there and may be
    // signalled, /proc and /dev/mqueue are mounted, and the root is still the idmapped layer.
    Result pid_join = run({"--pid", "container:" + id, "--ipc", "container:" + id, "--uidmap", "0:200000:65536"},
                          {"sh", "-c", "cat /proc/self/uid_map; tr '\\0' ' ' < /proc/1/cmdline; echo; readlink /proc/self/ns/user; "
                                       "readlink /proc/self/ns/ipc; grep -c ' /dev/mqueue ' /proc/self/mountinfo; "
                                       "kill -0 1 && echo signals; stat -c %u /bin/busybox; touch /made && echo writes"});
    ASSERT_EXIT_CODE(pid_join, 0);
    Strings got = pid_join.out_lines();
    ASSERT_EQ(got.size(), 8u) << describe(pid_join);
    EXPECT_EQ(map_line(got[0]), "0 200000 65536");
    EXPECT_EQ(got[1], "sleep 60 ");
    EXPECT_EQ(got[2], ns_link("user", pid));
    EXPECT_EQ(got[3], ns_link("ipc", pid));
    EXPECT_EQ(Strings(got.begin() + 4, got.end()), (Strings{"1", "signals", "0", "writes"}));
    // Other maps than that namespace's own, or a container without a user namespace: refused.
    Result other = run({"--pid", "container:" + id, "--uidmap", "0:300000:65536"}, {"true"});
    EXPECT_EXIT_CODE(other, 125);
    EXPECT_NE(other.err.find("shares that container's user namespace and its ids, so other --uidmap/--gidmap cannot apply"),
              std::string::npos)
        << describe(other);
    // audit judges the same flags as run does (4.1 passes: root is host uid 200000).
    Result audit = roots_.hutch({"audit", "--network", "none", "--uidmap", "0:200000:65536", "--pid", "container:" + id, rootfs_});
    EXPECT_NE(audit.out.find("4.1 root-user           PASS"), std::string::npos) << describe(audit);
    // A joiner made before its target restarted names the target's old pid: refused at its start.
    Result made = roots_.hutch({"create", "--network", "none", "--uidmap", "0:200000:65536", "--pid", "container:" + id, rootfs_, "true"});
    ASSERT_EXIT_CODE(made, 0);
    const std::string joiner_id = trim(made.out);
    ASSERT_EXIT_CODE(roots_.hutch({"restart", "-t", "0", id}), 0);
    Result stale = roots_.hutch({"start", joiner_id});
    EXPECT_EXIT_CODE(stale, 125);
    EXPECT_EQ(stale.err_lines().size(), 1u) << describe(stale);
    EXPECT_TRUE(stale.err.find("is gone") != std::string::npos || stale.err.find("has restarted since") != std::string::npos)
        << describe(stale);
    std::string plain = started_id(run_detached(roots_, rootfs_, {}, {"sleep", "60"}));
    ASSERT_FALSE(plain.empty());
    // Without a user namespace the same: the joiner's start names the target's restart.
    Result made_plain = roots_.hutch({"create", "--network", "container:" + plain, rootfs_, "true"});
    ASSERT_EXIT_CODE(made_plain, 0);
    ASSERT_EXIT_CODE(roots_.hutch({"restart", "-t", "0", plain}), 0);
    Result stale_plain = roots_.hutch({"start", trim(made_plain.out)});
    EXPECT_EXIT_CODE(stale_plain, 125);
    EXPECT_NE(stale_plain.err.find("has restarted since this one was made"), std::string::npos) << describe(stale_plain);
    Result into_plain = run({"--ipc", "container:" + plain, "--uidmap", "0:300000:65536"}, {"true"});
    EXPECT_EXIT_CODE(into_plain, 125);
    EXPECT_NE(into_plain.err.find("that container has no user namespace"), std::string::npos) << describe(into_plain);
    EXPECT_EQ(into_plain.err_lines().size(), 1u) << describe(into_plain);
}

// `hutch audit` counts a remapped root as a pass; --explain shows the map writes and the
// idmapped layer.
TEST_F(UsernsIntegration, AuditPassesAndExplainShowsTheMaps) {
    Result audit = roots_.hutch({"audit", "--uidmap", "0:200000:65536", rootfs_});
    EXPECT_NE(audit.out.find("4.1 root-user           PASS"), std::string::npos) << describe(audit);
    EXPECT_NE(audit.out.find("host uid 200000"), std::string::npos) << describe(audit);
    Result plain = roots_.hutch({"audit", rootfs_});
    EXPECT_EQ(plain.out.find("4.1 root-user           PASS"), std::string::npos) << describe(plain);

    Result r = run({"--explain", "--network", "none", "--uidmap", "0:200000:65536"}, {"true"});
    ASSERT_EXIT_CODE(r, 0);
    for (const char* line : {"uid_map\", \"0 200000 65536\\n\"", "gid_map\", \"0 200000 65536\\n\"",
                             "MOUNT_ATTR_IDMAP, attr_clr=0, userns_fd=user:[", "fsconfig(", "\"lowerdir+\"",
                             "move_mount(", "setresuid(0, 0, 0)"})
        EXPECT_NE(r.err.find(line), std::string::npos) << line << "\n" << describe(r);
}

// The host config's "userns-remap": every container maps onto hutch's /etc/subuid range, unless
// --userns host. Run in a private mount namespace over temp copies of /etc/subuid and subgid.
TEST_F(UsernsIntegration, UsernsRemapUsesTheSubordinateRanges) {
    if (std::string why = subids_missing(); !why.empty()) GTEST_SKIP() << why;
    std::string subgid_text = "hutch:400000:65536\n";
    std::string config = roots_.base() + "/config.json";
    std::string text = read_file(config);
    ASSERT_FALSE(text.empty());
    write_file(config, text.substr(0, text.rfind('}')) + ", \"userns-remap\": \"default\"}\n");
    auto in_private_etc = [&](const Strings& args) {
        return with_subids("someone:100000:65536\nhutch:300000:65536\n", subgid_text, args);
    };
    Result r = in_private_etc({"run", "--rm", "--network", "none", rootfs_, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map"});
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 2u) << describe(r);
    EXPECT_EQ(map_line(lines[0]), "0 300000 65536");
    EXPECT_EQ(map_line(lines[1]), "0 400000 65536");
    Result host = in_private_etc({"run", "--rm", "--network", "none", "--userns", "host", rootfs_, "cat", "/proc/self/uid_map"});
    ASSERT_EXIT_CODE(host, 0);
    EXPECT_EQ(map_line(host.out), "0 0 4294967295");
    // --network host needs the host's ids: refused under the remap, as Docker refuses it.
    Result net = in_private_etc({"run", "--rm", "--network", "host", rootfs_, "true"});
    EXPECT_EXIT_CODE(net, 125);
    EXPECT_NE(net.err.find("cannot share the host's network namespace when user namespaces are enabled"), std::string::npos)
        << describe(net);
    // Joining a remapped container's pid namespace joins its user namespace, as under Docker's
    // userns-remap: no flag needed.
    Result sleeper = in_private_etc({"run", "-d", "--network", "none", rootfs_, "sleep", "60"});
    ASSERT_EXIT_CODE(sleeper, 0);
    const std::string sleeper_id = started_id(sleeper);
    Result joined = in_private_etc({"run", "--rm", "--network", "none", "--pid", "container:" + sleeper_id, rootfs_, "sh", "-c",
                                    "readlink /proc/self/ns/user; cat /proc/1/comm"});
    ASSERT_EXIT_CODE(joined, 0);
    EXPECT_EQ(joined.out, ns_link("user", container_pid(roots_, sleeper_id)) + "\nsleep\n") << describe(joined);
    roots_.hutch({"rm", "-f", sleeper_id});
    // No entry for hutch: the line names the file and the user.
    subgid_text = "someone:100000:65536\n";
    Result missing = in_private_etc({"run", "--rm", "--network", "none", rootfs_, "true"});
    EXPECT_EXIT_CODE(missing, 125);
    EXPECT_NE(missing.err.find("/etc/subgid has no entry for hutch"), std::string::npos) << describe(missing);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

// --userns auto: each container a slot of its own from hutch's ranges, held while its record
// exists; a removed container's slot goes to the next.
TEST_F(UsernsIntegration, UsernsAutoGivesEachContainerItsOwnSlot) {
    if (std::string why = subids_missing(); !why.empty()) GTEST_SKIP() << why;
    // Three slots of 65536 ids: the third crosses from the second range into the third.
    const std::string subuid = "hutch:1000000:65536\nhutch:2000000:100000\nhutch:3000000:31072\n";
    const std::string subgid = "hutch:5000000:196608\n";
    auto start = [&](const std::string& name, const std::string& mode) {
        return with_subids(subuid, subgid, {"run", "-d", "--name", name, "--network", "none", "--userns", mode, rootfs_,
                                            "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; sleep 60"});
    };
    auto maps_of = [&](const std::string& name) {
        Result logs;
        for (int i = 0; i < 100; ++i) {
            logs = roots_.hutch({"logs", name});
            if (logs.out_lines().size() >= 2) break;
            ::usleep(50 * 1000);
        }
        Strings out;
        for (const auto& line : logs.out_lines()) out.push_back(map_line(line));
        return out;
    };
    ASSERT_EXIT_CODE(start("a1", "auto"), 0);
    ASSERT_EXIT_CODE(start("a2", "auto:size=1000"), 0);
    ASSERT_EXIT_CODE(start("a3", "auto"), 0);
    EXPECT_EQ(maps_of("a1"), (Strings{"0 1000000 65536", "0 5000000 65536"}));
    EXPECT_EQ(maps_of("a2"), (Strings{"0 2000000 1000", "0 5065536 1000"}));
    EXPECT_EQ(maps_of("a3"), (Strings{"0 2065536 34464", "34464 3000000 31072", "0 5131072 65536"}));
    Result full = start("a4", "auto");
    EXPECT_EXIT_CODE(full, 125);
    EXPECT_NE(full.err.find("all 3 slots"), std::string::npos) << describe(full);
    // a2 goes: its slot is the next container's.
    ASSERT_EXIT_CODE(roots_.hutch({"rm", "-f", "a2"}), 0);
    ASSERT_EXIT_CODE(start("a5", "auto"), 0);
    EXPECT_EQ(maps_of("a5"), (Strings{"0 2000000 65536", "0 5065536 65536"})) << "a2's slot, now whole";
    // a1's ipc namespace alone would keep a1's slot past a1's removal: refused; with its pid
    // namespace too (the joiner ends with a1), joined.
    const Strings a1_map = {"--uidmap", "0:1000000:65536", "--gidmap", "0:5000000:65536"};
    Strings ipc_only = {"run", "--rm", "--network", "none", "--ipc", "container:a1"};
    ipc_only.insert(ipc_only.end(), a1_map.begin(), a1_map.end());
    ipc_only.insert(ipc_only.end(), {rootfs_, "true"});
    Result refused = with_subids(subuid, subgid, ipc_only);
    EXPECT_EXIT_CODE(refused, 125);
    EXPECT_NE(refused.err.find("that container's ids are a --userns auto slot"), std::string::npos) << describe(refused);
    Strings both = ipc_only;
    both.insert(both.begin() + 4, {"--pid", "container:a1"});
    EXPECT_EXIT_CODE(with_subids(subuid, subgid, both), 0);
    // Nor through a container that joined a1's namespaces: it is the user namespace's slot.
    Strings joiner = {"run", "-d", "--name", "y1", "--network", "none", "--pid", "container:a1", "--ipc", "container:a1"};
    joiner.insert(joiner.end(), a1_map.begin(), a1_map.end());
    joiner.insert(joiner.end(), {rootfs_, "sleep", "60"});
    ASSERT_EXIT_CODE(with_subids(subuid, subgid, joiner), 0);
    Strings through = ipc_only;
    through[5] = "container:y1";
    Result via_y1 = with_subids(subuid, subgid, through);
    EXPECT_EXIT_CODE(via_y1, 125);
    EXPECT_NE(via_y1.err.find("that container's ids are a --userns auto slot"), std::string::npos) << describe(via_y1);
}

// Rootless hutch is not built yet: a user without root gets one line saying so for every
// command that makes or starts a container, and nothing is made. (Run as nobody through
// setpriv: the machine's users are not touched.)
// Without root and without subordinate ids (nobody has none here), the start is refused in one
// line naming the file and the line to add, before anything is made; hutch profile needs root.
// Rootless hutch itself: rootless_test.cpp.
TEST_F(UsernsIntegration, WithoutRootOrSubordinateIdsTheStartIsRefusedInOneLine) {
    if (read_file("/etc/subuid").find("nobody:") != std::string::npos) GTEST_SKIP() << "this machine gives nobody subordinate ids";
    const std::string roots = roots_.base() + "/nobody";
    ASSERT_EQ(::mkdir(roots.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(roots_.base().c_str(), 0711), 0);
    for (const Strings& command : {Strings{"run", "--rm", "--network", "none", rootfs_, "true"},
                                   Strings{"create", "--network", "none", rootfs_, "true"},
                                   Strings{"profile", "--network", "none", rootfs_, "true"}}) {
        Strings argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", hutch_binary(),
                        "--root", roots + "/run", "--data-root", roots + "/data"};
        argv.insert(argv.end(), command.begin(), command.end());
        Result r = run_command(argv);
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        if (command[0] == "profile")
            EXPECT_NE(r.err.find("hutch profile needs root"), std::string::npos) << describe(r);
        else if (::access("/usr/bin/newuidmap", X_OK) == 0)
            EXPECT_NE(r.err.find("/etc/subuid has no entry for nobody"), std::string::npos) << describe(r);
        else
            EXPECT_NE(r.err.find("newuidmap"), std::string::npos) << describe(r);
    }
    EXPECT_EQ(list_dir(roots), Strings{}) << "nothing made";
}

struct BadUserns {
    const char* name;
    Strings flags;
    const char* message;
};

class UsernsBadInput : public HutchTest, public ::testing::WithParamInterface<BadUserns> {};

// One line naming the bad value, exit 125, nothing left behind.
TEST_P(UsernsBadInput, IsRefusedWithNothingLeft) {
    const BadUserns& bad = GetParam();
    Strings opts = {"--network", "none"};
    for (auto flag : bad.flags) {
        if (flag.find("@") != std::string::npos) flag.replace(flag.find("@"), 1, roots_.base());
        opts.push_back(flag);
    }
    Result r = run(opts, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find(bad.message), std::string::npos) << describe(r);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

INSTANTIATE_TEST_SUITE_P(
    Refused, UsernsBadInput,
    ::testing::Values(
        BadUserns{"NotANumber", {"--uidmap", "0:abc:10"}, "invalid --uidmap \"0:abc:10\""},
        BadUserns{"TwoFields", {"--uidmap", "0:200000"}, "expected CONTAINER:HOST:SIZE"},
        BadUserns{"SizeZero", {"--uidmap", "0:200000:0"}, "the size must be at least 1"},
        BadUserns{"PastTheLastId", {"--uidmap", "0:4294967000:1000"}, "runs past the last id"},
        BadUserns{"OverlapInside", {"--uidmap", "0:200000:10", "--uidmap", "5:300000:10"}, "overlap inside the container"},
        BadUserns{"OverlapOnTheHost", {"--uidmap", "0:200000:10", "--uidmap", "10:200005:10"}, "overlap on the host"},
        BadUserns{"NoRoot", {"--uidmap", "1:200000:10"}, "must map the container's id 0"},
        BadUserns{"UserNotMapped", {"--uidmap", "0:200000:100", "-u", "1000"}, "uid 1000 is not mapped"},
        BadUserns{"UnknownMode", {"--userns", "private"}, "invalid --userns \"private\""},
        BadUserns{"AutoSizeZero", {"--userns", "auto:size=0"}, "invalid --userns \"auto:size=0\""},
        BadUserns{"AutoSizeTooBig", {"--userns", "auto:size=65537"}, "N from 1 to 65536"},
        BadUserns{"AutoWithMaps", {"--userns", "auto", "--uidmap", "0:200000:10"}, "conflicting options: --userns auto"},
        BadUserns{"KeepIdIsRootless", {"--userns", "keep-id"}, "--userns keep-id is for rootless hutch"},
        BadUserns{"HostWithMaps", {"--userns", "host", "--uidmap", "0:200000:10"}, "conflicting options"},
        BadUserns{"Privileged", {"--privileged", "--uidmap", "0:200000:65536"}, "privileged mode is incompatible with user namespaces"},
        BadUserns{"HostPid", {"--pid", "host", "--uidmap", "0:200000:65536"}, "cannot share the host PID namespace"},
        BadUserns{"IdmapWithoutUserns", {"-v", "@:/mnt:idmap"}, ":idmap needs a user namespace"}),
    [](const ::testing::TestParamInfo<BadUserns>& param) { return param.param.name; });

}  // namespace
}  // namespace hutch_it
