// hutch-probe: prints the view from inside a container (namespaces, ids, capabilities, seccomp,
// which sensitive syscalls are blocked, read-only and masked mounts, hostname, the runtime it
// believes it is in), as aligned text or as JSON.
//
// A static program (libc and the C++ runtime only) so it runs in any root filesystem; `hutch run
// --probe` bind-mounts it read-only at /dev/.hutch-probe. It reads /proc and tries a list of calls
// that are made to fail harmlessly (syscalls.cpp) and a list of device nodes it makes and opens
// without reading or writing them (devices.cpp, in a scratch directory it removes); it writes
// nothing else anywhere but stdout, and it never changes its own namespaces, the clock, the
// hostname or any mount.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caps/probe/devices.hpp"
#include "caps/probe/probe_lib.hpp"
#include "caps/probe/syscalls.hpp"

namespace hutch::probe {
namespace {

constexpr const char* kProbePath = "/dev/.hutch-probe";  // where `hutch run --probe` binds us

// ---- reading the system ------------------------------------------------------------------------

struct Text {
    std::optional<std::string> text;
    int err = 0;
};

Text read_file(const char* path) {
    Text out;
    int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        out.err = errno;
        return out;
    }
    std::string data;
    char buf[8192];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            out.err = errno;
            ::close(fd);
            return out;
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    out.text = std::move(data);
    return out;
}

std::optional<std::string> read_link(const char* path, int* err = nullptr) {
    char buf[4096];
    ssize_t n = ::readlink(path, buf, sizeof buf - 1);
    if (n < 0) {
        if (err) *err = errno;
        return std::nullopt;
    }
    return std::string(buf, static_cast<std::size_t>(n));
}

std::string unavailable(int err) { return "unavailable (" + errno_name(err) + ")"; }

// ---- the sections ------------------------------------------------------------------------------

struct NsInfo {
    std::string kind;
    std::optional<std::uint64_t> inode;
    int err = 0;
};

std::vector<NsInfo> gather_namespaces() {
    std::vector<NsInfo> out;
    for (const char* kind : {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                             "user", "uts"}) {
        NsInfo ns{kind, std::nullopt, 0};
        std::string path = std::string("/proc/self/ns/") + kind;
        if (auto link = read_link(path.c_str(), &ns.err)) {
            ns.inode = ns_inode(*link);
            if (!ns.inode) ns.err = EINVAL;
        }
        out.push_back(std::move(ns));
    }
    return out;
}

struct Ids {
    std::vector<std::string> uid, gid, groups;  // from /proc/self/status
    std::optional<std::vector<IdMapLine>> uid_map, gid_map;
    std::optional<std::string> setgroups;
    int status_err = 0, uid_map_err = 0, gid_map_err = 0, setgroups_err = 0;
};

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        std::size_t start = i;
        while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

struct Status {
    std::map<std::string, std::string> fields;
    int err = 0;
};

const Status& status() {
    static const Status s = [] {
        Status out;
        Text t = read_file("/proc/self/status");
        if (t.text) out.fields = parse_status(*t.text);
        else out.err = t.err;
        return out;
    }();
    return s;
}

std::optional<std::string> status_field(const char* name) {
    auto it = status().fields.find(name);
    if (it == status().fields.end()) return std::nullopt;
    return it->second;
}

Ids gather_ids() {
    Ids ids;
    ids.status_err = status().err;
    if (auto v = status_field("Uid")) ids.uid = words(*v);
    if (auto v = status_field("Gid")) ids.gid = words(*v);
    if (auto v = status_field("Groups")) ids.groups = words(*v);
    Text t = read_file("/proc/self/uid_map");
    if (t.text) ids.uid_map = parse_id_map(*t.text);
    else ids.uid_map_err = t.err;
    t = read_file("/proc/self/gid_map");
    if (t.text) ids.gid_map = parse_id_map(*t.text);
    else ids.gid_map_err = t.err;
    t = read_file("/proc/self/setgroups");
    if (t.text) ids.setgroups = words(*t.text).empty() ? "" : words(*t.text)[0];
    else ids.setgroups_err = t.err;
    return ids;
}

struct CapSet {
    std::string field;  // CapInh ...
    std::optional<std::uint64_t> value;
};

struct Caps {
    std::vector<CapSet> sets;
    std::optional<long long> last_cap;
};

Caps gather_caps() {
    Caps caps;
    for (const char* f : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
        CapSet set{f, std::nullopt};
        if (auto v = status_field(f)) set.value = parse_hex(*v);
        caps.sets.push_back(set);
    }
    Text t = read_file("/proc/sys/kernel/cap_last_cap");
    if (t.text) caps.last_cap = parse_int(*t.text);
    return caps;
}

std::optional<std::uint64_t> effective_caps() {
    if (auto v = status_field("CapEff")) return parse_hex(*v);
    return std::nullopt;
}

struct Seccomp {
    std::optional<long long> no_new_privs, mode, filters;
};

Seccomp gather_seccomp() {
    Seccomp s;
    if (auto v = status_field("NoNewPrivs")) s.no_new_privs = parse_int(*v);
    if (auto v = status_field("Seccomp")) s.mode = parse_int(*v);
    if (auto v = status_field("Seccomp_filters")) s.filters = parse_int(*v);
    return s;
}

struct Masked {
    std::string path, by;
};

struct Mounts {
    int err = 0;
    std::optional<MountEntry> root;
    std::vector<std::string> read_only;
    std::vector<Masked> masked;
    std::optional<std::string> probe_mount;  // this program's own bind mount, left out of the lists
    std::vector<MountEntry> all;
};

bool dir_is_empty(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return false;
    }
    bool empty = true;
    while (dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    ::closedir(d);
    return empty;
}

std::string self_exe() {
    auto exe = read_link("/proc/self/exe");
    return exe ? *exe : "";
}

Mounts gather_mounts() {
    Mounts out;
    Text t = read_file("/proc/self/mountinfo");
    if (!t.text) {
        out.err = t.err;
        return out;
    }
    out.all = parse_mountinfo(*t.text);
    std::string exe = self_exe();
    // Later lines are mounted on top of earlier ones: the last entry for a path is what is seen.
    std::map<std::string, const MountEntry*> visible;
    for (const auto& m : out.all) visible[m.mount_point] = &m;
    if (auto it = visible.find("/"); it != visible.end()) out.root = *it->second;

    for (const auto& m : out.all) {
        if (visible[m.mount_point] != &m) continue;  // covered by a later mount
        if (m.mount_point == exe || m.mount_point == kProbePath) {
            out.probe_mount = m.mount_point;
            continue;
        }
        bool ro = has_option(m.options, "ro");
        bool proc_or_sys = path_under(m.mount_point, "/proc") || path_under(m.mount_point, "/sys");
        if (proc_or_sys && m.mount_point != "/proc" && m.mount_point != "/sys") {
            // Only mounts that are themselves tmpfs/devtmpfs are looked at: stat() or opendir() on
            // an autofs mount point (/proc/sys/fs/binfmt_misc on systemd hosts) would trigger the
            // automount, a change on the host. AT_NO_AUTOMOUNT is belt and braces.
            if (m.fstype == "tmpfs" || m.fstype == "devtmpfs") {
                struct stat st {};
                if (::fstatat(AT_FDCWD, m.mount_point.c_str(), &st,
                              AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW) == 0) {
                    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) {
                        out.masked.push_back({m.mount_point, "/dev/null"});
                        continue;
                    }
                    if (S_ISDIR(st.st_mode) && ro && m.fstype == "tmpfs" && dir_is_empty(m.mount_point)) {
                        out.masked.push_back({m.mount_point, "empty read-only tmpfs"});
                        continue;
                    }
                }
            }
        }
        if (ro) out.read_only.push_back(m.mount_point);
    }
    return out;
}

struct Runtime {
    std::string hostname, domainname;
    std::string name = "unknown";
    std::vector<std::string> evidence;
    std::string exe;
};

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

Runtime gather_runtime(const Mounts& mounts) {
    Runtime rt;
    struct utsname u {};
    if (::uname(&u) == 0) {
        rt.hostname = u.nodename;
        rt.domainname = u.domainname;
    }
    rt.exe = self_exe();
    // Markers a runtime leaves itself decide; the probe's own path comes last because anyone can
    // bind the probe there (a lab comparing with `docker run -v ./hutch-probe:/dev/.hutch-probe`).
    std::vector<std::string> strong, weak;
    auto found = [&](std::vector<std::string>& rank, const std::string& name, std::string why) {
        rank.push_back(name);
        rt.evidence.push_back(std::move(why));
    };

    // hutch: host paths under .../hutch/... behind the root overlay and the /etc files it
    // bind-mounts from its state directory (/var/lib/hutch, /run/hutch unless moved).
    for (const auto& m : mounts.all) {
        bool root = m.mount_point == "/";
        bool etc = m.mount_point == "/etc/hosts" || m.mount_point == "/etc/hostname" ||
                   m.mount_point == "/etc/resolv.conf";
        if (!root && !etc) continue;
        std::string where = m.fstype == "overlay" ? m.super_options : m.root;
        if (contains(where, "/hutch/"))
            found(strong, "hutch", m.mount_point + " comes from a path under /hutch/ (" + m.fstype + ")");
        else if (contains(m.root, "/docker/containers/"))
            found(strong, "docker", m.mount_point + " comes from /docker/containers/");
        else if (contains(where, "/containers/storage/"))
            found(strong, "podman", m.mount_point + " comes from containers/storage");
    }
    Text cg = read_file("/proc/self/cgroup");
    if (cg.text) {
        for (const auto& [part, name] : {std::pair{"/hutch/", "hutch"}, std::pair{"docker", "docker"},
                                         std::pair{"libpod", "podman"}, std::pair{"kubepods", "kubernetes"},
                                         std::pair{"/lxc", "lxc"}}) {
            if (contains(*cg.text, part)) {
                found(strong, name, std::string("/proc/self/cgroup mentions ") + part);
                break;
            }
        }
    }
    if (::access("/run/.containerenv", F_OK) == 0) found(strong, "podman", "/run/.containerenv exists");
    if (::access("/.dockerenv", F_OK) == 0) found(strong, "docker", "/.dockerenv exists");
    if (const char* env = std::getenv("container"); env && *env)
        found(strong, env, std::string("environment: container=") + env);
    if (::access("/.flatpak-info", F_OK) == 0) found(strong, "flatpak", "/.flatpak-info exists");
    if (std::getenv("KUBERNETES_SERVICE_HOST"))
        found(strong, "kubernetes", "environment: KUBERNETES_SERVICE_HOST");
    if (rt.exe == kProbePath)
        found(weak, "hutch", std::string("this probe runs from ") + kProbePath + " (hutch run --probe)");
    else if (::access(kProbePath, F_OK) == 0)
        found(weak, "hutch", std::string(kProbePath) + " exists (hutch run --probe)");
    if (!strong.empty()) rt.name = strong.front();
    else if (!weak.empty()) rt.name = weak.front();
    return rt;
}

// ---- output ------------------------------------------------------------------------------------

enum Section : unsigned {
    kNs = 1, kIds = 2, kCaps = 4, kSeccomp = 8, kSyscalls = 16, kSyscalls32 = 32, kMounts = 64,
    kRuntime = 128, kDevices = 256, kAll = 511,
};

struct SectionName {
    const char* flag;
    unsigned bit;
};
constexpr SectionName kSections[] = {
    {"ns", kNs}, {"ids", kIds}, {"caps", kCaps}, {"seccomp", kSeccomp}, {"syscalls", kSyscalls},
    {"syscalls32", kSyscalls32}, {"mounts", kMounts}, {"runtime", kRuntime}, {"devices", kDevices}, {"all", kAll},
};

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

std::string hex16(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string ids_text(const std::vector<std::string>& v) {
    // /proc/self/status: real, effective, saved, filesystem.
    if (v.size() == 4 && v[0] == v[1] && v[1] == v[2] && v[2] == v[3]) return v[0];
    static const char* kNames[] = {"real", "effective", "saved", "fs"};
    std::string out;
    for (std::size_t i = 0; i < v.size() && i < 4; ++i)
        out += (i ? " " : "") + std::string(kNames[i]) + " " + v[i];
    return out.empty() ? "unavailable" : out;
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

// What else a "blocked" may mean: an EPERM the kernel gives itself because it checks a
// capability before the arguments, or an ENOSYS with no filter at all (the kernel lacks the call).
std::string note_for(const SyscallReport& r) {
    if (r.verdict.errno_name == "EPERM" && !r.cap_first.empty()) {
        auto eff = effective_caps();
        for (int cap = 0; cap < 64; ++cap)
            if (cap_name(cap) == r.cap_first && eff && (*eff & (std::uint64_t{1} << cap))) return "";
        return "also the kernel's answer without " + r.cap_first;
    }
    if (r.verdict.errno_name == "ENOSYS") {
        auto mode = status_field("Seccomp");
        if (mode && parse_int(*mode) == 0) return "no seccomp filter: this kernel lacks the call";
    }
    return "";
}

struct Report {
    unsigned sections = kAll;
    std::vector<NsInfo> ns;
    Ids ids;
    Caps caps;
    Seccomp seccomp;
    AbiReport sys64, sys32;
    Mounts mounts;
    Runtime runtime;
    DevicesReport devices;
};

std::string device_node(const ProbeDevice& d) {
    return std::string(1, d.type) + " " + std::to_string(d.major) + ":" + std::to_string(d.minor);
}

// What else an EPERM may mean: the capability the kernel checks too (mknod needs CAP_MKNOD,
// reading the kernel log CAP_SYSLOG), when the process lacks it.
std::string device_note(const DeviceResult& r, bool for_open) {
    int err = for_open ? r.open_err : r.mknod_err;
    if (err != EPERM) return "";
    auto eff = effective_caps();
    auto lacks = [&](int cap) { return eff && !(*eff & (std::uint64_t{1} << cap)); };
    if (!for_open && lacks(27)) return "also the kernel's answer without CAP_MKNOD";
    if (for_open && r.device.name == "kmsg" && lacks(34)) return "also the kernel's answer without CAP_SYSLOG";
    return "";
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

void print_text(const Report& r) {
    TextOut t;
    if (r.sections & kNs) {
        t.heading("namespaces");
        for (const auto& ns : r.ns) {
            if (!ns.inode) {
                t.row(ns.kind, unavailable(ns.err));
                continue;
            }
            t.row(ns.kind, std::to_string(*ns.inode) + (is_initial_ns(ns.kind, *ns.inode) ? " (initial)" : ""));
        }
        t.flush();
    }
    if (r.sections & kIds) {
        t.heading("ids");
        if (r.ids.uid.empty()) t.row("uid", unavailable(r.ids.status_err));
        else t.row("uid", ids_text(r.ids.uid));
        if (!r.ids.gid.empty()) t.row("gid", ids_text(r.ids.gid));
        std::string groups;
        for (const auto& g : r.ids.groups) groups += (groups.empty() ? "" : " ") + g;
        t.row("groups", groups.empty() ? "(none)" : groups);
        t.row("uid_map", map_lines(r.ids.uid_map, r.ids.uid_map_err));
        t.row("gid_map", map_lines(r.ids.gid_map, r.ids.gid_map_err));
        t.row("setgroups", r.ids.setgroups ? *r.ids.setgroups : unavailable(r.ids.setgroups_err));
        t.flush();
    }
    if (r.sections & kCaps) {
        t.heading("capabilities");
        for (const auto& set : r.caps.sets) {
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
        t.row("cap_last_cap", r.caps.last_cap ? std::to_string(*r.caps.last_cap) : "unavailable");
        t.flush();
    }
    if (r.sections & kSeccomp) {
        t.heading("seccomp");
        auto show = [](const std::optional<long long>& v) { return v ? std::to_string(*v) : "unavailable"; };
        t.row("NoNewPrivs", show(r.seccomp.no_new_privs));
        t.row("Seccomp", r.seccomp.mode ? show(r.seccomp.mode) + " (" +
                                              std::string(seccomp_mode_name(*r.seccomp.mode)) + ")"
                                        : "unavailable");
        t.row("Seccomp_filters", show(r.seccomp.filters));
        t.flush();
    }
    for (const AbiReport* rep : {&r.sys64, &r.sys32}) {
        if (!(r.sections & (rep->abi == Abi::i386 ? kSyscalls32 : kSyscalls))) continue;
        t.heading(rep->abi == Abi::i386 ? "syscalls32 (i386 ABI, int $0x80)"
                                        : "syscalls (x86-64 ABI)");
        if (!rep->available) t.row("unavailable", rep->unavailable);
        for (const auto& c : rep->calls) {
            std::string note = note_for(c);
            t.row(c.name, c.verdict.text + (note.empty() ? "" : "  (" + note + ")"));
        }
        t.flush();
    }
    if (r.sections & kMounts) {
        t.heading("mounts");
        if (r.mounts.err) {
            t.row("mountinfo", unavailable(r.mounts.err));
        } else {
            if (r.mounts.root) {
                const auto& m = *r.mounts.root;
                t.row("root", m.fstype + " " + m.options + " (" + propagation(m) + ")");
                t.row("root source", m.source);
                t.row("root super", m.super_options);
            }
            t.row("read-only", r.mounts.read_only.empty() ? std::vector<std::string>{"(none)"}
                                                          : r.mounts.read_only);
            std::vector<std::string> masked;
            for (const auto& m : r.mounts.masked) masked.push_back(m.path + " (" + m.by + ")");
            t.row("masked", masked.empty() ? std::vector<std::string>{"(none)"} : masked);
        }
        t.flush();
    }
    if (r.sections & kRuntime) {
        t.heading("runtime");
        t.row("hostname", r.runtime.hostname);
        t.row("runtime", r.runtime.name);
        t.row("evidence", r.runtime.evidence.empty() ? std::vector<std::string>{"(none)"}
                                                     : r.runtime.evidence);
        t.row("probe", r.runtime.exe.empty() ? "unknown" : r.runtime.exe);
        t.flush();
    }
    if (r.sections & kDevices) print_devices_text(t, r.devices);
}

void print_json(const Report& r) {
    JsonOut j;
    j.begin_object();
    if (r.sections & kNs) {
        j.key("namespaces");
        j.begin_object();
        for (const auto& ns : r.ns) {
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
    if (r.sections & kIds) {
        j.key("ids");
        j.begin_object();
        j.key("uid");
        json_ids(j, r.ids.uid);
        j.key("gid");
        json_ids(j, r.ids.gid);
        j.key("groups");
        json_ids(j, r.ids.groups);
        j.key("uid_map");
        json_map(j, r.ids.uid_map);
        j.key("gid_map");
        json_map(j, r.ids.gid_map);
        j.key("setgroups");
        j.opt_str(r.ids.setgroups);
        j.end_object();
    }
    if (r.sections & kCaps) {
        j.key("capabilities");
        j.begin_object();
        for (const auto& set : r.caps.sets) {
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
        j.opt_num(r.caps.last_cap);
        j.end_object();
    }
    if (r.sections & kSeccomp) {
        j.key("seccomp");
        j.begin_object();
        j.key("no_new_privs");
        j.opt_num(r.seccomp.no_new_privs);
        j.key("mode");
        j.opt_num(r.seccomp.mode);
        j.key("mode_name");
        r.seccomp.mode ? j.str(std::string(seccomp_mode_name(*r.seccomp.mode))) : j.null();
        j.key("filters");
        j.opt_num(r.seccomp.filters);
        j.end_object();
    }
    for (const AbiReport* rep : {&r.sys64, &r.sys32}) {
        if (!(r.sections & (rep->abi == Abi::i386 ? kSyscalls32 : kSyscalls))) continue;
        j.key(abi_title(rep->abi));
        j.begin_object();
        j.key("abi");
        j.str(rep->abi == Abi::i386 ? "i386" : "x86_64");
        j.key("available");
        j.boolean(rep->available);
        if (!rep->available) {
            j.key("reason");
            j.str(rep->unavailable);
        }
        j.key("calls");
        j.begin_object();
        for (const auto& c : rep->calls) {
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
        j.end_object();
        j.end_object();
    }
    if (r.sections & kMounts) {
        j.key("mounts");
        j.begin_object();
        if (r.mounts.err) {
            j.key("error");
            j.str(errno_name(r.mounts.err));
        }
        j.key("root");
        if (r.mounts.root) {
            const auto& m = *r.mounts.root;
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
        } else {
            j.null();
        }
        j.key("read_only");
        j.str_array(r.mounts.read_only);
        j.key("masked");
        j.begin_array();
        for (const auto& m : r.mounts.masked) {
            j.begin_object();
            j.key("path");
            j.str(m.path);
            j.key("by");
            j.str(m.by);
            j.end_object();
        }
        j.end_array();
        j.key("probe_mount");
        j.opt_str(r.mounts.probe_mount);
        j.end_object();
    }
    if (r.sections & kRuntime) {
        j.key("runtime");
        j.begin_object();
        j.key("hostname");
        j.str(r.runtime.hostname);
        j.key("domainname");
        j.str(r.runtime.domainname);
        j.key("name");
        j.str(r.runtime.name);
        j.key("evidence");
        j.str_array(r.runtime.evidence);
        j.key("probe");
        j.str(r.runtime.exe);
        j.end_object();
    }
    if (r.sections & kDevices) print_devices_json(j, r.devices);
    j.end_object();
    j.print();
}

void usage(std::FILE* to) {
    std::fprintf(to,
        "Usage: hutch-probe [--json] [--only SECTION[,SECTION...]]\n"
        "Prints what a process sees from inside a container.\n"
        "\n"
        "  --json           JSON instead of text\n"
        "  --only SECTIONS  print only these sections (repeatable, comma-separated):\n"
        "                   ns, ids, caps, seccomp, syscalls, syscalls32, mounts, runtime, devices,\n"
        "                   all\n"
        "  -h, --help       this text\n"
        "\n"
        "syscalls tries sensitive calls (mount, unshare, bpf, reboot, ...) with arguments the kernel\n"
        "rejects before it acts, each in a short-lived child: \"blocked (EPERM)\" or \"blocked\n"
        "(ENOSYS)\" when refused, \"allowed (<errno>)\" when the kernel got to judge the arguments.\n"
        "Nothing is changed, even as root with every capability. syscalls32 does the same through\n"
        "the i386 ABI (int $0x80), which a seccomp filter must cover separately.\n"
        "\n"
        "devices makes a fixed list of device nodes with mknod in a scratch directory it creates\n"
        "(/dev/.hutch-probe-devices-*, else /tmp) and opens each O_RDONLY|O_NONBLOCK|O_NOCTTY, closing\n"
        "it at once: \"denied (EPERM)\" is the device policy's refusal (or a missing capability's,\n"
        "noted), anything else means the policy let it through. The list: null zero full random\n"
        "urandom tty ptmx pts tun (Docker allows them), fuse hwrng cpu_dma_latency tty0 kmsg and a\n"
        "host block device that exists, an unbound loop device if any (Docker denies them). Each is\n"
        "on it because opening it has no lasting effect: nothing is read or written; a watchdog\n"
        "(opening arms it) is never on it.\n");
}

int run(int argc, char** argv) {
    bool json = false;
    unsigned only = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--json") {
            json = true;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "--only" || a.rfind("--only=", 0) == 0) {
            std::string list;
            if (a == "--only") {
                if (i + 1 >= argc) {
                    std::fprintf(stderr, "hutch-probe: --only needs a section\n");
                    return 2;
                }
                list = argv[++i];
            } else {
                list = a.substr(7);
            }
            std::size_t start = 0;
            while (start <= list.size()) {
                std::size_t comma = list.find(',', start);
                std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                unsigned bit = 0;
                for (const auto& s : kSections)
                    if (name == s.flag) bit = s.bit;
                if (!bit) {
                    std::fprintf(stderr,
                                 "hutch-probe: unknown section \"%s\" (ns, ids, caps, seccomp, "
                                 "syscalls, syscalls32, mounts, runtime, devices, all)\n",
                                 name.c_str());
                    return 2;
                }
                only |= bit;
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        } else {
            std::fprintf(stderr, "hutch-probe: unknown argument \"%s\" (see --help)\n", a.c_str());
            return 2;
        }
    }
    Report r;
    r.sections = only ? only : kAll;
    if (r.sections & kNs) r.ns = gather_namespaces();
    if (r.sections & kIds) r.ids = gather_ids();
    if (r.sections & kCaps) r.caps = gather_caps();
    if (r.sections & kSeccomp) r.seccomp = gather_seccomp();
    std::fflush(stdout);  // nothing buffered may be duplicated into the children
    if (r.sections & kSyscalls) r.sys64 = probe_syscalls(Abi::x86_64);
    if (r.sections & kSyscalls32) r.sys32 = probe_syscalls(Abi::i386);
    r.sys32.abi = Abi::i386;
    if (r.sections & (kMounts | kRuntime)) r.mounts = gather_mounts();
    if (r.sections & kRuntime) r.runtime = gather_runtime(r.mounts);
    if (r.sections & kDevices) r.devices = probe_devices();
    if (json) print_json(r);
    else print_text(r);
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) return 1;
    return 0;
}

}  // namespace
}  // namespace hutch::probe

int main(int argc, char** argv) { return hutch::probe::run(argc, argv); }
