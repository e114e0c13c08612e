// `hutch run --init`'s translation: hutch-init bound read-only on hutch's /dev, the command its
// argument (Docker's ["/sbin/docker-init", "--", CMD...]). What the init does is tested in
// tests/integration/init_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "caps/capabilities.hpp"
#include "runtime/error.hpp"
#include "runtime/run_options.hpp"
#include "runtime/spec.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using Strings = std::vector<std::string>;

namespace {

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kInitBinary = "/opt/hutch/bin/hutch-init";

HostFacts facts(const std::string& missing = "") {
    HostFacts h;
    h.caps = caps::HostCaps{40, ~caps::CapSet{0}};
    h.hostname = "hosty";
    h.read_in_rootfs = [](const std::string&) { return std::string(); };
    h.read_host_file = [](const std::string& path) -> std::string { throw UsageError("cannot read " + path); };
    h.host_path_exists = [missing](const std::string& path) { return path != missing; };
    h.init_binary = kInitBinary;
    h.probe_binary = "/opt/hutch/bin/hutch-probe";
    return h;
}

RunOptions with_init() {
    RunOptions o;
    o.rootfs = "/rootfs";
    o.command = {"sh", "-c", "exit 7"};
    o.init = true;
    return o;
}

std::vector<Mount> mounts_on(const Spec& s, const std::string& destination) {
    std::vector<Mount> out;
    for (const auto& m : s.mounts)
        if (m.destination == destination) out.push_back(m);
    return out;
}

const Mount kInitMount{kInitPath, "bind", kInitBinary, {"bind", "ro", "nosuid", "nodev"}};

}  // namespace

TEST(InitFlag, WrapsTheCommandAndBindsTheInitReadOnly) {
    Spec s = build_run_spec(with_init(), kId, facts());
    EXPECT_EQ(s.process.args, (Strings{"/dev/.hutch-init", "--", "sh", "-c", "exit 7"}));
    EXPECT_EQ(mounts_on(s, kInitPath), std::vector<Mount>{kInitMount});
    // After /dev, hutch's tmpfs, which the bind's mount point is made on.
    auto dev = std::find_if(s.mounts.begin(), s.mounts.end(), [](const Mount& m) { return m.destination == "/dev"; });
    auto init = std::find_if(s.mounts.begin(), s.mounts.end(), [](const Mount& m) { return m.destination == kInitPath; });
    EXPECT_LT(dev, init);
}

TEST(InitFlag, WithoutItTheCommandIsPid1AndNothingIsBound) {
    RunOptions o = with_init();
    o.init = false;
    Spec s = build_run_spec(o, kId, facts());
    EXPECT_EQ(s.process.args, (Strings{"sh", "-c", "exit 7"}));
    EXPECT_TRUE(mounts_on(s, kInitPath).empty());
}

TEST(InitFlag, WorksWithReadOnlyAndProbe) {
    RunOptions o = with_init();
    o.read_only = true;
    o.probe = true;
    Spec s = build_run_spec(o, kId, facts());
    EXPECT_TRUE(s.root.readonly);
    EXPECT_EQ(s.process.args, (Strings{"/dev/.hutch-init", "--", "sh", "-c", "exit 7"}));
    EXPECT_EQ(mounts_on(s, kInitPath), std::vector<Mount>{kInitMount});
    EXPECT_EQ(mounts_on(s, kProbePath).size(), 1u);
}

// `hutch create --init` keeps the Spec as config.json for `start`.
TEST(InitFlag, SurvivesConfigJson) {
    Spec s = build_run_spec(with_init(), kId, facts());
    EXPECT_EQ(spec_from_json(to_json(s)), s);
}

TEST(InitFlag, MissingBinaryIsAUsageError) {
    std::string message = usage_error([] { build_run_spec(with_init(), kId, facts(kInitBinary)); });
    EXPECT_EQ(message, "--init: hutch-init not found at \"" + kInitBinary + "\" (build it, or set HUTCH_INIT)");
    HostFacts none = facts();
    none.init_binary.clear();
    EXPECT_EQ(usage_error([&] { build_run_spec(with_init(), kId, none); }),
              "--init: hutch-init not found (build it, or set HUTCH_INIT)");
}

TEST(InitFlag, RefusesAVolumeOnDev) {
    RunOptions o = with_init();
    o.volumes = {"/srv/dev:/dev"};
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, kId, facts()); }),
                         "--init needs hutch's own /dev, and a volume is mounted there"));
}
