#include "runtime/spec.hpp"

#include <cstdio>
#include <type_traits>
#include <utility>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/restart.hpp"
#include "runtime/scheduling.hpp"
#include "runtime/validate.hpp"

namespace hutch {

using nlohmann::json;

std::optional<NamespaceType> namespace_type(std::string_view name) {
    for (const auto& k : kNamespaceKinds)
        if (name == k.name) return k.type;
    return std::nullopt;
}

bool Spec::has_new_namespace(NamespaceType type) const {
    for (const auto& ns : linux.namespaces)
        if (ns.type == type) return ns.path.empty();
    return false;
}

bool Spec::has_namespace(NamespaceType type) const {
    for (const auto& ns : linux.namespaces)
        if (ns.type == type) return true;
    return false;
}

namespace {

const char* root_kind_name(HutchSection::RootKind kind) {
    switch (kind) {
        case HutchSection::RootKind::kOverlay: return "overlay";
        case HutchSection::RootKind::kBind: return "bind";
    }
    return "overlay";
}

HutchSection::RootKind root_kind(const std::string& name) {
    for (auto kind : {HutchSection::RootKind::kOverlay, HutchSection::RootKind::kBind})
        if (name == root_kind_name(kind)) return kind;
    // Records of --read-only containers made before 0.17 (their root.readonly says read-only).
    if (name == "read-only-bind") return HutchSection::RootKind::kOverlay;
    throw UsageError("hutch.root \"" + name + "\": overlay or bind");
}

json caps_json(const CapabilitySets& c) {
    return {{"bounding", c.bounding},   {"effective", c.effective}, {"inheritable", c.inheritable},
            {"permitted", c.permitted}, {"ambient", c.ambient}};
}

// Reads spec fields with errors that name the JSON path, e.g. "config: process.args: ...".
class Reader {
public:
    Reader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

    bool has(const char* key) const { return j_.is_object() && j_.contains(key); }
    // A section: present and an object.
    Reader at(const char* key) const {
        if (!has(key)) fail(key, "missing");
        if (!j_.at(key).is_object()) fail(key, "must be an object");
        return Reader(j_.at(key), path_ + "." + key);
    }
    // A uid or gid: an integer the kernel accepts ((uid_t)-1 means "unchanged" to setresuid).
    std::uint32_t id(const char* key) const {
        if (!has(key)) return 0;
        const json& v = j_.at(key);
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() >= 0xffffffffLL)
            fail(key, "must be an integer from 0 to 4294967294");
        return static_cast<std::uint32_t>(v.get<std::int64_t>());
    }
    template <typename T>
    T get(const char* key, T fallback) const {
        if (!has(key) || j_.at(key).is_null()) return fallback;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return integer<T>(key, j_.at(key));
        try {
            return j_.at(key).get<T>();
        } catch (const json::exception& e) {
            fail(key, e.what());
        }
    }
    // A whole number that fits T. nlohmann's get<T> would convert anything: a float with
    // undefined behaviour (1e30, or 2e19, which JSON text beyond uint64 becomes), -1 into a
    // uint32 as 4294967295, 1.5 as 1. Go's decoder (runc's) refuses each of these.
    template <typename T>
    T integer(const char* key, const json& v) const {
        if (!v.is_number_integer()) fail(key, "must be a whole number, not " + v.dump());
        bool fits = v.is_number_unsigned() ? std::in_range<T>(v.get<std::uint64_t>()) : std::in_range<T>(v.get<std::int64_t>());
        if (!fits) fail(key, v.dump() + " is out of range");
        return v.get<T>();
    }
    template <typename F>
    void each(const char* key, F&& f) const {
        if (!has(key) || j_.at(key).is_null()) return;
        const json& arr = j_.at(key);
        if (!arr.is_array()) fail(key, "must be an array");
        for (std::size_t i = 0; i < arr.size(); ++i) {
            std::string at = path_ + "." + key + "[" + std::to_string(i) + "]";
            if (!arr[i].is_object()) throw UsageError("config: " + at + ": must be an object");
            f(Reader(arr[i], at));
        }
    }
    // An object's keys, for sections keyed by name (linux.timeOffsets).
    std::vector<std::string> keys() const {
        std::vector<std::string> out;
        for (const auto& [key, value] : j_.items()) out.push_back(key);
        return out;
    }
    [[noreturn]] void fail(const char* key, const std::string& why) const {
        throw UsageError("config: " + path_ + "." + key + ": " + why);
    }

private:
    const json& j_;
    std::string path_;
};

using Strings = std::vector<std::string>;

CapabilitySets caps_from(const Reader& r) {
    return {r.get<Strings>("bounding", {}), r.get<Strings>("effective", {}),
            r.get<Strings>("inheritable", {}), r.get<Strings>("permitted", {}),
            r.get<Strings>("ambient", {})};
}

json seccomp_json(const Seccomp& sc) {
    json syscalls = json::array();
    for (const auto& rule : sc.syscalls) {
        json r = {{"names", rule.names}, {"action", rule.action}};
        if (rule.errno_ret) r["errnoRet"] = *rule.errno_ret;
        if (!rule.args.empty()) {
            json args = json::array();
            for (const auto& a : rule.args) {
                json ja = {{"index", a.index}, {"value", a.value}, {"op", a.op}};
                if (a.value_two) ja["valueTwo"] = a.value_two;
                args.push_back(ja);
            }
            r["args"] = args;
        }
        syscalls.push_back(r);
    }
    json out = {{"defaultAction", sc.default_action}, {"architectures", sc.architectures},
                {"syscalls", syscalls}};
    if (sc.default_errno_ret) out["defaultErrnoRet"] = *sc.default_errno_ret;
    if (!sc.flags.empty()) out["flags"] = sc.flags;
    if (!sc.listener_path.empty()) out["listenerPath"] = sc.listener_path;
    if (!sc.listener_metadata.empty()) out["listenerMetadata"] = sc.listener_metadata;
    return out;
}

Seccomp seccomp_from(const Reader& r) {
    Seccomp sc;
    sc.default_action = r.get<std::string>("defaultAction", "");
    if (sc.default_action.empty()) r.fail("defaultAction", "missing");
    if (r.has("defaultErrnoRet")) sc.default_errno_ret = r.get<std::uint32_t>("defaultErrnoRet", 0);
    sc.architectures = r.get<Strings>("architectures", {});
    sc.flags = r.get<Strings>("flags", {});
    sc.listener_path = r.get<std::string>("listenerPath", "");
    sc.listener_metadata = r.get<std::string>("listenerMetadata", "");
    if (!sc.listener_path.empty() && sc.listener_path[0] != '/') r.fail("listenerPath", "must be absolute");
    r.each("syscalls", [&](const Reader& rule) {
        SeccompSyscall out;
        out.names = rule.get<Strings>("names", {});
        out.action = rule.get<std::string>("action", "");
        if (out.action.empty()) rule.fail("action", "missing");
        if (rule.has("errnoRet")) out.errno_ret = rule.get<std::uint32_t>("errnoRet", 0);
        rule.each("args", [&](const Reader& a) {
            out.args.push_back({a.get<unsigned>("index", 0), a.get<std::uint64_t>("value", 0),
                                a.get<std::uint64_t>("valueTwo", 0), a.get<std::string>("op", "")});
        });
        sc.syscalls.push_back(out);
    });
    return sc;
}

json hooks_json(const std::vector<Hook>& hooks) {
    json out = json::array();
    for (const auto& h : hooks) {
        json jh = {{"path", h.path}};
        if (!h.args.empty()) jh["args"] = h.args;
        if (!h.env.empty()) jh["env"] = h.env;
        if (h.timeout) jh["timeout"] = *h.timeout;
        out.push_back(jh);
    }
    return out;
}

std::vector<Hook> hooks_from(const Reader& r, const char* key) {
    std::vector<Hook> out;
    r.each(key, [&](const Reader& h) {
        Hook hook{h.get<std::string>("path", ""), h.get<Strings>("args", {}), h.get<Strings>("env", {}), {}};
        if (hook.path.empty() || hook.path[0] != '/') h.fail("path", "must be an absolute path");
        if (h.has("timeout")) {
            hook.timeout = h.get<int>("timeout", 0);
            if (*hook.timeout <= 0 || *hook.timeout > 86400) h.fail("timeout", "must be from 1 to 86400 seconds");
        }
        out.push_back(hook);
    });
    return out;
}

// The OCI hook points in spec order, for reading and writing alike.
template <typename H, typename F>
void each_hook_point(H& hooks, F&& f) {
    f("prestart", hooks.prestart);
    f("createRuntime", hooks.create_runtime);
    f("createContainer", hooks.create_container);
    f("startContainer", hooks.start_container);
    f("poststart", hooks.poststart);
    f("poststop", hooks.poststop);
}

Process process_from(const Reader& p) {
    Process out;
    out.terminal = p.get("terminal", false);
    if (p.has("user")) {
        Reader u = p.at("user");
        out.user.uid = u.id("uid");
        out.user.gid = u.id("gid");
        json gids = u.get<json>("additionalGids", json::array());
        if (!gids.is_array()) u.fail("additionalGids", "must be an array");
        for (const auto& g : gids) {
            if (!g.is_number_integer() || g.get<std::int64_t>() < 0 || g.get<std::int64_t>() >= 0xffffffffLL)
                u.fail("additionalGids", "must hold integers from 0 to 4294967294");
            out.user.additional_gids.push_back(static_cast<std::uint32_t>(g.get<std::int64_t>()));
        }
        if (u.has("umask")) {
            auto mask = u.get<std::int64_t>("umask", 0);
            if (mask < 0 || mask > 0777) u.fail("umask", "must be from 0 to 0777");
            out.user.umask = static_cast<std::uint32_t>(mask);
        }
    }
    out.args = p.get<Strings>("args", {});
    out.env = p.get<Strings>("env", {});
    out.cwd = p.get<std::string>("cwd", "/");
    if (p.has("capabilities")) out.capabilities = caps_from(p.at("capabilities"));
    out.no_new_privileges = p.get("noNewPrivileges", false);
    p.each("rlimits", [&](const Reader& r) {
        Rlimit limit{r.get<std::string>("type", ""), r.get<std::uint64_t>("soft", 0), r.get<std::uint64_t>("hard", 0)};
        if (limit.type.empty()) r.fail("type", "missing");
        out.rlimits.push_back(limit);
    });
    if (p.has("oomScoreAdj")) out.oom_score_adj = p.get<int>("oomScoreAdj", 0);
    if (p.has("scheduler")) {
        Reader r = p.at("scheduler");
        if (!r.has("policy")) r.fail("policy", "missing");
        out.scheduler = Scheduler{r.get<std::string>("policy", ""),       r.get<int>("nice", 0),
                                  r.get<int>("priority", 0),              r.get<Strings>("flags", {}),
                                  r.get<std::uint64_t>("runtime", 0),     r.get<std::uint64_t>("deadline", 0),
                                  r.get<std::uint64_t>("period", 0)};
        if (auto why = scheduling::invalid(*out.scheduler); !why.empty()) throw UsageError("config: process." + why);
    }
    if (p.has("ioPriority")) {
        Reader r = p.at("ioPriority");
        if (!r.has("class")) r.fail("class", "missing");
        out.io_priority = IoPriority{r.get<std::string>("class", ""), r.get<int>("priority", 0)};
        if (auto why = scheduling::invalid(*out.io_priority); !why.empty()) throw UsageError("config: process." + why);
    }
    if (p.has("consoleSize")) {
        Reader c = p.at("consoleSize");
        out.console_size = std::pair{c.get<unsigned>("height", 0), c.get<unsigned>("width", 0)};
        if (out.console_size->first > 65535 || out.console_size->second > 65535)
            p.fail("consoleSize", "height and width must be at most 65535");
    }
    return out;
}

json mappings_json(const std::vector<IdMapping>& maps) {
    json out = json::array();
    for (const auto& m : maps) out.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
    return out;
}

// linux.namespaces[].type: an unknown name is refused here, naming it and where it is
// (config.md: runtimes MUST generate an error for values they do not support).
NamespaceType namespace_from(const Reader& n) {
    std::string name = n.get<std::string>("type", "");
    std::optional<NamespaceType> type = namespace_type(name);
    if (!type) n.fail("type", "unsupported namespace type \"" + name + "\"");
    return *type;
}

std::vector<IdMapping> mappings_from(const Reader& r, const char* key) {
    std::vector<IdMapping> out;
    r.each(key, [&](const Reader& m) {
        IdMapping map{m.id("containerID"), m.id("hostID"), m.id("size")};
        if (map.size == 0) m.fail("size", "must be at least 1");
        out.push_back(map);
    });
    return out;
}

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}

json resources_json(const Resources& r) {
    json out = json::object();
    if (r.pids_limit) out["pids"] = {{"limit", *r.pids_limit}};
    json memory = json::object();
    put(memory, "limit", r.memory_limit);
    put(memory, "swap", r.memory_swap);
    put(memory, "reservation", r.memory_reservation);
    put(memory, "kernel", r.kernel_memory);
    put(memory, "disableOOMKiller", r.disable_oom_killer);
    if (!memory.empty()) out["memory"] = memory;
    json cpu = json::object();
    put(cpu, "shares", r.cpu_shares);
    put(cpu, "quota", r.cpu_quota);
    put(cpu, "period", r.cpu_period);
    if (!r.cpus.empty()) cpu["cpus"] = r.cpus;
    if (!r.mems.empty()) cpu["mems"] = r.mems;
    if (!cpu.empty()) out["cpu"] = cpu;
    if (r.blkio_weight) out["blockIO"] = {{"weight", *r.blkio_weight}};
    for (const auto& h : r.hugepage_limits) out["hugepageLimits"].push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    if (!r.unified.empty()) out["unified"] = r.unified;
    if (!r.devices.empty()) {
        json devices = json::array();
        for (const auto& d : r.devices) {
            json jd = {{"allow", d.allow}, {"type", d.type}, {"access", d.access}};
            put(jd, "major", d.major);
            put(jd, "minor", d.minor);
            devices.push_back(jd);
        }
        out["devices"] = devices;
    }
    return out;
}

template <typename T>
std::optional<T> optional_at(const Reader& r, const char* key) {
    if (!r.has(key)) return std::nullopt;
    return r.get<T>(key, T{});
}

Resources resources_from(const Reader& r) {
    Resources out;
    if (r.has("pids")) out.pids_limit = optional_at<std::int64_t>(r.at("pids"), "limit");
    if (r.has("memory")) {
        Reader m = r.at("memory");
        out.memory_limit = optional_at<std::int64_t>(m, "limit");
        out.memory_swap = optional_at<std::int64_t>(m, "swap");
        out.memory_reservation = optional_at<std::int64_t>(m, "reservation");
        out.kernel_memory = optional_at<std::int64_t>(m, "kernel");
        // false asks for nothing (dockerd writes it into every config.json).
        if (m.get("disableOOMKiller", false)) out.disable_oom_killer = true;
    }
    if (r.has("cpu")) {
        Reader c = r.at("cpu");
        out.cpu_shares = optional_at<std::uint64_t>(c, "shares");
        out.cpu_quota = optional_at<std::int64_t>(c, "quota");
        out.cpu_period = optional_at<std::uint64_t>(c, "period");
        out.cpus = c.get<std::string>("cpus", "");
        out.mems = c.get<std::string>("mems", "");
    }
    // 0 is "not set" (dockerd writes {"weight": 0} into every config.json).
    if (r.has("blockIO")) {
        Reader b = r.at("blockIO");
        auto weight = b.get<std::uint16_t>("weight", 0);
        if (weight != 0 && (weight < 10 || weight > 1000)) b.fail("weight", "must be from 10 to 1000 (0: not set)");
        if (weight != 0) out.blkio_weight = weight;
    }
    r.each("devices", [&](const Reader& d) {
        DeviceRule rule;
        rule.allow = d.get("allow", false);
        rule.type = d.get<std::string>("type", "a");
        rule.major = optional_at<std::int64_t>(d, "major");
        rule.minor = optional_at<std::int64_t>(d, "minor");
        rule.access = d.get<std::string>("access", "");
        if (rule.type != "a" && rule.type != "c" && rule.type != "b") d.fail("type", "must be a, c or b");
        if (rule.access.find_first_not_of("rwm") != std::string::npos) d.fail("access", "must be made of r, w and m");
        out.devices.push_back(rule);
    });
    r.each("hugepageLimits", [&](const Reader& h) {
        HugepageLimit limit{h.get<std::string>("pageSize", ""), h.get<std::uint64_t>("limit", 0)};
        // The kernel's names: hugetlb.2MB.limit_in_bytes, hugetlb.1GB.max.
        const std::string& size = limit.page_size;
        std::size_t digits = size.find_first_not_of("0123456789");
        if (digits == 0 || digits == std::string::npos || digits > 9 ||
            (size.substr(digits) != "KB" && size.substr(digits) != "MB" && size.substr(digits) != "GB"))
            h.fail("pageSize", "\"" + size + "\" is not a huge page size such as 2MB or 1GB");
        out.hugepage_limits.push_back(limit);
    });
    out.unified = r.get<std::map<std::string, std::string>>("unified", {});
    for (const auto& [file, value] : out.unified) {
        // A file of the cgroup itself: never a path, nor the files that move or kill processes.
        bool name = !file.empty() && file.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.") == std::string::npos &&
                    file.find('.') != std::string::npos && file.front() != '.' && file.back() != '.';
        // Of the core cgroup.* files only the two limits: the others move or kill processes, or
        // (cgroup.type, cgroup.subtree_control) change the shared parent for every sibling.
        bool core = file.rfind("cgroup.", 0) == 0;
        if (!name || (core && file != "cgroup.max.depth" && file != "cgroup.max.descendants"))
            r.fail("unified", "\"" + file + "\" is not a cgroup2 file a container may set");
        if (value.size() > 4096 || value.find_first_of("\n\0", 0, 2) != std::string::npos)
            r.fail("unified", "the value of \"" + file + "\" is not one line");
    }
    return out;
}

// The config.json of `s`; without its seccomp profile when `with_seccomp` is false.
json spec_json(const Spec& s, bool with_seccomp) {
    json mounts = json::array();
    for (const auto& m : s.mounts) {
        json jm = {{"destination", m.destination}, {"type", m.type}, {"source", m.source}};
        if (!m.options.empty()) jm["options"] = m.options;
        if (!m.uid_mappings.empty()) jm["uidMappings"] = mappings_json(m.uid_mappings);
        if (!m.gid_mappings.empty()) jm["gidMappings"] = mappings_json(m.gid_mappings);
        mounts.push_back(jm);
    }
    json namespaces = json::array();
    for (const auto& ns : s.linux.namespaces) {
        json jn = {{"type", namespace_name(ns.type)}};
        if (!ns.path.empty()) jn["path"] = ns.path;
        namespaces.push_back(jn);
    }
    json user = {{"uid", s.process.user.uid}, {"gid", s.process.user.gid}};
    if (!s.process.user.additional_gids.empty())
        user["additionalGids"] = s.process.user.additional_gids;
    if (s.process.user.umask) user["umask"] = *s.process.user.umask;

    json linux = {{"namespaces", namespaces},
                  {"maskedPaths", s.linux.masked_paths},
                  {"readonlyPaths", s.linux.readonly_paths}};
    if (!s.linux.rootfs_propagation.empty())
        linux["rootfsPropagation"] = s.linux.rootfs_propagation;
    if (s.linux.seccomp && with_seccomp) linux["seccomp"] = seccomp_json(*s.linux.seccomp);
    if (!s.linux.sysctl.empty()) linux["sysctl"] = s.linux.sysctl;
    if (!s.linux.uid_mappings.empty()) linux["uidMappings"] = mappings_json(s.linux.uid_mappings);
    if (!s.linux.gid_mappings.empty()) linux["gidMappings"] = mappings_json(s.linux.gid_mappings);
    if (!s.linux.cgroups_path.empty()) linux["cgroupsPath"] = s.linux.cgroups_path;
    if (!s.linux.personality.empty()) linux["personality"] = {{"domain", s.linux.personality}};
    if (const auto& mp = s.linux.memory_policy) {
        linux["memoryPolicy"] = {{"mode", mp->mode}};
        if (!mp->nodes.empty()) linux["memoryPolicy"]["nodes"] = mp->nodes;
        if (!mp->flags.empty()) linux["memoryPolicy"]["flags"] = mp->flags;
    }
    for (const auto& [clock, offset] : s.linux.time_offsets)
        linux["timeOffsets"][clock] = {{"secs", offset.secs}, {"nanosecs", offset.nanosecs}};
    if (!s.linux.resources.empty()) linux["resources"] = resources_json(s.linux.resources);
    if (!s.linux.devices.empty()) {
        json devices = json::array();
        for (const auto& d : s.linux.devices) {
            json jd = {{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor},
                       {"uid", d.uid},   {"gid", d.gid}};
            if (d.file_mode) jd["fileMode"] = *d.file_mode;
            devices.push_back(jd);
        }
        linux["devices"] = devices;
    }

    json ports = json::array();
    for (const auto& p : s.hutch.ports)
        ports.push_back({{"hostIp", p.host_ip}, {"hostPort", p.host_port}, {"hostPortEnd", p.host_port_end},
                         {"containerPort", p.container_port}, {"protocol", p.protocol}});
    json extra_hosts = json::array();
    for (const auto& h : s.hutch.extra_hosts)
        extra_hosts.push_back({{"name", h.name}, {"address", h.address}});

    json process = {{"terminal", s.process.terminal},
                    {"user", user},
                    {"args", s.process.args},
                    {"env", s.process.env},
                    {"cwd", s.process.cwd},
                    {"capabilities", caps_json(s.process.capabilities)},
                    {"noNewPrivileges", s.process.no_new_privileges}};
    if (!s.process.rlimits.empty()) {
        json rlimits = json::array();
        for (const auto& r : s.process.rlimits) rlimits.push_back({{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
        process["rlimits"] = rlimits;
    }
    if (s.process.oom_score_adj) process["oomScoreAdj"] = *s.process.oom_score_adj;
    if (const auto& sc = s.process.scheduler) {
        process["scheduler"] = {{"policy", sc->policy}, {"nice", sc->nice}, {"priority", sc->priority}};
        if (!sc->flags.empty()) process["scheduler"]["flags"] = sc->flags;
        if (sc->runtime) process["scheduler"]["runtime"] = sc->runtime;
        if (sc->deadline) process["scheduler"]["deadline"] = sc->deadline;
        if (sc->period) process["scheduler"]["period"] = sc->period;
    }
    if (const auto& io = s.process.io_priority)
        process["ioPriority"] = {{"class", io->io_class}, {"priority", io->priority}};
    if (s.process.console_size)
        process["consoleSize"] = {{"height", s.process.console_size->first}, {"width", s.process.console_size->second}};
    json hooks = json::object();
    each_hook_point(s.hooks, [&](const char* point, const std::vector<Hook>& list) {
        if (!list.empty()) hooks[point] = hooks_json(list);
    });

    json out = {
        {"ociVersion", s.oci_version},
        {"process", process},
        {"root", {{"path", s.root.path}, {"readonly", s.root.readonly}}},
        {"hostname", s.hostname},
        {"mounts", mounts},
        {"linux", linux},
        {"hutch",
         {{"name", s.hutch.name},
          {"network", s.hutch.network},
          {"ip", s.hutch.ip},
          {"networkAliases", s.hutch.network_aliases},
          {"ports", ports},
          {"autoRemove", s.hutch.auto_remove},
          {"restartPolicy", {{"name", s.hutch.restart.name}, {"maximumRetryCount", s.hutch.restart.max_retries}}},
          {"detach", s.hutch.detach},
          {"joinedContainers", s.hutch.joined_containers},
          {"interactive", s.hutch.interactive},
          {"privileged", s.hutch.privileged},
          {"rootless", s.hutch.rootless},
          {"hostDevices", s.hutch.host_devices},
          {"hostShm", s.hutch.host_shm},
          {"extraHosts", extra_hosts},
          {"dns", s.hutch.dns},
          {"dnsSearch", s.hutch.dns_search},
          {"dnsOptions", s.hutch.dns_options},
          {"securityOpt", s.hutch.security_opts},
          {"root", root_kind_name(s.hutch.root)},
          {"stdio", s.hutch.stdio == HutchSection::Stdio::kRelayed ? "relayed" : "inherited"},
          {"disableIpv6", s.hutch.disable_ipv6}}},
    };
    if (!s.hutch.layers.empty()) {
        out["hutch"]["layers"] = s.hutch.layers;
        out["hutch"]["image"] = s.hutch.image;
        out["hutch"]["imageRef"] = s.hutch.image_ref;
    }
    if (!s.domainname.empty()) out["domainname"] = s.domainname;
    if (!hooks.empty()) out["hooks"] = hooks;
    if (!s.annotations.empty()) out["annotations"] = s.annotations;
    return out;
}

}  // namespace

Resources resources_from_json(const json& j, const std::string& path) {
    if (!j.is_object()) throw UsageError(path + ": must be an object");
    return resources_from(Reader(j, path));
}

Process process_from_json(const json& j) {
    if (!j.is_object()) throw UsageError("process: must be a JSON object");
    return process_from(Reader(j, "process"));
}

Spec spec_from_json(const json& j) {
    Reader top(j, "config");
    if (!j.is_object()) throw UsageError("config: must be a JSON object");
    Spec s;
    s.oci_version = top.get<std::string>("ociVersion", s.oci_version);

    s.process = process_from(top.at("process"));

    Reader r = top.at("root");
    s.root.path = r.get<std::string>("path", "");
    s.root.readonly = r.get("readonly", false);
    s.hostname = top.get<std::string>("hostname", "");
    s.domainname = top.get<std::string>("domainname", "");
    s.annotations = top.get<std::map<std::string, std::string>>("annotations", {});
    if (top.has("hooks")) {
        Reader h = top.at("hooks");
        each_hook_point(s.hooks, [&](const char* point, std::vector<Hook>& list) { list = hooks_from(h, point); });
    }

    top.each("mounts", [&](const Reader& m) {
        s.mounts.push_back({m.get<std::string>("destination", ""), m.get<std::string>("type", ""),
                            m.get<std::string>("source", ""), m.get<Strings>("options", {}),
                            mappings_from(m, "uidMappings"), mappings_from(m, "gidMappings")});
    });
    if (top.has("linux")) {
        Reader l = top.at("linux");
        l.each("namespaces", [&](const Reader& n) {
            s.linux.namespaces.push_back({namespace_from(n), n.get<std::string>("path", "")});
        });
        s.linux.masked_paths = l.get<Strings>("maskedPaths", {});
        s.linux.readonly_paths = l.get<Strings>("readonlyPaths", {});
        s.linux.rootfs_propagation = l.get<std::string>("rootfsPropagation", "");
        if (l.has("seccomp")) s.linux.seccomp = seccomp_from(l.at("seccomp"));
        s.linux.sysctl = l.get<std::map<std::string, std::string>>("sysctl", {});
        s.linux.uid_mappings = mappings_from(l, "uidMappings");
        s.linux.gid_mappings = mappings_from(l, "gidMappings");
        s.linux.cgroups_path = l.get<std::string>("cgroupsPath", "");
        if (l.has("memoryPolicy")) {
            Reader mp = l.at("memoryPolicy");
            if (!mp.has("mode")) mp.fail("mode", "missing");
            s.linux.memory_policy = MemoryPolicy{mp.get<std::string>("mode", ""), mp.get<std::string>("nodes", ""),
                                                 mp.get<Strings>("flags", {})};
            if (auto why = scheduling::invalid(*s.linux.memory_policy); !why.empty())
                throw UsageError("config: linux.memoryPolicy." + why);
        }
        if (l.has("timeOffsets")) {
            Reader offsets = l.at("timeOffsets");
            for (const auto& clock : offsets.keys()) {
                if (clock != "monotonic" && clock != "boottime")
                    offsets.fail(clock.c_str(), "unknown clock (a time namespace has monotonic and boottime)");
                Reader o = offsets.at(clock.c_str());
                TimeOffset offset{o.get<std::int64_t>("secs", 0), o.get<std::uint32_t>("nanosecs", 0)};
                if (offset.nanosecs >= 1'000'000'000) o.fail("nanosecs", "must be below 1000000000");
                s.linux.time_offsets[clock] = offset;
            }
        }
        if (l.has("personality")) {
            Reader per = l.at("personality");
            s.linux.personality = per.get<std::string>("domain", "");
            // An empty section (engines write one) asks for nothing.
            if (!s.linux.personality.empty() && s.linux.personality != "LINUX" && s.linux.personality != "LINUX32")
                per.fail("domain", "must be LINUX or LINUX32");
            if (!per.get<Strings>("flags", {}).empty()) per.fail("flags", "are not supported by hutch");
        }
        if (l.has("resources")) s.linux.resources = resources_from(l.at("resources"));
        l.each("devices", [&](const Reader& d) {
            Device dev{d.get<std::string>("path", ""), d.get<std::string>("type", ""),
                       d.get<std::int64_t>("major", 0), d.get<std::int64_t>("minor", 0), {}, d.id("uid"), d.id("gid")};
            if (d.has("fileMode")) dev.file_mode = d.get<std::uint32_t>("fileMode", 0);
            s.linux.devices.push_back(dev);
        });
    }
    if (top.has("hutch")) {
        Reader h = top.at("hutch");
        s.hutch.name = h.get<std::string>("name", "");
        s.hutch.network = h.get<std::string>("network", "bridge");
        s.hutch.ip = h.get<std::string>("ip", "");
        s.hutch.network_aliases = h.get<Strings>("networkAliases", {});
        h.each("ports", [&](const Reader& p) {
            s.hutch.ports.push_back({p.get<std::string>("hostIp", ""), p.get<int>("hostPort", 0),
                                     p.get<int>("hostPortEnd", 0), p.get<int>("containerPort", 0),
                                     p.get<std::string>("protocol", "tcp")});
        });
        s.hutch.auto_remove = h.get("autoRemove", false);
        s.hutch.rootless = h.get("rootless", false);
        if (h.has("restartPolicy")) {
            Reader policy = h.at("restartPolicy");
            s.hutch.restart = restart::parse_policy(policy.get<std::string>("name", "no"), policy.get<int>("maximumRetryCount", 0));
        }
        s.hutch.detach = h.get("detach", false);
        s.hutch.joined_containers = h.get<Strings>("joinedContainers", {});
        s.hutch.interactive = h.get("interactive", false);
        s.hutch.privileged = h.get("privileged", false);
        s.hutch.host_devices = h.get("hostDevices", false);
        s.hutch.host_shm = h.get("hostShm", false);
        h.each("extraHosts", [&](const Reader& e) {
            s.hutch.extra_hosts.push_back(
                {e.get<std::string>("name", ""), e.get<std::string>("address", "")});
        });
        s.hutch.dns = h.get<Strings>("dns", {});
        s.hutch.dns_search = h.get<Strings>("dnsSearch", {});
        s.hutch.dns_options = h.get<Strings>("dnsOptions", {});
        s.hutch.security_opts = h.get<Strings>("securityOpt", {});
        // A record written before these fields existed: hutch run's behaviour, as it was then.
        s.hutch.root = root_kind(h.get<std::string>("root", s.root.readonly ? "read-only-bind" : "overlay"));
        const std::string stdio = h.get<std::string>("stdio", "relayed");
        if (stdio != "relayed" && stdio != "inherited") throw UsageError("hutch.stdio \"" + stdio + "\": relayed or inherited");
        s.hutch.stdio = stdio == "relayed" ? HutchSection::Stdio::kRelayed : HutchSection::Stdio::kInherited;
        s.hutch.disable_ipv6 = h.get("disableIpv6", true);
        s.hutch.layers = h.get<Strings>("layers", {});
        s.hutch.image = h.get<std::string>("image", "");
        s.hutch.image_ref = h.get<std::string>("imageRef", "");
    }
    return s;
}

namespace {

// One step of a JSON path: an object's key or an array's index.
struct PathStep {
    bool index;
    std::string text;
};

// The first string of `j`, keys included, that is not UTF-8, and the steps to it in `where`
// (innermost first). They are gathered on the way out from a bad string only: most configs
// have none.
const std::string* first_non_utf8(const json& j, std::vector<PathStep>& where) {
    if (j.is_string()) {
        const auto& text = j.get_ref<const std::string&>();
        return validate::utf8(text) ? nullptr : &text;
    }
    if (j.is_array()) {
        for (std::size_t i = 0; i < j.size(); ++i)
            if (const std::string* bad = first_non_utf8(j[i], where)) {
                where.push_back({true, std::to_string(i)});
                return bad;
            }
    } else if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (!validate::utf8(it.key())) {
                where.push_back({false, it.key()});
                return &it.key();
            }
            if (const std::string* bad = first_non_utf8(it.value(), where)) {
                where.push_back({false, it.key()});
                return bad;
            }
        }
    }
    return nullptr;
}

// "process.args[1]": keys joined by dots, indexes in brackets.
std::string path_of(const std::vector<PathStep>& where) {
    std::string path;
    for (auto step = where.rbegin(); step != where.rend(); ++step) {
        if (step->index) path += "[" + step->text + "]";
        else path = path.empty() ? step->text : path + "." + step->text;
    }
    return path;
}

}  // namespace

json to_json(const Spec& s) { return spec_json(s, true); }

void require_utf8(const Spec& spec) {
    // The seccomp profile is left out: hutch's default is ASCII, and a profile from a file or a
    // bundle was parsed as JSON, whose parser refuses what is not UTF-8. It is most of a
    // config's strings (~350 syscall names).
    const json config = spec_json(spec, false);
    std::vector<PathStep> where;
    const std::string* bad = first_non_utf8(config, where);
    if (!bad) return;
    const std::string path = path_of(where);
    std::string shown;  // bytes past ASCII as \xNN: the message itself must print
    for (unsigned char c : *bad) {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        shown += c < 0x80 ? std::string(1, static_cast<char>(c)) : hex;
    }
    throw UsageError(path + " \"" + shown + "\" is not UTF-8: hutch keeps a container's configuration as JSON "
                     "(config.json), which holds UTF-8 text only");
}

}  // namespace hutch
