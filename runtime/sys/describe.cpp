#include "runtime/sys/describe.hpp"

#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <initializer_list>
#include <optional>

#include "caps/capabilities.hpp"

namespace hutch::sys {
namespace {

struct Named {
    std::uint64_t value;
    const char* name;
};

// The names of the bits set in `value`, joined by "|"; bits without a name print as a number.
std::string bit_names(std::uint64_t value, std::initializer_list<Named> names) {
    std::string out;
    for (const auto& n : names) {
        if (n.value == 0 || (value & n.value) != n.value) continue;
        out += (out.empty() ? "" : "|") + std::string(n.name);
        value &= ~n.value;
    }
    if (value) {
        char hex[24];
        std::snprintf(hex, sizeof hex, "%#llx", static_cast<unsigned long long>(value));
        out += (out.empty() ? "" : "|") + std::string(hex);
    }
    return out.empty() ? "0" : out;
}

std::string one_name(long value, std::initializer_list<Named> names) {
    for (const auto& n : names)
        if (static_cast<long>(n.value) == value) return n.name;
    return std::to_string(value);
}

}  // namespace

std::string mount_flags(unsigned long flags) {
    return bit_names(flags, {{MS_RDONLY, "MS_RDONLY"},         {MS_NOSUID, "MS_NOSUID"},
                             {MS_NODEV, "MS_NODEV"},           {MS_NOEXEC, "MS_NOEXEC"},
                             {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {MS_REMOUNT, "MS_REMOUNT"},
                             {MS_MANDLOCK, "MS_MANDLOCK"},     {MS_DIRSYNC, "MS_DIRSYNC"},
                             {MS_NOATIME, "MS_NOATIME"},       {MS_NODIRATIME, "MS_NODIRATIME"},
                             {MS_BIND, "MS_BIND"},             {MS_MOVE, "MS_MOVE"},
                             {MS_REC, "MS_REC"},               {MS_SILENT, "MS_SILENT"},
                             {MS_UNBINDABLE, "MS_UNBINDABLE"}, {MS_PRIVATE, "MS_PRIVATE"},
                             {MS_SLAVE, "MS_SLAVE"},           {MS_SHARED, "MS_SHARED"},
                             {MS_RELATIME, "MS_RELATIME"},     {MS_STRICTATIME, "MS_STRICTATIME"}});
}

std::string umount_flags(int flags) {
    return bit_names(static_cast<unsigned>(flags), {{MNT_FORCE, "MNT_FORCE"}, {MNT_DETACH, "MNT_DETACH"},
                                                    {MNT_EXPIRE, "MNT_EXPIRE"}, {UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"}});
}

std::string clone_flags(std::uint64_t flags) {
    return bit_names(flags, {{CLONE_NEWNS, "CLONE_NEWNS"},         {CLONE_NEWUTS, "CLONE_NEWUTS"},
                             {CLONE_NEWIPC, "CLONE_NEWIPC"},       {CLONE_NEWPID, "CLONE_NEWPID"},
                             {CLONE_NEWNET, "CLONE_NEWNET"},       {CLONE_NEWUSER, "CLONE_NEWUSER"},
                             {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {CLONE_NEWTIME, "CLONE_NEWTIME"},
                             {CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"}, {CLONE_PIDFD, "CLONE_PIDFD"},
                             {CLONE_VFORK, "CLONE_VFORK"},         {CLONE_VM, "CLONE_VM"},
                             {CLONE_FILES, "CLONE_FILES"},         {CLONE_FS, "CLONE_FS"}});
}

std::string namespace_type(int nstype) { return clone_flags(static_cast<std::uint32_t>(nstype)); }

std::string open_flags(int flags) {
    const char* access = (flags & O_PATH) ? nullptr
                         : (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
                         : (flags & O_ACCMODE) == O_RDWR   ? "O_RDWR"
                                                           : "O_RDONLY";
    std::string rest = bit_names(static_cast<unsigned>(flags & ~O_ACCMODE),
                                 {{O_PATH, "O_PATH"},         {O_DIRECTORY, "O_DIRECTORY"},
                                  {O_NOFOLLOW, "O_NOFOLLOW"}, {O_CREAT, "O_CREAT"},
                                  {O_EXCL, "O_EXCL"},         {O_TRUNC, "O_TRUNC"},
                                  {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"},
                                  {O_NOCTTY, "O_NOCTTY"},     {O_CLOEXEC, "O_CLOEXEC"}});
    if (!access) return rest;
    return rest == "0" ? access : std::string(access) + "|" + rest;
}

std::string resolve_flags(std::uint64_t resolve) {
    return bit_names(resolve, {{RESOLVE_IN_ROOT, "RESOLVE_IN_ROOT"},
                               {RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS"},
                               {RESOLVE_NO_SYMLINKS, "RESOLVE_NO_SYMLINKS"},
                               {RESOLVE_NO_XDEV, "RESOLVE_NO_XDEV"},
                               {RESOLVE_BENEATH, "RESOLVE_BENEATH"}});
}

std::string mount_attr_flags(std::uint64_t attrs) {
    return bit_names(attrs, {{MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"},
                             {MOUNT_ATTR_NOSUID, "MOUNT_ATTR_NOSUID"},
                             {MOUNT_ATTR_NODEV, "MOUNT_ATTR_NODEV"},
                             {MOUNT_ATTR_NOEXEC, "MOUNT_ATTR_NOEXEC"},
                             {MOUNT_ATTR_IDMAP, "MOUNT_ATTR_IDMAP"}});
}

std::string open_tree_flags(unsigned flags) {
    return bit_names(flags, {{OPEN_TREE_CLONE, "OPEN_TREE_CLONE"},
                             {OPEN_TREE_CLOEXEC, "OPEN_TREE_CLOEXEC"},
                             {AT_RECURSIVE, "AT_RECURSIVE"},
                             {AT_EMPTY_PATH, "AT_EMPTY_PATH"},
                             {AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}});
}

std::string move_mount_flags(unsigned flags) {
    return bit_names(flags, {{MOVE_MOUNT_F_EMPTY_PATH, "MOVE_MOUNT_F_EMPTY_PATH"},
                             {MOVE_MOUNT_T_EMPTY_PATH, "MOVE_MOUNT_T_EMPTY_PATH"}});
}

std::string fsconfig_command(unsigned cmd) {
    return one_name(static_cast<long>(cmd), {{FSCONFIG_SET_FLAG, "FSCONFIG_SET_FLAG"},
                                             {FSCONFIG_SET_STRING, "FSCONFIG_SET_STRING"},
                                             {FSCONFIG_SET_FD, "FSCONFIG_SET_FD"},
                                             {FSCONFIG_CMD_CREATE, "FSCONFIG_CMD_CREATE"}});
}

std::string node_list(const std::vector<unsigned long>& mask) {
    constexpr std::size_t kBits = 8 * sizeof(unsigned long);
    auto set = [&](std::size_t n) { return n < mask.size() * kBits && (mask[n / kBits] >> (n % kBits)) & 1; };
    std::string out;
    for (std::size_t n = 0; n < mask.size() * kBits; ++n) {
        if (!set(n)) continue;
        std::size_t last = n;
        while (set(last + 1)) ++last;
        out += (out.empty() ? "" : ",") + std::to_string(n) + (last > n ? "-" + std::to_string(last) : "");
        n = last;
    }
    return out;
}

std::string at_flags(int flags) {
    return bit_names(static_cast<unsigned>(flags), {{AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
                                                    {AT_REMOVEDIR, "AT_REMOVEDIR"},
                                                    {AT_EMPTY_PATH, "AT_EMPTY_PATH"}});
}

std::string file_mode(mode_t mode) {
    const char* type = S_ISCHR(mode) ? "S_IFCHR|" : S_ISBLK(mode) ? "S_IFBLK|" : S_ISFIFO(mode) ? "S_IFIFO|"
                     : S_ISREG(mode) ? "S_IFREG|" : S_ISDIR(mode) ? "S_IFDIR|" : "";
    char perms[16];
    std::snprintf(perms, sizeof perms, "%04o", static_cast<unsigned>(mode & 07777));
    return type + std::string(perms);
}

std::string capability_set(std::uint64_t set) {
    std::string out;
    for (const auto& name : caps::names_of(set)) out += (out.empty() ? "" : "|") + name;
    return out.empty() ? "0" : out;
}

std::string prctl_call(int option, unsigned long arg2, unsigned long arg3) {
    const std::string op = one_name(option, {{PR_SET_DUMPABLE, "PR_SET_DUMPABLE"},
                                             {PR_SET_PDEATHSIG, "PR_SET_PDEATHSIG"},
                                             {PR_SET_KEEPCAPS, "PR_SET_KEEPCAPS"},
                                             {PR_CAPBSET_DROP, "PR_CAPBSET_DROP"},
                                             {PR_CAP_AMBIENT, "PR_CAP_AMBIENT"},
                                             {PR_SET_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS"},
                                             {PR_SET_CHILD_SUBREAPER, "PR_SET_CHILD_SUBREAPER"},
                                             {PR_SET_NAME, "PR_SET_NAME"}});
    switch (option) {
    case PR_CAPBSET_DROP:
        return op + ", " + caps::name_of(static_cast<int>(arg2));
    case PR_CAP_AMBIENT: {
        std::string sub = one_name(static_cast<long>(arg2), {{PR_CAP_AMBIENT_RAISE, "PR_CAP_AMBIENT_RAISE"},
                                                             {PR_CAP_AMBIENT_LOWER, "PR_CAP_AMBIENT_LOWER"},
                                                             {PR_CAP_AMBIENT_CLEAR_ALL, "PR_CAP_AMBIENT_CLEAR_ALL"}});
        if (arg2 == PR_CAP_AMBIENT_CLEAR_ALL) return op + ", " + sub;
        return op + ", " + sub + ", " + caps::name_of(static_cast<int>(arg3));
    }
    case PR_SET_PDEATHSIG:
        return op + ", " + (arg2 == 0 ? std::string("0") : "SIG" + std::string(sigabbrev_np(static_cast<int>(arg2))));
    case PR_SET_NAME:
        return op + ", ...";
    default:
        return op + ", " + std::to_string(arg2);
    }
}

std::string rlimit_name(int resource) {
    return one_name(resource, {{RLIMIT_AS, "RLIMIT_AS"},           {RLIMIT_CORE, "RLIMIT_CORE"},
                               {RLIMIT_CPU, "RLIMIT_CPU"},         {RLIMIT_DATA, "RLIMIT_DATA"},
                               {RLIMIT_FSIZE, "RLIMIT_FSIZE"},     {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
                               {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"}, {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
                               {RLIMIT_NICE, "RLIMIT_NICE"},       {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
                               {RLIMIT_NPROC, "RLIMIT_NPROC"},     {RLIMIT_RSS, "RLIMIT_RSS"},
                               {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},   {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
                               {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"}, {RLIMIT_STACK, "RLIMIT_STACK"}});
}

namespace {

// The scheduling policies and I/O priority classes by name, both ways: --explain prints them,
// config.json names them (runtime/scheduling.cpp).
constexpr Named kSchedPolicies[] = {
    {SCHED_NORMAL, "SCHED_OTHER"}, {SCHED_FIFO, "SCHED_FIFO"}, {SCHED_RR, "SCHED_RR"},
    {SCHED_BATCH, "SCHED_BATCH"},  {4, "SCHED_ISO"},           {SCHED_IDLE, "SCHED_IDLE"},
    {SCHED_DEADLINE, "SCHED_DEADLINE"},
};
constexpr Named kIoClasses[] = {{1, "IOPRIO_CLASS_RT"}, {2, "IOPRIO_CLASS_BE"}, {3, "IOPRIO_CLASS_IDLE"}};
// set_mempolicy(2)'s modes and mode flags, the same two ways (linux/mempolicy.h; Debian 12's
// headers predate the last two modes).
constexpr Named kMemoryPolicyModes[] = {
    {0, "MPOL_DEFAULT"}, {1, "MPOL_PREFERRED"}, {2, "MPOL_BIND"},           {3, "MPOL_INTERLEAVE"},
    {4, "MPOL_LOCAL"},   {5, "MPOL_PREFERRED_MANY"}, {6, "MPOL_WEIGHTED_INTERLEAVE"},
};
constexpr Named kMemoryPolicyFlags[] = {
    {1 << 15, "MPOL_F_STATIC_NODES"}, {1 << 14, "MPOL_F_RELATIVE_NODES"}, {1 << 13, "MPOL_F_NUMA_BALANCING"}};

template <std::size_t N>
std::string name_in(const Named (&table)[N], std::uint64_t value) {
    for (const auto& n : table)
        if (n.value == value) return n.name;
    return std::to_string(value);
}

template <std::size_t N>
std::optional<std::uint64_t> value_in(const Named (&table)[N], const std::string& name) {
    for (const auto& n : table)
        if (name == n.name) return n.value;
    return std::nullopt;
}

}  // namespace

std::string sched_policy_name(std::uint32_t policy) { return name_in(kSchedPolicies, policy); }
std::optional<std::uint32_t> sched_policy_number(const std::string& name) {
    if (auto v = value_in(kSchedPolicies, name)) return static_cast<std::uint32_t>(*v);
    return std::nullopt;
}
std::string io_class_name(int io_class) { return name_in(kIoClasses, static_cast<std::uint64_t>(io_class)); }
std::optional<int> io_class_number(const std::string& name) {
    if (auto v = value_in(kIoClasses, name)) return static_cast<int>(*v);
    return std::nullopt;
}

std::string mempolicy_mode(int mode) {
    std::uint64_t flags = 0;
    for (const auto& f : kMemoryPolicyFlags) flags |= f.value;
    std::string out = name_in(kMemoryPolicyModes, static_cast<std::uint64_t>(mode) & ~flags);
    for (const auto& f : kMemoryPolicyFlags)
        if (static_cast<std::uint64_t>(mode) & f.value) out += std::string("|") + f.name;
    return out;
}
std::optional<int> mempolicy_mode_number(const std::string& name) {
    if (auto v = value_in(kMemoryPolicyModes, name)) return static_cast<int>(*v);
    return std::nullopt;
}
std::optional<int> mempolicy_flag_number(const std::string& name) {
    if (auto v = value_in(kMemoryPolicyFlags, name)) return static_cast<int>(*v);
    return std::nullopt;
}

std::string ioctl_request(unsigned long request) {
    return one_name(static_cast<long>(request), {{TIOCSPTLCK, "TIOCSPTLCK"},
                                                 {TIOCGPTPEER, "TIOCGPTPEER"},
                                                 {TIOCSCTTY, "TIOCSCTTY"},
                                                 {TIOCSWINSZ, "TIOCSWINSZ"},
                                                 {TIOCGWINSZ, "TIOCGWINSZ"},
                                                 {FIONCLEX, "FIONCLEX"}});
}

std::string seccomp_flags(unsigned flags) {
    return bit_names(flags, {{SECCOMP_FILTER_FLAG_TSYNC, "SECCOMP_FILTER_FLAG_TSYNC"},
                             {SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"},
                             {SECCOMP_FILTER_FLAG_SPEC_ALLOW, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
                             {SECCOMP_FILTER_FLAG_NEW_LISTENER, "SECCOMP_FILTER_FLAG_NEW_LISTENER"}});
}

std::string bpf_command(int cmd) {
    return one_name(cmd, {{BPF_PROG_LOAD, "BPF_PROG_LOAD"},
                          {BPF_PROG_ATTACH, "BPF_PROG_ATTACH"},
                          {BPF_PROG_DETACH, "BPF_PROG_DETACH"},
                          {BPF_PROG_QUERY, "BPF_PROG_QUERY"}});
}

std::string errno_name(int err) {
    const char* name = strerrorname_np(err);
    return name ? name : std::to_string(err);
}

namespace {

// The attributes of one level, each by name: strings quoted, u32 as numbers, IPv4 addresses and
// MACs as such, nested ones in braces. `names` maps the level's attribute numbers.
struct AttrName {
    std::uint16_t type;
    const char* name;
    char kind;  // s string, u u32, a IPv4 address, m MAC, n nested (IFLA_LINKINFO), p veth peer, r raw
};

std::string attributes(const char* data, std::size_t len, std::initializer_list<AttrName> names);

std::string attribute_value(const nlattr* a, char kind) {
    const char* payload = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
    std::size_t size = a->nla_len >= NLA_HDRLEN ? a->nla_len - NLA_HDRLEN : 0;
    switch (kind) {
    case 's':
        return quoted(std::string(payload, ::strnlen(payload, size)).c_str());
    case 'u': {
        std::uint32_t v = 0;
        std::memcpy(&v, payload, std::min<std::size_t>(size, sizeof v));
        return std::to_string(v);
    }
    case 'a': {
        char text[INET_ADDRSTRLEN] = "?";
        if (size == 4) ::inet_ntop(AF_INET, payload, text, sizeof text);
        return text;
    }
    case 'm': {
        std::string out;
        char hex[4];
        for (std::size_t i = 0; i < size; ++i) {
            std::snprintf(hex, sizeof hex, i ? ":%02x" : "%02x", static_cast<unsigned char>(payload[i]));
            out += hex;
        }
        return out;
    }
    case 'n':
        return "{" + attributes(payload, size, {{IFLA_INFO_KIND, "IFLA_INFO_KIND", 's'},
                                                {IFLA_INFO_DATA, "IFLA_INFO_DATA", 'p'}}) + "}";
    case 'p': {  // VETH_INFO_PEER: the peer's ifinfomsg, then its attributes
        const auto* peer = reinterpret_cast<const nlattr*>(payload);
        if (size < NLA_HDRLEN + sizeof(ifinfomsg) || peer->nla_type != VETH_INFO_PEER) return "{...}";
        const char* inner = payload + NLA_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg));
        std::size_t inner_len = std::min<std::size_t>(peer->nla_len, size) - NLA_HDRLEN - NLMSG_ALIGN(sizeof(ifinfomsg));
        return "{VETH_INFO_PEER={" + attributes(inner, inner_len, {{IFLA_IFNAME, "IFLA_IFNAME", 's'},
                                                                   {IFLA_NET_NS_PID, "IFLA_NET_NS_PID", 'u'},
                                                                   {IFLA_NET_NS_FD, "IFLA_NET_NS_FD", 'u'},
                                                                   {IFLA_ADDRESS, "IFLA_ADDRESS", 'm'}}) + "}}";
    }
    default:
        return "<" + std::to_string(size) + " bytes>";
    }
}

std::string attributes(const char* data, std::size_t len, std::initializer_list<AttrName> names) {
    std::string out;
    while (len >= NLA_HDRLEN) {
        const auto* a = reinterpret_cast<const nlattr*>(data);
        if (a->nla_len < NLA_HDRLEN || a->nla_len > len) break;
        const std::uint16_t type = a->nla_type & NLA_TYPE_MASK;
        std::string name = "attr" + std::to_string(type);
        char kind = 'r';
        for (const auto& n : names)
            if (n.type == type) {
                name = n.name;
                kind = n.kind;
            }
        out += (out.empty() ? "" : ", ") + name + "=" + attribute_value(a, kind);
        std::size_t step = NLA_ALIGN(a->nla_len);
        if (step >= len) break;
        data += step;
        len -= step;
    }
    return out;
}

}  // namespace

std::string netlink_message(const nlmsghdr* m) {
    const char* body = reinterpret_cast<const char*>(NLMSG_DATA(m));
    const std::size_t body_len = m->nlmsg_len > NLMSG_HDRLEN ? m->nlmsg_len - NLMSG_HDRLEN : 0;
    const std::string type = one_name(m->nlmsg_type, {{RTM_NEWLINK, "RTM_NEWLINK"},   {RTM_DELLINK, "RTM_DELLINK"},
                                                      {RTM_GETLINK, "RTM_GETLINK"},   {RTM_NEWADDR, "RTM_NEWADDR"},
                                                      {RTM_DELADDR, "RTM_DELADDR"},   {RTM_GETADDR, "RTM_GETADDR"},
                                                      {RTM_NEWROUTE, "RTM_NEWROUTE"}, {RTM_DELROUTE, "RTM_DELROUTE"},
                                                      {RTM_GETROUTE, "RTM_GETROUTE"}});
    auto flags = [](unsigned f) {
        return bit_names(f, {{IFF_UP, "IFF_UP"}, {IFF_BROADCAST, "IFF_BROADCAST"}, {IFF_LOOPBACK, "IFF_LOOPBACK"}});
    };
    std::string fixed, attrs;
    if ((m->nlmsg_type == RTM_NEWLINK || m->nlmsg_type == RTM_DELLINK || m->nlmsg_type == RTM_GETLINK) &&
        body_len >= sizeof(ifinfomsg)) {
        const auto* ifi = reinterpret_cast<const ifinfomsg*>(body);
        fixed = "ifi_index=" + std::to_string(ifi->ifi_index) + ", ifi_flags=" + flags(ifi->ifi_flags) +
                ", ifi_change=" + flags(ifi->ifi_change);
        attrs = attributes(body + NLMSG_ALIGN(sizeof(ifinfomsg)), body_len - NLMSG_ALIGN(sizeof(ifinfomsg)),
                           {{IFLA_IFNAME, "IFLA_IFNAME", 's'},   {IFLA_MASTER, "IFLA_MASTER", 'u'},
                            {IFLA_IFALIAS, "IFLA_IFALIAS", 's'}, {IFLA_ADDRESS, "IFLA_ADDRESS", 'm'},
                            {IFLA_MTU, "IFLA_MTU", 'u'},         {IFLA_LINKINFO, "IFLA_LINKINFO", 'n'},
                            {IFLA_NET_NS_PID, "IFLA_NET_NS_PID", 'u'}, {IFLA_NET_NS_FD, "IFLA_NET_NS_FD", 'u'}});
    } else if ((m->nlmsg_type == RTM_NEWADDR || m->nlmsg_type == RTM_DELADDR) && body_len >= sizeof(ifaddrmsg)) {
        const auto* ifa = reinterpret_cast<const ifaddrmsg*>(body);
        fixed = "ifa_index=" + std::to_string(ifa->ifa_index) + ", ifa_prefixlen=" + std::to_string(ifa->ifa_prefixlen);
        attrs = attributes(body + NLMSG_ALIGN(sizeof(ifaddrmsg)), body_len - NLMSG_ALIGN(sizeof(ifaddrmsg)),
                           {{IFA_LOCAL, "IFA_LOCAL", 'a'}, {IFA_ADDRESS, "IFA_ADDRESS", 'a'},
                            {IFA_BROADCAST, "IFA_BROADCAST", 'a'}});
    } else if (m->nlmsg_type >= RTM_NEWROUTE && m->nlmsg_type <= RTM_GETROUTE && body_len >= sizeof(rtmsg)) {
        const auto* rt = reinterpret_cast<const rtmsg*>(body);
        fixed = "rtm_dst_len=" + std::to_string(rt->rtm_dst_len) + ", rtm_table=" + std::to_string(rt->rtm_table);
        attrs = attributes(body + NLMSG_ALIGN(sizeof(rtmsg)), body_len - NLMSG_ALIGN(sizeof(rtmsg)),
                           {{RTA_DST, "RTA_DST", 'a'}, {RTA_GATEWAY, "RTA_GATEWAY", 'a'}, {RTA_OIF, "RTA_OIF", 'u'}});
    }
    std::string all = fixed + (fixed.empty() || attrs.empty() ? "" : ", ") + attrs;
    return type + " {" + all + "}";
}

std::string quoted(const char* s) {
    if (!s) return "NULL";
    std::string out = "\"";
    for (const char* p = s; *p; ++p) {
        if (*p == '"' || *p == '\\') out += '\\';
        if (*p == '\n') {
            out += "\\n";
            continue;
        }
        out += *p;
    }
    return out + "\"";
}

}  // namespace hutch::sys
