// hutch-probe's view of its own process (gather.hpp): /proc/self/ns, the ids and id maps, the
// capability sets and the seccomp state from /proc/self/status.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <map>

#include "caps/probe/gather.hpp"

namespace hutch::probe {
namespace {

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        std::size_t start = i;
        while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

struct Status {
    std::map<std::string, std::string> fields;
    int err = 0;
};

const Status& status() {
    static const Status s = [] {
        Status out;
        Text t = read_file("/proc/self/status");
        if (t.text) out.fields = parse_status(*t.text);
        else out.err = t.err;
        return out;
    }();
    return s;
}

}  // namespace

Text read_file(const char* path) {
    Text out;
    int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        out.err = errno;
        return out;
    }
    std::string data;
    char buf[8192];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            out.err = errno;
            ::close(fd);
            return out;
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    out.text = std::move(data);
    return out;
}

std::optional<std::string> read_link(const char* path, int* err) {
    char buf[4096];
    ssize_t n = ::readlink(path, buf, sizeof buf - 1);
    if (n < 0) {
        if (err) *err = errno;
        return std::nullopt;
    }
    return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::string> status_field(const char* name) {
    auto it = status().fields.find(name);
    if (it == status().fields.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint64_t> effective_caps() {
    if (auto v = status_field("CapEff")) return parse_hex(*v);
    return std::nullopt;
}

std::vector<NsInfo> gather_namespaces() {
    std::vector<NsInfo> out;
    for (const char* kind : {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                             "user", "uts"}) {
        NsInfo ns{kind, std::nullopt, 0};
        std::string path = std::string("/proc/self/ns/") + kind;
        if (auto link = read_link(path.c_str(), &ns.err)) {
            ns.inode = ns_inode(*link);
            if (!ns.inode) ns.err = EINVAL;
        }
        out.push_back(std::move(ns));
    }
    return out;
}

Ids gather_ids() {
    Ids ids;
    ids.status_err = status().err;
    if (auto v = status_field("Uid")) ids.uid = words(*v);
    if (auto v = status_field("Gid")) ids.gid = words(*v);
    if (auto v = status_field("Groups")) ids.groups = words(*v);
    Text t = read_file("/proc/self/uid_map");
    if (t.text) ids.uid_map = parse_id_map(*t.text);
    else ids.uid_map_err = t.err;
    t = read_file("/proc/self/gid_map");
    if (t.text) ids.gid_map = parse_id_map(*t.text);
    else ids.gid_map_err = t.err;
    t = read_file("/proc/self/setgroups");
    if (t.text) ids.setgroups = words(*t.text).empty() ? "" : words(*t.text)[0];
    else ids.setgroups_err = t.err;
    return ids;
}

Caps gather_caps() {
    Caps caps;
    for (const char* f : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
        CapSet set{f, std::nullopt};
        if (auto v = status_field(f)) set.value = parse_hex(*v);
        caps.sets.push_back(set);
    }
    Text t = read_file("/proc/sys/kernel/cap_last_cap");
    if (t.text) caps.last_cap = parse_int(*t.text);
    return caps;
}

Seccomp gather_seccomp() {
    Seccomp s;
    if (auto v = status_field("NoNewPrivs")) s.no_new_privs = parse_int(*v);
    if (auto v = status_field("Seccomp")) s.mode = parse_int(*v);
    if (auto v = status_field("Seccomp_filters")) s.filters = parse_int(*v);
    return s;
}

}  // namespace hutch::probe
