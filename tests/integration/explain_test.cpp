// --explain is the truth (issue 12): for a run with volumes, tmpfs, a read-only root and a bridge
// network, every mount, umount2, pivot_root, capset, prctl and seccomp filter the kernel saw
// (strace -ff of the same run) is in the explain output, in the same order per process, and
// nothing else of those kinds is. The lines are written by the kernel seam (runtime/sys) from
// the calls themselves; this test is what keeps that promise.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <regex>
#include <set>
#include <utility>

#include "harness.hpp"

namespace hutch_it {
namespace {

// execve and execveat too: what a process does after them is the command's, not hutch's.
const char* const kTraced = "mount,umount2,pivot_root,capset,prctl,seccomp,clone3,execve,execveat";

// A call reduced to what both strace and --explain print the same way: the call, and its
// arguments that are names (flags, the filesystem type, capabilities, the prctl option).
std::string signature(const std::string& call, const std::string& args) {
    static const std::regex kName(R"((MS|MNT|PR|SECCOMP|CAP)_[A-Z0-9_]+|"[a-z0-9]+"|NULL)");
    std::vector<std::string> names;
    for (auto it = std::sregex_iterator(args.begin(), args.end(), kName); it != std::sregex_iterator(); ++it) {
        std::string name = it->str();
        if (name == "SECCOMP_FILTER_FLAG_TSYNC") continue;  // never set by hutch; strace may name 0 so
        names.push_back(name);
    }
    // Flags are printed in each tool's own order: compare them as a set, call by call.
    std::sort(names.begin(), names.end());
    std::string out = call;
    for (const auto& n : names) out += " " + n;
    return out;
}

// "mount(...) = 0" -> ("mount", "..."); ignores what is not one of the traced calls.
bool split_call(const std::string& line, std::string& call, std::string& args) {
    // strace pads short calls with spaces before " = ".
    static const std::regex kCall(R"(^(mount|umount2|pivot_root|capset|prctl|seccomp|clone3)\((.*)\) +=.*$)");
    std::smatch m;
    if (!std::regex_match(line, m, kCall)) return false;
    call = m[1];
    args = m[2];
    return true;
}

// Questions libraries ask the kernel, which change nothing and are not steps: libseccomp's
// feature probes while it compiles a profile (SECCOMP_GET_ACTION_AVAIL, SET_MODE_FILTER with a
// NULL program to test a flag) and libcap-ng's reads of the current sets (PR_CAPBSET_READ,
// PR_GET_*, PR_CAP_AMBIENT_IS_SET). They are not made through the seam, so --explain cannot show
// them; HUTCH_EXPLAIN=all shows hutch's own lookups.
bool is_library_probe(const std::string& call, const std::string& args) {
    if (call == "seccomp")
        return args.find("SECCOMP_SET_MODE_FILTER") == std::string::npos || args.find(", NULL") != std::string::npos;
    if (call == "prctl")
        return args.rfind("PR_CAPBSET_READ", 0) == 0 || args.rfind("PR_GET_", 0) == 0 ||
               args.find("PR_CAP_AMBIENT_IS_SET") != std::string::npos;
    return false;
}

// strace's view: one file per process; strace quotes paths like --explain, but shows fds as
// "/proc/self/fd/N" where --explain shows what fd N is: paths are left out of signatures.
std::vector<std::string> strace_calls(const std::string& file, bool& is_parent) {
    std::vector<std::string> out;
    is_parent = false;
    bool first = true;
    for (const auto& line : split_lines(read_file(file))) {
        // hutch's own start is the first line of its file; a later exec is the command's.
        if (line.rfind("execve", 0) == 0 && !std::exchange(first, false)) break;
        first = false;
        std::string call, args;
        if (!split_call(line, call, args)) continue;
        if (call == "clone3") {
            is_parent = true;
            continue;
        }
        if (is_library_probe(call, args)) continue;
        // strace shows capset's sets as 1<<CAP_X|...: the names are what is compared.
        out.push_back(signature(call, std::regex_replace(args, std::regex(R"(1<<)"), "")));
    }
    return out;
}

// --explain's view: "[parent] mount(...) = 0" lines, per actor.
std::vector<std::string> explain_calls(const std::string& err, const std::string& actor) {
    std::vector<std::string> out;
    for (const auto& line : split_lines(err)) {
        if (line.rfind("[" + actor + "] ", 0) != 0) continue;
        std::string call, args;
        if (!split_call(line.substr(actor.size() + 3), call, args) || call == "clone3") continue;
        out.push_back(signature(call, args));
    }
    return out;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += "  " + l + "\n";
    return out;
}

class ExplainIntegration : public HutchTest {};

TEST_F(ExplainIntegration, EveryMountPivotCapsetPrctlAndSeccompTheKernelSawIsExplainedAndNothingElse) {
    if (!path_exists("/usr/bin/strace")) GTEST_SKIP() << "strace is not installed (scripts/setup installs it)";
    TempDir traces, volume;
    write_file(volume / "file", "x");
    ::chmod(volume.path().c_str(), 0755);  // the command runs as nobody
    ::chmod((volume / "file").c_str(), 0644);
    Strings args = {"strace", "-ff", "-qq", "-s", "512", "-e", std::string("trace=") + kTraced, "-e", "signal=none",
                    "-o", traces / "t", hutch_binary()};
    for (const auto& a : roots_.hutch_args({"run", "--explain", "--rm", "--read-only", "-v", volume.path() + ":/home:ro",
                                            "--tmpfs", "/mnt", "--network", "bridge", "-u", "nobody", rootfs_,
                                            "sh", "-c", "cat /home/file"}))
        args.push_back(a);
    Result r = run_command(args, {}, 60s);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "x");

    std::vector<std::string> parent, child;
    int processes = 0;
    for (const auto& name : list_dir(traces.path())) {
        bool is_parent = false;
        std::vector<std::string> calls = strace_calls(traces / name, is_parent);
        ++processes;
        if (is_parent) parent = calls;
        else if (!calls.empty()) {
            EXPECT_TRUE(child.empty()) << "two processes besides hutch made traced calls";
            child = calls;
        }
    }
    ASSERT_GE(processes, 2) << "strace saw hutch and its container";
    ASSERT_FALSE(child.empty()) << "the container's init made no traced call?";
    EXPECT_EQ(explain_calls(r.err, "child "), child) << "--explain (child):\n"
                                                     << joined(explain_calls(r.err, "child ")) << "strace (child):\n"
                                                     << joined(child);
    EXPECT_EQ(explain_calls(r.err, "parent"), parent) << "--explain (parent):\n"
                                                      << joined(explain_calls(r.err, "parent")) << "strace (parent):\n"
                                                      << joined(parent);
    // The kinds the issue names are all there.
    const std::string all = joined(child) + joined(parent);
    for (const char* call : {"mount ", "pivot_root", "capset", "prctl ", "seccomp "})
        EXPECT_NE(all.find(call), std::string::npos) << call;
}

TEST_F(ExplainIntegration, ExecIsExplainedToo) {
    ASSERT_EXIT_CODE(roots_.hutch({"run", "-d", "--name", "explained", "--network", "none", rootfs_, "sleep", "30"}), 0);
    Result r = roots_.hutch({"exec", "--explain", "explained", "true"});
    EXPECT_EXIT_CODE(r, 0);
    for (const char* call : {"clone3(", "setns(", "capset(", "seccomp(SECCOMP_SET_MODE_FILTER", "execveat("})
        EXPECT_NE(r.err.find(call), std::string::npos) << call << "\n" << r.err;
    roots_.hutch({"rm", "-f", "explained"});
}

TEST_F(ExplainIntegration, CreateThenStartIsExplained) {
    Result c = roots_.hutch({"create", "--explain", "--name", "later", "--network", "none", rootfs_, "true"});
    ASSERT_EXIT_CODE(c, 0);
    EXPECT_NE(c.err.find("# create: the record"), std::string::npos) << c.err;
    EXPECT_EQ(c.err.find("clone3("), std::string::npos) << "create runs nothing:\n" << c.err;
    Result s = roots_.hutch({"start", "-a", "--explain", "later"});
    EXPECT_EXIT_CODE(s, 0);
    for (const char* call : {"clone3(", "pivot_root(", "capset(", "seccomp(SECCOMP_SET_MODE_FILTER", "execveat("})
        EXPECT_NE(s.err.find(call), std::string::npos) << call << "\n" << s.err;
}

// A detached container's stderr is its log: explain lines there would be read back by `logs`.
TEST_F(ExplainIntegration, DetachedStartsRefuseExplain) {
    for (const Strings& args : {Strings{"run", "-d", "--explain", "--network", "none", rootfs_, "true"},
                                Strings{"create", "--name", "det", "--network", "none", rootfs_, "true"}}) {
        Result r = roots_.hutch(args);
        if (args[1] == "-d") {
            EXPECT_EXIT_CODE(r, 125);
            EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
            EXPECT_NE(r.err.find("--explain with run -d"), std::string::npos) << r.err;
        } else {
            ASSERT_EXIT_CODE(r, 0);
        }
    }
    Result s = roots_.hutch({"start", "--explain", "det"});
    EXPECT_EXIT_CODE(s, 125);
    EXPECT_NE(s.err.find("--explain with start without -a"), std::string::npos) << s.err;
    EXPECT_EQ(roots_.hutch({"ps", "-q"}).out, "") << "nothing started";
    ASSERT_EXIT_CODE(roots_.hutch({"run", "-d", "--name", "bg", "--network", "none", rootfs_, "sleep", "30"}), 0);
    Result e = roots_.hutch({"exec", "-d", "--explain", "bg", "true"});
    EXPECT_EXIT_CODE(e, 125);
    EXPECT_NE(e.err.find("--explain with exec -d"), std::string::npos) << e.err;
    roots_.hutch({"rm", "-f", "bg"});
}

// HUTCH_EXPLAIN_TIMES=1: every line stamped with CLOCK_MONOTONIC, in order, and the first two
// say when main() began and when the command line was parsed, so the stamps account for the
// whole start from main() on (the README's table of where each millisecond goes).
TEST_F(ExplainIntegration, TimesStampEveryLineFromMainOn) {
    SpawnOptions timed;
    timed.extra_env = {"HUTCH_EXPLAIN_TIMES=1"};
    Result r = roots_.hutch({"run", "--rm", "--explain", "--network", "none", rootfs_, "true"}, timed);
    ASSERT_EXIT_CODE(r, 0);
    const Strings lines = r.err_lines();
    ASSERT_GE(lines.size(), 3u) << r.err;
    EXPECT_NE(lines[0].find(" [parent] # main() began"), std::string::npos) << r.err;
    EXPECT_NE(lines[1].find(" [parent] # the command line parsed"), std::string::npos) << r.err;
    double previous = 0;
    for (const auto& line : lines) {
        if (line.find(" [parent] ") == std::string::npos) continue;  // the child's interleave
        const double stamp = std::stod(line.substr(0, line.find(' ')));
        EXPECT_GE(stamp, previous) << line << "\n" << r.err;
        previous = stamp;
    }
    Result untimed = roots_.hutch({"run", "--rm", "--explain", "--network", "none", rootfs_, "true"});
    ASSERT_EXIT_CODE(untimed, 0);
    EXPECT_EQ(untimed.err.find("main() began"), std::string::npos) << untimed.err;
    EXPECT_EQ(untimed.err.rfind("[parent] # STATE=", 0), 0u) << untimed.err;
}

TEST_F(ExplainIntegration, OffMeansNotOneLine) {
    Result r = run({}, {"true"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace hutch_it
