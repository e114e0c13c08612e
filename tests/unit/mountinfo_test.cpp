// /proc/self/mountinfo as runtime/mountinfo.hpp reads it: propagation from the optional fields,
// escaped mount points, and the mount a path lies on.
#include "runtime/mountinfo.hpp"

#include <gtest/gtest.h>

namespace hutch::mountinfo {
namespace {

const char* kTable =
    "21 1 0:20 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "22 21 0:21 / /run rw,nosuid shared:5 - tmpfs tmpfs rw\n"
    "23 22 0:22 / /run/a\\040b rw master:5 - tmpfs tmpfs rw\n"
    "24 21 0:23 / /srv rw shared:7 master:1 - tmpfs tmpfs rw\n"
    "25 21 0:24 / /srv rw - tmpfs tmpfs rw\n"
    "garbage line\n"
    "26 21 0:25 / /no-separator rw shared:9\n";

TEST(Mountinfo, ParsesPropagationAndEscapedPoints) {
    std::vector<Entry> all = parse(kTable);
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[0].point, "/");
    EXPECT_TRUE(all[0].shared);
    EXPECT_FALSE(all[0].slave);
    EXPECT_EQ(all[2].point, "/run/a b");
    EXPECT_FALSE(all[2].shared);
    EXPECT_TRUE(all[2].slave);
    EXPECT_TRUE(all[3].shared && all[3].slave);
    EXPECT_EQ(all[4].parent, 21);
}

TEST(Mountinfo, APathLiesOnTheLongestMountPointAboveItTheTopOneOfAStack) {
    std::vector<Entry> all = parse(kTable);
    EXPECT_EQ(mount_of(all, "/etc/passwd")->id, 21);
    EXPECT_EQ(mount_of(all, "/run")->id, 22);
    EXPECT_EQ(mount_of(all, "/run/x")->id, 22);
    EXPECT_EQ(mount_of(all, "/run/a b/c")->id, 23);
    EXPECT_EQ(mount_of(all, "/runner")->id, 21) << "a prefix of the name is not a parent";
    EXPECT_EQ(mount_of(all, "/srv/data")->id, 25) << "the mount on top of a stack";
    EXPECT_FALSE(mount_of(all, "relative"));
    EXPECT_FALSE(mount_of({}, "/x"));
}

}  // namespace
}  // namespace hutch::mountinfo
