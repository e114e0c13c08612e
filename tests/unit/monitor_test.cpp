// The hand-back from a detached container's resident monitor to hutch (runtime/monitor.hpp):
// the argv the start writes is the Handback the exit half reads, and anything else is refused.
#include <gtest/gtest.h>

#include "runtime/error.hpp"
#include "runtime/monitor.hpp"

namespace hutch {
namespace {

// The argv as the monitor passes it on: "@status" and "@signal" filled in.
std::vector<std::string> as_the_monitor_runs_it(monitor::Handback back, const std::string& status,
                                                const std::string& signal) {
    std::vector<std::string> argv = monitor::exit_argv(back);
    // The last two words, as the monitor replaces them (runtime/monitor/monitor.cpp).
    EXPECT_EQ(argv[argv.size() - 2], "@status");
    EXPECT_EQ(argv[argv.size() - 1], "@signal");
    argv[argv.size() - 2] = status;
    argv[argv.size() - 1] = signal;
    return argv;
}

monitor::Handback parse(std::vector<std::string> argv) {
    std::vector<char*> pointers;
    for (auto& word : argv) pointers.push_back(word.data());
    return monitor::parse_exit_argv(static_cast<int>(pointers.size()), pointers.data());
}

monitor::Handback sample() {
    monitor::Handback back;
    back.paths = {"/run/h", "/var/lib/h"};
    back.config_path = "/etc/hutch/config.json";
    back.id = std::string(64, 'a');
    back.lock_fd = 6;
    back.claim_fd = 9;
    back.port_fds = {10, 11};
    back.pasta_pid = 4242;
    back.restart_count = 3;
    back.restart_delay_ms = 800;
    back.started_ns = 123456789012345;
    return back;
}

TEST(MonitorHandback, WhatTheStartWritesIsWhatTheExitReads) {
    const monitor::Handback back = sample();
    std::vector<std::string> argv = monitor::exit_argv(back);
    EXPECT_EQ(argv[1], monitor::kExitCommand);
    monitor::Handback read = parse(as_the_monitor_runs_it(back, "137", "15"));
    EXPECT_EQ(read.paths.root, "/run/h");
    EXPECT_EQ(read.paths.data_root, "/var/lib/h");
    EXPECT_EQ(read.config_path, back.config_path);
    EXPECT_EQ(read.id, back.id);
    EXPECT_EQ(read.lock_fd, 6);
    EXPECT_EQ(read.claim_fd, 9);
    EXPECT_EQ(read.port_fds, (std::vector<int>{10, 11}));
    EXPECT_EQ(read.pasta_pid, 4242);
    EXPECT_EQ(read.restart_count, 3);
    EXPECT_EQ(read.restart_delay_ms, 800);
    EXPECT_EQ(read.started_ns, 123456789012345);
    EXPECT_EQ(read.status, 137);
    EXPECT_EQ(read.signal, 15);
    EXPECT_EQ(read.held_fds(), (std::vector<int>{6, 9, 10, 11}));
}

TEST(MonitorHandback, AContainerWithoutNetworkOrPortsHoldsOnlyItsLock) {
    monitor::Handback back = sample();
    back.claim_fd = -1;
    back.port_fds.clear();
    back.pasta_pid = 0;
    back.config_path = "";  // no host config file: the defaults
    monitor::Handback read = parse(as_the_monitor_runs_it(back, "0", "0"));
    EXPECT_EQ(read.claim_fd, -1);
    EXPECT_TRUE(read.port_fds.empty());
    EXPECT_EQ(read.config_path, "");
    EXPECT_EQ(read.held_fds(), std::vector<int>{6});
}

TEST(MonitorHandback, AnythingElseIsRefusedNamingTheWord) {
    const monitor::Handback back = sample();
    struct Bad {
        std::string status, signal;
        const char* named;
    } cases[] = {{"@status", "0", "exit status"}, {"256", "0", "exit status"}, {"-1", "0", "exit status"},
                 {"0", "65", "signal"},           {"0", "x", "signal"},         {"1 ", "0", "exit status"}};
    for (const Bad& bad : cases) {
        try {
            parse(as_the_monitor_runs_it(back, bad.status, bad.signal));
            ADD_FAILURE() << "accepted status " << bad.status << " signal " << bad.signal;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(bad.named), std::string::npos) << e.what();
        }
    }
    std::vector<std::string> argv = as_the_monitor_runs_it(back, "0", "0");
    argv[6] = "../../etc";  // the id
    EXPECT_THROW(parse(argv), Error);
    argv = as_the_monitor_runs_it(back, "0", "0");
    argv[9] = "10,,11";  // the port fds
    EXPECT_THROW(parse(argv), Error);
    argv.pop_back();
    EXPECT_THROW(parse(argv), Error);
    // A hutch installed over the one that made the hand-back reads only its own.
    argv = as_the_monitor_runs_it(back, "0", "0");
    argv[2] = "0";
    EXPECT_THROW(parse(argv), Error);
}

TEST(MonitorHandback, ARootNamedLikeAPlaceholderStaysItself) {
    monitor::Handback back = sample();
    back.paths.root = "@status";
    EXPECT_EQ(parse(as_the_monitor_runs_it(back, "3", "0")).paths.root, "@status");
}

}  // namespace
}  // namespace hutch
