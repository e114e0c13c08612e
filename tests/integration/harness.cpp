#include "harness.hpp"

#include "netns/link.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <regex>
#include <thread>

extern char** environ;

namespace hutch_it {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

// --- Result --------------------------------------------------------------------------------

Strings split_lines(const std::string& text) {
    Strings out;
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

Strings Result::err_lines() const {
    Strings lines;
    for (auto& l : split_lines(err))
        if (!trim(l).empty()) lines.push_back(l);
    return lines;
}

Strings Result::out_lines() const { return split_lines(this->out); }

std::string describe(const Result& r) {
    std::ostringstream os;
    os << r;
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Result& r) {
    os << "exit=" << r.code << (r.timed_out ? " (TIMED OUT)" : "") << "\n--- stdout\n"
       << r.out << "\n--- stderr\n" << r.err << "\n---";
    return os;
}

// --- Process -------------------------------------------------------------------------------

Process Process::spawn(const Strings& argv, const SpawnOptions& options) {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) || ::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC))
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    for (const auto& extra : options.extra_env) env.push_back(extra);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);

    // Everything the child needs is computed before fork: no allocation after it.
    std::vector<std::pair<int, int>> inherit = options.inherit_fds;
    bool keep[100] = {};
    for (const auto& [from, to] : inherit)
        if (to >= 0 && to < 100) keep[to] = true;

    const bool die_with_test = options.die_with_test;
    const pid_t test_pid = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Child: only async-signal-safe calls from here.
        if (die_with_test && (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != test_pid)) ::_exit(127);
        ::dup2(in_pipe[0], 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        // Move inherited fds out of the way first (>= 100), then into place without CLOEXEC.
        for (auto& [from, to] : inherit) from = ::fcntl(from, F_DUPFD_CLOEXEC, 100);
        for (const auto& [tmp, to] : inherit) ::dup2(tmp, to);
        // Close everything else the test process holds (gtest's files, other pipes).
        for (int fd = 3; fd < 100; ++fd)
            if (!keep[fd]) ::close(fd);
        ::syscall(SYS_close_range, 100u, ~0u, 0u);
        ::signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(cargv[0], cargv.data(), cenv.data());
        if (std::strchr(cargv[0], '/') == nullptr) ::execvpe(cargv[0], cargv.data(), cenv.data());
        ::_exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    // Small inputs fit the pipe buffer; write then close so the child sees EOF.
    if (!options.stdin_data.empty()) {
        ::signal(SIGPIPE, SIG_IGN);
        const char* p = options.stdin_data.data();
        std::size_t left = options.stdin_data.size();
        while (left > 0) {
            ssize_t n = ::write(in_pipe[1], p, left);
            if (n <= 0) break;
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    ::close(in_pipe[1]);
    Process proc;
    proc.pid_ = pid;
    proc.out_fd_ = out_pipe[0];
    proc.err_fd_ = err_pipe[0];
    return proc;
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), out_fd_(other.out_fd_), err_fd_(other.err_fd_), out_(std::move(other.out_)),
      err_(std::move(other.err_)), reaped_(other.reaped_), status_(other.status_) {
    other.pid_ = -1;
    other.out_fd_ = other.err_fd_ = -1;
    other.reaped_ = true;
}

Process::~Process() {
    if (pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);  // only the child this harness started
        ::waitpid(pid_, &status_, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
}

void Process::pump(int timeout_ms) {
    if (out_fd_ < 0 && err_fd_ < 0) return;
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout_ms);
    if (n <= 0) return;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int& fd = i == 0 ? out_fd_ : err_fd_;
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got > 0) (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(got));
        else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
            ::close(fd);
            fd = -1;
        }
    }
}

bool Process::exited_nonblocking() {
    if (reaped_) return true;
    pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) reaped_ = true;
    return reaped_;
}

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (out_.find(needle) == std::string::npos) {
        if (out_fd_ < 0 && err_fd_ < 0) return false;
        if (Clock::now() >= deadline) return false;
        pump(std::min(remaining_ms(deadline), 100));
        if (out_fd_ < 0 && exited_nonblocking()) return out_.find(needle) != std::string::npos;
    }
    return true;
}

Result Process::wait(std::chrono::milliseconds timeout) {
    Result r;
    auto deadline = Clock::now() + timeout;
    // Read until both pipes close (every holder exited) and the child is reaped.
    while (out_fd_ >= 0 || err_fd_ >= 0) {
        if (Clock::now() >= deadline) {
            r.timed_out = true;
            break;
        }
        pump(std::min(remaining_ms(deadline), 200));
        // A grandchild may keep a pipe open after the child exited: once the child is gone,
        // take what is already there and stop.
        if (exited_nonblocking()) {
            for (int i = 0; i < 1000 && (out_fd_ >= 0 || err_fd_ >= 0); ++i) {
                pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
                if (::poll(fds, 2, 0) <= 0) break;
                pump(0);
            }
            break;
        }
    }
    while (!reaped_) {
        if (r.timed_out || Clock::now() >= deadline) {
            r.timed_out = true;
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status_, 0);
            reaped_ = true;
            break;
        }
        if (!exited_nonblocking()) std::this_thread::sleep_for(5ms);
    }
    r.out = out_;
    r.err = err_;
    r.code = r.timed_out ? -1 : decode_status(status_);
    return r;
}

Result run_command(const Strings& argv, const SpawnOptions& options, std::chrono::milliseconds timeout) {
    return Process::spawn(argv, options).wait(timeout);
}

std::string hutch_binary() { return HUTCH_BINARY; }

Result run_hutch(const Strings& args, const std::string& stdin_data) {
    SpawnOptions o;
    o.stdin_data = stdin_data;
    return run_hutch(args, o);
}

Result run_hutch(const Strings& args, const SpawnOptions& options, std::chrono::milliseconds timeout) {
    Strings argv = {hutch_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, options, timeout);
}

// --- temp dirs -----------------------------------------------------------------------------

TempDir::TempDir() {
    char tmpl[] = "/tmp/hutch-it.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = tmpl;
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    // FTW_MOUNT: never descend into something mounted below (a leaked mount would otherwise
    // let this remove host files); FTW_PHYS: never follow symlinks.
    ::nftw(
        path_.c_str(),
        [](const char* p, const struct stat* st, int type, FTW*) -> int {
            if (type == FTW_DP || type == FTW_D) {
                ::chmod(p, st->st_mode | 0700);
                ::rmdir(p);
            } else {
                ::unlink(p);
            }
            return 0;
        },
        64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

TempRoots::TempRoots() {
    // Unique per process and per instance: parallel ctest runs never share a bridge or subnet.
    static int counter = 0;
    unsigned pid = static_cast<unsigned>(::getpid());
    unsigned n = static_cast<unsigned>(counter++);
    char name[16];
    std::snprintf(name, sizeof name, "hut%06x%02x", pid & 0xffffff, n & 0xff);
    bridge_ = name;
    std::string bip = "10." + std::to_string(200 + pid % 50) + "." + std::to_string((pid / 50 + n * 37) % 256) + ".1/24";
    // No firewall rules, no ip_forward change: tests on the machine's own network namespace
    // must leave its ruleset and sysctls as they were (tests/integration/firewall_test.cpp runs
    // hutch's firewall in namespaces of its own).
    write_file(dir_ / "config.json", "{\"bridge\": \"" + bridge_ + "\", \"bip\": \"" + bip +
                                         "\", \"iptables\": false, \"ip-forward\": false}\n");
}

TempRoots::~TempRoots() {
    struct stat st {};
    std::string record = data_root() + "/networks/bridge/network.json";
    if (::stat(record.c_str(), &st) == 0) run_hutch(hutch_args({"network", "rm", "bridge"}), {}, kDefaultTimeout);
    // A test that killed hutch leaves a claim that keeps `network rm` from removing the bridge:
    // the bridge is this test's own, so remove it directly.
    if (hutch::net::link_index(bridge_) != 0) {
        hutch::net::NetlinkSocket nl;
        hutch::net::delete_link(nl, bridge_);
    }
}

Strings TempRoots::hutch_args(const Strings& rest) const {
    Strings out = {"--root", run_root(), "--data-root", data_root(), "--config", dir_ / "config.json"};
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

Result TempRoots::hutch(const Strings& args, const SpawnOptions& options,
                        std::chrono::milliseconds timeout) const {
    return run_hutch(hutch_args(args), options, timeout);
}

Strings list_dir(const std::string& dir) {
    Strings out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

Strings TempRoots::leftovers() const {
    Strings out;
    // Known layout: run/{containers,names}, data/containers. Anything else counts as well.
    for (const auto& root : {run_root(), data_root()}) {
        for (const auto& entry : list_dir(root)) {
            std::string path = root + "/" + entry;
            struct stat st {};
            bool known_dir = (entry == "containers" || entry == "names") &&
                             ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
            if (entry == "seccomp") continue;       // compiled filters, kept on purpose between starts
            if (entry == "events.jsonl") continue;  // the event log keeps a failed start's events
            if (entry == "networks") {
                // Networks stay until removed; what must not stay is a container's address claim.
                for (const auto& network : list_dir(path))
                    for (const auto& claim : list_dir(path + "/" + network + "/endpoints"))
                        out.push_back(path + "/" + network + "/endpoints/" + claim);
                continue;
            }
            if (!known_dir) {
                out.push_back(path);
                continue;
            }
            for (const auto& inner : list_dir(path)) out.push_back(path + "/" + inner);
        }
    }
    return out;
}

char proc_state(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) return '\0';
    return stat[paren + 2];
}

pid_t parent_of(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream in(stat.substr(paren + 2));
    char state;
    pid_t ppid = 0;
    in >> state >> ppid;
    return ppid;
}

bool process_alive(pid_t pid) {
    char s = proc_state(pid);
    return s != '\0' && s != 'Z' && s != 'X';
}

bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        ::waitpid(pid, nullptr, WNOHANG);  // ours only if reparented to the test (subreaper)
        if (!process_alive(pid)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

nlohmann::json inspect_container(const TempRoots& roots, const std::string& ref) {
    Result r = roots.hutch({"inspect", ref});
    if (r.code != 0) {
        ADD_FAILURE() << "inspect " << ref << ": " << describe(r);
        return nullptr;
    }
    try {
        nlohmann::json j = nlohmann::json::parse(r.out);
        if (!j.is_array() || j.size() != 1) {
            ADD_FAILURE() << "inspect " << ref << " is not a one-element array: " << r.out;
            return nullptr;
        }
        return j[0];
    } catch (const std::exception& e) {
        ADD_FAILURE() << "inspect " << ref << " is not JSON (" << e.what() << "): " << r.out;
        return nullptr;
    }
}

pid_t container_pid(const TempRoots& roots, const std::string& ref) {
    nlohmann::json j = inspect_container(roots, ref);
    if (j.is_null()) return 0;
    return j["State"].value("Pid", 0);
}

Strings TempRoots::container_ids() const { return list_dir(run_root() + "/containers"); }

// --- host facts ----------------------------------------------------------------------------

std::string test_rootfs() {
    const char* env = std::getenv("HUTCH_TEST_ROOTFS");
    if (!env || !*env) return "";
    struct stat st {};
    if (::stat(env, &st) != 0 || !S_ISDIR(st.st_mode)) return "";
    char resolved[PATH_MAX];
    if (!::realpath(env, resolved)) return "";
    return resolved;
}

std::string rootfs_skip_reason() {
    const char* env = std::getenv("HUTCH_TEST_ROOTFS");
    if (!env || !*env)
        return "HUTCH_TEST_ROOTFS is not set: build the rootfs with scripts/rootfs and export "
               "HUTCH_TEST_ROOTFS=<repo>/rootfs/out/busybox";
    return std::string("HUTCH_TEST_ROOTFS=") + env + " is not a directory (run scripts/rootfs)";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    ssize_t n = ::write(fd, content.data(), content.size());
    ::fchmod(fd, mode);
    ::close(fd);
    if (n != static_cast<ssize_t>(content.size())) throw std::runtime_error("short write " + path);
}

std::string host_mountinfo() { return read_file("/proc/self/mountinfo"); }

std::string status_field(const std::string& status_text, const std::string& field) {
    for (const auto& line : split_lines(status_text))
        if (line.rfind(field + ":", 0) == 0) return trim(line.substr(field.size() + 1));
    return "";
}

std::string own_status_field(const std::string& field) {
    return status_field(read_file("/proc/self/status"), field);
}

std::string ns_link(const std::string& type, pid_t pid) {
    std::string path = (pid == 0 ? std::string("/proc/self") : "/proc/" + std::to_string(pid)) + "/ns/" + type;
    char buf[256];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

std::string ia32_emulation_missing() {
    static const std::string reason = [] {
        pid_t pid = ::fork();
        if (pid < 0) return std::string("fork failed");
        if (pid == 0) {
            long ret = 20;  // __NR_getpid in the i386 table
            asm volatile("int $0x80" : "+a"(ret) : : "r8", "r9", "r10", "r11", "memory");
            ::_exit(ret > 0 ? 0 : 1);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::string();
        if (WIFSIGNALED(status))
            return "this kernel has no IA32 emulation: int $0x80 killed a host process with signal " +
                   std::to_string(WTERMSIG(status));
        return std::string("int $0x80 getpid failed on the host");
    }();
    return reason;
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> out;
    std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& tid : list_dir(task_dir)) {
        std::istringstream in(read_file(task_dir + "/" + tid + "/children"));
        pid_t child;
        while (in >> child) out.push_back(child);
    }
    return out;
}

std::vector<pid_t> own_children() { return children_of(::getpid()); }

int reap_leftover_children() {
    auto kids = own_children();
    for (pid_t k : kids) {
        ::kill(k, SIGKILL);
        ::waitpid(k, nullptr, 0);
    }
    return static_cast<int>(kids.size());
}

std::vector<pid_t> reap_zombies() {
    std::vector<pid_t> alive;
    for (pid_t k : own_children()) {
        if (proc_state(k) == 'Z') ::waitpid(k, nullptr, 0);
        else if (proc_state(k) != '\0') alive.push_back(k);
    }
    return alive;
}

pid_t wait_for_child_of(pid_t pid, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto kids = children_of(pid);
        if (!kids.empty()) return kids.front();
        std::this_thread::sleep_for(5ms);
    }
    return 0;
}

std::string cgroup2_mount() {
    for (const auto& line : split_lines(host_mountinfo())) {
        std::istringstream in(line);
        std::string f[5];
        for (auto& x : f) in >> x;
        if (mount_fstype(line) == "cgroup2" && f[4].rfind("/sys/fs/cgroup", 0) == 0) return f[4];
    }
    return "";
}

std::string container_cgroup_dir(const std::string& id) {
    std::string mount_point = cgroup2_mount();
    if (mount_point.empty()) return "";
    std::string own;
    for (const auto& line : split_lines(read_file("/proc/self/cgroup")))
        if (line.rfind("0::", 0) == 0) own = line.substr(3);
    if (own == "/") own.clear();
    return mount_point + own + "/hutch/" + id;
}

bool remove_leftover_cgroup(const std::string& id) {
    std::string dir = container_cgroup_dir(id);
    if (dir.empty() || !path_exists(dir)) return false;
    ::rmdir(dir.c_str());
    ::rmdir(dir.substr(0, dir.find_last_of('/')).c_str());  // the shared parent, if now empty
    return true;
}

// --- trees ---------------------------------------------------------------------------------

namespace {

std::uint64_t fnv1a(const std::string& data) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : data) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

void walk(const std::string& root, const std::string& rel, dev_t dev,
          std::map<std::string, std::string>& out) {
    std::string path = root + rel;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    std::ostringstream line;
    char type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : '?';
    line << type << " " << std::oct << (st.st_mode & 07777) << std::dec << " " << st.st_uid << ":"
         << st.st_gid << " " << st.st_size << " " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
         << " ctime=" << st.st_ctim.tv_sec << "." << st.st_ctim.tv_nsec;
    if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
        if (n > 0) line << " -> " << std::string(buf, static_cast<std::size_t>(n));
    } else if (S_ISREG(st.st_mode)) {
        line << " #" << std::hex << fnv1a(read_file(path));
    }
    out[rel.empty() ? "/" : rel] = line.str();
    if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
        for (const auto& name : list_dir(path)) walk(root, rel + "/" + name, dev, out);
    }
}

}  // namespace

std::map<std::string, std::string> list_tree(const std::string& root) {
    std::map<std::string, std::string> out;
    struct stat st {};
    if (::lstat(root.c_str(), &st) != 0) return out;
    walk(root, "", st.st_dev, out);
    return out;
}

std::string diff_trees(const std::map<std::string, std::string>& before,
                       const std::map<std::string, std::string>& after) {
    std::ostringstream os;
    for (const auto& [path, info] : before) {
        auto it = after.find(path);
        if (it == after.end()) os << "removed: " << path << " (" << info << ")\n";
        else if (it->second != info) os << "changed: " << path << " (" << info << " => " << it->second << ")\n";
    }
    for (const auto& [path, info] : after)
        if (!before.count(path)) os << "added: " << path << " (" << info << ")\n";
    return os.str();
}

bool copy_rootfs(const std::string& from, const std::string& dest) {
    Result r = run_command({"/bin/cp", "-a", from, dest});
    return r.code == 0;
}

// --- mountinfo -----------------------------------------------------------------------------

namespace {
Strings fields_of(const std::string& line) {
    Strings out;
    std::istringstream in(line);
    std::string f;
    while (in >> f) out.push_back(f);
    return out;
}
}  // namespace

std::string mountinfo_line(const std::string& mountinfo, const std::string& mount_point) {
    std::string found;
    for (const auto& line : split_lines(mountinfo)) {
        auto f = fields_of(line);
        if (f.size() > 4 && f[4] == mount_point) found = line;
    }
    return found;
}

std::string mount_options(const std::string& line) {
    auto f = fields_of(line);
    return f.size() > 5 ? f[5] : "";
}

std::string mount_fstype(const std::string& line) {
    auto f = fields_of(line);
    for (std::size_t i = 0; i + 1 < f.size(); ++i)
        if (f[i] == "-") return f[i + 1];
    return "";
}

bool has_option(const std::string& comma_list, const std::string& option) {
    std::istringstream in(comma_list);
    std::string o;
    while (std::getline(in, o, ','))
        if (o == option) return true;
    return false;
}

// --- fixture -------------------------------------------------------------------------------

void HutchTest::SetUp() {
    if (::geteuid() != 0) GTEST_SKIP() << "integration tests need root (containers, mounts)";
    rootfs_ = test_rootfs();
    if (rootfs_.empty()) GTEST_SKIP() << rootfs_skip_reason();
    // Orphans of anything this test starts are reparented to us, so leftovers can be seen.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

Result HutchTest::run(const Strings& opts, const Strings& cmd, const SpawnOptions& so) {
    Strings args = {"run"};
    args.insert(args.end(), opts.begin(), opts.end());
    args.push_back("--rm");
    args.push_back(rootfs_);
    args.insert(args.end(), cmd.begin(), cmd.end());
    return roots_.hutch(args, so);
}

Result HutchTest::sh(const Strings& opts, const std::string& script, const SpawnOptions& so) {
    return run(opts, {"sh", "-c", script}, so);
}

Result HutchTest::run_raw(const Strings& args, const SpawnOptions& so) {
    Strings all = {"run"};
    all.insert(all.end(), args.begin(), args.end());
    return roots_.hutch(all, so);
}

Process HutchTest::start(const Strings& opts, const Strings& cmd, const SpawnOptions& so) {
    Strings argv = {hutch_binary()};
    Strings args = roots_.hutch_args({"run"});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.push_back("--rm");
    argv.push_back(rootfs_);
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return Process::spawn(argv, so);
}

Strings remove_all_containers(const TempRoots& roots) {
    Strings ids = roots.container_ids();
    for (const auto& id : ids) roots.hutch({"rm", "-f", id}, {}, 20s);
    reap_leftover_children();
    for (const auto& id : ids)
        for (int i = 0; i < 100 && remove_leftover_cgroup(id); ++i) std::this_thread::sleep_for(5ms);
    return ids;
}

Result run_detached(const TempRoots& roots, const std::string& rootfs, const Strings& opts, const Strings& cmd) {
    Strings args = {"run", "-d", "--network", "none"};
    args.insert(args.end(), opts.begin(), opts.end());
    args.push_back(rootfs);
    args.insert(args.end(), cmd.begin(), cmd.end());
    return roots.hutch(args, {}, 15s);
}

std::string started_id(const Result& run_d) {
    std::string id = trim(run_d.out);
    if (run_d.code != 0 || !std::regex_match(id, std::regex("[0-9a-f]{64}"))) {
        ADD_FAILURE() << "run -d failed: " << describe(run_d);
        return "";
    }
    return id;
}

size_t count_of(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
    return n;
}

}  // namespace hutch_it
