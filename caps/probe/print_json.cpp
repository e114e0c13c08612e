// hutch-probe's report as JSON (report.hpp), pretty-printed: one object per section, the
// same facts and notes as the text.
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "caps/probe/report.hpp"

namespace hutch::probe {
namespace {

// JSON, pretty-printed, written as it goes.
class JsonOut {
public:
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void key(const std::string& k) {
        separator();
        out_ += json_quote(k) + ": ";
        after_key_ = true;
    }
    void str(const std::string& v) { value(json_quote(v)); }
    void num(long long v) { value(std::to_string(v)); }
    void unum(unsigned long long v) { value(std::to_string(v)); }
    void boolean(bool v) { value(v ? "true" : "false"); }
    void null() { value("null"); }
    void opt_str(const std::optional<std::string>& v) { v ? str(*v) : null(); }
    void opt_num(const std::optional<long long>& v) { v ? num(*v) : null(); }
    void str_array(const std::vector<std::string>& v) {
        begin_array();
        for (const auto& s : v) str(s);
        end_array();
    }
    void print() {
        out_ += '\n';
        std::fputs(out_.c_str(), stdout);
    }

private:
    void value(const std::string& text) {
        separator();
        out_ += text;
    }
    void separator() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back()) out_ += ',';
            first_.back() = false;
            newline();
        }
    }
    void open(char c) {
        separator();
        out_ += c;
        first_.push_back(true);
    }
    void close(char c) {
        bool empty = first_.back();
        first_.pop_back();
        if (!empty) newline();
        out_ += c;
    }
    void newline() {
        out_ += '\n';
        out_.append(2 * first_.size(), ' ');
    }
    std::string out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

void json_map(JsonOut& j, const std::optional<std::vector<IdMapLine>>& map) {
    if (!map) return j.null();
    j.begin_array();
    for (const auto& l : *map) {
        j.begin_array();
        j.unum(l.inside);
        j.unum(l.outside);
        j.unum(l.count);
        j.end_array();
    }
    j.end_array();
}

void json_ids(JsonOut& j, const std::vector<std::string>& v) {
    j.begin_array();
    for (const auto& s : v) {
        if (auto n = parse_int(s)) j.num(*n);
        else j.str(s);
    }
    j.end_array();
}

const char* abi_title(Abi abi) { return abi == Abi::i386 ? "syscalls32" : "syscalls"; }

void json_result(JsonOut& j, int err, const std::string& note) {
    j.begin_object();
    j.key("tried");
    j.boolean(err >= 0);
    j.key("result");
    err >= 0 ? j.str(device_verdict(err)) : j.null();
    j.key("denied");
    err >= 0 ? j.boolean(err == EPERM) : j.null();
    j.key("errno");
    err > 0 ? j.str(errno_name(err)) : j.null();
    j.key("note");
    note.empty() ? j.null() : j.str(note);
    j.end_object();
}

void print_devices_json(JsonOut& j, const DevicesReport& d) {
    j.key("devices");
    j.begin_object();
    j.key("scratch");
    d.scratch.empty() ? j.null() : j.str(d.scratch);
    j.key("error");
    d.scratch.empty() ? j.str(errno_name(d.err)) : j.null();
    j.key("nodev");
    j.boolean(d.nodev);
    j.key("nodes");
    j.begin_object();
    for (const auto& r : d.results) {
        j.key(r.device.name);
        j.begin_object();
        j.key("node");
        j.str(device_node(r.device));
        j.key("why");
        j.str(r.device.why);
        j.key("docker_allows_open");
        j.boolean(r.device.docker_allows);
        j.key("skipped");
        r.device.skip.empty() ? j.null() : j.str(r.device.skip);
        j.key("mknod");
        json_result(j, r.mknod_err, device_note(r, false));
        j.key("open");
        json_result(j, r.open_err, device_note(r, true));
        j.end_object();
    }
    j.end_object();
    j.end_object();
}

void print_namespaces(JsonOut& j, const std::vector<NsInfo>& namespaces) {
    j.key("namespaces");
    j.begin_object();
    for (const auto& ns : namespaces) {
        j.key(ns.kind);
        j.begin_object();
        j.key("inode");
        ns.inode ? j.unum(*ns.inode) : j.null();
        j.key("initial");
        // Older kernels gave the initial mnt and net namespaces no fixed numbers: unknown.
        if (!ns.inode) j.null();
        else if (is_initial_ns(ns.kind, *ns.inode)) j.boolean(true);
        else if (ns.kind == "mnt" || ns.kind == "net") j.null();
        else j.boolean(false);
        if (!ns.inode) {
            j.key("error");
            j.str(errno_name(ns.err));
        }
        j.end_object();
    }
    j.end_object();
}

void print_ids(JsonOut& j, const Ids& ids) {
    j.key("ids");
    j.begin_object();
    j.key("uid");
    json_ids(j, ids.uid);
    j.key("gid");
    json_ids(j, ids.gid);
    j.key("groups");
    json_ids(j, ids.groups);
    j.key("uid_map");
    json_map(j, ids.uid_map);
    j.key("gid_map");
    json_map(j, ids.gid_map);
    j.key("setgroups");
    j.opt_str(ids.setgroups);
    j.end_object();
}

void print_caps(JsonOut& j, const Caps& caps) {
    j.key("capabilities");
    j.begin_object();
    for (const auto& set : caps.sets) {
        j.key(set.field);
        if (!set.value) {
            j.null();
            continue;
        }
        j.begin_object();
        j.key("hex");
        j.str(hex16(*set.value));
        j.key("names");
        j.str_array(cap_names(*set.value));
        j.end_object();
    }
    j.key("cap_last_cap");
    j.opt_num(caps.last_cap);
    j.end_object();
}

void print_seccomp(JsonOut& j, const Seccomp& seccomp) {
    j.key("seccomp");
    j.begin_object();
    j.key("no_new_privs");
    j.opt_num(seccomp.no_new_privs);
    j.key("mode");
    j.opt_num(seccomp.mode);
    j.key("mode_name");
    seccomp.mode ? j.str(std::string(seccomp_mode_name(*seccomp.mode))) : j.null();
    j.key("filters");
    j.opt_num(seccomp.filters);
    j.end_object();
}

void print_call(JsonOut& j, const SyscallReport& c) {
    j.key(c.name);
    j.begin_object();
    j.key("result");
    j.str(c.verdict.text);
    j.key("blocked");
    switch (c.verdict.state) {
        case Verdict::State::blocked: j.boolean(true); break;
        case Verdict::State::allowed: j.boolean(false); break;
        case Verdict::State::unknown: j.null(); break;
    }
    j.key("errno");
    c.verdict.errno_name.empty() ? j.null() : j.str(c.verdict.errno_name);
    j.key("signal");
    c.verdict.signal_name.empty() ? j.null() : j.str(c.verdict.signal_name);
    j.key("tried");
    j.str(c.call);
    j.key("kernel_checks_first");
    c.cap_first.empty() ? j.null() : j.str(c.cap_first);
    j.key("note");
    std::string note = note_for(c);
    note.empty() ? j.null() : j.str(note);
    j.end_object();
}

void print_syscalls(JsonOut& j, const AbiReport& rep) {
    j.key(abi_title(rep.abi));
    j.begin_object();
    j.key("abi");
    j.str(rep.abi == Abi::i386 ? "i386" : "x86_64");
    j.key("available");
    j.boolean(rep.available);
    if (!rep.available) {
        j.key("reason");
        j.str(rep.unavailable);
    }
    j.key("calls");
    j.begin_object();
    for (const auto& c : rep.calls) print_call(j, c);
    j.end_object();
    j.end_object();
}

void print_root_mount(JsonOut& j, const std::optional<MountEntry>& root) {
    j.key("root");
    if (!root) return j.null();
    const auto& m = *root;
    j.begin_object();
    j.key("fstype");
    j.str(m.fstype);
    j.key("source");
    j.str(m.source);
    j.key("options");
    j.str(m.options);
    j.key("super_options");
    j.str(m.super_options);
    j.key("read_only");
    j.boolean(has_option(m.options, "ro"));
    j.key("propagation");
    j.str(propagation(m));
    j.end_object();
}

void print_mounts(JsonOut& j, const Mounts& mounts) {
    j.key("mounts");
    j.begin_object();
    if (mounts.err) {
        j.key("error");
        j.str(errno_name(mounts.err));
    }
    print_root_mount(j, mounts.root);
    j.key("read_only");
    j.str_array(mounts.read_only);
    j.key("masked");
    j.begin_array();
    for (const auto& m : mounts.masked) {
        j.begin_object();
        j.key("path");
        j.str(m.path);
        j.key("by");
        j.str(m.by);
        j.end_object();
    }
    j.end_array();
    j.key("probe_mount");
    j.opt_str(mounts.probe_mount);
    j.end_object();
}

void print_runtime(JsonOut& j, const Runtime& runtime) {
    j.key("runtime");
    j.begin_object();
    j.key("hostname");
    j.str(runtime.hostname);
    j.key("domainname");
    j.str(runtime.domainname);
    j.key("name");
    j.str(runtime.name);
    j.key("evidence");
    j.str_array(runtime.evidence);
    j.key("probe");
    j.str(runtime.exe);
    j.end_object();
}

}  // namespace

void print_json(const Report& r) {
    JsonOut j;
    j.begin_object();
    if (r.sections & kNs) print_namespaces(j, r.ns);
    if (r.sections & kIds) print_ids(j, r.ids);
    if (r.sections & kCaps) print_caps(j, r.caps);
    if (r.sections & kSeccomp) print_seccomp(j, r.seccomp);
    for (const AbiReport* rep : {&r.sys64, &r.sys32})
        if (r.sections & (rep->abi == Abi::i386 ? kSyscalls32 : kSyscalls)) print_syscalls(j, *rep);
    if (r.sections & kMounts) print_mounts(j, r.mounts);
    if (r.sections & kRuntime) print_runtime(j, r.runtime);
    if (r.sections & kDevices) print_devices_json(j, r.devices);
    j.end_object();
    j.print();
}

}  // namespace hutch::probe
