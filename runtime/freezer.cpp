#include "runtime/freezer.hpp"

#include <unistd.h>

#include <ctime>

#include "runtime/cgroup.hpp"
#include "runtime/error.hpp"

namespace hutch {
namespace {

bool is_v2(const std::string& freezer) { return freezer.size() > 14 && freezer.ends_with("/cgroup.freeze"); }

// Whether the kernel finished what `freezer` was asked for.
bool settled(const std::string& freezer, bool frozen) {
    if (is_v2(freezer)) {
        std::string events = "\n" + read_cgroup_file(freezer.substr(0, freezer.size() - 14) + "/cgroup.events") + "\n";
        return events.find(frozen ? "\nfrozen 1\n" : "\nfrozen 0\n") != std::string::npos;
    }
    return read_cgroup_file(freezer) == (frozen ? "FROZEN" : "THAWED");
}

void request(const std::string& freezer, bool frozen) {
    write_cgroup_file(freezer, is_v2(freezer) ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED"),
                      frozen ? "pause the container" : "resume the container");
}

}  // namespace

std::string freezer_of(const std::vector<std::string>& cgroups) {
    for (const auto& dir : cgroups)
        if (::access((dir + "/cgroup.freeze").c_str(), F_OK) == 0) return dir + "/cgroup.freeze";
    for (const auto& dir : cgroups)
        if (::access((dir + "/freezer.state").c_str(), F_OK) == 0) return dir + "/freezer.state";
    return "";
}

void set_frozen(const std::string& freezer, bool frozen) {
    request(freezer, frozen);
    for (int i = 0; i < 2000; ++i) {
        if (settled(freezer, frozen)) return;
        timespec tick{0, 1'000'000};
        ::nanosleep(&tick, nullptr);
    }
    if (frozen) request(freezer, false);  // half frozen is neither state: back to running
    throw Error(std::string(frozen ? "pause" : "resume") + " the container: " + freezer + " did not settle within 2 s");
}

bool is_frozen(const std::string& freezer) {
    if (is_v2(freezer)) return read_cgroup_file(freezer) == "1";
    std::string state = read_cgroup_file(freezer);
    return state == "FROZEN" || state == "FREEZING";
}

}  // namespace hutch
