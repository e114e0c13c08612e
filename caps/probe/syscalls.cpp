// Which sensitive calls are blocked, tried safely.
//
// The rule: every call must change nothing even when it is ALLOWED and the probe runs as real
// root with every capability and no seccomp filter (--privileged). So each call gets arguments
// the kernel rejects before it acts: an empty path (never resolves: no LOOKUP_EMPTY), fd -1, a
// flag bit no kernel defines, a pid above PID_MAX_LIMIT, a NULL or unreadable pointer. Where one
// check might one day go away, a second independent one backs it. On top of that each call runs
// in a throwaway child (fork), which is non-dumpable (no core file, nothing handed to the host's
// core_pattern helper when a filter kills it with SIGSYS) and has an alarm, so an effect local to
// the process could not outlive the call and a SECCOMP_RET_KILL cannot take the probe down.
// A blocked call may still be logged by the host's audit subsystem; that is seccomp's doing.
//
// Verdict: EPERM or ENOSYS = blocked; the errno the kernel gives for these arguments = allowed.
// Some calls check a capability BEFORE their arguments (column "cap first"): there EPERM can
// also mean "allowed by seccomp, refused by the kernel", and the report says so.
//
//  call               arguments                          allowed ->   why nothing can happen
//  ----------------   --------------------------------   ----------   ------------------------------
//  mount              ("", "", "", 0, NULL)              ENOENT       target looked up first; "" fails
//  umount (i386)      ("")                               ENOENT       "" never resolves
//  umount2            ("", 0x80000000)                   EINVAL       flags checked before the lookup
//  pivot_root         ("", "")                           ENOENT       cap first (SYS_ADMIN); "" fails
//  chroot             ("")                               ENOENT       lookup before the cap check
//  unshare            (CLONE_NEW{NS,UTS,IPC,NET,PID,     EINVAL       check_unshare_flags() rejects
//                      CGROUP,USER} | 0x1)                            CSIGNAL bits before anything;
//                                                                     namespace bits set so filters
//                                                                     that mask them see them
//  setns              (-1, 0)                            EBADF        no namespace to join
//  clone              (NEWNS|NEWUSER|FS|SIGHAND,0,0,0,0) EINVAL       copy_process() refuses NEWNS+FS,
//                                                                     NEWUSER+FS and SIGHAND without VM
//                                                                     before allocating anything
//  clone3             (NULL, 0)                          EINVAL       size below CLONE_ARGS_SIZE_VER0
//  open_tree          (-1, "", 0x80000000)               EINVAL       unknown flag; "" fails anyway
//  move_mount         (-1, "", -1, "", 0x80000000)       EINVAL       cap first; unknown flag
//  fsopen             ("", 0x80000000)                   EINVAL       cap first; unknown flag
//  fsconfig           (-1, 0xdead, NULL, NULL, 0)        EINVAL       fd < 0 refused; no context
//  fsmount            (-1, 0x80000000, 0x80000000)       EINVAL       cap first; unknown flags
//  fspick             (-1, "", 0x80000000)               EINVAL       cap first; unknown flag
//  mount_setattr      (-1, "", 0x80000000, NULL, 0)      EINVAL       unknown flag; size 0
//  keyctl             (0xdead, 0, 0, 0, 0)               EOPNOTSUPP   no such command
//  add_key            (NULL, NULL, NULL, 0, 0)           EFAULT       type copied first
//  request_key        (NULL, NULL, NULL, 0)              EFAULT       type copied first: no upcall
//  bpf                (-1, NULL, 0)                      EINVAL       no such command (cap first on
//                                                                     kernels < 6.5 when unprivileged
//                                                                     BPF is disabled)
//  perf_event_open    (NULL, 0, -1, -1, ~0)              EINVAL       unknown flags; NULL attr
//  userfaultfd        (UFFD_USER_MODE_ONLY|0x40000000)   EINVAL       unknown flag (user-mode-only
//                                                                     skips the sysctl/cap check)
//  io_uring_setup     (0, NULL)                          EFAULT       params copied first (EPERM from
//                                                                     kernel.io_uring_disabled too)
//  ptrace             (PTRACE_PEEKDATA, 0x7fffffff, 0,0) ESRCH        pid > PID_MAX_LIMIT; only reads
//  process_vm_readv   (0x7fffffff, NULL,0, NULL,0, 1)    EINVAL       flags must be 0
//  process_vm_writev  (0x7fffffff, NULL,0, NULL,0, 1)    EINVAL       flags must be 0
//  kcmp               (0x7fffffff, 0x7fffffff, 0, 0, 0)  ESRCH        no such task; only compares
//  pidfd_getfd        (-1, 0, 1)                         EINVAL       flags must be 0; fd -1
//  process_madvise    (-1, NULL, 0, 0, 1)                EINVAL       flags must be 0
//  kexec_load         (0, ~0, NULL, 0x8000)              EINVAL       cap first (SYS_BOOT); unknown
//                                                                     flag AND nr_segments > 16, so
//                                                                     never the nr_segments == 0
//                                                                     "unload" form
//  kexec_file_load    (-1, -1, 0, NULL, 0x80000000)      EINVAL       cap first; unknown flag (never
//   (x86-64 only)                                                     KEXEC_FILE_UNLOAD); fds -1
//  init_module        (NULL, 0, "")                      ENOEXEC      cap first (SYS_MODULE); length
//                                                                     0 is shorter than an ELF header
//  finit_module       (-1, "", 0)                        EBADF        cap first; no file
//  delete_module      (NULL, O_NONBLOCK)                 EFAULT       cap first; name copy faults
//  reboot             (0, 0, 0xdeadbeef, NULL)           EINVAL       cap first (SYS_BOOT); wrong
//                                                                     magic AND an unknown command
//  clock_settime      (0x7fffffff, <unreadable>)         EINVAL       no such clock; time unreadable
//  clock_settime64 (i386), same                          EINVAL
//  clock_adjtime      (0x7fffffff, <unreadable>)         EFAULT       timex copied first; no clock
//  clock_adjtime64 (i386), same                          EFAULT
//  settimeofday       (NULL, <unreadable>)               EFAULT       tz copied before the cap check;
//                                                                     tv NULL: the clock is untouched
//  stime (i386)       (<unreadable>)                     EFAULT       time copied first
//  swapon             ("", 0x80000000)                   EINVAL       flags checked before the cap
//  swapoff            ("")                               ENOENT       cap first (SYS_ADMIN); "" fails
//  open_by_handle_at  (-1, NULL, 0)                      EBADF        cap first on older kernels
//                                                                     (DAC_READ_SEARCH); no handle
//  acct               ("")                               ENOENT       cap first (SYS_PACCT); never
//                                                                     NULL, which would turn
//                                                                     accounting off
//  quotactl           (0xff, NULL, 0, NULL)              EINVAL       quota type 255 >= MAXQUOTAS
//  syslog             (0x7fffffff, NULL, 0)              EINVAL       cap first (SYSLOG); no such
//                                                                     action (never CLEAR/CONSOLE_*)
//  iopl               (4)                                EINVAL       levels are 0..3
//  ioperm             (0, 0, 0)                          EINVAL       empty range; turn_on 0
//  sethostname        (NULL, -1)                         EINVAL       cap first (SYS_ADMIN); bad len
//  setdomainname      (NULL, -1)                         EINVAL       cap first (SYS_ADMIN); bad len
//  fanotify_init      (0x80000000, 0)                    EINVAL       unknown flag
//  personality        (0xffffffff)                       ok           0xffffffff only queries
//
// Deliberately not tried: vhangup (no failing form: it would hang up the terminal), acct(NULL),
// unshare/clone with only valid flags (a real change of the probe's own namespaces), any
// settimeofday/clock_settime with a readable time, reboot with the real magic numbers.
//
// The "" and <unreadable> pointers live in two pages mapped below 4 GiB (MAP_32BIT): a read-only
// zero page ("") and a PROT_NONE page, so the same values work for the i386 ABI, whose pointers
// are 32 bits wide.
#include "caps/probe/syscalls.hpp"

#if !defined(__x86_64__)
#error "the syscall table and the int $0x80 path are written for x86-64"
#endif

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

namespace hutch::probe {

long x86_64_number(Sys s) {
    switch (s) {
        case Sys::mount: return SYS_mount;
        case Sys::umount: return -1;  // x86-64 has only umount2
        case Sys::umount2: return SYS_umount2;
        case Sys::pivot_root: return SYS_pivot_root;
        case Sys::chroot: return SYS_chroot;
        case Sys::unshare: return SYS_unshare;
        case Sys::setns: return SYS_setns;
        case Sys::clone: return SYS_clone;
        case Sys::clone3: return SYS_clone3;
        case Sys::open_tree: return SYS_open_tree;
        case Sys::move_mount: return SYS_move_mount;
        case Sys::fsopen: return SYS_fsopen;
        case Sys::fsconfig: return SYS_fsconfig;
        case Sys::fsmount: return SYS_fsmount;
        case Sys::fspick: return SYS_fspick;
        case Sys::mount_setattr: return SYS_mount_setattr;
        case Sys::keyctl: return SYS_keyctl;
        case Sys::add_key: return SYS_add_key;
        case Sys::request_key: return SYS_request_key;
        case Sys::bpf: return SYS_bpf;
        case Sys::perf_event_open: return SYS_perf_event_open;
        case Sys::userfaultfd: return SYS_userfaultfd;
        case Sys::io_uring_setup: return SYS_io_uring_setup;
        case Sys::ptrace: return SYS_ptrace;
        case Sys::process_vm_readv: return SYS_process_vm_readv;
        case Sys::process_vm_writev: return SYS_process_vm_writev;
        case Sys::kcmp: return SYS_kcmp;
        case Sys::pidfd_getfd: return SYS_pidfd_getfd;
        case Sys::process_madvise: return SYS_process_madvise;
        case Sys::kexec_load: return SYS_kexec_load;
        case Sys::kexec_file_load: return SYS_kexec_file_load;
        case Sys::init_module: return SYS_init_module;
        case Sys::finit_module: return SYS_finit_module;
        case Sys::delete_module: return SYS_delete_module;
        case Sys::reboot: return SYS_reboot;
        case Sys::clock_settime: return SYS_clock_settime;
        case Sys::clock_settime64: return -1;  // 64-bit time is the only time here
        case Sys::clock_adjtime: return SYS_clock_adjtime;
        case Sys::clock_adjtime64: return -1;
        case Sys::settimeofday: return SYS_settimeofday;
        case Sys::stime: return -1;
        case Sys::swapon: return SYS_swapon;
        case Sys::swapoff: return SYS_swapoff;
        case Sys::open_by_handle_at: return SYS_open_by_handle_at;
        case Sys::acct: return SYS_acct;
        case Sys::quotactl: return SYS_quotactl;
        case Sys::syslog: return SYS_syslog;
        case Sys::iopl: return SYS_iopl;
        case Sys::ioperm: return SYS_ioperm;
        case Sys::sethostname: return SYS_sethostname;
        case Sys::setdomainname: return SYS_setdomainname;
        case Sys::fanotify_init: return SYS_fanotify_init;
        case Sys::personality: return SYS_personality;
        case Sys::getpid: return SYS_getpid;
    }
    return -1;
}

namespace {

// An argument: a plain value, or one of the two scratch pointers.
struct Arg {
    enum class Kind { value, empty_string, unreadable } kind = Kind::value;
    std::uint64_t value = 0;
};
constexpr Arg V(std::uint64_t v) { return {Arg::Kind::value, v}; }
constexpr Arg kEmpty{Arg::Kind::empty_string, 0};      // ""
constexpr Arg kUnreadable{Arg::Kind::unreadable, 0};   // a PROT_NONE page
constexpr std::uint64_t kMinus1 = ~std::uint64_t{0};  // -1 for int/long arguments
constexpr std::uint64_t kNoPid = 0x7fffffff;          // above PID_MAX_LIMIT (4194304)
constexpr std::uint64_t kBadFlag = 0x80000000;        // a flag bit no call defines

constexpr unsigned kX64 = 1, kI386 = 2, kBoth = kX64 | kI386;

struct Probe {
    Sys sys;
    const char* name;
    const char* call;
    std::array<Arg, 6> args;
    std::vector<int> allowed;  // the kernel's answers when the call is allowed
    bool ok_allowed;           // success is an allowed answer (a pure query)
    const char* cap_first;     // capability the kernel checks before the arguments
    unsigned abis;
};

// The kernel's own constants, spelled out so no header needs to be newer than the running kernel.
constexpr std::uint64_t kCloneNewns = 0x00020000, kCloneNewcgroup = 0x02000000,
                        kCloneNewuts = 0x04000000, kCloneNewipc = 0x08000000,
                        kCloneNewuser = 0x10000000, kCloneNewpid = 0x20000000,
                        kCloneNewnet = 0x40000000, kCloneFs = 0x00000200, kCloneSighand = 0x00000800;
constexpr std::uint64_t kAllNewNs = kCloneNewns | kCloneNewcgroup | kCloneNewuts | kCloneNewipc |
                                    kCloneNewuser | kCloneNewpid | kCloneNewnet;

const std::vector<Probe>& table() {
    static const std::vector<Probe> probes = {
        {Sys::mount, "mount", R"(mount("", "", "", 0, NULL))",
         {kEmpty, kEmpty, kEmpty, V(0), V(0)}, {ENOENT}, false, nullptr, kBoth},
        {Sys::umount, "umount", R"(umount(""))", {kEmpty}, {ENOENT}, false, nullptr, kI386},
        {Sys::umount2, "umount2", R"(umount2("", 0x80000000))", {kEmpty, V(kBadFlag)},
         {EINVAL}, false, nullptr, kBoth},
        {Sys::pivot_root, "pivot_root", R"(pivot_root("", ""))", {kEmpty, kEmpty}, {ENOENT},
         false, "CAP_SYS_ADMIN", kBoth},
        {Sys::chroot, "chroot", R"(chroot(""))", {kEmpty}, {ENOENT}, false, nullptr, kBoth},
        {Sys::unshare, "unshare", "unshare(CLONE_NEW{NS,UTS,IPC,NET,PID,CGROUP,USER} | 0x1)",
         {V(kAllNewNs | 0x1)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::setns, "setns", "setns(-1, 0)", {V(kMinus1), V(0)}, {EBADF}, false, nullptr, kBoth},
        {Sys::clone, "clone", "clone(CLONE_NEWNS|CLONE_NEWUSER|CLONE_FS|CLONE_SIGHAND, 0, 0, 0, 0)",
         {V(kCloneNewns | kCloneNewuser | kCloneFs | kCloneSighand), V(0), V(0), V(0), V(0)},
         {EINVAL}, false, nullptr, kBoth},
        {Sys::clone3, "clone3", "clone3(NULL, 0)", {V(0), V(0)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::open_tree, "open_tree", R"(open_tree(-1, "", 0x80000000))",
         {V(kMinus1), kEmpty, V(kBadFlag)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::move_mount, "move_mount", R"(move_mount(-1, "", -1, "", 0x80000000))",
         {V(kMinus1), kEmpty, V(kMinus1), kEmpty, V(kBadFlag)}, {EINVAL}, false, "CAP_SYS_ADMIN",
         kBoth},
        {Sys::fsopen, "fsopen", R"(fsopen("", 0x80000000))", {kEmpty, V(kBadFlag)}, {EINVAL},
         false, "CAP_SYS_ADMIN", kBoth},
        {Sys::fsconfig, "fsconfig", "fsconfig(-1, 0xdead, NULL, NULL, 0)",
         {V(kMinus1), V(0xdead), V(0), V(0), V(0)}, {EINVAL, EBADF, EOPNOTSUPP}, false, nullptr,
         kBoth},
        {Sys::fsmount, "fsmount", "fsmount(-1, 0x80000000, 0x80000000)",
         {V(kMinus1), V(kBadFlag), V(kBadFlag)}, {EINVAL, EBADF}, false, "CAP_SYS_ADMIN", kBoth},
        {Sys::fspick, "fspick", R"(fspick(-1, "", 0x80000000))", {V(kMinus1), kEmpty, V(kBadFlag)},
         {EINVAL}, false, "CAP_SYS_ADMIN", kBoth},
        {Sys::mount_setattr, "mount_setattr", R"(mount_setattr(-1, "", 0x80000000, NULL, 0))",
         {V(kMinus1), kEmpty, V(kBadFlag), V(0), V(0)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::keyctl, "keyctl", "keyctl(0xdead, 0, 0, 0, 0)", {V(0xdead)}, {EOPNOTSUPP}, false,
         nullptr, kBoth},
        {Sys::add_key, "add_key", "add_key(NULL, NULL, NULL, 0, 0)", {V(0), V(0), V(0), V(0), V(0)},
         {EFAULT}, false, nullptr, kBoth},
        {Sys::request_key, "request_key", "request_key(NULL, NULL, NULL, 0)", {V(0), V(0), V(0), V(0)},
         {EFAULT}, false, nullptr, kBoth},
        {Sys::bpf, "bpf", "bpf(-1, NULL, 0)", {V(kMinus1), V(0), V(0)}, {EINVAL}, false, "CAP_BPF",
         kBoth},
        {Sys::perf_event_open, "perf_event_open", "perf_event_open(NULL, 0, -1, -1, ~0)",
         {V(0), V(0), V(kMinus1), V(kMinus1), V(kMinus1)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::userfaultfd, "userfaultfd", "userfaultfd(UFFD_USER_MODE_ONLY | 0x40000000)",
         {V(0x40000001)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::io_uring_setup, "io_uring_setup", "io_uring_setup(0, NULL)", {V(0), V(0)},
         {EFAULT, EINVAL}, false, nullptr, kBoth},
        {Sys::ptrace, "ptrace", "ptrace(PTRACE_PEEKDATA, 0x7fffffff, 0, 0)",
         {V(2), V(kNoPid), V(0), V(0)}, {ESRCH}, false, nullptr, kBoth},
        {Sys::process_vm_readv, "process_vm_readv", "process_vm_readv(0x7fffffff, NULL, 0, NULL, 0, 1)",
         {V(kNoPid), V(0), V(0), V(0), V(0), V(1)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::process_vm_writev, "process_vm_writev",
         "process_vm_writev(0x7fffffff, NULL, 0, NULL, 0, 1)",
         {V(kNoPid), V(0), V(0), V(0), V(0), V(1)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::kcmp, "kcmp", "kcmp(0x7fffffff, 0x7fffffff, 0, 0, 0)",
         {V(kNoPid), V(kNoPid), V(0), V(0), V(0)}, {ESRCH}, false, nullptr, kBoth},
        {Sys::pidfd_getfd, "pidfd_getfd", "pidfd_getfd(-1, 0, 1)", {V(kMinus1), V(0), V(1)},
         {EINVAL, EBADF}, false, nullptr, kBoth},
        {Sys::process_madvise, "process_madvise", "process_madvise(-1, NULL, 0, 0, 1)",
         {V(kMinus1), V(0), V(0), V(0), V(1)}, {EINVAL, EBADF}, false, nullptr, kBoth},
        {Sys::kexec_load, "kexec_load", "kexec_load(0, ~0, NULL, 0x8000)",
         {V(0), V(kMinus1), V(0), V(0x8000)}, {EINVAL}, false, "CAP_SYS_BOOT", kBoth},
        {Sys::kexec_file_load, "kexec_file_load", "kexec_file_load(-1, -1, 0, NULL, 0x80000000)",
         {V(kMinus1), V(kMinus1), V(0), V(0), V(kBadFlag)}, {EINVAL, EBADF}, false, "CAP_SYS_BOOT",
         kX64},
        {Sys::init_module, "init_module", R"(init_module(NULL, 0, ""))", {V(0), V(0), kEmpty},
         {ENOEXEC, EFAULT, EINVAL}, false, "CAP_SYS_MODULE", kBoth},
        {Sys::finit_module, "finit_module", R"(finit_module(-1, "", 0))", {V(kMinus1), kEmpty, V(0)},
         {EBADF}, false, "CAP_SYS_MODULE", kBoth},
        {Sys::delete_module, "delete_module", "delete_module(NULL, O_NONBLOCK)",
         {V(0), V(O_NONBLOCK)}, {EFAULT}, false, "CAP_SYS_MODULE", kBoth},
        {Sys::reboot, "reboot", "reboot(0, 0, 0xdeadbeef, NULL)", {V(0), V(0), V(0xdeadbeef), V(0)},
         {EINVAL}, false, "CAP_SYS_BOOT", kBoth},
        {Sys::clock_settime, "clock_settime", "clock_settime(0x7fffffff, <unreadable>)",
         {V(0x7fffffff), kUnreadable}, {EINVAL}, false, nullptr, kBoth},
        {Sys::clock_settime64, "clock_settime64", "clock_settime64(0x7fffffff, <unreadable>)",
         {V(0x7fffffff), kUnreadable}, {EINVAL}, false, nullptr, kI386},
        {Sys::clock_adjtime, "clock_adjtime", "clock_adjtime(0x7fffffff, <unreadable>)",
         {V(0x7fffffff), kUnreadable}, {EFAULT, EINVAL}, false, nullptr, kBoth},
        {Sys::clock_adjtime64, "clock_adjtime64", "clock_adjtime64(0x7fffffff, <unreadable>)",
         {V(0x7fffffff), kUnreadable}, {EFAULT, EINVAL}, false, nullptr, kI386},
        {Sys::settimeofday, "settimeofday", "settimeofday(NULL, <unreadable>)", {V(0), kUnreadable},
         {EFAULT}, false, nullptr, kBoth},
        {Sys::stime, "stime", "stime(<unreadable>)", {kUnreadable}, {EFAULT}, false, nullptr, kI386},
        {Sys::swapon, "swapon", R"(swapon("", 0x80000000))", {kEmpty, V(kBadFlag)}, {EINVAL}, false,
         nullptr, kBoth},
        {Sys::swapoff, "swapoff", R"(swapoff(""))", {kEmpty}, {ENOENT}, false, "CAP_SYS_ADMIN", kBoth},
        {Sys::open_by_handle_at, "open_by_handle_at", "open_by_handle_at(-1, NULL, 0)",
         {V(kMinus1), V(0), V(0)}, {EBADF, EFAULT}, false, "CAP_DAC_READ_SEARCH", kBoth},
        {Sys::acct, "acct", R"(acct(""))", {kEmpty}, {ENOENT}, false, "CAP_SYS_PACCT", kBoth},
        {Sys::quotactl, "quotactl", "quotactl(0xff, NULL, 0, NULL)", {V(0xff), V(0), V(0), V(0)},
         {EINVAL}, false, nullptr, kBoth},
        {Sys::syslog, "syslog", "syslog(0x7fffffff, NULL, 0)", {V(0x7fffffff), V(0), V(0)}, {EINVAL},
         false, "CAP_SYSLOG", kBoth},
        {Sys::iopl, "iopl", "iopl(4)", {V(4)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::ioperm, "ioperm", "ioperm(0, 0, 0)", {V(0), V(0), V(0)}, {EINVAL}, false, nullptr, kBoth},
        {Sys::sethostname, "sethostname", "sethostname(NULL, -1)", {V(0), V(kMinus1)}, {EINVAL},
         false, "CAP_SYS_ADMIN", kBoth},
        {Sys::setdomainname, "setdomainname", "setdomainname(NULL, -1)", {V(0), V(kMinus1)}, {EINVAL},
         false, "CAP_SYS_ADMIN", kBoth},
        {Sys::fanotify_init, "fanotify_init", "fanotify_init(0x80000000, 0)", {V(kBadFlag), V(0)},
         {EINVAL}, false, "CAP_SYS_ADMIN", kBoth},
        {Sys::personality, "personality", "personality(0xffffffff)", {V(0xffffffff)}, {}, true,
         nullptr, kBoth},
    };
    return probes;
}

// The two scratch pages below 4 GiB: [0] reads as "", [1] faults on every access.
struct Scratch {
    std::uint64_t empty = 0, unreadable = 0;
    bool ok = false;
};

const Scratch& scratch() {
    static const Scratch s = [] {
        Scratch out;
        long page = ::sysconf(_SC_PAGESIZE);
        void* p = ::mmap(nullptr, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (p == MAP_FAILED) return out;
        if (::mprotect(static_cast<char*>(p) + page, page, PROT_NONE) != 0) return out;
        out.empty = reinterpret_cast<std::uintptr_t>(p);
        out.unreadable = out.empty + static_cast<std::uint64_t>(page);
        out.ok = out.unreadable + page <= 0xffffffffULL;
        return out;
    }();
    return s;
}

std::uint64_t resolve(const Arg& a) {
    switch (a.kind) {
        case Arg::Kind::empty_string: return scratch().empty;
        case Arg::Kind::unreadable: return scratch().unreadable;
        case Arg::Kind::value: break;
    }
    return a.value;
}

// A system call through the i386 entry (int $0x80): eax = number, ebx ecx edx esi edi ebp = the
// arguments, truncated to 32 bits; the result comes back in eax. rbp is saved by hand (it may be
// the frame pointer), and the stack pointer first steps over the red zone, which the push would
// otherwise overwrite. All argument registers are in/out so the compiler assumes nothing of them.
long int80(long nr, const std::array<std::uint64_t, 6>& a) {
    std::uint64_t ax = static_cast<std::uint32_t>(nr);
    std::uint64_t bx = static_cast<std::uint32_t>(a[0]), cx = static_cast<std::uint32_t>(a[1]),
                  dx = static_cast<std::uint32_t>(a[2]), si = static_cast<std::uint32_t>(a[3]),
                  di = static_cast<std::uint32_t>(a[4]);
    register std::uint64_t bp_value asm("r12") = static_cast<std::uint32_t>(a[5]);
    asm volatile(
        "sub $128, %%rsp\n\t"
        "push %%rbp\n\t"
        "mov %%r12, %%rbp\n\t"
        "int $0x80\n\t"
        "pop %%rbp\n\t"
        "add $128, %%rsp"
        : "+a"(ax), "+b"(bx), "+c"(cx), "+d"(dx), "+S"(si), "+D"(di), "+r"(bp_value)
        :
        : "memory", "cc", "r8", "r9", "r10", "r11");
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(ax));  // sign-extend eax
}

struct RawResult {
    long ret = 0;
    int err = 0;
};

RawResult call_native(long nr, const std::array<std::uint64_t, 6>& a) {
    errno = 0;
    long r = ::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    return {r, r == -1 ? errno : 0};
}

RawResult call_i386(long nr, const std::array<std::uint64_t, 6>& a) {
    long r = int80(nr, a);
    if (r < 0 && r > -4096) return {-1, static_cast<int>(-r)};
    return {r, 0};
}

// Runs one call in a child: non-dumpable, with an alarm, reporting over a pipe. A child that
// somehow returns from clone as a new process (ret 0) exits at once.
Outcome run_in_child(Abi abi, long nr, const std::array<std::uint64_t, 6>& args) {
    Outcome o;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        o.why_not_run = "pipe: " + errno_name(errno);
        return o;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        o.why_not_run = "fork: " + errno_name(errno);
        ::close(fds[0]);
        ::close(fds[1]);
        return o;
    }
    if (pid == 0) {
        ::close(fds[0]);
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        struct rlimit no_core {0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        ::alarm(5);
        RawResult r = abi == Abi::i386 ? call_i386(nr, args) : call_native(nr, args);
        if (r.err == 0 && r.ret == 0 && nr == (abi == Abi::i386 ? i386_number(Sys::clone)
                                                               : x86_64_number(Sys::clone)))
            ::syscall(SYS_exit_group, 0);  // a new process after all: leave at once
        ssize_t n = ::write(fds[1], &r, sizeof r);
        ::_exit(n == static_cast<ssize_t>(sizeof r) ? 0 : 1);
    }
    ::close(fds[1]);
    RawResult r;
    std::size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&r) + got, sizeof r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        if (WTERMSIG(status) == SIGALRM) {
            o.kind = Outcome::Kind::timed_out;
        } else {
            o.kind = Outcome::Kind::killed;
            o.signal = WTERMSIG(status);
        }
        return o;
    }
    if (got != sizeof r) {
        o.why_not_run = "the child reported nothing";
        return o;
    }
    if (r.err == 0 && r.ret > 0 && nr == (abi == Abi::i386 ? i386_number(Sys::clone)
                                                         : x86_64_number(Sys::clone)))
        ::waitpid(static_cast<pid_t>(r.ret), nullptr, __WALL);  // reap what clone made
    o.kind = Outcome::Kind::returned;
    o.ret = r.ret;
    o.err = r.err;
    return o;
}

std::array<std::uint64_t, 6> resolve_all(const std::array<Arg, 6>& args) {
    std::array<std::uint64_t, 6> out{};
    for (std::size_t i = 0; i < args.size(); ++i) out[i] = resolve(args[i]);
    return out;
}

}  // namespace

AbiReport probe_syscalls(Abi abi) {
    AbiReport report;
    report.abi = abi;
    if (!scratch().ok) {
        report.available = false;
        report.unavailable = "could not map the scratch pages below 4 GiB";
        return report;
    }
    if (abi == Abi::i386) {
        // Canary: getpid through int $0x80. A kernel without IA32 emulation faults (SIGSEGV); a
        // filter that has no i386 rules kills on the foreign architecture (SIGSYS).
        Outcome canary = run_in_child(abi, i386_number(Sys::getpid), {});
        if (canary.kind == Outcome::Kind::killed && canary.signal == SIGSYS) {
            report.available = false;
            report.unavailable = "every i386 call is killed (SIGSYS on getpid): the seccomp filter "
                                 "rejects the whole architecture";
            return report;
        }
        if (canary.kind != Outcome::Kind::returned || canary.err != 0) {
            report.available = false;
            Verdict v = judge(canary, {}, true);
            report.unavailable = "int $0x80 getpid: " +
                                 (canary.kind == Outcome::Kind::killed
                                      ? "killed by " + signal_name(canary.signal) +
                                            " (no IA32 emulation in this kernel?)"
                                      : v.text);
            return report;
        }
    }
    for (const auto& p : table()) {
        if (!(p.abis & (abi == Abi::i386 ? kI386 : kX64))) continue;
        long nr = abi == Abi::i386 ? i386_number(p.sys) : x86_64_number(p.sys);
        if (nr < 0) continue;
        SyscallReport r;
        r.name = p.name;
        r.call = p.call;
        r.cap_first = p.cap_first ? p.cap_first : "";
        r.verdict = judge(run_in_child(abi, nr, resolve_all(p.args)), p.allowed, p.ok_allowed);
        report.calls.push_back(std::move(r));
    }
    return report;
}

}  // namespace hutch::probe
