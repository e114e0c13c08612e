// The sensitive-syscall section of hutch-probe: which calls the process may make, tried safely
// (see the table at the top of syscalls.cpp), through the native x86-64 ABI and through the
// 32-bit i386 ABI (int $0x80), which a seccomp filter must cover separately.
#pragma once

#include <string>
#include <vector>

#include "caps/probe/probe_lib.hpp"

namespace hutch::probe {

// Every call the probe knows, by the name the kernel's syscall tables give it.
enum class Sys {
    mount, umount, umount2, pivot_root, chroot, unshare, setns, clone, clone3,
    open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr,
    keyctl, add_key, request_key,
    bpf, perf_event_open, userfaultfd, io_uring_setup,
    ptrace, process_vm_readv, process_vm_writev, kcmp, pidfd_getfd, process_madvise,
    kexec_load, kexec_file_load, init_module, finit_module, delete_module, reboot,
    clock_settime, clock_settime64, clock_adjtime, clock_adjtime64, settimeofday, stime,
    swapon, swapoff, open_by_handle_at, acct, quotactl, syslog, iopl, ioperm,
    sethostname, setdomainname, fanotify_init, personality,
    getpid,  // the i386 canary, not reported
};

// The syscall number in each ABI, or -1 when that ABI has no such call.
long x86_64_number(Sys s);
long i386_number(Sys s);  // from <asm/unistd_32.h>, in syscalls_i386.cpp

enum class Abi { x86_64, i386 };

struct SyscallReport {
    std::string name;
    std::string call;       // what was tried, C-like
    std::string cap_first;  // a capability the kernel checks before the arguments, or empty
    Verdict verdict;
};

struct AbiReport {
    Abi abi = Abi::x86_64;
    bool available = true;
    std::string unavailable;  // why not, when !available
    std::vector<SyscallReport> calls;
};

// Tries every call of the table for `abi`, each in its own short-lived child process.
AbiReport probe_syscalls(Abi abi);

}  // namespace hutch::probe
