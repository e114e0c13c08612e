// tracefs for `hutch profile`: a private trace instance, so the machine's own tracing (the
// top-level buffer, its events, filters and pid lists) is never touched.
//
// An instance (instances/<name>) has its own ring buffer, its own copy of every event's enable
// and filter, its own set_event_pid and options. hutch makes one per profiled run, enables the
// events it reads there, restricts them to the container's processes, and removes the whole
// instance afterwards: whatever a crash leaves is one directory named after hutch's pid.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "runtime/fd.hpp"

namespace hutch::tracefs {

// The tracefs root as a directory fd: /sys/kernel/tracing when tracefs is mounted there, else a
// tracefs mount made with fsopen/fsmount and attached nowhere (no mount appears on the host;
// it goes when the fd closes).
class Root {
public:
    // nullopt when the kernel has no tracefs at all (or it cannot be opened).
    static std::optional<Root> open();
    int fd() const { return fd_.get(); }
    const std::string& where() const { return where_; }
    // "capability/cap_capable": whether the kernel has that event.
    bool has_event(const std::string& event) const;
    // Removes instances named "<prefix><pidns>-<pid>-<start time>-<n>" (instance_prefix()) of
    // this pid namespace whose process is gone (no such pid, or one with another start time):
    // what a killed hutch left. Returns how many. Another pid namespace's are never touched, nor
    // a live process's.
    int remove_orphans(const std::string& prefix) const;

private:
    Root(Fd fd, std::string where) : fd_(std::move(fd)), where_(std::move(where)) {}
    Fd fd_;
    std::string where_;
};

// "hutch-profile-<pid namespace inode>-<pid>-<start time>-": the name of every instance this
// process makes starts so. The start time (clock ticks after boot, /proc/<pid>/stat field 22)
// tells this process from a later one given the same pid.
std::string instance_prefix();

// instances/<name>, removed (events disabled first) when this goes.
class Instance {
public:
    // Named `prefix` + a number, the next one free (an EEXIST moves on to the next number).
    Instance(const Root& root, const std::string& prefix);
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    ~Instance();

    const std::string& name() const { return name_; }
    // Writes `value` to a file of the instance ("set_event_pid", "options/event-fork").
    void write(const std::string& file, const std::string& value);
    // "capability/cap_capable"
    void enable(const std::string& event);

    // A thread reads trace_pipe and hands over every line, in order, until stop_reading().
    // trace_pipe is opened here: SysError naming it when it cannot be.
    void start_reading(std::function<void(std::string_view)> on_line);
    // Stops recording, hands over what is still buffered, joins the reader.
    void stop_reading();
    // Events the buffer had to drop (the reader fell behind), summed over CPUs.
    long lost_events() const;

private:
    void read_loop(Fd pipe);
    int root_fd_;
    std::string name_;
    Fd dir_;
    std::vector<std::string> enabled_;
    std::function<void(std::string_view)> on_line_;
    std::atomic<bool> stop_{false};
    std::thread reader_;
};

}  // namespace hutch::tracefs
