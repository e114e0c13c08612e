#include "caps/audit_devices.hpp"

#include <algorithm>

#include "runtime/devices.hpp"
#include "runtime/error.hpp"

namespace hutch::audit {
namespace {

const char* kId = "5.17 host-devices";
const char* kWhy = "a device node reaches the host's hardware or kernel directly, past namespaces and file permissions";

// Whether Docker's default allow-list already grants everything `e` grants.
bool docker_grants(const devices::Exception& e) {
    static const devices::Policy docker = [] {
        LinuxSection l;
        l.resources.devices = devices::docker_default_rules();
        return devices::container_policy(l);
    }();
    return std::any_of(docker.exceptions.begin(), docker.exceptions.end(), [&](const devices::Exception& d) {
        return d.type == e.type && (d.major == devices::kWildcard || d.major == e.major) &&
               (d.minor == devices::kWildcard || d.minor == e.minor) && (e.access & ~d.access) == 0;
    });
}

std::string node_of(const Device& d) {
    return d.type + " " + std::to_string(d.major) + ":" + std::to_string(d.minor);
}

// The --device that made `e`, if any: a node of linux.devices with its numbers.
const Device* node_for(const Spec& spec, const devices::Exception& e) {
    for (const auto& d : spec.linux.devices)
        if (d.type == std::string(1, e.type) && d.major == e.major && d.minor == e.minor) return &d;
    return nullptr;
}

Finding make(Level level, std::string title, std::string fix, std::vector<std::string> details = {}) {
    return {kId, level, std::move(title), kWhy, std::move(fix), std::move(details)};
}

}  // namespace

std::vector<Finding> device_findings(const Spec& spec) {
    devices::Policy policy;
    try {
        policy = devices::container_policy(spec.linux);
    } catch (const UsageError& e) {
        return {make(Level::kWarn, std::string("device rules hutch refuses: ") + e.what(),
                     "fix linux.resources.devices")};
    }
    if (policy.default_allow) {
        std::vector<std::string> denied;
        for (const auto& e : policy.exceptions) denied.push_back(devices::exception_string(e));
        return {make(Level::kWarn,
                     denied.empty() ? "every device allowed (a *:* rwm)"
                                    : "every device allowed but " + std::to_string(denied.size()) + " denied",
                     spec.hutch.privileged ? "remove --privileged" : "remove the \"a\" allow rule", denied)};
    }
    std::vector<Finding> out;
    for (const auto& e : policy.exceptions) {
        if (docker_grants(e)) continue;
        const bool opens = e.access & (devices::kRead | devices::kWrite);
        const bool wide = e.major == devices::kWildcard || e.minor == devices::kWildcard;
        if (const Device* node = node_for(spec, e)) {
            bool block = e.type == 'b' && opens;
            out.push_back(make(block ? Level::kWarn : Level::kInfo,
                               std::string(block ? "host block device " : "host device ") + node->path + " (" +
                                   node_of(*node) + ", " + devices::access_string(e.access) + ")",
                               "remove --device " + node->path,
                               {block ? "raw access to a host disk: every file on it, whatever its permissions"
                                      : "check the driver behind it is safe to share"}));
            continue;
        }
        bool warn = opens && (wide || e.type == 'b');
        out.push_back(make(warn ? Level::kWarn : Level::kInfo,
                           std::string(warn ? "wide device rule " : "device rule ") + devices::exception_string(e),
                           "remove --device-cgroup-rule '" + devices::exception_string(e) + "'",
                           {wide ? "matches every device of that kind and number range, present and future"
                                 : "one named device beyond Docker's list"}));
    }
    if (out.empty())
        out.push_back(make(Level::kPass, "Docker's device allow-list", "no --device, --device-cgroup-rule or --privileged",
                           {"mknod of any node; open of null zero full random urandom tty console ptmx pts tun"}));
    return out;
}

}  // namespace hutch::audit
