// What hutch-probe reads, section by section: the process's own view in /proc/self
// (process.cpp: namespaces, ids, capabilities, seccomp) and the mount table with the runtime it
// points to (mounts.cpp). Reading only: nothing here changes anything. The printers
// (print_text.cpp, print_json.cpp) turn these into the report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caps/probe/probe_lib.hpp"

namespace hutch::probe {

constexpr const char* kProbePath = "/dev/.hutch-probe";  // where `hutch run --probe` binds us

// ---- reading the system ------------------------------------------------------------------------

struct Text {
    std::optional<std::string> text;
    int err = 0;
};

Text read_file(const char* path);
std::optional<std::string> read_link(const char* path, int* err = nullptr);

// The fields of /proc/self/status (read once), and CapEff parsed.
std::optional<std::string> status_field(const char* name);
std::optional<std::uint64_t> effective_caps();

// ---- the sections ------------------------------------------------------------------------------

struct NsInfo {
    std::string kind;
    std::optional<std::uint64_t> inode;
    int err = 0;
};

std::vector<NsInfo> gather_namespaces();

struct Ids {
    std::vector<std::string> uid, gid, groups;  // from /proc/self/status
    std::optional<std::vector<IdMapLine>> uid_map, gid_map;
    std::optional<std::string> setgroups;
    int status_err = 0, uid_map_err = 0, gid_map_err = 0, setgroups_err = 0;
};

Ids gather_ids();

struct CapSet {
    std::string field;  // CapInh ...
    std::optional<std::uint64_t> value;
};

struct Caps {
    std::vector<CapSet> sets;
    std::optional<long long> last_cap;
};

Caps gather_caps();

struct Seccomp {
    std::optional<long long> no_new_privs, mode, filters;
};

Seccomp gather_seccomp();

struct Masked {
    std::string path, by;
};

struct Mounts {
    int err = 0;
    std::optional<MountEntry> root;
    std::vector<std::string> read_only;
    std::vector<Masked> masked;
    std::optional<std::string> probe_mount;  // this program's own bind mount, left out of the lists
    std::vector<MountEntry> all;
};

Mounts gather_mounts();

struct Runtime {
    std::string hostname, domainname;
    std::string name = "unknown";
    std::vector<std::string> evidence;
    std::string exe;
};

Runtime gather_runtime(const Mounts& mounts);

}  // namespace hutch::probe
