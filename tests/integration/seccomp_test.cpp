// Seccomp and no-new-privileges (issue 5), seen from inside with hutch-probe (`run --probe`):
// the default filter, capability-dependent rules, custom Docker profiles and bad ones.
//
// The probe tries each sensitive call only in forms the kernel rejects before it acts
// (caps/probe/syscalls.cpp): it never mounts, reboots or sets the clock, even when allowed.
#include <unistd.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

// Docker's default profile blocks these for a container with Docker's default capabilities
// (REFERENCE.md, "Seccomp default"): always-blocked calls, and capability-gated ones whose
// capability the default set lacks.
const char* const kBlockedByDefault[] = {
    "mount", "umount2", "pivot_root", "unshare", "setns", "open_tree", "move_mount", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
    "userfaultfd", "io_uring_setup", "kcmp", "pidfd_getfd", "process_madvise", "kexec_load", "init_module",
    "finit_module", "delete_module", "reboot", "clock_settime", "settimeofday", "swapon", "swapoff",
    "open_by_handle_at", "acct", "quotactl", "syslog", "iopl", "ioperm", "sethostname", "setdomainname",
    "fanotify_init",
};
// Blocked only on x86-64 (no such call in the i386 table) or only on i386.
const char* const kBlockedX64Only[] = {"kexec_file_load"};
const char* const kBlockedI386Only[] = {"umount", "stime", "clock_settime64"};
// Allowed by Docker's default profile: the filter must not block everything.
const char* const kAllowedByDefault[] = {"chroot", "ptrace", "process_vm_readv", "process_vm_writev",
                                         "personality", "clock_adjtime"};

class SeccompIntegration : public HutchTest {
protected:
    // Runs hutch-probe --json --only SECTIONS in a container (no network: nothing needs it).
    json probe(const Strings& opts, const std::string& sections) {
        Strings all = {"--network", "none", "--probe"};
        all.insert(all.end(), opts.begin(), opts.end());
        Result r = run(all, {"/dev/.hutch-probe", "--json", "--only", sections});
        last_ = r;
        if (r.code != 0) {
            ADD_FAILURE() << describe(r);
            return json();
        }
        try {
            return json::parse(r.out);
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what() << "\n" << describe(r);
            return json();
        }
    }
    static std::string result_of(const json& j, const std::string& abi, const std::string& call) {
        const json& c = j[abi]["calls"];
        if (!c.contains(call)) return "<not probed>";
        return c[call]["result"].get<std::string>();
    }
    Result last_;
};

TEST_F(SeccompIntegration, DefaultFilterIsModeTwoAndBlocksDockersList) {
    json j = probe({}, "seccomp,syscalls");
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(j["seccomp"]["mode"], 2);
    EXPECT_GE(j["seccomp"]["filters"].get<int>(), 1);
    for (const char* call : kBlockedByDefault) EXPECT_EQ(result_of(j, "syscalls", call), "blocked (EPERM)") << call;
    for (const char* call : kBlockedX64Only) EXPECT_EQ(result_of(j, "syscalls", call), "blocked (EPERM)") << call;
    for (const char* call : kAllowedByDefault) {
        EXPECT_EQ(j["syscalls"]["calls"][call]["blocked"], false) << call << ": " << result_of(j, "syscalls", call);
    }
}

TEST_F(SeccompIntegration, TheI386AbiIsFilteredToo) {
    if (std::string why = ia32_emulation_missing(); !why.empty()) GTEST_SKIP() << why;
    json j = probe({}, "syscalls32");
    ASSERT_FALSE(j.is_null());
    ASSERT_EQ(j["syscalls32"]["available"], true) << j["syscalls32"].value("reason", "") << "\n" << last_.out;
    for (const char* call : kBlockedByDefault) EXPECT_EQ(result_of(j, "syscalls32", call), "blocked (EPERM)") << call;
    for (const char* call : kBlockedI386Only) EXPECT_EQ(result_of(j, "syscalls32", call), "blocked (EPERM)") << call;
    for (const char* call : kAllowedByDefault)
        EXPECT_EQ(j["syscalls32"]["calls"][call]["blocked"], false) << call << ": " << result_of(j, "syscalls32", call);
}

TEST_F(SeccompIntegration, Clone3GivesEnosysAndCloneCannotMakeNamespaces) {
    const std::string no_ia32 = ia32_emulation_missing();
    json j = probe({}, no_ia32.empty() ? "syscalls,syscalls32" : "syscalls");
    ASSERT_FALSE(j.is_null());
    for (const char* abi : {"syscalls", "syscalls32"}) {
        SCOPED_TRACE(abi);
        if (std::string(abi) == "syscalls32" && !no_ia32.empty()) {
            std::cout << "[ SKIPPED  ] the i386 half: " << no_ia32 << "\n";
            continue;
        }
        // ENOSYS makes glibc fall back to clone, whose namespace flags are then refused.
        EXPECT_EQ(result_of(j, abi, "clone3"), "blocked (ENOSYS)");
        EXPECT_EQ(result_of(j, abi, "clone"), "blocked (EPERM)");
    }
}

TEST_F(SeccompIntegration, OrdinaryProgramsWorkUnderTheDefaultFilter) {
    Result r = sh({"--network", "none"},
                  "grep Seccomp: /proc/self/status; ls / >/dev/null && echo ls-ok; ps >/dev/null && echo ps-ok; "
                  "ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok; id -u; echo $(( 6 * 7 ))");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "Seccomp:\t2\nls-ok\nps-ok\nping-ok\n0\n42\n") << describe(r);
}

TEST_F(SeccompIntegration, UnconfinedAndPrivilegedRunWithoutAFilter) {
    for (const Strings& opts : {Strings{"--security-opt", "seccomp=unconfined"}, Strings{"--privileged"},
                                Strings{"--security-opt", "seccomp:unconfined"}}) {
        SCOPED_TRACE(opts.back());
        json j = probe(opts, "seccomp,syscalls");
        ASSERT_FALSE(j.is_null());
        EXPECT_EQ(j["seccomp"]["mode"], 0);
        EXPECT_EQ(j["seccomp"]["filters"], 0);
        // keyctl and mount reach the kernel, which judges their (harmless) arguments.
        EXPECT_EQ(j["syscalls"]["calls"]["keyctl"]["blocked"], false) << result_of(j, "syscalls", "keyctl");
        EXPECT_EQ(j["syscalls"]["calls"]["mount"]["blocked"], false) << result_of(j, "syscalls", "mount");
        EXPECT_EQ(result_of(j, "syscalls", "clone3"), "allowed (EINVAL)");
    }
}

TEST_F(SeccompIntegration, CapSysAdminLetsTmpfsMountThroughTheDefaultFilter) {
    Result denied = sh({"--network", "none"}, "mount -t tmpfs none /mnt");
    EXPECT_NE(denied.code, 0) << describe(denied);

    Result r = sh({"--network", "none", "--cap-add", "SYS_ADMIN"},
                  "grep Seccomp: /proc/self/status; mount -t tmpfs none /mnt && grep -c ' /mnt tmpfs ' /proc/mounts && "
                  "umount /mnt && echo unmounted");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "Seccomp:\t2\n1\nunmounted\n") << "mounted under the default profile, not unconfined";

    json j = probe({"--cap-add", "SYS_ADMIN"}, "seccomp,syscalls");
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(j["seccomp"]["mode"], 2);
    for (const char* call : {"mount", "umount2", "unshare", "setns", "sethostname"})
        EXPECT_EQ(j["syscalls"]["calls"][call]["blocked"], false) << call << ": " << result_of(j, "syscalls", call);
    // Still blocked for everyone: the filter stays.
    for (const char* call : {"keyctl", "kexec_load", "swapon"})
        EXPECT_EQ(result_of(j, "syscalls", call), "blocked (EPERM)") << call;
}

TEST_F(SeccompIntegration, CapSysTimeUnblocksTheClockCalls) {
    const std::string no_ia32 = ia32_emulation_missing();
    json j = probe({"--cap-add", "SYS_TIME"}, no_ia32.empty() ? "syscalls,syscalls32" : "syscalls");
    ASSERT_FALSE(j.is_null());
    for (const char* call : {"clock_settime", "settimeofday"})
        EXPECT_EQ(j["syscalls"]["calls"][call]["blocked"], false) << call << ": " << result_of(j, "syscalls", call);
    if (no_ia32.empty()) {
        for (const char* call : {"clock_settime", "settimeofday", "stime", "clock_settime64"})
            EXPECT_EQ(j["syscalls32"]["calls"][call]["blocked"], false) << call << ": " << result_of(j, "syscalls32", call);
    } else {
        std::cout << "[ SKIPPED  ] the i386 half: " << no_ia32 << "\n";
    }
    EXPECT_EQ(result_of(j, "syscalls", "mount"), "blocked (EPERM)") << "only the clock opens";
}

// --- custom profiles -------------------------------------------------------------------------

TEST_F(SeccompIntegration, CustomProfileErrnoReachesTheProgram) {
    struct Case {
        int errno_ret;
        const char* message;
    };
    for (const Case& c : {Case{13, "Permission denied"}, Case{122, "Disk quota exceeded"}}) {
        SCOPED_TRACE(c.errno_ret);
        std::string profile = roots_.base() + "/deny-mkdir-" + std::to_string(c.errno_ret) + ".json";
        write_file(profile, R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": )" +
                                std::to_string(c.errno_ret) + R"(}
  ]
})");
        Result r = sh({"--network", "none", "--security-opt", "seccomp=" + profile},
                      "grep Seccomp: /proc/self/status; mkdir /tmp/x; echo mkdir=$?; touch /tmp/y && ls /tmp && "
                      "rm /tmp/y && echo others-ok");
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, "Seccomp:\t2\nmkdir=1\ny\nothers-ok\n");
        EXPECT_EQ(r.err, std::string("mkdir: can't create directory '/tmp/x': ") + c.message + "\n");
    }
}

TEST_F(SeccompIntegration, CustomProfileReplacesTheDefault) {
    // An allow-all profile: what the default blocks (keyctl) now reaches the kernel.
    std::string profile = roots_.base() + "/allow.json";
    write_file(profile, R"({"defaultAction": "SCMP_ACT_ALLOW"})");
    json j = probe({"--security-opt", "seccomp=" + profile}, "seccomp,syscalls");
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(j["seccomp"]["mode"], 2);
    EXPECT_EQ(j["syscalls"]["calls"]["keyctl"]["blocked"], false) << result_of(j, "syscalls", "keyctl");
}

TEST_F(SeccompIntegration, NoNewPrivilegesOnlyWhenAskedAsDocker) {
    const std::pair<Strings, int> cases[] = {
        {{}, 0},
        {{"-u", "65534:65534"}, 0},
        {{"--cap-drop", "ALL"}, 0},
        {{"--security-opt", "no-new-privileges"}, 1},
        {{"--security-opt", "no-new-privileges:true"}, 1},
        {{"--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined"}, 1},
    };
    for (const auto& [opts, nnp] : cases) {
        SCOPED_TRACE(opts.empty() ? "default" : opts.back());
        json j = probe(opts, "seccomp");
        ASSERT_FALSE(j.is_null());
        EXPECT_EQ(j["seccomp"]["no_new_privs"], nnp);
    }
}

// --- bad profiles ----------------------------------------------------------------------------

struct BadProfile {
    const char* label;
    std::string text;
    Strings names;  // the error line contains each
};
std::ostream& operator<<(std::ostream& os, const BadProfile& b) { return os << b.label; }

const BadProfile kBadProfiles[] = {
    {"NotJson", "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [ }", {"not JSON", "line 2"}},
    {"NotASyscallName",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "no such-call"], "action": "SCMP_ACT_ALLOW"}]})",
     {"syscalls[0].names[1]", "no such-call", "not a syscall name"}},
    {"TooManyRules", "@RULES", {"syscalls", "4097 rules", "at most 4096"}},
    {"UnknownAction",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write"], "action": "SCMP_ACT_BOGUS"}]})",
     {"syscalls[1].action", "SCMP_ACT_BOGUS"}},
    {"UnknownDefaultAction", R"({"defaultAction": "SCMP_ACT_MAYBE"})", {"defaultAction", "SCMP_ACT_MAYBE"}},
    {"BadOperator",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_LIKE"}]}]})",
     {"syscalls[0].args[0].op", "SCMP_CMP_LIKE"}},
    {"UnknownArchitecture", R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]})",
     {"architectures[1]", "SCMP_ARCH_Z80"}},
    {"UnknownArchMapArchitecture",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_PDP11", "subArchitectures": []}]})",
     {"archMap[0].architecture", "SCMP_ARCH_PDP11"}},
};

class SeccompBadProfileIntegration : public HutchTest, public ::testing::WithParamInterface<BadProfile> {};

TEST_P(SeccompBadProfileIntegration, Exits125WithOneLineAndStartsNothing) {
    const BadProfile& bad = GetParam();
    std::string profile = roots_.base() + "/profile.json";
    std::string text = bad.text;
    if (text == "@RULES") {
        text = R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [)";
        for (int i = 0; i < 4097; ++i) text += std::string(i ? "," : "") + R"({"names": ["read"], "action": "SCMP_ACT_ERRNO"})";
        text += "]}";
    }
    write_file(profile, text);
    Result r = run({"--network", "none", "--security-opt", "seccomp=" + profile}, {"sh", "-c", "echo started"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.out, "") << "nothing may start";
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << describe(r);
    EXPECT_EQ(lines[0].rfind("hutch: ", 0), 0u) << lines[0];
    for (const auto& n : bad.names) EXPECT_NE(lines[0].find(n), std::string::npos) << "must name " << n << ": " << lines[0];
    EXPECT_EQ(roots_.leftovers(), Strings{});
    // Other work on the machine mounts things meanwhile: only mounts of this test count.
    EXPECT_EQ(host_mountinfo().find(roots_.base()), std::string::npos);
    EXPECT_EQ(host_mountinfo().find(rootfs_), std::string::npos);
    EXPECT_EQ(own_children(), std::vector<pid_t>{});
    reap_leftover_children();
}

INSTANTIATE_TEST_SUITE_P(Profiles, SeccompBadProfileIntegration, ::testing::ValuesIn(kBadProfiles),
                         [](const ::testing::TestParamInfo<BadProfile>& p) { return std::string(p.param.label); });

TEST_F(SeccompIntegration, MissingProfileFileExits125) {
    std::string missing = roots_.base() + "/no-such-profile.json";
    Result r = run({"--network", "none", "--security-opt", "seccomp=" + missing}, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find(missing), std::string::npos) << describe(r);
    EXPECT_EQ(roots_.leftovers(), Strings{});
}

// Docker and runc skip a syscall name their libseccomp does not know (Docker's own profiles
// name calls newer than a given libseccomp); hutch did refuse the whole profile. Skipped, with
// an --explain note; the names it knows still apply.
TEST_F(SeccompIntegration, UnknownSyscallNamesAreSkippedAsDockerDoes) {
    std::string profile = roots_.base() + "/future.json";
    write_file(profile, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["future_call_2077", "mkdir", "frobnicate"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]})");
    Result r = run({"--network", "none", "--security-opt", "seccomp=" + profile, "--explain"},
                   {"sh", "-c", "mkdir /tmp/x 2>&1; echo status $?"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("No message of desired type"), std::string::npos) << "mkdir is still filtered\n" << describe(r);
    EXPECT_NE(r.out.find("status 1"), std::string::npos) << describe(r);
    for (const char* name : {"future_call_2077", "frobnicate"})
        EXPECT_NE(r.err.find(std::string("\"") + name + "\" is a syscall libseccomp"), std::string::npos)
            << "--explain says it was skipped: " << name << "\n" << r.err;
}

// Issue 11: with a restrictive profile a failed start exited 139 with no message: the exec's
// calls after the filter were blocked, and so were the calls that report a failure and even
// exit_group (glibc's _exit then faults). Now what is decided after the filter is asked of the
// filter before it goes in, and a missing #! interpreter is checked before it too.
class SeccompRestrictiveIntegration : public SeccompIntegration, public ::testing::WithParamInterface<const char*> {
protected:
    // Default action `GetParam()` (SCMP_ACT_TRACE: ENOSYS without a tracer; SCMP_ACT_ERRNO);
    // allowed only `allowed`.
    std::string profile(const std::string& allowed) {
        std::string path = roots_.base() + "/restrictive.json";
        write_file(path, std::string(R"({"defaultAction": ")") + GetParam() + R"(", "syscalls": [{"names": [)" + allowed +
                             R"(], "action": "SCMP_ACT_ALLOW"}]})");
        return path;
    }
    // One line, the code, nothing left.
    void expect_one_line(const Result& r, int code, const std::string& needle) {
        EXPECT_EXIT_CODE(r, code);
        auto lines = r.err_lines();
        ASSERT_EQ(lines.size(), 1u) << describe(r);
        EXPECT_EQ(lines[0].rfind("hutch: ", 0), 0u) << lines[0];
        EXPECT_NE(lines[0].find(needle), std::string::npos) << "must say " << needle << ": " << lines[0];
        EXPECT_EQ(roots_.leftovers(), Strings{});
        EXPECT_EQ(own_children(), std::vector<pid_t>{});
    }
};

constexpr const char* kExecCalls = R"("execve", "execveat", "fcntl", "capset")";

TEST_P(SeccompRestrictiveIntegration, MissingCommandSays127) {
    expect_one_line(run({"--network", "none", "--security-opt", "seccomp=" + profile(kExecCalls)}, {"no-such-command"}),
                    127, "no-such-command");
}

TEST_P(SeccompRestrictiveIntegration, NonExecutableCommandSays126) {
    expect_one_line(run({"--network", "none", "--security-opt", "seccomp=" + profile(kExecCalls)}, {"/etc/passwd"}), 126,
                    "/etc/passwd");
}

TEST_P(SeccompRestrictiveIntegration, ProfileThatBlocksTheExecSaysWhichCall) {
    expect_one_line(run({"--network", "none", "--security-opt", "seccomp=" + profile(R"("execve", "fcntl", "capset")")},
                        {"/bin/true"}),
                    126, "the seccomp profile blocks execveat");
    expect_one_line(run({"--network", "none", "--security-opt", "seccomp=" + profile(R"("execveat", "fcntl", "capset")")},
                        {"/bin/true"}),
                    126, "the seccomp profile blocks execve");
}

TEST_P(SeccompRestrictiveIntegration, MissingInterpreterSays127) {
    TempDir scripts;
    write_file(scripts / "script", "#!/no/such/interpreter -x\necho never\n", 0755);
    expect_one_line(run({"--network", "none", "-v", scripts.path() + ":/s", "--security-opt", "seccomp=" + profile(kExecCalls)},
                        {"/s/script"}),
                    127, "its interpreter \"/no/such/interpreter\"");
}

INSTANTIATE_TEST_SUITE_P(DefaultActions, SeccompRestrictiveIntegration,
                         ::testing::Values("SCMP_ACT_TRACE", "SCMP_ACT_ERRNO"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                             return std::string(p.param).substr(9);
                         });

}  // namespace
}  // namespace hutch_it
