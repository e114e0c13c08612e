// The order of an OCI container's start, without root: the spec spec_from_config makes of the
// config.json Docker 20.10 hands runc (data/docker-20.10-config.json, as captured) runs the
// first process's checklist against the recording kernel. The rules of `hutch run` hold, and
// those of the OCI path:
//   the bundle's rootfs is bind-mounted, never overlaid (the engine made the layers);
//   maskedPaths and readonlyPaths after every mount of config.json's and before pivot_root;
//   linux.sysctl written before /proc/sys turns read-only; a read-only root (root.readonly)
//   made so after all of them (the engine expects its mount points created in the rootfs);
//   create: the container is assembled, reports CREATED, and waits on exec.fifo for `start`
//   before its filter and its exec (container_init.cpp, wait_for_start).
// The OCI hooks the child runs (createContainer, startContainer) are not observed here: they
// fork and exec outside the kernel seam (runtime/oci/hooks.cpp).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "launch_order.hpp"
#include "runtime/oci/bundle.hpp"
#include "test_helpers.hpp"

namespace hutch {
namespace {

using namespace hutch::testing;
using nlohmann::json;

const std::string kBundle = "/srv/bundle";
const std::string kState = "/run/hutch-oci/c1";

class OciOrder : public LaunchOrder {
protected:
    OciOrder() {
        std::string text = test::golden("docker-20.10-config.json");
        for (std::size_t at; (at = text.find("<data-root>")) != std::string::npos;)
            text.replace(at, 11, "/var/lib/docker");
        config_ = oci::parse_config(text, "docker-20.10-config.json");
        plan_.merged_dir = kState + "/rootfs";  // as launch_oci.cpp places it
    }
    Spec spec() const { return oci::spec_from_config(config_, kBundle); }

    // `hutch oci create`: the child has the exec.fifo (O_PATH) and outlives the create.
    template <typename Run>
    auto create(const Spec& spec, Run run) {
        fifo_ = ::open("/dev/null", O_PATH | O_CLOEXEC);  // closed by wait_for_start
        kernel_.name_fd(fifo_, kState + "/exec.fifo");
        return run(spec, [this](InitContext& c) {
            c.start_fifo = fifo_;
            c.outlives_parent = true;
        });
    }
    void create(const Spec& spec) {
        create(spec, [this](const Spec& s, auto tune) { run_child(s, tune); });
    }
    // Indexes of the mount steps onto the spec's maskedPaths and readonlyPaths.
    std::vector<int> protecting_mounts(const Spec& spec) const {
        std::vector<int> out = mask_mounts(spec);
        for (std::size_t i = 0; i < steps_.size(); ++i)
            for (const auto& path : spec.linux.readonly_paths)
                if (steps_[i].rfind("mount(", 0) == 0 && steps_[i].find(", \"" + plan_.merged_dir + path + "\"") != std::string::npos)
                    out.push_back(static_cast<int>(i));
        std::sort(out.begin(), out.end());
        return out;
    }

    json config_;
    int fifo_ = -1;
};

TEST_F(OciOrder, TheBundlesRootIsBoundNeverOverlaidAfterMountsTurnPrivate) {
    Spec s = spec();
    run_child(s);
    EXPECT_EQ(first("mount("), first("mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)")) << all_steps();
    int bind_root = first("mount(\"" + s.root.path + "\", \"" + plan_.merged_dir + "\", NULL, MS_BIND|MS_REC");
    EXPECT_EQ(bind_root, first("mount(") + 1) << all_steps();
    for (const auto& line : kernel_.all("mount("))
        EXPECT_EQ(line.find(", \"overlay\", "), std::string::npos) << line;  // the file system type
}

TEST_F(OciOrder, MaskedAndReadOnlyPathsComeAfterEveryMountAndBeforePivotRoot) {
    Spec s = spec();
    run_child(s);
    std::vector<int> protecting = protecting_mounts(s);
    // Two for each read-only path (bind, remount), one for each masked one.
    ASSERT_EQ(protecting.size(), s.linux.masked_paths.size() + 2 * s.linux.readonly_paths.size()) << all_steps();
    for (const auto& m : s.mounts) {
        int mounted = last("mount(");
        for (std::size_t i = 0; i < steps_.size(); ++i)
            if (steps_[i].rfind("mount(", 0) == 0 &&
                steps_[i].find(", \"" + plan_.merged_dir + m.destination) != std::string::npos &&
                !std::binary_search(protecting.begin(), protecting.end(), static_cast<int>(i)))
                mounted = static_cast<int>(i);
        EXPECT_LT(mounted, protecting.front()) << m.destination << " mounted over a mask\n" << all_steps();
    }
    int pivot = first("pivot_root(");
    EXPECT_GT(pivot, protecting.back()) << all_steps();
    // Nothing mounted between the last protection and the pivot.
    for (int i = protecting.back() + 1; i < pivot; ++i)
        EXPECT_NE(steps_[static_cast<std::size_t>(i)].rfind("mount(", 0), 0u) << steps_[static_cast<std::size_t>(i)];
}

TEST_F(OciOrder, SysctlsAreWrittenBeforeProcSysTurnsReadOnly) {
    run_child(spec());
    int sysctl = first("write(\"" + plan_.merged_dir + "/proc/sys/net/ipv4/ip_unprivileged_port_start\", \"0\")");
    int read_only = last("mount(NULL, \"" + plan_.merged_dir + "/proc/sys\", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND");
    EXPECT_LT(sysctl, read_only) << all_steps();
}

TEST_F(OciOrder, AReadOnlyRootTurnsReadOnlyLastBeforePivotRoot) {
    config_["root"]["readonly"] = true;
    Spec s = spec();
    run_child(s);
    int read_only = last("mount(NULL, \"" + plan_.merged_dir + "\", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND");
    EXPECT_GT(read_only, protecting_mounts(s).back()) << all_steps();
    EXPECT_EQ(read_only, last("mount(")) << all_steps();
    EXPECT_LT(read_only, first("pivot_root("));
}

TEST_F(OciOrder, CapsetAfterTheUserChangesAndTheFilterLastWithoutNoNewPrivs) {
    config_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    run_child(spec());
    int setresuid = first("setresuid(1000, 1000, 1000)");
    EXPECT_LT(last("prctl(PR_CAPBSET_DROP"), setresuid) << all_steps();
    EXPECT_GT(first("capset("), setresuid);
    EXPECT_GT(first("setresuid(1000"), first("pivot_root("));
    // Docker's config.json leaves noNewPrivileges off: CAP_SYS_ADMIN is borrowed for the filter.
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 3, steps_.size()) << all_steps();
    EXPECT_EQ(steps_[static_cast<std::size_t>(seccomp) + 1].rfind("capset(", 0), 0u);
    EXPECT_EQ(steps_.back().rfind("execveat(", 0), 0u) << steps_.back();
}

TEST_F(OciOrder, WithNoNewPrivilegesTheFilterIsTheLastCallBeforeExec) {
    config_["process"]["noNewPrivileges"] = true;
    run_child(spec());
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 2, steps_.size()) << all_steps();
    EXPECT_LT(first("prctl(PR_SET_NO_NEW_PRIVS, 1)"), seccomp);
    EXPECT_LT(last("close_range("), last("chdir(\"/\")"));
    EXPECT_EQ(left_open(fifo_ + 200), std::vector<int>{sync_.get()}) << all_steps();
}

// runc opens exec.fifo before its filter too (standard_init_linux.go) but installs a filter
// without no_new_privs earlier still; hutch puts every filter after the wait, so a profile
// never has to allow the open and the writes (container_init.cpp, become_the_command).
TEST_F(OciOrder, CreateIsAssembledThenWaitsForStartBeforeTheFilterAndTheExec) {
    Spec s = spec();
    create(s);
    const std::string fifo = kState + "/exec.fifo";
    int created = first_call("sendmsg(sync socket, {CREATED");
    int open = first_call("openat(AT_FDCWD, \"/proc/self/fd/" + std::to_string(fifo_) + "\", O_WRONLY|O_CLOEXEC)");
    int wrote = first_call("write(\"" + fifo + "\", \"0\")");
    int started = first_call("write(\"" + fifo + "\", \"1\")");  // the sync socket's place, after dup3
    int seccomp = first_call("seccomp(SECCOMP_SET_MODE_FILTER");
    int exec = first_call("execveat(");
    EXPECT_LT(first_call("pivot_root("), created) << "created means assembled\n" << all_calls();
    EXPECT_LT(first_call("fstatat(\"/usr/local/sbin/echo\""), created) << "the command is found first";
    EXPECT_LT(created, open);
    EXPECT_LT(open, wrote);
    EXPECT_LT(wrote, first_call("dup3(\"" + fifo + "\", " + std::to_string(sync_.get()) + ", O_CLOEXEC)"));
    EXPECT_LT(wrote, first_call("close_range(")) << all_calls();
    EXPECT_LT(started, seccomp);
    EXPECT_LT(seccomp, exec);
    // From CREATED on the engine reaps the container: nothing ties it to hutch's process.
    EXPECT_LT(first_call("prctl(PR_SET_PDEATHSIG, 0)"), created);
    EXPECT_EQ(kernel_.last("prctl(PR_SET_PDEATHSIG, SIGKILL)"), kernel_.first("prctl(PR_SET_PDEATHSIG, SIGKILL)"))
        << "only the first one, before the go\n" << all_steps();
}

// crun's behaviour: a command that is nowhere on PATH fails create with 127, before anything
// tells the engine the container exists.
TEST_F(OciOrder, ACommandNotFoundFailsCreateBeforeItReportsCreated) {
    Spec s = spec();
    for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"})
        kernel_.missing(std::string(dir) + "/echo");
    Outcome o = create(s, [this](const Spec& spec, auto tune) { return attempt_child(spec, tune); });
    EXPECT_FALSE(o.exec_reached);
    EXPECT_TRUE(test::contains(o.error, "executable file not found")) << o.error;
    EXPECT_EQ(kernel_.first("sendmsg(sync socket, {CREATED"), -1) << all_steps();
    EXPECT_EQ(kernel_.first("write(\"" + kState + "/exec.fifo\""), -1);
    EXPECT_EQ(kernel_.first("execveat("), -1);
    ::close(fifo_);  // wait_for_start never ran
}

// `hutch oci exec`: the engine's process.json in the container Docker's config.json made.
TEST_F(OciOrder, AnExecJoinsBeforeResolvingAndMountsNothing) {
    Spec s = spec();
    s.process.args = {"ps"};
    run_exec(s, true);
    int join = first_call("setns(pidfd of the container, ");
    EXPECT_LT(join, first_call("chdir(\"/\")"));
    EXPECT_LT(join, first_call("fstatat("));
    EXPECT_EQ(kernel_.first("mount("), -1) << all_steps();
    EXPECT_EQ(kernel_.first("pivot_root("), -1);
    EXPECT_FALSE(any_call("openat(AT_FDCWD, \"/dev/null\"")) << "the engine's stdin stays";
    EXPECT_EQ(steps_.back().rfind("execveat(", 0), 0u) << all_steps();
}

}  // namespace
}  // namespace hutch
