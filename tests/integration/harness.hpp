// Integration test harness: runs the real hutch binary as a child process, each container with
// its own throw-away state roots, and reads what the host and the container saw.
//
// Safety rules every test follows (see the suite's brief):
//   - every hutch call gets a fresh --root/--data-root under a TempRoots, removed afterwards;
//   - processes are only ever signalled by the pid this harness started (or found as the child
//     of such a pid), never by name;
//   - the shared rootfs (HUTCH_TEST_ROOTFS) is never written: tests that need a modified rootfs
//     copy it first (copy_rootfs).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace hutch_it {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

inline constexpr std::chrono::milliseconds kDefaultTimeout = 30s;

// How a child ended, what it printed.
struct Result {
    int code = -1;  // exit status; 128+N when killed by signal N; -1 on timeout
    std::string out, err;
    bool timed_out = false;

    Strings err_lines() const;  // stderr split into non-empty lines
    Strings out_lines() const;  // stdout split into lines (no trailing empty line)
};
std::ostream& operator<<(std::ostream& os, const Result& r);
// For EXPECT_* diagnostics: "exit=N\n--- stdout\n...\n--- stderr\n...".
std::string describe(const Result& r);

struct SpawnOptions {
    std::string stdin_data;                        // written to the child's stdin, then closed
    std::vector<std::pair<int, int>> inherit_fds;  // (fd of the test, fd number in the child)
    Strings extra_env;                             // "KEY=VALUE" added to the test's environment
    // SIGKILL when the thread that spawned it ends (PR_SET_PDEATHSIG): a daemon the test runs
    // dies with a test ctest killed at its timeout, before its TearDown could stop it.
    bool die_with_test = false;
};

// A started child with its stdout and stderr on pipes; killed (by its own pid) and reaped if
// abandoned.
class Process {
public:
    static Process spawn(const Strings& argv, const SpawnOptions& options = {});
    Process(Process&& other) noexcept;
    Process& operator=(Process&&) = delete;
    ~Process();

    pid_t pid() const { return pid_; }
    // Reads stdout until it contains `needle`; false on timeout or if the child exited first.
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout = kDefaultTimeout);
    // Waits for exit (SIGKILL to this child only on timeout) and returns the outcome.
    Result wait(std::chrono::milliseconds timeout = kDefaultTimeout);
    const std::string& out_so_far() const { return out_; }
    const std::string& err_so_far() const { return err_; }

private:
    Process() = default;
    void pump(int timeout_ms);  // one poll round over stdout/stderr
    bool exited_nonblocking();

    pid_t pid_ = -1;
    int out_fd_ = -1, err_fd_ = -1;
    std::string out_, err_;
    bool reaped_ = false;
    int status_ = 0;
};

// Runs argv to completion.
Result run_command(const Strings& argv, const SpawnOptions& options = {},
                   std::chrono::milliseconds timeout = kDefaultTimeout);
// Runs the hutch binary under test with `args` (no roots added: callers pass them).
Result run_hutch(const Strings& args, const std::string& stdin_data = "");
Result run_hutch(const Strings& args, const SpawnOptions& options,
                 std::chrono::milliseconds timeout = kDefaultTimeout);
std::string hutch_binary();

// A private temp directory, removed (without crossing mount points) on destruction.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// A fresh pair of hutch state roots: <tmp>/run (--root) and <tmp>/data (--data-root), and a
// host config (<tmp>/config.json) whose default bridge has a name and subnet of this test's
// own, so parallel tests never share hutch0 and nothing stays on the host: the destructor
// removes the bridge if a container made it.
class TempRoots {
public:
    TempRoots();
    ~TempRoots();
    TempRoots(const TempRoots&) = delete;
    TempRoots& operator=(const TempRoots&) = delete;
    const std::string& bridge() const { return bridge_; }
    const std::string& base() const { return dir_.path(); }
    std::string run_root() const { return dir_ / "run"; }
    std::string data_root() const { return dir_ / "data"; }
    // {"--root", RUN, "--data-root", DATA} followed by `rest`.
    Strings hutch_args(const Strings& rest) const;
    // hutch --root .. --data-root .. ARGS...
    Result hutch(const Strings& args, const SpawnOptions& options = {},
                 std::chrono::milliseconds timeout = kDefaultTimeout) const;
    // Every entry under the roots' container and name dirs (empty: nothing left behind).
    Strings leftovers() const;
    // The 64-hex ids of the containers recorded under run/containers.
    Strings container_ids() const;

private:
    TempDir dir_;
    std::string bridge_;
};

// Processes seen through /proc: field 3 (state) of /proc/PID/stat, '\0' when gone; field 4
// (ppid), 0 when gone; alive and not a zombie; polling until gone (reaping it when it became the
// test's child, as a subreaper), at most `timeout`.
char proc_state(pid_t pid);
pid_t parent_of(pid_t pid);
bool process_alive(pid_t pid);
bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// `hutch inspect REF` under `roots`, its single element parsed; null with a recorded failure.
nlohmann::json inspect_container(const TempRoots& roots, const std::string& ref);
// State.Pid of that; 0 with a recorded failure.
pid_t container_pid(const TempRoots& roots, const std::string& ref);

// The busybox rootfs to run, from $HUTCH_TEST_ROOTFS; "" when unset or not a directory.
std::string test_rootfs();
// Why test_rootfs() is empty, for the skip message.
std::string rootfs_skip_reason();

// Host (test process) facts.
std::string host_mountinfo();                  // /proc/self/mountinfo of the test process
std::string read_file(const std::string& path);  // whole file; "" if unreadable
void write_file(const std::string& path, const std::string& content, mode_t mode = 0644);
std::string own_status_field(const std::string& field);  // e.g. "CapBnd" -> "000001fffeffffff"
std::string ns_link(const std::string& type, pid_t pid = 0);  // "pid:[4026531836]"; 0 = self
bool path_exists(const std::string& path);       // lstat succeeds
// Whether this kernel runs i386 system calls (`int $0x80`): machines of this kind differ (IA32
// emulation compiled out, or off with ia32_emulation=0, kills the caller with SIGSEGV). Tried
// in a child of the test, outside any container. "" when it works, else why not, for skips.
std::string ia32_emulation_missing();

// Children of `pid` (all its threads), from /proc/PID/task/*/children.
std::vector<pid_t> children_of(pid_t pid);
// The test process's own children (with PR_SET_CHILD_SUBREAPER set, orphaned descendants of
// anything the test started end up here).
std::vector<pid_t> own_children();
// Kills (by pid) and reaps the test's own leftover children; returns how many there were.
int reap_leftover_children();
// Reaps the test's zombie children (exited orphans); returns the ones still alive.
std::vector<pid_t> reap_zombies();
// Polls until `pid` has a child (its container init); 0 on timeout.
pid_t wait_for_child_of(pid_t pid, std::chrono::milliseconds timeout = 10s);

// The cgroup2 hierarchy's mount point under /sys/fs/cgroup (/sys/fs/cgroup itself, or a hybrid
// host's /sys/fs/cgroup/unified); "" when the host mounts none.
std::string cgroup2_mount();
// Where hutch puts a container's cgroup on this host: <cgroup2 mount><test's cgroup>/hutch/<id>;
// "" when the host mounts no cgroup2 hierarchy under /sys/fs/cgroup.
std::string container_cgroup_dir(const std::string& id);
// Removes the (empty) cgroup a killed hutch could not remove itself; true if it existed.
bool remove_leftover_cgroup(const std::string& id);
// A fixture's TearDown for tests with detached containers: `rm -f` of every container under
// `roots`, the test's leftover children reaped (exited monitors, anything a failed test left),
// and the cgroups of those containers a killed hutch left removed. Returns their ids.
Strings remove_all_containers(const TempRoots& roots);
// `run -d --network none OPTS ROOTFS CMD...` under `roots`.
Result run_detached(const TempRoots& roots, const std::string& rootfs, const Strings& opts, const Strings& cmd);
// The id `run -d` printed; "" with a recorded failure when it failed or printed anything else.
std::string started_id(const Result& run_d);
// How often `needle` occurs in `text` (not overlapping).
size_t count_of(const std::string& text, const std::string& needle);

// Every entry under `root` as "relative-path type mode uid:gid size mtime[ -> target][ #hash]",
// sorted; stays on root's file system.
// The names in `dir` (not . and ..), sorted; empty when it cannot be read.
Strings list_dir(const std::string& dir);
std::map<std::string, std::string> list_tree(const std::string& root);
// What differs between two list_tree() snapshots, one line per path (empty: identical).
std::string diff_trees(const std::map<std::string, std::string>& before,
                       const std::map<std::string, std::string>& after);
// Copies a rootfs tree with `cp -a` into dest (a path that does not exist yet).
bool copy_rootfs(const std::string& from, const std::string& dest);

// The mountinfo line whose mount point is `mount_point` (last one wins, as the visible mount);
// "" when none. Fields: mount options are field 6, super options after " - ".
std::string mountinfo_line(const std::string& mountinfo, const std::string& mount_point);
// Mount options (field 6) and "fstype" of a mountinfo line.
std::string mount_options(const std::string& line);
std::string mount_fstype(const std::string& line);
bool has_option(const std::string& comma_list, const std::string& option);

Strings split_lines(const std::string& text);
std::string trim(const std::string& s);
// "Key:\tvalue" lines of a /proc/PID/status text -> value, e.g. "CapEff".
std::string status_field(const std::string& status_text, const std::string& field);

// Base fixture: skips (with the reason) without root or without a rootfs, provides fresh roots
// and run helpers that build `hutch --root R --data-root D run OPTS [--rm] ROOTFS CMD...`.
class HutchTest : public ::testing::Test {
protected:
    void SetUp() override;

    // `run OPTS --rm ROOTFS CMD`. "--rm" is placed last before ROOTFS on purpose: a repeatable
    // option right before ROOTFS once swallowed ROOTFS (CliIntegration.RepeatableOptionBeforeRootfs
    // pins that); the other tests should test their own feature only.
    Result run(const Strings& opts, const Strings& cmd, const SpawnOptions& so = {});
    // `run OPTS --rm ROOTFS sh -c SCRIPT`.
    Result sh(const Strings& opts, const std::string& script, const SpawnOptions& so = {});
    // `run ARGS...` exactly as given (ROOTFS included by the caller via rootfs_).
    Result run_raw(const Strings& args, const SpawnOptions& so = {});
    // Starts `run OPTS --rm ROOTFS CMD` in the background.
    Process start(const Strings& opts, const Strings& cmd, const SpawnOptions& so = {});

    std::string rootfs_;
    TempRoots roots_;
};

}  // namespace hutch_it

// Asserts a hutch run exited with `code`, printing its output otherwise.
#define EXPECT_EXIT_CODE(result, expected) \
    EXPECT_EQ((result).code, (expected)) << ::hutch_it::describe(result)
#define ASSERT_EXIT_CODE(result, expected) \
    ASSERT_EQ((result).code, (expected)) << ::hutch_it::describe(result)
