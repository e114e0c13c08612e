// `hutch profile`'s report (caps/least_privilege.hpp): report.md, the summary printed on stdout
// and the flags line, from what the runs found.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "caps/least_privilege.hpp"

namespace hutch::profile {
namespace {

std::string cap_short(int cap) {
    std::string name = caps::name_of(cap);
    return name.rfind("CAP_", 0) == 0 ? name.substr(4) : name;
}

std::string calls_text(const CapUse& use) {
    std::string out;
    for (const auto& [call, n] : use.syscalls)
        out += (out.empty() ? "" : ", ") + call + (n > 1 ? " (x" + std::to_string(n) + ")" : "");
    return out;
}

std::string json_rule_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
    return out;
}

std::string fence(const std::string& text, std::size_t limit = 2000) {
    if (text.empty()) return "(empty)\n";
    std::string shown = text.size() > limit ? text.substr(0, limit) + "\n... (" + std::to_string(text.size()) + " bytes)"
                                            : text;
    if (shown.back() != '\n') shown += '\n';
    return "```\n" + shown + "```\n";
}

void markdown_runs(std::ostream& o, const Report& r) {
    o << "## Runs seen\n\n";
    for (const auto& run : r.runs)
        o << "- " << run.label << ": exit status " << run.exit_code << ", " << run.out.size() << " bytes on stdout, "
          << run.err.size() << " on stderr\n";
    if (r.verified)
        o << "\n**Verify:** " << (*r.verified ? "the same exit status and output under the generated profile"
                                                : "DIFFERENT exit status or output under the generated profile")
          << "\n";
}

// How the trace's checks were counted (the rules in caps/least_privilege.hpp), with how many
// checks each rule left out here.
void markdown_trace_rules(std::ostream& o, const Report& r) {
    o << "\nDenied (the workload asked and was refused):";
    if (r.caps.denied.empty()) o << " none.\n";
    else {
        o << "\n\n";
        for (const auto& [cap, use] : r.caps.denied) o << "- " << caps::name_of(cap) << " in " << calls_text(use) << "\n";
    }
    o << "\nHow checks were counted: only after the command's execve began (hutch's own setup needs "
         "more); a granted check counts when the capability is in the container's effective set; "
         "grants outside it come from credentials that are not the container's (overlayfs writes "
         "with its mounter's) and such credentials are ignored altogether"
      << (r.caps.foreign_checks ? " (" + std::to_string(r.caps.foreign_checks) + " such checks here)" : std::string())
      << "; CAP_SYS_ADMIN during memory accounting (brk, mmap, clone, execve, writes to tmpfs) is "
         "the kernel sizing an administrators' reserve, neither a use nor a denial, and a check "
         "refused in a call that succeeded anyway is no denial either";
    int speculative = 0;
    for (const auto& [cap, use] : r.caps.speculative) speculative += use.checks;
    o << (speculative ? " (" + std::to_string(speculative) + " such checks)" : std::string()) << ".\n";
}

void markdown_capabilities(std::ostream& o, const Report& r) {
    o << "\n## Capabilities\n\n";
    o << "Source: " << r.cap_source << ".\n\n";
    std::string start;
    for (int cap = 0; cap < 64; ++cap)
        if (r.starting & caps::bit(cap)) start += (start.empty() ? "" : " ") + cap_short(cap);
    o << "Started with: " << (start.empty() ? "(none)" : start) << "\n\n";
    if (r.caps.used.empty()) {
        o << "Used: none.\n";
    } else {
        o << "| capability | " << (r.caps_by_replay ? "evidence" : "checked in (granted)") << " |\n|---|---|\n";
        for (const auto& [cap, use] : r.caps.used)
            o << "| " << caps::name_of(cap) << " | "
              << (r.caps_by_replay ? "the run differed without it" : calls_text(use)) << " |\n";
    }
    if (!r.caps_by_replay) {
        markdown_trace_rules(o, r);
    } else {
        o << "\nHow: each capability of the starting set was removed in a run of its own; the ones "
             "whose removal changed the exit status or the output are listed. Two capabilities that "
             "can stand in for each other (DAC_OVERRIDE and DAC_READ_SEARCH for a read) are both "
             "missed this way; `--verify` shows it.\n";
    }
    if (!r.caps.programs.empty()) {
        o << "\nPrograms the container ran:";
        for (const auto& p : r.caps.programs) o << " `" << p << "`";
        o << "\n";
    }
}

void markdown_syscalls(std::ostream& o, const Report& r) {
    o << "\n## System calls\n\nSource: " << r.syscall_source << ".\n\n";
    o << "The workload made " << r.syscalls.workload.size() << " different calls:";
    for (const auto& [name, n] : r.syscalls.workload) o << " " << name << "(" << n << ")";
    o << "\n\nhutch itself, after installing the filter:";
    std::set<std::string> runtime = r.syscalls.runtime;
    runtime.insert(runtime_syscalls_after_filter().begin(), runtime_syscalls_after_filter().end());
    for (const auto& name : runtime) o << " " << name;
    o << "\n\n`profile.json` allows " << r.profile_syscalls.size()
      << " calls (the union, with the argument and capability conditions of the profile the run had); "
         "every other call fails with the profile's default errno.\n";
}

void markdown_writes(std::ostream& o, const Report& r) {
    o << "\n## Files written\n\n";
    if (r.writes.paths.empty()) o << "None: the root file system can be read-only.\n";
    else {
        for (const auto& p : r.writes.paths) o << "- `" << p << "`\n";
        o << "\n";
        if (r.writes.read_only_suffices())
            o << "All of them are on the tmpfs mounts `--read-only` adds (/run, /tmp, /var/tmp): "
                 "`--read-only` suffices.\n";
        else {
            o << "`--read-only` with the default tmpfs mounts would not suffice: ";
            for (std::size_t i = 0; i < r.writes.outside.size(); ++i) o << (i ? ", " : "") << "`" << r.writes.outside[i] << "`";
            o << " would be refused.\n";
        }
    }
}

constexpr std::int64_t kMiB = 1024 * 1024;

// "21.4 MiB"
std::string mib_text(std::int64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / kMiB);
    return buf;
}

// One line per resource: the peak, where it was read, and the limit proposed (or kept).
std::vector<std::string> usage_lines(const ResourceUsage& u) {
    std::string memory = "memory: ";
    if (!u.memory_peak) memory += "not measured (" + u.memory_source + ")";
    else {
        memory += "peak " + mib_text(*u.memory_peak) + " (" + u.memory_source + ")";
        memory += u.memory_given.empty()
                      ? ": --memory " + std::to_string(proposed_memory(*u.memory_peak) / kMiB) +
                            "m (peak x1.5, whole MiB, at least 6m)"
                      : ": --memory " + u.memory_given + " as given";
    }
    std::string pids = "pids: ";
    if (!u.pids_peak) pids += "not measured (" + u.pids_source + ")";
    else {
        pids += "peak " + std::to_string(*u.pids_peak) + " (" + u.pids_source + ")";
        pids += u.pids_given.empty()
                    ? ": --pids-limit " + std::to_string(proposed_pids(*u.pids_peak)) + " (peak x2, at least 16)"
                    : ": --pids-limit " + u.pids_given + " as given";
    }
    return {memory, pids};
}

void markdown_resources(std::ostream& o, const Report& r) {
    o << "\n## Resources\n\n";
    for (const auto& line : usage_lines(r.usage)) o << "- " << line << "\n";
    o << "\nA peak is what this run reached: a larger input needs more. The proposed limits leave "
         "headroom; check them with `--verify`, which runs under them.\n";
}

}  // namespace

std::int64_t proposed_memory(std::int64_t peak_bytes) {
    std::int64_t with_headroom = peak_bytes + (peak_bytes + 1) / 2;
    std::int64_t mib = (with_headroom + kMiB - 1) / kMiB;
    return std::max<std::int64_t>(mib, 6) * kMiB;
}

std::int64_t proposed_pids(std::int64_t peak) { return std::max<std::int64_t>(peak * 2, 16); }

std::string resource_flags(const ResourceUsage& u) {
    std::string out;
    if (u.memory_peak && u.memory_given.empty())
        out += " --memory " + std::to_string(proposed_memory(*u.memory_peak) / kMiB) + "m";
    if (u.pids_peak && u.pids_given.empty()) out += " --pids-limit " + std::to_string(proposed_pids(*u.pids_peak));
    return out;
}

std::string cap_flags(caps::CapSet needed) {
    std::string out = "--cap-drop ALL";
    for (int cap = 0; cap < 64; ++cap)
        if (needed & caps::bit(cap)) out += " --cap-add " + cap_short(cap);
    return out;
}

std::string report_markdown(const Report& r) {
    std::ostringstream o;
    std::string command;
    for (const auto& a : r.command) command += (command.empty() ? "" : " ") + a;
    o << "# hutch profile: `" << command << "`\n\n";
    o << "A profile is only as good as the run that produced it: it allows what these runs did, "
         "nothing they did not. A code path the runs never took (an error path, another "
         "argument, a rare request) may need more. Profile again with the workloads that matter, "
         "and check with `--verify`.\n\n";
    markdown_runs(o, r);
    markdown_capabilities(o, r);
    markdown_syscalls(o, r);
    markdown_writes(o, r);
    markdown_resources(o, r);
    o << "\n## Apply it\n\n```\n" << r.run_line << "\n```\n\nFlags: `" << r.flags << "`\n";
    if (!r.notes.empty()) {
        o << "\n## Notes\n\n";
        for (const auto& n : r.notes) o << "- " << n << "\n";
    }
    o << "\n## Output of the profiled run\n\nstdout:\n\n";
    if (!r.runs.empty()) {
        o << fence(r.runs.front().out) << "\nstderr:\n\n" << fence(r.runs.front().err);
    }
    return o.str();
}

std::string summary_text(const Report& r) {
    std::ostringstream o;
    o << "capabilities (" << r.cap_source << "):\n";
    if (r.caps.used.empty()) o << "  used: none\n";
    for (const auto& [cap, use] : r.caps.used)
        o << "  used    " << caps::name_of(cap) << (r.caps_by_replay ? ": the run differed without it" : " in " + calls_text(use)) << "\n";
    for (const auto& [cap, use] : r.caps.denied) o << "  denied  " << caps::name_of(cap) << " in " << calls_text(use) << "\n";
    o << "system calls (" << r.syscall_source << "): " << r.syscalls.workload.size() << " by the workload, "
      << r.profile_syscalls.size() << " allowed by the profile\n";
    if (r.writes.paths.empty()) o << "files written: none (--read-only suffices)\n";
    else {
        o << "files written: " << json_rule_names(r.writes.paths) << "\n";
        o << (r.writes.read_only_suffices() ? "  --read-only suffices (all on its tmpfs mounts)\n"
                                            : "  --read-only would not suffice\n");
    }
    for (const auto& line : usage_lines(r.usage)) o << line << "\n";
    o << "runs seen:";
    for (const auto& run : r.runs) o << " " << run.label << " (exit " << run.exit_code << ")";
    o << "\n";
    for (const auto& n : r.notes) o << "note: " << n << "\n";
    if (r.verified) o << "verify: " << (*r.verified ? "same exit status and output" : "DIFFERENT") << "\n";
    o << "flags: " << r.flags << "\n";
    o << "run:   " << r.run_line << "\n";
    o << "A profile is only as good as the run that produced it: it covers what this run did.\n";
    return o.str();
}

}  // namespace hutch::profile
