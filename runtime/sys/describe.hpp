// Arguments of system calls by name, as strace prints them: "MS_BIND|MS_REC", "CLONE_NEWNS",
// "PR_SET_NO_NEW_PRIVS", "S_IFCHR|0666", "EPERM". Used by the kernel seam's descriptions
// (--explain) and by error messages, so both name a flag the same way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct nlmsghdr;

namespace hutch::sys {

std::string mount_flags(unsigned long flags);      // "MS_NOSUID|MS_NODEV", or "0"
std::string umount_flags(int flags);               // "MNT_DETACH"
std::string mount_attr_flags(std::uint64_t attrs);  // "MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID", or "0"
// The new mount API's flags: open_tree's, move_mount's, and fsconfig's command.
std::string open_tree_flags(unsigned flags);       // "OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC|AT_RECURSIVE"
std::string move_mount_flags(unsigned flags);      // "MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH"
std::string fsconfig_command(unsigned cmd);        // "FSCONFIG_SET_FD"
std::string node_list(const std::vector<unsigned long>& mask);  // the set bits as "0-3,7"
std::string clone_flags(std::uint64_t flags);      // "CLONE_NEWNS|CLONE_PIDFD"
std::string namespace_type(int nstype);            // setns's nstype: "CLONE_NEWNET", or "0"
std::string open_flags(int flags);                 // "O_RDONLY|O_DIRECTORY|O_CLOEXEC"
std::string resolve_flags(std::uint64_t resolve);  // "RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS"
std::string at_flags(int flags);                   // "AT_SYMLINK_NOFOLLOW", "AT_REMOVEDIR", "AT_EMPTY_PATH"
std::string file_mode(mode_t mode);                // "S_IFCHR|0666", "0755"
std::string prctl_call(int option, unsigned long arg2, unsigned long arg3);  // "PR_CAPBSET_DROP, CAP_SYS_ADMIN"
std::string capability_set(std::uint64_t set);     // "CAP_CHOWN|CAP_KILL", or "0"
std::string rlimit_name(int resource);             // "RLIMIT_NOFILE"
std::string sched_policy_name(std::uint32_t policy);  // "SCHED_BATCH"
std::string io_class_name(int io_class);              // "IOPRIO_CLASS_IDLE"
// The other way round, from config.json's names; nullopt for a name that is neither.
std::optional<std::uint32_t> sched_policy_number(const std::string& name);
std::optional<int> io_class_number(const std::string& name);
// set_mempolicy's mode with its flags, "MPOL_BIND|MPOL_F_STATIC_NODES"; and a mode's or a flag's
// number from config.json's name (nullopt for another name).
std::string mempolicy_mode(int mode);
std::optional<int> mempolicy_mode_number(const std::string& name);
std::optional<int> mempolicy_flag_number(const std::string& name);
std::string ioctl_request(unsigned long request);  // "TIOCSCTTY"
std::string seccomp_flags(unsigned flags);         // "SECCOMP_FILTER_FLAG_LOG", or "0"
std::string bpf_command(int cmd);                  // "BPF_PROG_LOAD"
std::string errno_name(int err);                   // "EPERM"
// An rtnetlink request decoded: "RTM_NEWLINK {ifi_index=3, ifi_flags=IFF_UP, IFLA_IFNAME=\"eth0\"}".
std::string netlink_message(const ::nlmsghdr* message);
// A string argument as C source shows it ("/proc", with \" \\ \n escaped), or NULL.
std::string quoted(const char* s);

}  // namespace hutch::sys
