// The order of a launch, without root: the container's first process (and an exec'd one) runs
// its whole checklist against the recording kernel (recording_kernel.hpp), and the order of the
// calls it made is checked against the rules the checklist exists for (container_init.cpp):
//   private propagation before the first mount; the read-only root before any other mount;
//   masks after every bind; pivot_root after the masks; capset after setresuid; the seccomp
//   filter the last call before execveat (but for the capset that drops the CAP_SYS_ADMIN kept
//   for it, when no_new_privs is off, as runc does).
// A violation here is a hole in the container, which an integration test would only see if it
// looked for that one hole.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cstring>

#include "caps/seccomp_filter.hpp"
#include "recording_kernel.hpp"
#include "runtime/container_init.hpp"
#include "runtime/run_options.hpp"
#include "runtime/sync.hpp"

namespace hutch {
namespace {

using testing::ExecReached;
using testing::RecordingKernel;
using Strings = std::vector<std::string>;

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kMerged = "/run/hutch/containers/" + kId + "/merged";

HostFacts fake_host() {
    HostFacts h;
    h.caps = caps::HostCaps{40, ~caps::CapSet{0}};
    h.hostname = "hosty";
    h.read_in_rootfs = [](const std::string& path) -> std::string {
        if (path == "/etc/passwd") return "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        if (path == "/etc/group") return "root:x:0:\nalice:x:1000:\n";
        return "";
    };
    h.read_host_file = [](const std::string&) -> std::string { return ""; };
    return h;
}

Spec run_spec(Strings flags_of_interest) {
    RunOptions o;
    o.rootfs = "/srv/rootfs";
    o.command = {"/bin/sh", "-c", "true"};
    o.network = "none";  // the network's own order is the parent's (attach.cpp)
    for (std::size_t i = 0; i < flags_of_interest.size(); ++i) {
        const std::string& f = flags_of_interest[i];
        if (f == "--read-only") o.read_only = true;
        else if (f == "-v") o.volumes.push_back(flags_of_interest[++i]);
        else if (f == "--tmpfs") o.tmpfs.push_back(flags_of_interest[++i]);
        else if (f == "-u") o.user = flags_of_interest[++i];
        else if (f == "--security-opt") o.security_opts.push_back(flags_of_interest[++i]);
        else ADD_FAILURE() << "the test knows no flag " << f;
    }
    return build_run_spec(o, kId, fake_host());
}

// A GO packet as the parent sends it (runtime/sync.cpp: kind, number, text).
std::string go_packet() {
    std::string packet(8, '\0');
    std::uint32_t kind = static_cast<std::uint32_t>(sync::Kind::kGo);
    std::memcpy(packet.data(), &kind, sizeof kind);
    return packet;
}

// Runs the child's checklist for `spec` to its exec against a recording kernel.
class ChildOrder : public ::testing::Test {
protected:
    void run_child(const Spec& spec) {
        int pair[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        sync_ = Fd(pair[0]);
        peer_ = Fd(pair[1]);
        plan_.merged_dir = kMerged;
        plan_.upper_dir = "/var/lib/hutch/containers/" + kId + "/upper";
        plan_.work_dir = "/var/lib/hutch/containers/" + kId + "/work";
        if (spec.linux.seccomp) program_ = seccomp::compile(*spec.linux.seccomp);
        kernel_.queue_packet(go_packet());
        sys::ScopedKernel scoped(kernel_);
        InitContext context{spec, plan_, sync_.get(), {}, std::nullopt, false,
                            program_ ? &*program_ : nullptr, {-1, -1, -1}};
        try {
            container_init_steps(context);
            ADD_FAILURE() << "the checklist returned without an exec";
        } catch (const ExecReached&) {
        }
        steps_ = kernel_.steps();
    }
    // Index of the first step starting with `prefix` (fails the test when there is none).
    int first(const std::string& prefix) const {
        int i = kernel_.first(prefix);
        EXPECT_GE(i, 0) << "no step " << prefix << "\n" << all_steps();
        return i;
    }
    int last(const std::string& prefix) const {
        int i = kernel_.last(prefix);
        EXPECT_GE(i, 0) << "no step " << prefix << "\n" << all_steps();
        return i;
    }
    // Steps that are mounts onto the masked paths (/dev/null bound on files, tmpfs on dirs).
    std::vector<int> mask_mounts(const Spec& spec) const {
        std::vector<int> out;
        for (std::size_t i = 0; i < steps_.size(); ++i)
            for (const auto& path : spec.linux.masked_paths)
                if (steps_[i].rfind("mount(", 0) == 0 && steps_[i].find("\"" + kMerged + path + "\"") != std::string::npos)
                    out.push_back(static_cast<int>(i));
        return out;
    }
    std::string all_steps() const {
        std::string out;
        for (std::size_t i = 0; i < steps_.size(); ++i) out += std::to_string(i) + ": " + steps_[i] + "\n";
        return out;
    }

    RecordingKernel kernel_;
    RootfsPlan plan_;
    Fd sync_, peer_;
    std::optional<seccomp::Program> program_;
    Strings steps_;
};

TEST_F(ChildOrder, MountsArePrivateBeforeTheFirstMount) {
    run_child(run_spec({"-v", "/srv/data:/data", "--tmpfs", "/scratch"}));
    EXPECT_EQ(first("mount("), first("mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)")) << all_steps();
}

TEST_F(ChildOrder, AReadOnlyRootIsReadOnlyBeforeAnythingIsMountedInIt) {
    run_child(run_spec({"--read-only", "-v", "/srv/data:/data"}));
    int bind_root = first("mount(\"/srv/rootfs\", \"" + kMerged + "\", NULL, MS_BIND|MS_REC");
    int read_only = first("mount(NULL, \"" + kMerged + "\", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND");
    EXPECT_EQ(read_only, bind_root + 1) << all_steps();
    EXPECT_LT(read_only, first("mount(\"proc\"")) << all_steps();
}

TEST_F(ChildOrder, MasksComeAfterEveryBindAndPivotRootAfterTheMasks) {
    Spec spec = run_spec({"-v", "/srv/data:/proc/acpi-cover", "-v", "/srv/more:/data", "--tmpfs", "/scratch"});
    run_child(spec);
    std::vector<int> masks = mask_mounts(spec);
    ASSERT_FALSE(masks.empty()) << all_steps();
    int last_volume = std::max(last("mount(\"/srv/data\""), last("mount(\"/srv/more\""));
    int last_tmpfs = last("mount(\"tmpfs\", \"" + kMerged + "/scratch\"");
    for (int m : masks) {
        EXPECT_GT(m, last_volume) << steps_[static_cast<std::size_t>(m)] << "\n" << all_steps();
        EXPECT_GT(m, last_tmpfs) << steps_[static_cast<std::size_t>(m)];
    }
    EXPECT_GT(first("pivot_root("), masks.back()) << all_steps();
    EXPECT_GT(first("pivot_root("), last("mount(NULL, \"" + kMerged + "/proc/sys\"")) << "read-only paths first";
}

TEST_F(ChildOrder, CapabilitiesAreSetAfterTheUserChangesAndTheBoundingSetIsDroppedBefore) {
    run_child(run_spec({"-u", "1000"}));
    EXPECT_LT(last("prctl(PR_CAPBSET_DROP"), first("setresuid(1000, 1000, 1000)")) << all_steps();
    EXPECT_LT(first("setgroups("), first("setresgid(1000"));
    EXPECT_LT(first("setresgid(1000"), first("setresuid(1000"));
    EXPECT_GT(first("capset("), first("setresuid(1000, 1000, 1000)")) << all_steps();
    EXPECT_GT(first("pivot_root("), 0);
    EXPECT_LT(first("pivot_root("), first("setresuid(1000"));
}

TEST_F(ChildOrder, WithNoNewPrivsTheSeccompFilterIsTheLastCallBeforeExec) {
    run_child(run_spec({"--security-opt", "no-new-privileges"}));
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 2, steps_.size()) << all_steps();
    EXPECT_EQ(steps_.back().rfind("execveat(\"/bin/sh\"", 0), 0u) << steps_.back();
    EXPECT_LT(first("prctl(PR_SET_NO_NEW_PRIVS, 1)"), seccomp);
    EXPECT_EQ(kernel_.all("seccomp(").size(), 1u);
}

TEST_F(ChildOrder, WithoutNoNewPrivsOnlyTheDropOfTheBorrowedSysAdminFollowsTheFilter) {
    run_child(run_spec({}));
    int seccomp = first("seccomp(SECCOMP_SET_MODE_FILTER");
    ASSERT_EQ(static_cast<std::size_t>(seccomp) + 3, steps_.size()) << all_steps();
    const std::string& drop = steps_[static_cast<std::size_t>(seccomp) + 1];
    EXPECT_EQ(drop.rfind("capset(", 0), 0u) << drop;
    EXPECT_EQ(drop.find("CAP_SYS_ADMIN"), std::string::npos) << "the borrowed capability goes: " << drop;
    // Until the filter CAP_SYS_ADMIN was held: the filter needs it without no_new_privs.
    int capset = kernel_.first("capset(");
    ASSERT_LT(capset, seccomp);
    EXPECT_NE(steps_[static_cast<std::size_t>(capset)].find("CAP_SYS_ADMIN"), std::string::npos) << all_steps();
    EXPECT_EQ(kernel_.first("prctl(PR_SET_NO_NEW_PRIVS"), -1) << "Docker leaves no_new_privs off";
}

TEST_F(ChildOrder, NoFdOfHutchsSurvivesAndTheWorkdirIsEnteredAfterThePivot) {
    run_child(run_spec({}));
    EXPECT_GT(first("close_range("), first("pivot_root("));
    EXPECT_LT(last("close_range("), last("chdir(")) << "the workdir is entered with no host fd open";
    EXPECT_GT(last("chdir("), first("pivot_root(")) << all_steps();
    EXPECT_LT(last("close_range("), first("capset(")) << "fds close while hutch still holds its capabilities";
}

}  // namespace
}  // namespace hutch
