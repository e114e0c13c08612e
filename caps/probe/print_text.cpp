// hutch-probe's report as aligned text (report.hpp): one heading per section, then
// "  key: value" rows.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "caps/probe/report.hpp"

namespace hutch::probe {
namespace {

// Text: headings, then "  key: value" rows with the values aligned; a value of several lines
// continues under the first.
class TextOut {
public:
    void heading(const std::string& title) { rows_.clear(), title_ = title; }
    void row(const std::string& key, std::vector<std::string> lines) {
        if (lines.empty()) lines.push_back("");
        rows_.push_back({key, std::move(lines)});
    }
    void row(const std::string& key, const std::string& value) { row(key, std::vector{value}); }
    void flush() {
        std::size_t width = 18;  // "process_vm_writev:": one column for every section
        for (const auto& r : rows_) width = std::max(width, r.key.size() + 1);
        if (printed_) std::fputc('\n', stdout);
        std::printf("%s\n", title_.c_str());
        for (const auto& r : rows_) {
            for (std::size_t i = 0; i < r.lines.size(); ++i) {
                std::string key = i == 0 ? r.key + ":" : "";
                std::printf("  %-*s %s\n", static_cast<int>(width), key.c_str(), r.lines[i].c_str());
            }
        }
        printed_ = true;
        rows_.clear();
    }

private:
    struct Row {
        std::string key;
        std::vector<std::string> lines;
    };
    std::string title_;
    std::vector<Row> rows_;
    bool printed_ = false;
};

std::string ids_text(const std::vector<std::string>& v) {
    // /proc/self/status: real, effective, saved, filesystem.
    if (v.size() == 4 && v[0] == v[1] && v[1] == v[2] && v[2] == v[3]) return v[0];
    static const char* kNames[] = {"real", "effective", "saved", "fs"};
    std::string out;
    for (std::size_t i = 0; i < v.size() && i < 4; ++i)
        out += (i ? " " : "") + std::string(kNames[i]) + " " + v[i];
    return out.empty() ? "unavailable" : out;
}

// Where the capabilities below count: the whole host in the initial user namespace (the full
// identity map), else only what this user namespace owns (its processes, mounts, network), never
// the host's files or devices, whose owners it does not map.
std::string capability_scope(const Ids& ids) {
    if (!ids.uid_map) return unavailable(ids.uid_map_err);
    const auto& map = *ids.uid_map;
    if (map.size() == 1 && map[0].inside == 0 && map[0].outside == 0 && map[0].count == 4294967295u)
        return "the host (the initial user namespace)";
    for (const auto& l : map)
        if (l.inside == 0)
            return "this user namespace only: its root is host uid " + std::to_string(l.outside) +
                   ", with no capability over the host's files or devices";
    return "this user namespace only (it maps no root)";
}

std::vector<std::string> map_lines(const std::optional<std::vector<IdMapLine>>& map, int err) {
    if (!map) return {unavailable(err)};
    if (map->empty()) return {"(empty: no ids mapped)"};
    std::vector<std::string> out;
    for (const auto& l : *map)
        out.push_back(std::to_string(l.inside) + " " + std::to_string(l.outside) + " " +
                      std::to_string(l.count));
    return out;
}

void print_devices_text(TextOut& t, const DevicesReport& d) {
    t.heading("devices (mknod in a scratch directory, open O_RDONLY|O_NONBLOCK|O_NOCTTY, closed at once)");
    if (d.scratch.empty()) t.row("unavailable", "no scratch directory in /dev or /tmp: " + errno_name(d.err));
    else t.row("scratch", d.scratch + " (removed)" + (d.nodev ? "; a nodev mount: opens fail EACCES" : ""));
    for (const auto& r : d.results) {
        std::string head = device_node(r.device) + "  ";
        if (!r.device.skip.empty()) {
            t.row(r.device.name, head + "not tried: " + r.device.skip);
            continue;
        }
        std::string line = head + "mknod " + device_verdict(r.mknod_err);
        if (r.open_err >= 0) line += ", open " + device_verdict(r.open_err);
        line += std::string("  [Docker: ") + (r.device.docker_allows ? "allowed" : "denied") + "]";
        std::vector<std::string> lines = {line};
        for (bool open : {false, true})
            if (auto note = device_note(r, open); !note.empty()) lines.push_back("(" + note + ")");
        t.row(r.device.name, lines);
    }
    t.flush();
}

void print_namespaces(TextOut& t, const std::vector<NsInfo>& namespaces) {
    t.heading("namespaces");
    for (const auto& ns : namespaces) {
        if (!ns.inode) {
            t.row(ns.kind, unavailable(ns.err));
            continue;
        }
        t.row(ns.kind, std::to_string(*ns.inode) + (is_initial_ns(ns.kind, *ns.inode) ? " (initial)" : ""));
    }
    t.flush();
}

void print_ids(TextOut& t, const Ids& ids) {
    t.heading("ids");
    if (ids.uid.empty()) t.row("uid", unavailable(ids.status_err));
    else t.row("uid", ids_text(ids.uid));
    if (!ids.gid.empty()) t.row("gid", ids_text(ids.gid));
    std::string groups;
    for (const auto& g : ids.groups) groups += (groups.empty() ? "" : " ") + g;
    t.row("groups", groups.empty() ? "(none)" : groups);
    t.row("uid_map", map_lines(ids.uid_map, ids.uid_map_err));
    t.row("gid_map", map_lines(ids.gid_map, ids.gid_map_err));
    t.row("setgroups", ids.setgroups ? *ids.setgroups : unavailable(ids.setgroups_err));
    t.row("caps act on", capability_scope(ids));
    t.flush();
}

void print_caps(TextOut& t, const Caps& caps) {
    t.heading("capabilities");
    for (const auto& set : caps.sets) {
        if (!set.value) {
            t.row(set.field, "unavailable");
            continue;
        }
        auto names = cap_names(*set.value);
        std::string head = hex16(*set.value) + " (" + std::to_string(names.size()) + ")";
        if (names.empty()) {
            t.row(set.field, head + " none");
            continue;
        }
        std::vector<std::string> lines = {head};
        for (auto& l : wrap_words(names, 76)) lines.push_back(l);
        t.row(set.field, lines);
    }
    t.row("cap_last_cap", caps.last_cap ? std::to_string(*caps.last_cap) : "unavailable");
    t.flush();
}

void print_seccomp(TextOut& t, const Seccomp& seccomp) {
    t.heading("seccomp");
    auto show = [](const std::optional<long long>& v) { return v ? std::to_string(*v) : "unavailable"; };
    t.row("NoNewPrivs", show(seccomp.no_new_privs));
    t.row("Seccomp", seccomp.mode ? show(seccomp.mode) + " (" + std::string(seccomp_mode_name(*seccomp.mode)) + ")"
                                  : "unavailable");
    t.row("Seccomp_filters", show(seccomp.filters));
    t.flush();
}

void print_syscalls(TextOut& t, const AbiReport& rep) {
    t.heading(rep.abi == Abi::i386 ? "syscalls32 (i386 ABI, int $0x80)" : "syscalls (x86-64 ABI)");
    if (!rep.available) t.row("unavailable", rep.unavailable);
    for (const auto& c : rep.calls) {
        std::string note = note_for(c);
        t.row(c.name, c.verdict.text + (note.empty() ? "" : "  (" + note + ")"));
    }
    t.flush();
}

void print_mounts(TextOut& t, const Mounts& mounts) {
    t.heading("mounts");
    if (mounts.err) {
        t.row("mountinfo", unavailable(mounts.err));
    } else {
        if (mounts.root) {
            const auto& m = *mounts.root;
            t.row("root", m.fstype + " " + m.options + " (" + propagation(m) + ")");
            t.row("root source", m.source);
            t.row("root super", m.super_options);
        }
        t.row("read-only", mounts.read_only.empty() ? std::vector<std::string>{"(none)"} : mounts.read_only);
        std::vector<std::string> masked;
        for (const auto& m : mounts.masked) masked.push_back(m.path + " (" + m.by + ")");
        t.row("masked", masked.empty() ? std::vector<std::string>{"(none)"} : masked);
    }
    t.flush();
}

void print_runtime(TextOut& t, const Runtime& runtime) {
    t.heading("runtime");
    t.row("hostname", runtime.hostname);
    t.row("runtime", runtime.name);
    t.row("evidence", runtime.evidence.empty() ? std::vector<std::string>{"(none)"} : runtime.evidence);
    t.row("probe", runtime.exe.empty() ? "unknown" : runtime.exe);
    t.flush();
}

}  // namespace

void print_text(const Report& r) {
    TextOut t;
    if (r.sections & kNs) print_namespaces(t, r.ns);
    if (r.sections & kIds) print_ids(t, r.ids);
    if (r.sections & kCaps) print_caps(t, r.caps);
    if (r.sections & kSeccomp) print_seccomp(t, r.seccomp);
    for (const AbiReport* rep : {&r.sys64, &r.sys32})
        if (r.sections & (rep->abi == Abi::i386 ? kSyscalls32 : kSyscalls)) print_syscalls(t, *rep);
    if (r.sections & kMounts) print_mounts(t, r.mounts);
    if (r.sections & kRuntime) print_runtime(t, r.runtime);
    if (r.sections & kDevices) print_devices_text(t, r.devices);
}

}  // namespace hutch::probe
