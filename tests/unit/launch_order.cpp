#include "launch_order.hpp"

#include <sys/socket.h>

#include <cstring>
#include <set>

#include "runtime/sync.hpp"

namespace hutch::testing {

HostFacts fake_host() {
    HostFacts h;
    h.caps = caps::HostCaps{40, ~caps::CapSet{0}};
    h.hostname = "hosty";
    h.read_in_rootfs = [](const std::string& path) -> std::string {
        if (path == "/etc/passwd") return "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        if (path == "/etc/group") return "root:x:0:\nalice:x:1000:\n";
        return "";
    };
    h.read_host_file = [](const std::string&) -> std::string { return ""; };
    return h;
}

Spec run_spec(Strings flags) {
    RunOptions o;
    o.rootfs = "/srv/rootfs";
    o.command = {"/bin/sh", "-c", "true"};
    o.network = "none";
    for (std::size_t i = 0; i < flags.size(); ++i) {
        const std::string& f = flags[i];
        if (f == "--read-only") o.read_only = true;
        else if (f == "-v") o.volumes.push_back(flags[++i]);
        else if (f == "--tmpfs") o.tmpfs.push_back(flags[++i]);
        else if (f == "-u") o.user = flags[++i];
        else if (f == "--security-opt") o.security_opts.push_back(flags[++i]);
        else ADD_FAILURE() << "the test knows no flag " << f;
    }
    return build_run_spec(o, kId, fake_host());
}

std::string go_packet() {
    std::string packet(8, '\0');
    std::uint32_t kind = static_cast<std::uint32_t>(sync::Kind::kGo);
    std::memcpy(packet.data(), &kind, sizeof kind);
    return packet;
}

void LaunchOrder::prepare(const Spec& spec) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
    sync_ = Fd(pair[0]);
    peer_ = Fd(pair[1]);
    kernel_.name_fd(sync_.get(), "sync socket");
    kernel_.name_fd(kTargetPidfd, "pidfd of the container");
    if (plan_.merged_dir.empty()) {
        plan_.merged_dir = kMerged;
        plan_.upper_dir = "/var/lib/hutch/containers/" + kId + "/upper";
        plan_.work_dir = "/var/lib/hutch/containers/" + kId + "/work";
    }
    if (spec.linux.seccomp) program_ = seccomp::compile(*spec.linux.seccomp);
}

void LaunchOrder::run_exec(const Spec& spec, bool outlives_parent) {
    Outcome o = attempt_exec(spec, outlives_parent);
    if (!o.exec_reached) ADD_FAILURE() << "no exec: " << o.error << "\n" << all_steps();
}

Outcome LaunchOrder::attempt_exec(const Spec& spec, bool outlives_parent) {
    prepare(spec);
    ExecInitContext context{spec, sync_.get(), kTargetPidfd, {-1, -1, -1}, false,
                            program_ ? &*program_ : nullptr, outlives_parent};
    return attempt([&] { exec_init_steps(context); });
}

int LaunchOrder::first(const std::string& prefix) const {
    int i = kernel_.first(prefix);
    EXPECT_GE(i, 0) << "no step " << prefix << "\n" << all_steps();
    return i;
}

int LaunchOrder::last(const std::string& prefix) const {
    int i = kernel_.last(prefix);
    EXPECT_GE(i, 0) << "no step " << prefix << "\n" << all_steps();
    return i;
}

int LaunchOrder::first_call(const std::string& prefix) const {
    const auto& calls = kernel_.calls();
    for (std::size_t i = 0; i < calls.size(); ++i)
        if (calls[i].line.rfind(prefix, 0) == 0) return static_cast<int>(i);
    ADD_FAILURE() << "no call " << prefix << "\n" << all_calls();
    return -1;
}

int LaunchOrder::last_call(const std::string& prefix) const {
    const auto& calls = kernel_.calls();
    for (std::size_t i = calls.size(); i-- > 0;)
        if (calls[i].line.rfind(prefix, 0) == 0) return static_cast<int>(i);
    ADD_FAILURE() << "no call " << prefix << "\n" << all_calls();
    return -1;
}

bool LaunchOrder::any_call(const std::string& prefix) const {
    for (const auto& c : kernel_.calls())
        if (c.line.rfind(prefix, 0) == 0) return true;
    return false;
}

std::vector<int> LaunchOrder::mask_mounts(const Spec& spec) const {
    std::vector<int> out;
    for (std::size_t i = 0; i < steps_.size(); ++i)
        for (const auto& path : spec.linux.masked_paths)
            if (steps_[i].rfind("mount(", 0) == 0 && steps_[i].find("\"" + plan_.merged_dir + path + "\"") != std::string::npos)
                out.push_back(static_cast<int>(i));
    return out;
}

std::vector<int> LaunchOrder::left_open(int up_to) const {
    std::set<int> open;
    for (int fd = 3; fd <= up_to; ++fd) open.insert(fd);
    for (const auto& line : kernel_.all("close_range(")) {
        unsigned long from = 0, to = 0;
        const char* p = line.c_str() + std::strlen("close_range(");
        char* end = nullptr;
        from = std::strtoul(p, &end, 10);
        to = std::strncmp(end, ", ~0U", 5) == 0 ? ~0ul : std::strtoul(end + 2, nullptr, 10);
        for (auto it = open.begin(); it != open.end();)
            it = static_cast<unsigned long>(*it) >= from && static_cast<unsigned long>(*it) <= to ? open.erase(it)
                                                                                                  : std::next(it);
    }
    return {open.begin(), open.end()};
}

std::string LaunchOrder::all_steps() const {
    std::string out;
    for (std::size_t i = 0; i < steps_.size(); ++i) out += std::to_string(i) + ": " + steps_[i] + "\n";
    return out;
}

std::string LaunchOrder::all_calls() const {
    std::string out;
    const auto& calls = kernel_.calls();
    for (std::size_t i = 0; i < calls.size(); ++i) out += std::to_string(i) + ": " + calls[i].line + "\n";
    return out;
}

}  // namespace hutch::testing
