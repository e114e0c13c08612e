// The container's first process and the namespaces around its birth, shared by `hutch run`
// (launch.cpp) and hutch-oci (launch_oci.cpp): the clone3 itself, its variant from inside a
// joined user namespace, the namespaces a start joins, the id maps the parent writes.
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/launch_internal.hpp"
#include "runtime/rootless.hpp"
#include "runtime/state.hpp"
#include "runtime/sys/describe.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::launch_detail {

pid_t pid_of_pidfd(int pidfd) {
    const std::string info = read_file("/proc/self/fdinfo/" + std::to_string(pidfd));
    const std::size_t at = info.find("\nPid:");
    return at == std::string::npos ? -1 : static_cast<pid_t>(std::strtol(info.c_str() + at + 5, nullptr, 10));
}

// clone3 of a container's first process: the spec's new namespaces, a pidfd, and straight into
// the cgroup `cgroup_fd` when there is one. Returns 0 in the child, the pid in the parent;
// `flags` says what was asked (for --explain).
long clone_container(const Spec& spec, int cgroup_fd, int& pidfd, unsigned long& flags, unsigned long extra) {
    flags = CLONE_PIDFD | extra;
    // The cgroup namespace is entered by the child with unshare(), after the parent has placed
    // it in its cgroup, and the time namespace too, so that its offsets are written before any
    // process is in it; every other new namespace is created by clone3 itself.
    for (const auto& ns : kNamespaceKinds)
        if (ns.type != NamespaceType::kCgroup && ns.type != NamespaceType::kTime && spec.has_new_namespace(ns.type))
            flags |= ns.clone_flag;
    clone_args args{};
    if (cgroup_fd >= 0) {
        flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    }
    args.flags = flags;
    args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
    // With CLONE_PARENT the child takes its exit signal from the caller (a helper forked with
    // SIGCHLD), and clone3 wants none given.
    args.exit_signal = (extra & CLONE_PARENT) ? 0 : SIGCHLD;
    long pid = sys::kernel().clone3(args);
    if (pid < 0) throw SysError("create the container's process", "clone3", sys::clone_flags(flags), errno);
    return pid;
}

int take_join(std::vector<NamespaceJoin>& joins, int clone_flag) {
    auto it = std::find_if(joins.begin(), joins.end(), [&](const NamespaceJoin& j) { return j.clone_flag == clone_flag; });
    if (it == joins.end()) return -1;
    const int fd = it->fd;
    joins.erase(it);
    return fd;
}

long clone_in_user_namespace(const Spec& spec, int userns, int cgroup_fd, int& pidfd, unsigned long& flags, int pid_ns) {
    int pair[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "create the container's process", "socketpair");
    Fd here(pair[0]), helper_end(pair[1]);
    const pid_t helper = ::fork();
    if (helper < 0) throw SysError("create the container's process", "fork", "a helper to enter the user namespace", errno);
    if (helper == 0) {
        // Nothing may unwind out of here into the caller's frames (their destructors are the
        // parent's to run): every way out is _exit, but the child's return.
        here.reset();
        int code = 0;
        try {
            check(sys::kernel().setns(userns, CLONE_NEWUSER), "enter the user namespace", "setns", "CLONE_NEWUSER");
            if (pid_ns >= 0) check(sys::kernel().setns(pid_ns, CLONE_NEWPID), "join a pid namespace", "setns", "CLONE_NEWPID");
            const long child = clone_container(spec, cgroup_fd, pidfd, flags, CLONE_PARENT);
            if (child == 0) {
                helper_end.reset();
                return 0;  // the container's first process, this process's parent's child
            }
            // The pid goes by the pidfd: the one clone3 returned here may be a joined pid
            // namespace's.
            sync::send(helper_end.get(), sync::Kind::kCreated, 0, "", pidfd);
        } catch (const std::exception& e) {
            try {
                sync::send(helper_end.get(), sync::Kind::kError, kExitHutchError, e.what());
            } catch (...) {
            }
            code = 1;
        } catch (...) {
            code = 1;
        }
        ::_exit(code);
    }
    helper_end.reset();
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
    } reaper{helper};
    sync::Message m = sync::receive(here.get());
    if (m.kind == sync::Kind::kError) throw Error(m.text, m.exit_code());
    if (m.eof || m.kind != sync::Kind::kCreated || !m.fd) throw Error("create the container's process: the helper in the user namespace ended");
    const pid_t pid = pid_of_pidfd(m.fd.get());
    if (pid <= 0) throw Error("create the container's process: the pidfd names no process here");
    pidfd = m.fd.release();
    return pid;
}

// Opens the namespaces the spec joins (linux.namespaces[].path), before clone, so the child
// only has to setns. Each must be a namespace file (nsfs), not any file at that path. A pid
// namespace is different: a process enters one only at birth, so the parent joins it for the
// child it is about to clone (setns affects its children, not itself).
std::vector<Fd> open_joined_namespaces(const Spec& spec, std::vector<NamespaceJoin>& joins) {
    std::vector<Fd> fds;
    for (const auto& ns : spec.linux.namespaces) {
        if (ns.path.empty()) continue;
        sys::Kernel& k = sys::kernel();
        Fd fd(k.openat(AT_FDCWD, ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) throw SysError("open the namespace to join", "open", ns.path, errno);
        if (ns.type == NamespaceType::kPid && !spec.hutch.rootless) {
            explain::comment("a process enters a pid namespace only at birth: hutch joins it for the child it clones");
            check(k.setns(fd.get(), CLONE_NEWPID), "join a pid namespace", "setns", ns.path);
            continue;
        }
        struct statfs sf {};
        if (k.fstatfs(fd.get(), &sf) != 0 || sf.f_type != NSFS_MAGIC)
            throw Error("join " + std::string(namespace_name(ns.type)) + " namespace: " + ns.path + " is not a namespace file");
        joins.push_back({fd.get(), static_cast<int>(clone_flag(ns.type)), ns.path});
        fds.push_back(std::move(fd));
    }
    return fds;
}

// Writes the user namespace's id maps for the child `pid`, from the parent: as root in the
// parent namespace hutch may map any ids (and the gid map needs no "setgroups deny" then).
// Done before "go", so the child runs with its ids mapped from its first step.
void write_id_maps(pid_t pid, const Spec& spec) {
    if (!spec.has_new_namespace(NamespaceType::kUser)) return;
    // Without root, only the setuid helpers may map the user's subordinate ids.
    if (spec.hutch.rootless) return rootless::write_maps(pid, spec.linux.uid_mappings, spec.linux.gid_mappings);
    write_id_maps(pid, spec.linux.uid_mappings, spec.linux.gid_mappings);
}

void write_id_maps(pid_t pid, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids) {
    auto write_map = [pid](const char* file, const std::vector<IdMapping>& maps) {
        std::string text;
        for (const auto& m : maps)
            text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
        std::string path = "/proc/" + std::to_string(pid) + "/" + file;
        sys::write_kernel_file(path, text, "map the user namespace's ids", path);
    };
    write_map("uid_map", uids);
    write_map("gid_map", gids);
}

JoinedForTheClone::JoinedForTheClone(const Spec& spec, std::vector<NamespaceJoin>& joins) {
    if (!spec.has_namespace(NamespaceType::kUser)) return;
    sys::Kernel& k = sys::kernel();
    for (auto it = joins.begin(); it != joins.end();) {
        // Not cgroup (entered before the clone it would take CLONE_INTO_CGROUP's target out of
        // reach under nsdelegate) nor ipc: with a joined user namespace the child enters those
        // itself; with a new one they are refused (validate_spec).
        const char* kind = it->clone_flag == CLONE_NEWNET ? "net" : it->clone_flag == CLONE_NEWUTS ? "uts" : nullptr;
        if (!kind) {
            ++it;
            continue;
        }
        const std::string own = std::string("/proc/thread-self/ns/") + kind;
        try {
            Fd home(check(k.openat(AT_FDCWD, own.c_str(), O_RDONLY | O_CLOEXEC), "join a namespace", "open", own));
            check(k.setns(it->fd, it->clone_flag), "join a namespace", "setns", it->path);
            homes_.push_back({std::move(home), it->clone_flag});
        } catch (...) {
            leave();
            throw;
        }
        it = joins.erase(it);  // the child is born in it
    }
}

void JoinedForTheClone::leave() {
    // Left in another container's namespaces, every later step of hutch's would act there.
    for (auto it = homes_.rbegin(); it != homes_.rend(); ++it)
        if (sys::kernel().setns(it->first.get(), it->second) != 0) {
            std::fprintf(stderr, "hutch: return to hutch's own namespaces: %s\n", std::strerror(errno));
            ::_exit(kExitHutchError);
        }
    homes_.clear();
}

}  // namespace hutch::launch_detail
