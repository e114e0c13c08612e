// The kernel seam's test backend (runtime/sys/kernel.hpp): it makes no system call. Every call
// is kept as the same line --explain would print, and answered from a small model of what the
// calls so far have made, so the launch order is checked without root:
//   - open* return new fake fds, named by the path they were opened on (so a later mount on
//     "/proc/self/fd/N" is described with that path, as on Linux);
//   - mkdirat, mknodat, symlinkat and openat(O_CREAT) add entries that fstat then reports (a
//     /dev/null made with mknodat is a character device 1:3); anything else reported as a
//     directory, on procfs under a ".../proc" path, tmpfs elsewhere;
//   - clone3 returns a pid (the parent's side), execveat throws ExecReached;
//   - recvmsg hands out the packets a test queued (none left: EOF, the peer closed);
//   - an fd the test hands the code (a socket, a pidfd, the OCI exec.fifo) is shown by the name
//     the test gives it, also when reopened through "/proc/self/fd/N" or duplicated by dup3.
// A test makes a call fail with fail(call, errno): the first call whose line starts with
// `call` returns -1 with that errno.
#pragma once

#include <sys/stat.h>

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/sys/kernel.hpp"

namespace hutch::testing {

// Thrown by execveat: the process would now be the command.
struct ExecReached {
    std::string line;
};

class RecordingKernel : public sys::Kernel {
public:
    struct Call {
        sys::CallKind kind;
        std::string line;  // "mount(...)", as --explain prints it, without the result
        long result;
        int err;
    };
    const std::vector<Call>& calls() const { return calls_; }
    // The lines of steps only (what --explain shows by default).
    std::vector<std::string> steps() const;
    // Index of the first (or last) step whose line starts with `prefix`; -1 when none.
    int first(const std::string& prefix) const;
    int last(const std::string& prefix) const;
    // Every step line starting with `prefix`.
    std::vector<std::string> all(const std::string& prefix) const;

    void fail(const std::string& call_prefix, int err) { failures_.push_back({call_prefix, err}); }
    void queue_packet(std::string bytes) { packets_.push_back(std::move(bytes)); }
    // Paths (as described, e.g. "/root/etc/hosts") that do not exist until made.
    void missing(const std::string& path) { missing_.push_back(path); }
    // What the test's own fd `fd` is, for the lines that name it.
    void name_fd(int fd, std::string name) { fd_names_[fd] = std::move(name); }

protected:
    bool listening(sys::CallKind) const override { return true; }
    void record(sys::CallKind kind, const std::string& call, long result, int err) override;
    int scripted_failure(const std::string& line) override;
    std::string fd_name(int fd) const override;

    int do_mount(const char*, const char*, const char*, unsigned long, const char*) override { return 0; }
    int do_mount_setattr(int, bool, std::uint64_t, std::uint64_t, int, std::uint64_t) override { return 0; }
    int do_open_tree(int, const char*, unsigned) override { return next_fd_++; }
    int do_move_mount(int, const char*, int, const char*, unsigned) override { return 0; }
    int do_fsopen(const char*, unsigned) override { return next_fd_++; }
    int do_fsconfig(int, unsigned, const char*, const char*, int) override { return 0; }
    int do_fsmount(int, unsigned, unsigned) override { return next_fd_++; }
    int do_umount2(const char*, int) override { return 0; }
    int do_pivot_root(const char*, const char*) override { return 0; }
    int do_openat2(int dirfd, const char* path, const open_how& how) override;
    int do_openat(int dirfd, const char* path, int flags, mode_t mode) override;
    int do_fstat(int fd, struct stat* st) override;
    int do_fstatfs(int fd, struct statfs* st) override;
    int do_mount_id(int, std::uint64_t& id) override {
        id = 1;
        return 0;
    }
    int do_fstatat(int dirfd, const char* path, struct stat* st, int flags) override;
    int do_faccessat(int, const char*, int, int) override { return 0; }
    ssize_t do_readlinkat(int, const char*, char*, std::size_t) override { return 0; }
    int do_mkdirat(int dirfd, const char* path, mode_t mode) override;
    int do_mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) override;
    int do_symlinkat(const char*, int dirfd, const char* path) override;
    int do_unlinkat(int, const char*, int) override { return 0; }
    int do_linkat(int, const char*, int, const char*, int) override { return 0; }
    int do_fchmodat(int, const char*, mode_t, int) override { return 0; }
    int do_fchownat(int, const char*, uid_t, gid_t, int) override { return 0; }
    int do_fchown(int, uid_t, gid_t) override { return 0; }
    ssize_t do_write(int, const void*, std::size_t size) override;
    int do_chdir(const char*) override { return 0; }
    int do_fchdir(int) override { return 0; }
    int do_dup3(int old_fd, int new_fd, int) override;
    int do_close_range(unsigned, unsigned, unsigned) override { return 0; }
    int do_ioctl(int, unsigned long request, unsigned long) override;
    long do_clone3(clone_args&) override { return 4242; }
    int do_setns(int, int) override { return 0; }
    int do_unshare(int) override { return 0; }
    int do_sethostname(const char*, std::size_t) override { return 0; }
    int do_setdomainname(const char*, std::size_t) override { return 0; }
    int do_setsid() override { return 0; }
    int do_setgroups(std::size_t, const gid_t*) override { return 0; }
    int do_setresgid(gid_t, gid_t, gid_t) override { return 0; }
    int do_setresuid(uid_t, uid_t, uid_t) override { return 0; }
    int do_capset(std::uint64_t, std::uint64_t, std::uint64_t) override { return 0; }
    int do_prctl(int, unsigned long, unsigned long, unsigned long, unsigned long) override { return 0; }
    int do_personality(unsigned long) override { return 0; }
    int do_setrlimit(int, const rlimit&) override { return 0; }
    int do_sched_setattr(const sys::SchedAttr&) override { return 0; }
    int do_ioprio_set(int, int, int) override { return 0; }
    int do_set_mempolicy(int, const std::vector<unsigned long>&, unsigned long) override { return 0; }
    mode_t do_umask(mode_t) override { return 022; }
    int do_sigprocmask(int, const sigset_t*, sigset_t*) override { return 0; }
    int do_sigaction(int, const struct sigaction*, struct sigaction*) override { return 0; }
    int do_seccomp_filter(unsigned, const void*, std::size_t) override { return 0; }
    int do_execveat(int, const char*, char* const[], char* const[], int) override;
    int do_bpf(int, void*, unsigned) override { return next_fd_++; }
    int do_netlink(int, std::uint32_t, nlmsghdr*, const NetlinkAnswer&) override { return 0; }
    int do_nft_batch(int, std::uint32_t, const void*, std::size_t, int, std::uint32_t, int&) override { return 0; }
    int do_bind(int, const sockaddr*, socklen_t) override { return 0; }
    ssize_t do_sendmsg(int, const msghdr& message, int) override;
    ssize_t do_recvmsg(int, msghdr& message, int) override;

private:
    struct Entry {
        mode_t mode;
        dev_t dev;
    };
    int new_fd(const std::string& name);
    std::string joined(int dirfd, const char* path) const;
    bool is_missing(const std::string& path) const;

    std::vector<Call> calls_;
    std::vector<std::pair<std::string, int>> failures_;
    std::deque<std::string> packets_;
    std::vector<std::string> missing_;
    std::map<int, std::string> fd_names_;
    std::map<std::string, Entry> entries_;
    // Above any fd the kernel can hand out (fs.nr_open is at most 1<<20 by default): the real
    // ::close an Fd destructor makes on a fake one can never close a real fd of the test.
    int next_fd_ = 1 << 24;
};

}  // namespace hutch::testing
