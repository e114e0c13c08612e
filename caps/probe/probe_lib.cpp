#include "caps/probe/probe_lib.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace hutch::probe {
namespace {

// Index = capability number (linux/capability.h).
constexpr std::string_view kCapNames[kKnownCaps] = {
    "CHOWN",         "DAC_OVERRIDE",  "DAC_READ_SEARCH", "FOWNER",         "FSETID",
    "KILL",          "SETGID",        "SETUID",          "SETPCAP",        "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",    "NET_RAW",        "IPC_LOCK",
    "IPC_OWNER",     "SYS_MODULE",    "SYS_RAWIO",       "SYS_CHROOT",     "SYS_PTRACE",
    "SYS_PACCT",     "SYS_ADMIN",     "SYS_BOOT",        "SYS_NICE",       "SYS_RESOURCE",
    "SYS_TIME",      "SYS_TTY_CONFIG", "MKNOD",          "LEASE",          "AUDIT_WRITE",
    "AUDIT_CONTROL", "SETFCAP",       "MAC_OVERRIDE",    "MAC_ADMIN",      "SYSLOG",
    "WAKE_ALARM",    "BLOCK_SUSPEND", "AUDIT_READ",      "PERFMON",        "BPF",
    "CHECKPOINT_RESTORE",
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Splits on runs of spaces (mountinfo and the id maps separate fields by one or more blanks).
std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

std::optional<unsigned long long> parse_unsigned(std::string_view text, int base) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    unsigned long long value = 0;
    for (char c : text) {
        int digit;
        if (c >= '0' && c <= '9') digit = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        else return std::nullopt;
        if (digit >= base) return std::nullopt;
        unsigned long long next = value * static_cast<unsigned>(base) + static_cast<unsigned>(digit);
        if (next / static_cast<unsigned>(base) != value) return std::nullopt;  // overflow
        value = next;
    }
    return value;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((byte(i + k) & 0xc0) != 0x80) return 0;
    if (n == 2 && c < 0xc2) return 0;  // overlong
    return n;
}

}  // namespace

std::optional<std::uint64_t> ns_inode(std::string_view link) {
    auto open = link.find(":[");
    if (open == std::string_view::npos || link.empty() || link.back() != ']') return std::nullopt;
    auto digits = link.substr(open + 2, link.size() - open - 3);
    auto value = parse_unsigned(digits, 10);
    if (!value) return std::nullopt;
    return *value;
}

bool is_initial_ns(std::string_view kind, std::uint64_t inode) {
    // include/linux/proc_ns.h
    if (kind == "ipc") return inode == 0xEFFFFFFFU;
    if (kind == "uts") return inode == 0xEFFFFFFEU;
    if (kind == "user") return inode == 0xEFFFFFFDU;
    if (kind == "pid" || kind == "pid_for_children") return inode == 0xEFFFFFFCU;
    if (kind == "cgroup") return inode == 0xEFFFFFFBU;
    if (kind == "time" || kind == "time_for_children") return inode == 0xEFFFFFFAU;
    // Fixed only in recent kernels; older ones gave both a number from the dynamic range
    // (>= 0xF0000000), so these two can never belong to another namespace there.
    if (kind == "net") return inode == 0xEFFFFFF9U;
    if (kind == "mnt") return inode == 0xEFFFFFF8U;
    return false;
}

std::map<std::string, std::string> parse_status(std::string_view text) {
    std::map<std::string, std::string> out;
    while (!text.empty()) {
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) continue;
        out.emplace(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
    }
    return out;
}

std::optional<std::uint64_t> parse_hex(std::string_view text) {
    text = trim(text);
    if (text.size() > 16) return std::nullopt;
    auto v = parse_unsigned(text, 16);
    if (!v) return std::nullopt;
    return *v;
}

std::optional<long long> parse_int(std::string_view text) {
    text = trim(text);
    bool negative = !text.empty() && text.front() == '-';
    if (negative) text.remove_prefix(1);
    auto v = parse_unsigned(text, 10);
    if (!v || *v > 0x7fffffffffffffffULL) return std::nullopt;
    long long value = static_cast<long long>(*v);
    return negative ? -value : value;
}

std::string cap_name(int cap) {
    if (cap >= 0 && cap < kKnownCaps) return "CAP_" + std::string(kCapNames[cap]);
    return "CAP_" + std::to_string(cap);
}

std::vector<std::string> cap_names(std::uint64_t set) {
    std::vector<std::string> out;
    for (int cap = 0; cap < 64; ++cap)
        if (set & (std::uint64_t{1} << cap)) out.push_back(cap_name(cap));
    return out;
}

std::vector<IdMapLine> parse_id_map(std::string_view text) {
    std::vector<IdMapLine> out;
    while (!text.empty()) {
        auto end = text.find('\n');
        auto f = fields(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (f.size() != 3) continue;
        auto a = parse_unsigned(f[0], 10), b = parse_unsigned(f[1], 10), c = parse_unsigned(f[2], 10);
        if (a && b && c) out.push_back({*a, *b, *c});
    }
    return out;
}

std::string_view seccomp_mode_name(long long mode) {
    switch (mode) {
        case 0: return "disabled";
        case 1: return "strict";
        case 2: return "filter";
        default: return "unknown";
    }
}

std::string unescape_mountinfo(std::string_view field) {
    // The kernel escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c).
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            auto oct = field.substr(i + 1, 3);
            bool ok = true;
            for (char c : oct) ok = ok && c >= '0' && c <= '7';
            if (ok) {
                out += static_cast<char>(((oct[0] - '0') << 6) | ((oct[1] - '0') << 3) | (oct[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += field[i];
    }
    return out;
}

std::optional<MountEntry> parse_mountinfo_line(std::string_view line) {
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    auto f = fields(line);
    if (f.size() < 10) return std::nullopt;
    MountEntry m;
    auto id = parse_unsigned(f[0], 10), parent = parse_unsigned(f[1], 10);
    auto colon = f[2].find(':');
    if (!id || !parent || colon == std::string_view::npos) return std::nullopt;
    auto major = parse_unsigned(f[2].substr(0, colon), 10), minor = parse_unsigned(f[2].substr(colon + 1), 10);
    if (!major || !minor) return std::nullopt;
    m.id = static_cast<int>(*id);
    m.parent = static_cast<int>(*parent);
    m.major = static_cast<unsigned>(*major);
    m.minor = static_cast<unsigned>(*minor);
    m.root = unescape_mountinfo(f[3]);
    m.mount_point = unescape_mountinfo(f[4]);
    m.options = std::string(f[5]);
    std::size_t i = 6;
    for (; i < f.size() && f[i] != "-"; ++i) m.optional.emplace_back(f[i]);
    if (i >= f.size()) return std::nullopt;  // no separator
    ++i;
    std::size_t left = f.size() - i;
    if (left < 2) return std::nullopt;
    m.fstype = unescape_mountinfo(f[i]);
    // An empty source leaves two blanks in a row, which the field split merges: then only the
    // fstype and the super options remain.
    if (left >= 3) m.source = unescape_mountinfo(f[i + 1]);
    m.super_options = std::string(f[left >= 3 ? i + 2 : i + 1]);
    return m;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    while (!text.empty()) {
        auto end = text.find('\n');
        if (auto m = parse_mountinfo_line(text.substr(0, end))) out.push_back(std::move(*m));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    }
    return out;
}

bool has_option(std::string_view options, std::string_view option) {
    while (true) {
        auto comma = options.find(',');
        if (options.substr(0, comma) == option) return true;
        if (comma == std::string_view::npos) return false;
        options.remove_prefix(comma + 1);
    }
}

std::string propagation(const MountEntry& m) {
    std::string out;
    for (const auto& tag : m.optional) {
        if (!out.empty()) out += ' ';
        out += tag;
    }
    return out.empty() ? "private" : out;
}

bool path_under(std::string_view path, std::string_view dir) {
    if (dir == "/") return !path.empty() && path.front() == '/';
    if (path.substr(0, dir.size()) != dir) return false;
    return path.size() == dir.size() || path[dir.size()] == '/';
}

std::string errno_name(int err) {
    if (const char* name = ::strerrorname_np(err)) return name;
    return "errno " + std::to_string(err);
}

std::string signal_name(int sig) {
    if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(sig);
}

Verdict judge(const Outcome& o, const std::vector<int>& expected, bool ok_expected) {
    Verdict v;
    using K = Outcome::Kind;
    using S = Verdict::State;
    switch (o.kind) {
        case K::not_run:
            v.text = "not tried (" + o.why_not_run + ")";
            return v;
        case K::timed_out:
            v.text = "unknown (timed out)";
            return v;
        case K::killed:
            v.signal_name = signal_name(o.signal);
            if (o.signal == SIGSYS) {
                v.state = S::blocked;
                v.text = "blocked (killed by SIGSYS)";
            } else {
                v.text = "unknown (killed by " + v.signal_name + ")";
            }
            return v;
        case K::returned:
            break;
    }
    if (o.err == 0) {
        v.state = ok_expected ? S::allowed : S::unknown;
        v.text = ok_expected ? "allowed (ok)" : "unexpected (succeeded)";
        return v;
    }
    v.errno_name = errno_name(o.err);
    if (o.err == EPERM || o.err == ENOSYS) {
        v.state = S::blocked;
        v.text = "blocked (" + v.errno_name + ")";
    } else if (std::find(expected.begin(), expected.end(), o.err) != expected.end()) {
        v.state = S::allowed;
        v.text = "allowed (" + v.errno_name + ")";
    } else {
        v.text = "unexpected (" + v.errno_name + ")";
    }
    return v;
}

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c == '\n') { out += "\\n"; ++i; }
        else if (c == '\t') { out += "\\t"; ++i; }
        else if (c == '\r') { out += "\\r"; ++i; }
        else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else if (std::size_t n = utf8_length(s, i)) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\\ufffd";  // not UTF-8: JSON cannot carry the raw byte
            ++i;
        }
    }
    out += '"';
    return out;
}

std::vector<std::string> wrap_words(const std::vector<std::string>& words, std::size_t width) {
    std::vector<std::string> lines;
    std::string line;
    for (const auto& w : words) {
        if (!line.empty() && line.size() + 1 + w.size() > width) {
            lines.push_back(std::move(line));
            line.clear();
        }
        if (!line.empty()) line += ' ';
        line += w;
    }
    if (!line.empty()) lines.push_back(std::move(line));
    return lines;
}

// ---- devices ------------------------------------------------------------------------------------

std::optional<unsigned> misc_minor(std::string_view proc_misc, std::string_view name) {
    while (!proc_misc.empty()) {
        std::size_t end = proc_misc.find('\n');
        std::string_view line = trim(proc_misc.substr(0, end));
        proc_misc = end == std::string_view::npos ? std::string_view() : proc_misc.substr(end + 1);
        std::size_t space = line.find(' ');
        if (space == std::string_view::npos || trim(line.substr(space + 1)) != name) continue;
        auto n = parse_int(line.substr(0, space));
        if (n && *n >= 0 && *n < (1 << 20)) return static_cast<unsigned>(*n);
    }
    return std::nullopt;
}

std::vector<ProbeDevice> probe_device_list(std::string_view proc_misc, const std::vector<BlockDevice>& block_devices) {
    std::vector<ProbeDevice> out = {
        {"null", 'c', 1, 3, true, "allowed by Docker; opened read-only, nothing read", "", true},
        {"zero", 'c', 1, 5, true, "allowed by Docker; nothing read", "", true},
        {"full", 'c', 1, 7, true, "allowed by Docker (runc's list); nothing read", "", true},
        {"random", 'c', 1, 8, true, "allowed by Docker; nothing read", "", true},
        {"urandom", 'c', 1, 9, true, "allowed by Docker; nothing read", "", true},
        {"tty", 'c', 5, 0, true, "allowed by Docker; without a controlling terminal its open fails ENXIO", "", true},
        {"ptmx", 'c', 5, 2, true, "allowed (runc's list); outside a devpts it finds no pty instance", "", true},
        {"pts", 'c', 136, 0, true, "allowed (136:*, runc's list); a node outside devpts reaches no terminal", "", true},
        {"tun", 'c', 10, 200, true, "allowed (runc's list); opening it makes no interface without TUNSETIFF", "", true},
        {"fuse", 'c', 10, 229, false, "denied by Docker; an unused FUSE connection, freed at close", "", true},
        {"hwrng", 'c', 10, 183, false, "denied; the host's hardware RNG, no byte is read", "", true},
        {"cpu_dma_latency", 'c', 10, 0, false,
         "denied; its open adds a no-constraint latency request, dropped at close", "", true},
        {"tty0", 'c', 4, 0, false, "denied; the host's console, opened O_NOCTTY, nothing written", "", true},
        {"kmsg", 'c', 1, 11, false, "denied; the host kernel's log (reading also needs CAP_SYSLOG), nothing read",
         "", true},
    };
    for (auto& d : out)
        if (d.name == "cpu_dma_latency") {
            if (auto minor = misc_minor(proc_misc, "cpu_dma_latency")) d.minor = *minor;
            else d.skip = "not in /proc/misc on this host";
        }
    ProbeDevice block{"block", 'b', 8, 0, false, "denied by Docker; a host block device, opened read-only, nothing read",
                      "", false};
    auto pick = [&](bool loop) {
        for (const auto& d : block_devices) {
            unsigned major = 0, minor = 0;
            if (std::sscanf(d.numbers.c_str(), "%u:%u", &major, &minor) != 2) continue;
            // Never a ram disk (1); a loop device (7) only unbound, a disk only fixed (a
            // removable one may check its media).
            bool fits = loop ? major == 7 && trim(d.size) == "0" : major != 7 && major != 1 && trim(d.removable) == "0";
            if (!fits) continue;
            block.major = major;
            block.minor = minor;
            block.open = true;
            if (loop) block.why += " (an unbound loop device: no data behind it)";
            return true;
        }
        return false;
    };
    if (!pick(true) && !pick(false))
        block.why += " (mknod only: no block device in /sys/dev/block, opening a missing one would load a driver)";
    out.push_back(block);
    return out;
}

std::string device_verdict(int err) {
    if (err == EPERM) return "denied (EPERM)";
    return "allowed (" + (err == 0 ? std::string("ok") : errno_name(err)) + ")";
}

}  // namespace hutch::probe
