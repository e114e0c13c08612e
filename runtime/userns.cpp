#include "runtime/userns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/state.hpp"
#include "runtime/validate.hpp"

namespace hutch::userns {
namespace {

constexpr std::uint64_t kIdLimit = 1ull << 32;  // ids are 32 bits; (uid_t)-1 is no id
constexpr std::size_t kMaxRanges = 340;         // the kernel's limit per map (Linux 4.15)

bool parse_u32(const std::string& text, std::uint32_t& out) {
    if (text.empty() || text.size() > 10 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    std::uint64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    if (v >= kIdLimit) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

}  // namespace

std::vector<IdMapping> subordinate_ranges(const std::string& text, const std::string& name, const std::string& file) {
    std::vector<IdMapping> out;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        auto fields = validate::fields(line, ':');
        if (fields.empty() || fields[0] != name) continue;
        IdMapping range;
        if (fields.size() != 3 || !parse_u32(fields[1], range.host_id) || !parse_u32(fields[2], range.size) || range.size == 0 ||
            range.host_id + std::uint64_t{range.size} > kIdLimit)
            throw UsageError(file + " line " + std::to_string(number) + ": the entry of " + name +
                             " is not NAME:START:COUNT with a range of 32-bit ids");
        out.push_back(range);
    }
    return out;
}

std::vector<IdMapping> parse_proc_map(const std::string& text, const std::string& what) {
    std::vector<IdMapping> map;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::uint64_t inside = 0, outside = 0, size = 0;
        std::string extra;
        if (!(fields >> inside >> outside >> size) || (fields >> extra) || inside >= kIdLimit || outside >= kIdLimit ||
            size == 0 || size > kIdLimit - 1 || map.size() == kMaxRanges)
            throw Error(what + ": not an id map as the kernel writes one");
        map.push_back({static_cast<std::uint32_t>(inside), static_cast<std::uint32_t>(outside), static_cast<std::uint32_t>(size)});
    }
    return map;
}

std::optional<std::pair<std::vector<IdMapping>, std::vector<IdMapping>>> maps_of_joined(const std::string& path) {
    constexpr std::string_view kProc = "/proc/", kTail = "/ns/user";
    if (path.size() <= kProc.size() + kTail.size() || !path.starts_with(kProc) || !path.ends_with(kTail)) return std::nullopt;
    const std::string pid = path.substr(kProc.size(), path.size() - kProc.size() - kTail.size());
    if (pid.empty() || pid.size() > 10 || pid.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    try {
        const std::string dir = "/proc/" + pid;
        return std::pair{parse_proc_map(read_file(dir + "/uid_map"), dir + "/uid_map"),
                         parse_proc_map(read_file(dir + "/gid_map"), dir + "/gid_map")};
    } catch (const Error&) {
        return std::nullopt;
    }
}

IdMapping parse_mapping(const std::string& text, const char* flag) {
    auto fields = validate::fields(text, ':');
    IdMapping m;
    if (fields.size() != 3 || !parse_u32(fields[0], m.container_id) || !parse_u32(fields[1], m.host_id) ||
        !parse_u32(fields[2], m.size))
        throw UsageError(std::string("invalid ") + flag + " " + in_quotes(text) + ": expected CONTAINER:HOST:SIZE (32-bit ids)");
    return m;
}

void check_map(const std::vector<IdMapping>& map, const std::string& what) {
    check_ranges(map, what);
    if (!maps(map, 0)) throw UsageError(what + " must map the container's id 0 (its root assembles the root)");
}

void check_ranges(const std::vector<IdMapping>& map, const std::string& what) {
    if (map.empty()) throw UsageError(what + ": no range given");
    if (map.size() > kMaxRanges)
        throw UsageError(what + ": " + std::to_string(map.size()) + " ranges, the kernel takes at most " + std::to_string(kMaxRanges));
    auto shown = [](const IdMapping& m) {
        return std::to_string(m.container_id) + ":" + std::to_string(m.host_id) + ":" + std::to_string(m.size);
    };
    for (std::size_t i = 0; i < map.size(); ++i) {
        const IdMapping& a = map[i];
        if (a.size == 0) throw UsageError(what + " " + shown(a) + ": the size must be at least 1");
        if (a.container_id + std::uint64_t{a.size} > kIdLimit - 1 || a.host_id + std::uint64_t{a.size} > kIdLimit - 1)
            throw UsageError(what + " " + shown(a) + ": the range runs past the last id (4294967294)");
        for (std::size_t j = 0; j < i; ++j) {
            const IdMapping& b = map[j];
            auto overlap = [](std::uint64_t x, std::uint64_t xs, std::uint64_t y, std::uint64_t ys) { return x < y + ys && y < x + xs; };
            if (overlap(a.container_id, a.size, b.container_id, b.size))
                throw UsageError(what + " " + shown(a) + " and " + shown(b) + " overlap inside the container");
            if (overlap(a.host_id, a.size, b.host_id, b.size))
                throw UsageError(what + " " + shown(a) + " and " + shown(b) + " overlap on the host");
        }
    }
}

bool maps(const std::vector<IdMapping>& map, std::uint32_t id) {
    return std::any_of(map.begin(), map.end(),
                       [id](const IdMapping& m) { return id >= m.container_id && id - m.container_id < m.size; });
}

std::optional<std::uint32_t> host_id(const std::vector<IdMapping>& map, std::uint32_t id) {
    for (const auto& m : map)
        if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
    return std::nullopt;
}

std::uint32_t highest_mapped(const std::vector<IdMapping>& map) {
    std::uint32_t top = 0;
    for (const auto& m : map) top = std::max(top, m.container_id + m.size - 1);
    return top;
}

std::uint64_t slots_in(const std::vector<IdMapping>& ranges) {
    std::uint64_t total = 0;
    for (const auto& r : ranges) total += r.size;
    return total / kSlotSize;
}

std::vector<IdMapping> map_from(const std::vector<IdMapping>& ranges, std::uint64_t offset, std::uint32_t size) {
    std::vector<IdMapping> out;
    std::uint64_t skip = offset, left = size, inside = 0;
    for (const auto& r : ranges) {
        if (left == 0) break;
        if (skip >= r.size) {
            skip -= r.size;
            continue;
        }
        const std::uint64_t take = std::min<std::uint64_t>(r.size - skip, left);
        out.push_back({static_cast<std::uint32_t>(inside), static_cast<std::uint32_t>(r.host_id + skip),
                       static_cast<std::uint32_t>(take)});
        inside += take;
        left -= take;
        skip = 0;
    }
    return out;
}

std::uint64_t claim_slot(const std::string& data_root, const std::string& id, std::uint64_t slots,
                         const std::function<bool(const std::string&)>& exists) {
    const std::string dir = data_root + "/userns";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw SysError("claim ids for --userns auto", "mkdir", dir, errno);
    const std::string lock_path = dir + "/.lock";
    Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock) throw SysError("claim ids for --userns auto", "open", lock_path, errno);
    while (::flock(lock.get(), LOCK_EX) != 0)
        if (errno != EINTR) throw SysError("claim ids for --userns auto", "flock", lock_path, errno);
    for (std::uint64_t k = 0; k < slots; ++k) {
        const std::string claim = dir + "/" + std::to_string(k);
        if (::symlink(id.c_str(), claim.c_str()) == 0) return k;
        if (errno != EEXIST) throw SysError("claim ids for --userns auto", "symlink", claim, errno);
        char owner[128];
        const ssize_t n = ::readlink(claim.c_str(), owner, sizeof owner - 1);
        if (n <= 0) continue;  // not a claim of ours: left alone
        owner[n] = '\0';
        if (owner == id) return k;  // this container's own (a start after create)
        if (exists(owner)) continue;
        // Its container is gone (removed, or a start that died): the slot is free again.
        if (::unlink(claim.c_str()) != 0 || ::symlink(id.c_str(), claim.c_str()) != 0)
            throw SysError("claim ids for --userns auto", "symlink", claim, errno);
        return k;
    }
    throw UsageError("--userns auto: all " + std::to_string(slots) + " slots of " + std::to_string(kSlotSize) +
                     " ids in hutch's /etc/subuid and /etc/subgid ranges are taken");
}

std::vector<std::string> slot_holders(const std::string& data_root) {
    std::vector<std::string> out;
    const std::string dir = data_root + "/userns";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;  // the lock, "." and ".."
        char target[256];
        const ssize_t n = ::readlinkat(::dirfd(d), e->d_name, target, sizeof target - 1);
        if (n > 0) out.emplace_back(target, static_cast<std::size_t>(n));
    }
    ::closedir(d);
    return out;
}

std::pair<std::string, std::string> remap_names(const std::string& remap) {
    if (remap == "default") return {"hutch", "hutch"};
    auto colon = remap.find(':');
    if (colon == std::string::npos) return {remap, remap};
    return {remap.substr(0, colon), remap.substr(colon + 1)};
}

}  // namespace hutch::userns
