// hutch's default seccomp profile, in Docker's JSON format.
//
// Equal in effect to Docker's default (moby profiles/seccomp/default.json): the default action is
// EPERM, an allow-list of ordinary calls, argument filters on personality and clone, and groups
// that open only with a capability. tests/unit/seccomp_test.cpp checks that, resolved for
// Docker's default capabilities on x86_64, it allows exactly what dockerd 20.10 gave runc
// (shared/reference/docker/12-oci-config-default.json.txt), except the differences listed
// there and below, each taken from REFERENCE.md ("Seccomp default"), i.e. later moby:
//   - io_uring_setup, io_uring_enter, io_uring_register are blocked (moby blocks them since
//     2023: io_uring bypasses seccomp for the operations it submits);
//   - socket is allowed for every address family but AF_ALG (38) and AF_VSOCK (40);
//   - process_vm_readv and process_vm_writev are allowed on kernel 4.8 and later, like ptrace
//     (since 4.8 seccomp runs after ptrace, so a tracer cannot rewrite a checked call);
//   - move_pages opens with CAP_SYS_NICE, with the other NUMA memory-policy calls.
// adjtimex and clock_adjtime stay allowed for all, as in Docker: reading the clock is harmless
// and the kernel itself demands CAP_SYS_TIME to change it.
// Never allowed, whatever the capabilities: keyctl, add_key, request_key (the keyring is not
// namespaced), kexec_load, kexec_file_load, io_uring_*, userfaultfd, pivot_root, swapon,
// swapoff, vm86, vm86old, uselib, nfsservctl, _sysctl.
//
// AF_ALG and AF_VSOCK are blocked with three ranges (< 38, == 39, > 40) rather than one rule
// "!= 38 && != 40": runc and crun turn two conditions on the same argument into two rules that
// are ORed, which would allow every family.
#include <string>

#include "caps/seccomp_profile.hpp"

namespace hutch::seccomp {

const std::string& default_profile_json() {
    static const std::string text = R"json({
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
    ],
    "syscalls": [
        {
            "comment": "Ordinary calls every program makes, allowed for all",
            "names": [
                "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget",
                "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
                "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
                "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
                "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
                "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
                "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
                "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
                "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat",
                "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
                "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
                "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64",
                "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents", "getdents64",
                "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
                "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
                "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
                "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
                "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
                "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
                "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
                "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
                "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
                "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat",
                "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
                "lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create",
                "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
                "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify",
                "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
                "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
                "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat",
                "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
                "pidfd_send_signal", "pipe", "pipe2", "poll", "ppoll", "ppoll_time64", "prctl",
                "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
                "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
                "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
                "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
                "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
                "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
                "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
                "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
                "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
                "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
                "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
                "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
                "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
                "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
                "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
                "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
                "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address",
                "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
                "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
                "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
                "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
                "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
                "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
                "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
                "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
                "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
                "vmsplice", "wait4", "waitid", "waitpid", "write", "writev"
            ],
            "action": "SCMP_ACT_ALLOW"
        },
        {
            "comment": "Since 4.8 seccomp runs after a ptrace stop: a tracer cannot bypass it",
            "names": ["ptrace", "process_vm_readv", "process_vm_writev"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"minKernel": "4.8"}
        },
        {
            "comment": "socket: every family below AF_ALG (38)",
            "names": ["socket"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_LT"}]
        },
        {
            "comment": "socket: AF_NFC (39), between AF_ALG and AF_VSOCK",
            "names": ["socket"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 39, "op": "SCMP_CMP_EQ"}]
        },
        {
            "comment": "socket: every family above AF_VSOCK (40)",
            "names": ["socket"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_GT"}]
        },
        {
            "comment": "personality: PER_LINUX only",
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]
        },
        {
            "comment": "personality: PER_LINUX32",
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]
        },
        {
            "comment": "personality: PER_LINUX | UNAME26",
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"}]
        },
        {
            "comment": "personality: PER_LINUX32 | UNAME26",
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 131080, "op": "SCMP_CMP_EQ"}]
        },
        {
            "comment": "personality: 0xffffffff queries the current persona",
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]
        },
        {
            "names": ["arch_prctl"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"arches": ["amd64", "x32"]}
        },
        {
            "names": ["modify_ldt"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"arches": ["amd64", "x32", "x86"]}
        },
        {
            "names": ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                      "cacheflush", "set_tls"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"arches": ["arm", "arm64"]}
        },
        {
            "names": ["open_by_handle_at"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_DAC_READ_SEARCH"]}
        },
        {
            "comment": "Mounts, namespaces, host names, tracing and BPF: CAP_SYS_ADMIN",
            "names": [
                "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at",
                "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
                "sethostname", "setns", "syslog", "umount", "umount2", "unshare"
            ],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_SYS_ADMIN"]}
        },
        {
            "comment": "clone without CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET",
            "names": ["clone"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
            "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}
        },
        {
            "comment": "clone3 passes its flags in memory seccomp cannot read: ENOSYS makes libc fall back to clone",
            "names": ["clone3"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 38,
            "excludes": {"caps": ["CAP_SYS_ADMIN"]}
        },
        {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}},
        {
            "names": ["delete_module", "init_module", "finit_module"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_SYS_MODULE"]}
        },
        {"names": ["acct"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PACCT"]}},
        {
            "names": ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                      "process_vm_writev", "ptrace"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_SYS_PTRACE"]}
        },
        {
            "names": ["iopl", "ioperm"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_SYS_RAWIO"]}
        },
        {
            "names": ["settimeofday", "stime", "clock_settime", "clock_settime64"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_SYS_TIME"]}
        },
        {"names": ["vhangup"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_TTY_CONFIG"]}},
        {
            "names": ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node",
                      "move_pages"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_SYS_NICE"]}
        },
        {"names": ["syslog"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYSLOG"]}},
        {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_BPF"]}},
        {"names": ["perf_event_open"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_PERFMON"]}}
    ]
})json";
    return text;
}

}  // namespace hutch::seccomp
