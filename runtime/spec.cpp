#include "runtime/spec.hpp"

#include <nlohmann/json.hpp>

#include "runtime/error.hpp"

namespace hutch {

using nlohmann::json;

bool Spec::has_new_namespace(const std::string& type) const {
    for (const auto& ns : linux.namespaces)
        if (ns.type == type) return ns.path.empty();
    return false;
}

namespace {

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
        try {
            return j_.at(key).get<T>();
        } catch (const json::exception& e) {
            fail(key, e.what());
        }
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
    return out;
}

Seccomp seccomp_from(const Reader& r) {
    Seccomp sc;
    sc.default_action = r.get<std::string>("defaultAction", "");
    if (sc.default_action.empty()) r.fail("defaultAction", "missing");
    if (r.has("defaultErrnoRet")) sc.default_errno_ret = r.get<std::uint32_t>("defaultErrnoRet", 0);
    sc.architectures = r.get<Strings>("architectures", {});
    sc.flags = r.get<Strings>("flags", {});
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

}  // namespace

json to_json(const Spec& s) {
    json mounts = json::array();
    for (const auto& m : s.mounts) {
        json jm = {{"destination", m.destination}, {"type", m.type}, {"source", m.source}};
        if (!m.options.empty()) jm["options"] = m.options;
        mounts.push_back(jm);
    }
    json namespaces = json::array();
    for (const auto& ns : s.linux.namespaces) {
        json jn = {{"type", ns.type}};
        if (!ns.path.empty()) jn["path"] = ns.path;
        namespaces.push_back(jn);
    }
    json user = {{"uid", s.process.user.uid}, {"gid", s.process.user.gid}};
    if (!s.process.user.additional_gids.empty())
        user["additionalGids"] = s.process.user.additional_gids;

    json linux = {{"namespaces", namespaces},
                  {"maskedPaths", s.linux.masked_paths},
                  {"readonlyPaths", s.linux.readonly_paths}};
    if (!s.linux.rootfs_propagation.empty())
        linux["rootfsPropagation"] = s.linux.rootfs_propagation;
    if (s.linux.seccomp) linux["seccomp"] = seccomp_json(*s.linux.seccomp);

    json extra_hosts = json::array();
    for (const auto& h : s.hutch.extra_hosts)
        extra_hosts.push_back({{"name", h.name}, {"address", h.address}});

    return {
        {"ociVersion", s.oci_version},
        {"process",
         {{"terminal", s.process.terminal},
          {"user", user},
          {"args", s.process.args},
          {"env", s.process.env},
          {"cwd", s.process.cwd},
          {"capabilities", caps_json(s.process.capabilities)},
          {"noNewPrivileges", s.process.no_new_privileges}}},
        {"root", {{"path", s.root.path}, {"readonly", s.root.readonly}}},
        {"hostname", s.hostname},
        {"mounts", mounts},
        {"linux", linux},
        {"hutch",
         {{"name", s.hutch.name},
          {"network", s.hutch.network},
          {"ip", s.hutch.ip},
          {"networkAliases", s.hutch.network_aliases},
          {"autoRemove", s.hutch.auto_remove},
          {"detach", s.hutch.detach},
          {"joinedContainers", s.hutch.joined_containers},
          {"interactive", s.hutch.interactive},
          {"privileged", s.hutch.privileged},
          {"hostDevices", s.hutch.host_devices},
          {"hostShm", s.hutch.host_shm},
          {"extraHosts", extra_hosts},
          {"dns", s.hutch.dns},
          {"dnsSearch", s.hutch.dns_search},
          {"dnsOptions", s.hutch.dns_options}}},
    };
}

Spec spec_from_json(const json& j) {
    Reader top(j, "config");
    if (!j.is_object()) throw UsageError("config: must be a JSON object");
    Spec s;
    s.oci_version = top.get<std::string>("ociVersion", s.oci_version);

    Reader p = top.at("process");
    s.process.terminal = p.get("terminal", false);
    if (p.has("user")) {
        Reader u = p.at("user");
        s.process.user.uid = u.id("uid");
        s.process.user.gid = u.id("gid");
        for (const auto& g : u.get<std::vector<std::int64_t>>("additionalGids", {})) {
            if (g < 0 || g >= 0xffffffffLL) u.fail("additionalGids", "must hold integers from 0 to 4294967294");
            s.process.user.additional_gids.push_back(static_cast<std::uint32_t>(g));
        }
    }
    s.process.args = p.get<Strings>("args", {});
    s.process.env = p.get<Strings>("env", {});
    s.process.cwd = p.get<std::string>("cwd", "/");
    if (p.has("capabilities")) s.process.capabilities = caps_from(p.at("capabilities"));
    s.process.no_new_privileges = p.get("noNewPrivileges", false);

    Reader r = top.at("root");
    s.root.path = r.get<std::string>("path", "");
    s.root.readonly = r.get("readonly", false);
    s.hostname = top.get<std::string>("hostname", "");

    top.each("mounts", [&](const Reader& m) {
        s.mounts.push_back({m.get<std::string>("destination", ""), m.get<std::string>("type", ""),
                            m.get<std::string>("source", ""), m.get<Strings>("options", {})});
    });
    if (top.has("linux")) {
        Reader l = top.at("linux");
        l.each("namespaces", [&](const Reader& n) {
            s.linux.namespaces.push_back(
                {n.get<std::string>("type", ""), n.get<std::string>("path", "")});
        });
        s.linux.masked_paths = l.get<Strings>("maskedPaths", {});
        s.linux.readonly_paths = l.get<Strings>("readonlyPaths", {});
        s.linux.rootfs_propagation = l.get<std::string>("rootfsPropagation", "");
        if (l.has("seccomp")) s.linux.seccomp = seccomp_from(l.at("seccomp"));
    }
    if (top.has("hutch")) {
        Reader h = top.at("hutch");
        s.hutch.name = h.get<std::string>("name", "");
        s.hutch.network = h.get<std::string>("network", "bridge");
        s.hutch.ip = h.get<std::string>("ip", "");
        s.hutch.network_aliases = h.get<Strings>("networkAliases", {});
        s.hutch.auto_remove = h.get("autoRemove", false);
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
    }
    return s;
}

}  // namespace hutch
