#include "caps/audit.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "caps/audit_devices.hpp"
#include "caps/audit_resources.hpp"
#include "caps/capabilities.hpp"
#include "runtime/run_modes.hpp"
#include "runtime/userns.hpp"

namespace hutch::audit {
namespace {

using Strings = std::vector<std::string>;

// --- paths ---------------------------------------------------------------------------------

// Lexical normal form of a host path ("//var/run/./docker.sock/" -> "/run/docker.sock"): the
// audit compares what the profile says and reads nothing from the host. /var/run is a symlink
// to /run on every current distribution, so both spellings mean one place.
std::string normal_path(const std::string& path) {
    Strings parts;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t slash = path.find('/', i);
        if (slash == std::string::npos) slash = path.size();
        std::string part = path.substr(i, slash - i);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        i = slash + 1;
    }
    if (parts.size() >= 2 && parts[0] == "var" && parts[1] == "run") parts.erase(parts.begin());
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

// `path` is `dir` or lies under it (both normal).
bool within(const std::string& path, const std::string& dir) {
    if (dir == "/") return true;
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           path[dir.size()] == '/');
}

bool has_option(const Mount& m, std::string_view option) {
    return std::find(m.options.begin(), m.options.end(), option) != m.options.end();
}

bool is_bind(const Mount& m) { return m.type == "bind" || has_option(m, "bind") || has_option(m, "rbind"); }

// The last of ro/rw wins, as mount(8) reads options; a bind is read-write by default.
bool is_read_only(const Mount& m) {
    bool ro = false;
    for (const auto& o : m.options) {
        if (o == "ro") ro = true;
        else if (o == "rw") ro = false;
    }
    return ro;
}

// The -v spelling of a bind, for titles and fixes: "/etc:/host/etc:ro".
std::string volume_of(const Mount& m) {
    return m.source + ":" + m.destination + (is_read_only(m) ? ":ro" : "");
}

// CIS 5.5's list, plus /var/run (as /run) which the benchmark names beside them. "/" counts only
// itself: everything lies under it.
const std::array<std::string_view, 9> kSensitivePaths = {"/",     "/boot", "/dev", "/etc", "/lib",
                                                         "/proc", "/sys",  "/usr", "/run"};

// --- capabilities --------------------------------------------------------------------------

struct Dangerous {
    std::string_view name;
    std::string_view why;
};

// Capabilities that are known container escapes or reach the host kernel directly.
const std::array<Dangerous, 13> kDangerous = {{
    {"SYS_ADMIN", "mount, namespaces, BPF: most container escapes need it (cgroup release_agent)"},
    {"SYS_MODULE", "loads kernel modules: arbitrary code in the host kernel"},
    {"SYS_RAWIO", "raw I/O ports and memory (iopl, ioperm, /dev/mem): the host's hardware directly"},
    {"SYS_PTRACE", "traces and injects code into processes it sees (the host's with --pid host)"},
    {"DAC_READ_SEARCH", "open_by_handle_at opens any host file by inode number (the \"shocker\" escape)"},
    {"NET_ADMIN", "reconfigures interfaces, routes and firewall (the host's with --network host)"},
    {"SYS_BOOT", "reboots the host and loads a new kernel (reboot and kexec are not namespaced)"},
    {"SYS_TIME", "sets the host's clock, which no namespace isolates"},
    {"BPF", "loads BPF programs into the host kernel"},
    {"PERFMON", "perf_event_open observes the host kernel and other processes"},
    {"MAC_ADMIN", "changes the host's AppArmor or SELinux policy"},
    {"MAC_OVERRIDE", "bypasses the host's AppArmor or SELinux policy"},
    {"SYSLOG", "reads and clears the host kernel's log, which leaks kernel addresses"},
}};

std::string short_name(int cap) { return caps::name_of(cap).substr(4); }  // without "CAP_"

// Every capability the process can ever hold: the union of its five sets. Names no kernel knows
// are returned in `unknown` (a config.json is not validated here).
caps::CapSet granted(const CapabilitySets& sets, Strings& unknown) {
    caps::CapSet set = 0;
    for (const Strings* list : {&sets.bounding, &sets.effective, &sets.permitted,
                                &sets.inheritable, &sets.ambient}) {
        for (const auto& name : *list) {
            if (auto cap = caps::number_from_name(name)) set |= caps::bit(*cap);
            else if (std::find(unknown.begin(), unknown.end(), name) == unknown.end())
                unknown.push_back(name);
        }
    }
    return set;
}

Strings short_names(caps::CapSet set) {
    Strings out;
    for (int cap = 0; cap < 64; ++cap)
        if (set & caps::bit(cap)) out.push_back(short_name(cap));
    return out;
}

std::string join(const Strings& items, const std::string& sep) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
    return out;
}

// "A, B, C" up to `max` items, then "and N more".
std::string abbreviated(const Strings& items, std::size_t max) {
    if (items.size() <= max) return join(items, ", ");
    Strings head(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(max));
    return join(head, ", ") + " and " + std::to_string(items.size() - max) + " more";
}

// --- the rules -----------------------------------------------------------------------------

class Auditor {
public:
    Auditor(const Spec& spec, const Options& options) : s_(spec), options_(options) {}

    std::vector<Finding> run() {
        privileged();
        capabilities();
        namespace_rule("5.9 host-network", NamespaceType::kNetwork, "network", "--network",
                       "it can bind every host interface and reach services on the host's loopback");
        namespace_rule("5.15 host-pid", NamespaceType::kPid, "PID", "--pid",
                       "it sees every host process and its command line and can signal them (with SYS_PTRACE "
                       "it reads their environment and memory too)");
        namespace_rule("5.16 host-ipc", NamespaceType::kIpc, "IPC", "--ipc",
                       "it reads and writes the host's System V IPC and /dev/shm shared memory");
        namespace_rule("5.20 host-uts", NamespaceType::kUts, "UTS", "--uts",
                       "with CAP_SYS_ADMIN it can change the host's hostname");
        control_sockets();
        for (auto& f : device_findings(s_)) findings_.push_back(std::move(f));
        sensitive_mounts();
        propagation();
        read_only_root();
        no_new_privileges();
        seccomp();
        root_user();
        for (auto& f : resource_findings(s_)) findings_.push_back(std::move(f));
        return std::move(findings_);
    }

private:
    Finding& add(std::string id, Level level, std::string title, std::string why, std::string fix) {
        findings_.push_back({std::move(id), level, std::move(title), std::move(why), std::move(fix), {}});
        return findings_.back();
    }

    void privileged() {
        const char* id = "5.4 privileged";
        const char* why = "root inside is root on the host: all capabilities and devices, /sys writable, no seccomp";
        const char* fix = "remove --privileged (--cap-add what it needs)";
        if (s_.hutch.privileged || s_.hutch.host_devices) {
            auto& f = add(id, Level::kWarn, "privileged container", why, fix);
            if (s_.hutch.host_devices) f.details.push_back("every host device node in /dev");
            if (s_.linux.masked_paths.empty()) f.details.push_back("no masked paths");
        } else {
            add(id, Level::kPass, "not privileged", why, fix);
        }
    }

    void capabilities() {
        Strings unknown;
        caps::CapSet set = granted(s_.process.capabilities, unknown);
        caps::CapSet extra = set & ~caps::docker_default();
        Strings extra_names = short_names(extra);
        extra_names.insert(extra_names.end(), unknown.begin(), unknown.end());

        auto fix_for = [&](const Strings& names) {
            if (s_.hutch.privileged) return std::string("remove --privileged");
            return "remove --cap-add " + join(names, " ");
        };
        const char* why = "each one beyond Docker's 14 widens what root inside can do to the kernel";
        if (extra_names.empty()) {
            Strings names = short_names(set);
            std::string granted_text = names.empty() ? "none granted"
                                       : names.size() <= 3 ? join(names, ", ")
                                                           : std::to_string(names.size()) + " granted";
            auto& f = add("5.3 capabilities", Level::kPass,
                          "none beyond Docker's default (" + granted_text + ")", why,
                          "--cap-drop ALL --cap-add <needed>");
            f.details = names;
        } else {
            auto& f = add("5.3 capabilities", Level::kWarn,
                          std::to_string(extra_names.size()) + " beyond Docker's default: " + abbreviated(extra_names, 4), why, fix_for(extra_names));
            f.details = extra_names;
        }

        bool any = false;
        for (const auto& d : kDangerous) {
            auto cap = caps::number_from_name(d.name);
            if (!cap || !(set & caps::bit(*cap))) continue;
            any = true;
            add("5.3 dangerous-cap", Level::kWarn, std::string(d.name) + " granted", std::string(d.why),
                fix_for({std::string(d.name)}));
        }
        if (!any) {
            Strings names;
            for (const auto& d : kDangerous) names.emplace_back(d.name);
            auto& f = add("5.3 dangerous-cap", Level::kPass, "none of the escape-prone capabilities",
                          "some capabilities are known container escapes or reach the host kernel directly",
                          "never --cap-add them without need");
            f.details = names;
        }
    }

    // A namespace missing from linux.namespaces is the host's (OCI runtime-spec); one with a
    // path is joined, which is the host's when the path is pid 1's.
    void namespace_rule(const char* id, NamespaceType type, const std::string& label, const std::string& flag,
                        const char* why) {
        const std::string fix = "remove " + flag + " host";
        auto ns = std::find_if(s_.linux.namespaces.begin(), s_.linux.namespaces.end(),
                               [&](const Namespace& n) { return n.type == type; });
        if (ns == s_.linux.namespaces.end()) {
            add(id, Level::kWarn, "shares the host's " + label + " namespace", why, fix);
        } else if (type == NamespaceType::kNetwork && std::holds_alternative<ContainerNetwork>(network_mode(s_))) {
            add(id, Level::kInfo, "shares the network namespace of " + s_.hutch.network,
                "the two containers reach each other's interfaces and loopback services",
                "remove --network " + s_.hutch.network + " if they need not share");
        } else if (ns->path.empty()) {
            add(id, Level::kPass, "own " + label + " namespace", why, fix);
        } else if (ns->path.rfind("/proc/1/ns/", 0) == 0) {
            add(id, Level::kWarn, "joins the host's " + label + " namespace (" + ns->path + ")", why, fix);
        } else {
            // Another container's (--pid container:NAME gives /proc/PID/ns/pid; audited from
            // flags, a container that is not running has no path yet) or a file an OCI config names.
            bool has_path = ns->path.find('/', 1) != std::string::npos;
            add(id, Level::kInfo, "joins the " + label + " namespace " + (has_path ? "at " + ns->path : "of another container"),
                "it shares that namespace with whatever else is in it",
                "remove " + flag + " container:... if they need not share");
        }
    }

    // Which control paths a bind source exposes: the path itself, anything under it, or any
    // directory above it.
    Strings exposed_controls(const std::string& source) const {
        Strings out;
        for (const auto& control : options_.control_paths) {
            std::string c = normal_path(control);
            if (within(source, c) || within(c, source)) out.push_back(c);
        }
        return out;
    }

    bool is_control_mount(const std::string& source) const {
        for (const auto& control : options_.control_paths)
            if (within(source, normal_path(control))) return true;
        return false;
    }

    void control_sockets() {
        const char* id = "5.31 control-socket";
        const char* why = "an engine's socket or state is host root (it starts privileged containers), even :ro";
        bool any = false;
        for (const auto& m : s_.mounts) {
            if (!is_bind(m)) continue;
            std::string source = normal_path(m.source);
            Strings exposed = exposed_controls(source);
            if (exposed.empty()) continue;
            any = true;
            std::string title = m.source + (is_read_only(m) ? " read-only" : "") + " at " + m.destination;
            if (!is_control_mount(source)) title += ": exposes " + abbreviated(exposed, 2);
            auto& f = add(id, Level::kWarn, title, why, "remove -v " + m.source);
            f.details = {"volume " + volume_of(m)};
            for (const auto& e : exposed) f.details.push_back("exposes " + e);
        }
        if (!any) {
            auto& f = add(id, Level::kPass, "no container engine socket or state mounted", why,
                          "never mount an engine's socket");
            for (const auto& c : options_.control_paths) f.details.push_back(normal_path(c));
        }
    }

    void sensitive_mounts() {
        const char* id = "5.5 sensitive-mount";
        const char* why = "host system files readable inside, writable when rw: secrets, binaries, devices";
        bool any = false;
        for (const auto& m : s_.mounts) {
            if (!is_bind(m)) continue;
            std::string source = normal_path(m.source);
            // Reported under their own rules: the engine's sockets (5.31) and the host's
            // /dev/shm that --ipc host binds (5.16).
            if (is_control_mount(source)) continue;
            if (s_.hutch.host_shm && source == "/dev/shm" && m.destination == "/dev/shm") continue;
            for (auto dir : kSensitivePaths) {
                std::string d(dir);
                bool whole = source == d;
                if (!whole && (d == "/" || !within(source, d))) continue;
                any = true;
                bool ro = is_read_only(m);
                // A whole system directory is too much even read-only (/etc holds shadow); one
                // file from it read-only (/etc/localtime) is common and worth a look.
                Level level = (whole || !ro) ? Level::kWarn : Level::kInfo;
                std::string title = m.source + (ro ? " read-only" : " read-write") + " at " + m.destination;
                auto& f = add(id, level, title, why,
                              ro ? "remove -v " + m.source + " (mount only what it needs)"
                                 : "remove -v " + m.source + ", or add :ro");
                f.details = {"volume " + volume_of(m), "under the sensitive host path " + d};
                break;
            }
        }
        if (!any) {
            auto& f = add(id, Level::kPass, "no sensitive host path mounted", why,
                          "mount only the data the workload needs");
            for (auto dir : kSensitivePaths) f.details.emplace_back(dir);
        }
    }

    void propagation() {
        const char* id = "5.19 mount-propagation";
        const char* why = "with shared propagation, mounts made on one side appear on the other: the container can mount onto the host";
        bool any = false;
        auto shared = [](std::string_view p) { return p == "shared" || p == "rshared"; };
        for (const auto& m : s_.mounts) {
            auto it = std::find_if(m.options.begin(), m.options.end(), shared);
            if (it == m.options.end()) continue;
            any = true;
            add(id, Level::kWarn, m.destination + " mounted with " + *it + " propagation", why,
                "drop :" + *it + " from -v " + m.source + ":" + m.destination);
        }
        // A shared volume makes the root's propagation shared too (Docker's rule): one finding.
        if (!any && shared(s_.linux.rootfs_propagation)) {
            any = true;
            add(id, Level::kWarn, "root filesystem propagation " + s_.linux.rootfs_propagation, why,
                "use the default rprivate");
        }
        if (!any) add(id, Level::kPass, "no shared mount propagation", why, "keep the default rprivate");
    }

    void read_only_root() {
        const char* why = "a writable root lets an intruder drop tools and change binaries";
        const char* fix = "--read-only";
        if (s_.root.readonly) add("5.12 read-only-rootfs", Level::kPass, "root filesystem read-only", why, fix);
        else add("5.12 read-only-rootfs", Level::kWarn, "root filesystem writable", why, fix);
    }

    void no_new_privileges() {
        const char* why = "setuid and file-capability programs inside can raise privileges";
        const char* fix = "--security-opt no-new-privileges";
        if (s_.process.no_new_privileges)
            add("5.25 no-new-privileges", Level::kPass, "no-new-privileges set", why, fix);
        else
            add("5.25 no-new-privileges", Level::kWarn, "no-new-privileges off", why, fix);
    }

    void seccomp() {
        const char* id = "5.21 seccomp";
        const char* why = "every syscall reaches the kernel, escape routes included (mount, keyctl, bpf...)";
        if (!s_.linux.seccomp) {
            // hutch's default filter (Docker's, caps/seccomp) is loaded unless --privileged or
            // seccomp=unconfined turned it off.
            add(id, Level::kWarn, "seccomp unconfined (no default filter)", why,
                s_.hutch.privileged ? "remove --privileged" : "drop --security-opt seccomp=unconfined");
            return;
        }
        const Seccomp& sc = *s_.linux.seccomp;
        std::string rules = std::to_string(sc.syscalls.size()) + (sc.syscalls.size() == 1 ? " rule" : " rules");
        if (sc.default_action == "SCMP_ACT_ALLOW" || sc.default_action == "SCMP_ACT_LOG") {
            add(id, Level::kInfo, "seccomp deny-list (default " + sc.default_action + ", " + rules + ")",
                "a deny-list lets through every syscall it does not name, including ones newer kernels add",
                "a profile whose defaultAction is SCMP_ACT_ERRNO");
        } else {
            add(id, Level::kPass, "seccomp filter (default " + sc.default_action + ", " + rules + ")", why,
                "keep the default filter");
        }
    }

    void root_user() {
        const char* id = "4.1 root-user";
        const char* why = "uid 0 inside is uid 0 on the host (no user namespace): a breakout lands as root";
        const char* fix = "-u UID[:GID] (non-root), or --uidmap";
        std::string who = "uid " + std::to_string(s_.process.user.uid) + ", gid " +
                          std::to_string(s_.process.user.gid);
        // A joined user namespace's maps: the spec's (checked against it), else the kernel's
        // when the path is a process's; unknown ones count as the host's root.
        std::vector<IdMapping> uids = s_.linux.uid_mappings;
        if (uids.empty())
            for (const auto& ns : s_.linux.namespaces)
                if (ns.type == NamespaceType::kUser && !ns.path.empty())
                    if (auto joined = userns::maps_of_joined(ns.path)) uids = joined->first;
        std::optional<std::uint32_t> host_root = userns::host_id(uids, 0);
        if (s_.process.user.uid != 0)
            add(id, Level::kPass, "runs as " + who, why, fix);
        else if (s_.has_namespace(NamespaceType::kUser) && host_root && *host_root != 0)
            add(id, Level::kPass, "runs as root inside its own user namespace, host uid " + std::to_string(*host_root), why, fix);
        else if (s_.has_new_namespace(NamespaceType::kUser))
            add(id, Level::kInfo, "runs as root inside its own user namespace, which maps it to the host's root", why, fix);
        else
            add(id, Level::kWarn, "runs as root (" + who + ")", why, fix);
    }

    const Spec& s_;
    const Options& options_;
    std::vector<Finding> findings_;
};

}  // namespace

std::string_view level_name(Level level) {
    switch (level) {
        case Level::kPass: return "PASS";
        case Level::kInfo: return "INFO";
        case Level::kWarn: return "WARN";
    }
    return "?";
}

std::vector<std::string> default_control_paths() {
    return {"/run/docker.sock",         "/run/containerd/containerd.sock", "/run/podman/podman.sock",
            "/run/crio/crio.sock",      "/run/hutch",                      "/var/lib/hutch"};
}

std::vector<Finding> audit(const Spec& spec, const Options& options) { return Auditor(spec, options).run(); }

int exit_code(const std::vector<Finding>& findings, bool strict) {
    if (!strict) return 0;
    bool warn = std::any_of(findings.begin(), findings.end(),
                            [](const Finding& f) { return f.level == Level::kWarn; });
    return warn ? 1 : 0;
}

nlohmann::ordered_json to_json(const std::vector<Finding>& findings) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& f : findings)
        out.push_back({{"id", f.id},   {"level", level_name(f.level)}, {"title", f.title},
                       {"why", f.why}, {"fix", f.fix},                 {"details", f.details}});
    return out;
}

std::string format_table(const std::vector<Finding>& findings) {
    std::size_t id_width = 2, title_width = 7;
    for (const auto& f : findings) {
        id_width = std::max(id_width, f.id.size());
        title_width = std::max(title_width, f.title.size());
    }
    auto pad = [](std::string s, std::size_t width) {
        if (s.size() < width) s.append(width - s.size(), ' ');
        return s;
    };
    auto row = [&](const std::string& id, std::string_view level, const std::string& title,
                   const std::string& fix) {
        std::string line = pad(id, id_width) + "  " + pad(std::string(level), 5) + "  ";
        line += fix.empty() ? title : pad(title, title_width) + "  " + fix;
        return line + "\n";
    };
    std::string out = row("ID", "LEVEL", "FINDING", "FIX");
    int counts[3] = {0, 0, 0};
    for (const auto& f : findings) {
        ++counts[static_cast<int>(f.level)];
        bool pass = f.level == Level::kPass;
        out += row(f.id, level_name(f.level), f.title, pass ? "" : f.fix);
        if (!pass) out += std::string(id_width + 2 + 5 + 2, ' ') + "why: " + f.why + "\n";
    }
    out += "summary: " + std::to_string(counts[2]) + " WARN, " + std::to_string(counts[1]) + " INFO, " +
           std::to_string(counts[0]) + " PASS\n";
    return out;
}

}  // namespace hutch::audit
