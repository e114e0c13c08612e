#include "runtime/oci/bundle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/user.hpp"
#include "runtime/user_db.hpp"
#include "runtime/state.hpp"
#include "runtime/validate.hpp"

namespace hutch::oci {

using nlohmann::json;

namespace {

// Fields config.md and config-linux.md define that hutch does not implement. Refused rather
// than ignored: a container that silently runs without its CPU affinity or its user namespace is
// not the container the engine asked for.
const std::vector<std::string> kUnsupported = {
    "process.execCPUAffinity",
    "linux.resources.memory.kernelTCP",
    "linux.resources.memory.swappiness",
    "linux.resources.cpu.realtimeRuntime",
    "linux.resources.cpu.realtimePeriod",
    "linux.resources.cpu.idle",
    "linux.resources.cpu.burst",
    "linux.resources.blockIO.leafWeight",
    "linux.resources.blockIO.weightDevice",
    "linux.resources.blockIO.throttleReadBpsDevice",
    "linux.resources.blockIO.throttleWriteBpsDevice",
    "linux.resources.blockIO.throttleReadIOPSDevice",
    "linux.resources.blockIO.throttleWriteIOPSDevice",
    "linux.resources.network",
    "linux.resources.rdma",
    "linux.intelRdt",
    "linux.netDevices",
};


const json* find_path(const json& config, const std::string& path) {
    const json* at = &config;
    std::size_t start = 0;
    while (start < path.size()) {
        std::size_t dot = path.find('.', start);
        std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!at->is_object() || !at->contains(key)) return nullptr;
        at = &(*at)[key];
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return at;
}

void refuse_unsupported(const json& config) {
    for (const auto& field : kUnsupported) {
        const json* v = find_path(config, field);
        if (v && !asks_nothing(*v)) throw UsageError("config.json: " + field + " is not supported by hutch");
    }
    // AppArmor and SELinux labels only mean something where the kernel enforces them; like
    // runc, hutch ignores them on a host without either and refuses them on one with it.
    bool apparmor = ::access("/sys/kernel/security/apparmor", F_OK) == 0;
    bool selinux = ::access("/sys/fs/selinux/enforce", F_OK) == 0;
    for (const auto& [field, enforced] : {std::pair{"process.apparmorProfile", apparmor},
                                          std::pair{"process.selinuxLabel", selinux},
                                          std::pair{"linux.mountLabel", selinux}}) {
        const json* v = find_path(config, field);
        if (v && !asks_nothing(*v) && enforced)
            throw UsageError(std::string("config.json: ") + field + " is not supported by hutch");
    }
}


std::string absolute_in(const std::string& bundle, const std::string& path) {
    if (path.empty() || path[0] == '/') return path;
    return bundle + "/" + path;
}

}  // namespace

void default_home(Process& process, const std::string& rootfs) {
    for (const auto& e : process.env)
        if (e.rfind("HOME=", 0) == 0) return;
    std::string passwd;
    if (Fd root{::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)})
        passwd = read_user_db(root.get(), "/etc/passwd", rootfs + "/etc/passwd");
    process.env.push_back("HOME=" + home_of(process.user.uid, passwd));
}

bool asks_nothing(const json& v) {
    if (v.is_null()) return true;
    if (v.is_boolean()) return !v.get<bool>();
    if (v.is_string()) return v.get<std::string>().empty();
    // dockerd 20.10 writes "blockIO": {"weight": 0} into every config.json: 0 is "not set".
    if (v.is_number()) return v == 0;
    if (v.is_array() || v.is_object()) {
        for (const auto& e : v)
            if (!asks_nothing(e)) return false;
        return true;
    }
    return false;
}

json parse_config(const std::string& text, const std::string& shown_path) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann reports a byte offset: turn it into the line and column an editor shows.
        std::size_t offset = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
        std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
        std::size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
        std::size_t column = offset - (line_start == std::string::npos || offset == 0 ? 0 : line_start + 1) + 1;
        std::string why = e.what();
        if (auto colon = why.rfind(": "); colon != std::string::npos) why = why.substr(colon + 2);
        throw UsageError(shown_path + ": invalid JSON at line " + std::to_string(line) + ", column " +
                         std::to_string(column) + ": " + why);
    } catch (const json::exception& e) {
        // out_of_range.406: a number beyond a double ("1e400"), which has no position.
        std::string why = e.what();
        if (auto close = why.find("] "); close != std::string::npos) why = why.substr(close + 2);
        throw UsageError(shown_path + ": invalid JSON: " + why);
    }
}

Spec spec_from_config(const json& config, const std::string& bundle_dir) {
    if (!config.is_object()) throw UsageError("config.json: must be a JSON object");
    if (!config.contains("ociVersion") || !config["ociVersion"].is_string())
        throw UsageError("config.json: ociVersion is missing");
    std::string version = config["ociVersion"].get<std::string>();
    if (version.rfind("1.", 0) != 0)
        throw UsageError("config.json: unsupported ociVersion \"" + version + "\" (hutch runs 1.x)");
    refuse_unsupported(config);
    // The front-end's own section never comes from a bundle: a config.json cannot ask for
    // host devices or a bridge through hutch's private keys.
    json plain = config;
    plain.erase("hutch");
    Spec spec = spec_from_json(plain);
    spec.hutch = HutchSection{};
    // runc's behaviour: the bundle's rootfs itself, the engine's stdio, its own network set-up.
    spec.hutch.root = HutchSection::RootKind::kBind;
    spec.hutch.stdio = HutchSection::Stdio::kInherited;
    spec.hutch.disable_ipv6 = false;
    spec.hutch.network = spec.has_new_namespace(NamespaceType::kNetwork) ? "none" : "host";
    for (const auto& ns : spec.linux.namespaces)
        if (ns.type == NamespaceType::kNetwork && !ns.path.empty()) spec.hutch.network = "none";
    spec.root.path = absolute_in(bundle_dir, spec.root.path);
    for (auto& m : spec.mounts) {
        // config.md: a relative destination is deprecated but MUST be taken relative to "/". Cleaned,
        // so the checks on it see what the kernel will ("//proc" is /proc).
        m.destination = validate::clean_absolute_path(
            m.destination.empty() || m.destination[0] == '/' ? m.destination : "/" + m.destination,
            "config.json mount destination");
        bool bind = m.type == "bind" ||
                    std::any_of(m.options.begin(), m.options.end(), [](const std::string& o) { return o == "bind" || o == "rbind"; });
        if (bind) m.source = absolute_in(bundle_dir, m.source);
    }
    if (spec.process.args.empty()) throw UsageError("config.json: process.args must name the command");
    if (spec.process.cwd.empty() || spec.process.cwd[0] != '/')
        throw UsageError("config.json: process.cwd \"" + spec.process.cwd + "\" must be an absolute path");
    return spec;
}

Spec load_bundle(const std::string& bundle_dir) {
    std::string path = bundle_dir + "/config.json";
    std::string text;
    try {
        text = read_file(path);
    } catch (const SysError& e) {
        throw UsageError("read the bundle's config: open " + path + ": " + std::strerror(e.error_number()));
    }
    return spec_from_config(parse_config(text, path), bundle_dir);
}

const std::vector<std::string>& unsupported_fields() { return kUnsupported; }

json default_config() {
    const json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    return {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", true},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"sh"}},
          {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
          {"cwd", "/"},
          {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
          {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "hutch"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
           {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
          {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
           {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
          {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
           {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
          {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"},
           {"options", {"nosuid", "noexec", "nodev"}}},
          {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}},
          {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
           {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
        {"linux",
         {{"namespaces",
           {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "cgroup"}}}},
          {"maskedPaths",
           {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
          {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}},
    };
}

json rootless_config(json config, std::uint32_t uid, std::uint32_t gid) {
    json namespaces = json::array();
    for (const auto& ns : config["linux"]["namespaces"])
        if (ns["type"] != "network" && ns["type"] != "user") namespaces.push_back(ns);
    namespaces.push_back({{"type", "user"}});
    config["linux"]["namespaces"] = namespaces;
    config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", uid}, {"size", 1}}});
    config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", gid}, {"size", 1}}});
    for (auto& m : config["mounts"]) {
        if (m["destination"] == "/sys") {
            m = {{"destination", "/sys"}, {"type", "none"}, {"source", "/sys"},
                 {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}};
            continue;
        }
        if (!m.contains("options")) continue;
        json options = json::array();
        for (const auto& o : m["options"]) {
            const std::string option = o.get<std::string>();
            if (!option.starts_with("uid=") && !option.starts_with("gid=")) options.push_back(o);
        }
        m["options"] = options;
    }
    config["linux"].erase("resources");
    return config;
}

}  // namespace hutch::oci
