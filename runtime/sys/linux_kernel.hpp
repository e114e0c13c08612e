// The kernel seam's real backend: each do_* is the system call itself. It listens only while
// --explain is on (lookups only with HUTCH_EXPLAIN=all), and prints each described call on
// stderr through explain::line, with the result as strace shows it ("= 0", "= -1 EPERM (...)").
#pragma once

#include "runtime/sys/kernel.hpp"

namespace hutch::sys {

class LinuxKernel : public Kernel {
protected:
    bool listening(CallKind kind) const override;
    void record(CallKind kind, const std::string& call, long result, int err) override;
    std::string fd_name(int fd) const override;

    int do_mount(const char* source, const char* target, const char* fstype, unsigned long flags,
                 const char* data) override;
    int do_mount_setattr(int fd, bool recursive, std::uint64_t attr_set, std::uint64_t attr_clr, int userns_fd,
                         std::uint64_t propagation) override;
    int do_open_tree(int dirfd, const char* path, unsigned flags) override;
    int do_move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path, unsigned flags) override;
    int do_fsopen(const char* fstype, unsigned flags) override;
    int do_fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux) override;
    int do_fsmount(int fs_fd, unsigned flags, unsigned attr_flags) override;
    int do_umount2(const char* target, int flags) override;
    int do_pivot_root(const char* new_root, const char* put_old) override;
    int do_openat2(int dirfd, const char* path, const open_how& how) override;
    int do_openat(int dirfd, const char* path, int flags, mode_t mode) override;
    int do_fstat(int fd, struct stat* st) override;
    int do_fstatfs(int fd, struct statfs* st) override;
    int do_mount_id(int fd, std::uint64_t& id) override;
    int do_fstatat(int dirfd, const char* path, struct stat* st, int flags) override;
    int do_faccessat(int dirfd, const char* path, int mode, int flags) override;
    ssize_t do_readlinkat(int dirfd, const char* path, char* buf, std::size_t size) override;
    int do_mkdirat(int dirfd, const char* path, mode_t mode) override;
    int do_mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) override;
    int do_symlinkat(const char* target, int dirfd, const char* path) override;
    int do_unlinkat(int dirfd, const char* path, int flags) override;
    int do_linkat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, int flags) override;
    int do_fchmodat(int dirfd, const char* path, mode_t mode, int flags) override;
    int do_fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) override;
    int do_fchown(int fd, uid_t uid, gid_t gid) override;
    ssize_t do_write(int fd, const void* data, std::size_t size) override;
    int do_chdir(const char* path) override;
    int do_fchdir(int fd) override;
    int do_dup3(int old_fd, int new_fd, int flags) override;
    int do_close_range(unsigned first, unsigned last, unsigned flags) override;
    int do_ioctl(int fd, unsigned long request, unsigned long arg) override;
    long do_clone3(clone_args& args) override;
    int do_setns(int fd, int nstype) override;
    int do_unshare(int flags) override;
    int do_sethostname(const char* name, std::size_t size) override;
    int do_setdomainname(const char* name, std::size_t size) override;
    int do_setsid() override;
    int do_setgroups(std::size_t size, const gid_t* groups) override;
    int do_setresgid(gid_t rgid, gid_t egid, gid_t sgid) override;
    int do_setresuid(uid_t ruid, uid_t euid, uid_t suid) override;
    int do_capset(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable) override;
    int do_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
                 unsigned long arg5) override;
    int do_personality(unsigned long persona) override;
    int do_setrlimit(int resource, const rlimit& limit) override;
    int do_sched_setattr(const SchedAttr& attr) override;
    int do_ioprio_set(int which, int who, int ioprio) override;
    int do_set_mempolicy(int mode, const std::vector<unsigned long>& nodemask, unsigned long maxnode) override;
    mode_t do_umask(mode_t mask) override;
    int do_sigprocmask(int how, const sigset_t* set, sigset_t* old) override;
    int do_sigaction(int sig, const struct sigaction* action, struct sigaction* old) override;
    int do_seccomp_filter(unsigned flags, const void* filter, std::size_t instructions) override;
    int do_execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) override;
    int do_bpf(int cmd, void* attr, unsigned size) override;
    int do_netlink(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each) override;
    int do_nft_batch(int socket, std::uint32_t port, const void* batch, std::size_t size, int requests,
                     std::uint32_t first_seq, int& refused) override;
    int do_bind(int socket, const sockaddr* address, socklen_t length) override;
    ssize_t do_sendmsg(int socket, const msghdr& message, int flags) override;
    ssize_t do_recvmsg(int socket, msghdr& message, int flags) override;
};

}  // namespace hutch::sys
