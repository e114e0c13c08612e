#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/user.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using Gids = std::vector<std::uint32_t>;

namespace {

const char* kPasswdFile =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment line\n"
    "broken line without fields\n"
    "toolong:x:4294967296:0::/x:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
    "\n";
const char* kGroupFile =
    "root:x:0:\n"
    "tty:x:5:\n"
    "wheel:x:10:root,alice\n"
    "# comment\n"
    "users:x:100:alice,nobody\n"
    "nogroup:x:65534:\n"
    "alice:x:1000:\n"
    "staff:x:50:bob,alice\n";

ResolvedUser resolve(const std::string& spec) { return resolve_user(spec, kPasswdFile, kGroupFile); }

std::string error(const std::string& spec, const char* passwd = kPasswdFile,
                  const char* group = kGroupFile) {
    return usage_error([&] { resolve_user(spec, passwd, group); });
}

}  // namespace

TEST(User, EmptyIsRoot) {
    auto u = resolve("");
    EXPECT_EQ(u.uid, 0u);
    EXPECT_EQ(u.gid, 0u);
    EXPECT_EQ(u.home, "/root");
    EXPECT_EQ(u.additional_gids, (Gids{0, 10}));  // the primary group, then wheel, which lists root
}

TEST(User, NumericZeroAndRootName) {
    for (const char* spec : {"0", "root"}) {
        SCOPED_TRACE(spec);
        auto u = resolve(spec);
        EXPECT_EQ(u.uid, 0u);
        EXPECT_EQ(u.gid, 0u);
        EXPECT_EQ(u.home, "/root");
        EXPECT_EQ(u.additional_gids, (Gids{0, 10}));
    }
}

TEST(User, PrimaryGidWhenNoGroupListsTheUser) {
    // Docker shows groups=0(root) in a default container: the primary gid is always there.
    auto u = resolve_user("root", kPasswdFile, "");
    EXPECT_EQ(u.additional_gids, (Gids{0}));
    u = resolve_user("0", "", "");
    EXPECT_EQ(u.uid, 0u);
    EXPECT_EQ(u.gid, 0u);
    EXPECT_EQ(u.home, "/");
    EXPECT_EQ(u.additional_gids, (Gids{0}));
    u = resolve("daemon");
    EXPECT_EQ(u.uid, 1u);
    EXPECT_EQ(u.gid, 1u);
    EXPECT_EQ(u.additional_gids, (Gids{1}));
}

TEST(User, Nobody) {
    auto u = resolve("nobody");
    EXPECT_EQ(u.uid, 65534u);
    EXPECT_EQ(u.gid, 65534u);
    EXPECT_EQ(u.home, "/nonexistent");
    EXPECT_EQ(u.additional_gids, (Gids{65534, 100}));
}

TEST(User, NumericWithPasswdEntry) {
    auto u = resolve("1000");
    EXPECT_EQ(u.uid, 1000u);
    EXPECT_EQ(u.gid, 1000u);
    EXPECT_EQ(u.home, "/home/alice");
    // Docker's list: the primary group first (groups=...,1000(alice) in `id`), then group-file order.
    EXPECT_EQ(u.additional_gids, (Gids{1000, 10, 100, 50}));
}

TEST(User, NumericWithoutPasswdEntry) {
    auto u = resolve("4242");
    EXPECT_EQ(u.uid, 4242u);
    EXPECT_EQ(u.gid, 0u);
    EXPECT_EQ(u.home, "/");
    EXPECT_EQ(u.additional_gids, (Gids{0}));
    u = resolve("4242:4343");
    EXPECT_EQ(u.uid, 4242u);
    EXPECT_EQ(u.gid, 4343u);
    EXPECT_EQ(u.additional_gids, (Gids{4343}));
}

TEST(User, ExplicitGroupSetsGid) {
    auto u = resolve("1000:1000");
    EXPECT_EQ(u.uid, 1000u);
    EXPECT_EQ(u.gid, 1000u);
    EXPECT_EQ(u.home, "/home/alice");

    u = resolve("nobody:root");
    EXPECT_EQ(u.uid, 65534u);
    EXPECT_EQ(u.gid, 0u);
    EXPECT_EQ(u.home, "/nonexistent");

    u = resolve("alice:users");
    EXPECT_EQ(u.uid, 1000u);
    EXPECT_EQ(u.gid, 100u);

    u = resolve("nobody:5");  // numeric group present in the file
    EXPECT_EQ(u.gid, 5u);
    u = resolve("nobody:777");  // numeric group absent from the file
    EXPECT_EQ(u.gid, 777u);
}

TEST(User, GroupOnlyKeepsRoot) {
    auto u = resolve(":5");
    EXPECT_EQ(u.uid, 0u);
    EXPECT_EQ(u.gid, 5u);
    EXPECT_EQ(u.home, "/root");
}

// moby/sys/user GetExecUser fills supplementary groups only in the implicit form
// ("Supplementary group ids only make sense if in the implicit form"): with an explicit group
// (`user:group`, `:group`) the container sees only its primary gid.
TEST(User, ExplicitGroupHasNoSupplementaryGroups) {
    EXPECT_EQ(resolve("1000:1000").additional_gids, (Gids{1000}));
    EXPECT_EQ(resolve("nobody:root").additional_gids, (Gids{0}));
    EXPECT_EQ(resolve("alice:users").additional_gids, (Gids{100}));
    EXPECT_EQ(resolve(":5").additional_gids, (Gids{5}));
}

TEST(User, UnknownUserName) {
    auto m = error("mallory");
    EXPECT_TRUE(contains(m, "unable to find user mallory"));
    EXPECT_TRUE(contains(error("root", ""), "unable to find user root"));
    EXPECT_TRUE(contains(error("mallory:root"), "mallory"));
}

TEST(User, UnknownGroupName) {
    auto m = error("nobody:nosuchgroup");
    EXPECT_TRUE(contains(m, "unable to find group nosuchgroup"));
    EXPECT_TRUE(contains(error(":admins"), "admins"));
}

TEST(User, EmptyGroupRejected) {
    EXPECT_TRUE(contains(error("nobody:"), "nobody:"));
}

TEST(User, IdRange) {
    EXPECT_EQ(resolve("2147483647").uid, 2147483647u);
    EXPECT_EQ(resolve("0:2147483647").gid, 2147483647u);
    auto m = error("2147483648");
    EXPECT_TRUE(contains(m, "2147483648"));
    EXPECT_TRUE(contains(m, "0-2147483647"));
    EXPECT_TRUE(contains(error("4294967295"), "4294967295"));
    EXPECT_TRUE(contains(error("99999999999999999999999"), "99999999999999999999999"));
    EXPECT_TRUE(contains(error("0:2147483648"), "0:2147483648"));
}

TEST(User, PasswdEntryWithOutOfRangeIdIsIgnored) {
    EXPECT_TRUE(contains(error("toolong"), "toolong"));
}
