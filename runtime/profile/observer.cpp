#include "runtime/profile/observer.hpp"

#include <dirent.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>

#include "caps/seccomp_filter.hpp"

namespace hutch::profile {
namespace {

std::string native_syscall_name(long nr) {
    char* name = ::seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, static_cast<int>(nr));
    std::string out = name ? name : "syscall_" + std::to_string(nr);
    std::free(name);
    return out;
}

// A directory that cannot be read is an error, not an empty one: a write missed there would make
// --read-only look sufficient.
void walk(const std::string& root, const std::string& rel, UpperTree& out) {
    constexpr const char* step = "list the files the run wrote";
    DIR* d = ::opendir((root + rel).c_str());
    if (!d) throw SysError(step, "opendir", root + rel, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
        errno = 0;
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) throw SysError(step, "readdir", root + rel, err);
    for (const auto& n : names) {
        std::string path = rel + "/" + n;
        struct stat st {};
        if (::lstat((root + path).c_str(), &st) != 0) throw SysError(step, "lstat", root + path, errno);
        UpperEntry e;
        e.dir = S_ISDIR(st.st_mode);
        e.whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
        e.signature = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
                      " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                      std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_ctim.tv_sec) + "." +
                      std::to_string(st.st_ctim.tv_nsec);
        out[path] = e;
        if (e.dir) walk(root, path, out);
    }
}

// What the run wrote: upper-dir entries new or changed since `before`. A directory the lower
// layer has with the same owner and mode is only there because something below it was written
// (overlayfs copies parents up), so it is not a write of its own.
std::vector<std::string> written_paths(const UpperTree& before, const UpperTree& after, const std::string& lower) {
    std::vector<std::string> out;
    for (const auto& [path, e] : after) {
        auto was = before.find(path);
        if (was != before.end() && was->second.signature == e.signature) continue;
        if (e.dir && !e.whiteout) {
            struct stat low {};
            if (::lstat((lower + path).c_str(), &low) == 0 && S_ISDIR(low.st_mode)) {
                // Mode and owner lead the signature: the same as below means only copied up.
                std::string same = std::to_string(low.st_mode) + " " + std::to_string(low.st_uid) + ":" +
                                   std::to_string(low.st_gid) + " ";
                if (e.signature.rfind(same, 0) == 0) continue;
            }
        }
        out.push_back(path);
    }
    return out;
}

}  // namespace

std::optional<seccomp::Program> Observer::listener_filter() {
    if (calls_ == Calls::kNotify) return seccomp::compile_listener();
    if (calls_ == Calls::kLog) {
        kernel_log_.emplace();
        return seccomp::compile_logger();
    }
    return std::nullopt;
}

void Observer::cloned(pid_t pid) {
    init_pid_ = pid;
    if (!trace_root_) return;
    analyzer_ = std::make_unique<CapAnalyzer>(pid, effective_, ::seccomp_syscall_resolve_name("execve"),
                                              native_syscall_name);
    instance_.emplace(*trace_root_, instance_name_);
    // One clock for every CPU: a task that moves between CPUs keeps its events in order.
    instance_->write("trace_clock", "mono");
    // When the reader falls behind, drop new events rather than overwrite the first ones (the
    // command's start among them); lost_events() counts what was dropped.
    instance_->write("options/overwrite", "0");
    instance_->write("buffer_size_kb", "4096");
    // The container's first process and, through event-fork, every process it starts; set
    // before any event is enabled, so no other process is ever recorded.
    instance_->write("options/event-fork", "1");
    instance_->write("set_event_pid", std::to_string(pid));
    instance_->enable(kCapEvent);
    for (const char* e : {"raw_syscalls/sys_enter", "raw_syscalls/sys_exit", "sched/sched_process_fork",
                          "sched/sched_process_exec"})
        if (trace_root_->has_event(e)) instance_->enable(e);
    instance_->start_reading([this](std::string_view line) {
        if (auto e = parse_trace_line(line)) analyzer_->feed(*e);
    });
}

void Observer::listener(Fd fd, const std::string& upper_dir) {
    // The child waits in its next call until the supervisor answers: the command has not run.
    // (Without a listener there is no such moment; hutch's setup writes nothing to the upper
    // dir anyway, so an empty "before" costs nothing there.)
    if (!upper_dir.empty()) walk(upper_dir, "", before_);
    supervisor_.emplace(std::move(fd));
}

void Observer::exited(int, const std::string& upper_dir) {
    usage_ = meter_.finish();  // the cgroups go once run_container returns
    if (supervisor_) {
        notifications_ = supervisor_->finish();
        supervisor_error_ = supervisor_->error();
    }
    if (kernel_log_) {
        notifications_ = kernel_log_->read_new();
        missing_ = missing_records(notifications_);
    }
    if (instance_) {
        instance_->stop_reading();
        lost_ = instance_->lost_events();
        instance_.reset();
    }
    if (!upper_dir.empty()) {
        UpperTree after;
        walk(upper_dir, "", after);
        writes_ = written_paths(before_, after, lower_);
        writes_known_ = true;
    }
}

}  // namespace hutch::profile
