#include "runtime/oci/state.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/freezer.hpp"
#include "runtime/proc_stat.hpp"
#include "runtime/state.hpp"

namespace hutch::oci {

using nlohmann::json;

State StateRoot::load(const std::string& id) const {
    validate_id(id);
    std::string text;
    try {
        text = read_file(file(id, "state.json"));
    } catch (const SysError& e) {
        if (e.error_number() == ENOENT) throw UsageError("container " + id + " does not exist");
        throw;
    }
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw Error("container " + id + ": " + file(id, "state.json") + " is corrupt");
    State s;
    s.id = j.value("id", id);
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.pid = j.value("pid", 0);
    s.pid_start_time = j.value("pidStartTime", 0ULL);
    s.created = j.value("created", "");
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    s.cgroups = j.value("cgroups", std::vector<std::string>{});
    s.cgroup_parents = j.value("cgroupParents", std::vector<std::string>{});
    s.creating = j.value("creating", false);
    s.creator_pid = j.value("creatorPid", 0);
    s.creator_start_time = j.value("creatorStartTime", 0ULL);
    return s;
}

void StateRoot::save(const State& s) const {
    json j = {{"id", s.id},           {"bundle", s.bundle}, {"rootfs", s.rootfs}, {"pid", s.pid}, {"pidStartTime", s.pid_start_time},
              {"created", s.created}, {"annotations", s.annotations}, {"cgroups", s.cgroups}, {"cgroupParents", s.cgroup_parents}};
    if (s.creating) {
        j["creating"] = true;
        j["creatorPid"] = s.creator_pid;
        j["creatorStartTime"] = s.creator_start_time;
    }
    write_file_atomic(file(s.id, "state.json"), j.dump(2) + "\n", 0600, Durability::kRuntime);
}

std::vector<std::string> StateRoot::ids() const {
    std::vector<std::string> out;
    DIR* d = ::opendir(root_.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || name == "seccomp") continue;
        if (::access((root_ + "/" + name + "/state.json").c_str(), F_OK) == 0) out.push_back(name);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

void validate_id(const std::string& id) {
    bool ok = !id.empty() && id.size() <= 1024 && id != "." && id != "..";
    for (char c : id)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.');
    if (!ok) {
        std::string shown;
        for (char c : id) shown += (static_cast<unsigned char>(c) < 0x20 ? '?' : c);
        throw UsageError("invalid container id \"" + shown + "\": use letters, digits, '_', '+', '-' and '.'");
    }
}

unsigned long long live_start_time(pid_t pid) {
    const ProcStat stat(pid);
    if (!stat.exists() || stat.field(3) == "Z" || stat.field(3) == "X") return 0;
    return std::strtoull(stat.field(22).c_str(), nullptr, 10);
}

bool process_alive(const State& state) {
    return state.pid > 0 && live_start_time(state.pid) == state.pid_start_time && state.pid_start_time != 0;
}

bool aborted_create(const State& state) {
    if (!state.creating) return false;
    return state.creator_start_time == 0 || live_start_time(state.creator_pid) != state.creator_start_time;
}

std::string status_of(const StateRoot& root, const State& state) {
    if (state.creating) return aborted_create(state) ? "stopped" : "creating";
    if (!process_alive(state)) return "stopped";
    if (::access(root.file(state.id, "exec.fifo").c_str(), F_OK) == 0) return "created";
    std::string freezer = freezer_of(state.cgroups);
    return !freezer.empty() && is_frozen(freezer) ? "paused" : "running";
}

json state_json(const State& s, const std::string& status) {
    json j = {{"ociVersion", "1.0.2"}, {"id", s.id},         {"status", status},
              {"pid", status == "stopped" ? 0 : s.pid}, {"bundle", s.bundle}, {"rootfs", s.rootfs},
              {"created", s.created}};
    j["annotations"] = s.annotations.empty() ? json::object() : json(s.annotations);
    return j;
}

}  // namespace hutch::oci
