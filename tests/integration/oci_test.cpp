// hutch-oci, the OCI runtime command line (runc/crun compatible): the lifecycle of runtime.md,
// hooks, the console socket, exec, the config.json fields seen from inside the container, bad
// bundles, and podman driving hutch-oci as its runtime.
//
// Every test has its own --root and bundle under a temp dir. The bundle's rootfs is the shared
// busybox tree, read-only (root.readonly); a container writes only into a bind-mounted temp dir
// (/mnt inside) and a tmpfs /tmp. `create` returns while the container's first process lives on,
// so the test process is a child subreaper: it inherits that process, and reaps it.
#include <dirent.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string oci_binary() { return HUTCH_OCI_BINARY; }

// Polls until `path` exists (a marker the container writes); false after `timeout`.
bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (!path_exists(path)) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// Polls until `path` holds `needle`.
bool wait_for_content(const std::string& path, const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (read_file(path).find(needle) == std::string::npos) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// Waits for `pid`, a child of the test (an orphan it inherited as subreaper): its exit status as
// Result::code has it (128+N for signal N), -1 on timeout or when it is not the test's child.
int reap(pid_t pid, std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (w < 0 || Clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(5ms);
    }
}

// The unified cgroup hutch-oci gives a container without cgroupsPath (runtime/cgroup_resources.cpp):
// <cgroup2 mount><test's cgroup>/hutch-oci/<id>; "" without a cgroup2 hierarchy.
std::string default_oci_cgroup(const std::string& id) {
    std::string dir = container_cgroup_dir(id);  // .../hutch/<id>, hutch run's
    if (dir.empty()) return "";
    return dir.substr(0, dir.size() - id.size() - std::string("/hutch/").size()) + "/hutch-oci/" + id;
}

// A unix socket the test listens on and receives fds over: an engine's console socket, a seccomp
// agent's socket.
class FdSocket {
public:
    explicit FdSocket(std::string path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path_.c_str(), path_.size());
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0)
            throw std::runtime_error("socket " + path_ + ": " + std::strerror(errno));
    }
    ~FdSocket() {
        if (fd_ >= 0) ::close(fd_);
        ::unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }
    // Accepts one connection (waiting `timeout` for it) and receives the fd it sends with
    // SCM_RIGHTS (waiting `data_timeout`: a seccomp agent's is sent only at the container's
    // start); -1 on failure (and `why` says what went wrong). `name` gets the message's payload.
    int receive_fd(std::string& name, std::string& why, std::chrono::milliseconds timeout = 10s,
                   std::chrono::milliseconds data_timeout = 10s) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return why = "nobody connected", -1;
        int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) return why = std::string("accept: ") + std::strerror(errno), -1;
        pollfd c{conn, POLLIN, 0};
        if (::poll(&c, 1, static_cast<int>(data_timeout.count())) != 1) {
            ::close(conn);
            return why = "nothing sent", -1;
        }
        char buf[65536];  // a seccomp agent's message holds the container's state
        iovec iov{buf, sizeof buf};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
        ::close(conn);
        if (n < 0) return why = std::string("recvmsg: ") + std::strerror(errno), -1;
        name.assign(buf, static_cast<std::size_t>(n));
        cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            return why = "no SCM_RIGHTS message", -1;
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        return fd;
    }

private:
    std::string path_;
    int fd_ = -1;
};

// Reads a pty master until `needle` shows (or EOF/EIO, or the timeout); '\r' dropped.
std::string read_terminal(int master, const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    std::string out;
    auto deadline = Clock::now() + timeout;
    while (out.find(needle) == std::string::npos && Clock::now() < deadline) {
        pollfd p{master, POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 0))) <= 0) break;
        char buf[4096];
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i)
            if (buf[i] != '\r') out += buf[i];
    }
    return out;
}

// --- fixture -------------------------------------------------------------------------------

class OciTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "integration tests need root (containers, mounts)";
        rootfs_ = test_rootfs();
        if (rootfs_.empty()) GTEST_SKIP() << rootfs_skip_reason();
        ASSERT_TRUE(path_exists(oci_binary())) << oci_binary() << " is missing (built beside hutch)";
        // Containers outlive `create`: as subreaper the test inherits (and reaps) them.
        ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        reap_zombies();
        root_ = tmp_ / "root";
        bundle_ = tmp_ / "bundle";
        shared_ = tmp_ / "shared";
        ASSERT_EQ(::mkdir(bundle_.c_str(), 0755), 0);
        ASSERT_EQ(::mkdir(shared_.c_str(), 0777), 0);
        ::chmod(shared_.c_str(), 0777);  // an exec'd process of another uid writes here too
        Result spec = oci({"spec", "--bundle", bundle_});
        ASSERT_EXIT_CODE(spec, 0);
        config_ = json::parse(read_file(bundle_ + "/config.json"));
        config_["process"]["terminal"] = false;
        // The shared rootfs, never written: read-only; writes go to /mnt and /tmp.
        config_["root"] = {{"path", rootfs_}, {"readonly", true}};
        config_["mounts"].push_back(
            {{"destination", "/mnt"}, {"type", "bind"}, {"source", shared_}, {"options", {"rbind", "rw"}}});
        config_["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                     {"options", {"nosuid", "nodev", "mode=1777", "size=4m"}}});
        set_command("true");
        rootfs_before_ = list_tree(rootfs_);
    }

    void TearDown() override {
        for (const auto& id : ids_) oci_reaping({"delete", "--force", id});
        // Whatever the test left running was started by it (a container, an exec'd process).
        auto alive = reap_zombies();
        for (pid_t pid : alive) {
            ADD_FAILURE() << "process " << pid << " (" << read_file("/proc/" + std::to_string(pid) + "/cmdline")
                          << ") outlived the test's containers";
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        for (const auto& id : ids_) {
            std::string cg = default_oci_cgroup(id);
            if (!cg.empty() && path_exists(cg)) {
                ADD_FAILURE() << "cgroup " << cg << " left behind";
                ::rmdir(cg.c_str());
            }
        }
        if (!rootfs_.empty() && !rootfs_before_.empty()) {
            EXPECT_EQ(diff_trees(rootfs_before_, list_tree(rootfs_)), "") << "the shared rootfs was written";
        }
    }

    // hutch-oci --root ROOT ARGS...
    Result oci(const Strings& args, const SpawnOptions& so = {}, std::chrono::milliseconds timeout = kDefaultTimeout) {
        Strings argv = {oci_binary(), "--root", root_};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, so, timeout);
    }

    // Like oci(), but the command's stdout and stderr are files, not pipes: what it leaves
    // running (a container after create, a process after exec -d) keeps them, and may write
    // into them later (a closed pipe would kill it with SIGPIPE). The Result holds what they
    // held when the command returned.
    Result oci_to_files(const Strings& args) {
        static int n = 0;
        std::string out = tmp_ / ("stdout." + std::to_string(n)), err = tmp_ / ("stderr." + std::to_string(n));
        ++n;
        int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        SpawnOptions so;
        so.inherit_fds = {{out_fd, 1}, {err_fd, 2}};
        Result r = oci(args, so);
        ::close(out_fd);
        ::close(err_fd);
        r.out = read_file(out);
        r.err = read_file(err);
        return r;
    }

    // Like oci(), while the test reaps the zombies it inherits (as an engine's subreaper does):
    // a pid namespace's first process cannot finish exiting while a process of its namespace
    // whose parent is the test (exec -d) stays unreaped, so `delete -f` would wait for it.
    // `reaped` gets the exit status of each (as Result::code has it).
    Result oci_reaping(const Strings& args, std::map<pid_t, int>* reaped = nullptr) {
        Strings argv = {oci_binary(), "--root", root_};
        argv.insert(argv.end(), args.begin(), args.end());
        Process p = Process::spawn(argv);
        std::atomic<bool> done{false};
        std::map<pid_t, int> got;
        std::thread reaper([&] {
            while (!done) {
                for (pid_t k : own_children()) {
                    int status = 0;
                    if (k != p.pid() && proc_state(k) == 'Z' && ::waitpid(k, &status, WNOHANG) == k)
                        got[k] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                }
                std::this_thread::sleep_for(2ms);
            }
        });
        Result r = p.wait();
        done = true;
        reaper.join();
        if (reaped) reaped->insert(got.begin(), got.end());
        return r;
    }

    // A container id no other test (process) uses: cgroups are shared by the host.
    std::string new_id(const std::string& name) {
        static int counter = 0;
        std::string id = name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        ids_.push_back(id);
        return id;
    }

    void write_config() { write_file(bundle_ + "/config.json", config_.dump(2) + "\n"); }
    void set_command(const std::string& script) {
        config_["process"]["args"] = {"sh", "-c", script};
        write_config();
    }

    Result create(const std::string& id, const Strings& extra = {}) {
        Strings args = {"create", "--bundle", bundle_};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(id);
        return oci_to_files(args);
    }

    // `state ID` parsed; null (and a failure) when it fails.
    json state(const std::string& id) {
        Result r = oci({"state", id});
        if (r.code != 0) {
            ADD_FAILURE() << "state " << id << ": " << describe(r);
            return nullptr;
        }
        try {
            return json::parse(r.out);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "state " << id << " is not JSON: " << r.out;
            return nullptr;
        }
    }
    pid_t pid_of(const std::string& id) {
        json s = state(id);
        return s.is_object() ? s.value("pid", 0) : 0;
    }

    // Creates and starts a container running `script`; it writes /mnt/.ready first. Returns its pid.
    pid_t start_running(const std::string& id, const std::string& script) {
        set_command("echo ready > /mnt/.ready; " + script);
        Result c = create(id);
        EXPECT_EXIT_CODE(c, 0);
        Result s = oci({"start", id});
        EXPECT_EXIT_CODE(s, 0);
        EXPECT_TRUE(wait_for_file(shared_ + "/.ready")) << "the container's command did not run";
        ::unlink((shared_ + "/.ready").c_str());
        return pid_of(id);
    }

    // `run --bundle B ID`: the container's output is on the Result.
    Result run_container(const std::string& script) {
        set_command(script);
        return oci({"run", "--bundle", bundle_, new_id("run")});
    }

    // A run the config must fail: an error exit, one line that says `says`, and nothing left
    // in the state root.
    void expect_refused(const std::string& says) {
        Result r = run_container("true");
        EXPECT_NE(r.code, 0) << describe(r);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(says), std::string::npos) << describe(r);
        EXPECT_EQ(root_entries(), Strings{});
    }

    // The state root holds nothing of a container (the seccomp cache aside).
    Strings root_entries() {
        Strings out;
        for (const auto& e : list_dir(root_))
            if (e != "seccomp") out.push_back(e);
        return out;
    }

    TempDir tmp_;
    std::string rootfs_, root_, bundle_, shared_;
    json config_;
    Strings ids_;
    std::map<std::string, std::string> rootfs_before_;
};

using OciLifecycleIntegration = OciTest;
using OciExecIntegration = OciTest;
using OciConfigIntegration = OciTest;
using OciBadInputIntegration = OciTest;

// --- lifecycle (runtime.md) ----------------------------------------------------------------

TEST_F(OciLifecycleIntegration, CreateStartKillDelete) {
    std::string id = new_id("life");
    set_command("trap 'exit 3' TERM; echo ran > /mnt/marker; while :; do sleep 0.05; done");
    std::string pid_file = tmp_ / "pid";
    Result c = create(id, {"--pid-file", pid_file});
    ASSERT_EXIT_CODE(c, 0);
    EXPECT_EQ(c.err, "");

    // created: the process exists (and was left to us, the reaper), the command has not run.
    json s = state(id);
    ASSERT_TRUE(s.is_object());
    EXPECT_EQ(s["id"], id);
    EXPECT_EQ(s["status"], "created");
    EXPECT_EQ(s["bundle"], bundle_);
    EXPECT_EQ(s["ociVersion"].get<std::string>().substr(0, 2), "1.");
    pid_t pid = s.value("pid", 0);
    ASSERT_GT(pid, 0);
    EXPECT_EQ(trim(read_file(pid_file)), std::to_string(pid));
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(parent_of(pid), ::getpid()) << "create must leave no hutch process behind";
    std::this_thread::sleep_for(200ms);
    EXPECT_FALSE(path_exists(shared_ + "/marker")) << "the command ran before start";
    EXPECT_TRUE(path_exists(root_ + "/" + id + "/exec.fifo"));
    Result list = oci({"list", "-q"});
    EXPECT_EXIT_CODE(list, 0);
    EXPECT_EQ(list.out, id + "\n");
    // exec into a created container, as runc allows: the command still waits for start.
    Result in_created = oci({"exec", id, "sh", "-c", "echo in-created"});
    EXPECT_EXIT_CODE(in_created, 0);
    EXPECT_EQ(in_created.out, "in-created\n") << describe(in_created);
    EXPECT_EQ(state(id)["status"], "created");
    EXPECT_FALSE(path_exists(shared_ + "/marker")) << "an exec into a created container started its command";

    Result st = oci({"start", id});
    ASSERT_EXIT_CODE(st, 0);
    ASSERT_TRUE(wait_for_content(shared_ + "/marker", "ran\n")) << "the command did not run after start";
    s = state(id);
    EXPECT_EQ(s["status"], "running");
    EXPECT_EQ(s["pid"], pid) << "the command is exec'd by the created process";
    EXPECT_FALSE(path_exists(root_ + "/" + id + "/exec.fifo"));
    Result lj = oci({"list", "--format", "json"});
    EXPECT_EXIT_CODE(lj, 0);
    json all = json::parse(lj.out);
    ASSERT_EQ(all.size(), 1u) << lj.out;
    EXPECT_EQ(all[0]["id"], id);
    EXPECT_EQ(all[0]["status"], "running");

    // kill ID 0, runc's liveness check: nothing is sent (the trap would exit), exit 0 while it runs.
    EXPECT_EXIT_CODE(oci({"kill", id, "0"}), 0);
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(state(id)["status"], "running");

    // kill: SIGTERM by default; the container's trap makes it exit 3.
    Result k = oci({"kill", id});
    EXPECT_EXIT_CODE(k, 0);
    EXPECT_EQ(reap(pid), 3);
    s = state(id);
    EXPECT_EQ(s["status"], "stopped");
    EXPECT_NE(oci({"kill", id, "KILL"}).code, 0) << "a stopped container cannot be signalled";
    EXPECT_NE(oci({"kill", id, "0"}).code, 0) << "kill 0 of a stopped container";

    std::string cgroup = default_oci_cgroup(id);
    if (!cgroup.empty()) {
        EXPECT_TRUE(path_exists(cgroup)) << cgroup;
    }
    Result d = oci({"delete", id});
    EXPECT_EXIT_CODE(d, 0);
    Result gone = oci({"state", id});
    EXPECT_NE(gone.code, 0);
    ASSERT_EQ(gone.err_lines().size(), 1u) << describe(gone);
    EXPECT_NE(gone.err.find(id), std::string::npos) << describe(gone);
    EXPECT_FALSE(path_exists(root_ + "/" + id));
    EXPECT_EQ(root_entries(), Strings{});
    if (!cgroup.empty()) {
        EXPECT_FALSE(path_exists(cgroup)) << cgroup << " left after delete";
    }
    EXPECT_EQ(oci({"list", "-q"}).out, "");
}

TEST_F(OciLifecycleIntegration, StartTwiceFails) {
    std::string id = new_id("twice");
    pid_t pid = start_running(id, "echo $$ >> /mnt/runs; exec sleep 60");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_file(shared_ + "/runs"));
    Result again = oci({"start", id});
    EXPECT_NE(again.code, 0) << describe(again);
    ASSERT_EQ(again.err_lines().size(), 1u) << describe(again);
    EXPECT_NE(again.err.find("running"), std::string::npos) << describe(again);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(read_file(shared_ + "/runs"), "1\n") << "the command ran once, as pid 1 of its namespace";
    EXPECT_EQ(state(id)["status"], "running");
}

TEST_F(OciLifecycleIntegration, StartOfAStoppedCreatedContainerFails) {
    std::string id = new_id("dead");
    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    EXPECT_EQ(reap(pid), 128 + SIGKILL);
    Result st = oci({"start", id});
    EXPECT_NE(st.code, 0);
    EXPECT_EQ(st.err_lines().size(), 1u) << describe(st);
    EXPECT_EQ(state(id)["status"], "stopped");
    EXPECT_EXIT_CODE(oci({"delete", id}), 0);
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciLifecycleIntegration, DeleteOfARunningContainerNeedsForce) {
    std::string id = new_id("busy");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    auto before = list_tree(root_);
    Result d = oci({"delete", id});
    EXPECT_NE(d.code, 0);
    ASSERT_EQ(d.err_lines().size(), 1u) << describe(d);
    EXPECT_NE(d.err.find("running"), std::string::npos) << describe(d);
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(diff_trees(before, list_tree(root_)), "") << "a refused delete changes nothing";
    EXPECT_EQ(state(id)["status"], "running");

    Result f = oci({"delete", "--force", id});
    EXPECT_EXIT_CODE(f, 0);
    EXPECT_EQ(reap(pid), 128 + SIGKILL);
    EXPECT_FALSE(path_exists(root_ + "/" + id));
    EXPECT_NE(oci({"state", id}).code, 0);
    // runc's -f: deleting what does not exist is not an error; without -f it is.
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(oci({"delete", id}).code, 0);
}

// pause and resume, as `docker pause`, `ctr task pause` and `podman pause` call them: the
// container's processes stop where they are (its ticks stop growing) and go on after resume;
// a paused container is deleted only with --force, which kills it.
TEST_F(OciLifecycleIntegration, PauseFreezesAndResumeThaws) {
    std::string id = new_id("frozen");
    pid_t pid = start_running(id, "while :; do echo tick >> /mnt/ticks; sleep 0.02; done");
    ASSERT_GT(pid, 0);
    const std::string ticks = shared_ + "/ticks";
    auto grows = [&] {
        std::size_t before = read_file(ticks).size();
        std::this_thread::sleep_for(300ms);
        return read_file(ticks).size() > before;
    };
    ASSERT_TRUE(grows());

    Result p = oci({"pause", id});
    ASSERT_EXIT_CODE(p, 0);
    EXPECT_EQ(p.err, "");
    EXPECT_EQ(state(id)["status"], "paused");
    EXPECT_FALSE(grows()) << "a paused container went on writing";
    Result again = oci({"pause", id});
    EXPECT_NE(again.code, 0);
    EXPECT_EQ(again.err_lines().size(), 1u) << describe(again);
    EXPECT_NE(again.err.find("paused"), std::string::npos) << describe(again);
    EXPECT_NE(oci({"exec", id, "true"}).code, 0) << "exec into a paused container";
    Result d = oci({"delete", id});
    EXPECT_NE(d.code, 0);
    EXPECT_NE(d.err.find("paused"), std::string::npos) << describe(d);

    Result r = oci({"resume", id});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(state(id)["status"], "running");
    EXPECT_TRUE(grows()) << "a resumed container stayed stopped";
    EXPECT_NE(oci({"resume", id}).code, 0) << "resume of a running container";

    ASSERT_EXIT_CODE(oci({"pause", id}), 0);
    ASSERT_EXIT_CODE(oci({"delete", "--force", id}), 0);
    EXPECT_EQ(reap(pid), 128 + SIGKILL);
    EXPECT_FALSE(path_exists(root_ + "/" + id));
}

TEST_F(OciLifecycleIntegration, DeleteForceOfACreatedContainer) {
    std::string id = new_id("cr");
    set_command("echo ran > /mnt/marker");
    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    ASSERT_GT(pid, 0);
    EXPECT_NE(oci({"delete", id}).code, 0) << "a created container is not stopped";
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_EQ(reap(pid), 128 + SIGKILL);
    EXPECT_FALSE(path_exists(shared_ + "/marker")) << "delete must not start the command";
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciLifecycleIntegration, KillAllSignalsEveryProcess) {
    std::string id = new_id("all");
    // The first process handles USR1; its two children (sleep) die of it.
    pid_t pid = start_running(id, "trap 'echo usr1 >> /mnt/log' USR1; sleep 1000 & sleep 1000 & "
                                  "echo forked > /mnt/forked; while :; do wait; sleep 0.05; done");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_file(shared_ + "/forked"));
    auto sleepers = [&] {
        std::vector<pid_t> out;
        Result ps = oci({"ps", "--format", "json", id});
        EXPECT_EXIT_CODE(ps, 0);
        for (pid_t p : json::parse(ps.out).get<std::vector<pid_t>>()) {
            std::string cmd = read_file("/proc/" + std::to_string(p) + "/cmdline");
            std::replace(cmd.begin(), cmd.end(), '\0', ' ');
            if (cmd == "sleep 1000 " && process_alive(p)) out.push_back(p);
        }
        return out;
    };
    auto kids = sleepers();
    ASSERT_EQ(kids.size(), 2u);

    EXPECT_EXIT_CODE(oci({"kill", id, "USR1"}), 0);
    ASSERT_TRUE(wait_for_content(shared_ + "/log", "usr1\n"));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(sleepers(), kids) << "without --all only the first process is signalled";

    EXPECT_EXIT_CODE(oci({"kill", "--all", id, "SIGUSR1"}), 0);
    for (pid_t k : kids) EXPECT_TRUE(wait_until_gone(k)) << "sleep " << k << " survived kill --all";
    EXPECT_TRUE(wait_for_content(shared_ + "/log", "usr1\nusr1\n"));
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(state(id)["status"], "running");
}

TEST_F(OciLifecycleIntegration, CreateWithAnExistingIdFails) {
    std::string id = new_id("dup");
    ASSERT_EXIT_CODE(create(id), 0);
    json first = state(id);
    std::string state_file = read_file(root_ + "/" + id + "/state.json");
    set_command("echo second > /mnt/second");
    Result again = create(id);
    EXPECT_NE(again.code, 0);
    ASSERT_EQ(again.err_lines().size(), 1u) << describe(again);
    EXPECT_NE(again.err.find(id), std::string::npos) << describe(again);
    EXPECT_NE(again.err.find("exists"), std::string::npos) << describe(again);
    EXPECT_EQ(state(id), first);
    EXPECT_EQ(read_file(root_ + "/" + id + "/state.json"), state_file);
    EXPECT_TRUE(process_alive(first.value("pid", 0)));
    EXPECT_EQ(reap_zombies().size(), 1u) << "only the first container's process lives";
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(path_exists(shared_ + "/second"));
}

TEST_F(OciLifecycleIntegration, RunReturnsTheExitStatusAndLeavesNothing) {
    std::string id = new_id("run");
    set_command("echo out; echo err >&2; exit 7");
    Result r = oci({"run", "--bundle", bundle_, id});
    EXPECT_EXIT_CODE(r, 7);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    EXPECT_EQ(root_entries(), Strings{});
    EXPECT_EQ(reap_zombies(), std::vector<pid_t>{});
    std::string cgroup = default_oci_cgroup(id);
    if (!cgroup.empty()) {
        EXPECT_FALSE(path_exists(cgroup)) << cgroup;
    }

    // Killed by a signal: 128+N. (From outside: the pid namespace's first process ignores
    // SIGKILL sent from inside it.)
    set_command("echo ready; exec sleep 60");
    Process p = Process::spawn({oci_binary(), "--root", root_, "run", "--bundle", bundle_, new_id("run")});
    ASSERT_TRUE(p.wait_for_output("ready\n", 10s)) << p.err_so_far();
    pid_t init = wait_for_child_of(p.pid());
    ASSERT_GT(init, 0);
    ASSERT_EQ(::kill(init, SIGKILL), 0);
    EXPECT_EXIT_CODE(p.wait(), 128 + SIGKILL);
    set_command("exit 0");
    EXPECT_EXIT_CODE(oci({"run", "--bundle", bundle_, new_id("run")}), 0);
    EXPECT_EQ(root_entries(), Strings{});
}

// Containers created and deleted side by side (an engine's normal day): one delete removes the
// shared parent cgroup when it is the last one there, while another create is making its own
// cgroup in it. Eight workers run containers back to back.
TEST_F(OciLifecycleIntegration, ParallelRunsDoNotCollide) {
    set_command("true");
    std::vector<std::string> failures;
    std::mutex failures_lock;
    std::vector<std::thread> workers;
    for (int w = 0; w < 8; ++w) {
        workers.emplace_back([&, w] {
            for (int i = 0; i < 12; ++i) {
                std::string id = "par-" + std::to_string(::getpid()) + "-" + std::to_string(w) + "-" + std::to_string(i);
                Result r = run_command({oci_binary(), "--root", root_, "run", "--bundle", bundle_, id});
                if (r.code != 0) {
                    std::lock_guard<std::mutex> lock(failures_lock);
                    failures.push_back(id + ": " + describe(r));
                }
            }
        });
    }
    for (auto& t : workers) t.join();
    EXPECT_EQ(failures, Strings{});
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciLifecycleIntegration, RunDetach) {
    std::string id = new_id("runbg");
    set_command("echo ran > /mnt/marker; exec sleep 60");
    Result r = oci_to_files({"run", "--detach", "--bundle", bundle_, id});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_TRUE(wait_for_file(shared_ + "/marker"));
    json s = state(id);
    EXPECT_EQ(s["status"], "running");
    pid_t pid = s.value("pid", 0);
    EXPECT_EQ(parent_of(pid), ::getpid());
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_EQ(reap(pid), 128 + SIGKILL);
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciLifecycleIntegration, HutchOciSubcommandIsTheSameRuntime) {
    // `hutch oci COMMAND` and the hutch-oci link speak the same command line.
    Result via_link = run_command({oci_binary(), "features"});
    Result via_cmd = run_hutch({"oci", "features"});
    EXPECT_EXIT_CODE(via_link, 0);
    EXPECT_EXIT_CODE(via_cmd, 0);
    EXPECT_EQ(via_link.out, via_cmd.out);
    std::string id = new_id("sub");
    set_command("exit 5");
    Result r = run_hutch({"oci", "--root", root_, "run", "--bundle", bundle_, id});
    EXPECT_EXIT_CODE(r, 5);
    EXPECT_EQ(root_entries(), Strings{});
}

// --- hooks (config.md "POSIX-platform Hooks") ------------------------------------------------

class OciHooks : public OciTest {
protected:
    void SetUp() override {
        OciTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        // One script for every point: appends "NAME <state on stdin>" to LOG, exits CODE.
        write_file(shared_ + "/hook.sh",
                   "#!/bin/sh\n"
                   "state=$(cat)\n"
                   "echo \"$1 $state\" >> \"$2\"\n"
                   "exit \"${3:-0}\"\n",
                   0755);
        log_ = shared_ + "/hooks.log";
    }
    // A hook on the host (every point but startContainer: that one runs in the container, where
    // the shared dir is /mnt).
    json hook(const std::string& point, int code = 0) {
        bool inside = point == "startContainer";
        std::string script = inside ? "/mnt/hook.sh" : shared_ + "/hook.sh";
        std::string log = inside ? "/mnt/hooks.log" : log_;
        return {{"path", script},
                {"args", {"hook.sh", point, log, std::to_string(code)}},
                {"env", {"PATH=/usr/bin:/bin"}}};
    }
    // The log as (name, state) pairs.
    std::vector<std::pair<std::string, json>> entries() {
        std::vector<std::pair<std::string, json>> out;
        for (const auto& line : split_lines(read_file(log_))) {
            auto sp = line.find(' ');
            std::string name = line.substr(0, sp);
            json state = nullptr;
            if (sp != std::string::npos) state = json::parse(line.substr(sp + 1), nullptr, false);
            out.emplace_back(name, state);
        }
        return out;
    }
    Strings names() {
        Strings out;
        for (const auto& [n, s] : entries()) out.push_back(n);
        return out;
    }
    std::string log_;
};
using OciHooksIntegration = OciHooks;

TEST_F(OciHooksIntegration, AllSixPointsInOrderWithTheState) {
    const Strings points = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
    for (const auto& p : points) config_["hooks"][p] = json::array({hook(p)});
    config_["annotations"] = {{"org.example.test", "hooks"}};
    std::string id = new_id("hooks");
    set_command("echo command >> /mnt/hooks.log; exec sleep 60");

    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    ASSERT_GT(pid, 0);
    EXPECT_EQ(names(), (Strings{"prestart", "createRuntime", "createContainer"}));

    ASSERT_EXIT_CODE(oci({"start", id}), 0);
    ASSERT_TRUE(wait_for_content(log_, "poststart "));
    ASSERT_TRUE(wait_for_content(log_, "command"));
    ASSERT_EXIT_CODE(oci({"kill", id, "KILL"}), 0);
    EXPECT_EQ(reap(pid), 128 + SIGKILL);
    EXPECT_EQ(names().size(), 6u) << read_file(log_);
    ASSERT_EXIT_CODE(oci({"delete", id}), 0);

    Strings got = names();
    auto command = std::find(got.begin(), got.end(), "command");
    ASSERT_NE(command, got.end());
    EXPECT_GT(command - got.begin(), std::find(got.begin(), got.end(), "startContainer") - got.begin())
        << "the command ran before startContainer\n" << read_file(log_);
    got.erase(command);
    EXPECT_EQ(got, points) << read_file(log_);

    const std::map<std::string, std::set<std::string>> status = {
        {"prestart", {"creating"}},        {"createRuntime", {"creating"}}, {"createContainer", {"creating", "created"}},
        {"startContainer", {"created"}}, {"poststart", {"running"}},      {"poststop", {"stopped"}}};
    for (const auto& [name, s] : entries()) {
        if (name == "command") continue;
        SCOPED_TRACE(name);
        ASSERT_TRUE(s.is_object()) << "no state JSON on stdin\n" << read_file(log_);
        EXPECT_EQ(s["id"], id);
        EXPECT_EQ(s["bundle"], bundle_);
        EXPECT_EQ(s["annotations"]["org.example.test"], "hooks");
        EXPECT_TRUE(status.at(name).count(s.value("status", ""))) << s.dump();
        if (name == "poststop") {
            EXPECT_EQ(s.value("pid", -1), 0) << s.dump();
        } else {
            EXPECT_EQ(s.value("pid", 0), pid) << s.dump();
        }
    }
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciHooksIntegration, FailingCreateRuntimeHookFailsCreateAndLeavesNothing) {
    config_["hooks"]["prestart"] = json::array({hook("prestart")});
    config_["hooks"]["createRuntime"] = json::array({hook("createRuntime", 3)});
    config_["hooks"]["createContainer"] = json::array({hook("createContainer")});
    config_["hooks"]["poststop"] = json::array({hook("poststop")});
    std::string id = new_id("hookfail");
    set_command("echo command >> /mnt/hooks.log");
    Result c = create(id);
    EXPECT_NE(c.code, 0);
    ASSERT_EQ(c.err_lines().size(), 1u) << describe(c);
    EXPECT_NE(c.err.find("createRuntime"), std::string::npos) << describe(c);
    EXPECT_NE(c.err.find("status 3"), std::string::npos) << "the hook's exit status\n" << describe(c);
    EXPECT_FALSE(path_exists(root_ + "/" + id));
    EXPECT_EQ(root_entries(), Strings{});
    EXPECT_EQ(reap_zombies(), std::vector<pid_t>{}) << "the container's process outlived the failed create";
    std::string cgroup = default_oci_cgroup(id);
    if (!cgroup.empty()) {
        EXPECT_FALSE(path_exists(cgroup)) << cgroup;
    }
    Strings got = names();
    ASSERT_GE(got.size(), 2u) << read_file(log_);
    EXPECT_EQ(got[0], "prestart");
    EXPECT_EQ(got[1], "createRuntime");
    EXPECT_EQ(std::count(got.begin(), got.end(), "createContainer"), 0) << read_file(log_);
    EXPECT_EQ(std::count(got.begin(), got.end(), "command"), 0) << read_file(log_);
    // runtime.md: a failed createRuntime hook stops the container and continues the lifecycle
    // at its destruction, after which the poststop hooks run.
    EXPECT_EQ(got.back(), "poststop") << read_file(log_);
}

// --- terminal: the console socket ----------------------------------------------------------

// Two starts at once: one releases the container, the other fails at once (it used to wait
// on the fifo until the container exited).
// A command that cannot be found fails create (127, naming it), as crun's create does, and
// leaves nothing: the engine reports it instead of a container that ends at start.
TEST_F(OciLifecycleIntegration, MissingCommandFailsCreate) {
    config_["process"]["args"] = {"no-such-command"};
    write_config();
    Result c = create(new_id("nocmd"));
    EXPECT_EQ(c.code, 127) << describe(c);
    ASSERT_EQ(c.err_lines().size(), 1u) << describe(c);
    EXPECT_NE(c.err.find("no-such-command"), std::string::npos) << describe(c);
    EXPECT_EQ(root_entries(), Strings{});
}

// Engines map a failed exec to 127/126 by runc's lowercase words (dockerd's start error
// translation, containerd, podman's conmon): hutch-oci says the same as runc.
TEST_F(OciLifecycleIntegration, ExecFailuresUseRuncsWordsThatEnginesMatch) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"no-such-command", "exec: \"no-such-command\": executable file not found in $PATH"},
        {"/no/such/file", "exec: \"/no/such/file\": stat /no/such/file: no such file or directory"},
        {"/etc/passwd", "exec: \"/etc/passwd\": permission denied"},
        {"/etc", "exec: \"/etc\": permission denied"},
    };
    for (const auto& [command, words] : cases) {
        SCOPED_TRACE(command);
        config_["process"]["args"] = {command};
        write_config();
        Result r = oci({"run", "--bundle", bundle_, new_id("words")});
        EXPECT_EQ(r.code, command.find("no") != std::string::npos ? 127 : 126) << describe(r);
        EXPECT_NE(r.err.find(words), std::string::npos) << describe(r);
    }
}

TEST_F(OciLifecycleIntegration, ConcurrentStartsOneWinsTheOtherFails) {
    std::string id = new_id("twostart");
    set_command("echo ready > /mnt/.ready; exec sleep 60");
    ASSERT_EXIT_CODE(create(id), 0);
    Strings argv = {oci_binary(), "--root", root_, "start", id};
    Process a = Process::spawn(argv), b = Process::spawn(argv);
    Result ra = a.wait(5s), rb = b.wait(5s);
    EXPECT_TRUE((ra.code == 0) != (rb.code == 0)) << describe(ra) << describe(rb);
    EXPECT_TRUE(wait_for_file(shared_ + "/.ready"));
    EXPECT_EQ(state(id).value("status", ""), "running");
}

// A create killed halfway (here in its createRuntime hook) leaves neither a stuck id nor its
// cgroup: the next create of the id, or delete -f, clears what it left.
TEST_F(OciLifecycleIntegration, KilledCreateDoesNotBlockItsId) {
    write_file(shared_ + "/slow-hook.sh", "#!/bin/sh\necho in > \"$1\"\nexec sleep 30\n", 0755);
    config_["hooks"]["createRuntime"] = {{{"path", shared_ + "/slow-hook.sh"}, {"args", {"slow-hook.sh", shared_ + "/in-hook"}}}};
    set_command("true");
    std::string id = new_id("killed");
    Process creating = Process::spawn({oci_binary(), "--root", root_, "create", "--bundle", bundle_, id});
    ASSERT_TRUE(wait_for_file(shared_ + "/in-hook"));
    ::kill(creating.pid(), SIGKILL);
    creating.wait(5s);
    reap_zombies();
    EXPECT_TRUE(path_exists(root_ + "/" + id)) << "the killed create left its state dir (the case under test)";
    config_.erase("hooks");
    set_command("true");
    Result again = create(id);
    EXPECT_EXIT_CODE(again, 0);
    EXPECT_EQ(state(id).value("status", ""), "created");
}

// A startContainer hook runs in the container beside its first process, still hutch's binary
// until start: it must not reach that binary through /proc/1/exe (CVE-2019-5736).
TEST_F(OciLifecycleIntegration, InContainerHooksCannotReachHutchsBinary) {
    config_["hooks"]["startContainer"] = {
        {{"path", "/bin/sh"}, {"args", {"sh", "-c", "head -c 4 /proc/1/exe > /mnt/head 2>/mnt/err; echo $? > /mnt/rc"}}}};
    std::string id = new_id("exehook");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_file(shared_ + "/rc"));
    EXPECT_NE(read_file(shared_ + "/rc"), "0\n") << "the hook read /proc/1/exe";
    EXPECT_EQ(read_file(shared_ + "/head").find("ELF"), std::string::npos);
}

TEST_F(OciLifecycleIntegration, FdSocketReceivesThePtyMaster) {
    FdSocket sock(tmp_ / "console.sock");
    config_["process"]["terminal"] = true;
    std::string id = new_id("tty");
    set_command("tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; test -t 2 && echo stderr-tty; "
                "stty size; echo done; exec sleep 60");
    Result c = create(id, {"--console-socket", sock.path()});
    ASSERT_EXIT_CODE(c, 0);
    std::string name, why;
    int master = sock.receive_fd(name, why);
    ASSERT_GE(master, 0) << why;
    int ptn = -1;
    EXPECT_EQ(::ioctl(master, TIOCGPTN, &ptn), 0) << "the fd received is not a pty master";
    ASSERT_EXIT_CODE(oci({"start", id}), 0);
    // `tty` names the pty of the container's own devpts instance: /dev/pts/0 here.
    std::string out = read_terminal(master, "done\n");
    ::close(master);
    Strings lines = split_lines(out);
    ASSERT_EQ(lines.size(), 6u) << out;
    EXPECT_EQ(lines[0], "/dev/pts/" + std::to_string(ptn)) << out;
    EXPECT_EQ(lines[1], "stdin-tty");
    EXPECT_EQ(lines[2], "stdout-tty");
    EXPECT_EQ(lines[3], "stderr-tty");
    EXPECT_EQ(lines[5], "done");
    EXPECT_EQ(c.out, "") << "the command's output goes to the terminal only";
}

TEST_F(OciLifecycleIntegration, TerminalWithoutFdSocketIsRefused) {
    config_["process"]["terminal"] = true;
    write_config();
    std::string id = new_id("notty");
    Result c = create(id);
    EXPECT_NE(c.code, 0);
    ASSERT_EQ(c.err_lines().size(), 1u) << describe(c);
    EXPECT_NE(c.err.find("console-socket"), std::string::npos) << describe(c);
    EXPECT_EQ(root_entries(), Strings{});
    EXPECT_EQ(reap_zombies(), std::vector<pid_t>{});
}

// --- exec ----------------------------------------------------------------------------------

TEST_F(OciExecIntegration, ExecWithAProcessFile) {
    std::string id = new_id("exec");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    json process = {{"terminal", false},
                    {"user", {{"uid", 1000}, {"gid", 1001}}},
                    {"args", {"sh", "-c", "id -u; id -g; pwd; echo $FOO; echo $PATH; exit 6"}},
                    {"env", {"PATH=/bin:/usr/bin", "FOO=from-process-json"}},
                    {"cwd", "/tmp"}};
    std::string file = tmp_ / "process.json";
    write_file(file, process.dump());
    Result r = oci({"exec", "--process", file, id});
    EXPECT_EXIT_CODE(r, 6);
    EXPECT_EQ(r.out, "1000\n1001\n/tmp\nfrom-process-json\n/bin:/usr/bin\n");
    EXPECT_EQ(state(id)["status"], "running");
}

// Regression (issue 13): --cap, --env and --additional-gids took the id and the command as more
// values ("container true does not exist").
TEST_F(OciExecIntegration, RepeatableExecOptionsTakeOneValueEach) {
    std::string id = new_id("execopt");
    ASSERT_GT(start_running(id, "exec sleep 60"), 0);
    Result r = oci({"exec", "--cap", "CAP_KILL", "--env", "Y=2", "--additional-gids", "42", "-g", "43", id, "sh", "-c",
                    "echo $Y; id -G; grep CapEff /proc/self/status"});
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 3u) << describe(r);
    EXPECT_EQ(lines[0], "2");
    EXPECT_NE(lines[1].find("42 43"), std::string::npos) << lines[1];
}

TEST_F(OciLifecycleIntegration, VersionInRuncsShape) {
    Result r = oci({"--version"});
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 3u) << describe(r);
    EXPECT_EQ(lines[0].rfind("hutch-oci version ", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1], "spec: 1.0.2");
    EXPECT_EQ(lines[2].rfind("libseccomp: ", 0), 0u) << lines[2];
    EXPECT_EQ(oci({"-v"}).out, r.out);
}

TEST_F(OciExecIntegration, ExecWithArgsJoinsTheContainer) {
    std::string id = new_id("execa");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    Result r = oci({"exec", "--env", "X=1", "--cwd", "/mnt", id, "sh", "-c",
                    "echo $X; pwd; hostname; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; exit 4"});
    EXPECT_EXIT_CODE(r, 4);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 5u) << describe(r);
    EXPECT_EQ(lines[0], "1");
    EXPECT_EQ(lines[1], "/mnt");
    EXPECT_EQ(lines[2], config_["hostname"].get<std::string>());
    EXPECT_EQ(lines[3], ns_link("pid", pid));
    EXPECT_EQ(lines[4], ns_link("mnt", pid));
    EXPECT_NE(lines[3], ns_link("pid"));
}

TEST_F(OciExecIntegration, ExecDetachWritesThePidFile) {
    std::string id = new_id("execd");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    std::string pid_file = tmp_ / "exec.pid";
    Result r = oci_to_files({"exec", "-d", "--pid-file", pid_file, id, "sh", "-c", "echo $$ > /mnt/exec-pid; exec sleep 60"});
    ASSERT_EXIT_CODE(r, 0);
    pid_t exec_pid = std::atoi(trim(read_file(pid_file)).c_str());
    ASSERT_GT(exec_pid, 0) << "pid file: [" << read_file(pid_file) << "]";
    EXPECT_TRUE(process_alive(exec_pid));
    EXPECT_EQ(parent_of(exec_pid), ::getpid()) << "exec -d leaves no hutch process behind";
    EXPECT_EQ(ns_link("pid", exec_pid), ns_link("pid", pid));
    ASSERT_TRUE(wait_for_file(shared_ + "/exec-pid"));
    // Its pid inside the container's namespace: not 1, and the host pid is another number.
    std::string inner = trim(read_file(shared_ + "/exec-pid"));
    EXPECT_NE(inner, "1");
    EXPECT_NE(status_field(read_file("/proc/" + std::to_string(exec_pid) + "/status"), "NSpid").find(inner),
              std::string::npos);
    Result ps = oci({"ps", "--format", "json", id});
    EXPECT_NE(json::parse(ps.out).get<std::vector<pid_t>>().size(), 1u) << ps.out;
    // delete -f ends every process of the container (the test reaps them meanwhile, as an
    // engine does).
    std::map<pid_t, int> reaped;
    EXPECT_EXIT_CODE(oci_reaping({"delete", "-f", id}, &reaped), 0);
    for (pid_t p : {pid, exec_pid}) {
        if (!reaped.count(p)) reaped[p] = reap(p);
        EXPECT_EQ(reaped[p], 128 + SIGKILL) << p;
    }
}

// A stopped container takes no exec (a created one does: CreateStartKillDelete).
TEST_F(OciExecIntegration, ExecIntoAStoppedContainerFails) {
    std::string id = new_id("execs");
    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    ASSERT_EXIT_CODE(oci({"kill", id, "KILL"}), 0);
    EXPECT_EQ(reap(pid), 128 + SIGKILL);
    Result r = oci({"exec", id, "true"});
    EXPECT_EQ(r.code, 1) << "a stopped container";
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    Result missing = oci({"exec", "nosuch", "true"});
    EXPECT_NE(missing.code, 0);
    EXPECT_NE(missing.err.find("nosuch"), std::string::npos) << describe(missing);
}

// --- config.json fields, observed inside -------------------------------------------------

TEST_F(OciConfigIntegration, Rlimits) {
    config_["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 1024}},
                                     {{"type", "RLIMIT_NPROC"}, {"soft", 333}, {"hard", 444}}};
    Result r = run_container("grep -E '^Max (open files|processes)' /proc/self/limits");
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 2u) << describe(r);
    auto fields = [](const std::string& line) {
        std::istringstream in(line.substr(26));
        std::string soft, hard;
        in >> soft >> hard;
        return soft + "/" + hard;
    };
    EXPECT_EQ(fields(lines[0]), "333/444") << lines[0];
    EXPECT_EQ(fields(lines[1]), "1024/1024") << lines[1];
}

TEST_F(OciConfigIntegration, OomScoreAdj) {
    config_["process"]["oomScoreAdj"] = 567;
    Result r = run_container("cat /proc/self/oom_score_adj");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "567\n");
    EXPECT_NE(read_file("/proc/self/oom_score_adj"), "567\n");
}

// process.scheduler and ioPriority, as runc sets them: seen by the kernel for the command
// (/proc/self/stat's nice and policy fields, busybox's ionice), which did not set them itself.
TEST_F(OciConfigIntegration, SchedulerAndIoPriority) {
    config_["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 7}};
    config_["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 6}};
    // stat's 19th field is the nice value, its 41st the policy (SCHED_BATCH is 3).
    Result r = run_container("cut -d' ' -f19,41 /proc/self/stat; ionice");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "7 3\nbest-effort: prio 6\n");
    config_["process"]["scheduler"] = {{"policy", "SCHED_SIDEWAYS"}};
    Result bad = run_container("true");
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.err.find("SCHED_SIDEWAYS"), std::string::npos) << describe(bad);
}

TEST_F(OciConfigIntegration, Umask) {
    config_["process"]["user"]["umask"] = 027;
    Result r = run_container("umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "0027\n640\n750\n");
    config_["process"]["user"].erase("umask");
    r = run_container("umask");
    EXPECT_EQ(r.out, "0022\n") << "the default, as runc";
}

TEST_F(OciConfigIntegration, CapabilitySets) {
    // CAP_CHOWN (0), CAP_KILL (5), CAP_NET_BIND_SERVICE (10). As root, execve makes the
    // effective set the permitted one (the kernel's rules for uid 0, as under runc), and with
    // noNewPrivileges the permitted set cannot grow from the bounding set.
    config_["process"]["noNewPrivileges"] = true;
    config_["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
                                          {"permitted", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
                                          {"effective", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
                                          {"inheritable", json::array()},
                                          {"ambient", json::array()}};
    Result r = run_container("grep ^Cap /proc/self/status");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(status_field(r.out, "CapBnd"), "0000000000000421") << r.out;
    EXPECT_EQ(status_field(r.out, "CapPrm"), "0000000000000420") << r.out;
    EXPECT_EQ(status_field(r.out, "CapEff"), "0000000000000420") << r.out;
    EXPECT_EQ(status_field(r.out, "CapInh"), "0000000000000000") << r.out;
    EXPECT_EQ(status_field(r.out, "CapAmb"), "0000000000000000") << r.out;

    // Another uid keeps across execve only its ambient capabilities.
    config_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    config_["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}},
                                          {"permitted", {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}},
                                          {"effective", {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}},
                                          {"inheritable", {"CAP_NET_BIND_SERVICE"}},
                                          {"ambient", {"CAP_NET_BIND_SERVICE"}}};
    r = run_container("id -u; grep ^Cap /proc/self/status");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out_lines().at(0), "1000");
    EXPECT_EQ(status_field(r.out, "CapBnd"), "0000000000000401") << r.out;
    EXPECT_EQ(status_field(r.out, "CapEff"), "0000000000000400") << r.out;
    EXPECT_EQ(status_field(r.out, "CapPrm"), "0000000000000400") << r.out;
    EXPECT_EQ(status_field(r.out, "CapAmb"), "0000000000000400") << r.out;
}

TEST_F(OciConfigIntegration, NoNewPrivileges) {
    config_["process"]["noNewPrivileges"] = true;
    EXPECT_EQ(status_field(run_container("cat /proc/self/status").out, "NoNewPrivs"), "1");
    config_["process"]["noNewPrivileges"] = false;
    EXPECT_EQ(status_field(run_container("cat /proc/self/status").out, "NoNewPrivs"), "0");
}

TEST_F(OciConfigIntegration, HostnameAndDomainname) {
    config_["hostname"] = "oci-box";
    config_["domainname"] = "example.test";
    Result r = run_container("hostname; cat /proc/sys/kernel/domainname");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "oci-box\nexample.test\n");
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    EXPECT_NE(std::string(host), "oci-box") << "the host's name changed";
}

TEST_F(OciConfigIntegration, NamespacedSysctls) {
    std::string host_forward = read_file("/proc/sys/net/ipv4/ip_forward");
    std::string host_rmid = read_file("/proc/sys/kernel/shm_rmid_forced");
    const std::string script = "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced";
    Result plain = run_container(script);
    EXPECT_EXIT_CODE(plain, 0);
    EXPECT_EQ(plain.out, "0\n0\n") << "the new namespaces' defaults";
    config_["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shm_rmid_forced", "1"}};
    Result set = run_container(script);
    EXPECT_EXIT_CODE(set, 0);
    EXPECT_EQ(set.out, "1\n1\n");
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), host_forward);
    EXPECT_EQ(read_file("/proc/sys/kernel/shm_rmid_forced"), host_rmid);
}

TEST_F(OciConfigIntegration, HostSysctlIsRefusedAtCreate) {
    std::string host = read_file("/proc/sys/kernel/pid_max");
    config_["linux"]["sysctl"] = {{"kernel.pid_max", "4242"}};
    std::string id = new_id("sysctl");
    set_command("echo ran > /mnt/marker");
    Result c = create(id);
    EXPECT_NE(c.code, 0);
    ASSERT_EQ(c.err_lines().size(), 1u) << describe(c);
    EXPECT_NE(c.err.find("kernel.pid_max"), std::string::npos) << describe(c);
    EXPECT_EQ(read_file("/proc/sys/kernel/pid_max"), host);
    EXPECT_EQ(root_entries(), Strings{});
    EXPECT_EQ(reap_zombies(), std::vector<pid_t>{});
    // A network sysctl without a network namespace of its own would be the host's too.
    config_["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
    auto& ns = config_["linux"]["namespaces"];
    ns.erase(std::remove_if(ns.begin(), ns.end(), [](const json& n) { return n["type"] == "network"; }), ns.end());
    write_config();
    Result net = create(new_id("sysctl"));
    EXPECT_NE(net.code, 0);
    EXPECT_NE(net.err.find("net.ipv4.ip_forward"), std::string::npos) << describe(net);
    EXPECT_EQ(root_entries(), Strings{});
    EXPECT_FALSE(path_exists(shared_ + "/marker"));
}

TEST_F(OciConfigIntegration, MaskedAndReadonlyPaths) {
    write_file(shared_ + "/secret", "SECRET\n");
    ASSERT_EQ(::mkdir((shared_ + "/secretdir").c_str(), 0755), 0);
    write_file(shared_ + "/secretdir/inner", "x");
    ASSERT_EQ(::mkdir((shared_ + "/rodir").c_str(), 0777), 0);
    config_["linux"]["maskedPaths"].push_back("/mnt/secret");
    config_["linux"]["maskedPaths"].push_back("/mnt/secretdir");
    config_["linux"]["readonlyPaths"].push_back("/mnt/rodir");
    Result r = run_container(
        "echo \"secret=[$(cat /mnt/secret)]\"; echo \"dir=[$(ls /mnt/secretdir)]\"; "
        "echo x > /mnt/rodir/f 2>/dev/null && echo rodir-written || echo rodir-refused; "
        "echo x > /mnt/rw && echo rw-written; "
        "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo procsys-written || echo procsys-refused; "
        "cat /proc/self/mountinfo");
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_GE(lines.size(), 5u) << describe(r);
    EXPECT_EQ(lines[0], "secret=[]");
    EXPECT_EQ(lines[1], "dir=[]");
    EXPECT_EQ(lines[2], "rodir-refused");
    EXPECT_EQ(lines[3], "rw-written");
    EXPECT_EQ(lines[4], "procsys-refused");
    EXPECT_FALSE(path_exists(shared_ + "/rodir/f"));
    EXPECT_EQ(read_file(shared_ + "/secret"), "SECRET\n");
    std::string ro = mountinfo_line(r.out, "/mnt/rodir");
    EXPECT_TRUE(has_option(mount_options(ro), "ro")) << ro;
    EXPECT_TRUE(has_option(mount_options(mountinfo_line(r.out, "/proc/sys")), "ro")) << r.out;
    EXPECT_TRUE(has_option(mount_options(mountinfo_line(r.out, "/mnt")), "rw")) << r.out;
}

TEST_F(OciConfigIntegration, MountsWithTheirOptions) {
    ASSERT_EQ(::mkdir((shared_ + "/ro").c_str(), 0777), 0);
    write_file(shared_ + "/ro/file", "in-ro\n");
    config_["mounts"].push_back({{"destination", "/run"},
                                 {"type", "tmpfs"},
                                 {"source", "tmpfs"},
                                 {"options", {"nosuid", "nodev", "noexec", "size=512k", "mode=1750"}}});
    config_["mounts"].push_back(
        {{"destination", "/home"}, {"type", "bind"}, {"source", shared_ + "/ro"}, {"options", {"rbind", "ro"}}});
    Result r = run_container("cat /home/file; echo x > /home/new 2>/dev/null && echo ro-written; stat -c %a /run; "
                             "cat /proc/self/mountinfo");
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_GE(lines.size(), 2u) << describe(r);
    EXPECT_EQ(lines[0], "in-ro");
    EXPECT_EQ(lines[1], "1750");
    std::string run = mountinfo_line(r.out, "/run");
    EXPECT_EQ(mount_fstype(run), "tmpfs") << run;
    for (const char* o : {"nosuid", "nodev", "noexec"}) EXPECT_TRUE(has_option(mount_options(run), o)) << o << ": " << run;
    std::string super = run.substr(run.find(" - "));
    EXPECT_NE(super.find("size=512k"), std::string::npos) << run;
    EXPECT_NE(super.find("mode=1750"), std::string::npos) << run;
    std::string home = mountinfo_line(r.out, "/home");
    EXPECT_TRUE(has_option(mount_options(home), "ro")) << home;
    EXPECT_FALSE(path_exists(shared_ + "/ro/new"));
}

TEST_F(OciConfigIntegration, Devices) {
    // The null device under another name, mode and owner: its owner may write it, root without
    // CAP_DAC_OVERRIDE (not in the default set) may not.
    config_["linux"]["devices"] = {{{"path", "/dev/hutch-null"},
                                    {"type", "c"},
                                    {"major", 1},
                                    {"minor", 3},
                                    {"fileMode", 0620},
                                    {"uid", 1000},
                                    {"gid", 1001}}};
    const std::string script = "stat -c '%F %t:%T %a %u:%g' /dev/hutch-null; "
                               "echo hi 2>/dev/null > /dev/hutch-null && echo written || echo refused; "
                               "head -c 3 /dev/hutch-null 2>/dev/null | wc -c";
    Result root = run_container(script);
    EXPECT_EXIT_CODE(root, 0);
    EXPECT_EQ(root.out, "character special file 1:3 620 1000:1001\nrefused\n0\n");
    config_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    Result owner = run_container(script);
    EXPECT_EXIT_CODE(owner, 0);
    EXPECT_EQ(owner.out, "character special file 1:3 620 1000:1001\nwritten\n0\n");
}

// The device policy of an OCI container is runc's: linux.resources.devices, then runc's default
// allow-list; a node in linux.devices is made but gets no allow rule of its own. Seen with
// hutch-probe bound into the container and with the nodes the config gives.
class OciDevicesIntegration : public OciTest {
protected:
    void SetUp() override {
        OciTest::SetUp();
        if (IsSkipped()) return;
        config_["mounts"].push_back({{"destination", "/dev/.hutch-probe"},
                                     {"type", "bind"},
                                     {"source", HUTCH_PROBE_BINARY},
                                     {"options", {"bind", "ro"}}});
        for (const char* set : {"bounding", "effective", "permitted"}) {
            config_["process"]["capabilities"][set].push_back("CAP_MKNOD");
            config_["process"]["capabilities"][set].push_back("CAP_SYSLOG");
        }
        write_config();
    }

    // The probe's devices section from a command's output.
    static json nodes(const Result& r) {
        try {
            return json::parse(r.out.substr(r.out.find('{'))).at("devices").at("nodes");
        } catch (const std::exception& e) {
            ADD_FAILURE() << "no devices section (" << e.what() << "): " << describe(r);
            return nullptr;
        }
    }

    // runc's default list: the probe's Docker column (Docker adds only the console, not probed).
    static void expect_runc_defaults(const json& nodes) {
        ASSERT_TRUE(nodes.is_object());
        for (const auto& [name, node] : nodes.items()) {
            SCOPED_TRACE(name);
            if (node["skipped"].is_string() || !node["open"].value("tried", false)) continue;
            EXPECT_FALSE(node["mknod"].value("denied", true));
            EXPECT_EQ(node["open"].value("denied", false), !node.value("docker_allows_open", false)) << node["open"].dump();
        }
    }
};

TEST_F(OciDevicesIntegration, DefaultContainerGetsRuncsPolicy) {
    // No cgroupsPath, no resources: still runc's allow-list (the unified cgroup's program).
    Result r = run_container("/dev/.hutch-probe --only devices --json");
    ASSERT_EXIT_CODE(r, 0);
    expect_runc_defaults(nodes(r));
}

TEST_F(OciDevicesIntegration, NodeInLinuxDevicesButDeniedInResourcesStaysShut) {
    // runc: "Operation not permitted". A linux.devices entry is a node, not an allow rule.
    config_["linux"]["devices"] = {{{"path", "/dev/kmsg"}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"fileMode", 0644}}};
    json deny_all = json::array();
    deny_all.push_back({{"allow", false}, {"access", "rwm"}});
    config_["linux"]["resources"] = {{"devices", deny_all}};
    Result r = run_container("stat -c '%t:%T' /dev/kmsg; dd if=/dev/kmsg bs=1 count=0");
    EXPECT_EXIT_CODE(r, 1);
    EXPECT_EQ(r.out, "1:b\n");
    EXPECT_NE(r.err.find("can't open '/dev/kmsg': Operation not permitted"), std::string::npos) << describe(r);
    // An allow rule for it opens it, as under runc.
    config_["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "r"}});
    Result allowed = run_container("dd if=/dev/kmsg bs=1 count=0");
    EXPECT_EXIT_CODE(allowed, 0);
}

TEST_F(OciDevicesIntegration, ExecObeysThePolicy) {
    std::string id = new_id("devexec");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    Result r = oci({"exec", id, "/dev/.hutch-probe", "--only", "devices", "--json"});
    ASSERT_EXIT_CODE(r, 0);
    expect_runc_defaults(nodes(r));
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);
}

TEST_F(OciDevicesIntegration, BadRuleIsRefusedBeforeAnythingIsMade) {
    // cgroup v1 would silently keep c 1:3 open: refused, as runc refuses it.
    json rules = json::array();
    rules.push_back({{"allow", true}, {"type", "c"}, {"access", "rwm"}});
    rules.push_back({{"allow", false}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "r"}});
    config_["linux"]["resources"] = {{"devices", rules}};
    write_config();
    std::string id = new_id("badrule");
    Result c = create(id);
    EXPECT_EXIT_CODE(c, 1);
    EXPECT_NE(c.err.find("linux.resources.devices[1] (deny c 1:3 r)"), std::string::npos) << describe(c);
    EXPECT_EQ(root_entries(), Strings{});
    std::string cg = default_oci_cgroup(id);
    EXPECT_TRUE(cg.empty() || !path_exists(cg)) << cg;
}

// Without a cgroup namespace (Docker's configs on cgroup v1) the container sees its own cgroup
// in each hierarchy it is in, bound there as runc binds it, and nothing above or beside it.
TEST_F(OciConfigIntegration, CgroupsWithoutANamespaceShowOnlyTheContainersOwn) {
    auto& ns = config_["linux"]["namespaces"];
    for (std::size_t i = 0; i < ns.size(); ++i)
        if (ns[i]["type"] == "cgroup") ns.erase(i--);
    std::string top = "hutch-oci-view-" + std::to_string(::getpid());
    config_["linux"]["cgroupsPath"] = top + "/leaf";
    config_["linux"]["resources"] = {{"pids", {{"limit", 100}}}};
    Result r = run_container("find /sys/fs/cgroup -mindepth 1 -name cgroup.procs | wc -l; "
                             "find /sys/fs/cgroup -mindepth 2 -type d | wc -l; ls /sys/fs/cgroup | wc -l");
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 3u) << describe(r);
    EXPECT_EQ(lines[0], lines[2]) << "one cgroup per hierarchy shown: its own";
    EXPECT_EQ(lines[1], "0") << "cgroups below the hierarchies' roots are visible: " << describe(r);
    for (const auto& h : list_dir("/sys/fs/cgroup")) ::rmdir(("/sys/fs/cgroup/" + h + "/" + top).c_str());
}

// A cgroupsPath that exists already (an engine made it) is joined, as runc joins it: the limit
// is written there, the container runs in it, and delete removes it as runc does. One that holds
// a process is refused, naming it, and left as it was with its process: delete would kill
// whatever is in the container's cgroup.
TEST_F(OciConfigIntegration, AnEmptyExistingCgroupsPathIsJoined) {
    // The test's own pids cgroup (v1), or its cgroup2 one.
    std::string own;
    for (const auto& line : split_lines(read_file("/proc/self/cgroup"))) {
        if (line.find(":pids:") != std::string::npos && path_exists("/sys/fs/cgroup/pids"))
            own = "/sys/fs/cgroup/pids" + line.substr(line.find(":pids:") + 6);
        else if (own.empty() && line.starts_with("0::") && !cgroup2_mount().empty())
            own = cgroup2_mount() + line.substr(3);
    }
    if (own.empty()) GTEST_SKIP() << "no pids hierarchy and no cgroup2 one";
    if (own.ends_with("/")) own.pop_back();  // the hierarchy's root
    const std::string top = "hutch-oci-join-" + std::to_string(::getpid());
    const std::string made = own + "/" + top;
    ASSERT_EQ(::mkdir(made.c_str(), 0755), 0) << made;
    ASSERT_EQ(::mkdir((made + "/leaf").c_str(), 0755), 0);
    config_["linux"]["cgroupsPath"] = top + "/leaf";
    config_["linux"]["resources"] = {{"pids", {{"limit", 20}}}};
    std::string id = new_id("join");
    set_command("exec sleep 60");
    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    EXPECT_NE(("\n" + read_file(made + "/leaf/cgroup.procs")).find("\n" + std::to_string(pid) + "\n"), std::string::npos);
    EXPECT_EQ(read_file(made + "/leaf/pids.max"), "20\n");
    // Stopped but not deleted, its cgroup is empty and still its own: another create that
    // joined it would be killed by that delete.
    ASSERT_EXIT_CODE(oci({"kill", id, "KILL"}), 0);
    EXPECT_NE(reap(pid), -1);
    for (int i = 0; i < 100 && state(id)["status"] != "stopped"; ++i) std::this_thread::sleep_for(20ms);
    Result second = create(new_id("join"));
    EXPECT_NE(second.code, 0);
    EXPECT_NE(second.err.find("/" + top + "/leaf is the cgroup of container " + id), std::string::npos) << describe(second);
    EXPECT_EQ(second.err_lines().size(), 1u) << describe(second);
    EXPECT_EXIT_CODE(oci({"delete", id}), 0);
    EXPECT_FALSE(path_exists(made + "/leaf")) << "runc removes the cgroup it ran in";

    ASSERT_EQ(::mkdir((made + "/leaf").c_str(), 0755), 0);
    Process squatter = Process::spawn({"/bin/sleep", "60"});
    write_file(made + "/leaf/cgroup.procs", std::to_string(squatter.pid()));
    Result refused = create(new_id("join"));
    EXPECT_NE(refused.code, 0);
    EXPECT_EQ(refused.err_lines().size(), 1u) << describe(refused);
    EXPECT_NE(refused.err.find(made + "/leaf already holds processes"), std::string::npos) << describe(refused);
    EXPECT_TRUE(process_alive(squatter.pid())) << "a process in the engine's cgroup was killed";
    EXPECT_TRUE(path_exists(made + "/leaf"));
    EXPECT_EQ(root_entries(), Strings{});
    ::kill(squatter.pid(), SIGKILL);
    squatter.wait();
    for (std::string dir : {made + "/leaf", made})
        for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(path_exists(made));
}

TEST_F(OciConfigIntegration, PidsLimitInTheCgroupsPath) {
    // Two levels, both new: delete must remove the parent level create made too.
    std::string top = "hutch-oci-it-" + std::to_string(::getpid());
    std::string leaf = top + "/leaf";
    config_["linux"]["cgroupsPath"] = leaf;
    config_["linux"]["resources"] = {{"pids", {{"limit", 10}}}};
    std::string id = new_id("pids");
    // Inside: its own pids.max, through its cgroup as /proc/self/cgroup names it; then 15 forks.
    pid_t pid = start_running(id,
                              "p=$(grep ':pids:' /proc/self/cgroup | cut -d: -f3); echo \"$p\" > /mnt/pids.path; "
                              "cat /sys/fs/cgroup/pids$p/pids.max > /mnt/pids.max; "
                              "(for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do sleep 60 & done) 2> /mnt/fork-errors; "
                              "echo forked > /mnt/forked; exec sleep 60");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_file(shared_ + "/forked"));
    EXPECT_EQ(read_file(shared_ + "/pids.max"), "10\n");
    // Its cgroup is the root of its cgroup namespace in the v1 hierarchies too (it is moved there
    // before the namespace is made): it sees no cgroup above its own.
    EXPECT_EQ(read_file(shared_ + "/pids.path"), "/\n");
    EXPECT_NE(read_file(shared_ + "/fork-errors"), "") << "15 forks under pids.max 10 all succeeded";

    // Outside: the cgroups state.json records, one with the limit and the container in it.
    json recorded = json::parse(read_file(root_ + "/" + id + "/state.json"));
    Strings dirs = recorded.value("cgroups", Strings{});
    ASSERT_FALSE(dirs.empty()) << recorded.dump();
    std::string pids_dir;
    for (const auto& d : dirs) {
        EXPECT_NE(d.find(leaf), std::string::npos) << d << " is not at cgroupsPath " << leaf;
        EXPECT_TRUE(path_exists(d)) << d;
        if (path_exists(d + "/pids.max")) pids_dir = d;
    }
    ASSERT_NE(pids_dir, "") << "no pids controller among " << recorded.dump();
    EXPECT_EQ(read_file(pids_dir + "/pids.max"), "10\n");
    EXPECT_NE(("\n" + read_file(pids_dir + "/cgroup.procs")).find("\n" + std::to_string(pid) + "\n"), std::string::npos);
    int current = std::atoi(read_file(pids_dir + "/pids.current").c_str());
    EXPECT_GE(current, 2);
    EXPECT_LE(current, 10);

    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);
    for (const auto& d : dirs) {
        EXPECT_FALSE(path_exists(d)) << d << " left after delete";
        if (path_exists(d)) ::rmdir(d.c_str());
        std::string parent = d.substr(0, d.rfind('/'));
        EXPECT_FALSE(path_exists(parent)) << parent << " (made by create) left after delete";
        if (path_exists(parent)) ::rmdir(parent.c_str());
    }
}

// linux.resources.unified: each key a file of the container's cgroup2 cgroup, written as given
// (cgroup.max.descendants is a core file, there without any controller); a file the cgroup does
// not have (its controller is not enabled there) is one line naming it, and nothing is left.
TEST_F(OciConfigIntegration, UnifiedWritesTheContainersCgroup2Files) {
    if (cgroup2_mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy on this host";
    std::string id = new_id("unified");
    config_["linux"]["resources"] = {{"unified", {{"cgroup.max.descendants", "3"}}}};
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    Strings dirs = json::parse(read_file(root_ + "/" + id + "/state.json")).value("cgroups", Strings{});
    ASSERT_FALSE(dirs.empty());
    EXPECT_EQ(read_file(dirs.front() + "/cgroup.max.descendants"), "3\n") << dirs.front();
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);

    config_["linux"]["resources"] = {{"unified", {{"nosuch.max", "1"}}}};
    set_command("true");
    std::string bad = new_id("unified-bad");
    Result r = create(bad);
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("\"nosuch.max\""), std::string::npos) << describe(r);
    EXPECT_EQ(root_entries(), Strings{});
    std::string cg = default_oci_cgroup(bad);
    EXPECT_TRUE(cg.empty() || !path_exists(cg)) << cg;
}

// update -r takes unified as create does: written into the running container's cgroup2 cgroup.
TEST_F(OciConfigIntegration, UpdateWritesUnifiedIntoTheRunningContainersCgroup) {
    if (cgroup2_mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy on this host";
    std::string id = new_id("update-unified");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    write_file(tmp_ / "unified.json", R"({"unified": {"cgroup.max.descendants": "7"}})");
    Result r = oci({"update", "-r", tmp_ / "unified.json", id});
    ASSERT_EXIT_CODE(r, 0);
    Strings dirs = json::parse(read_file(root_ + "/" + id + "/state.json")).value("cgroups", Strings{});
    ASSERT_FALSE(dirs.empty());
    EXPECT_EQ(read_file(dirs.front() + "/cgroup.max.descendants"), "7\n") << dirs.front();
    write_file(tmp_ / "bad.json", R"({"unified": {"cgroup.procs": "1"}})");
    Result bad = oci({"update", "-r", tmp_ / "bad.json", id});
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("cgroup.procs"), std::string::npos) << describe(bad);
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);
}

// linux.resources.hugepageLimits: the hugetlb controller's limit for that page size where the
// host has the controller for containers; else refused with one line (runc skips it silently,
// which would leave the host's huge pages unprotected).
TEST_F(OciConfigIntegration, HugepageLimitsAreAppliedOrRefused) {
    std::string id = new_id("huge");
    config_["linux"]["resources"] = {{"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 4194304}}}}};
    set_command("exec sleep 60");
    // cgroup2 offers hugetlb where its root lists it; hutch enables it down to the container's
    // cgroup, as runc does. The test puts the root's subtree_control back as it found it.
    const std::string unified = cgroup2_mount();
    const bool offered = !unified.empty() && (" " + read_file(unified + "/cgroup.controllers")).find(" hugetlb") != std::string::npos;
    const bool enabled_before = offered && (" " + read_file(unified + "/cgroup.subtree_control")).find(" hugetlb") != std::string::npos;
    // A cgroupsPath of its own: once its levels are gone, no level below the root enables
    // hugetlb of this test's doing, and the root gives it up again. Not always: an engine's runc
    // started beside this test (the suite runs two at once) enables every controller its
    // parent hands down, hugetlb with it, and the root then keeps hugetlb for that engine
    // (EBUSY), as the machine would under runc. That is said, not failed.
    const std::string top = "hutch-oci-huge-" + std::to_string(::getpid());
    config_["linux"]["cgroupsPath"] = top + "/leaf";
    struct PutBack {
        std::string unified, top;
        ~PutBack() {
            if (unified.empty()) return;
            const std::string file = unified + "/cgroup.subtree_control";
            for (int i = 0; i < 100; ++i) {
                for (const auto& h : list_dir("/sys/fs/cgroup"))
                    for (const std::string& level : {top + "/leaf", top})
                        ::rmdir(("/sys/fs/cgroup/" + h + "/" + level).c_str());
                int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
                const bool done = fd >= 0 && ::write(fd, "-hugetlb", 8) == 8;
                const int err = errno;
                if (fd >= 0) ::close(fd);
                if (done) return;
                if (err != EBUSY) {
                    ADD_FAILURE() << "could not put back " << file << ": " << std::strerror(err);
                    return;
                }
                std::this_thread::sleep_for(10ms);
            }
            std::string users;
            for (const auto& child : list_dir(unified))
                if (read_file(unified + "/" + child + "/cgroup.subtree_control").find("hugetlb") != std::string::npos)
                    users += " " + child;
            std::cerr << "note: " << file << " keeps hugetlb, which these enable below it:" << users << "\n";
        }
    } put_back{offered && !enabled_before ? unified : "", top};
    Result c = create(id);
    bool v1 = !mountinfo_line(host_mountinfo(), "/sys/fs/cgroup/hugetlb").empty();
    if (c.code != 0) {
        EXPECT_FALSE(v1) << "refused with a v1 hugetlb hierarchy: " << describe(c);
        EXPECT_FALSE(offered) << "refused where cgroup2 offers hugetlb: " << describe(c);
        EXPECT_EQ(c.err_lines().size(), 1u) << describe(c);
        EXPECT_NE(c.err.find("hugetlb"), std::string::npos) << describe(c);
        EXPECT_EQ(root_entries(), Strings{});
        return;
    }
    pid_t pid = pid_of(id);
    Strings dirs = json::parse(read_file(root_ + "/" + id + "/state.json")).value("cgroups", Strings{});
    std::string limit;
    for (const auto& d : dirs)
        for (const char* f : {"/hugetlb.2MB.limit_in_bytes", "/hugetlb.2MB.max"})
            if (path_exists(d + f)) limit = read_file(d + f);
    EXPECT_EQ(limit, "4194304\n") << "no hugetlb limit among the container's cgroups";
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);
}

// Joining a uts and a cgroup namespace by path, as engines join a pod's: the container is in the
// namespaces of a process the test made (unshare -u -C), and keeps that process's hostname; a
// hostname in the config with a joined uts namespace is refused, as runc refuses it, since
// setting it would rename the namespace joined.
TEST_F(OciConfigIntegration, JoinsAUtsAndACgroupNamespaceByPath) {
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "no util-linux unshare";
    Process holder = Process::spawn({"/usr/bin/unshare", "-u", "-C", "sh", "-c", "hostname pod-host && echo up && exec sleep 60"});
    ASSERT_TRUE(holder.wait_for_output("up", 10s)) << holder.err_so_far();
    const std::string ns_dir = "/proc/" + std::to_string(holder.pid()) + "/ns/";
    bool has_cgroup = false;
    for (auto& ns : config_["linux"]["namespaces"]) {
        if (ns["type"] == "uts") ns["path"] = ns_dir + "uts";
        if (ns["type"] == "cgroup") ns["path"] = ns_dir + "cgroup", has_cgroup = true;
    }
    if (!has_cgroup) config_["linux"]["namespaces"].push_back({{"type", "cgroup"}, {"path", ns_dir + "cgroup"}});
    config_.erase("hostname");
    Result r = run_container("hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/cgroup");
    ASSERT_EXIT_CODE(r, 0);
    char uts[64] = {}, cgroup[64] = {};
    ASSERT_GT(::readlink((ns_dir + "uts").c_str(), uts, sizeof uts - 1), 0);
    ASSERT_GT(::readlink((ns_dir + "cgroup").c_str(), cgroup, sizeof cgroup - 1), 0);
    EXPECT_EQ(r.out, "pod-host\n" + std::string(uts) + "\n" + std::string(cgroup) + "\n");

    config_["hostname"] = "renamed";
    Result refused = run_container("true");
    EXPECT_NE(refused.code, 0);
    EXPECT_EQ(refused.err_lines().size(), 1u) << describe(refused);
    EXPECT_NE(refused.err.find("uts"), std::string::npos) << describe(refused);
    EXPECT_EQ(trim(run_command({"/usr/bin/nsenter", "-u", "-t", std::to_string(holder.pid()), "hostname"}).out), "pod-host");
}

// A new user namespace with a pod's network and uts namespaces joined by path (podman's pods
// with a user namespace): hutch's parent enters them for the clone, as runc joins before it
// unshares the user namespace; the container is in them, in its own user namespace, with the
// host's /sys bound read-only (it does not own the network namespace a sysfs would show).
TEST_F(OciConfigIntegration, JoinsANetworkAndUtsNamespaceWithANewUserNamespace) {
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "no util-linux unshare";
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    Process holder = Process::spawn({"/usr/bin/unshare", "-n", "-u", "sh", "-c", "hostname pod-host && echo up && exec sleep 60"});
    ASSERT_TRUE(holder.wait_for_output("up", 10s)) << holder.err_so_far();
    const std::string ns_dir = "/proc/" + std::to_string(holder.pid()) + "/ns/";
    for (auto& ns : config_["linux"]["namespaces"]) {
        if (ns["type"] == "uts") ns["path"] = ns_dir + "uts";
        if (ns["type"] == "network") ns["path"] = ns_dir + "net";
    }
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_.erase("hostname");
    Result r = run_container("hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts; cat /proc/self/uid_map; "
                             "touch /sys/x 2>/dev/null || echo sys-ro");
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 5u) << describe(r);
    EXPECT_EQ(lines[0], "pod-host");
    EXPECT_EQ(lines[1], ns_link("net", holder.pid()));
    EXPECT_EQ(lines[2], ns_link("uts", holder.pid()));
    std::istringstream map(lines[3]);
    std::uint64_t inside = 1, outside = 0;
    map >> inside >> outside;
    EXPECT_EQ(outside, 200000u);
    EXPECT_EQ(lines[4], "sys-ro");
    EXPECT_EQ(root_entries(), Strings{});
}

// A user namespace joined by path, with the pod's network namespace, as engines join a pod's
// user namespace: a helper enters it and clones the container from there (CLONE_PARENT), so its
// new mount and pid namespaces are that user namespace's and its root the namespace's root, a
// host id of the pod's map; an exec joins the same. Maps in the config with a joined namespace
// are refused (the namespace has its own).
TEST_F(OciConfigIntegration, JoinsAUserNamespaceByPath) {
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "no util-linux unshare";
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    // The pod: a user, network and pid namespace (unshare forks the pid namespace's first
    // process; it stays in the user namespace, its pid_for_children names the pid namespace).
    Process holder = Process::spawn({"/usr/bin/unshare", "-U", "-n", "-p", "-f", "sh", "-c", "echo up; exec sleep 60"});
    ASSERT_TRUE(holder.wait_for_output("up", 10s)) << holder.err_so_far();
    const std::string proc = "/proc/" + std::to_string(holder.pid());
    write_file(proc + "/uid_map", "0 300000 65536\n");
    write_file(proc + "/gid_map", "0 300000 65536\n");
    for (auto& ns : config_["linux"]["namespaces"]) {
        if (ns["type"] == "network") ns["path"] = proc + "/ns/net";
        if (ns["type"] == "pid") ns["path"] = proc + "/ns/pid_for_children";
    }
    config_["linux"]["namespaces"].push_back({{"type", "user"}, {"path", proc + "/ns/user"}});
    // "idmap" without maps of its own takes the joined namespace's (runc's UserNSPath case).
    std::string volume = tmp_ / "volume";
    ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
    write_file(volume + "/file", "");
    config_["mounts"].push_back({{"destination", "/tmp/mapped"}, {"type", "bind"}, {"source", volume}, {"options", {"bind", "idmap"}}});
    std::string id = new_id("joinuser");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    // The state's pid is the host's: the pid the clone returned in the pod's pid namespace
    // names another process here.
    EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/cmdline"), std::string("sleep\0" "60\0", 9));
    EXPECT_EQ(ns_link("user", pid), ns_link("user", holder.pid()));
    EXPECT_EQ(ns_link("net", pid), ns_link("net", holder.pid()));
    EXPECT_EQ(ns_link("pid", pid), ns_link("pid_for_children", holder.pid()));
    std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    EXPECT_NE(status.find("\nUid:\t300000\t300000\t300000\t300000\n"), std::string::npos) << status;
    Result r = oci({"exec", id, "sh", "-c", "id -u; readlink /proc/self/ns/user; stat -c %u /tmp/mapped/file"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "0\n" + ns_link("user", holder.pid()) + "\n0\n") << describe(r);
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);

    config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    write_config();
    Result maps = create(new_id("joinmaps"));
    EXPECT_NE(maps.code, 0);
    EXPECT_NE(maps.err.find("a joined one has its own maps"), std::string::npos) << describe(maps);
    EXPECT_EQ(root_entries(), Strings{});
    // The pod's first process (unshare's child, the pid namespace's init) goes with its pod.
    for (pid_t init : children_of(holder.pid())) {
        ::kill(init, SIGKILL);
        wait_until_gone(init);
    }
}

// linux.memoryPolicy: the container's processes allocate under the NUMA policy asked for, as
// /proc/self/numa_maps shows it (every mapping without a policy of its own shows the task's);
// a node the machine does not have is the kernel's EINVAL, one line naming set_mempolicy, and
// nothing is left.
TEST_F(OciConfigIntegration, MemoryPolicyIsTheProcesssNumaPolicy) {
    if (!path_exists("/proc/self/numa_maps")) GTEST_SKIP() << "this kernel has no NUMA (no /proc/self/numa_maps)";
    config_["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "0"}};
    Result bound = run_container("grep -c ' bind:0 ' /proc/self/numa_maps; grep -c ' default ' /proc/self/numa_maps; exit 0");
    ASSERT_EXIT_CODE(bound, 0);
    Strings counts = bound.out_lines();
    ASSERT_EQ(counts.size(), 2u) << describe(bound);
    EXPECT_NE(counts[0], "0") << describe(bound);
    EXPECT_EQ(counts[1], "0") << describe(bound);

    config_["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "1000"}};
    expect_refused("set_mempolicy");
}

// A time namespace with linux.timeOffsets (CRIU's and test rigs' use: a container whose uptime
// is not the host's): the command's boottime and monotonic clocks are the host's plus the
// offsets, /proc/uptime says so, and an exec, also into the container while it is only created,
// reads the same clocks. Offsets without a new time namespace are refused, naming the field.
TEST_F(OciConfigIntegration, TimeNamespaceShiftsTheContainersClocks) {
    if (!path_exists("/proc/self/ns/time")) GTEST_SKIP() << "this kernel has no time namespaces (CONFIG_TIME_NS)";
    auto host_uptime = [] { return std::stol(read_file("/proc/uptime")); };
    config_["linux"]["namespaces"].push_back({{"type", "time"}});
    config_["linux"]["timeOffsets"] = {{"boottime", {{"secs", 86400 * 365}}}, {"monotonic", {{"secs", 3600}}}};
    const long before = host_uptime();
    Result r = run_container("tr -s ' ' </proc/self/timens_offsets; cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time");
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 4u) << describe(r);
    EXPECT_EQ(lines[0], "monotonic 3600 0");
    EXPECT_EQ(lines[1], "boottime 31536000 0");
    const long inside = std::stol(lines[2]);
    EXPECT_GE(inside, before + 86400 * 365) << describe(r);
    EXPECT_LE(inside, host_uptime() + 86400 * 365) << describe(r);
    char host_ns[64] = {};
    ASSERT_GT(::readlink("/proc/self/ns/time", host_ns, sizeof host_ns - 1), 0);
    EXPECT_NE(lines[3], host_ns) << "the command is in the host's time namespace";

    std::string id = new_id("time");
    set_command("exec sleep 60");
    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    Result created = oci({"exec", id, "cut", "-d.", "-f1", "/proc/uptime"});
    ASSERT_EXIT_CODE(created, 0);
    EXPECT_GE(std::stol(created.out), before + 86400 * 365) << "exec into a created container: " << describe(created);
    ASSERT_EXIT_CODE(oci({"start", id}), 0);
    Result running = oci({"exec", id, "sh", "-c", "cut -d. -f1 /proc/uptime; readlink /proc/1/ns/time; readlink /proc/self/ns/time"});
    ASSERT_EXIT_CODE(running, 0);
    Strings seen = running.out_lines();
    ASSERT_EQ(seen.size(), 3u) << describe(running);
    EXPECT_GE(std::stol(seen[0]), before + 86400 * 365) << describe(running);
    EXPECT_EQ(seen[1], seen[2]) << "the exec is not in the container's time namespace";
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);

    // With a user namespace whose root is not the host's: the offsets are written while the
    // process still has the host's ids (its /proc files are the host root's: it is not dumpable).
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    Result mapped = run_container("cut -d. -f1 /proc/uptime");
    ASSERT_EXIT_CODE(mapped, 0);
    EXPECT_GE(std::stol(mapped.out), before + 86400 * 365) << describe(mapped);
    config_["linux"]["namespaces"].erase(config_["linux"]["namespaces"].size() - 1);
    config_["linux"].erase("uidMappings");
    config_["linux"].erase("gidMappings");

    config_["linux"]["namespaces"].erase(config_["linux"]["namespaces"].size() - 1);
    expect_refused("linux.timeOffsets needs a new time namespace");
}

// spec --rootless writes runc's rootless config: a new user namespace mapping the container's
// root to the caller's ids alone, no network namespace, the host's /sys bound read-only, no
// uid=/gid= mount options, no resources; and hutch runs it (here as root, whose ids it maps).
TEST_F(OciConfigIntegration, RootlessSpecRunsInAUserNamespaceOnTheHostsNetwork) {
    ASSERT_EQ(::unlink((bundle_ + "/config.json").c_str()), 0);
    ASSERT_EXIT_CODE(oci({"spec", "--rootless", "--bundle", bundle_}), 0);
    json rootless = json::parse(read_file(bundle_ + "/config.json"));
    EXPECT_EQ(rootless["linux"]["uidMappings"], json::parse(R"([{"containerID":0,"hostID":0,"size":1}])"));
    EXPECT_EQ(rootless["linux"]["gidMappings"], json::parse(R"([{"containerID":0,"hostID":0,"size":1}])"));
    Strings types;
    for (const auto& ns : rootless["linux"]["namespaces"]) types.push_back(ns["type"]);
    EXPECT_EQ(types, (Strings{"pid", "ipc", "uts", "mount", "cgroup", "user"}));
    for (const auto& m : rootless["mounts"]) {
        if (m["destination"] == "/sys") {
            EXPECT_EQ(m["options"], json({"rbind", "nosuid", "noexec", "nodev", "ro"}));
        }
        for (const auto& o : m.value("options", json::array()))
            EXPECT_FALSE(o.get<std::string>().starts_with("gid=")) << m.dump();
    }
    EXPECT_FALSE(rootless["linux"].contains("resources"));

    rootless["process"]["terminal"] = false;
    rootless["root"] = config_["root"];
    config_ = rootless;
    // Tests beside this one add and remove interfaces on the host: only those there before and
    // after the run must show.
    const Strings before = list_dir("/sys/class/net");
    Result r = run_container("tr -s ' ' </proc/self/uid_map; readlink /proc/self/ns/net; readlink /proc/self/ns/user; "
                             "grep -c ' /sys ro,' /proc/self/mountinfo; ls /sys/class/net | tr '\\n' ' '");
    ASSERT_EXIT_CODE(r, 0);
    const Strings after = list_dir("/sys/class/net");
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 5u) << describe(r);
    EXPECT_EQ(lines[0], " 0 0 1");
    char host_net[64] = {}, host_user[64] = {};
    ASSERT_GT(::readlink("/proc/self/ns/net", host_net, sizeof host_net - 1), 0);
    ASSERT_GT(::readlink("/proc/self/ns/user", host_user, sizeof host_user - 1), 0);
    EXPECT_EQ(lines[1], host_net) << "runc's rootless config keeps the host's network";
    EXPECT_NE(lines[2], host_user);
    EXPECT_EQ(lines[3], "1") << describe(r);
    for (const auto& name : before) {
        if (std::find(after.begin(), after.end(), name) == after.end()) continue;
        EXPECT_NE((" " + lines[4]).find(" " + name + " "), std::string::npos) << name << " of the host's /sys: " << lines[4];
    }
}

// linux.rootfsPropagation: each of mount(2)'s propagation modes runs (shared ones are checked
// against a host in MountsIntegration.SharedAndSlaveVolumesPropagateAsDockersDo, where the test
// plays the host); an unknown one is refused, naming the field, nothing left.
TEST_F(OciConfigIntegration, RootfsPropagationIsAppliedOrRefused) {
    for (const char* mode : {"rslave", "slave", "runbindable", "rprivate"}) {
        SCOPED_TRACE(mode);
        config_["linux"]["rootfsPropagation"] = mode;
        Result r = run_container("awk '$5 == \"/\"' /proc/self/mountinfo | grep -c unbindable; exit 0");
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, std::string(mode) == "runbindable" ? "1\n" : "0\n") << "the root's propagation";
    }
    config_["linux"]["rootfsPropagation"] = "rcommon";
    expect_refused("linux.rootfsPropagation \"rcommon\"");
}

// A seccomp agent, as runc's contrib/cmd/seccompagent is one: it takes each connection's
// message (the process's state as JSON, the listener as its one fd) and answers the calls the
// listener brings: mkdir and mkdirat "succeed" without being made; anything else continues.
class SeccompAgent {
public:
    explicit SeccompAgent(const std::string& path) : socket_(path) {
        accepting_ = std::thread([this] { accept_loop(); });
    }
    ~SeccompAgent() {
        stop_ = true;
        accepting_.join();
        for (auto& t : answering_) t.join();
    }
    std::vector<json> messages() {
        std::lock_guard<std::mutex> lock(mutex_);
        return messages_;
    }
    int faked() const { return faked_; }

private:
    void accept_loop() {
        while (!stop_) {
            std::string message, why;
            // The message comes at the container's start, which may be long after create's
            // connect (a test's `start` under a loaded suite).
            int listener = socket_.receive_fd(message, why, 50ms, 60s);
            if (listener < 0) continue;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                messages_.push_back(json::parse(message, nullptr, false));
            }
            answering_.emplace_back([this, listener] { answer(listener); });
        }
    }
    void answer(int listener) {
        while (!stop_) {
            pollfd p{listener, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            if (p.revents & (POLLHUP | POLLERR)) break;
            seccomp_notif request{};
            if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) continue;
            seccomp_notif_resp response{};
            response.id = request.id;
            if (request.data.nr == SYS_mkdir || request.data.nr == SYS_mkdirat) ++faked_;
            else response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response);
        }
        ::close(listener);
    }

    FdSocket socket_;
    std::atomic<bool> stop_{false};
    std::atomic<int> faked_{0};
    std::mutex mutex_;
    std::vector<json> messages_;
    std::thread accepting_;
    std::vector<std::thread> answering_;
};

// linux.seccomp.listenerPath: the calls the profile sends to SCMP_ACT_NOTIFY are answered by the
// agent at that socket, which gets runc's message (the state, the process's host pid, the
// metadata) with the listener; the container's mkdir "succeeds" and makes nothing. An exec'd
// process's listener reaches the agent too. No agent at the path fails create, naming it; a
// NOTIFY rule without a listenerPath, or a listenerPath without one, is refused; nothing left.
TEST_F(OciConfigIntegration, SeccompNotifyCallsGoToTheAgentAtListenerPath) {
    const std::string socket = tmp_ / "agent.sock";
    SeccompAgent agent(socket);
    config_["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                   {"listenerPath", socket},
                                   {"listenerMetadata", "lab-42"},
                                   {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
    Result r = run_container("mkdir /tmp/made && echo said-made; [ -d /tmp/made ] || echo not-there");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "said-made\nnot-there\n");
    EXPECT_GE(agent.faked(), 1);
    std::vector<json> got = agent.messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]["fds"], json({"seccompFd"})) << got[0].dump();
    EXPECT_EQ(got[0]["metadata"], "lab-42");
    EXPECT_GT(got[0].value("pid", 0), 1) << "the host's pid, not the container's 1";
    EXPECT_EQ(got[0]["state"]["pid"], got[0]["pid"]) << got[0].dump();

    std::string id = new_id("agent");
    set_command("exec sleep 60");
    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    ASSERT_EXIT_CODE(oci({"start", id}), 0);
    Result exec = oci({"exec", id, "sh", "-c", "mkdir /tmp/e && [ ! -d /tmp/e ] && echo faked"});
    EXPECT_EXIT_CODE(exec, 0);
    EXPECT_EQ(exec.out, "faked\n");
    got = agent.messages();
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[1]["state"]["id"], id);
    EXPECT_EQ(got[1]["pid"], pid);
    EXPECT_EQ(got[2]["state"]["id"], id);
    EXPECT_NE(got[2]["pid"], pid) << "the exec'd process's own pid";
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);

    config_["linux"]["seccomp"]["listenerPath"] = tmp_ / "nobody.sock";
    Result absent = run_container("true");
    EXPECT_NE(absent.code, 0);
    EXPECT_EQ(absent.err_lines().size(), 1u) << describe(absent);
    EXPECT_NE(absent.err.find(tmp_ / "nobody.sock"), std::string::npos) << describe(absent);
    config_["linux"]["seccomp"].erase("listenerPath");
    Result no_agent = run_container("true");
    EXPECT_NE(no_agent.err.find("SCMP_ACT_NOTIFY needs a seccomp agent"), std::string::npos) << describe(no_agent);
    config_["linux"]["seccomp"]["listenerPath"] = socket;
    config_["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_ERRNO";
    Result no_notify = run_container("true");
    EXPECT_NE(no_notify.err.find("no rule has the action SCMP_ACT_NOTIFY"), std::string::npos) << describe(no_notify);
    EXPECT_EQ(root_entries(), Strings{});
}

// checkpoint and restore take runc's flags and refuse with the reason, which depends on the
// machine: CRIU not installed, CRIU unable to work on this kernel (its own `criu check`), or
// hutch's own gap; one line naming CRIU, exit 1; the container keeps running, and a restore
// leaves nothing in the state root.
TEST_F(OciConfigIntegration, CheckpointAndRestoreRefuseWithTheReason) {
    std::string id = new_id("criu");
    set_command("exec sleep 60");
    ASSERT_EXIT_CODE(create(id), 0);
    pid_t pid = pid_of(id);
    ASSERT_EXIT_CODE(oci({"start", id}), 0);
    const std::string images = tmp_ / "images";
    Result dump = oci({"checkpoint", "--image-path", images, "--leave-running", "--tcp-established", id});
    EXPECT_EQ(dump.code, 1) << describe(dump);
    ASSERT_EQ(dump.err_lines().size(), 1u) << describe(dump);
    EXPECT_NE(dump.err.find("checkpoint: "), std::string::npos) << describe(dump);
    EXPECT_NE(dump.err.find("CRIU"), std::string::npos) << describe(dump);
    EXPECT_EQ(state(id)["status"], "running");
    EXPECT_FALSE(path_exists(images));

    Result restore = oci({"restore", "--image-path", images, "--bundle", bundle_, "--detach", new_id("criu")});
    EXPECT_EQ(restore.code, 1) << describe(restore);
    EXPECT_EQ(restore.err_lines().size(), 1u) << describe(restore);
    EXPECT_NE(restore.err.find("restore: "), std::string::npos) << describe(restore);
    EXPECT_EQ(root_entries(), Strings{id});

    Result unknown = oci({"checkpoint", "no-such-container"});
    EXPECT_EQ(unknown.code, 1);
    EXPECT_NE(unknown.err.find("no-such-container"), std::string::npos) << describe(unknown);
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);
}

// --preserve-fds N (podman's --preserve-fds, socket activation): the engine's fds 3 to 2+N reach
// the command, inheritable; every other fd of hutch's is still closed; a count beyond the fds
// open is one line naming the fd, and nothing is left.
TEST_F(OciConfigIntegration, PreserveFdsPassesTheEnginesFdsToTheCommand) {
    std::string out = tmp_ / "through-fd-3";
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    SpawnOptions so;
    so.inherit_fds = {{fd, 3}};
    // The shell's fds: the engine's fd 3, and no fd of hutch's (its signalfd, pidfds, the sync
    // socket), whatever fds the shell opens for itself.
    set_command("echo through-3 >&3 && ls -l /proc/$$/fd");
    Result r = oci({"run", "--preserve-fds", "1", "--bundle", bundle_, new_id("fds")}, so);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find(" 3 -> " + out + "\n"), std::string::npos) << describe(r);
    for (const char* hutchs : {"anon_inode:", "socket:", "/run/", root_.c_str()})
        EXPECT_EQ(r.out.find(hutchs), std::string::npos) << hutchs << " reached the command: " << describe(r);
    EXPECT_EQ(read_file(out), "through-3\n");

    Result closed = oci({"run", "--bundle", bundle_, new_id("fds")}, so);
    EXPECT_NE(closed.code, 0) << "fd 3 reached a command without --preserve-fds: " << describe(closed);

    Result too_many = oci({"run", "--preserve-fds", "2", "--bundle", bundle_, new_id("fds")}, so);
    EXPECT_NE(too_many.code, 0);
    EXPECT_EQ(too_many.err_lines().size(), 1u) << describe(too_many);
    EXPECT_NE(too_many.err.find("fd 4 is not open"), std::string::npos) << describe(too_many);
    EXPECT_EQ(root_entries(), Strings{});
    ::close(fd);
}

// tmpcopyup (runc's option, podman's default for --tmpfs): a tmpfs on /bin starts with a copy of
// the image's /bin, symlinks as links (busybox's applets), modes and owners kept, so the
// container's shell runs from it; the image is never written. Without it, /bin is empty.
TEST_F(OciConfigIntegration, TmpcopyupCopiesTheImagesDirectoryIntoTheTmpfs) {
    config_["mounts"].push_back({{"destination", "/bin"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                 {"options", {"tmpcopyup", "nosuid", "size=16m"}}});
    Result r = run_container("ls /bin | wc -l; readlink /bin/ash; stat -c '%a %u' /bin /bin/busybox; "
                             "grep -c ' /bin tmpfs ' /proc/self/mounts; touch /bin/new && echo written");
    ASSERT_EXIT_CODE(r, 0);
    std::string mode = trim(run_command({"/usr/bin/stat", "-c", "%a %u", rootfs_ + "/bin"}).out);
    std::string busybox = trim(run_command({"/usr/bin/stat", "-c", "%a %u", rootfs_ + "/bin/busybox"}).out);
    EXPECT_EQ(r.out, std::to_string(list_dir(rootfs_ + "/bin").size()) + "\n/bin/busybox\n" + mode + "\n" + busybox +
                         "\n1\nwritten\n");
    EXPECT_FALSE(path_exists(rootfs_ + "/bin/new"));

    // Read-only: filled first, then made read-only (the copy itself must not meet EROFS).
    config_["mounts"].back()["options"] = {"tmpcopyup", "ro", "nosuid", "size=16m"};
    Result read_only = run_container("ls /bin | wc -l; touch /bin/new 2>/dev/null; echo $?");
    EXPECT_EXIT_CODE(read_only, 0);
    EXPECT_EQ(read_only.out, std::to_string(list_dir(rootfs_ + "/bin").size()) + "\n1\n") << describe(read_only);

    config_["mounts"].back()["options"] = {"nosuid", "size=16m"};
    Result empty = run_container("true");
    EXPECT_EQ(empty.code, 127) << "a tmpfs without tmpcopyup starts empty: no /bin/sh. " << describe(empty);
}

// rro (recursive read-only, mount_setattr AT_RECURSIVE): a bind whose source has a mount below
// it is read-only all the way down, where "ro" makes only its top read-only (the submount stays
// writable). The submount is made in a private mount namespace of the test's own.
TEST_F(OciConfigIntegration, RroMakesEveryMountBelowABindReadOnly) {
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "no util-linux unshare";
    std::string source = tmp_ / "tree";
    ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((source + "/sub").c_str(), 0755), 0);
    config_["mounts"].push_back({{"destination", "/tmp/all"}, {"type", "bind"}, {"source", source}, {"options", {"rbind", "rro"}}});
    config_["mounts"].push_back({{"destination", "/tmp/top"}, {"type", "bind"}, {"source", source}, {"options", {"rbind", "ro"}}});
    // On the config's /tmp tmpfs: the shared rootfs is never written.
    set_command("for d in /tmp/all /tmp/all/sub /tmp/top /tmp/top/sub; do touch $d/x 2>/dev/null; echo \"$d $?\"; done");
    std::string oci_run = oci_binary() + " --root '" + root_ + "' run --bundle '" + bundle_ + "' " + new_id("rro");
    Result r = run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=64k hutch-test-sub '" + source + "/sub' || exit 99; exec " + oci_run},
                           {}, 60s);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "/tmp/all 1\n/tmp/all/sub 1\n/tmp/top 1\n/tmp/top/sub 0\n") << describe(r);
}

// Idmapped binds with maps of their own (OCI 1.1 mounts[].uidMappings), as runc's idmap.bats
// checks them: without a user namespace the container sees the mapped ids; "idmap" maps only the
// top mount of an rbind, "ridmap" the submounts too; a write as an id the map lacks fails.
TEST_F(OciConfigIntegration, IdmappedBindsTakeTheirOwnMaps) {
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "no util-linux unshare";
    std::string source = tmp_ / "tree";
    ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((source + "/sub").c_str(), 0755), 0);
    write_file(source + "/top", "");
    ASSERT_EQ(::chown((source + "/top").c_str(), 100, 211), 0);
    const json uids = {{{"containerID", 100}, {"hostID", 5100}, {"size", 3}}};
    const json gids = {{{"containerID", 211}, {"hostID", 5211}, {"size", 1}}};
    config_["mounts"].push_back({{"destination", "/tmp/own"}, {"type", "bind"}, {"source", source},
                                 {"options", {"rbind"}}, {"uidMappings", uids}, {"gidMappings", gids}});
    config_["mounts"].push_back({{"destination", "/tmp/rec"}, {"type", "bind"}, {"source", source},
                                 {"options", {"rbind", "ridmap"}}, {"uidMappings", uids}, {"gidMappings", gids}});
    config_["mounts"].push_back({{"destination", "/tmp/plain"}, {"type", "bind"}, {"source", source}, {"options", {"rbind"}}});
    set_command("for f in /tmp/own/top /tmp/own/sub/in /tmp/rec/top /tmp/rec/sub/in /tmp/plain/top; do "
                "stat -c \"$f %u:%g\" $f; done; touch /tmp/own/new 2>/dev/null; echo \"write $?\"");
    std::string oci_run = oci_binary() + " --root '" + root_ + "' run --bundle '" + bundle_ + "' " + new_id("idmap");
    // A submount below the source, made in a mount namespace of the test's own.
    Result r = run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=64k hutch-test-sub '" + source + "/sub' && touch '" + source +
                                "/sub/in' && chown 101:211 '" + source + "/sub/in' || exit 99; exec " + oci_run},
                           {}, 60s);
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out,
              "/tmp/own/top 5100:5211\n"
              "/tmp/own/sub/in 101:211\n"  // idmap: the submount keeps its ids
              "/tmp/rec/top 5100:5211\n"
              "/tmp/rec/sub/in 5101:5211\n"  // ridmap: mapped too
              "/tmp/plain/top 100:211\n"
              "write 1\n")  // root (0) is not in the mount's map: EOVERFLOW
        << describe(r);
    EXPECT_FALSE(path_exists(source + "/new"));
    EXPECT_EQ(root_entries(), Strings{});
}

// In a user namespace the idmapped copies are taken from the container's own (locked) mounts,
// as runc takes them: with CAP_SYS_ADMIN inside, a volume's submount cannot be unmounted to show
// what it covers, nor a read-only host mount made writable.
TEST_F(OciConfigIntegration, IdmappedCopiesAreLockedInAUserNamespace) {
    if (!path_exists("/usr/bin/unshare")) GTEST_SKIP() << "no util-linux unshare";
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    for (const char* set : {"bounding", "effective", "permitted"}) config_["process"]["capabilities"][set].push_back("CAP_SYS_ADMIN");
    const std::string world = tmp_ / "world";
    ASSERT_EQ(::mkdir(world.c_str(), 0755), 0);
    config_["mounts"].push_back({{"destination", "/tmp/vol"}, {"type", "bind"}, {"source", world + "/vol"}, {"options", {"rbind", "ridmap"}}});
    config_["mounts"].push_back({{"destination", "/tmp/ro"}, {"type", "bind"}, {"source", world + "/ro"}, {"options", {"rbind", "idmap"}}});
    set_command("umount /tmp/vol/sub 2>/dev/null && echo UNMOUNTED; cat /tmp/vol/sub/hidden 2>/dev/null && echo REVEALED; "
                "mount -o remount,bind,rw /tmp/ro 2>/dev/null && echo RO-CLEARED; touch /tmp/ro/x 2>/dev/null && echo WROTE-RO; "
                "stat -c %u /tmp/vol/sub/shown; echo done");
    std::string oci_run = oci_binary() + " --root '" + root_ + "' run --bundle '" + bundle_ + "' " + new_id("locked");
    // The host's mounts, played by tmpfs mounts in a mount namespace of the test's own: a
    // submount hiding a file, and a read-only mount.
    Result r = run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c",
                            "set -e; W='" + world + "'; mkdir -p \"$W/vol/sub\" \"$W/ro\"; echo hidden > \"$W/vol/sub/hidden\"; "
                            "mount -t tmpfs sub \"$W/vol/sub\"; touch \"$W/vol/sub/shown\"; mount -t tmpfs -o ro ro \"$W/ro\"; "
                            "set +e; exec " + oci_run},
                           {}, 60s);
    if (r.err.find("MOUNT_ATTR_IDMAP") != std::string::npos) GTEST_SKIP() << "this kernel cannot idmap tmpfs (Linux 6.3): " << r.err;
    ASSERT_EXIT_CODE(r, 0);
    // ridmap: the submount is idmapped too, so its file (the host root's) shows as root's.
    EXPECT_EQ(r.out, "0\ndone\n") << describe(r);
    EXPECT_EQ(root_entries(), Strings{});
}

// "idmap" without maps of its own takes the container's user namespace's: the host root's files
// show as root's inside and what root writes there lands as the disk's root, where a plain bind
// of the same directory shows the host root as nobody and cannot be written.
TEST_F(OciConfigIntegration, IdmapTakesTheUserNamespacesMaps) {
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    std::string source = tmp_ / "volume";
    ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
    write_file(source + "/file", "");
    config_["mounts"].push_back({{"destination", "/tmp/mapped"}, {"type", "bind"}, {"source", source}, {"options", {"bind", "idmap"}}});
    config_["mounts"].push_back({{"destination", "/tmp/plain"}, {"type", "bind"}, {"source", source}, {"options", {"bind"}}});
    Result r = run_container("stat -c %u:%g /tmp/mapped/file /tmp/plain/file; touch /tmp/mapped/made && echo made; "
                             "touch /tmp/plain/not 2>/dev/null || echo refused");
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "0:0\n65534:65534\nmade\nrefused\n") << describe(r);
    struct stat st {};
    ASSERT_EQ(::stat((source + "/made").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u) << "root inside writes as the disk's root through the idmapped bind";
    EXPECT_FALSE(path_exists(source + "/not"));
    EXPECT_EQ(root_entries(), Strings{});
}

// --systemd-cgroup, Docker's and podman's systemd cgroup driver: a SLICE:PREFIX:NAME cgroupsPath
// is the directory systemd would give that scope, below its slice and the slice's parents; delete
// removes the levels create made. Without the flag, the same path is one line naming the flag.
TEST_F(OciConfigIntegration, SystemdCgroupPathIsTheScopeBelowItsSlices) {
    std::string slice = "hutchit-" + std::to_string(::getpid()) + ".slice";
    std::string id = new_id("sd");
    config_["linux"]["cgroupsPath"] = slice + ":it:" + id;
    config_["linux"]["resources"] = {{"pids", {{"limit", 20}}}};
    set_command("exec sleep 60");
    Result refused = create(id);
    EXPECT_NE(refused.code, 0);
    EXPECT_EQ(refused.err_lines().size(), 1u) << describe(refused);
    EXPECT_NE(refused.err.find("--systemd-cgroup"), std::string::npos) << describe(refused);
    EXPECT_EQ(root_entries(), Strings{});

    Result c = oci_to_files({"--systemd-cgroup", "create", "--bundle", bundle_, id});
    ASSERT_EXIT_CODE(c, 0);
    pid_t pid = pid_of(id);
    ASSERT_GT(pid, 0);
    const std::string scope = "/hutchit.slice/" + slice + "/it-" + id + ".scope";
    Strings dirs = json::parse(read_file(root_ + "/" + id + "/state.json")).value("cgroups", Strings{});
    ASSERT_FALSE(dirs.empty());
    for (const auto& d : dirs) {
        EXPECT_TRUE(d.ends_with(scope)) << d << " is not " << scope;
        EXPECT_NE(("\n" + read_file(d + "/cgroup.procs")).find("\n" + std::to_string(pid) + "\n"), std::string::npos) << d;
    }
    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);
    for (const auto& d : dirs) {
        std::string slice_dir = d.substr(0, d.rfind('/')), top = slice_dir.substr(0, slice_dir.rfind('/'));
        for (const auto& level : {d, slice_dir, top}) {
            EXPECT_FALSE(path_exists(level)) << level << " left after delete";
            ::rmdir(level.c_str());
        }
    }
}

// `events --stats`: one runc stats record, read from the container's own cgroups (its pids
// limit and count, its memory limit); `events --interval`: a record every interval until the
// container stops, then exit 0; a stopped container is refused.
TEST_F(OciConfigIntegration, EventsPrintRuncsStatsRecords) {
    config_["linux"]["resources"] = {{"pids", {{"limit", 40}}}, {"memory", {{"limit", 64 << 20}}}};
    std::string id = new_id("events");
    pid_t pid = start_running(id, "sleep 60 & exec sleep 60");
    ASSERT_GT(pid, 0);
    Result once = oci({"events", "--stats", id});
    ASSERT_EXIT_CODE(once, 0);
    ASSERT_EQ(once.out_lines().size(), 1u) << once.out;
    json e = json::parse(once.out);
    EXPECT_EQ(e["type"], "stats");
    EXPECT_EQ(e["id"], id);
    EXPECT_EQ(e["data"]["pids"]["limit"], 40) << e.dump();
    EXPECT_GE(e["data"]["pids"].value("current", 0), 1) << e.dump();  // sh, then its two sleeps
    EXPECT_LE(e["data"]["pids"].value("current", 0), 3) << e.dump();
    EXPECT_EQ(e["data"]["memory"]["usage"]["limit"], 64 << 20) << e.dump();
    EXPECT_GT(e["data"]["memory"]["usage"].value("usage", 0), 0) << e.dump();

    Process follow = Process::spawn({oci_binary(), "--root", root_, "events", "--interval", "100ms", id});
    ASSERT_TRUE(follow.wait_for_output("\n{", 10s)) << "no second record within 10 s";
    ASSERT_EXIT_CODE(oci({"kill", id, "KILL"}), 0);
    EXPECT_NE(reap(pid), -1);
    Result followed = follow.wait(10s);
    EXPECT_EXIT_CODE(followed, 0);
    for (const auto& line : followed.out_lines()) EXPECT_EQ(json::parse(line)["type"], "stats") << line;
    Result stopped = oci({"events", "--stats", id});
    EXPECT_NE(stopped.code, 0);
    EXPECT_NE(stopped.err.find("is not running"), std::string::npos) << describe(stopped);
    EXPECT_NE(oci({"events", "--interval", "5", id}).err.find("\"5\""), std::string::npos);
    EXPECT_EXIT_CODE(oci({"delete", id}), 0);
}

TEST_F(OciConfigIntegration, UpdateSetsPidsLimitFromFlagsAndFromAResourcesFile) {
    // Created without resources: only its unified cgroup; update gives it a v1 pids cgroup.
    if (mountinfo_line(host_mountinfo(), "/sys/fs/cgroup/pids").empty()) GTEST_SKIP() << "no cgroup v1 pids hierarchy here";
    std::string id = new_id("update");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    auto pids_dir = [&] {
        for (const auto& line : split_lines(read_file("/proc/" + std::to_string(pid) + "/cgroup")))
            if (line.find(":pids:") != std::string::npos) return "/sys/fs/cgroup/pids" + line.substr(line.find(":pids:") + 6);
        return std::string();
    };
    Result u = oci({"update", "--pids-limit", "7", id});
    ASSERT_EXIT_CODE(u, 0);
    std::string dir = pids_dir();
    EXPECT_NE(dir.find("/hutch-oci/" + id), std::string::npos) << dir;
    EXPECT_EQ(read_file(dir + "/pids.max"), "7\n");

    write_file(tmp_ / "resources.json", R"({"pids": {"limit": 9}, "memory": {"swappiness": null}})");
    ASSERT_EXIT_CODE(oci({"update", "-r", tmp_ / "resources.json", id}), 0);
    EXPECT_EQ(read_file(dir + "/pids.max"), "9\n");
    // runc's exit status 1, the field named, nothing applied.
    write_file(tmp_ / "bad.json", R"({"pids": {"limit": 3}, "cpu": {"bogus": 1}})");
    Result bad = oci({"update", "-r", tmp_ / "bad.json", id});
    EXPECT_EXIT_CODE(bad, 1);
    EXPECT_NE(bad.err.find("cpu.bogus"), std::string::npos) << describe(bad);
    EXPECT_EQ(read_file(dir + "/pids.max"), "9\n");
    EXPECT_EQ(json::parse(read_file(root_ + "/" + id + "/config.json"))["linux"]["resources"]["pids"]["limit"], 9);

    EXPECT_EXIT_CODE(oci({"delete", "-f", id}), 0);
    EXPECT_NE(reap(pid), -1);
    EXPECT_FALSE(path_exists(dir)) << dir << " left after delete";
}

// linux.uidMappings/gidMappings: the container's root is a host id of the mapping. Observed from
// inside (the maps, id, a host-root file showing as the overflow id) and from the host (the
// process's real uid; an exec joins the same user namespace).
TEST_F(OciConfigIntegration, UserNamespaceWithIdMappings) {
    // The container's root (host uid 200000) assembles its root itself, so it must reach the
    // state root and the bind sources, as runc asks of the rootfs: the test's temp dir is 0700.
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    set_command("exec sleep 60");
    std::string id = new_id("userns");
    pid_t pid = start_running(id, "exec sleep 60");
    ASSERT_GT(pid, 0);
    std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    EXPECT_NE(status.find("\nUid:\t200000\t200000\t200000\t200000\n"), std::string::npos) << status;
    EXPECT_NE(ns_link("user", pid), ns_link("user"));
    Result r = oci({"exec", id, "sh", "-c",
                    "id -u; id -g; cat /proc/self/uid_map; stat -c %u /bin/busybox; readlink /proc/self/ns/user; "
                    "echo x > /dev/null && echo null-ok"});
    EXPECT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 6u) << describe(r);
    EXPECT_EQ(lines[0], "0");
    EXPECT_EQ(lines[1], "0");
    std::istringstream map(lines[2]);
    std::uint64_t inside = 1, outside = 0, size = 0;
    map >> inside >> outside >> size;
    EXPECT_EQ(inside, 0u);
    EXPECT_EQ(outside, 200000u);
    EXPECT_EQ(size, 65536u);
    EXPECT_EQ(lines[3], "65534") << "a file of the host's root is unmapped inside";
    EXPECT_EQ(lines[4], ns_link("user", pid));
    EXPECT_EQ(lines[5], "null-ok") << "/dev/null is usable though no device node can be made";
}

// In a user namespace the default and linux.devices nodes are bound from the host: only the
// very device the config names, never a host file it calls a device.
TEST_F(OciConfigIntegration, UserNamespaceBindsOnlyRealDevices) {
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    // A host regular file below /dev (where linux.devices paths must lie), named a device.
    std::string planted = "/dev/shm/hutch-test-not-a-device-" + std::to_string(::getpid());
    config_["linux"]["devices"] = {{{"path", planted}, {"type", "c"}, {"major", 1}, {"minor", 3}}};
    write_file(planted, "host data\n");
    Result r = run_container("echo pwned > " + planted);
    ::unlink(planted.c_str());
    EXPECT_NE(r.code, 0) << describe(r);
    EXPECT_NE(r.err.find("not the device"), std::string::npos) << describe(r);
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciConfigIntegration, UserNamespaceNeedsMappingsOfRoot) {
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    write_config();
    Result none = create(new_id("nomap"));
    EXPECT_NE(none.code, 0);
    EXPECT_NE(none.err.find("uidMappings"), std::string::npos) << describe(none);
    config_["linux"]["uidMappings"] = {{{"containerID", 1}, {"hostID", 200000}, {"size", 10}}};
    config_["linux"]["gidMappings"] = {{{"containerID", 1}, {"hostID", 200000}, {"size", 10}}};
    write_config();
    Result no_root = create(new_id("noroot"));
    EXPECT_NE(no_root.code, 0);
    EXPECT_NE(no_root.err.find("id 0"), std::string::npos) << describe(no_root);
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciConfigIntegration, SeccompProfile) {
    // Control: without the profile mkdir works.
    Result plain = run_container("mkdir /mnt/allowed && echo made");
    EXPECT_EXIT_CODE(plain, 0);
    EXPECT_EQ(plain.out, "made\n");
    config_["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
    Result r = run_container("mkdir /mnt/blocked; echo rc=$?; touch /mnt/touched && echo touched");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "rc=1\ntouched\n");
    EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << describe(r);
    EXPECT_FALSE(path_exists(shared_ + "/blocked"));
    EXPECT_TRUE(path_exists(shared_ + "/touched"));
}

// runc skips a syscall name its libseccomp does not know ("unknown seccomp syscall ignored");
// hutch-oci refused the whole config (issue 11).
TEST_F(OciConfigIntegration, SeccompUnknownSyscallNamesAreSkippedAsRuncDoes) {
    config_["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"future_call_2077", "mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
    Result r = run_container("mkdir /mnt/blocked; echo rc=$?");
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "rc=1\n");
    EXPECT_FALSE(path_exists(shared_ + "/blocked"));
}

// --- bad input: non-zero, one line naming the problem, nothing left ------------------------

TEST_F(OciBadInputIntegration, BadBundlesAreRefusedAndLeaveNothing) {
    struct Case {
        std::string what;
        std::function<void()> prepare;  // edits config_ / the bundle
        std::string id;
        Strings needles;                // each must be in the message
    };
    set_command("echo ran > /mnt/marker");
    const json good = config_;
    const std::vector<Case> cases = {
        {"missing config.json", [&] { ::unlink((bundle_ + "/config.json").c_str()); }, "", {"config.json"}},
        {"invalid JSON",
         [&] { write_file(bundle_ + "/config.json", "{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}\n"); },
         "",
         {"config.json", "line 3, column 3"}},
        {"ociVersion 2.0.0", [&] { config_["ociVersion"] = "2.0.0"; write_config(); }, "", {"ociVersion", "2.0.0"}},
        {"id with ..", [&] { write_config(); }, "../x", {"\"../x\""}},
        {"id with a space", [&] { write_config(); }, "a b", {"\"a b\""}},
        {"root.path missing", [&] { config_["root"].erase("path"); write_config(); }, "", {"rootfs"}},
        {"no rootfs in the bundle",
         [&] { config_["root"]["path"] = "rootfs"; write_config(); },
         "",
         {bundle_ + "/rootfs"}},
        {"linux.intelRdt", [&] { config_["linux"]["intelRdt"] = {{"closID", "g1"}}; write_config(); }, "",
         {"linux.intelRdt"}},
        {"unknown rlimit", [&] { config_["process"]["rlimits"] = {{{"type", "RLIMIT_NOPE"}, {"soft", 1}, {"hard", 1}}}; write_config(); },
         "", {"RLIMIT_NOPE"}},
        {"device outside /dev", [&] { config_["linux"]["devices"] = {{{"path", "/etc/x"}, {"type", "c"}, {"major", 1}, {"minor", 3}}}; write_config(); },
         "", {"/etc/x"}},
        {"idmap on a tmpfs",
         [&] { config_["mounts"].push_back({{"destination", "/x"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"idmap"}}}); write_config(); },
         "", {"mount /x", "only a bind mount"}},
        {"uidMappings without gidMappings",
         [&] {
             config_["mounts"].push_back({{"destination", "/x"}, {"type", "bind"}, {"source", shared_}, {"options", {"bind"}},
                                          {"uidMappings", {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}}});
             write_config();
         },
         "", {"mount /x", "gidMappings"}},
        {"overlapping mount maps",
         [&] {
             const json maps = {{{"containerID", 0}, {"hostID", 1000}, {"size", 10}}, {{"containerID", 5}, {"hostID", 2000}, {"size", 1}}};
             config_["mounts"].push_back({{"destination", "/x"}, {"type", "bind"}, {"source", shared_}, {"options", {"bind"}},
                                          {"uidMappings", maps}, {"gidMappings", maps}});
             write_config();
         },
         "", {"mount /x: uidMappings", "overlap"}},
        {"idmap without a user namespace",
         [&] { config_["mounts"].push_back({{"destination", "/x"}, {"type", "bind"}, {"source", shared_}, {"options", {"bind", "idmap"}}}); write_config(); },
         "", {"mount /x", "idmap", "no"}},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.what);
        config_ = good;
        k.prepare();
        std::string id = k.id.empty() ? new_id("bad") : k.id;
        for (const char* cmd : {"create", "run"}) {
            Result r = oci({cmd, "--bundle", bundle_, id});
            EXPECT_EQ(r.code, 1) << "runc's exit code for its own errors: " << cmd << "\n" << describe(r);
            ASSERT_EQ(r.err_lines().size(), 1u) << cmd << "\n" << describe(r);
            for (const auto& needle : k.needles) EXPECT_NE(r.err.find(needle), std::string::npos) << needle << "\n" << describe(r);
            EXPECT_EQ(r.out, "");
            EXPECT_EQ(root_entries(), Strings{});
            EXPECT_EQ(reap_zombies(), std::vector<pid_t>{});
        }
    }
    EXPECT_FALSE(path_exists(shared_ + "/marker"));
    EXPECT_FALSE(path_exists(tmp_ / "x")) << "an id with .. escaped the state root";
}

TEST_F(OciBadInputIntegration, UnknownContainerAndBadSignal) {
    for (const Strings& args : {Strings{"state", "nosuch"}, Strings{"start", "nosuch"}, Strings{"kill", "nosuch"},
                                Strings{"delete", "nosuch"}, Strings{"ps", "nosuch"}, Strings{"exec", "nosuch", "true"}}) {
        Result r = oci(args);
        EXPECT_EQ(r.code, 1) << args[0] << ": runc's exit code for its own errors";
        ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find("nosuch"), std::string::npos) << describe(r);
    }
    std::string id = new_id("sig");
    pid_t pid = start_running(id, "exec sleep 60");
    Result r = oci({"kill", id, "NOSIG"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(oci({"kill", "--no-such-flag", id}).code, 1) << "a bad flag is runc's 1 too";
    EXPECT_NE(r.err.find("NOSIG"), std::string::npos) << describe(r);
    EXPECT_TRUE(process_alive(pid));
}

TEST_F(OciBadInputIntegration, LogFileInJson) {
    std::string log = tmp_ / "runtime.log";
    Result r = oci({"--log", log, "--log-format", "json", "state", "nosuch"});
    EXPECT_NE(r.code, 0);
    Strings lines = split_lines(read_file(log));
    ASSERT_EQ(lines.size(), 1u) << read_file(log);
    json entry = json::parse(lines[0]);
    EXPECT_EQ(entry["level"], "error");
    EXPECT_NE(entry["msg"].get<std::string>().find("nosuch"), std::string::npos) << lines[0];

    config_["ociVersion"] = "2.0.0";
    write_config();
    r = oci({"--log", log, "--log-format", "json", "create", "--bundle", bundle_, new_id("log")});
    EXPECT_NE(r.code, 0);
    lines = split_lines(read_file(log));
    ASSERT_EQ(lines.size(), 2u) << read_file(log);
    entry = json::parse(lines[1]);
    EXPECT_EQ(entry["level"], "error");
    EXPECT_NE(entry["msg"].get<std::string>().find("2.0.0"), std::string::npos) << lines[1];
    EXPECT_EQ(root_entries(), Strings{});
}

TEST_F(OciBadInputIntegration, SpecNeverOverwritesAConfig) {
    // SetUp wrote bundle_/config.json with `spec`; a second one must not replace the edited file.
    std::string before = read_file(bundle_ + "/config.json");
    Result again = oci({"spec", "--bundle", bundle_});
    EXPECT_NE(again.code, 0);
    ASSERT_EQ(again.err_lines().size(), 1u) << describe(again);
    EXPECT_NE(again.err.find(bundle_ + "/config.json"), std::string::npos) << describe(again);
    EXPECT_EQ(read_file(bundle_ + "/config.json"), before);
}

TEST_F(OciBadInputIntegration, Features) {
    Result r = oci({"features"});
    ASSERT_EXIT_CODE(r, 0);
    json f = json::parse(r.out);
    EXPECT_EQ(f["hooks"], json({"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}));
    auto ns = f["linux"]["namespaces"].get<Strings>();
    for (const char* n : {"pid", "network", "ipc", "uts", "mount", "cgroup", "time"})
        EXPECT_NE(std::find(ns.begin(), ns.end(), n), ns.end()) << n;
    EXPECT_EQ(f["ociVersionMin"].get<std::string>().substr(0, 2), "1.");
    auto caps = f["linux"]["capabilities"].get<Strings>();
    EXPECT_NE(std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN"), caps.end());
    // Idmapped binds, as runc announces them (containerd looks before it asks for one).
    auto options = f["mountOptions"].get<Strings>();
    for (const char* o : {"idmap", "ridmap", "rro"}) EXPECT_NE(std::find(options.begin(), options.end(), o), options.end()) << o;
    EXPECT_EQ(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
}


// --- podman drives hutch-oci -----------------------------------------------------------------

// podman with storage, run root and libpod tmp dir of its own under a temp dir, cgroupfs, no
// events and never its default network; hutch-oci as the runtime, with a state root of the
// test's own: containers are recorded there under their 64-hex ids, which the test reads from
// --cidfile and checks are gone afterwards.
class OciPodman : public OciTest {
protected:
    void SetUp() override {
        if (!path_exists("/usr/bin/podman")) GTEST_SKIP() << "podman is not installed (/usr/bin/podman missing)";
        OciTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        // podman writes into its --rootfs (/etc/passwd, /etc/group, mount points): a copy.
        ASSERT_TRUE(copy_rootfs(rootfs_, pod_ / "rootfs"));
        // podman makes libpod_parent in every hierarchy and never removes it: the test removes
        // those it made (empty), so the machine is left as found.
        for (const auto& h : list_dir("/sys/fs/cgroup"))
            if (!path_exists("/sys/fs/cgroup/" + h + "/libpod_parent")) new_parents_.push_back("/sys/fs/cgroup/" + h + "/libpod_parent");
        base_ = {"/usr/bin/podman",  "--root",         pod_ / "storage", "--runroot",      pod_ / "runroot",
                 "--tmpdir",         pod_ / "libpod", "--cgroup-manager", "cgroupfs",     "--events-backend",
                 "none",             "--storage-driver", "vfs",          "--runtime",      pod_ / "bin/hutch-oci"};
        // podman's --runtime-flag reaches conmon's create but not every later call (its
        // cleanup's delete): a wrapper of the same name gives each call the test's root.
        ASSERT_EQ(::mkdir((pod_ / "bin").c_str(), 0755), 0);
        write_file(pod_ / "bin/hutch-oci", "#!/bin/sh\nexec " + oci_binary() + " --root " + oci_root() + " \"$@\"\n", 0755);
    }
    void TearDown() override {
        if (!base_.empty()) {
            podman({"rm", "-af", "-t", "0"});
            // Whatever podman left mounted below its dirs (its shm mounts), deepest first.
            Strings mounts;
            for (const auto& line : split_lines(host_mountinfo())) {
                std::istringstream in(line);
                std::string f[5];
                for (auto& x : f) in >> x;
                if (f[4].rfind(pod_.path() + "/", 0) == 0) mounts.push_back(f[4]);
            }
            std::sort(mounts.rbegin(), mounts.rend());
            for (const auto& m : mounts) run_command({"/bin/umount", "-l", m});
            // conmon exits after its container: give it a moment before leftovers are counted.
            for (int i = 0; i < 200 && !reap_zombies().empty(); ++i) std::this_thread::sleep_for(10ms);
            for (const auto& cid : cids_) {
                EXPECT_FALSE(path_exists(oci_root() + "/" + cid)) << oci_root() << "/" << cid << " left behind";
                for (const auto& h : list_dir("/sys/fs/cgroup")) {
                    std::string leaf = "/sys/fs/cgroup/" + h + "/libpod_parent/libpod-" + cid;
                    EXPECT_FALSE(path_exists(leaf)) << leaf << " left behind";
                }
            }
            for (const auto& parent : new_parents_) {
                ::rmdir((parent + "/conmon").c_str());  // where podman puts conmon
                ::rmdir(parent.c_str());
            }
        }
        OciTest::TearDown();
    }
    Result podman(const Strings& args, std::chrono::milliseconds timeout = kDefaultTimeout) {
        Strings argv = base_;
        argv.insert(argv.end(), args.begin(), args.end());
        // Its conmon outlives podman and ends up the test's child (a subreaper): reap it
        // meanwhile, as init would.
        Process p = Process::spawn(argv);
        std::atomic<bool> done{false};
        std::thread reaper([&] {
            while (!done) {
                for (pid_t k : own_children())
                    if (k != p.pid() && proc_state(k) == 'Z') ::waitpid(k, nullptr, WNOHANG);
                std::this_thread::sleep_for(5ms);
            }
        });
        Result r = p.wait(timeout);
        done = true;
        reaper.join();
        return r;
    }
    // podman run --rm --network none --ulimit ... OPTS --rootfs COPY CMD...: the ulimits are
    // within the test's own (podman's default nofile exceeds what the host lets a container
    // raise to).
    Result podman_run(const Strings& opts, const Strings& cmd) {
        std::string cidfile = pod_ / ("cid." + std::to_string(cids_.size() + run_count_++));
        Strings args = {"run", "--rm", "--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit",
                        "nproc=32768:32768", "--cidfile", cidfile};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back("--rootfs");
        args.push_back(pod_ / "rootfs");
        args.insert(args.end(), cmd.begin(), cmd.end());
        Result r = podman(args);
        std::string cid = trim(read_file(cidfile));
        if (!cid.empty()) cids_.push_back(cid);
        return r;
    }
    std::string oci_root() const { return pod_ / "hutch-oci"; }  // hutch-oci's --root under podman
    TempDir pod_;
    Strings base_, cids_;
    Strings new_parents_;  // libpod_parent dirs podman makes during the test
    int run_count_ = 0;
};
using OciPodmanIntegration = OciPodman;

TEST_F(OciPodmanIntegration, PodmanRunsContainersWithHutchOci) {
    Result hi = podman_run({}, {"/bin/echo", "hi"});
    EXPECT_EXIT_CODE(hi, 0);
    EXPECT_EQ(hi.out, "hi\n");
    ASSERT_EQ(cids_.size(), 1u) << "podman wrote no --cidfile";
    EXPECT_FALSE(path_exists(oci_root() + "/" + cids_[0]));

    Result code = podman_run({}, {"sh", "-c", "exit 3"});
    EXPECT_EXIT_CODE(code, 3);

    Result ro = podman_run({"--read-only"}, {"sh", "-c",
                                             "touch /x 2>/dev/null && echo root-written || echo root-ro; "
                                             "touch /tmp/y && echo tmp-written"});
    EXPECT_EXIT_CODE(ro, 0);
    EXPECT_EQ(ro.out, "root-ro\ntmp-written\n");
    EXPECT_FALSE(path_exists(pod_ / "rootfs/x"));

    Result caps = podman_run({"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"}, {"cat", "/proc/self/status"});
    EXPECT_EXIT_CODE(caps, 0);
    EXPECT_EQ(status_field(caps.out, "CapEff"), "0000000000000400") << caps.out;
    EXPECT_EQ(status_field(caps.out, "CapBnd"), "0000000000000400") << caps.out;

    Result host = podman_run({"--pid", "host"}, {"sh", "-c", "echo $$; readlink /proc/self/ns/pid"});
    EXPECT_EXIT_CODE(host, 0);
    Strings lines = host.out_lines();
    ASSERT_EQ(lines.size(), 2u) << describe(host);
    EXPECT_NE(lines[0], "1") << "--pid host: the shell is not its namespace's first process";
    EXPECT_EQ(lines[1], ns_link("pid")) << "--pid host: the host's pid namespace";
}

TEST_F(OciPodmanIntegration, ExecIntoADetachedContainer) {
    std::string name = "hutch-it-" + std::to_string(::getpid());
    Result run = podman({"run", "-d", "--name", name, "--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit",
                         "nproc=32768:32768", "--rootfs", pod_ / "rootfs", "sleep", "60"});
    ASSERT_EXIT_CODE(run, 0);
    std::string cid = trim(run.out);
    ASSERT_EQ(cid.size(), 64u) << describe(run);
    cids_.push_back(cid);
    EXPECT_TRUE(path_exists(oci_root() + "/" + cid + "/state.json")) << "not created through hutch-oci";
    Result ex = podman({"exec", name, "sh", "-c", "echo in-exec; hostname; cat /proc/1/cmdline"});
    EXPECT_EXIT_CODE(ex, 0);
    Strings lines = ex.out_lines();
    ASSERT_EQ(lines.size(), 3u) << describe(ex);
    EXPECT_EQ(lines[0], "in-exec");
    EXPECT_EQ(lines[1], cid.substr(0, 12));
    EXPECT_EQ(lines[2], std::string("sleep") + '\0' + "60" + '\0');
    Result rm = podman({"rm", "-f", "-t", "0", name});
    EXPECT_EXIT_CODE(rm, 0);
    EXPECT_FALSE(path_exists(oci_root() + "/" + cid));
    Result ps = podman({"ps", "-a", "-q"});
    EXPECT_EQ(ps.out, "");
}

}  // namespace
}  // namespace hutch_it

namespace hutch_it {
namespace {

// Issue 11: SIGTERM during `hutch-oci create` (here while a createRuntime hook sleeps, the
// container's process cloned and its cgroup made) abandons the create: the hook and the
// process are killed, the cgroup and the state dir removed; one line, and hutch-oci dies of the
// signal as runc does. Before, it died at once and left the state dir (and the id taken).
TEST_F(OciHooksIntegration, SigtermDuringCreateLeavesNothing) {
    write_file(shared_ + "/slow-hook.sh", "#!/bin/sh\ntouch \"$1\"\nexec sleep 60\n", 0755);
    std::string started = shared_ + "/hook-started";
    config_["hooks"]["createRuntime"] =
        json::array({{{"path", shared_ + "/slow-hook.sh"}, {"args", {"slow-hook.sh", started}}}});
    std::string id = new_id("sigterm");
    set_command("true");
    Process p = Process::spawn({oci_binary(), "--root", root_, "create", "--bundle", bundle_, id});
    ASSERT_TRUE(wait_for_file(started)) << "the hook never ran\n" << p.err_so_far();
    auto sent = Clock::now();
    ::kill(p.pid(), SIGTERM);
    Result r = p.wait(20s);
    EXPECT_EXIT_CODE(r, 128 + SIGTERM);
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - sent).count(), 5.0) << "the create must end promptly";
    EXPECT_EQ(r.err_lines(), Strings{"hutch-oci: the start was interrupted by SIGTERM; nothing of the container was left"});
    EXPECT_FALSE(path_exists(root_ + "/" + id)) << "state dir left";
    EXPECT_EQ(root_entries(), Strings{});
    std::string cgroup = default_oci_cgroup(id);
    if (!cgroup.empty()) {
        EXPECT_FALSE(path_exists(cgroup)) << cgroup;
    }
    EXPECT_EQ(reap_zombies(), std::vector<pid_t>{}) << "the container's process or the hook outlived the create";
    // The id is free again.
    config_.erase("hooks");
    set_command("true");
    Result again = create(id);
    EXPECT_EXIT_CODE(again, 0);
}

}  // namespace
}  // namespace hutch_it
