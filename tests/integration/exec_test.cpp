// `hutch exec` (ExecIntegration) and the state that must hold under faults (FaultIntegration):
// the parallel same-name race, SIGKILL of a foreground `hutch run`, SIGKILL of hutch at random
// early moments of starts, each followed by `rm -f` and a look for leftovers.
//
// Every container runs with --network none. The fixtures' TearDown removes every container
// (rm -f) and reaps what is left among the test's own children (a subreaper: monitors and
// orphaned containers are reparented to it). Only pids the test started, or their descendants
// reparented to it, are ever signalled.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Every descendant of `pid` (children first, breadth-first).
std::vector<pid_t> descendants_of(pid_t pid) {
    std::vector<pid_t> out, queue = {pid};
    while (!queue.empty()) {
        pid_t p = queue.back();
        queue.pop_back();
        for (pid_t c : children_of(p)) {
            out.push_back(c);
            queue.push_back(c);
        }
    }
    return out;
}

// The test's children that are still alive (zombies are reaped on the way), polled until there
// are none or `timeout` passed.
std::vector<pid_t> live_children_after(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::vector<pid_t> live;
    for (;;) {
        live.clear();
        for (pid_t k : own_children()) {
            ::waitpid(k, nullptr, WNOHANG);
            if (process_alive(k)) live.push_back(k);
        }
        if (live.empty() || Clock::now() >= deadline) return live;
        std::this_thread::sleep_for(20ms);
    }
}

std::string describe_pids(const std::vector<pid_t>& pids) {
    std::ostringstream os;
    for (pid_t p : pids) {
        std::string cmd = read_file("/proc/" + std::to_string(p) + "/cmdline");
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        os << p << ": " << cmd << "\n";
    }
    return os.str();
}

// "Key:\tvalue" -> value for every line of a /proc/PID/status text.
std::map<std::string, std::string> status_map(const std::string& text) {
    std::map<std::string, std::string> out;
    for (const auto& line : split_lines(text)) {
        auto colon = line.find(':');
        if (colon != std::string::npos) out[line.substr(0, colon)] = trim(line.substr(colon + 1));
    }
    return out;
}

// The cgroup v2 line ("0::/...") of a /proc/PID/cgroup text.
std::string unified_line(const std::string& cgroup_text) {
    for (const auto& line : split_lines(cgroup_text))
        if (line.rfind("0::", 0) == 0) return line;
    return "";
}

class ContainerTest : public HutchTest {
protected:
    void TearDown() override {
        Strings ids = remove_all_containers(roots_);
        seen_ids_.insert(ids.begin(), ids.end());
        // Cgroups of this test's own containers that a killed hutch (or a product bug) left.
        for (const auto& id : seen_ids_)
            for (int i = 0; i < 100 && remove_leftover_cgroup(id); ++i) std::this_thread::sleep_for(5ms);
    }

    // Remembers the containers recorded now, so TearDown can remove cgroups they leave behind.
    void note_ids() {
        for (const auto& id : roots_.container_ids()) seen_ids_.insert(id);
    }
    std::set<std::string> seen_ids_;

    Result hutch(const Strings& args, std::chrono::milliseconds timeout = 20s, const SpawnOptions& so = {}) {
        return roots_.hutch(args, so, timeout);
    }

    Strings run_d_args(const Strings& opts, const Strings& cmd) {
        Strings args = {"run", "-d", "--network", "none"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(rootfs_);
        args.insert(args.end(), cmd.begin(), cmd.end());
        return args;
    }

    // `run -d --network none OPTS ROOTFS CMD...` as given.
    Result run_d(const Strings& opts, const Strings& cmd) { return hutch(run_d_args(opts, cmd), 15s); }

    // Starts a detached container; its id, or "" (with a failure recorded).
    std::string start_d(const Strings& opts, const Strings& cmd) {
        Result r = run_d(opts, cmd);
        std::string id = trim(r.out);
        if (r.code != 0 || !std::regex_match(id, std::regex("[0-9a-f]{64}"))) {
            ADD_FAILURE() << "run -d failed: " << describe(r);
            return "";
        }
        return id;
    }

    // `exec OPTS NAME CMD...`.
    Result exec(const Strings& opts, const std::string& name, const Strings& cmd, const SpawnOptions& so = {}) {
        Strings args = {"exec"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back(name);
        args.insert(args.end(), cmd.begin(), cmd.end());
        return hutch(args, 20s, so);
    }
    Result exec_sh(const std::string& name, const std::string& script, const Strings& opts = {}) {
        return exec(opts, name, {"sh", "-c", script});
    }

    json inspect(const std::string& ref) { return inspect_container(roots_, ref); }
    pid_t container_pid(const std::string& ref) { return hutch_it::container_pid(roots_, ref); }

    // `ps -a` line of the container (by its 12-char short id); "" if absent.
    std::string ps_line(const std::string& id) {
        Result r = hutch({"ps", "-a"});
        for (const auto& line : r.out_lines())
            if (line.rfind(id.substr(0, 12), 0) == 0) return line;
        return "";
    }

    // State left under the roots (TempRoots::leftovers), less the events log: events are kept
    // durably by design (issue 4), they are not a container's state.
    Strings state_left() {
        Strings out;
        for (const auto& e : roots_.leftovers())
            if (e != roots_.data_root() + "/events.jsonl") out.push_back(e);
        std::sort(out.begin(), out.end());
        return out;
    }

    // "status" of the container's state.json (what ps shows, before its lock check).
    std::string recorded_status(const std::string& id) {
        try {
            return json::parse(read_file(roots_.run_root() + "/containers/" + id + "/state.json")).value("status", "");
        } catch (const std::exception&) {
            return "";
        }
    }
    bool wait_for_status(const std::string& id, const std::string& status, std::chrono::milliseconds timeout = 5s) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            if (recorded_status(id) == status) return true;
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }

    // Host mounts referencing this test's roots.
    Strings mounts_under_roots() {
        Strings out;
        for (const auto& line : split_lines(host_mountinfo()))
            if (line.find(roots_.base() + "/") != std::string::npos) out.push_back(line);
        return out;
    }

    std::string shared_dir() {
        std::string dir = roots_.base() + "/shared";
        ::mkdir(dir.c_str(), 0755);
        return dir;
    }

    Process spawn_hutch(const Strings& args) {
        Strings argv = {hutch_binary()};
        Strings all = roots_.hutch_args(args);
        argv.insert(argv.end(), all.begin(), all.end());
        return Process::spawn(argv);
    }

    // Polls `exec NAME test -e PATH` until the container created PATH.
    bool wait_for_file_inside(const std::string& name, const std::string& path, std::chrono::milliseconds timeout = 5s) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            if (exec({}, name, {"test", "-e", path}).code == 0) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
};

class ExecIntegration : public ContainerTest {};
class FaultIntegration : public ContainerTest {};

const Strings kNamespaces = {"pid", "mnt", "net", "uts", "ipc", "cgroup"};

// --- namespaces, filesystem, processes -----------------------------------------------------

TEST_F(ExecIntegration, JoinsEveryNamespaceOfTheContainer) {
    ASSERT_FALSE(start_d({"--name", "ns"}, {"sleep", "30"}).empty());
    pid_t pid = container_pid("ns");
    ASSERT_GT(pid, 0);
    std::string script;
    for (const auto& n : kNamespaces) script += "readlink /proc/self/ns/" + n + "; ";
    script += "readlink /proc/self/ns/user";
    Result r = exec_sh("ns", script);
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), kNamespaces.size() + 1) << describe(r);
    for (std::size_t i = 0; i < kNamespaces.size(); ++i) {
        SCOPED_TRACE(kNamespaces[i]);
        std::string container = ns_link(kNamespaces[i], pid);
        ASSERT_FALSE(container.empty());
        // The container has a namespace of its own: equal links below are a real join.
        EXPECT_NE(container, ns_link(kNamespaces[i])) << "the container shares the host's namespace";
        EXPECT_EQ(lines[i], container) << "exec is not in the container's " << kNamespaces[i] << " namespace";
    }
    // No user namespace here: exec stays in the same (the host's) one as the container.
    EXPECT_EQ(lines.back(), ns_link("user", pid));
}

// The same seen from the host: the exec'd process (a descendant of `hutch exec`) while it runs.
TEST_F(ExecIntegration, ExecdProcessSeenFromTheHostIsInTheContainersNamespacesAndCgroup) {
    std::string id = start_d({"--name", "hostview"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    pid_t init = container_pid("hostview");
    ASSERT_GT(init, 0);
    Process ex = spawn_hutch({"exec", "hostview", "sh", "-c", "echo go; exec sleep 10"});
    ASSERT_TRUE(ex.wait_for_output("go\n", 10s)) << ex.err_so_far();
    pid_t target = 0;
    for (int i = 0; i < 200 && target == 0; ++i) {
        for (pid_t p : descendants_of(ex.pid())) {
            std::string cmd = read_file("/proc/" + std::to_string(p) + "/cmdline");
            if (cmd.rfind(std::string("sleep\0", 6), 0) == 0) target = p;
        }
        if (target == 0) std::this_thread::sleep_for(10ms);
    }
    ASSERT_GT(target, 0) << "no `sleep` under hutch exec " << ex.pid();
    for (const auto& n : kNamespaces) EXPECT_EQ(ns_link(n, target), ns_link(n, init)) << n;
    std::string init_cgroup = read_file("/proc/" + std::to_string(init) + "/cgroup");
    std::string exec_cgroup = read_file("/proc/" + std::to_string(target) + "/cgroup");
    EXPECT_EQ(unified_line(exec_cgroup), unified_line(init_cgroup));
    EXPECT_NE(unified_line(init_cgroup).find("/hutch/" + id), std::string::npos) << init_cgroup;
    std::string dir = container_cgroup_dir(id);
    if (!dir.empty()) {
        std::string procs = read_file(dir + "/cgroup.procs");
        Strings lines = split_lines(procs);
        EXPECT_NE(std::find(lines.begin(), lines.end(), std::to_string(target)), lines.end())
            << "exec'd pid " << target << " not in " << dir << "/cgroup.procs:\n" << procs;
    }
    ::kill(target, SIGKILL);  // a descendant of the hutch exec the test started
    Result r = ex.wait(10s);
    EXPECT_EXIT_CODE(r, 137);
}

// exec -d returns once the process runs and leaves it running in the container; a command that
// cannot start is still reported (127), and -d with -t or -i is refused.
TEST_F(ExecIntegration, DetachedExecRunsInTheBackground) {
    ASSERT_FALSE(start_d({"--name", "bg"}, {"sleep", "30"}).empty());
    Result r = exec({"-d"}, "bg", {"sh", "-c", "sleep 0.5; echo done > /tmp/bg-done"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(exec({}, "bg", {"test", "-e", "/tmp/bg-done"}).code, 0);  // still running
    EXPECT_TRUE(wait_for_file_inside("bg", "/tmp/bg-done"));
    Result missing = exec({"-d"}, "bg", {"no-such-command"});
    EXPECT_EXIT_CODE(missing, 127);
    EXPECT_EQ(missing.err_lines().size(), 1u) << describe(missing);
    EXPECT_EXIT_CODE(exec({"-d", "-t"}, "bg", {"true"}), 125);
}

TEST_F(ExecIntegration, SeesTheContainersFilesHostnameAndProcesses) {
    std::string id = start_d({"--name", "view", "--hostname", "boxname"},
                             {"sh", "-c", "echo made-inside > /tmp/created; exec sleep 30"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_for_file_inside("view", "/tmp/created"));
    Result cat = exec({}, "view", {"cat", "/tmp/created"});
    EXPECT_EXIT_CODE(cat, 0);
    EXPECT_EQ(cat.out, "made-inside\n");
    EXPECT_FALSE(path_exists("/tmp/created") && read_file("/tmp/created") == "made-inside\n");

    Result host = exec({}, "view", {"hostname"});
    EXPECT_EXIT_CODE(host, 0);
    EXPECT_EQ(host.out, "boxname\n");

    // pid 1 is the container's command; the exec'd shell is another pid.
    Result cmdline = exec({}, "view", {"cat", "/proc/1/cmdline"});
    EXPECT_EXIT_CODE(cmdline, 0);
    EXPECT_EQ(cmdline.out, std::string("sleep\0" "30\0", 9));
    Result self = exec_sh("view", "echo $$");
    EXPECT_EXIT_CODE(self, 0);
    EXPECT_NE(trim(self.out), "1");
    EXPECT_FALSE(trim(self.out).empty());

    Result ps = exec({}, "view", {"ps"});
    EXPECT_EXIT_CODE(ps, 0);
    bool pid1_is_sleep = false;
    for (const auto& line : ps.out_lines()) {
        std::istringstream in(line);
        std::string pid;
        in >> pid;
        if (pid == "1") pid1_is_sleep = line.find("sleep 30") != std::string::npos;
    }
    EXPECT_TRUE(pid1_is_sleep) << ps.out;
    // Only the container's processes: a handful, not the host's.
    EXPECT_LT(ps.out_lines().size(), 8u) << ps.out;
}

// --- privileges ----------------------------------------------------------------------------

struct PrivCase {
    Strings opts;
    std::string cap_eff;  // expected for the container and exec
    std::string no_new_privs;
};

TEST_F(ExecIntegration, HasTheContainersCapabilitiesSeccompAndNoNewPrivs) {
    const std::vector<PrivCase> cases = {
        {{}, "00000000a80425fb", "0"},
        {{"--cap-drop", "ALL", "--cap-add", "CHOWN"}, "0000000000000001", "0"},
        {{"--security-opt", "no-new-privileges"}, "00000000a80425fb", "1"},
        {{"--cap-drop", "ALL", "--security-opt", "no-new-privileges"}, "0000000000000000", "1"},
    };
    int n = 0;
    for (const auto& c : cases) {
        std::string name = "priv" + std::to_string(n++);
        std::string label;
        for (const auto& o : c.opts) label += o + " ";
        SCOPED_TRACE("run " + label);
        Strings opts = c.opts;
        opts.insert(opts.end(), {"--name", name});
        ASSERT_FALSE(start_d(opts, {"sleep", "30"}).empty());
        pid_t pid = container_pid(name);
        ASSERT_GT(pid, 0);
        auto container = status_map(read_file("/proc/" + std::to_string(pid) + "/status"));
        ASSERT_EQ(container["CapEff"], c.cap_eff) << "the container itself is not as expected";
        ASSERT_EQ(container["NoNewPrivs"], c.no_new_privs);
        ASSERT_EQ(container["Seccomp"], "2");

        Result r = exec({}, name, {"cat", "/proc/self/status"});
        ASSERT_EXIT_CODE(r, 0);
        auto ex = status_map(r.out);
        for (const char* field : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
                                  "Seccomp_filters"})
            EXPECT_EQ(ex[field], container[field]) << field;
        EXPECT_EQ(ex["CapEff"], c.cap_eff);
        EXPECT_EQ(ex["CapBnd"], c.cap_eff);
        EXPECT_EQ(status_field(r.out, "Uid"), "0\t0\t0\t0");
    }
}

TEST_F(ExecIntegration, SeccompUnconfinedContainerExecIsUnconfinedToo) {
    ASSERT_FALSE(start_d({"--name", "open", "--security-opt", "seccomp=unconfined"}, {"sleep", "30"}).empty());
    pid_t pid = container_pid("open");
    ASSERT_GT(pid, 0);
    auto container = status_map(read_file("/proc/" + std::to_string(pid) + "/status"));
    Result r = exec({}, "open", {"cat", "/proc/self/status"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(status_map(r.out)["Seccomp"], container["Seccomp"]);
}

TEST_F(ExecIntegration, UserNobodyHasNoCapabilities) {
    ASSERT_FALSE(start_d({"--name", "nob"}, {"sleep", "30"}).empty());
    pid_t pid = container_pid("nob");
    ASSERT_GT(pid, 0);
    auto container = status_map(read_file("/proc/" + std::to_string(pid) + "/status"));
    Result r = exec({"-u", "nobody"}, "nob", {"sh", "-c", "id -u; id -g; cat /proc/self/status"});
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_GE(lines.size(), 2u) << describe(r);
    EXPECT_EQ(lines[0], "65534");
    EXPECT_EQ(lines[1], "65534");
    auto ex = status_map(r.out);
    EXPECT_EQ(ex["Uid"], "65534\t65534\t65534\t65534");
    EXPECT_EQ(ex["CapEff"], "0000000000000000");
    EXPECT_EQ(ex["CapPrm"], "0000000000000000");
    EXPECT_EQ(ex["CapAmb"], "0000000000000000");
    EXPECT_EQ(ex["CapBnd"], container["CapBnd"]);
    EXPECT_EQ(ex["Seccomp"], "2");
    // Numeric form too.
    Result num = exec({"-u", "65534"}, "nob", {"id", "-u"});
    EXPECT_EXIT_CODE(num, 0);
    EXPECT_EQ(num.out, "65534\n");
}

TEST_F(ExecIntegration, IsInTheContainersCgroupAsSeenInside) {
    ASSERT_FALSE(start_d({"--name", "cg"}, {"sleep", "30"}).empty());
    Result mine = exec({}, "cg", {"cat", "/proc/self/cgroup"});
    Result first = exec({}, "cg", {"cat", "/proc/1/cgroup"});
    ASSERT_EXIT_CODE(mine, 0);
    ASSERT_EXIT_CODE(first, 0);
    EXPECT_EQ(mine.out, first.out);
    // Inside its cgroup namespace the container's cgroup is the root: an exec'd process outside
    // it would show a path like "/../..".
    EXPECT_EQ(unified_line(mine.out), "0::/") << mine.out;
}

// --- exit status, stdio, options -----------------------------------------------------------

TEST_F(ExecIntegration, ExitStatusIsTheCommands) {
    ASSERT_FALSE(start_d({"--name", "codes"}, {"sleep", "30"}).empty());
    EXPECT_EXIT_CODE(exec_sh("codes", "exit 5"), 5);
    EXPECT_EXIT_CODE(exec({}, "codes", {"false"}), 1);
    EXPECT_EXIT_CODE(exec({}, "codes", {"true"}), 0);
    EXPECT_EXIT_CODE(exec_sh("codes", "kill -9 $$"), 137);
    // The container is untouched by any of it.
    EXPECT_NE(ps_line(inspect("codes")["Id"].get<std::string>()).find("Up "), std::string::npos);
}

TEST_F(ExecIntegration, CommandNotFoundIs127WithOneLine) {
    ASSERT_FALSE(start_d({"--name", "nf"}, {"sleep", "30"}).empty());
    Result r = exec({}, "nf", {"no-such-command-xyz", "arg"});
    EXPECT_EXIT_CODE(r, 127);
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("no-such-command-xyz"), std::string::npos) << describe(r);
    // Not found by absolute path either.
    Result abs = exec({}, "nf", {"/bin/no-such-command-xyz"});
    EXPECT_EXIT_CODE(abs, 127);
    EXPECT_EQ(abs.err_lines().size(), 1u) << describe(abs);
}

TEST_F(ExecIntegration, WorkdirSetsTheCurrentDirectory) {
    ASSERT_FALSE(start_d({"--name", "wd", "-w", "/etc"}, {"sleep", "30"}).empty());
    Result def = exec({}, "wd", {"pwd"});
    EXPECT_EXIT_CODE(def, 0);
    EXPECT_EQ(def.out, "/etc\n") << "exec does not start in the container's working directory";
    Result tmp = exec({"-w", "/tmp"}, "wd", {"pwd"});
    EXPECT_EXIT_CODE(tmp, 0);
    EXPECT_EQ(tmp.out, "/tmp\n");
    Result proc = exec({"--workdir", "/proc/self"}, "wd", {"sh", "-c", "readlink /proc/$$/cwd"});
    EXPECT_EXIT_CODE(proc, 0);
    EXPECT_FALSE(proc.out.empty());
}

TEST_F(ExecIntegration, EnvAddsAndOverrides) {
    ASSERT_FALSE(start_d({"--name", "env", "-e", "FOO=orig", "-e", "KEEP=kept"}, {"sleep", "30"}).empty());
    Result r = exec({"-e", "FOO=new", "-e", "BAR=b r"}, "env", {"env"});
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    std::multiset<std::string> env(lines.begin(), lines.end());
    EXPECT_EQ(env.count("FOO=new"), 1u) << r.out;
    EXPECT_EQ(env.count("FOO=orig"), 0u) << r.out;
    EXPECT_EQ(env.count("BAR=b r"), 1u) << r.out;
    EXPECT_EQ(env.count("KEEP=kept"), 1u) << r.out;
    size_t foo = 0, path = 0;
    for (const auto& l : lines) {
        foo += l.rfind("FOO=", 0) == 0;
        path += l.rfind("PATH=", 0) == 0;
    }
    EXPECT_EQ(foo, 1u) << r.out;
    EXPECT_EQ(path, 1u) << r.out;
    // Without -e: the container's environment.
    Result plain = exec({}, "env", {"sh", "-c", "echo $FOO-$KEEP-${BAR:-unset}"});
    EXPECT_EQ(plain.out, "orig-kept-unset\n");
}

// `exec -e NAME` takes NAME from hutch's environment, as `run -e NAME` does (one parser,
// runtime/env.hpp); NAME unset there unsets it in the process, as docker exec does.
TEST_F(ExecIntegration, EnvNameAloneTakesHutchsValueOrUnsets) {
    ASSERT_FALSE(start_d({"--name", "envname", "-e", "HUTCH_IT_GONE=container"}, {"sleep", "30"}).empty());
    ASSERT_EQ(::getenv("HUTCH_IT_GONE"), nullptr);
    ASSERT_EQ(::getenv("HUTCH_IT_NEVER"), nullptr);
    SpawnOptions with_var;
    with_var.extra_env = {"HUTCH_IT_FROM_HUTCH=from hutch's environment"};
    Result r = exec({"-e", "HUTCH_IT_FROM_HUTCH", "-e", "HUTCH_IT_GONE", "-e", "HUTCH_IT_NEVER"}, "envname", {"env"},
                    with_var);
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    EXPECT_NE(std::find(lines.begin(), lines.end(), "HUTCH_IT_FROM_HUTCH=from hutch's environment"), lines.end())
        << r.out;
    for (const auto& l : lines) {
        EXPECT_NE(l.rfind("HUTCH_IT_GONE", 0), 0u) << r.out;
        EXPECT_NE(l.rfind("HUTCH_IT_NEVER", 0), 0u) << r.out;
    }
    // Without -e the container's own stays.
    EXPECT_EQ(exec({}, "envname", {"sh", "-c", "echo $HUTCH_IT_GONE"}).out, "container\n");
}

// `exec --env-file`, as docker exec has it since 18.06: the file's entries, then -e's.
TEST_F(ExecIntegration, EnvFileSetsVariables) {
    ASSERT_FALSE(start_d({"--name", "envfile"}, {"sleep", "30"}).empty());
    std::string file = roots_.base() + "/exec.env";
    write_file(file, "# comment\nFROM_FILE=1\nBOTH=file\n");
    Result r = exec({"--env-file", file, "-e", "BOTH=flag"}, "envfile", {"sh", "-c", "echo $FROM_FILE-$BOTH"});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "1-flag\n") << describe(r);
    write_file(file, std::string("BAD=a\0b\n", 8));
    Result bad = exec({"--env-file", file}, "envfile", {"true"});
    EXPECT_EXIT_CODE(bad, 125);
    EXPECT_EQ(bad.err_lines().size(), 1u) << describe(bad);
    EXPECT_NE(bad.err.find("BAD=a?b"), std::string::npos) << describe(bad);
}

TEST_F(ExecIntegration, InteractivePassesStdin) {
    ASSERT_FALSE(start_d({"--name", "in"}, {"sleep", "30"}).empty());
    SpawnOptions so;
    so.stdin_data = "data\nmore data\n";
    Result r = exec({"-i"}, "in", {"sh", "-c", "cat"}, so);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "data\nmore data\n");
    // Larger than a pipe buffer, byte for byte.
    std::string big;
    for (int i = 0; i < 20000; ++i) big += std::to_string(i) + "\n";
    SpawnOptions large;
    large.stdin_data = big;
    Result w = exec({"-i"}, "in", {"wc", "-c"}, large);
    EXPECT_EXIT_CODE(w, 0);
    EXPECT_EQ(trim(w.out), std::to_string(big.size()));
    // Without -i the command reads nothing.
    Result no = exec({}, "in", {"sh", "-c", "cat; echo end"}, so);
    EXPECT_EXIT_CODE(no, 0);
    EXPECT_EQ(no.out, "end\n");
}

bool have_script() { return path_exists("/usr/bin/script"); }

TEST_F(ExecIntegration, TtyGivesAPseudoTerminal) {
    if (!have_script()) GTEST_SKIP() << "util-linux `script` is not installed";
    ASSERT_FALSE(start_d({"--name", "tty"}, {"sleep", "30"}).empty());
    std::string cmd = hutch_binary() + " --root " + roots_.run_root() + " --data-root " + roots_.data_root() +
                      " exec -t tty sh -c 'tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; exit 3'";
    Result r = run_command({"/usr/bin/script", "-qec", cmd, "/dev/null"}, {}, 20s);
    EXPECT_EXIT_CODE(r, 3);
    std::string out;
    for (char c : r.out)
        if (c != '\r') out += c;
    EXPECT_TRUE(std::regex_match(out, std::regex("/dev/pts/[0-9]+\nstdin-tty\nstdout-tty\n"))) << describe(r);
    // Without -t: no terminal.
    Result plain = exec({}, "tty", {"tty"});
    EXPECT_EQ(plain.out, "not a tty\n");
}

TEST_F(ExecIntegration, TtyInteractiveRelaysInput) {
    if (!have_script()) GTEST_SKIP() << "util-linux `script` is not installed";
    ASSERT_FALSE(start_d({"--name", "itty"}, {"sleep", "30"}).empty());
    std::string cmd = hutch_binary() + " --root " + roots_.run_root() + " --data-root " + roots_.data_root() +
                      " exec -i -t itty sh -c 'read line; echo got:$line'";
    SpawnOptions so;
    so.stdin_data = "hello\n";
    Result r = run_command({"/usr/bin/script", "-qec", cmd, "/dev/null"}, so, 20s);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("got:hello"), std::string::npos) << describe(r);
}

// --- bad input -----------------------------------------------------------------------------

void expect_usage_error(const Result& r, const std::string& mention) {
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find(mention), std::string::npos) << describe(r);
    EXPECT_EQ(r.out, "") << describe(r);
}

TEST_F(ExecIntegration, BadInputIs125OneLine) {
    std::string id = start_d({"--name", "live"}, {"sleep", "30"});
    ASSERT_FALSE(id.empty());
    ASSERT_FALSE(start_d({"--name", "done"}, {"true"}).empty());
    ASSERT_EQ(hutch({"wait", "done"}).out, "0\n");

    {
        SCOPED_TRACE("stopped container");
        expect_usage_error(exec({}, "done", {"true"}), "done");
    }
    {
        SCOPED_TRACE("unknown container");
        expect_usage_error(exec({}, "no-such-ctr", {"true"}), "no-such-ctr");
    }
    {
        SCOPED_TRACE("no command");
        Result r = hutch({"exec", "live"});
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_EQ(r.out, "");
    }
    {
        SCOPED_TRACE("relative -w");
        expect_usage_error(exec({"-w", "tmp"}, "live", {"pwd"}), "tmp");
    }
    {
        SCOPED_TRACE("unknown user");
        expect_usage_error(exec({"-u", "no-such-user"}, "live", {"id"}), "no-such-user");
    }
    {
        SCOPED_TRACE("bad -e");
        expect_usage_error(exec({"-e", "=x"}, "live", {"true"}), "=x");
    }
    // None of it disturbed the running container or left an exec'd process in it.
    Result ps = exec({}, "live", {"ps", "-o", "pid,args"});
    EXPECT_EXIT_CODE(ps, 0);
    EXPECT_EQ(ps.out_lines().size(), 3u) << "header, sleep, ps expected:\n" << ps.out;
    EXPECT_NE(ps_line(id).find("Up "), std::string::npos);
}

// --- joining at run time -------------------------------------------------------------------

TEST_F(ExecIntegration, RunJoiningAContainersPidIpcAndNetwork) {
    ASSERT_FALSE(start_d({"--name", "target"}, {"sleep", "30"}).empty());
    pid_t pid = container_pid("target");
    ASSERT_GT(pid, 0);
    Result r = sh({"--pid", "container:target", "--ipc", "container:target", "--network", "container:target"},
                  "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net; "
                  "cat /proc/1/cmdline | tr '\\0' ' '; echo");
    ASSERT_EXIT_CODE(r, 0);
    Strings lines = r.out_lines();
    ASSERT_EQ(lines.size(), 4u) << describe(r);
    EXPECT_EQ(lines[0], ns_link("pid", pid));
    EXPECT_EQ(lines[1], ns_link("ipc", pid));
    EXPECT_EQ(lines[2], ns_link("net", pid));
    EXPECT_EQ(lines[3], "sleep 30 ") << "pid 1 is not the target's command";
    EXPECT_TRUE(process_alive(pid)) << "the target did not survive the joining container";
}

// --- faults --------------------------------------------------------------------------------

TEST_F(FaultIntegration, TwentySameNameStartsExactlyOneWins) {
    constexpr int kStarts = 20;
    std::vector<Process> starts;
    for (int i = 0; i < kStarts; ++i) {
        Strings argv = {hutch_binary()};
        Strings args = roots_.hutch_args(run_d_args({"--name", "same"}, {"sleep", "30"}));
        argv.insert(argv.end(), args.begin(), args.end());
        starts.push_back(Process::spawn(argv));
    }
    std::vector<Result> results;
    for (auto& p : starts) results.push_back(p.wait(20s));
    int winners = 0;
    std::string winner;
    for (const auto& r : results) {
        if (r.code == 0) {
            ++winners;
            winner = trim(r.out);
            continue;
        }
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.out, "") << describe(r);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find("same"), std::string::npos) << describe(r);
        EXPECT_NE(r.err.find("in use"), std::string::npos) << describe(r);
    }
    ASSERT_EQ(winners, 1);
    ASSERT_TRUE(std::regex_match(winner, std::regex("[0-9a-f]{64}"))) << winner;
    note_ids();

    EXPECT_EQ(roots_.container_ids(), Strings{winner});
    Strings expected = {roots_.run_root() + "/containers/" + winner, roots_.run_root() + "/names/same",
                        roots_.data_root() + "/containers/" + winner};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(state_left(), expected) << "a losing start left state behind";
    EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, winner.substr(0, 12) + "\n");
    EXPECT_EQ(inspect("same")["Id"], winner);

    // Processes: the winner's monitor (reparented to the test) with the container under it.
    pid_t pid = container_pid("same");
    ASSERT_GT(pid, 0);
    auto live = live_children_after(0ms);
    EXPECT_EQ(live.size(), 1u) << describe_pids(live);
    std::vector<pid_t> all;
    for (pid_t k : live) {
        all.push_back(k);
        for (pid_t d : descendants_of(k)) all.push_back(d);
    }
    EXPECT_EQ(all.size(), 2u) << "processes besides the winner's monitor and container:\n" << describe_pids(all);
    EXPECT_NE(std::find(all.begin(), all.end(), pid), all.end());

    ASSERT_EXIT_CODE(hutch({"rm", "-f", "same"}), 0);
    EXPECT_TRUE(wait_until_gone(pid, 3s));
    EXPECT_EQ(state_left(), Strings{});
    EXPECT_EQ(live_children_after(3s), std::vector<pid_t>{});
    EXPECT_EQ(mounts_under_roots(), Strings{});
    std::string cg = container_cgroup_dir(winner);
    if (!cg.empty()) {
        EXPECT_FALSE(path_exists(cg)) << cg;
    }
}

// SIGKILL of a foreground `hutch run`: the container dies with it (parent-death signal), `ps -a`
// still answers and `rm -f` removes every trace.
TEST_F(FaultIntegration, SigkillOfForegroundRunThenRmForceLeavesNothing) {
    for (bool auto_remove : {false, true}) {
        SCOPED_TRACE(auto_remove ? "--rm" : "without --rm");
        std::string name = auto_remove ? "fg-rm" : "fg";
        Strings argv = {hutch_binary()};
        Strings args = roots_.hutch_args({"run", "--network", "none", "--name", name});
        if (auto_remove) args.push_back("--rm");
        args.insert(args.end(), {rootfs_, "sh", "-c", "echo started; exec sleep 30"});
        argv.insert(argv.end(), args.begin(), args.end());
        Process fg = Process::spawn(argv);
        ASSERT_TRUE(fg.wait_for_output("started\n", 10s)) << fg.err_so_far();
        pid_t container = wait_for_child_of(fg.pid());
        ASSERT_GT(container, 0);
        Strings ids = roots_.container_ids();
        ASSERT_EQ(ids.size(), 1u);
        std::string id = ids[0];
        note_ids();
        std::string cg = container_cgroup_dir(id);
        if (!cg.empty()) {
            EXPECT_TRUE(path_exists(cg)) << "no cgroup to look for afterwards: " << cg;
        }
        // Mid-run: once hutch recorded the container as running (the window before that is
        // SigkillBeforeTheRunningStateIsRecorded's).
        ASSERT_TRUE(wait_for_status(id, "running")) << ps_line(id);

        ASSERT_EQ(::kill(fg.pid(), SIGKILL), 0);  // the hutch the test started
        Result r = fg.wait(10s);
        EXPECT_EQ(r.code, 128 + SIGKILL);
        EXPECT_TRUE(wait_until_gone(container, 3s)) << "container " << container << " outlived hutch run";

        Result ps = hutch({"ps", "-a"}, 10s);
        EXPECT_EXIT_CODE(ps, 0);
        std::string line = ps_line(id);
        EXPECT_FALSE(line.empty()) << ps.out;
        EXPECT_EQ(line.find("Up "), std::string::npos) << "ps -a: [" << line << "]";
        EXPECT_TRUE(line.find("unknown") != std::string::npos || line.find("xited") != std::string::npos)
            << "ps -a: [" << line << "]";

        Result rm = hutch({"rm", "-f", name});
        EXPECT_EXIT_CODE(rm, 0);
        EXPECT_EQ(rm.out, name + "\n");
        EXPECT_EQ(state_left(), Strings{});
        EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
        auto live = live_children_after(3s);
        EXPECT_EQ(live, std::vector<pid_t>{}) << describe_pids(live);
        EXPECT_EQ(mounts_under_roots(), Strings{});
        if (!cg.empty()) {
            EXPECT_FALSE(path_exists(cg)) << "cgroup left behind: " << cg;
        }
        // The name is free again.
        Result again = run({"--network", "none", "--name", name}, {"true"});
        EXPECT_EXIT_CODE(again, 0);
    }
}

// hutch creates the container's cgroup (<cgroup2>/hutch/<id>) before cloning and must record it
// at once: SIGKILLed before the command runs (caught here by stopping hutch as soon as its
// container process exists), `rm -f` still finds and removes the cgroup.
TEST_F(FaultIntegration, SigkillBeforeTheRunningStateIsRecordedThenRmForceLeavesNothing) {
    bool caught = false;
    for (int attempt = 0; attempt < 20 && !caught; ++attempt) {
        Strings argv = {hutch_binary()};
        Strings args = roots_.hutch_args({"run", "--network", "none", "--name", "early", rootfs_, "sleep", "30"});
        argv.insert(argv.end(), args.begin(), args.end());
        Process p = Process::spawn(argv);
        pid_t container = 0;
        for (auto deadline = Clock::now() + 10s; container == 0 && Clock::now() < deadline;) {
            auto kids = children_of(p.pid());
            if (!kids.empty()) container = kids.front();
        }
        ASSERT_GT(container, 0) << "hutch run never cloned its container";
        ::kill(p.pid(), SIGSTOP);  // the hutch the test started: it must not move on
        Strings ids = roots_.container_ids();
        ASSERT_EQ(ids.size(), 1u);
        std::string id = ids[0];
        note_ids();
        caught = recorded_status(id) == "created";
        ::kill(p.pid(), SIGKILL);
        p.wait(10s);
        EXPECT_TRUE(wait_until_gone(container, 3s)) << "container " << container << " outlived hutch run";
        if (!caught) {
            ASSERT_EXIT_CODE(hutch({"rm", "-f", "early"}), 0);
            continue;
        }
        std::string cg = container_cgroup_dir(id);
        if (!cg.empty()) {
            EXPECT_TRUE(path_exists(cg)) << "no cgroup to look for afterwards: " << cg;
        }
        Result ps = hutch({"ps", "-a"}, 10s);
        EXPECT_EXIT_CODE(ps, 0);
        std::string line = ps_line(id);
        EXPECT_FALSE(line.empty()) << ps.out;
        EXPECT_EQ(line.find("Up "), std::string::npos) << "ps -a: [" << line << "]";

        Result rm = hutch({"rm", "-f", "early"});
        EXPECT_EXIT_CODE(rm, 0);
        EXPECT_EQ(state_left(), Strings{});
        EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
        auto live = live_children_after(3s);
        EXPECT_EQ(live, std::vector<pid_t>{}) << describe_pids(live);
        EXPECT_EQ(mounts_under_roots(), Strings{});
        if (!cg.empty()) {
            EXPECT_FALSE(path_exists(cg)) << "cgroup left behind by rm -f: " << cg;
        }
    }
    EXPECT_TRUE(caught) << "never stopped hutch before it recorded the container as running";
}

// hutch SIGKILLed right after clone3: the container's first process must not wait for "go"
// forever (it must not hold hutch's end of the sync socket, so a dead hutch reads as EOF), and
// `rm -f` then removes everything.
TEST_F(FaultIntegration, SigkillRightAfterCloneLeavesNoProcessAndRmForceWorks) {
    constexpr int kAttempts = 30;
    int survivors = 0;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        Strings argv = {hutch_binary()};
        Strings args = roots_.hutch_args({"run", "--network", "none", rootfs_, "sleep", "30"});
        argv.insert(argv.end(), args.begin(), args.end());
        Process p = Process::spawn(argv);
        pid_t container = 0;
        for (auto deadline = Clock::now() + 10s; container == 0 && Clock::now() < deadline;) {
            auto kids = children_of(p.pid());
            if (!kids.empty()) container = kids.front();
        }
        ASSERT_GT(container, 0) << "hutch run never cloned its container";
        ::kill(p.pid(), SIGKILL);  // the hutch the test started, at once
        p.wait(10s);
        note_ids();
        if (!wait_until_gone(container, 2s)) {
            ++survivors;
            ADD_FAILURE() << "attempt " << attempt << ": container process " << container
                          << " outlived the SIGKILLed hutch run:\n"
                          << describe_pids({container}) << "ps -a:\n" << hutch({"ps", "-a"}).out;
        }
        for (const auto& id : split_lines(hutch({"ps", "-a", "-q"}).out)) {
            Result rm = hutch({"rm", "-f", id});
            EXPECT_EXIT_CODE(rm, 0);
        }
        if (survivors > 0) break;
    }
    EXPECT_EQ(state_left(), Strings{});
    auto live = live_children_after(1s);
    EXPECT_EQ(live, std::vector<pid_t>{}) << describe_pids(live);
    EXPECT_EQ(mounts_under_roots(), Strings{});
}

// SIGKILL of hutch at a random early moment of a start, again and again (detached and
// foreground starts), then `rm -f` of whatever `ps -a` lists: no mount, process, state or
// cgroup stays.
// Random SIGKILLs during starts (the seed is printed): whatever moment, `rm -f` of whatever
// ps -a lists leaves no state, process, mount or cgroup.
TEST_F(FaultIntegration, SigkillDuringStartsThenRmForceLeavesNothing) {
    std::random_device rd;
    unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_us(0, 45000);
    constexpr int kRounds = 12;
    std::set<std::string> seen_ids;
    for (int i = 0; i < kRounds; ++i) {
        bool detached = i % 2 == 0;
        Strings argv = {hutch_binary()};
        Strings args = detached ? roots_.hutch_args(run_d_args({}, {"sleep", "30"}))
                                : roots_.hutch_args({"run", "--network", "none", rootfs_, "sleep", "30"});
        argv.insert(argv.end(), args.begin(), args.end());
        Process p = Process::spawn(argv);
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        ::kill(p.pid(), SIGKILL);  // the hutch the test started
        p.wait(10s);
        for (const auto& id : roots_.container_ids()) seen_ids.insert(id);
        note_ids();
    }
    std::this_thread::sleep_for(100ms);
    for (const auto& id : roots_.container_ids()) seen_ids.insert(id);

    Result ps = hutch({"ps", "-a", "-q"}, 10s);
    ASSERT_EXIT_CODE(ps, 0);
    for (const auto& id : ps.out_lines()) {
        Result rm = hutch({"rm", "-f", id}, 20s);
        EXPECT_EXIT_CODE(rm, 0);
    }
    EXPECT_EQ(hutch({"ps", "-a", "-q"}).out, "");
    EXPECT_EQ(state_left(), Strings{}) << "state not listed by ps -a, or not removed by rm -f";
    auto live = live_children_after(3s);
    EXPECT_EQ(live, std::vector<pid_t>{}) << describe_pids(live);
    EXPECT_EQ(mounts_under_roots(), Strings{});
    for (const auto& id : seen_ids) {
        std::string cg = container_cgroup_dir(id);
        if (!cg.empty()) {
            EXPECT_FALSE(path_exists(cg)) << "cgroup left behind: " << cg;
        }
    }
}

}  // namespace
}  // namespace hutch_it
