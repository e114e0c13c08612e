#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "caps/capabilities.hpp"
#include "runtime/error.hpp"
#include "test_helpers.hpp"

using namespace hutch::caps;
using hutch::test::contains;
using hutch::test::usage_error;

namespace {

constexpr CapSet kDefault = 0xa80425fbULL;
constexpr CapSet kAll41 = (CapSet{1} << 41) - 1;  // CHOWN (0) .. CHECKPOINT_RESTORE (40)
constexpr int kSysResource = 24;
constexpr int kSysTime = 25;
constexpr int kSysAdmin = 21;

const HostCaps kFullHost{40, ~CapSet{0}};
// A host whose root lacks CAP_SYS_RESOURCE in its bounding set.
const HostCaps kNoSysResource{40, ~CapSet{0} & ~bit(kSysResource)};

// The 41 names from REFERENCE.md.
const std::vector<std::string> kReferenceNames = {
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
    "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
    "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT",
    "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG",
    "WAKE_ALARM"};

CapSet resolve_add_drop(std::vector<std::string> add, std::vector<std::string> drop,
                        const HostCaps& host = kFullHost) {
    return resolve(Request{std::move(add), std::move(drop), false}, host);
}

}  // namespace

TEST(Capabilities, DockerDefaultMask) { EXPECT_EQ(docker_default(), kDefault); }

TEST(Capabilities, DockerDefaultNamesInNumberOrder) {
    EXPECT_EQ(names_of(docker_default()),
              (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER",
                                        "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
                                        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
                                        "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
                                        "CAP_SETFCAP"}));
}

TEST(Capabilities, NoFlagsGivesDefault) {
    EXPECT_EQ(resolve(Request{}, kFullHost), kDefault);
}

TEST(Capabilities, NamesAreCaseInsensitiveWithOrWithoutPrefix) {
    for (const char* name : {"sys_time", "SYS_TIME", "Sys_Time", "cap_sys_time", "CAP_SYS_TIME",
                             "Cap_Sys_Time", "cAp_sYs_TiMe"}) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(number_from_name(name).has_value());
        EXPECT_EQ(*number_from_name(name), kSysTime);
        EXPECT_EQ(resolve_add_drop({name}, {}), kDefault | bit(kSysTime));
    }
}

TEST(Capabilities, NumberFromNameRejectsNonNames) {
    for (const char* name : {"", "CAP_", "FOO", "CAP_41", "41", "ALL", "CHOWN ", "CAPCHOWN"}) {
        SCOPED_TRACE(name);
        EXPECT_FALSE(number_from_name(name).has_value());
    }
}

TEST(Capabilities, DropRemovesFromDefault) {
    EXPECT_EQ(resolve_add_drop({}, {"chown", "CAP_KILL", "Net_Raw"}),
              kDefault & ~bit(0) & ~bit(5) & ~bit(13));
}

TEST(Capabilities, AddAndDropTogether) {
    EXPECT_EQ(resolve_add_drop({"SYS_ADMIN"}, {"MKNOD"}), (kDefault | bit(kSysAdmin)) & ~bit(27));
}

TEST(Capabilities, AddAllIsAllMinusDrop) {
    EXPECT_EQ(resolve_add_drop({"ALL"}, {}), kAll41);
    EXPECT_EQ(resolve_add_drop({"all"}, {"sys_admin", "CAP_NET_ADMIN"}),
              kAll41 & ~bit(kSysAdmin) & ~bit(12));
}

TEST(Capabilities, DropAllIsExactlyAdd) {
    // Reference 07: --cap-drop ALL --cap-add SYS_TIME -> CapEff 0000000002000000.
    EXPECT_EQ(resolve_add_drop({"SYS_TIME"}, {"ALL"}), 0x0000000002000000ULL);
    EXPECT_EQ(resolve_add_drop({}, {"all"}), 0u);
    EXPECT_EQ(resolve_add_drop({"chown", "kill"}, {"All"}), bit(0) | bit(5));
}

TEST(Capabilities, AddAllWinsOverDropAll) {
    // Docker checks "ALL in add" first: every capability not named in drop ("ALL" names none).
    EXPECT_EQ(resolve_add_drop({"ALL"}, {"ALL"}), kAll41);
}

TEST(Capabilities, PrivilegedIsAllTheHostAllows) {
    EXPECT_EQ(resolve(Request{{}, {}, true}, kFullHost), kAll41);
    EXPECT_EQ(resolve(Request{{}, {}, true}, kNoSysResource), kAll41 & ~bit(kSysResource));
    // A drop does not narrow --privileged.
    EXPECT_EQ(resolve(Request{{}, {"CHOWN"}, true}, kFullHost), kAll41);
    // An older kernel (cap_last_cap 37): AUDIT_READ is the last.
    EXPECT_EQ(resolve(Request{{}, {}, true}, HostCaps{37, ~CapSet{0}}), (CapSet{1} << 38) - 1);
}

TEST(Capabilities, AddAllExcludesWhatTheHostWithholds) {
    EXPECT_EQ(resolve_add_drop({"ALL"}, {}, kNoSysResource), kAll41 & ~bit(kSysResource));
}

TEST(Capabilities, DefaultIsUnaffectedByHostWithholdingAnUnrequestedCap) {
    EXPECT_EQ(resolve(Request{}, kNoSysResource), kDefault);
}

TEST(Capabilities, UnknownNameIsUsageErrorNamingIt) {
    EXPECT_TRUE(contains(usage_error([] { resolve_add_drop({"FOO_BAR"}, {}); }), "FOO_BAR"));
    EXPECT_TRUE(contains(usage_error([] { resolve_add_drop({}, {"cap_nope"}); }), "cap_nope"));
    // A typo is reported even where ALL makes the other names moot.
    EXPECT_TRUE(contains(usage_error([] { resolve_add_drop({"ALL"}, {"SYS_ADMN"}); }), "SYS_ADMN"));
    EXPECT_TRUE(contains(usage_error([] { resolve(Request{{"bogus"}, {}, true}, kFullHost); }),
                         "bogus"));
}

TEST(Capabilities, NameBeyondCapLastCapIsError) {
    const HostCaps old_kernel{37, ~CapSet{0}};
    EXPECT_EQ(resolve_add_drop({"AUDIT_READ"}, {}, old_kernel), kDefault | bit(37));
    auto message = usage_error([&] { resolve_add_drop({"PERFMON"}, {}, old_kernel); });
    EXPECT_TRUE(contains(message, "PERFMON"));
    EXPECT_TRUE(contains(message, "37"));
    EXPECT_TRUE(contains(usage_error([&] { resolve_add_drop({"cap_bpf"}, {}, old_kernel); }),
                         "cap_bpf"));
    EXPECT_TRUE(contains(
        usage_error([&] { resolve_add_drop({}, {"CHECKPOINT_RESTORE"}, old_kernel); }),
        "CHECKPOINT_RESTORE"));
}

TEST(Capabilities, AddingWhatTheHostBoundingLacksIsError) {
    auto message = usage_error([] { resolve_add_drop({"sys_resource"}, {}, kNoSysResource); });
    EXPECT_TRUE(contains(message, "CAP_SYS_RESOURCE"));
    EXPECT_TRUE(contains(usage_error([] {
                             resolve_add_drop({"SYS_RESOURCE"}, {"ALL"}, kNoSysResource);
                         }),
                         "CAP_SYS_RESOURCE"));
}

TEST(Capabilities, NamesRoundTripForAll41) {
    for (int cap = 0; cap <= 40; ++cap) {
        SCOPED_TRACE(cap);
        std::string name = name_of(cap);
        ASSERT_EQ(name.rfind("CAP_", 0), 0u);
        ASSERT_TRUE(number_from_name(name).has_value());
        EXPECT_EQ(*number_from_name(name), cap);
        EXPECT_EQ(*number_from_name(name.substr(4)), cap);
        EXPECT_EQ(names_of(bit(cap)), std::vector<std::string>{name});
        EXPECT_EQ(parse_names({name}, "test"), bit(cap));
    }
    auto all = names_of(kAll41);
    ASSERT_EQ(all.size(), 41u);
    EXPECT_EQ(parse_names(all, "test"), kAll41);
}

TEST(Capabilities, KnownNamesAreExactlyTheReference41) {
    std::set<std::string> expected, actual;
    for (const auto& n : kReferenceNames) expected.insert("CAP_" + n);
    for (const auto& n : names_of(kAll41)) actual.insert(n);
    EXPECT_EQ(actual, expected);
    for (const auto& n : kReferenceNames) {
        SCOPED_TRACE(n);
        EXPECT_TRUE(number_from_name(n).has_value());
    }
}

TEST(Capabilities, NameOfUnnamedNumber) {
    EXPECT_EQ(name_of(41), "CAP_41");
    EXPECT_EQ(names_of(bit(0) | bit(45)), (std::vector<std::string>{"CAP_CHOWN", "CAP_45"}));
    EXPECT_EQ(names_of(0), std::vector<std::string>{});
}

TEST(Capabilities, ParseNamesErrorNamesFieldAndValue) {
    EXPECT_EQ(parse_names({"CAP_CHOWN", "CAP_KILL"}, "bounding"), bit(0) | bit(5));
    auto message = usage_error([] { parse_names({"CAP_CHOWN", "CAP_WHAT"}, "process.capabilities.bounding"); });
    EXPECT_TRUE(contains(message, "CAP_WHAT"));
    EXPECT_TRUE(contains(message, "process.capabilities.bounding"));
}

TEST(Capabilities, HostCapsAll) {
    EXPECT_EQ(kFullHost.all(), kAll41);
    EXPECT_EQ((HostCaps{37, ~CapSet{0}}.all()), (CapSet{1} << 38) - 1);
    EXPECT_EQ(kNoSysResource.all(), kAll41 & ~bit(kSysResource));
    EXPECT_EQ((HostCaps{63, ~CapSet{0}}.all()), ~CapSet{0});
}
