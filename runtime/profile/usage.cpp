#include "runtime/profile/usage.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "runtime/cgroup.hpp"

namespace hutch::profile {
namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// A cgroup counter; none when it cannot be read or is not a number.
std::optional<std::int64_t> counter(const std::string& file) {
    std::string text = read_cgroup_file(file);
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (*end != '\0' || v < 0) return std::nullopt;
    return v;
}

}  // namespace

void UsageMeter::start(const std::vector<std::string>& dirs) {
    for (const auto& dir : dirs) {
        if (memory_file_.empty() && exists(dir + "/memory.peak")) {
            memory_file_ = dir + "/memory.peak";
            memory_source_ = "memory.peak";
        } else if (memory_file_.empty() && exists(dir + "/memory.max_usage_in_bytes")) {
            memory_file_ = dir + "/memory.max_usage_in_bytes";
            memory_source_ = "memory.max_usage_in_bytes, cgroup v1";
        }
        if (exists(dir + "/pids.peak")) {
            pids_file_ = dir + "/pids.peak";
            pids_source_ = "pids.peak";
        } else if (pids_file_.empty() && exists(dir + "/pids.current")) {
            pids_file_ = dir + "/pids.current";
            pids_source_ = "pids.current sampled every 5 ms: this kernel keeps no pids.peak, a shorter-lived process may be missed";
        }
    }
    if (pids_file_.empty() || pids_file_.ends_with("/pids.peak")) return;
    sampling_ = true;
    sampler_ = std::thread([this] {
        while (!stop_.load()) {
            if (auto n = counter(pids_file_))
                if (*n > sampled_peak_.load()) sampled_peak_.store(*n);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
}

void UsageMeter::stop_sampling() {
    if (!sampler_.joinable()) return;
    stop_.store(true);
    sampler_.join();
}

ResourceUsage UsageMeter::finish() {
    stop_sampling();
    ResourceUsage u;
    if (memory_file_.empty()) u.memory_source = "the container has no memory cgroup on this host";
    else if ((u.memory_peak = counter(memory_file_))) u.memory_source = memory_source_;
    else u.memory_source = memory_file_ + " could not be read";
    if (pids_file_.empty()) u.pids_source = "the container has no pids cgroup on this host";
    else if (sampling_) {
        if (sampled_peak_.load() > 0) u.pids_peak = sampled_peak_.load();
        u.pids_source = u.pids_peak ? pids_source_ : "no sample of " + pids_file_ + " saw the run";
    } else if ((u.pids_peak = counter(pids_file_))) {
        u.pids_source = pids_source_;
    } else {
        u.pids_source = pids_file_ + " could not be read";
    }
    return u;
}

}  // namespace hutch::profile
