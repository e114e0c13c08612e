// The i386 syscall numbers, taken from the kernel's uapi header rather than copied by hand. This
// file includes <asm/unistd_32.h> and nothing that pulls in the x86-64 numbers, whose __NR_*
// macros have the same names.
#include <asm/unistd_32.h>

#include "caps/probe/syscalls.hpp"

namespace hutch::probe {

long i386_number(Sys s) {
    switch (s) {
        case Sys::mount: return __NR_mount;
        case Sys::umount: return __NR_umount;
        case Sys::umount2: return __NR_umount2;
        case Sys::pivot_root: return __NR_pivot_root;
        case Sys::chroot: return __NR_chroot;
        case Sys::unshare: return __NR_unshare;
        case Sys::setns: return __NR_setns;
        case Sys::clone: return __NR_clone;
        case Sys::clone3: return __NR_clone3;
        case Sys::open_tree: return __NR_open_tree;
        case Sys::move_mount: return __NR_move_mount;
        case Sys::fsopen: return __NR_fsopen;
        case Sys::fsconfig: return __NR_fsconfig;
        case Sys::fsmount: return __NR_fsmount;
        case Sys::fspick: return __NR_fspick;
        case Sys::mount_setattr: return __NR_mount_setattr;
        case Sys::keyctl: return __NR_keyctl;
        case Sys::add_key: return __NR_add_key;
        case Sys::request_key: return __NR_request_key;
        case Sys::bpf: return __NR_bpf;
        case Sys::perf_event_open: return __NR_perf_event_open;
        case Sys::userfaultfd: return __NR_userfaultfd;
        case Sys::io_uring_setup: return __NR_io_uring_setup;
        case Sys::ptrace: return __NR_ptrace;
        case Sys::process_vm_readv: return __NR_process_vm_readv;
        case Sys::process_vm_writev: return __NR_process_vm_writev;
        case Sys::kcmp: return __NR_kcmp;
        case Sys::pidfd_getfd: return __NR_pidfd_getfd;
        case Sys::process_madvise: return __NR_process_madvise;
        case Sys::kexec_load: return __NR_kexec_load;
        case Sys::kexec_file_load: return -1;  // x86-32 has no kexec_file_load
        case Sys::init_module: return __NR_init_module;
        case Sys::finit_module: return __NR_finit_module;
        case Sys::delete_module: return __NR_delete_module;
        case Sys::reboot: return __NR_reboot;
        case Sys::clock_settime: return __NR_clock_settime;
        case Sys::clock_settime64: return __NR_clock_settime64;
        case Sys::clock_adjtime: return __NR_clock_adjtime;
        case Sys::clock_adjtime64: return __NR_clock_adjtime64;
        case Sys::settimeofday: return __NR_settimeofday;
        case Sys::stime: return __NR_stime;
        case Sys::swapon: return __NR_swapon;
        case Sys::swapoff: return __NR_swapoff;
        case Sys::open_by_handle_at: return __NR_open_by_handle_at;
        case Sys::acct: return __NR_acct;
        case Sys::quotactl: return __NR_quotactl;
        case Sys::syslog: return __NR_syslog;
        case Sys::iopl: return __NR_iopl;
        case Sys::ioperm: return __NR_ioperm;
        case Sys::sethostname: return __NR_sethostname;
        case Sys::setdomainname: return __NR_setdomainname;
        case Sys::fanotify_init: return __NR_fanotify_init;
        case Sys::personality: return __NR_personality;
        case Sys::getpid: return __NR_getpid;
    }
    return -1;
}

}  // namespace hutch::probe
