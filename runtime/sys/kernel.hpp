// The kernel seam (DESIGN.md, "The kernel seam"): every call the launcher, the rootfs builder,
// the capability code and the network code make to the kernel goes through one Kernel, one
// method per system call, with the kernel's own signature: it returns what the call returns
// (-1 and errno on failure), so callers keep their error handling (check(), SysError).
//
//   Kernel::mount(...)                 public, not virtual: makes the call through the backend,
//     -> do_mount(...)                 then, when someone listens, describes the call from the
//     -> record(line, result, errno)   real arguments and its result, strace-style:
//                                      mount("proc", "$ROOT/proc", "proc", MS_NOSUID, NULL) = 0
//
// Two backends:
//   LinuxKernel (linux_kernel.hpp)     makes the call; listens only while --explain is on, and
//                                      prints each line on stderr, so the explanation is the truth
//                                      (it cannot drift from what ran) and costs one branch when off.
//   RecordingKernel (tests/unit)       makes no call: it keeps every line and answers as a test
//                                      scripts it, so the order of a launch is checked without root.
//
// Calls come in two kinds. A step changes the container or the process (a mount, a capset, a
// setns, a write into /proc or a cgroup): --explain prints every one. A lookup only opens or
// inspects (openat2, fstat, readlink): --explain prints those too only with HUTCH_EXPLAIN=all,
// since they are the plumbing of safe path handling rather than what a student repeats by hand.
//
// Arguments that are file descriptors are shown as what they refer to: a mount on
// "/proc/self/fd/7" prints as the path fd 7 was opened on ("$ROOT/proc"), as the kernel sees it.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct nlmsghdr;

namespace hutch::sys {

enum class CallKind { kStep, kLookup };

// sched_setattr(2)'s struct sched_attr, the fields hutch sets (the kernel's own is in
// <linux/sched/types.h>; glibc 2.36 has no wrapper).
struct SchedAttr {
    std::uint32_t policy = 0;
    std::uint64_t flags = 0;
    std::int32_t nice = 0;
    std::uint32_t priority = 0;
    std::uint64_t runtime = 0, deadline = 0, period = 0;
};

class Kernel {
public:
    // The result recorded for a call described before it is made (execveat: a successful exec
    // never returns to say how it went).
    static constexpr long kPending = -(1L << 62);

    virtual ~Kernel() = default;

    // --- mounts ---------------------------------------------------------------------------------
    int mount(const char* source, const char* target, const char* fstype, unsigned long flags, const char* data);
    int umount2(const char* target, int flags);
    int pivot_root(const char* new_root, const char* put_old);
    // mount_setattr(2) on the mount `fd` is (AT_EMPTY_PATH), and with `recursive` on every mount
    // below it: MOUNT_ATTR_* bits to set and to clear (the rro, rnosuid... mount options), and
    // with MOUNT_ATTR_IDMAP the user namespace `userns_fd` whose maps the mount takes;
    // `propagation` (MS_PRIVATE, ...) when not 0.
    int mount_setattr(int fd, bool recursive, std::uint64_t attr_set, std::uint64_t attr_clr, int userns_fd = -1,
                      std::uint64_t propagation = 0);
    // The new mount API (Linux 5.2): a detached copy of the tree at `path` (open_tree with
    // OPEN_TREE_CLONE), a detached mount attached at a target (move_mount), and a filesystem
    // configured key by key and mounted detached (fsopen, fsconfig, fsmount). Each returns what
    // the call returns: an fd, or 0, or -1 with errno.
    int open_tree(int dirfd, const char* path, unsigned flags);
    int move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path, unsigned flags);
    int fsopen(const char* fstype, unsigned flags);
    int fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux);
    int fsmount(int fs_fd, unsigned flags, unsigned attr_flags);

    // --- files: lookups -------------------------------------------------------------------------
    // openat2 with `how`; the result is a new fd (the caller owns it) or -1.
    int openat2(int dirfd, const char* path, const open_how& how);
    int openat(int dirfd, const char* path, int flags, mode_t mode = 0);
    int fstat(int fd, struct stat* st);
    int fstatfs(int fd, struct statfs* st);
    // statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID): the id of the mount `fd` lies on, as
    // /proc/self/mountinfo numbers mounts (Linux 5.8).
    int mount_id(int fd, std::uint64_t& id);
    int fstatat(int dirfd, const char* path, struct stat* st, int flags);
    int faccessat(int dirfd, const char* path, int mode, int flags);
    ssize_t readlinkat(int dirfd, const char* path, char* buf, std::size_t size);

    // --- files: steps ---------------------------------------------------------------------------
    int mkdirat(int dirfd, const char* path, mode_t mode);
    int mknodat(int dirfd, const char* path, mode_t mode, dev_t dev);
    int symlinkat(const char* target, int dirfd, const char* path);
    int unlinkat(int dirfd, const char* path, int flags);
    int linkat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, int flags);
    int fchmodat(int dirfd, const char* path, mode_t mode, int flags);
    int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags);
    int fchown(int fd, uid_t uid, gid_t gid);
    // A write that is a step: a value into /proc, /sys or a cgroup file, a uid_map. Shown whole.
    ssize_t write(int fd, const void* data, std::size_t size);
    int chdir(const char* path);
    int fchdir(int fd);
    int dup3(int old_fd, int new_fd, int flags);
    int close_range(unsigned first, unsigned last, unsigned flags);
    // The terminal ioctls (TIOCSPTLCK, TIOCGPTPEER, TIOCSCTTY, TIOCSWINSZ): `arg` as the kernel
    // takes it (a pointer or a value).
    int ioctl(int fd, unsigned long request, unsigned long arg);

    // --- processes and namespaces ---------------------------------------------------------------
    // clone3: 0 in the child, the child's pid in the parent, -1 on failure. The line is written
    // by the parent once it knows the pid (the child has not started to speak yet).
    long clone3(clone_args& args);
    int setns(int fd, int nstype);
    int unshare(int flags);
    int sethostname(const char* name, std::size_t size);
    int setdomainname(const char* name, std::size_t size);
    int setsid();

    // --- identity and privilege -----------------------------------------------------------------
    int setgroups(std::size_t size, const gid_t* groups);
    int setresgid(gid_t rgid, gid_t egid, gid_t sgid);
    int setresuid(uid_t ruid, uid_t euid, uid_t suid);
    // capset(2) with _LINUX_CAPABILITY_VERSION_3 for this process: each set a 64-bit mask.
    int capset(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable);
    int prctl(int option, unsigned long arg2 = 0, unsigned long arg3 = 0, unsigned long arg4 = 0,
              unsigned long arg5 = 0);
    int personality(unsigned long persona);
    int setrlimit(int resource, const rlimit& limit);
    // sched_setattr(0, attr, 0) and ioprio_set(which, who, ioprio) for this process.
    int sched_setattr(const SchedAttr& attr);
    int ioprio_set(int which, int who, int ioprio);
    // set_mempolicy(mode, nodemask, maxnode) for this thread: `nodemask` empty is NULL.
    int set_mempolicy(int mode, const std::vector<unsigned long>& nodemask, unsigned long maxnode);
    mode_t umask(mode_t mask);
    // The signal state a command inherits across execve: the blocked set and the dispositions
    // of ignored signals.
    int sigprocmask(int how, const sigset_t* set, sigset_t* old);
    int sigaction(int sig, const struct sigaction* action, struct sigaction* old);
    // seccomp(2) SECCOMP_SET_MODE_FILTER with `instructions` classic BPF instructions at `filter`
    // (a sock_filter array); returns 0 or, with SECCOMP_FILTER_FLAG_NEW_LISTENER, the listener.
    int seccomp_filter(unsigned flags, const void* filter, std::size_t instructions);
    // Returns only on failure.
    int execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags);

    // --- cgroups and devices --------------------------------------------------------------------
    int bpf(int cmd, void* attr, unsigned size);

    // --- netlink (rtnetlink: links, addresses, routes) --------------------------------------------
    // Sends `request` on the bound NETLINK_ROUTE socket `socket` (port `port`) with NLM_F_ACK and
    // reads the answers up to the kernel's ack: 0, or -1 with the errno the kernel answered. Each
    // answer message goes to `each` (a GET or a dump). Described by decoding the message: its type
    // and fixed header, then its attributes by name. A GET is a lookup, anything else a step.
    using NetlinkAnswer = std::function<void(const nlmsghdr*)>;
    int netlink(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each);
    // --- netlink (nftables: hutch's firewall table) ----------------------------------------------
    // A GET (or with NLM_F_DUMP a listing) on the bound NETLINK_NETFILTER socket `socket`, as
    // netlink() does it; `what` says what is asked, in nft's words, for the description.
    int nft_query(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each, const std::string& what);
    // One nftables transaction: `batch` holds BATCH_BEGIN, `requests` messages (each with
    // NLM_F_ACK, sequence numbers from `first_seq` on) and BATCH_END. Reads an answer per request:
    // 0 when the kernel applied all of them, else -1 with the errno of the first it refused (and
    // the kernel applied none); `refused` gets that request's index. `what`: the batch in nft's
    // own words ("add rule ip hutch forward oifname \"br0\" jump in-br0; ..."), for --explain.
    int nft_batch(int socket, std::uint32_t port, const void* batch, std::size_t size, int requests,
                  std::uint32_t first_seq, int& refused, const std::string& what);
    // --- netlink (conntrack: the kernel's table of tracked flows) --------------------------------
    // A listing (IPCTNL_MSG_CT_GET with NLM_F_DUMP, a lookup) or a deletion (a step) on the bound
    // NETLINK_NETFILTER socket, as netlink() does it; `what` in conntrack(8)'s words.
    int conntrack(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each, const std::string& what);
    // bind(2): for hutch, an AF_UNIX name (an abstract one, "@...", claims an address host-wide).
    int bind(int socket, const sockaddr* address, socklen_t length);

    // --- the parent/child protocol --------------------------------------------------------------
    // Sends or receives one packet on the sync socket; `what` names the message for --explain.
    ssize_t sendmsg(int socket, const msghdr& message, int flags, const char* what);
    ssize_t recvmsg(int socket, msghdr& message, int flags);

protected:
    // Whether anyone wants the lines of calls of `kind` now (the description is built only then).
    virtual bool listening(CallKind kind) const = 0;
    // One described call: "mount(...)" and what it returned (-1 with `err` on failure; kPending
    // for an exec about to be made).
    virtual void record(CallKind kind, const std::string& call, long result, int err) = 0;
    // A test backend's way to make the call described by `line` fail with the errno it returns
    // (0: make the call). Asked only while listening.
    virtual int scripted_failure(const std::string& line) { (void)line; return 0; }
    // What an fd refers to, for the descriptions: a path, "socket:[...]", "anon_inode:...".
    virtual std::string fd_name(int fd) const = 0;

    // The backend: the system call itself, or its stand-in.
    virtual int do_mount(const char* source, const char* target, const char* fstype, unsigned long flags,
                         const char* data) = 0;
    virtual int do_umount2(const char* target, int flags) = 0;
    virtual int do_pivot_root(const char* new_root, const char* put_old) = 0;
    virtual int do_mount_setattr(int fd, bool recursive, std::uint64_t attr_set, std::uint64_t attr_clr,
                                 int userns_fd, std::uint64_t propagation) = 0;
    virtual int do_open_tree(int dirfd, const char* path, unsigned flags) = 0;
    virtual int do_move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                              unsigned flags) = 0;
    virtual int do_fsopen(const char* fstype, unsigned flags) = 0;
    virtual int do_fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux) = 0;
    virtual int do_fsmount(int fs_fd, unsigned flags, unsigned attr_flags) = 0;
    virtual int do_openat2(int dirfd, const char* path, const open_how& how) = 0;
    virtual int do_openat(int dirfd, const char* path, int flags, mode_t mode) = 0;
    virtual int do_fstat(int fd, struct stat* st) = 0;
    virtual int do_fstatfs(int fd, struct statfs* st) = 0;
    virtual int do_mount_id(int fd, std::uint64_t& id) = 0;
    virtual int do_fstatat(int dirfd, const char* path, struct stat* st, int flags) = 0;
    virtual int do_faccessat(int dirfd, const char* path, int mode, int flags) = 0;
    virtual ssize_t do_readlinkat(int dirfd, const char* path, char* buf, std::size_t size) = 0;
    virtual int do_mkdirat(int dirfd, const char* path, mode_t mode) = 0;
    virtual int do_mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) = 0;
    virtual int do_symlinkat(const char* target, int dirfd, const char* path) = 0;
    virtual int do_unlinkat(int dirfd, const char* path, int flags) = 0;
    virtual int do_linkat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, int flags) = 0;
    virtual int do_fchmodat(int dirfd, const char* path, mode_t mode, int flags) = 0;
    virtual int do_fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) = 0;
    virtual int do_fchown(int fd, uid_t uid, gid_t gid) = 0;
    virtual ssize_t do_write(int fd, const void* data, std::size_t size) = 0;
    virtual int do_chdir(const char* path) = 0;
    virtual int do_fchdir(int fd) = 0;
    virtual int do_dup3(int old_fd, int new_fd, int flags) = 0;
    virtual int do_close_range(unsigned first, unsigned last, unsigned flags) = 0;
    virtual int do_ioctl(int fd, unsigned long request, unsigned long arg) = 0;
    virtual long do_clone3(clone_args& args) = 0;
    virtual int do_setns(int fd, int nstype) = 0;
    virtual int do_unshare(int flags) = 0;
    virtual int do_sethostname(const char* name, std::size_t size) = 0;
    virtual int do_setdomainname(const char* name, std::size_t size) = 0;
    virtual int do_setsid() = 0;
    virtual int do_setgroups(std::size_t size, const gid_t* groups) = 0;
    virtual int do_setresgid(gid_t rgid, gid_t egid, gid_t sgid) = 0;
    virtual int do_setresuid(uid_t ruid, uid_t euid, uid_t suid) = 0;
    virtual int do_capset(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable) = 0;
    virtual int do_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
                         unsigned long arg5) = 0;
    virtual int do_personality(unsigned long persona) = 0;
    virtual int do_setrlimit(int resource, const rlimit& limit) = 0;
    virtual int do_sched_setattr(const SchedAttr& attr) = 0;
    virtual int do_ioprio_set(int which, int who, int ioprio) = 0;
    virtual int do_set_mempolicy(int mode, const std::vector<unsigned long>& nodemask, unsigned long maxnode) = 0;
    virtual mode_t do_umask(mode_t mask) = 0;
    virtual int do_sigprocmask(int how, const sigset_t* set, sigset_t* old) = 0;
    virtual int do_sigaction(int sig, const struct sigaction* action, struct sigaction* old) = 0;
    virtual int do_seccomp_filter(unsigned flags, const void* filter, std::size_t instructions) = 0;
    virtual int do_execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) = 0;
    virtual int do_bpf(int cmd, void* attr, unsigned size) = 0;
    virtual int do_netlink(int socket, std::uint32_t port, nlmsghdr* request, const NetlinkAnswer& each) = 0;
    virtual int do_nft_batch(int socket, std::uint32_t port, const void* batch, std::size_t size, int requests,
                             std::uint32_t first_seq, int& refused) = 0;
    virtual int do_bind(int socket, const sockaddr* address, socklen_t length) = 0;
    virtual ssize_t do_sendmsg(int socket, const msghdr& message, int flags) = 0;
    virtual ssize_t do_recvmsg(int socket, msghdr& message, int flags) = 0;

private:
    // "$ROOT/proc" for "/proc/self/fd/7"; the path relative to `dirfd`'s name otherwise.
    std::string path_name(const char* path) const;
    std::string at_name(int dirfd, const char* path) const;
    template <typename Call, typename Describe>
    auto make(CallKind kind, Call call, Describe describe) -> decltype(call());
};

// The kernel hutch runs on: a LinuxKernel unless replaced (a RecordingKernel in unit tests,
// through ScopedKernel). Everything below the front-end that changes the container or the
// process reaches the kernel through it (docs/design.md lists what does not yet).
Kernel& kernel();
void set_kernel(Kernel& k);

// Writes `text` into the kernel file `path` (/proc/PID/uid_map, timens_offsets,
// oom_score_adj) in one write, as the kernel parses such files a write at a time, through
// kernel(). Throws SysError of `step`, the path shown as `shown`.
void write_kernel_file(const std::string& path, const std::string& text, const char* step, const std::string& shown);

// Installs `k` for the life of this object, then puts the previous one back (tests).
class ScopedKernel {
public:
    explicit ScopedKernel(Kernel& k) : previous_(&kernel()) { set_kernel(k); }
    ~ScopedKernel() { set_kernel(*previous_); }
    ScopedKernel(const ScopedKernel&) = delete;
    ScopedKernel& operator=(const ScopedKernel&) = delete;

private:
    Kernel* previous_;
};

}  // namespace hutch::sys
