#include "runtime/stats_sample.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "runtime/fd.hpp"

namespace hutch::stats {
namespace {

constexpr size_t kSmallFile = 64 * 1024;   // a cgroup control file, /proc/PID/smaps_rollup
constexpr size_t kLargeFile = 1 << 20;     // /proc/stat on many CPUs, net/dev with many interfaces
constexpr size_t kMaxProcesses = 4096;     // memory summed over at most this many processes
constexpr int kMaxDepth = 8;               // cgroups below the container's, walked for PIDs

// At most `limit` bytes of a kernel file, never through a symlink; nullopt when it cannot be
// opened or read (gone: the container ended, or the controller is not there).
std::optional<std::string> read_bounded(const std::string& path, size_t limit = kSmallFile) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) return std::nullopt;
    std::string out;
    char buf[8192];
    while (out.size() < limit) {
        ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, limit - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

// The first of `dirs` holding `file`, with its contents.
std::optional<std::pair<std::string, std::string>> first_with(const std::vector<std::string>& dirs,
                                                              const std::string& file) {
    for (const auto& dir : dirs)
        if (auto text = read_bounded(dir + "/" + file)) return std::make_pair(dir, *text);
    return std::nullopt;
}

std::optional<std::uint64_t> cpu_ns(const std::vector<std::string>& dirs) {
    if (auto stat = first_with(dirs, "cpu.stat"))
        if (auto usec = keyed_value(stat->second, "usage_usec")) return *usec * 1000;
    if (auto usage = first_with(dirs, "cpuacct.usage")) return parse_number(usage->second);
    return std::nullopt;
}

// The cgroup `dir` and those below it (a container may make its own), at most kMaxDepth deep.
void cgroup_tree(const std::string& dir, int depth, std::vector<std::string>& out) {
    out.push_back(dir);
    if (depth >= kMaxDepth) return;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = ::readdir(d))
        if (e->d_type == DT_DIR && e->d_name[0] != '.') cgroup_tree(dir + "/" + e->d_name, depth + 1, out);
    ::closedir(d);
}

// The ids listed one a line in `file` of each cgroup of the tree at `dir`.
std::vector<long> listed_ids(const std::string& dir, const char* file) {
    std::vector<std::string> tree;
    cgroup_tree(dir, 0, tree);
    std::vector<long> ids;
    for (const auto& cg : tree) {
        auto text = read_bounded(cg + "/" + file, kLargeFile);
        if (!text) continue;
        size_t pos = 0;
        while (pos < text->size() && ids.size() < kMaxProcesses * 16) {
            size_t nl = text->find('\n', pos);
            if (nl == std::string::npos) nl = text->size();
            if (auto id = parse_number(std::string_view(*text).substr(pos, nl - pos))) ids.push_back(static_cast<long>(*id));
            pos = nl + 1;
        }
    }
    return ids;
}

// Memory of a container with no memory cgroup: the Pss of each of its processes (pages shared
// between them counted once, in shares), else its RSS from statm. A process that exits in
// between simply adds nothing.
std::uint64_t process_memory(const std::string& cgroup) {
    std::uint64_t total = 0;
    auto pids = listed_ids(cgroup, "cgroup.procs");  // v1 and cgroup2 alike
    if (pids.size() > kMaxProcesses) pids.resize(kMaxProcesses);
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    for (long pid : pids) {
        std::string proc = "/proc/" + std::to_string(pid);
        if (auto rollup = read_bounded(proc + "/smaps_rollup"))
            if (auto pss = kb_field(*rollup, "Pss")) {
                total += *pss;
                continue;
            }
        if (auto statm = read_bounded(proc + "/statm")) {
            auto space = statm->find(' ');
            if (space != std::string::npos)
                if (auto rss = parse_number(std::string_view(*statm).substr(space + 1, statm->find(' ', space + 1) - space - 1)))
                    total += *rss * page;
        }
    }
    return total;
}

void read_memory(const std::string& primary, const std::vector<std::string>& dirs, const HostFacts& host,
                 Sample& s) {
    std::optional<std::uint64_t> limit;
    if (auto usage = first_with(dirs, "memory.usage_in_bytes")) {  // v1
        s.memory = memory_without_cache(parse_number(usage->second).value_or(0),
                                        read_bounded(usage->first + "/memory.stat").value_or(""));
        limit = parse_number(read_bounded(usage->first + "/memory.limit_in_bytes").value_or(""));
    } else if (auto current = first_with(dirs, "memory.current")) {  // cgroup2
        s.memory = memory_without_cache(parse_number(current->second).value_or(0),
                                        read_bounded(current->first + "/memory.stat").value_or(""));
        limit = parse_number(read_bounded(current->first + "/memory.max").value_or(""));  // "max": none
    } else if (!primary.empty()) {
        s.memory = process_memory(primary);
    }
    // Docker's daemon: a limit above the machine's memory (unlimited) is shown as the machine's.
    s.memory_limit = limit && (*limit < host.mem_total || host.mem_total == 0) ? *limit : host.mem_total;
}

std::uint64_t read_pids(const std::string& primary, const std::vector<std::string>& dirs) {
    if (auto current = first_with(dirs, "pids.current")) return parse_number(current->second).value_or(0);
    if (primary.empty()) return 0;
    // pids.current counts tasks (threads), so the fallback counts threads too: cgroup2 lists
    // them in cgroup.threads, v1 in tasks.
    bool v2 = read_bounded(primary + "/cgroup.threads").has_value();
    return listed_ids(primary, v2 ? "cgroup.threads" : "tasks").size();
}

ReadWrite read_block(const std::vector<std::string>& dirs) {
    if (auto v1 = first_with(dirs, "blkio.throttle.io_service_bytes_recursive")) return parse_blkio_service_bytes(v1->second);
    if (auto v2 = first_with(dirs, "io.stat")) return parse_io_stat(v2->second);
    return {};
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The container's interfaces, read through its first process. The pid is pinned with a pidfd
// taken while the supervisor holds the container's lock (so it is the container's, not a
// recycled one) and checked alive after the read: a process that ended in between gives
// nothing rather than someone else's counters.
std::optional<ReadWrite> read_net(const Paths& paths, const ContainerState& state) {
    if (state.pid <= 0) return ReadWrite{};
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, state.pid, 0)));
    if (!pidfd || !container_running(paths, state.id)) return std::nullopt;
    std::string proc = "/proc/" + std::to_string(state.pid);
    // --network host: Docker reports no interfaces of the container's own.
    if (same_file(proc + "/ns/net", "/proc/self/ns/net")) return ReadWrite{};
    auto text = read_bounded(proc + "/net/dev", kLargeFile);
    pollfd p{pidfd.get(), POLLIN, 0};
    if (!text || ::poll(&p, 1, 0) != 0) return std::nullopt;  // readable pidfd: it has exited
    return parse_net_dev(*text);
}

}  // namespace

HostFacts host_facts() {
    HostFacts host;
    host.mem_total = parse_mem_total(read_bounded("/proc/meminfo").value_or("")).value_or(0);
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    host.online_cpus = cpus > 0 ? static_cast<unsigned>(cpus) : 1;
    long ticks = ::sysconf(_SC_CLK_TCK);
    host.ticks_per_second = ticks > 0 ? ticks : 100;
    return host;
}

std::uint64_t system_cpu_ns(const HostFacts& host) {
    return parse_system_cpu_ns(read_bounded("/proc/stat", kLargeFile).value_or(""), host.ticks_per_second).value_or(0);
}

Sample sample(const Paths& paths, const ContainerState& state, const HostFacts& host) {
    Sample s;
    std::vector<std::string> dirs;
    if (!state.cgroup.empty()) dirs.push_back(state.cgroup);
    dirs.insert(dirs.end(), state.limit_cgroups.begin(), state.limit_cgroups.end());
    s.system_ns = system_cpu_ns(host);
    s.cpu_ns = cpu_ns(dirs);
    read_memory(state.cgroup, dirs, host, s);
    s.pids = read_pids(state.cgroup, dirs);
    s.block = read_block(dirs);
    auto net = read_net(paths, state);
    // The container ended while it was read: its cgroup is gone (or its first process is), and
    // what was read is partial. Docker shows "--" then.
    bool cgroup_gone = !state.cgroup.empty() && !read_bounded(state.cgroup + "/cgroup.procs").has_value();
    if (!net || cgroup_gone) return Sample{false};
    s.net = *net;
    return s;
}

}  // namespace hutch::stats
