// Rootless hutch (issue 17's second half): `hutch run` by a user without root.
//
// The user is made without touching the machine's /etc: a copy of /etc with the user's passwd,
// group, subuid and subgid lines is bound over /etc in a private mount namespace of each
// command (unshare -m), and setpriv drops to the user there. newuidmap (setuid root) reads the
// copy. The user's hutch binary and rootfs are copies in a temp dir any user can reach (the
// build tree may lie under a 0700 home); the rootfs is the user's, as one made with
// `mmdebstrap --mode=unshare` or unpacked by the user would be. pasta's test runs in a network
// namespace of the test's own that plays the host, with a second address playing the outside
// world, and a tun node of its own (the machine's may be 0600).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/integration/image_archives.hpp"

namespace hutch_it {
namespace {

constexpr uid_t kUser = 42421;       // the test's user (and group)
constexpr uid_t kOther = 42422;      // a user without subordinate ids
constexpr uid_t kSubordinate = 420000;  // the user's /etc/subuid and /etc/subgid range start

// A line's words, one space between them (/proc/self/uid_map pads its columns).
std::string words(const std::string& line) {
    std::istringstream in(line);
    std::string w, out;
    while (in >> w) out += (out.empty() ? "" : " ") + w;
    return out;
}

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

class RootlessIntegration : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        skip_ = why_skip();
        if (!skip_.empty()) return;
        base_ = std::make_unique<TempDir>();
        const std::string b = base_->path();
        ::chmod(b.c_str(), 0755);
        Result copy = run_command({"/bin/cp", "-a", "/etc", b + "/etc"});
        if (copy.code != 0) {
            skip_ = "cannot copy /etc: " + copy.err;
            return;
        }
        auto append = [&](const std::string& file, const std::string& line) {
            write_file(b + "/etc/" + file, read_file(b + "/etc/" + file) + line + "\n");
        };
        append("passwd", "hutchrl:x:" + std::to_string(kUser) + ":" + std::to_string(kUser) + "::" + b + "/home:/bin/sh");
        append("passwd", "hutchrl2:x:" + std::to_string(kOther) + ":" + std::to_string(kOther) + "::" + b + "/home:/bin/sh");
        append("group", "hutchrl:x:" + std::to_string(kUser) + ":");
        for (const char* file : {"subuid", "subgid"}) append(file, "hutchrl:" + std::to_string(kSubordinate) + ":65536");
        run_command({"/bin/cp", hutch_binary(), b + "/hutch"});
        ::chmod((b + "/hutch").c_str(), 0755);
        // Images: hutch re-executes hutch-image, found beside it.
        run_command({"/bin/cp", hutch_binary() + "-image", b + "/hutch-image"});
        ::chmod((b + "/hutch-image").c_str(), 0755);
        // --probe finds hutch-probe beside hutch.
        const std::string probe = hutch_binary().substr(0, hutch_binary().rfind('/')) + "/hutch-probe";
        if (path_exists(probe)) run_command({"/bin/cp", probe, b + "/hutch-probe"});
        run_command({"/bin/cp", "-a", test_rootfs(), b + "/rootfs"});
        run_command({"/bin/chown", "-R", std::to_string(kUser) + ":" + std::to_string(kUser), b + "/rootfs"});
        write_file(b + "/not-a-helper", "");
        ::mkdir((b + "/private").c_str(), 0700);  // root's, a volume the user cannot read
        for (const char* dir : {"/home", "/run", "/run-other"}) {
            ::mkdir((b + dir).c_str(), 0700);
            ::chown((b + dir).c_str(), kUser, kUser);
        }
        ::chown((b + "/run-other").c_str(), kOther, kOther);
    }
    static void TearDownTestSuite() { base_.reset(); }

    void SetUp() override {
        if (!skip_.empty()) GTEST_SKIP() << skip_;
    }

    static std::string why_skip() {
        for (const char* tool : {"/usr/bin/unshare", "/usr/bin/setpriv"})
            if (::access(tool, X_OK) != 0) return std::string("no ") + tool + " (util-linux)";
        if (::access("/usr/bin/newuidmap", X_OK) != 0 || ::access("/usr/bin/newgidmap", X_OK) != 0)
            return "no newuidmap/newgidmap (Debian's uidmap package)";
        if (read_file("/proc/sys/kernel/unprivileged_userns_clone") == "0\n")
            return "this kernel forbids user namespaces to unprivileged users (kernel.unprivileged_userns_clone=0)";
        if (read_file("/proc/sys/user/max_user_namespaces") == "0\n") return "user.max_user_namespaces is 0 here";
        if (read_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1\n")
            return "AppArmor restricts unprivileged user namespaces here";
        return "";
    }

    static std::string b() { return base_->path(); }
    static std::string rootfs() { return b() + "/rootfs"; }
    std::string data_root() const { return b() + "/home/.local/share/hutch"; }

    // hutch ARGS as the user. `setup` runs first as root in the private mount namespace (and in
    // a new network namespace with `own_netns`); `env` replaces the user's environment.
    // `after` runs as root once hutch ended (its exit status is kept), to stop what `setup` started.
    Result as_user(const Strings& args, const std::string& setup = "", bool own_netns = false, uid_t uid = kUser,
                   const std::string& env = "", const std::string& after = "") {
        std::string command = quoted(b() + "/hutch");
        for (const auto& a : args) command += " " + quoted(a);
        return as_user_command(command, setup, own_netns, uid, env, after);
    }
    // A shell script as the user (hutch is $H there), in the same set-up.
    Result as_user_script(const std::string& user_script, const std::string& setup = "", bool own_netns = false) {
        return as_user_command("/bin/sh -c " + quoted("H=" + quoted(b() + "/hutch") + "; " + user_script), setup, own_netns);
    }
    Result as_user_command(const std::string& command, const std::string& setup, bool own_netns, uid_t uid = kUser,
                           const std::string& env = "", const std::string& after = "") {
        std::string script = "set -e; mount --bind " + quoted(b() + "/etc") + " /etc; " + (setup.empty() ? "" : setup + "; ") + "set +e; " +
                             (after.empty() ? "exec " : "") + "/usr/bin/setpriv --reuid " +
                             std::to_string(uid) + " --regid " + std::to_string(uid) + " --clear-groups /usr/bin/env -i " +
                             (env.empty() ? "HOME=" + quoted(b() + "/home") + " XDG_RUNTIME_DIR=" + quoted(b() + "/run") : env) +
                             " PATH=/usr/bin:/bin " + command;
        if (!after.empty()) script += "; rc=$?; " + after + "; exit $rc";
        Strings argv = {"/usr/bin/unshare", "-m"};
        // What the setup starts lives in a pid namespace that dies with the command, whatever
        // ends it (a timeout kills only unshare): /proc is remounted for it, so the pids hutch,
        // newuidmap and pasta read are that namespace's.
        if (own_netns) argv.insert(argv.end(), {"-n", "--fork", "--pid", "--mount-proc", "--kill-child"});
        argv.insert(argv.end(), {"--propagation", "private", "/bin/sh", "-c", script});
        return run_command(argv, {}, std::chrono::seconds(60));
    }

    // What rootless hutch keeps of containers: nothing once they are removed.
    Strings leftovers() const {
        Strings out;
        for (const auto& dir : {b() + "/run/hutch/containers", data_root() + "/containers"})
            for (const auto& e : list_dir(dir)) out.push_back(dir + "/" + e);
        return out;
    }

    static inline std::unique_ptr<TempDir> base_;
    static inline std::string skip_;
};

// uid 0 inside is the user on the host, the other ids the user's subordinate range; what the
// container writes lands in its own layer, never in the user's rootfs.
TEST_F(RootlessIntegration, TheContainersRootIsTheUser) {
    struct stat before {};
    ASSERT_EQ(::stat((rootfs() + "/etc").c_str(), &before), 0);
    Result r = as_user({"run", "--rm", "--network", "none", rootfs(), "sh", "-c",
                        "id -u; cat /proc/self/uid_map /proc/self/gid_map; echo x > /etc/made && cat /etc/made; "
                        "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"});
    ASSERT_EXIT_CODE(r, 0);
    std::ostringstream maps;
    maps << "0 " << kUser << " 1\n1 " << kSubordinate << " 65536\n";
    std::string flat;
    for (const auto& line : r.out_lines()) flat += words(line) + "\n";
    EXPECT_EQ(flat, "0\n" + maps.str() + maps.str() + "x\nNoNewPrivs: 0\nSeccomp: 2\n") << describe(r);
    EXPECT_FALSE(path_exists(rootfs() + "/etc/made")) << "the user's rootfs is the overlay's lower layer";
    struct stat after {};
    ASSERT_EQ(::stat((rootfs() + "/etc").c_str(), &after), 0);
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    EXPECT_EQ(leftovers(), Strings{});
}

// --userns keep-id (podman's): the command runs as the user's own id, which is the user's on the
// host too, so the user's files (the rootfs, a volume) show as the user's and what the command
// writes there is the user's; the subordinate ranges lie around it.
TEST_F(RootlessIntegration, KeepIdKeepsTheUsersOwnId) {
    const std::string volume = b() + "/home/volume";
    ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
    ASSERT_EQ(::chown(volume.c_str(), kUser, kUser), 0);
    Result r = as_user({"run", "--rm", "--network", "none", "--userns", "keep-id", "-v", volume + ":/vol", rootfs(), "sh", "-c",
                        "id -u; id -g; stat -c %u /bin/busybox /vol; touch /vol/made; cat /proc/self/uid_map"});
    ASSERT_EXIT_CODE(r, 0);
    const std::string u = std::to_string(kUser);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 7u) << describe(r);
    EXPECT_EQ(Strings(lines.begin(), lines.begin() + 4), (Strings{u, u, u, u}));
    EXPECT_EQ(words(lines[4]), "0 " + std::to_string(kSubordinate) + " " + u);
    EXPECT_EQ(words(lines[5]), u + " " + u + " 1");
    EXPECT_EQ(words(lines[6]), std::to_string(kUser + 1) + " " + std::to_string(kSubordinate + kUser) + " " +
                                   std::to_string(65536 - kUser));
    struct stat st {};
    ASSERT_EQ(::stat((volume + "/made").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kUser);

    // keep-id:uid=,gid=,size= (podman's): the user is 200:210 inside, of 1000 ids in all, and
    // what the command writes in the volume is still the user's on the host.
    Result placed = as_user({"run", "--rm", "--network", "none", "--userns", "keep-id:uid=200,gid=210,size=1000", "-v",
                             volume + ":/vol", rootfs(), "sh", "-c", "id -u; id -g; stat -c %u /vol; touch /vol/placed; cat /proc/self/uid_map"});
    ASSERT_EXIT_CODE(placed, 0);
    Strings got;
    for (const auto& line : placed.out_lines()) got.push_back(words(line));
    EXPECT_EQ(got, (Strings{"200", "210", "200", "0 " + std::to_string(kSubordinate) + " 200", "200 " + u + " 1",
                            "201 " + std::to_string(kSubordinate + 200) + " 799"}));
    ASSERT_EQ(::stat((volume + "/placed").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kUser);
    Result bad = as_user({"run", "--rm", "--network", "none", "--userns", "keep-id:size=70000", rootfs(), "true"});
    EXPECT_EXIT_CODE(bad, 125);
    EXPECT_EQ(bad.err_lines().size(), 1u) << describe(bad);
    EXPECT_NE(bad.err.find("which hold only 65536"), std::string::npos) << describe(bad);
    EXPECT_EQ(leftovers(), Strings{});
}

// --userns nomap (podman's): the user's own id is left out, the subordinate range starts at 0.
// On a rootfs made for that map (root-owned files are the first subordinate id's, as
// `mmdebstrap --mode=unshare` makes them) the container's root owns its files; a file of the
// user's bound in is nobody's and closed even to that root; the state under the user's 0700
// XDG_RUNTIME_DIR still serves (the child opened it while it was the user); exec, rm work.
TEST_F(RootlessIntegration, NomapLeavesTheUsersOwnIdOut) {
    const std::string subrootfs = b() + "/subrootfs";
    if (!path_exists(subrootfs)) {
        ASSERT_EQ(run_command({"/bin/cp", "-a", test_rootfs(), subrootfs}).code, 0);
        const std::string root = std::to_string(kSubordinate);
        ASSERT_EQ(run_command({"/bin/chown", "-R", root + ":" + root, subrootfs}).code, 0);
    }
    const std::string secret = b() + "/home/secret";
    ::mkdir(secret.c_str(), 0755);
    write_file(secret + "/f", "mine\n");
    ASSERT_EQ(::chmod((secret + "/f").c_str(), 0600), 0);
    ASSERT_EQ(::chown(secret.c_str(), kUser, kUser), 0);
    ASSERT_EQ(::chown((secret + "/f").c_str(), kUser, kUser), 0);
    struct stat run_dir {};
    ASSERT_EQ(::stat((b() + "/run").c_str(), &run_dir), 0);
    ASSERT_EQ(run_dir.st_mode & 0777, 0700u) << "the test's XDG_RUNTIME_DIR is 0700, as systemd makes it";
    Result r = as_user({"run", "--rm", "--network", "none", "--userns", "nomap", "-v", secret + ":/vol", subrootfs, "sh", "-c",
                        "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox /vol/f; echo x > /etc/made && cat /etc/made; "
                        "cat /vol/f 2>/dev/null || echo closed; echo '10.9.9.9 extra' >> /etc/hosts && echo hosts-written"});
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 7u) << describe(r);
    EXPECT_EQ(lines[0], "0");
    EXPECT_EQ(words(lines[1]), "0 " + std::to_string(kSubordinate) + " 65536") << "one range, no user";
    EXPECT_EQ(Strings(lines.begin() + 2, lines.end()), (Strings{"0", "65534", "x", "closed", "hosts-written"}));
    EXPECT_FALSE(path_exists(subrootfs + "/etc/made")) << "the rootfs is the overlay's lower layer";

    TestImage tiny = single_layer_image(tar_of_directory(test_rootfs()), {{"Cmd", {"sh"}}});
    const std::string archive = b() + "/tiny.tar";
    write_file(archive, docker_archive_tar(tiny, "rl/tiny:1"));
    ::chmod(archive.c_str(), 0644);
    ASSERT_EXIT_CODE(as_user({"load", "-i", archive}), 0);
    const std::string script =
        "$H run -d --network none --userns nomap --name nm " + quoted(subrootfs) + " sh -c 'echo hi > /root/f; sleep 60' >/dev/null; "
        "for i in $(seq 50); do $H exec nm cat /root/f 2>/dev/null && break; sleep 0.1; done; "
        "$H exec nm id -u; $H exec -t nm sh -c 'tty >/dev/null && echo a-tty'; "
        // An image with a nomap container's maps (by joining it) would show its owners shifted.
        "$H run --rm --network none --pid container:nm rl/tiny:1 true 2>&1 | grep -c 'runs a rootfs directory, not an image'; "
        "$H rm -f nm >/dev/null";
    Result d = as_user_script(script);
    ASSERT_EXIT_CODE(d, 0);
    Strings got = d.out_lines();
    for (auto& line : got)
        while (!line.empty() && line.back() == '\r') line.pop_back();  // the pty's line ends
    EXPECT_EQ(got, (Strings{"hi", "0", "a-tty", "1"})) << describe(d);
    EXPECT_EXIT_CODE(as_user({"rmi", "rl/tiny:1"}), 0);
    EXPECT_EQ(leftovers(), Strings{});
}

// An image, loaded and run by the user: its layers are unpacked by the root of a user namespace
// of the user's maps, so their owners are the user's subordinate ids on disk and the image's
// own ids inside; whiteouts and opaque directories work in the rootless overlay (userxattr),
// an overlay xattr forged in the tar does not; rmi removes every layer, subordinate ids' too.
TEST_F(RootlessIntegration, ImagesUnpackOntoTheSubordinateIdsAndRun) {
    using Type = TarEntry::Type;
    TestImage image;
    const std::string base = tar_of_directory(test_rootfs());
    const std::string middle = make_tar({{Type::kDir, "srv", "", 0755},
                                         {Type::kFile, "srv/removed", "gone in the top layer\n"},
                                         {Type::kDir, "srv/opq", "", 0755},
                                         {Type::kFile, "srv/opq/lower-only", "hidden by the top layer\n"},
                                         {Type::kDir, "srv/forged", "", 0755},
                                         {Type::kFile, "srv/forged/below", "still seen\n"},
                                         {Type::kFile, "srv/owned", "by 1000\n", 0640, 1000, 1000}});
    const std::string top = make_tar({{Type::kFile, "srv/.wh.removed", ""},
                                      {Type::kDir, "srv/opq", "", 0755},
                                      {Type::kFile, "srv/opq/.wh..wh..opq", ""},
                                      {Type::kFile, "srv/opq/upper-only", "from the top layer\n"},
                                      {Type::kDir, "srv/forged", "", 0755, 0, 0, {{"user.overlay.opaque", "y"}}},
                                      {Type::kFile, "srv/forged/top", "from the top layer\n"}});
    image.layers = {base, middle, top};
    for (const auto& layer : image.layers) {
        image.diff_ids.push_back(sha256_digest(layer));
        image.media_types.push_back("application/vnd.oci.image.layer.v1.tar");
    }
    image.run_config = {{"Cmd", {"sh"}}, {"Env", {"PATH=/bin:/usr/bin"}}};
    const std::string archive = b() + "/image.tar";
    write_file(archive, docker_archive_tar(image, "rl/img:1"));
    ::chmod(archive.c_str(), 0644);
    Result loaded = as_user({"load", "-i", archive});
    ASSERT_EXIT_CODE(loaded, 0);
    EXPECT_EQ(loaded.out, "Loaded image: rl/img:1\n");

    Result r = as_user({"run", "--rm", "--network", "none", "rl/img:1", "sh", "-c",
                        "ls /srv; ls /srv/opq; ls /srv/forged; stat -c %u:%g /srv/owned; id -u; echo x > /srv/owned && cat /srv/owned"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "forged\nopq\nowned\nupper-only\nbelow\ntop\n1000:1000\n0\nx\n");
    // On disk: the image's uid 1000 is the user's subordinate id 999 (0 is the user).
    const std::string layers = data_root() + "/images/layers";
    std::string owned;
    for (const auto& name : list_dir(layers))
        if (path_exists(layers + "/" + name + "/srv/owned")) owned = layers + "/" + name + "/srv/owned";
    struct stat st {};
    ASSERT_EQ(::stat(owned.c_str(), &st), 0) << "no layer holds srv/owned";
    EXPECT_EQ(st.st_uid, kSubordinate + 999);
    EXPECT_EQ(st.st_gid, kSubordinate + 999);
    EXPECT_EQ(read_file(owned), "by 1000\n") << "the container's write went to its own layer";

    // keep-id's map would shift the layers' owners: refused with an image.
    Result kept = as_user({"run", "--rm", "--network", "none", "--userns", "keep-id", "rl/img:1", "true"});
    EXPECT_EXIT_CODE(kept, 125);
    EXPECT_EQ(kept.err_lines().size(), 1u) << describe(kept);
    EXPECT_NE(kept.err.find("runs a rootfs directory, not an image"), std::string::npos) << describe(kept);

    Result removed = as_user({"rmi", "rl/img:1"});
    EXPECT_EXIT_CODE(removed, 0);
    EXPECT_EQ(list_dir(layers), Strings{});
    EXPECT_EQ(list_dir(data_root() + "/images/images"), Strings{});
    EXPECT_EQ(leftovers(), Strings{});

    // An owner beyond the user's 65536 ids: one line naming the entry and why; nothing stays.
    TestImage too_wide = single_layer_image(make_tar({{Type::kFile, "wide", "x\n", 0644, 70000, 0}}));
    write_file(archive, docker_archive_tar(too_wide, "rl/wide:1"));
    Result wide = as_user({"load", "-i", archive});
    EXPECT_EXIT_CODE(wide, 125);
    EXPECT_EQ(wide.err_lines().size(), 1u) << describe(wide);
    EXPECT_NE(wide.err.find("entry \"wide\": owner 70000:0 is beyond the ids of the user namespace"), std::string::npos)
        << describe(wide);
    EXPECT_EQ(list_dir(layers), Strings{});
    EXPECT_EQ(list_dir(data_root() + "/images/blobs/sha256"), Strings{});
}

// A detached container: the host sees its process as the user's; exec, ps, stop and rm work,
// and rm removes what the container wrote as a subordinate id (which the user alone could not).
TEST_F(RootlessIntegration, RunDetachedExecPsStopRm) {
    Result d = as_user({"run", "-d", "--name", "rl", "--network", "none", rootfs(), "sh", "-c",
                        "mkdir /owned && touch /owned/f && chown -R 1000:1000 /owned && chmod 700 /owned && exec sleep 60"});
    ASSERT_EXIT_CODE(d, 0);
    Result ps = as_user({"ps", "--format", "{{.Names}} {{.Status}}"});
    EXPECT_EXIT_CODE(ps, 0);
    EXPECT_EQ(ps.out.rfind("rl Up", 0), 0u) << describe(ps);
    Result pid = as_user({"inspect", "--format", "{{.State.Pid}}", "rl"});
    ASSERT_EXIT_CODE(pid, 0);
    const std::string status = read_file("/proc/" + pid.out.substr(0, pid.out.find('\n')) + "/status");
    EXPECT_NE(status.find("\nUid:\t" + std::to_string(kUser) + "\t"), std::string::npos) << status;
    Result e = as_user({"exec", "rl", "sh", "-c", "id -u; stat -c %u /owned; readlink /proc/1/exe"});
    EXPECT_EXIT_CODE(e, 0);
    EXPECT_EQ(e.out, "0\n1000\n/bin/busybox\n") << describe(e);
    // Limits are set at the start only: update refuses rather than write one no start would apply.
    Result update = as_user({"update", "--memory", "64m", "rl"});
    EXPECT_EXIT_CODE(update, 125);
    EXPECT_NE(update.err.find("sets a container's limits only when it starts"), std::string::npos) << describe(update);
    EXPECT_EXIT_CODE(as_user({"stop", "-t", "1", "rl"}), 0);
    // rm needs the helper in a user namespace for /owned (a subordinate id's): without newuidmap
    // it fails in one line and keeps the container (it used to wait forever), then rm works.
    Result no_helper = as_user({"rm", "rl"}, "for h in /usr/bin/newuidmap /usr/bin/newgidmap; do mount --bind " +
                                                 quoted(b() + "/not-a-helper") + " $h; done");
    EXPECT_NE(no_helper.code, 0) << describe(no_helper);
    EXPECT_NE(no_helper.err.find("newuidmap"), std::string::npos) << describe(no_helper);
    EXPECT_EXIT_CODE(as_user({"rm", "rl"}), 0);
    EXPECT_EQ(leftovers(), Strings{});
}

// The bars of root hutch hold: a read-only root, no capabilities with --cap-drop ALL, Docker's
// masked paths, and devices bound from the host.
TEST_F(RootlessIntegration, ReadOnlyCapDropMaskedPathsAndDevices) {
    Result r = as_user({"run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL", rootfs(), "sh", "-c",
                        "touch /x 2>/dev/null || echo ro; grep CapEff /proc/self/status; cat /proc/timer_list | wc -c; "
                        "ls /sys/firmware | wc -l; "
                        "echo data > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c"});
    ASSERT_EXIT_CODE(r, 0);
    // /proc/timer_list and /sys/firmware are Docker's masked paths (a /dev/null bind, an empty tmpfs).
    EXPECT_EQ(r.out, "ro\nCapEff:\t0000000000000000\n0\n0\nnull-ok\n4\n") << describe(r);
}

// A restart policy restarts a rootless container: each start is cloned dumpable again, so
// newuidmap may map it (the first start leaves hutch non-dumpable).
TEST_F(RootlessIntegration, RestartPolicyRestartsIt) {
    Result d = as_user({"run", "-d", "--name", "rlr", "--network", "none", "--restart", "on-failure:2", rootfs(), "sh", "-c", "exit 3"});
    ASSERT_EXIT_CODE(d, 0);
    Result w = as_user({"wait", "rlr"});
    EXPECT_EXIT_CODE(w, 0);
    EXPECT_EQ(w.out, "3\n") << describe(w);
    Result count = as_user({"inspect", "--format", "{{.RestartCount}}", "rlr"});
    EXPECT_EQ(count.out, "2\n") << describe(count);
    EXPECT_EXIT_CODE(as_user({"rm", "rlr"}), 0);
    EXPECT_EQ(leftovers(), Strings{});
}

// hutch-probe's bar holds: inside, it says whose root the capabilities are (the user's), and
// what it checks of the container's isolation passes as under root hutch.
TEST_F(RootlessIntegration, ProbeSaysTheCapabilitiesAreTheUsersNamespaces) {
    if (!path_exists(b() + "/hutch-probe")) GTEST_SKIP() << "hutch-probe is not built beside hutch";
    Result r = as_user({"run", "--rm", "--network", "none", "--probe", rootfs(), "/dev/.hutch-probe"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("this user namespace only: its root is host uid " + std::to_string(kUser)), std::string::npos)
        << describe(r);
    EXPECT_NE(r.out.find("capabilities"), std::string::npos) << describe(r);
}

// What needs root is refused in one line, exit 125, and nothing is made.
TEST_F(RootlessIntegration, WhatNeedsRootIsRefusedInOneLine) {
    struct Case {
        Strings flags;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"--privileged"}, "--privileged needs root"},
        {{"--memory", "10m"}, "only in a cgroup delegated to you, and you may not write /sys/fs/cgroup/"},
        {{"--network", "bridge"}, "--network bridge needs root"},
        {{"--network", "host"}, "host's network namespace"},
        {{"--uidmap", "0:1:1"}, "--uidmap and --gidmap need root"},
        {{"--userns", "auto"}, "--userns auto needs root"},
        {{"--device", "/dev/null"}, "--device needs root"},
        {{"-v", b() + "/home:/mnt:idmap"}, "an idmapped mount needs root"},
        {{"-v", b() + "/private:/mnt"}, "you cannot read " + b() + "/private"},
    };
    for (const auto& c : cases) {
        Strings args = {"run", "--rm"};
        if (c.flags[0] != "--network") args.insert(args.end(), {"--network", "none"});
        args.insert(args.end(), c.flags.begin(), c.flags.end());
        args.insert(args.end(), {rootfs(), "true"});
        Result r = as_user(args);
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(c.says), std::string::npos) << describe(r);
    }
    // A user without an /etc/subuid entry: the file and the line to add.
    Result other = as_user({"run", "--rm", "--network", "none", rootfs(), "true"}, "", false, kOther,
                           "HOME=" + b() + "/home XDG_RUNTIME_DIR=" + b() + "/run-other");
    EXPECT_EXIT_CODE(other, 125);
    EXPECT_EQ(other.err, "hutch: /etc/subuid has no entry for hutchrl2: rootless hutch maps the container's ids 1.. onto it "
                         "(add a line such as hutchrl2:100000:65536)\n");
    // newuidmap missing (a file that is no program over it, in the test's mount namespace).
    Result no_helper = as_user({"run", "--rm", "--network", "none", rootfs(), "true"},
                               "for h in /usr/bin/newuidmap /usr/bin/newgidmap; do mount --bind " + quoted(b() + "/not-a-helper") + " $h; done");
    EXPECT_EXIT_CODE(no_helper, 125);
    EXPECT_NE(no_helper.err.find("newuidmap"), std::string::npos) << describe(no_helper);
    EXPECT_NE(no_helper.err.find("uidmap package"), std::string::npos) << describe(no_helper);
    // No XDG_RUNTIME_DIR (and no /run/user/UID of the user's): which variable to set.
    Result no_runtime = as_user({"ps"}, "", false, kUser, "HOME=" + b() + "/home");
    EXPECT_EXIT_CODE(no_runtime, 125);
    EXPECT_NE(no_runtime.err.find("XDG_RUNTIME_DIR"), std::string::npos) << describe(no_runtime);
    EXPECT_EQ(leftovers(), Strings{});
}

// --network pasta (the rootless default): the container reaches a server in the test's "outside"
// through pasta, a published port reaches the container from the host, and the host's loopback
// services stay out of reach (no gateway mapped to it, no port forwarded out).
TEST_F(RootlessIntegration, PastaCarriesTrafficAndPublishesPorts) {
    if (::access("/usr/bin/pasta", X_OK) != 0) GTEST_SKIP() << "no pasta (Debian's passt package)";
    if (::access("/usr/sbin/ip", X_OK) != 0 && ::access("/sbin/ip", X_OK) != 0) GTEST_SKIP() << "no ip (iproute2)";
    if (!path_exists("/dev/net/tun")) GTEST_SKIP() << "no /dev/net/tun on this machine (pasta needs a tun device)";
    write_file(b() + "/index.html", "served-by-the-outside\n");
    ::mkdir((b() + "/secret").c_str(), 0755);
    write_file(b() + "/secret/index.html", "host-loopback-secret\n");
    const std::string busybox = rootfs() + "/bin/busybox";
    // The test's "host": a veth pair of its own, one end the host's routed address, the other the
    // outside world's; a web server there and a loopback-only service; a tun node users may open.
    const std::string bb = quoted(busybox), out = quoted(b() + "/published.out");
    const std::string setup =
        "mount -t tmpfs -o mode=755 hutch-test-devnet /dev/net; mknod -m 666 /dev/net/tun c 10 200; "
        "ip link set lo up; ip link add hv0 type veth peer name hv1; ip addr add 10.77.0.1/24 dev hv0; ip link set hv0 up; "
        "ip addr add 10.88.0.1/24 dev hv1; ip link set hv1 up; ip route add default via 10.77.0.254 dev hv0; " +
        bb + " httpd -f -p 10.88.0.1:8080 -h " + quoted(b()) + " & HTTPD=$!; " +
        bb + " httpd -f -p 127.0.0.1:9090 -h " + quoted(b() + "/secret") + " & SECRET=$!; "
        // The host's client of the published port: tried until the container listens.
        "(set +e; for i in $(seq 100); do " + bb + " nc -w 2 127.0.0.1 8081 </dev/null > " + out + " 2>/dev/null; [ -s " + out +
        " ] && break; sleep 0.1; done) & CLIENT=$!";
    const std::string after = "kill $HTTPD $SECRET $CLIENT 2>/dev/null; wait";
    // Two ports, one on an address of its own (each is one pasta option).
    Result r = as_user({"run", "--rm", "-p", "127.0.0.1:8081:80", "-p", "8082:82/udp", rootfs(), "sh", "-c",
                        "wget -q -O - http://10.88.0.1:8080/index.html; "
                        "wget -q -T 2 -O - http://10.77.0.254:9090/index.html 2>/dev/null; "
                        "wget -q -T 2 -O - http://127.0.0.1:9090/index.html 2>/dev/null; "
                        "ip -4 route | grep -c default; echo published-port | nc -l -p 80 -w 10"},
                       setup, true, kUser, "", after);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "served-by-the-outside\n1\n") << describe(r);
    EXPECT_EQ(r.out.find("secret"), std::string::npos);
    EXPECT_EQ(read_file(b() + "/published.out"), "published-port\n") << "the host reaches the container's port 80 at 8081";
    EXPECT_EQ(leftovers(), Strings{});
}

// Resource limits in a cgroup delegated to the user: the test makes one of its own below its
// cgroup in the v1 memory and pids hierarchies, chowned to the user as an administrator would,
// and moves the user's shell in. The container's cgroups are made below it with the limits
// written (seen from the host), the pids limit holds inside, and rm removes them.
TEST_F(RootlessIntegration, LimitsGoIntoACgroupDelegatedToTheUser) {
    std::map<std::string, std::string> own;  // controller -> this process's cgroup in its v1 hierarchy
    std::istringstream lines(read_file("/proc/self/cgroup"));
    for (std::string line; std::getline(lines, line);) {
        const std::size_t a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        for (const char* c : {"memory", "pids"})
            if (controllers == c) own[c] = path == "/" ? "" : path;
    }
    if (own.size() != 2 || !path_exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") || !path_exists("/sys/fs/cgroup/pids"))
        GTEST_SKIP() << "the memory and pids controllers are not cgroup v1 hierarchies here (the test delegates v1 cgroups)";
    const std::string name = "hutch-rl-" + std::to_string(::getpid());
    std::map<std::string, std::string> delegated;
    std::string move_in;
    for (const auto& [controller, path] : own) {
        const std::string dir = "/sys/fs/cgroup/" + controller + path + "/" + name;
        ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
        delegated[controller] = dir;
        for (const char* file : {"", "/cgroup.procs", "/tasks"}) ASSERT_EQ(::chown((dir + file).c_str(), kUser, kUser), 0) << dir << file;
        move_in += "echo $$ > " + quoted(dir + "/cgroup.procs") + "; ";
    }
    const std::string script =
        "$H run -d --network none --memory 64m --pids-limit 20 --name limited " + quoted(rootfs()) + " sleep 60 || exit 1; "
        "$H run --rm --network none --pids-limit 20 " + quoted(rootfs()) +
        " sh -c 'for i in $(seq 30); do sleep 2 & done; wait; echo all-forked'; echo forks-refused=$?";
    Result r = as_user_command("/bin/sh -c " + quoted("H=" + quoted(b() + "/hutch") + "; " + script), move_in + "true", false);
    ASSERT_EXIT_CODE(r, 0);
    Strings out = r.out_lines();
    ASSERT_EQ(out.size(), 2u) << describe(r);
    const std::string id = out[0];
    EXPECT_EQ(out[1], "forks-refused=2") << describe(r);
    EXPECT_NE(r.err.find("can't fork"), std::string::npos) << describe(r);
    const std::string memory = delegated["memory"] + "/hutch/" + id, pids = delegated["pids"] + "/hutch/" + id;
    EXPECT_EQ(read_file(memory + "/memory.limit_in_bytes"), "67108864\n");
    EXPECT_EQ(read_file(pids + "/pids.max"), "20\n");
    const std::string pid = trim(as_user({"inspect", "-f", "{{.State.Pid}}", "limited"}).out);
    EXPECT_NE(read_file(memory + "/cgroup.procs").find(pid + "\n"), std::string::npos) << pid;
    EXPECT_EQ(as_user({"inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", "limited"}).out, "67108864 20\n");
    EXPECT_EXIT_CODE(as_user({"rm", "-f", "limited"}), 0);
    for (const auto& [controller, dir] : delegated) {
        EXPECT_EQ(list_dir(dir + "/hutch").size(), 0u) << "the container's cgroups are gone";
        for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        EXPECT_FALSE(path_exists(dir)) << dir;
    }
    EXPECT_EQ(leftovers(), Strings{});
}

// Another of the user's containers' pid and ipc namespaces: the container joins its user
// namespace (the helper that clones it enters it first; joining the pid namespace takes
// CAP_SYS_ADMIN there), so it sees and may signal that container's processes.
TEST_F(RootlessIntegration, JoinsAnotherContainersPidAndIpcNamespaces) {
    const std::string script =
        "$H run -d --network none --name sleeper " + quoted(rootfs()) + " sleep 60 >/dev/null || exit 1; "
        "$H run --rm --network none --pid container:sleeper --ipc container:sleeper " + quoted(rootfs()) +
        " sh -c 'cat /proc/1/comm; grep -c \" /dev/mqueue \" /proc/self/mountinfo; kill -0 1 && echo signals; "
        "[ \"$(readlink /proc/self/ns/user)\" = \"$(readlink /proc/1/ns/user)\" ] && echo one-user-namespace'; "
        "$H run --rm --network none --userns keep-id --pid container:sleeper " + quoted(rootfs()) + " true; echo refused=$?; "
        "$H rm -f sleeper >/dev/null";
    Result r = as_user_script(script);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "sleep\n1\nsignals\none-user-namespace\nrefused=125\n") << describe(r);
    EXPECT_NE(r.err.find("conflicting options: --pid container:sleeper shares that container's user namespace"), std::string::npos)
        << describe(r);
    EXPECT_EQ(leftovers(), Strings{});
}

// A detached container on pasta: ps, port and inspect show its published port, the host
// reaches it; when pasta dies while the container runs, the monitor says so in the container's
// log (the container has no network from then on), and a foreground run says so on stderr.
TEST_F(RootlessIntegration, DetachedOnPastaShowsItsPortsAndTellsWhenPastaDies) {
    if (::access("/usr/bin/pasta", X_OK) != 0) GTEST_SKIP() << "no pasta (Debian's passt package)";
    if (!path_exists("/dev/net/tun")) GTEST_SKIP() << "no /dev/net/tun on this machine (pasta needs a tun device)";
    const std::string bb = quoted(rootfs() + "/bin/busybox");
    const std::string containers = quoted(b() + "/run/hutch/containers");
    const std::string setup = "mount -t tmpfs -o mode=755 hutch-test-devnet /dev/net; mknod -m 666 /dev/net/tun c 10 200; ip link set lo up; "
        // pasta copies a routed interface's address and routes: a veth of the test's own.
        "ip link add hv0 type veth peer name hv1; ip addr add 10.77.0.1/24 dev hv0; ip link set hv0 up; ip link set hv1 up; "
        "ip route add default via 10.77.0.254 dev hv0";
    // Waits (5 s at most) until `hutch logs NAME` holds "pasta".
    const std::string await_notice = "for i in $(seq 50); do $H logs web 2>&1 | grep -q pasta && break; sleep 0.1; done; ";
    const std::string script =
        "id=$($H run -d --name web -p 127.0.0.1:8081:80 " + quoted(rootfs()) +
        " sh -c 'while :; do echo served | nc -l -p 80 -w 5; done') || exit 1; "
        "echo ps: $($H ps --format '{{.Names}} {{.Ports}}'); "
        "echo port: $($H port web); "
        "echo inspect: $($H inspect -f '{{json .NetworkSettings.Ports}}' web); "
        "for i in $(seq 50); do out=$(" + bb + " nc -w 2 127.0.0.1 8081 </dev/null 2>/dev/null); [ -n \"$out\" ] && break; sleep 0.1; done; "
        "echo host: $out; "
        "kill -9 $(cat " + containers + "/$id/pasta.pid); " + await_notice +
        "echo log: $($H logs web 2>&1); "
        "echo state: $($H inspect -f '{{.State.Status}}' web); "
        "$H rm -f web >/dev/null; "
        // A foreground run: hutch's own stderr.
        "$H run --name fg " + quoted(rootfs()) + " sleep 3 2> " + quoted(b() + "/home/fg.err") + " & "
        "for i in $(seq 50); do [ -s " + containers + "/$($H inspect -f '{{.Id}}' fg 2>/dev/null)/pasta.pid ] && break; sleep 0.1; done; "
        "kill -TERM $(cat " + containers + "/$($H inspect -f '{{.Id}}' fg)/pasta.pid); wait; "
        "echo fg: $(cat " + quoted(b() + "/home/fg.err") + "); $H rm fg >/dev/null";
    Result r = as_user_script(script, setup, true);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out,
              "ps: web 127.0.0.1:8081->80/tcp\n"
              "port: 80/tcp -> 127.0.0.1:8081\n"
              "inspect: {\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8081\"}]}\n"
              "host: served\n"
              "log: hutch: pasta, the container's network, was killed by signal 9: the container has no network from now on\n"
              "state: running\n"
              // pasta ends itself on SIGTERM
              "fg: hutch: pasta, the container's network, exited with status 0: the container has no network from now on\n")
        << describe(r);
    EXPECT_EQ(leftovers(), Strings{});
}

}  // namespace
}  // namespace hutch_it
