// The seam's front half: each public method calls its backend, then describes the call from
// the arguments it was given and what it returned, for whoever listens (kernel.hpp).
#include "runtime/sys/kernel.hpp"

#include <linux/bpf.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/rtnetlink.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include <cstddef>

#include <cerrno>
#include <climits>
#include <cstring>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/sys/describe.hpp"
#include "runtime/sys/linux_kernel.hpp"

namespace hutch::sys {
namespace {

Kernel* g_kernel = nullptr;

}  // namespace

Kernel& kernel() {
    static LinuxKernel linux_kernel;
    return g_kernel ? *g_kernel : linux_kernel;
}

void set_kernel(Kernel& k) { g_kernel = &k; }

void write_kernel_file(const std::string& path, const std::string& text, const char* step, const std::string& shown) {
    Kernel& k = kernel();
    Fd f(k.openat(AT_FDCWD, path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!f || k.write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw SysError(step, "write", shown, errno);
}

// The call is described before it is made (describing may itself make calls, such as the
// readlink that names an fd, which must not disturb the call's errno), and recorded after.
template <typename Call, typename Describe>
auto Kernel::make(CallKind kind, Call call, Describe describe) -> decltype(call()) {
    using R = decltype(call());
    if (!listening(kind)) return call();
    const std::string line = describe();
    R result;
    int err = 0;
    if (int scripted = scripted_failure(line)) {
        result = static_cast<R>(-1);
        err = scripted;
    } else {
        result = call();
        if (result == static_cast<R>(-1)) err = errno;
    }
    record(kind, line, static_cast<long>(result), err);
    errno = err;
    return result;
}

std::string Kernel::path_name(const char* path) const {
    static constexpr char kFdDir[] = "/proc/self/fd/";
    if (path && std::strncmp(path, kFdDir, sizeof kFdDir - 1) == 0) {
        const char* digits = path + sizeof kFdDir - 1;
        if (*digits && std::strspn(digits, "0123456789") == std::strlen(digits)) {
            std::string name = fd_name(std::atoi(digits));
            return name.empty() || name[0] != '/' ? name : quoted(name.c_str());
        }
    }
    return quoted(path);
}

std::string Kernel::at_name(int dirfd, const char* path) const {
    if (dirfd == AT_FDCWD && (!path || !*path)) return "AT_FDCWD";  // the directory alone, as strace
    if (dirfd == AT_FDCWD || (path && path[0] == '/')) return path_name(path);
    std::string dir = fd_name(dirfd);
    if (!path || !*path) return dir.empty() || dir[0] != '/' ? dir : quoted(dir.c_str());
    std::string joined = (dir == "/" ? "" : dir) + "/" + path;
    return quoted(joined.c_str());
}

// --- mounts -------------------------------------------------------------------------------------

int Kernel::mount(const char* source, const char* target, const char* fstype, unsigned long flags, const char* data) {
    return make(CallKind::kStep, [&] { return do_mount(source, target, fstype, flags, data); }, [&] {
        return "mount(" + path_name(source) + ", " + path_name(target) + ", " + quoted(fstype) + ", " +
               mount_flags(flags) + ", " + quoted(data) + ")";
    });
}

int Kernel::mount_setattr(int fd, bool recursive, std::uint64_t attr_set, std::uint64_t attr_clr, int userns_fd,
                          std::uint64_t propagation) {
    return make(CallKind::kStep, [&] { return do_mount_setattr(fd, recursive, attr_set, attr_clr, userns_fd, propagation); }, [&] {
        return "mount_setattr(" + at_name(fd, "") + ", \"\", AT_EMPTY_PATH" + (recursive ? "|AT_RECURSIVE" : "") +
               ", {attr_set=" + mount_attr_flags(attr_set) + ", attr_clr=" + mount_attr_flags(attr_clr) +
               (propagation ? ", propagation=" + mount_flags(propagation) : std::string()) +
               (userns_fd >= 0 ? ", userns_fd=" + fd_name(userns_fd) : std::string()) + "})";
    });
}

int Kernel::open_tree(int dirfd, const char* path, unsigned flags) {
    return make(CallKind::kStep, [&] { return do_open_tree(dirfd, path, flags); },
                [&] { return "open_tree(" + at_name(dirfd, path) + ", " + open_tree_flags(flags) + ")"; });
}

int Kernel::move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path, unsigned flags) {
    return make(CallKind::kStep, [&] { return do_move_mount(from_dirfd, from_path, to_dirfd, to_path, flags); }, [&] {
        return "move_mount(" + at_name(from_dirfd, from_path) + ", " + at_name(to_dirfd, to_path) + ", " +
               move_mount_flags(flags) + ")";
    });
}

int Kernel::fsopen(const char* fstype, unsigned flags) {
    return make(CallKind::kStep, [&] { return do_fsopen(fstype, flags); }, [&] {
        return "fsopen(" + quoted(fstype) + ", " + (flags & FSOPEN_CLOEXEC ? "FSOPEN_CLOEXEC" : "0") + ")";
    });
}

int Kernel::fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux) {
    return make(CallKind::kStep, [&] { return do_fsconfig(fs_fd, cmd, key, value, aux); }, [&] {
        std::string shown_value = cmd == FSCONFIG_SET_STRING ? path_name(value) : "NULL";
        std::string shown_aux = cmd == FSCONFIG_SET_FD ? at_name(aux, "") : std::to_string(aux);
        return "fsconfig(" + fd_name(fs_fd) + ", " + fsconfig_command(cmd) + ", " + quoted(key) + ", " + shown_value +
               ", " + shown_aux + ")";
    });
}

int Kernel::fsmount(int fs_fd, unsigned flags, unsigned attr_flags) {
    return make(CallKind::kStep, [&] { return do_fsmount(fs_fd, flags, attr_flags); }, [&] {
        return "fsmount(" + fd_name(fs_fd) + ", " + (flags & FSMOUNT_CLOEXEC ? "FSMOUNT_CLOEXEC" : "0") + ", " +
               mount_attr_flags(attr_flags) + ")";
    });
}

int Kernel::umount2(const char* target, int flags) {
    return make(CallKind::kStep, [&] { return do_umount2(target, flags); },
                  [&] { return "umount2(" + path_name(target) + ", " + umount_flags(flags) + ")"; });
}

int Kernel::pivot_root(const char* new_root, const char* put_old) {
    return make(CallKind::kStep, [&] { return do_pivot_root(new_root, put_old); },
                  [&] { return "pivot_root(" + quoted(new_root) + ", " + quoted(put_old) + ")"; });
}

// --- lookups ------------------------------------------------------------------------------------

int Kernel::openat2(int dirfd, const char* path, const open_how& how) {
    // RESOLVE_IN_ROOT and RESOLVE_BENEATH answer EAGAIN when a rename or a mount anywhere on the
    // machine raced a ".." step of the lookup, and openat2(2) asks the caller to retry. A busy
    // machine (the test suite's parallel starts) does get it. Each try is a call of its own.
    constexpr int kTries = 64;
    for (int attempt = 1;; ++attempt) {
        const int fd = make(CallKind::kLookup, [&] { return do_openat2(dirfd, path, how); }, [&] {
            return "openat2(" + at_name(dirfd, "") + ", " + quoted(path) + ", {flags=" +
                   open_flags(static_cast<int>(how.flags)) + ", resolve=" + resolve_flags(how.resolve) + "})";
        });
        if (fd >= 0 || errno != EAGAIN || attempt == kTries) return fd;
    }
}

int Kernel::openat(int dirfd, const char* path, int flags, mode_t mode) {
    return make(flags & O_CREAT ? CallKind::kStep : CallKind::kLookup, [&] { return do_openat(dirfd, path, flags, mode); }, [&] {
        return "openat(" + (dirfd == AT_FDCWD ? std::string("AT_FDCWD") : at_name(dirfd, "")) + ", " + quoted(path) +
               ", " + open_flags(flags) + (flags & O_CREAT ? ", " + file_mode(mode) : std::string()) + ")";
    });
}

int Kernel::fstat(int fd, struct stat* st) {
    return make(CallKind::kLookup, [&] { return do_fstat(fd, st); }, [&] { return "fstat(" + at_name(fd, "") + ")"; });
}

int Kernel::mount_id(int fd, std::uint64_t& id) {
    return make(CallKind::kLookup, [&] { return do_mount_id(fd, id); },
                [&] { return "statx(" + at_name(fd, "") + ", AT_EMPTY_PATH, STATX_MNT_ID)"; });
}

int Kernel::fstatfs(int fd, struct statfs* st) {
    return make(CallKind::kLookup, [&] { return do_fstatfs(fd, st); }, [&] { return "fstatfs(" + at_name(fd, "") + ")"; });
}

int Kernel::fstatat(int dirfd, const char* path, struct stat* st, int flags) {
    return make(CallKind::kLookup, [&] { return do_fstatat(dirfd, path, st, flags); },
                [&] { return "fstatat(" + at_name(dirfd, path) + ", " + at_flags(flags) + ")"; });
}

int Kernel::faccessat(int dirfd, const char* path, int mode, int flags) {
    return make(CallKind::kLookup, [&] { return do_faccessat(dirfd, path, mode, flags); },
                [&] { return "faccessat(" + at_name(dirfd, path) + ", " + std::to_string(mode) + ")"; });
}

ssize_t Kernel::readlinkat(int dirfd, const char* path, char* buf, std::size_t size) {
    return make(CallKind::kLookup, [&] { return do_readlinkat(dirfd, path, buf, size); },
                  [&] { return "readlinkat(" + at_name(dirfd, path) + ")"; });
}

// --- file steps ---------------------------------------------------------------------------------

int Kernel::mkdirat(int dirfd, const char* path, mode_t mode) {
    return make(CallKind::kStep, [&] { return do_mkdirat(dirfd, path, mode); },
                  [&] { return "mkdirat(" + at_name(dirfd, "") + ", " + quoted(path) + ", " + file_mode(mode) + ")"; });
}

int Kernel::mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) {
    return make(CallKind::kStep, [&] { return do_mknodat(dirfd, path, mode, dev); }, [&] {
        return "mknodat(" + at_name(dirfd, "") + ", " + quoted(path) + ", " + file_mode(mode) + ", makedev(" +
               std::to_string(major(dev)) + ", " + std::to_string(minor(dev)) + "))";
    });
}

int Kernel::symlinkat(const char* target, int dirfd, const char* path) {
    return make(CallKind::kStep, [&] { return do_symlinkat(target, dirfd, path); },
                  [&] { return "symlinkat(" + quoted(target) + ", " + at_name(dirfd, "") + ", " + quoted(path) + ")"; });
}

int Kernel::unlinkat(int dirfd, const char* path, int flags) {
    return make(CallKind::kStep, [&] { return do_unlinkat(dirfd, path, flags); },
                  [&] { return "unlinkat(" + at_name(dirfd, "") + ", " + quoted(path) + ", " + at_flags(flags) + ")"; });
}

int Kernel::linkat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, int flags) {
    return make(CallKind::kStep, [&] { return do_linkat(old_dirfd, old_path, new_dirfd, new_path, flags); }, [&] {
        return "linkat(" + at_name(old_dirfd, old_path) + ", " + at_name(new_dirfd, new_path) + ", " + at_flags(flags) + ")";
    });
}

int Kernel::fchmodat(int dirfd, const char* path, mode_t mode, int flags) {
    return make(CallKind::kStep, [&] { return do_fchmodat(dirfd, path, mode, flags); }, [&] {
        return "fchmodat(" + at_name(dirfd, "") + ", " + quoted(path) + ", " + file_mode(mode) + ", " +
               at_flags(flags) + ")";
    });
}

int Kernel::fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) {
    return make(CallKind::kStep, [&] { return do_fchownat(dirfd, path, uid, gid, flags); }, [&] {
        return "fchownat(" + at_name(dirfd, "") + ", " + quoted(path) + ", " + std::to_string(uid) + ", " +
               std::to_string(gid) + ", " + at_flags(flags) + ")";
    });
}

int Kernel::fchown(int fd, uid_t uid, gid_t gid) {
    return make(CallKind::kStep, [&] { return do_fchown(fd, uid, gid); }, [&] {
        return "fchown(" + at_name(fd, "") + ", " + std::to_string(uid) + ", " + std::to_string(gid) + ")";
    });
}

ssize_t Kernel::write(int fd, const void* data, std::size_t size) {
    return make(CallKind::kStep, [&] { return do_write(fd, data, size); }, [&] {
        std::string text(static_cast<const char*>(data), size);
        return "write(" + at_name(fd, "") + ", " + quoted(text.c_str()) + ")";
    });
}

int Kernel::chdir(const char* path) {
    return make(CallKind::kStep, [&] { return do_chdir(path); }, [&] { return "chdir(" + quoted(path) + ")"; });
}

int Kernel::fchdir(int fd) {
    return make(CallKind::kStep, [&] { return do_fchdir(fd); }, [&] { return "fchdir(" + at_name(fd, "") + ")"; });
}

int Kernel::dup3(int old_fd, int new_fd, int flags) {
    return make(CallKind::kStep, [&] { return do_dup3(old_fd, new_fd, flags); }, [&] {
        return "dup3(" + at_name(old_fd, "") + ", " + std::to_string(new_fd) + ", " +
               (flags & O_CLOEXEC ? "O_CLOEXEC" : "0") + ")";
    });
}

int Kernel::close_range(unsigned first, unsigned last, unsigned flags) {
    return make(CallKind::kStep, [&] { return do_close_range(first, last, flags); }, [&] {
        return "close_range(" + std::to_string(first) + ", " + (last == ~0u ? std::string("~0U") : std::to_string(last)) +
               ", " + std::to_string(flags) + ")";
    });
}

int Kernel::ioctl(int fd, unsigned long request, unsigned long arg) {
    return make(CallKind::kStep, [&] { return do_ioctl(fd, request, arg); }, [&] {
        std::string shown = request == TIOCGPTPEER ? open_flags(static_cast<int>(arg))
                            : request == TIOCSCTTY ? std::to_string(arg)
                                                   : std::string("...");
        return "ioctl(" + at_name(fd, "") + ", " + ioctl_request(request) + ", " + shown + ")";
    });
}

// --- processes and namespaces -------------------------------------------------------------------

long Kernel::clone3(clone_args& args) {
    if (!listening(CallKind::kStep)) return do_clone3(args);
    const std::string cgroup =
        args.flags & CLONE_INTO_CGROUP ? ", cgroup=" + at_name(static_cast<int>(args.cgroup), "") : std::string();
    const std::string line = "clone3({flags=" + clone_flags(args.flags) + cgroup + ", exit_signal=" +
                             (args.exit_signal ? "SIG" + std::string(sigabbrev_np(static_cast<int>(args.exit_signal))) : "0") + "})";
    long pid = -1;
    int err = scripted_failure(line);
    if (!err) {
        pid = do_clone3(args);
        if (pid == 0) return 0;  // the child: its parent records the call
        if (pid < 0) err = errno;
    }
    record(CallKind::kStep, line, pid, err);
    errno = err;
    return pid;
}

int Kernel::setns(int fd, int nstype) {
    return make(CallKind::kStep, [&] { return do_setns(fd, nstype); },
                  [&] { return "setns(" + at_name(fd, "") + ", " + namespace_type(nstype) + ")"; });
}

int Kernel::unshare(int flags) {
    return make(CallKind::kStep, [&] { return do_unshare(flags); }, [&] { return "unshare(" + namespace_type(flags) + ")"; });
}

int Kernel::sethostname(const char* name, std::size_t size) {
    return make(CallKind::kStep, [&] { return do_sethostname(name, size); },
                  [&] { return "sethostname(" + quoted(std::string(name, size).c_str()) + ")"; });
}

int Kernel::setdomainname(const char* name, std::size_t size) {
    return make(CallKind::kStep, [&] { return do_setdomainname(name, size); },
                  [&] { return "setdomainname(" + quoted(std::string(name, size).c_str()) + ")"; });
}

int Kernel::setsid() {
    return make(CallKind::kStep, [&] { return do_setsid(); }, [] { return std::string("setsid()"); });
}

// --- identity and privilege ---------------------------------------------------------------------

int Kernel::setgroups(std::size_t size, const gid_t* groups) {
    return make(CallKind::kStep, [&] { return do_setgroups(size, groups); }, [&] {
        std::string list;
        for (std::size_t i = 0; i < size; ++i) list += (i ? ", " : "") + std::to_string(groups[i]);
        return "setgroups(" + std::to_string(size) + ", [" + list + "])";
    });
}

int Kernel::setresgid(gid_t rgid, gid_t egid, gid_t sgid) {
    return make(CallKind::kStep, [&] { return do_setresgid(rgid, egid, sgid); }, [&] {
        return "setresgid(" + std::to_string(rgid) + ", " + std::to_string(egid) + ", " + std::to_string(sgid) + ")";
    });
}

int Kernel::setresuid(uid_t ruid, uid_t euid, uid_t suid) {
    return make(CallKind::kStep, [&] { return do_setresuid(ruid, euid, suid); }, [&] {
        return "setresuid(" + std::to_string(ruid) + ", " + std::to_string(euid) + ", " + std::to_string(suid) + ")";
    });
}

int Kernel::capset(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable) {
    return make(CallKind::kStep, [&] { return do_capset(effective, permitted, inheritable); }, [&] {
        return "capset(effective=" + capability_set(effective) + ", permitted=" + capability_set(permitted) +
               ", inheritable=" + capability_set(inheritable) + ")";
    });
}

int Kernel::prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5) {
    return make(CallKind::kStep, [&] { return do_prctl(option, arg2, arg3, arg4, arg5); },
                  [&] { return "prctl(" + prctl_call(option, arg2, arg3) + ")"; });
}

int Kernel::personality(unsigned long persona) {
    return make(CallKind::kStep, [&] { return do_personality(persona); }, [&] {
        return "personality(" + std::string(persona == 0x0008 ? "PER_LINUX32" : persona == 0 ? "PER_LINUX"
                                                                                             : std::to_string(persona)) + ")";
    });
}

int Kernel::setrlimit(int resource, const rlimit& limit) {
    return make(CallKind::kStep, [&] { return do_setrlimit(resource, limit); }, [&] {
        auto value = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("RLIM_INFINITY") : std::to_string(v); };
        return "setrlimit(" + rlimit_name(resource) + ", {" + value(limit.rlim_cur) + ", " + value(limit.rlim_max) + "})";
    });
}

int Kernel::sched_setattr(const SchedAttr& a) {
    return make(CallKind::kStep, [&] { return do_sched_setattr(a); }, [&] {
        std::string line = "sched_setattr(0, {sched_policy=" + sched_policy_name(a.policy) +
                           ", sched_flags=" + std::to_string(a.flags) + ", sched_nice=" + std::to_string(a.nice) +
                           ", sched_priority=" + std::to_string(a.priority);
        if (a.runtime || a.deadline || a.period)
            line += ", sched_runtime=" + std::to_string(a.runtime) + ", sched_deadline=" + std::to_string(a.deadline) +
                    ", sched_period=" + std::to_string(a.period);
        return line + "}, 0)";
    });
}

int Kernel::ioprio_set(int which, int who, int ioprio) {
    return make(CallKind::kStep, [&] { return do_ioprio_set(which, who, ioprio); }, [&] {
        return "ioprio_set(" + std::string(which == 1 ? "IOPRIO_WHO_PROCESS" : std::to_string(which)) + ", " +
               std::to_string(who) + ", IOPRIO_PRIO_VALUE(" + io_class_name(ioprio >> 13) + ", " +
               std::to_string(ioprio & 0x1fff) + "))";
    });
}

int Kernel::set_mempolicy(int mode, const std::vector<unsigned long>& nodemask, unsigned long maxnode) {
    return make(CallKind::kStep, [&] { return do_set_mempolicy(mode, nodemask, maxnode); }, [&] {
        return "set_mempolicy(" + mempolicy_mode(mode) + ", " + (nodemask.empty() ? "NULL" : "[" + node_list(nodemask) + "]") +
               ", " + std::to_string(maxnode) + ")";
    });
}

mode_t Kernel::umask(mode_t mask) {
    mode_t old = do_umask(mask);  // umask cannot fail
    if (listening(CallKind::kStep)) record(CallKind::kStep, "umask(" + file_mode(mask) + ")", old, 0);
    return old;
}

int Kernel::sigprocmask(int how, const sigset_t* set, sigset_t* old) {
    return make(CallKind::kStep, [&] { return do_sigprocmask(how, set, old); }, [&] {
        std::string blocked;
        for (int sig = 1; set && sig < NSIG; ++sig)
            if (sigismember(set, sig) == 1) blocked += (blocked.empty() ? "SIG" : " SIG") + std::string(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        const char* op = how == SIG_SETMASK ? "SIG_SETMASK" : how == SIG_BLOCK ? "SIG_BLOCK" : "SIG_UNBLOCK";
        return "rt_sigprocmask(" + std::string(op) + ", [" + blocked + "])";
    });
}

int Kernel::sigaction(int sig, const struct sigaction* action, struct sigaction* old) {
    return make(CallKind::kStep, [&] { return do_sigaction(sig, action, old); }, [&] {
        std::string handler = !action ? "NULL" : action->sa_handler == SIG_DFL ? "{SIG_DFL}"
                                               : action->sa_handler == SIG_IGN ? "{SIG_IGN}"
                                                                               : "{handler}";
        return "rt_sigaction(SIG" + std::string(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?") + ", " + handler + ")";
    });
}

int Kernel::seccomp_filter(unsigned flags, const void* filter, std::size_t instructions) {
    return make(CallKind::kStep, [&] { return do_seccomp_filter(flags, filter, instructions); }, [&] {
        return "seccomp(SECCOMP_SET_MODE_FILTER, " + seccomp_flags(flags) + ", {" + std::to_string(instructions) +
               " BPF instructions})";
    });
}

int Kernel::execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) {
    if (!listening(CallKind::kStep)) return do_execveat(dirfd, path, argv, envp, flags);
    std::string args;
    std::size_t vars = 0;
    for (char* const* a = argv; a && *a; ++a) args += (args.empty() ? "" : ", ") + quoted(*a);
    for (char* const* e = envp; e && *e; ++e) ++vars;
    const std::string line = "execveat(" + at_name(dirfd, path) + ", [" + args + "], [" + std::to_string(vars) +
                             " variables], " + at_flags(flags) + ")";
    int err = scripted_failure(line);
    if (!err) {
        // Recorded before it is made: a successful exec never returns to say so.
        record(CallKind::kStep, line, kPending, 0);
        do_execveat(dirfd, path, argv, envp, flags);
        err = errno;
    }
    record(CallKind::kStep, line, -1, err);
    errno = err;
    return -1;
}

// --- cgroups and devices ------------------------------------------------------------------------

int Kernel::bpf(int cmd, void* attr, unsigned size) {
    return make(CallKind::kStep, [&] { return do_bpf(cmd, attr, size); }, [&] {
        const auto* a = static_cast<const bpf_attr*>(attr);
        std::string detail = "...";
        if (cmd == BPF_PROG_LOAD)
            detail = "{prog_type=" + std::string(a->prog_type == BPF_PROG_TYPE_CGROUP_DEVICE ? "BPF_PROG_TYPE_CGROUP_DEVICE"
                                                                                           : std::to_string(a->prog_type)) +
                     ", insn_cnt=" + std::to_string(a->insn_cnt) + "}";
        else if (cmd == BPF_PROG_ATTACH || cmd == BPF_PROG_DETACH)
            detail = "{target_fd=" + at_name(static_cast<int>(a->target_fd), "") + ", attach_type=" +
                     (a->attach_type == BPF_CGROUP_DEVICE ? std::string("BPF_CGROUP_DEVICE") : std::to_string(a->attach_type)) +
                     (a->attach_flags & BPF_F_ALLOW_MULTI ? ", attach_flags=BPF_F_ALLOW_MULTI" : "") + "}";
        return "bpf(" + bpf_command(cmd) + ", " + detail + ")";
    });
}

// --- netlink -------------------------------------------------------------------------------------

int Kernel::netlink(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each) {
    const bool get = request->nlmsg_type == RTM_GETLINK || request->nlmsg_type == RTM_GETADDR ||
                     request->nlmsg_type == RTM_GETROUTE;
    return make(get ? CallKind::kLookup : CallKind::kStep, [&] { return do_netlink(socket, port, request, each); },
                [&] { return "sendmsg(NETLINK_ROUTE, " + netlink_message(request) + ")"; });
}

int Kernel::nft_query(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each,
                      const std::string& what) {
    return make(CallKind::kLookup, [&] { return do_netlink(socket, port, request, each); },
                [&] { return "sendmsg(NETLINK_NETFILTER, " + what + ")"; });
}

int Kernel::nft_batch(int socket, std::uint32_t port, const void* batch, std::size_t size, int requests,
                      std::uint32_t first_seq, int& refused, const std::string& what) {
    refused = -1;
    return make(CallKind::kStep, [&] { return do_nft_batch(socket, port, batch, size, requests, first_seq, refused); },
                [&] { return "sendmsg(NETLINK_NETFILTER, batch {" + what + "})"; });
}

int Kernel::conntrack(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each,
                      const std::string& what) {
    const bool get = (request->nlmsg_type & 0xff) == IPCTNL_MSG_CT_GET;
    return make(get ? CallKind::kLookup : CallKind::kStep, [&] { return do_netlink(socket, port, request, each); },
                [&] { return "sendmsg(NETLINK_NETFILTER, " + what + ")"; });
}

int Kernel::bind(int socket, const sockaddr* address, socklen_t length) {
    return make(CallKind::kStep, [&] { return do_bind(socket, address, length); }, [&] {
        std::string name = "...";
        if (address->sa_family == AF_UNIX && length > offsetof(sockaddr_un, sun_path)) {
            const auto* un = reinterpret_cast<const sockaddr_un*>(address);
            std::size_t size = length - offsetof(sockaddr_un, sun_path);
            name = un->sun_path[0] == '\0' ? "@" + std::string(un->sun_path + 1, size - 1)
                                            : std::string(un->sun_path, ::strnlen(un->sun_path, size));
            name = "{AF_UNIX, " + quoted(name.c_str()) + "}";
        }
        return "bind(" + at_name(socket, "") + ", " + name + ")";
    });
}

// --- the parent/child protocol ------------------------------------------------------------------

ssize_t Kernel::sendmsg(int socket, const msghdr& message, int flags, const char* what) {
    return make(CallKind::kStep, [&] { return do_sendmsg(socket, message, flags); }, [&] {
        std::string rights;
        for (const cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&message), const_cast<cmsghdr*>(c)))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
                rights = ", SCM_RIGHTS [" + at_name(fd, "") + "]";
            }
        return "sendmsg(" + at_name(socket, "") + ", {" + what + rights + "})";
    });
}

ssize_t Kernel::recvmsg(int socket, msghdr& message, int flags) {
    return make(CallKind::kLookup, [&] { return do_recvmsg(socket, message, flags); },
                  [&] { return "recvmsg(" + at_name(socket, "") + ")"; });
}

}  // namespace hutch::sys
