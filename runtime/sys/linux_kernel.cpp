#include "runtime/sys/linux_kernel.hpp"

#include <grp.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <libmnl/libmnl.h>

#include "runtime/explain.hpp"
#include "runtime/sys/describe.hpp"

namespace hutch::sys {

bool LinuxKernel::listening(CallKind kind) const {
    return explain::enabled() && (kind == CallKind::kStep || explain::lookups());
}

void LinuxKernel::record(CallKind, const std::string& call, long result, int err) {
    if (result == kPending) return explain::line(call);
    if (result == -1)
        return explain::line(call + " = -1 " + errno_name(err) + " (" + std::strerror(err) + ")");
    explain::line(call + " = " + std::to_string(result));
}

std::string LinuxKernel::fd_name(int fd) const {
    char buf[4096];
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
    if (n <= 0) return "fd " + std::to_string(fd);
    return std::string(buf, static_cast<std::size_t>(n));
}

int LinuxKernel::do_mount(const char* source, const char* target, const char* fstype, unsigned long flags,
                          const char* data) {
    return ::mount(source, target, fstype, flags, data);
}
int LinuxKernel::do_mount_setattr(int fd, bool recursive, std::uint64_t attr_set, std::uint64_t attr_clr,
                                  int userns_fd, std::uint64_t propagation) {
    mount_attr attr{};
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clr;
    attr.propagation = propagation;
    if (userns_fd >= 0) attr.userns_fd = static_cast<std::uint64_t>(userns_fd);
    return ::mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
}
int LinuxKernel::do_open_tree(int dirfd, const char* path, unsigned flags) { return ::open_tree(dirfd, path, flags); }
int LinuxKernel::do_move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path, unsigned flags) {
    return ::move_mount(from_dirfd, from_path, to_dirfd, to_path, flags);
}
int LinuxKernel::do_fsopen(const char* fstype, unsigned flags) { return ::fsopen(fstype, flags); }
int LinuxKernel::do_fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux) {
    return ::fsconfig(fs_fd, cmd, key, value, aux);
}
int LinuxKernel::do_fsmount(int fs_fd, unsigned flags, unsigned attr_flags) { return ::fsmount(fs_fd, flags, attr_flags); }
int LinuxKernel::do_umount2(const char* target, int flags) { return ::umount2(target, flags); }
int LinuxKernel::do_pivot_root(const char* new_root, const char* put_old) {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}
int LinuxKernel::do_openat2(int dirfd, const char* path, const open_how& how) {
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}
int LinuxKernel::do_openat(int dirfd, const char* path, int flags, mode_t mode) {
    return ::openat(dirfd, path, flags, mode);
}
int LinuxKernel::do_fstat(int fd, struct stat* st) { return ::fstat(fd, st); }
int LinuxKernel::do_fstatfs(int fd, struct statfs* st) { return ::fstatfs(fd, st); }
int LinuxKernel::do_mount_id(int fd, std::uint64_t& id) {
    struct statx st {};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &st) != 0) return -1;
    if (!(st.stx_mask & STATX_MNT_ID)) {
        errno = ENOSYS;  // a kernel before 5.8 fills no mount id
        return -1;
    }
    id = st.stx_mnt_id;
    return 0;
}
int LinuxKernel::do_fstatat(int dirfd, const char* path, struct stat* st, int flags) {
    return ::fstatat(dirfd, path, st, flags);
}
int LinuxKernel::do_faccessat(int dirfd, const char* path, int mode, int flags) {
    return ::faccessat(dirfd, path, mode, flags);
}
ssize_t LinuxKernel::do_readlinkat(int dirfd, const char* path, char* buf, std::size_t size) {
    return ::readlinkat(dirfd, path, buf, size);
}
int LinuxKernel::do_mkdirat(int dirfd, const char* path, mode_t mode) { return ::mkdirat(dirfd, path, mode); }
int LinuxKernel::do_mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) {
    return ::mknodat(dirfd, path, mode, dev);
}
int LinuxKernel::do_symlinkat(const char* target, int dirfd, const char* path) {
    return ::symlinkat(target, dirfd, path);
}
int LinuxKernel::do_unlinkat(int dirfd, const char* path, int flags) { return ::unlinkat(dirfd, path, flags); }
int LinuxKernel::do_linkat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, int flags) {
    return ::linkat(old_dirfd, old_path, new_dirfd, new_path, flags);
}
int LinuxKernel::do_fchmodat(int dirfd, const char* path, mode_t mode, int flags) {
    return ::fchmodat(dirfd, path, mode, flags);
}
int LinuxKernel::do_fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) {
    return ::fchownat(dirfd, path, uid, gid, flags);
}
int LinuxKernel::do_fchown(int fd, uid_t uid, gid_t gid) { return ::fchown(fd, uid, gid); }
ssize_t LinuxKernel::do_write(int fd, const void* data, std::size_t size) { return ::write(fd, data, size); }
int LinuxKernel::do_chdir(const char* path) { return ::chdir(path); }
int LinuxKernel::do_fchdir(int fd) { return ::fchdir(fd); }
int LinuxKernel::do_dup3(int old_fd, int new_fd, int flags) {
    // dup3 refuses old == new with EINVAL; dup2's meaning (the fd is already there) is what
    // callers want then, with the close-on-exec flag as asked.
    if (old_fd != new_fd) return ::dup3(old_fd, new_fd, flags);
    return ::fcntl(new_fd, F_SETFD, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0) == 0 ? new_fd : -1;
}
int LinuxKernel::do_close_range(unsigned first, unsigned last, unsigned flags) {
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}
int LinuxKernel::do_ioctl(int fd, unsigned long request, unsigned long arg) { return ::ioctl(fd, request, arg); }
long LinuxKernel::do_clone3(clone_args& args) { return ::syscall(SYS_clone3, &args, sizeof args); }
int LinuxKernel::do_setns(int fd, int nstype) { return ::setns(fd, nstype); }
int LinuxKernel::do_unshare(int flags) { return ::unshare(flags); }
int LinuxKernel::do_sethostname(const char* name, std::size_t size) { return ::sethostname(name, size); }
int LinuxKernel::do_setdomainname(const char* name, std::size_t size) { return ::setdomainname(name, size); }
int LinuxKernel::do_setsid() { return ::setsid() < 0 ? -1 : 0; }
// The raw system calls, not glibc's wrappers: glibc's setgroups and setres*id signal every
// thread to change its ids too (setxid broadcast), which is not one call any more.
int LinuxKernel::do_setgroups(std::size_t size, const gid_t* groups) {
    return static_cast<int>(::syscall(SYS_setgroups, size, groups));
}
int LinuxKernel::do_setresgid(gid_t rgid, gid_t egid, gid_t sgid) {
    return static_cast<int>(::syscall(SYS_setresgid, rgid, egid, sgid));
}
int LinuxKernel::do_setresuid(uid_t ruid, uid_t euid, uid_t suid) {
    return static_cast<int>(::syscall(SYS_setresuid, ruid, euid, suid));
}
int LinuxKernel::do_capset(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    for (int half = 0; half < 2; ++half) {
        data[half].effective = static_cast<std::uint32_t>(effective >> (32 * half));
        data[half].permitted = static_cast<std::uint32_t>(permitted >> (32 * half));
        data[half].inheritable = static_cast<std::uint32_t>(inheritable >> (32 * half));
    }
    return static_cast<int>(::syscall(SYS_capset, &header, data));
}
int LinuxKernel::do_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
                          unsigned long arg5) {
    return ::prctl(option, arg2, arg3, arg4, arg5);
}
int LinuxKernel::do_personality(unsigned long persona) { return ::personality(persona) == -1 ? -1 : 0; }
int LinuxKernel::do_setrlimit(int resource, const rlimit& limit) {
    return ::setrlimit(static_cast<__rlimit_resource>(resource), &limit);
}
mode_t LinuxKernel::do_umask(mode_t mask) { return ::umask(mask); }
// <linux/sched/types.h>'s struct sched_attr (its first version, SCHED_ATTR_SIZE_VER0: 48 bytes),
// spelled out: that header's struct sched_param clashes with glibc's <sched.h>.
struct KernelSchedAttr {
    std::uint32_t size, sched_policy;
    std::uint64_t sched_flags;
    std::int32_t sched_nice;
    std::uint32_t sched_priority;
    std::uint64_t sched_runtime, sched_deadline, sched_period;
};
static_assert(sizeof(KernelSchedAttr) == 48);

int LinuxKernel::do_sched_setattr(const SchedAttr& a) {
    KernelSchedAttr attr{};
    attr.size = sizeof attr;
    attr.sched_policy = a.policy;
    attr.sched_flags = a.flags;
    attr.sched_nice = a.nice;
    attr.sched_priority = a.priority;
    attr.sched_runtime = a.runtime;
    attr.sched_deadline = a.deadline;
    attr.sched_period = a.period;
    return static_cast<int>(::syscall(SYS_sched_setattr, 0, &attr, 0));
}
int LinuxKernel::do_set_mempolicy(int mode, const std::vector<unsigned long>& nodemask, unsigned long maxnode) {
    // The kernel reads maxnode - 1 bits: never past the end of the mask given.
    if (!nodemask.empty() && maxnode - 1 > nodemask.size() * 8 * sizeof(unsigned long)) {
        errno = EINVAL;
        return -1;
    }
    return static_cast<int>(::syscall(SYS_set_mempolicy, mode, nodemask.empty() ? nullptr : nodemask.data(),
                                      nodemask.empty() ? 0 : maxnode));
}

int LinuxKernel::do_ioprio_set(int which, int who, int ioprio) {
    return static_cast<int>(::syscall(SYS_ioprio_set, which, who, ioprio));
}
int LinuxKernel::do_sigprocmask(int how, const sigset_t* set, sigset_t* old) { return ::sigprocmask(how, set, old); }
int LinuxKernel::do_sigaction(int sig, const struct sigaction* action, struct sigaction* old) {
    return ::sigaction(sig, action, old);
}
int LinuxKernel::do_seccomp_filter(unsigned flags, const void* filter, std::size_t instructions) {
    sock_fprog program{};
    program.len = static_cast<unsigned short>(instructions);
    program.filter = static_cast<sock_filter*>(const_cast<void*>(filter));
    return static_cast<int>(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program));
}
int LinuxKernel::do_execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) {
    return static_cast<int>(::syscall(SYS_execveat, dirfd, path, argv, envp, flags));
}
int LinuxKernel::do_bpf(int cmd, void* attr, unsigned size) {
    return static_cast<int>(::syscall(SYS_bpf, cmd, attr, size));
}
// libmnl's loop: every answer to this sequence number goes to `each` until the ack (or
// NLMSG_DONE) ends it; an error answer is the call's errno.
int LinuxKernel::do_netlink(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each) {
    request->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (::send(socket, request, request->nlmsg_len, 0) < 0) return -1;
    // As large as the kernel may make one datagram of a dump (libmnl's MNL_SOCKET_DUMP_SIZE):
    // a smaller buffer truncates it.
    std::vector<char> buf(32768);
    auto callback = [](const nlmsghdr* message, void* data) -> int {
        const auto* answer = static_cast<const NetlinkAnswer*>(data);
        if (*answer) (*answer)(message);
        return MNL_CB_OK;
    };
    int rc = MNL_CB_OK;
    while (rc == MNL_CB_OK) {
        ssize_t n = ::recv(socket, buf.data(), buf.size(), 0);
        if (n < 0) return -1;
        rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), request->nlmsg_seq, port, callback,
                        const_cast<NetlinkAnswer*>(&each));
    }
    return rc == MNL_CB_ERROR ? -1 : 0;
}

int LinuxKernel::do_nft_batch(int socket, std::uint32_t port, const void* batch, std::size_t size, int requests,
                              std::uint32_t first_seq, int& refused) {
    if (::send(socket, batch, size, 0) < 0) return -1;
    // nfnetlink handles a batch inside send(): every answer is queued when it returns, an ack or
    // an error for each request (also when it refused another and applied none), or a single
    // error for the batch as a whole (nf_tables missing, EPERM), which carries the begin's
    // sequence number. So the answers are read without waiting, up to the first empty read.
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    int answered = 0, first_error = 0;
    for (;;) {
        ssize_t n = ::recv(socket, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_pid != port || m->nlmsg_type != NLMSG_ERROR) continue;
            const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
            const std::uint32_t index = m->nlmsg_seq - first_seq;
            if (index < static_cast<std::uint32_t>(requests)) ++answered;
            if (err->error != 0 && !first_error) {
                first_error = -err->error;
                refused = index < static_cast<std::uint32_t>(requests) ? static_cast<int>(index) : -1;
            }
        }
    }
    if (first_error) {
        errno = first_error;
        return -1;
    }
    if (answered < requests) {
        errno = EPROTO;  // fewer answers than requests, and no error among them
        return -1;
    }
    return 0;
}

int LinuxKernel::do_bind(int socket, const sockaddr* address, socklen_t length) {
    return ::bind(socket, address, length);
}

ssize_t LinuxKernel::do_sendmsg(int socket, const msghdr& message, int flags) {
    return ::sendmsg(socket, &message, flags);
}
ssize_t LinuxKernel::do_recvmsg(int socket, msghdr& message, int flags) { return ::recvmsg(socket, &message, flags); }

}  // namespace hutch::sys
