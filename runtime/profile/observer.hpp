// The observer of `hutch profile`'s profiled run (runtime/launch.hpp's RunObserver hook points):
// it sets up the private tracefs instance when the container is cloned, takes the seccomp
// listener (or the kernel log) for the system calls, and lists the upper dir before the command
// and after it to find what the run wrote. profile.cpp runs it and reads what it found.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "caps/least_privilege.hpp"
#include "runtime/error.hpp"
#include "runtime/launch.hpp"
#include "runtime/profile/notify.hpp"
#include "runtime/profile/tracefs.hpp"
#include "runtime/profile/usage.hpp"

namespace hutch::profile {

constexpr const char* kCapEvent = "capability/cap_capable";

// One entry of an overlay upper dir: enough to tell whether the run changed it.
struct UpperEntry {
    std::string signature;  // type mode uid gid size mtime ctime
    bool whiteout = false;  // a removal: char device 0:0
    bool dir = false;
};
using UpperTree = std::map<std::string, UpperEntry>;

// The observer of the profiled run (runtime/launch.hpp's hook points).
class Observer : public RunObserver {
public:
    enum class Calls { kNotify, kTrace, kLog };
    Observer(const tracefs::Root* trace_root, Calls calls, caps::CapSet effective, std::string instance_name,
             std::string lower)
        : trace_root_(trace_root), calls_(calls), effective_(effective), instance_name_(std::move(instance_name)),
          lower_(std::move(lower)) {}

    std::optional<seccomp::Program> listener_filter() override;
    void cloned(pid_t pid) override;
    void listener(Fd fd, const std::string& upper_dir) override;
    void exited(int, const std::string& upper_dir) override;
    // Memory and pids are accounted (no limit unless the user gave one): usage() has the peaks.
    bool accounting() const override { return true; }
    void cgroups(const std::vector<std::string>& dirs) override { meter_.start(dirs); }

    pid_t init_pid() const { return init_pid_; }
    // Why the listener's thread stopped answering early, if it did: the run's calls are not all
    // known (and its calls from then on failed with ENOSYS).
    const std::optional<SysError>& supervisor_error() const { return supervisor_error_; }
    CapFindings cap_findings() const { return analyzer_ ? analyzer_->finish() : CapFindings{}; }
    const std::vector<Notification>& notifications() const { return notifications_; }
    const std::vector<std::string>& writes() const { return writes_; }
    bool writes_known() const { return writes_known_; }
    long lost_events() const { return lost_; }
    const ResourceUsage& usage() const { return usage_; }
    std::uint64_t missing_log_records() const { return missing_; }

private:
    const tracefs::Root* trace_root_;
    Calls calls_;
    std::optional<notify::KernelLog> kernel_log_;
    std::uint64_t missing_ = 0;
    caps::CapSet effective_;
    std::string instance_name_, lower_;
    pid_t init_pid_ = 0;
    std::unique_ptr<CapAnalyzer> analyzer_;
    std::optional<tracefs::Instance> instance_;
    std::optional<notify::Supervisor> supervisor_;
    std::optional<SysError> supervisor_error_;
    std::vector<Notification> notifications_;
    UpperTree before_;
    std::vector<std::string> writes_;
    bool writes_known_ = false;
    long lost_ = 0;
    UsageMeter meter_;
    ResourceUsage usage_;
};

}  // namespace hutch::profile
