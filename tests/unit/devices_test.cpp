// The device policy without root: rule normalisation with cgroup v1's semantics, the flags that
// make rules, the v1 writes, and the eBPF program's decisions, run by a small interpreter of the
// instructions it uses (the kernel has no BPF_PROG_TEST_RUN for cgroup_device programs). The
// program loaded into a real kernel is tested in tests/integration/devices_test.cpp.
#include <gtest/gtest.h>

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "runtime/bpf_device_program.hpp"
#include "runtime/devices.hpp"
#include "runtime/error.hpp"
#include "runtime/run_options.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using namespace hutch::devices;
using hutch::test::contains;
using hutch::test::usage_error;

namespace {

// Runs `program` on one request as the kernel would; -1 (and a test failure) for an instruction
// outside the subset the generator uses, a jump out of the program, or a missing exit.
int interpret(const std::vector<bpf_insn>& program, char type, std::uint32_t major, std::uint32_t minor,
              unsigned access) {
    const std::uint32_t ctx[3] = {(access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), major,
                                  minor};
    std::uint64_t reg[11] = {};
    for (std::size_t pc = 0; pc < program.size();) {
        const bpf_insn& i = program[pc++];
        const std::uint32_t imm = static_cast<std::uint32_t>(i.imm);
        switch (BPF_CLASS(i.code)) {
            case BPF_LDX:
                if (BPF_MODE(i.code) != BPF_MEM || BPF_SIZE(i.code) != BPF_W || i.src_reg != 1 || i.off < 0 ||
                    i.off > 8 || i.off % 4)
                    break;
                reg[i.dst_reg] = ctx[i.off / 4];
                continue;
            case BPF_ALU: {
                std::uint32_t src = BPF_SRC(i.code) == BPF_X ? static_cast<std::uint32_t>(reg[i.src_reg]) : imm;
                std::uint32_t dst = static_cast<std::uint32_t>(reg[i.dst_reg]);
                if (BPF_OP(i.code) == BPF_AND) reg[i.dst_reg] = dst & src;
                else if (BPF_OP(i.code) == BPF_RSH) reg[i.dst_reg] = dst >> src;
                else if (BPF_OP(i.code) == BPF_MOV) reg[i.dst_reg] = src;
                else break;
                continue;
            }
            case BPF_ALU64:
                if (BPF_OP(i.code) != BPF_MOV || BPF_SRC(i.code) != BPF_K) break;
                reg[i.dst_reg] = static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm));
                continue;
            case BPF_JMP32: {
                if (BPF_SRC(i.code) != BPF_K || i.off < 0) break;
                std::uint32_t dst = static_cast<std::uint32_t>(reg[i.dst_reg]);
                bool taken;
                if (BPF_OP(i.code) == BPF_JNE) taken = dst != imm;
                else if (BPF_OP(i.code) == BPF_JEQ) taken = dst == imm;
                else if (BPF_OP(i.code) == BPF_JSET) taken = (dst & imm) != 0;
                else break;
                if (taken) pc += static_cast<std::size_t>(i.off);
                continue;
            }
            case BPF_JMP:
                if (BPF_OP(i.code) != BPF_EXIT) break;
                return static_cast<int>(reg[0]);
        }
        ADD_FAILURE() << "instruction " << pc - 1 << " (code 0x" << std::hex << int(i.code) << ") is outside the subset";
        return -1;
    }
    ADD_FAILURE() << "the program ran past its end";
    return -1;
}

struct Probe {
    char type;
    std::uint32_t major, minor;
};
// Devices that exercise every kind of exception: the defaults, wildcards, fuse, disks, ttys.
const Probe kProbes[] = {{'c', 1, 3},  {'c', 1, 5},   {'c', 1, 7},   {'c', 1, 8},    {'c', 1, 9},  {'c', 1, 11},
                         {'c', 5, 0},  {'c', 5, 1},   {'c', 5, 2},   {'c', 136, 0},  {'c', 136, 7}, {'c', 10, 200},
                         {'c', 10, 229}, {'c', 10, 183}, {'c', 10, 259}, {'c', 4, 0},  {'c', 42, 0},  {'c', 42, 99},
                         {'b', 8, 0},  {'b', 8, 1},   {'b', 1, 3},   {'b', 254, 0},  {'c', 4095, 1048575}};

// Every probe, every access combination: the program and cgroup v1's rule agree.
void expect_program_matches(const Policy& policy) {
    std::vector<bpf_insn> program = bpf::device_program(policy);
    for (const auto& p : kProbes)
        for (unsigned access = 1; access <= kAllAccess; ++access)
            EXPECT_EQ(interpret(program, p.type, p.major, p.minor, access), policy.allows(p.type, p.major, p.minor, access) ? 1 : 0)
                << p.type << " " << p.major << ":" << p.minor << " " << access_string(access);
}

DeviceRule allow(const char* type, std::optional<std::int64_t> major, std::optional<std::int64_t> minor,
                 const char* access = "rwm") {
    return {true, type, major, minor, access};
}
DeviceRule deny(const char* type, std::optional<std::int64_t> major, std::optional<std::int64_t> minor,
                const char* access = "rwm") {
    return {false, type, major, minor, access};
}

LinuxSection with_rules(std::vector<DeviceRule> rules) {
    LinuxSection l;
    l.resources.devices = std::move(rules);
    return l;
}

}  // namespace

TEST(DevicePolicy, DockersDefaultIsRuncsAllowList) {
    Policy p = container_policy(with_rules(docker_default_rules()));
    EXPECT_FALSE(p.default_allow);
    std::vector<std::string> shown;
    for (const auto& e : p.exceptions) shown.push_back(exception_string(e));
    // Sorted by (major, minor, type); the wildcards' -1 first.
    EXPECT_EQ(shown, (std::vector<std::string>{"b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",
                                                "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",
                                                "c 10:200 rwm", "c 136:* rwm"}));
    // mknod of anything, open only of the listed.
    EXPECT_TRUE(p.allows('b', 8, 0, kMknod));
    EXPECT_FALSE(p.allows('b', 8, 0, kRead));
    EXPECT_TRUE(p.allows('c', 10, 229, kMknod));
    EXPECT_FALSE(p.allows('c', 10, 229, kRead | kWrite));
    EXPECT_FALSE(p.allows('c', 10, 183, kRead));
    EXPECT_FALSE(p.allows('c', 4, 0, kWrite));
    EXPECT_FALSE(p.allows('c', 1, 11, kRead));
    EXPECT_TRUE(p.allows('c', 1, 3, kRead | kWrite));
    EXPECT_TRUE(p.allows('c', 136, 42, kRead | kWrite));
    EXPECT_TRUE(p.allows('c', 5, 2, kRead | kWrite));
    expect_program_matches(p);
}

TEST(DevicePolicy, NoRulesAtAllIsRuncsDefault) {
    // An OCI config without resources: runc's list alone, from deny-all as runc's emulator
    // starts: Docker's allow-list less the console (5:1), which only dockerd adds.
    Policy p = container_policy(LinuxSection{});
    Policy docker = container_policy(with_rules(docker_default_rules()));
    std::erase(docker.exceptions, Exception{'c', 5, 1, kAllAccess});
    EXPECT_EQ(p, docker);
    EXPECT_FALSE(p.allows('c', 5, 1, kRead));
    EXPECT_FALSE(p.allows('c', 10, 229, kRead));
    expect_program_matches(p);
}

TEST(DevicePolicy, LaterRulesWinAndAccessMerges) {
    Policy p = normalise({deny("a", {}, {}), allow("c", 1, 3, "r"), allow("c", 1, 3, "w"), allow("c", 42, {}, "rw"),
                          deny("c", 42, {}, "w")},
                         "test");
    ASSERT_EQ(p.exceptions.size(), 2u);
    EXPECT_EQ(exception_string(p.exceptions[0]), "c 1:3 rw");  // merged, as dev_exception_add does
    EXPECT_EQ(exception_string(p.exceptions[1]), "c 42:* r");  // w taken away by the later deny
    EXPECT_TRUE(p.allows('c', 1, 3, kRead | kWrite));
    EXPECT_FALSE(p.allows('c', 1, 3, kMknod));
    EXPECT_TRUE(p.allows('c', 42, 7, kRead));
    EXPECT_FALSE(p.allows('c', 42, 7, kRead | kWrite)) << "one exception must cover all the access";
    expect_program_matches(p);
}

TEST(DevicePolicy, AnAllRuleResetsEverything) {
    Policy all = normalise({deny("a", {}, {}), allow("c", 1, 3), allow("a", {}, {}, "r")}, "test");
    EXPECT_TRUE(all.allows_everything()) << "an \"a\" line resets, whatever access it names";
    Policy none = normalise({allow("a", {}, {}), allow("c", 1, 3), deny("a", {}, {})}, "test");
    EXPECT_FALSE(none.default_allow);
    EXPECT_TRUE(none.exceptions.empty());
    EXPECT_FALSE(none.allows('c', 1, 3, kRead));
    expect_program_matches(none);
}

TEST(DevicePolicy, DenyListRefusesAnyOverlap) {
    // Allow-all with deny exceptions: cgroup v1 refuses as soon as an exception shares any of
    // the access (match_exception_partial): open O_RDWR of a "w"-denied node fails.
    Policy p = normalise({allow("a", {}, {}), deny("c", 1, 3, "w"), deny("b", 8, {}, "rw"), deny("c", 10, 229)}, "test");
    EXPECT_TRUE(p.default_allow);
    EXPECT_TRUE(p.allows('c', 1, 3, kRead));
    EXPECT_FALSE(p.allows('c', 1, 3, kRead | kWrite));
    EXPECT_TRUE(p.allows('b', 8, 0, kMknod));
    EXPECT_FALSE(p.allows('b', 8, 1, kRead));
    EXPECT_FALSE(p.allows('c', 10, 229, kMknod));
    EXPECT_TRUE(p.allows('c', 10, 183, kRead | kWrite | kMknod));
    expect_program_matches(p);
}

TEST(DevicePolicy, PunchingAHoleInAWildcardIsRefused) {
    // cgroup v1 would keep allowing c 1:3 (it removes exact matches only): refused, as runc does.
    std::string e = usage_error([] { normalise({deny("a", {}, {}), allow("c", {}, {}), deny("c", 1, 3, "r")}, "rules"); });
    EXPECT_TRUE(contains(e, "rules[2] (deny c 1:3 r)")) << e;
    EXPECT_TRUE(contains(e, "c *:* rwm")) << e;
    // Denying what the wildcard does not grant is fine.
    EXPECT_NO_THROW(normalise({deny("a", {}, {}), allow("c", {}, {}, "m"), deny("c", 1, 3, "rw")}, "rules"));
}

TEST(DevicePolicy, BadRulesNameTheRule) {
    EXPECT_TRUE(contains(usage_error([] { normalise({allow("x", 1, 3)}, "r"); }), "r[0] (allow x 1:3 rwm): type"));
    EXPECT_TRUE(contains(usage_error([] { normalise({allow("c", 1, 3, "rwx")}, "r"); }), "access"));
    EXPECT_TRUE(contains(usage_error([] { normalise({allow("c", 1, 3, "")}, "r"); }), "access"));
    EXPECT_TRUE(contains(usage_error([] { normalise({allow("c", 5000000000LL, 3)}, "r"); }), "major 5000000000"));
    EXPECT_TRUE(contains(usage_error([] { normalise({allow("c", 1, -7)}, "r"); }), "minor -7"));
    EXPECT_NO_THROW(normalise({allow("c", -1, -1, "m")}, "r"));  // -1 is OCI's "every number"
}

TEST(DevicePolicy, LinuxDevicesAreNotAllowRules) {
    // runc: a node in linux.devices gets no rule of its own; only a default node replaced at
    // the same path loses its default rule.
    LinuxSection l = with_rules({deny("a", {}, {})});
    l.devices.push_back({"/dev/kmsg", "c", 1, 11, 0644, 0, 0});
    l.devices.push_back({"/dev/null", "c", 1, 3, 0666, 0, 0});
    Policy p = container_policy(l);
    EXPECT_FALSE(p.allows('c', 1, 11, kRead));
    EXPECT_FALSE(p.allows('c', 1, 3, kRead)) << "/dev/null given in linux.devices drops runc's 1:3 rule";
    EXPECT_TRUE(p.allows('c', 1, 5, kRead));
}

TEST(DevicePolicy, V1WritesResetThenListExceptions) {
    Policy p = normalise({deny("a", {}, {}), allow("c", 1, 3), allow("b", {}, {}, "m")}, "t");
    auto writes = v1_writes(p);
    ASSERT_EQ(writes.size(), 3u);
    EXPECT_EQ(writes[0], (std::pair<std::string, std::string>{"devices.deny", "a"}));
    EXPECT_EQ(writes[1], (std::pair<std::string, std::string>{"devices.allow", "b *:* m"}));
    EXPECT_EQ(writes[2], (std::pair<std::string, std::string>{"devices.allow", "c 1:3 rwm"}));
    auto open_list = v1_writes(normalise({allow("a", {}, {}), deny("c", 10, 229, "rw")}, "t"));
    ASSERT_EQ(open_list.size(), 2u);
    EXPECT_EQ(open_list[0], (std::pair<std::string, std::string>{"devices.allow", "a"}));
    EXPECT_EQ(open_list[1], (std::pair<std::string, std::string>{"devices.deny", "c 10:229 rw"}));
}

TEST(DevicePolicy, ProgramShape) {
    // A deny-all policy with one full-access exception: the prologue (6), the block's tests
    // (type, major, minor) and verdict (2), the default verdict (2).
    auto program = bpf::device_program(normalise({deny("a", {}, {}), allow("c", 1, 3)}, "t"));
    EXPECT_EQ(program.size(), 6u + 3u + 2u + 2u);
    // Allow-all without exceptions: the prologue and "return 1".
    auto open = bpf::device_program(Policy{});
    EXPECT_EQ(open.size(), 8u);
    EXPECT_EQ(interpret(open, 'b', 8, 0, kRead), 1);
}

TEST(DeviceCgroupRule, DockersSyntax) {
    DeviceRule r = parse_cgroup_rule("c 42:* rmw");
    EXPECT_TRUE(r.allow);
    EXPECT_EQ(r.type, "c");
    EXPECT_EQ(r.major, 42);
    EXPECT_EQ(r.minor, kWildcard);
    EXPECT_EQ(r.access, "rmw");
    EXPECT_EQ(rule_string(parse_cgroup_rule("b *:3 r")), "b *:3 r");
    EXPECT_EQ(parse_cgroup_rule("a *:* rwm").type, "a");
    for (const char* bad : {"", "c 42:* ", "c 42 rwm", "x 1:2 r", "c 1:2 rwx", "c a:2 r", "c 1:2 rwmr", "c  1:2 r",
                            "c 1:2", "c 99999999999:1 r", "c -1:2 r"})
        EXPECT_TRUE(contains(usage_error([&] { parse_cgroup_rule(bad); }), "invalid --device-cgroup-rule")) << bad;
}

TEST(DeviceFlag, DockersForms) {
    HostDeviceLookup fuse = [](const std::string& path) -> HostDevice {
        if (path == "/dev/fuse") return {'c', 10, 229, 0600, 0, 0};
        if (path == "/dev/vda") return {'b', 254, 0, 0660, 0, 6};
        throw UsageError("invalid --device \"" + path + "\": No such file or directory");
    };
    auto [node, rule] = parse_device_flag("/dev/fuse", fuse);
    EXPECT_EQ(node.path, "/dev/fuse");
    EXPECT_EQ(node.type, "c");
    EXPECT_EQ(node.major, 10);
    EXPECT_EQ(node.minor, 229);
    EXPECT_EQ(node.file_mode, 0600u);
    EXPECT_EQ(describe(rule), "allow c 10:229 rwm");
    EXPECT_EQ(parse_device_flag("/dev/fuse:r", fuse).second.access, "r") << "a second part that is a mode is the mode";
    auto renamed = parse_device_flag("/dev/vda:/dev/xvdc:rw", fuse);
    EXPECT_EQ(renamed.first.path, "/dev/xvdc");
    EXPECT_EQ(renamed.first.gid, 6u);
    EXPECT_EQ(describe(renamed.second), "allow b 254:0 rw");
    EXPECT_EQ(parse_device_flag("/dev/vda:/dev/disk/x", fuse).first.path, "/dev/disk/x");
    for (const char* bad : {"/dev/fuse:/dev/f:rwx", "/dev/fuse:/dev/f:", "dev/fuse", "/dev/fuse:/etc/fuse",
                            "/dev/fuse:relative", "/dev/fuse:/dev/../etc/x", "/dev/nope", "a:b:c:d", ":/dev/x"})
        EXPECT_TRUE(contains(usage_error([&] { parse_device_flag(bad, fuse); }), "invalid --device")) << bad;
}

TEST(DeviceFlag, RunOptionsPutDockersRulesInTheSpec) {
    HostFacts host;
    host.caps = caps::HostCaps{40, ~caps::CapSet{0}};
    host.read_in_rootfs = [](const std::string&) { return std::string("root:x:0:0::/root:/bin/sh\n"); };
    host.host_device = [](const std::string& path) -> HostDevice {
        if (path == "/dev/fuse") return {'c', 10, 229, 0666, 0, 0};
        throw UsageError("invalid --device \"" + path + "\": not a character or block device");
    };
    RunOptions o;
    o.rootfs = "/r";
    o.command = {"true"};
    const std::string id(64, 'a');
    Spec plain = build_run_spec(o, id, host);
    EXPECT_EQ(plain.linux.resources.devices, docker_default_rules()) << "--dry-run hands crun dockerd's rules";
    EXPECT_TRUE(plain.linux.devices.empty());

    o.devices = {"/dev/fuse"};
    o.device_cgroup_rules = {"c 42:* rmw"};
    Spec widened = build_run_spec(o, id, host);
    ASSERT_EQ(widened.linux.devices.size(), 1u);
    EXPECT_EQ(widened.linux.devices[0].path, "/dev/fuse");
    Policy p = container_policy(widened.linux);
    EXPECT_TRUE(p.allows('c', 10, 229, kRead | kWrite)) << "the --device rule comes after dockerd's fuse deny";
    EXPECT_TRUE(p.allows('c', 42, 3, kRead | kWrite | kMknod));
    EXPECT_FALSE(p.allows('c', 10, 183, kRead));

    o.privileged = true;
    EXPECT_TRUE(container_policy(build_run_spec(o, id, host).linux).allows_everything());

    o.privileged = false;
    o.devices = {"/etc/passwd"};
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, id, host); }), "not a character or block device"));
    o.devices = {};
    o.device_cgroup_rules = {"c 42 rw"};
    EXPECT_TRUE(contains(usage_error([&] { build_run_spec(o, id, host); }), "invalid --device-cgroup-rule \"c 42 rw\""));
}
