#include "runtime/sys/describe.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>

#include <cstdio>
#include <cstring>
#include <initializer_list>

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

std::string ioctl_request(unsigned long request) {
    return one_name(static_cast<long>(request), {{TIOCSPTLCK, "TIOCSPTLCK"},
                                                 {TIOCGPTPEER, "TIOCGPTPEER"},
                                                 {TIOCSCTTY, "TIOCSCTTY"},
                                                 {TIOCSWINSZ, "TIOCSWINSZ"},
                                                 {TIOCGWINSZ, "TIOCGWINSZ"}});
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
