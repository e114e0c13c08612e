#include "runtime/devices.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <tuple>

#include "runtime/cgroup.hpp"
#include "runtime/error.hpp"
#include "runtime/validate.hpp"

namespace hutch::devices {
namespace {

std::string number_string(const std::optional<std::int64_t>& n) {
    return n && *n >= 0 ? std::to_string(*n) : std::string("*");
}

std::string number_string(std::int64_t n) { return n >= 0 ? std::to_string(n) : std::string("*"); }

DeviceRule rule(bool allow, const char* type, std::optional<std::int64_t> major, std::optional<std::int64_t> minor,
                const char* access = "rwm") {
    return DeviceRule{allow, type, major, minor, access};
}

// The emulated devices cgroup, keyed as the kernel merges exceptions: by type and numbers.
struct Emulator {
    // runc's emulator starts as an allow-list (a fresh v1 cgroup allows all, but runc writes "a"
    // to devices.deny before the rules): rules that never say "a" only grant.
    bool default_allow = false;
    std::map<std::tuple<char, std::int64_t, std::int64_t>, unsigned> exceptions;

    void add(const Exception& e) { exceptions[{e.type, e.major, e.minor}] |= e.access; }

    // Removes `e.access` from the exception with exactly these numbers (dev_exception_rm). The
    // kernel ignores a removal that a wildcard exception still covers; refused instead.
    void remove(const Exception& e, const std::string& shown) {
        const std::tuple<char, std::int64_t, std::int64_t> partial[] = {
            {e.type, kWildcard, e.minor}, {e.type, e.major, kWildcard}, {e.type, kWildcard, kWildcard}};
        for (const auto& key : partial) {
            if (key == std::tuple{e.type, e.major, e.minor}) continue;
            auto it = exceptions.find(key);
            if (it != exceptions.end() && (it->second & e.access))
                throw UsageError(shown + ": cgroup v1 cannot take " + access_string(it->second & e.access) +
                                 " away from part of the earlier rule \"" +
                                 exception_string({std::get<0>(key), std::get<1>(key), std::get<2>(key), it->second}) +
                                 "\" (it would silently keep allowing it)");
        }
        auto it = exceptions.find({e.type, e.major, e.minor});
        if (it == exceptions.end()) return;
        it->second &= ~e.access;
        if (it->second == 0) exceptions.erase(it);
    }

    void apply(const DeviceRule& r, const Exception& e, const std::string& shown) {
        if (r.type == "a") {
            // Any "a" line resets the cgroup, whatever numbers or access it names.
            default_allow = r.allow;
            exceptions.clear();
            return;
        }
        // On a deny-all cgroup exceptions are what is allowed, on an allow-all one what is denied.
        if (r.allow != default_allow) add(e);
        else remove(e, shown);
    }
};

// A rule's number: none or -1 is every number; anything else must fit dev_t's u32 halves.
std::int64_t checked_number(const std::optional<std::int64_t>& n, const char* what, const std::string& shown) {
    if (!n || *n == kWildcard) return kWildcard;
    if (*n < 0 || *n > std::numeric_limits<std::uint32_t>::max())
        throw UsageError(shown + ": " + what + " " + std::to_string(*n) + " is not a device number (0-4294967295 or -1 for all)");
    return *n;
}

bool number_matches(std::int64_t rule, std::uint32_t actual) { return rule == kWildcard || rule == actual; }

}  // namespace

std::optional<unsigned> parse_access(const std::string& text) {
    if (text.empty()) return std::nullopt;
    unsigned bits = 0;
    for (char c : text) {
        if (c == 'r') bits |= kRead;
        else if (c == 'w') bits |= kWrite;
        else if (c == 'm') bits |= kMknod;
        else return std::nullopt;
    }
    return bits;
}

std::string access_string(unsigned access) {
    std::string out;
    if (access & kRead) out += 'r';
    if (access & kWrite) out += 'w';
    if (access & kMknod) out += 'm';
    return out;
}

bool Policy::allows(char type, std::uint32_t major, std::uint32_t minor, unsigned access) const {
    for (const auto& e : exceptions) {
        if (e.type != type || !number_matches(e.major, major) || !number_matches(e.minor, minor)) continue;
        // devcgroup_legacy_check_permission: a deny-all cgroup needs one exception covering the
        // whole access; an allow-all one refuses as soon as an exception shares any of it.
        if (!default_allow && (access & ~e.access) == 0) return true;
        if (default_allow && (access & e.access) != 0) return false;
    }
    return default_allow;
}

std::string rule_string(const DeviceRule& r) {
    if (r.type == "a") return "a *:* " + (r.access.empty() ? std::string("rwm") : r.access);
    return r.type + " " + number_string(r.major) + ":" + number_string(r.minor) + " " + r.access;
}

std::string describe(const DeviceRule& r) { return (r.allow ? "allow " : "deny ") + rule_string(r); }

std::string exception_string(const Exception& e) {
    return std::string(1, e.type) + " " + number_string(e.major) + ":" + number_string(e.minor) + " " +
           access_string(e.access);
}

Policy normalise(const std::vector<DeviceRule>& rules, const std::string& where) {
    Emulator emulator;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const DeviceRule& r = rules[i];
        std::string shown = where + "[" + std::to_string(i) + "] (" + describe(r) + ")";
        if (r.type != "a" && r.type != "c" && r.type != "b")
            throw UsageError(shown + ": type must be a, c or b");
        std::optional<unsigned> access = parse_access(r.access);
        // runc refuses an empty access ("device access cannot be empty"); an "a" rule ignores it.
        if (!access && (r.type != "a" || !r.access.empty()))
            throw UsageError(shown + ": access must be made of r, w and m");
        Exception e{r.type[0], checked_number(r.major, "major", shown), checked_number(r.minor, "minor", shown),
                    access.value_or(kAllAccess)};
        emulator.apply(r, e, shown);
    }
    Policy policy;
    policy.default_allow = emulator.default_allow;
    for (const auto& [key, access] : emulator.exceptions)
        policy.exceptions.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), access});
    // runc's order (by major, minor, type): the same rules always give the same program.
    std::sort(policy.exceptions.begin(), policy.exceptions.end(), [](const Exception& a, const Exception& b) {
        return std::tie(a.major, a.minor, a.type) < std::tie(b.major, b.minor, b.type);
    });
    return policy;
}

std::vector<DeviceRule> docker_default_rules() {
    return {
        rule(false, "a", std::nullopt, std::nullopt),
        rule(true, "c", 1, 5), rule(true, "c", 1, 3), rule(true, "c", 1, 9),
        rule(true, "c", 1, 8), rule(true, "c", 5, 0), rule(true, "c", 5, 1),
        rule(false, "c", 10, 229),
    };
}

std::vector<DeviceRule> privileged_rules() { return {rule(true, "a", std::nullopt, std::nullopt)}; }

std::vector<DeviceRule> container_rules(const LinuxSection& linux) {
    struct Default {
        const char* path;  // the node runc makes for it; "" for a rule alone
        DeviceRule rule;
    };
    static const Default kRuncDefaults[] = {
        {"", rule(true, "c", std::nullopt, std::nullopt, "m")},
        {"", rule(true, "b", std::nullopt, std::nullopt, "m")},
        {"/dev/null", rule(true, "c", 1, 3)},     {"/dev/random", rule(true, "c", 1, 8)},
        {"/dev/full", rule(true, "c", 1, 7)},     {"/dev/tty", rule(true, "c", 5, 0)},
        {"/dev/zero", rule(true, "c", 1, 5)},     {"/dev/urandom", rule(true, "c", 1, 9)},
        {"", rule(true, "c", 136, std::nullopt)},  // /dev/pts/*
        {"", rule(true, "c", 5, 2)},               // /dev/ptmx
        {"", rule(true, "c", 10, 200)},            // /dev/net/tun, kept by runc for compatibility
    };
    std::vector<DeviceRule> out = linux.resources.devices;
    for (const auto& d : kRuncDefaults) {
        bool replaced = *d.path && std::any_of(linux.devices.begin(), linux.devices.end(),
                                               [&](const Device& dev) { return dev.path == d.path; });
        if (!replaced) out.push_back(d.rule);
    }
    return out;
}

Policy container_policy(const LinuxSection& linux) {
    return normalise(container_rules(linux), "linux.resources.devices");
}

DeviceRule parse_cgroup_rule(const std::string& text) {
    auto bad = [&](const char* why) {
        return UsageError("invalid --device-cgroup-rule \"" + text + "\": " + why +
                          " (expected TYPE MAJOR:MINOR ACCESS, e.g. 'c 42:* rmw')");
    };
    auto space = text.find(' '), colon = text.find(':'), last = text.rfind(' ');
    if (space != 1 || colon == std::string::npos || last == space || colon > last) throw bad("bad format");
    DeviceRule r;
    r.allow = true;
    r.type = text.substr(0, 1);
    if (r.type != "a" && r.type != "c" && r.type != "b") throw bad("the type must be a, c or b");
    auto number = [&](const std::string& part) -> std::optional<std::int64_t> {
        if (part == "*") return kWildcard;
        if (part.empty() || part.size() > 10 || part.find_first_not_of("0123456789") != std::string::npos)
            throw bad("major and minor must be numbers or *");
        std::int64_t n = std::stoll(part);
        if (n > std::numeric_limits<std::uint32_t>::max()) throw bad("a device number is out of range");
        return n;
    };
    r.major = number(text.substr(2, colon - 2));
    r.minor = number(text.substr(colon + 1, last - colon - 1));
    r.access = text.substr(last + 1);
    if (r.access.size() > 3 || !parse_access(r.access)) throw bad("the access must be made of r, w and m");
    return r;
}

HostDevice stat_host_device(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw UsageError("invalid --device \"" + path + "\": " + std::strerror(errno));
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        throw UsageError("invalid --device \"" + path + "\": not a character or block device");
    return {S_ISBLK(st.st_mode) ? 'b' : 'c', ::major(st.st_rdev), ::minor(st.st_rdev),
            static_cast<std::uint32_t>(st.st_mode & 07777), st.st_uid, st.st_gid};
}

std::pair<Device, DeviceRule> parse_device_flag(const std::string& value, const HostDeviceLookup& lookup) {
    auto bad = [&](const std::string& why) { return UsageError("invalid --device \"" + value + "\": " + why); };
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        auto colon = value.find(':', start);
        parts.push_back(value.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    if (parts.size() > 3 || parts[0].empty()) throw bad("expected HOST[:CONTAINER][:PERMISSIONS]");
    std::string host = parts[0], container = parts[0], perms = "rwm";
    // docker's parseDevice: a second part that is a valid mode is the mode.
    auto is_mode = [](const std::string& p) {
        return !p.empty() && p.size() <= 3 && parse_access(p) && access_string(*parse_access(p)).size() == p.size();
    };
    if (parts.size() == 2) (is_mode(parts[1]) ? perms : container) = parts[1];
    if (parts.size() == 3) {
        container = parts[1];
        perms = parts[2];
        if (!is_mode(perms)) throw bad("the permissions must be a combination of r, w and m");
    }
    if (host[0] != '/') throw bad("the host path must be absolute");
    HostDevice found = lookup(host);
    container = validate::clean_absolute_path(container, "--device container path");
    // hutch makes nodes only on its own /dev tmpfs (validate_spec's rule for linux.devices).
    if (container.rfind("/dev/", 0) != 0) throw bad("the container path must lie below /dev");
    Device node{container, std::string(1, found.type), found.major, found.minor, found.mode, found.uid, found.gid};
    DeviceRule allow{true, node.type, node.major, node.minor, perms};
    return {node, allow};
}

std::vector<std::pair<std::string, std::string>> v1_writes(const Policy& policy) {
    std::vector<std::pair<std::string, std::string>> out;
    // The opposite of the default's file holds the exceptions.
    const std::string reset = policy.default_allow ? "devices.allow" : "devices.deny";
    const std::string except = policy.default_allow ? "devices.deny" : "devices.allow";
    out.emplace_back(reset, "a");
    for (const auto& e : policy.exceptions) out.emplace_back(except, exception_string(e));
    return out;
}

void apply_v1(const std::string& dir, const Policy& policy) {
    for (const auto& [file, line] : v1_writes(policy))
        write_cgroup_file(dir + "/" + file, line, "apply the device policy");
}

}  // namespace hutch::devices
