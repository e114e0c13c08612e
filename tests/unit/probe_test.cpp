// hutch-probe's pure parsing and formatting (caps/probe/probe_lib).
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>

#include "caps/capabilities.hpp"
#include "caps/probe/probe_lib.hpp"

using namespace hutch::probe;

namespace {

TEST(ProbeNamespaces, InodeFromLink) {
    EXPECT_EQ(ns_inode("pid:[4026531836]"), 4026531836u);
    EXPECT_EQ(ns_inode("pid_for_children:[4026532180]"), 4026532180u);
    EXPECT_FALSE(ns_inode("pid:[]"));
    EXPECT_FALSE(ns_inode("pid:[12x]"));
    EXPECT_FALSE(ns_inode("pid:4026531836"));
    EXPECT_FALSE(ns_inode(""));
}

TEST(ProbeNamespaces, InitialInodes) {
    EXPECT_TRUE(is_initial_ns("pid", 4026531836u));
    EXPECT_TRUE(is_initial_ns("pid_for_children", 4026531836u));
    EXPECT_TRUE(is_initial_ns("user", 4026531837u));
    EXPECT_TRUE(is_initial_ns("uts", 4026531838u));
    EXPECT_TRUE(is_initial_ns("ipc", 4026531839u));
    EXPECT_TRUE(is_initial_ns("cgroup", 4026531835u));
    EXPECT_TRUE(is_initial_ns("time", 4026531834u));
    EXPECT_TRUE(is_initial_ns("net", 4026531833u));
    EXPECT_TRUE(is_initial_ns("mnt", 4026531832u));
    EXPECT_FALSE(is_initial_ns("pid", 4026532180u));
    EXPECT_FALSE(is_initial_ns("uts", 4026531836u));  // pid's number is not uts's
    EXPECT_FALSE(is_initial_ns("net", 4026531840u));  // a dynamic number
}

TEST(ProbeStatus, Fields) {
    auto f = parse_status("Name:\thutch-probe\nCapEff:\t000001ffffffffff\nGroups:\t\nSeccomp:\t2\n"
                          "Uid:\t0\t0\t0\t0\nnot a field\n");
    EXPECT_EQ(f["Name"], "hutch-probe");
    EXPECT_EQ(f["CapEff"], "000001ffffffffff");
    EXPECT_EQ(f["Groups"], "");
    EXPECT_EQ(f["Uid"], "0\t0\t0\t0");
    EXPECT_EQ(parse_int(f["Seccomp"]), 2);
    EXPECT_EQ(parse_hex(f["CapEff"]), 0x1ffffffffffULL);
    EXPECT_FALSE(parse_hex("1ffffffffffffffff"));  // 17 digits
    EXPECT_FALSE(parse_hex("xyz"));
    EXPECT_EQ(parse_int("-1"), -1);
    EXPECT_FALSE(parse_int("1.5"));
}

TEST(ProbeCaps, NamesMatchLinuxCapabilityH) {
    EXPECT_EQ(cap_name(0), "CAP_CHOWN");
    EXPECT_EQ(cap_name(21), "CAP_SYS_ADMIN");
    EXPECT_EQ(cap_name(40), "CAP_CHECKPOINT_RESTORE");
    EXPECT_EQ(cap_name(41), "CAP_41");
    // The probe keeps its own table (it must not link hutch_core): it must agree with hutch's.
    for (int cap = 0; cap < kKnownCaps; ++cap) EXPECT_EQ(cap_name(cap), hutch::caps::name_of(cap));
}

TEST(ProbeCaps, SetToNames) {
    EXPECT_TRUE(cap_names(0).empty());
    EXPECT_EQ(cap_names(0x20000420ULL),
              (std::vector<std::string>{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}));
    EXPECT_EQ(cap_names((1ULL << 41) - 1).size(), 41u);
    EXPECT_EQ(cap_names(1ULL << 63), std::vector<std::string>{"CAP_63"});
}

TEST(ProbeIds, IdMap) {
    auto m = parse_id_map("         0          0 4294967295\n");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].inside, 0u);
    EXPECT_EQ(m[0].outside, 0u);
    EXPECT_EQ(m[0].count, 4294967295u);
    m = parse_id_map("0 100000 1\n1 200000 65535\n");
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[1].outside, 200000u);
    EXPECT_TRUE(parse_id_map("").empty());
    EXPECT_TRUE(parse_id_map("0 0\n").empty());
}

TEST(ProbeMountinfo, ProcManPageExample) {
    auto m = parse_mountinfo_line(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->id, 36);
    EXPECT_EQ(m->parent, 35);
    EXPECT_EQ(m->major, 98u);
    EXPECT_EQ(m->minor, 0u);
    EXPECT_EQ(m->root, "/mnt1");
    EXPECT_EQ(m->mount_point, "/mnt2");
    EXPECT_EQ(m->options, "rw,noatime");
    EXPECT_EQ(m->optional, std::vector<std::string>{"master:1"});
    EXPECT_EQ(m->fstype, "ext3");
    EXPECT_EQ(m->source, "/dev/root");
    EXPECT_EQ(m->super_options, "rw,errors=continue");
    EXPECT_EQ(propagation(*m), "master:1");
}

TEST(ProbeMountinfo, EscapesNoOptionalFieldsAndMaskBinds) {
    auto m = parse_mountinfo_line(
        "87 66 254:0 /data/my\\040dir /mnt/a\\134b\\011c ro,relatime - ext4 /dev/vda rw");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->root, "/data/my dir");
    EXPECT_EQ(m->mount_point, "/mnt/a\\b\tc");
    EXPECT_TRUE(m->optional.empty());
    EXPECT_EQ(propagation(*m), "private");
    EXPECT_TRUE(has_option(m->options, "ro"));
    EXPECT_FALSE(has_option(m->options, "rw"));

    m = parse_mountinfo_line("90 67 0:41 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->root, "/null");
    EXPECT_EQ(m->mount_point, "/proc/kcore");
}

TEST(ProbeMountinfo, EmptySourceAndBadLines) {
    // An empty source leaves two blanks: fstype and super options still come out right.
    auto m = parse_mountinfo_line("50 40 0:5 / /x rw shared:7 - tmpfs  rw,size=4k");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->fstype, "tmpfs");
    EXPECT_EQ(m->source, "");
    EXPECT_EQ(m->super_options, "rw,size=4k");
    EXPECT_FALSE(parse_mountinfo_line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw"));
    EXPECT_FALSE(parse_mountinfo_line("garbage"));
    EXPECT_FALSE(parse_mountinfo_line("x 35 98:0 / / rw - ext4 /dev/root rw"));
    auto all = parse_mountinfo("garbage\n36 35 98:0 / / rw - ext4 /dev/root rw\n\n");
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].mount_point, "/");
}

TEST(ProbeMountinfo, Options) {
    EXPECT_TRUE(has_option("rw,nosuid,nodev", "nosuid"));
    EXPECT_TRUE(has_option("ro", "ro"));
    EXPECT_FALSE(has_option("rw,nosuid", "nosu"));
    EXPECT_FALSE(has_option("", "ro"));
    EXPECT_TRUE(path_under("/proc/kcore", "/proc"));
    EXPECT_TRUE(path_under("/proc", "/proc"));
    EXPECT_FALSE(path_under("/procfoo", "/proc"));
    EXPECT_FALSE(path_under("/sys", "/proc"));
    EXPECT_TRUE(path_under("/anything", "/"));
}

TEST(ProbeVerdict, BlockedAllowedUnexpected) {
    probe::Outcome o;
    o.kind = probe::Outcome::Kind::returned;
    o.ret = -1;

    o.err = EPERM;
    Verdict v = judge(o, {ENOENT}, false);
    EXPECT_EQ(v.state, Verdict::State::blocked);
    EXPECT_EQ(v.text, "blocked (EPERM)");
    EXPECT_EQ(v.errno_name, "EPERM");

    o.err = ENOSYS;
    EXPECT_EQ(judge(o, {ENOENT}, false).text, "blocked (ENOSYS)");

    o.err = ENOENT;
    v = judge(o, {ENOENT}, false);
    EXPECT_EQ(v.state, Verdict::State::allowed);
    EXPECT_EQ(v.text, "allowed (ENOENT)");

    o.err = EACCES;  // an LSM, or a profile with its own errno: not guessed
    v = judge(o, {ENOENT}, false);
    EXPECT_EQ(v.state, Verdict::State::unknown);
    EXPECT_EQ(v.text, "unexpected (EACCES)");

    o.err = 0;
    o.ret = 0;
    EXPECT_EQ(judge(o, {}, true).text, "allowed (ok)");
    EXPECT_EQ(judge(o, {EINVAL}, false).text, "unexpected (succeeded)");
}

TEST(ProbeVerdict, KilledTimedOutNotRun) {
    probe::Outcome o;
    o.kind = probe::Outcome::Kind::killed;
    o.signal = SIGSYS;
    Verdict v = judge(o, {EINVAL}, false);
    EXPECT_EQ(v.state, Verdict::State::blocked);
    EXPECT_EQ(v.text, "blocked (killed by SIGSYS)");
    EXPECT_EQ(v.signal_name, "SIGSYS");

    o.signal = SIGSEGV;
    v = judge(o, {EINVAL}, false);
    EXPECT_EQ(v.state, Verdict::State::unknown);
    EXPECT_EQ(v.text, "unknown (killed by SIGSEGV)");

    o.kind = probe::Outcome::Kind::timed_out;
    EXPECT_EQ(judge(o, {}, false).text, "unknown (timed out)");

    o.kind = probe::Outcome::Kind::not_run;
    o.why_not_run = "fork: EAGAIN";
    EXPECT_EQ(judge(o, {}, false).text, "not tried (fork: EAGAIN)");
}

TEST(ProbeOutput, ErrnoAndSignalNames) {
    EXPECT_EQ(errno_name(ENOENT), "ENOENT");
    EXPECT_EQ(errno_name(EOPNOTSUPP), "EOPNOTSUPP");
    EXPECT_EQ(errno_name(4242), "errno 4242");
    EXPECT_EQ(signal_name(SIGSYS), "SIGSYS");
}

TEST(ProbeOutput, JsonQuote) {
    EXPECT_EQ(json_quote("plain"), "\"plain\"");
    EXPECT_EQ(json_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(json_quote("tab\tnl\n"), "\"tab\\tnl\\n\"");
    EXPECT_EQ(json_quote(std::string("\x01", 1)), "\"\\u0001\"");
    EXPECT_EQ(json_quote("h\xc3\xa9"), "\"h\xc3\xa9\"");       // UTF-8 passes through
    EXPECT_EQ(json_quote("bad\xff"), "\"bad\\ufffd\"");       // a lone byte cannot
    EXPECT_EQ(json_quote("\xc3"), "\"\\ufffd\"");             // truncated sequence
}

TEST(ProbeOutput, WrapWords) {
    auto lines = wrap_words({"CAP_CHOWN", "CAP_KILL", "CAP_SETUID"}, 20);
    EXPECT_EQ(lines, (std::vector<std::string>{"CAP_CHOWN CAP_KILL", "CAP_SETUID"}));
    EXPECT_TRUE(wrap_words({}, 10).empty());
    EXPECT_EQ(wrap_words({"averyveryverylongword"}, 5), std::vector<std::string>{"averyveryverylongword"});
}

TEST(ProbeDevices, MiscMinor) {
    const char* misc = "259 cpu_dma_latency\n229 fuse\n 183 hw_random\n200 tun\n";
    EXPECT_EQ(misc_minor(misc, "cpu_dma_latency"), 259u);
    EXPECT_EQ(misc_minor(misc, "hw_random"), 183u);
    EXPECT_FALSE(misc_minor(misc, "fus"));
    EXPECT_FALSE(misc_minor("x fuse\n", "fuse"));
    EXPECT_FALSE(misc_minor("", "fuse"));
}

TEST(ProbeDevices, ListNeverHoldsAWatchdogAndPicksAnExistingBlockDevice) {
    auto names = [](const std::vector<ProbeDevice>& list) {
        std::vector<std::string> out;
        for (const auto& d : list) out.push_back(d.name);
        return out;
    };
    auto find = [](const std::vector<ProbeDevice>& list, const std::string& name) {
        for (const auto& d : list)
            if (d.name == name) return d;
        return ProbeDevice{};
    };
    // An unbound loop device first, never a bound one, a ram disk or a removable disk.
    std::vector<BlockDevice> block = {{"1:0", "0", "8192"}, {"11:0", "1", "100"}, {"254:0", "0", "100"},
                                      {"7:0", "0", "100"}, {"7:1", "0", "0"}};
    auto list = probe_device_list("259 cpu_dma_latency\n", block);
    for (const auto& d : list) {
        EXPECT_FALSE(d.type == 'c' && d.major == 10 && d.minor == 130) << "a watchdog is on the list";
        EXPECT_FALSE(d.why.empty()) << d.name;
    }
    EXPECT_EQ(names(list), (std::vector<std::string>{"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts",
                                                     "tun", "fuse", "hwrng", "cpu_dma_latency", "tty0", "kmsg", "block"}));
    EXPECT_EQ(find(list, "cpu_dma_latency").minor, 259u);
    ProbeDevice b = find(list, "block");
    EXPECT_EQ(b.major, 7u);
    EXPECT_EQ(b.minor, 1u);
    EXPECT_TRUE(b.open);
    // Without a loop device: the fixed disk; without either: mknod only.
    b = find(probe_device_list("", {{"11:0", "1", "9"}, {"254:0", "0", "9"}}), "block");
    EXPECT_EQ(b.major, 254u);
    EXPECT_TRUE(b.open);
    EXPECT_FALSE(find(probe_device_list("", {{"1:0", "0", "9"}}), "block").open);
    EXPECT_FALSE(find(probe_device_list("", {}), "cpu_dma_latency").skip.empty()) << "absent from /proc/misc";
}

TEST(ProbeDevices, Verdict) {
    EXPECT_EQ(device_verdict(0), "allowed (ok)");
    EXPECT_EQ(device_verdict(ENXIO), "allowed (ENXIO)");
    EXPECT_EQ(device_verdict(EPERM), "denied (EPERM)");
}

}  // namespace
