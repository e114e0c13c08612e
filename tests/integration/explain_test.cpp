// --explain is the truth (issue 12): for a run with volumes, tmpfs, a read-only root and a bridge
// network, every mount, umount2, pivot_root, capset, prctl and seccomp filter the kernel saw
// (strace -ff of the same run) is in the explain output, in the same order per process, and
// nothing else of those kinds is. The lines are written by the kernel seam (runtime/sys) from
// the calls themselves; this test is what keeps that promise.
#include <dirent.h>

#include <algorithm>
#include <regex>
#include <set>

#include "harness.hpp"

namespace hutch_it {
namespace {

const char* const kTraced = "mount,umount2,pivot_root,capset,prctl,seccomp,clone3";

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
    static const std::regex kCall(R"(^(mount|umount2|pivot_root|capset|prctl|seccomp|clone3)\((.*)\) = .*$)");
    std::smatch m;
    if (!std::regex_match(line, m, kCall)) return false;
    call = m[1];
    args = m[2];
    return true;
}

// strace's view: one file per process; strace quotes paths like --explain, but shows fds as
// "/proc/self/fd/N" where --explain shows what fd N is: paths are left out of signatures.
std::vector<std::string> strace_calls(const std::string& file, bool& is_parent) {
    std::vector<std::string> out;
    is_parent = false;
    for (const auto& line : split_lines(read_file(file))) {
        std::string call, args;
        if (!split_call(line, call, args)) continue;
        if (call == "clone3") {
            is_parent = true;
            continue;
        }
        // libseccomp asks the kernel what it supports (SECCOMP_GET_ACTION_AVAIL, ...) while it
        // compiles a profile: only filters being loaded are steps.
        if (call == "seccomp" && args.find("SECCOMP_SET_MODE_FILTER") == std::string::npos) continue;
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

TEST_F(ExplainIntegration, OffMeansNotOneLine) {
    Result r = run({}, {"true"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace hutch_it
