#include <gtest/gtest.h>

#include <sys/mount.h>

#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/mounts.hpp"
#include "runtime/sys/describe.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;

TEST(MountOptions, Empty) {
    auto o = mnt::parse_options({});
    EXPECT_EQ(o.flags, 0ul);
    EXPECT_EQ(o.propagation, 0ul);
    EXPECT_FALSE(o.bind);
    EXPECT_FALSE(o.recursive);
    EXPECT_EQ(o.data, "");
}

TEST(MountOptions, Flags) {
    auto o = mnt::parse_options({"nosuid", "noexec", "nodev"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
    EXPECT_EQ(o.data, "");
    EXPECT_EQ(mnt::parse_options({"ro"}).flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(mnt::parse_options({"ro", "rw"}).flags, 0ul);
    EXPECT_EQ(mnt::parse_options({"rw", "ro"}).flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(mnt::parse_options({"noexec", "exec", "nosuid"}).flags,
              static_cast<unsigned long>(MS_NOSUID));
    EXPECT_EQ(mnt::parse_options({"strictatime", "noatime"}).flags,
              static_cast<unsigned long>(MS_STRICTATIME | MS_NOATIME));
}

TEST(MountOptions, BindAndRbind) {
    auto b = mnt::parse_options({"bind"});
    EXPECT_TRUE(b.bind);
    EXPECT_FALSE(b.recursive);
    auto r = mnt::parse_options({"rbind", "ro"});
    EXPECT_TRUE(r.bind);
    EXPECT_TRUE(r.recursive);
    EXPECT_EQ(r.flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(r.propagation, 0ul);
}

TEST(MountOptions, Propagation) {
    EXPECT_EQ(mnt::parse_options({"rprivate"}).propagation,
              static_cast<unsigned long>(MS_PRIVATE | MS_REC));
    EXPECT_EQ(mnt::parse_options({"private"}).propagation, static_cast<unsigned long>(MS_PRIVATE));
    EXPECT_EQ(mnt::parse_options({"rshared"}).propagation,
              static_cast<unsigned long>(MS_SHARED | MS_REC));
    EXPECT_EQ(mnt::parse_options({"slave"}).propagation, static_cast<unsigned long>(MS_SLAVE));
    EXPECT_EQ(mnt::parse_options({"rprivate", "rslave"}).propagation,
              static_cast<unsigned long>(MS_SLAVE | MS_REC));
    // Propagation never leaks into the mount flags.
    EXPECT_EQ(mnt::parse_options({"rprivate"}).flags, 0ul);
}

TEST(MountOptions, DataOptions) {
    auto o = mnt::parse_options({"nosuid", "strictatime", "mode=755", "size=65536k"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
    EXPECT_EQ(o.data, "mode=755,size=65536k");
    auto pts = mnt::parse_options(
        {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
    EXPECT_EQ(pts.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
    EXPECT_EQ(pts.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    EXPECT_EQ(mnt::parse_options({"size=64m"}).data, "size=64m");
}

TEST(MountOptions, TmpcopyupIsAFlagNotMountData) {
    auto o = mnt::parse_options({"tmpcopyup", "nodev"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NODEV));
    EXPECT_EQ(o.data, "");
    EXPECT_TRUE(o.copy_up);
    EXPECT_FALSE(mnt::parse_options({"tmpcopyup", "notmpcopyup"}).copy_up);
}

// runc's recursive options: MOUNT_ATTR_* bits for mount_setattr(AT_RECURSIVE), the later of
// rro and rrw winning as ro and rw do; they leave the mount's own flags alone.
TEST(MountOptions, RecursiveAttributes) {
    auto o = mnt::parse_options({"rbind", "rro", "rnosuid", "rnodev"});
    EXPECT_EQ(o.recursive_set, static_cast<std::uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
    EXPECT_EQ(o.recursive_clear, 0u);
    EXPECT_EQ(o.flags, 0u);
    auto undone = mnt::parse_options({"rro", "rnoexec", "rrw", "rexec"});
    EXPECT_EQ(undone.recursive_set, 0u);
    EXPECT_EQ(undone.recursive_clear, static_cast<std::uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC));
    EXPECT_EQ(sys::mount_attr_flags(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC), "MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOEXEC");
}

TEST(MountOptions, UnknownOptionThrows) {
    EXPECT_TRUE(contains(usage_error([] { mnt::parse_options({"nosuid", "bogus"}); }), "\"bogus\""));
    EXPECT_TRUE(contains(usage_error([] { mnt::parse_options({""}); }), "\"\""));
    EXPECT_TRUE(contains(usage_error([] { mnt::parse_options({"RO"}); }), "\"RO\""));
}

TEST(MountOptions, FlagsToString) {
    EXPECT_EQ(sys::mount_flags(MS_NOSUID | MS_NODEV), "MS_NOSUID|MS_NODEV");
    EXPECT_EQ(sys::mount_flags(0), "0");
    EXPECT_EQ(sys::mount_flags(MS_RDONLY), "MS_RDONLY");
    EXPECT_EQ(sys::mount_flags(MS_NODEV | MS_NOSUID | MS_NOEXEC | MS_RDONLY),
              "MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC");
    EXPECT_EQ(sys::mount_flags(MS_BIND | MS_REC), "MS_BIND|MS_REC");
    EXPECT_EQ(sys::mount_flags(MS_PRIVATE | MS_REC), "MS_REC|MS_PRIVATE");
    EXPECT_EQ(sys::mount_flags(MS_BIND | MS_REMOUNT | MS_RDONLY), "MS_RDONLY|MS_REMOUNT|MS_BIND");
    EXPECT_EQ(sys::mount_flags(1ul << 30), "0x40000000");  // unknown bits in hex, as strace shows them
    EXPECT_EQ(sys::mount_flags(MS_NOSUID | (1ul << 30)), "MS_NOSUID|0x40000000");
}

TEST(MountOptions, ParseThenPrintDefaultMountFlags) {
    EXPECT_EQ(sys::mount_flags(mnt::parse_options({"nosuid", "noexec", "nodev", "ro"}).flags),
              "MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC");
}
