// What the ordering tests share (launch_order_test.cpp: `hutch run`; exec_order_test.cpp:
// `hutch exec`; oci_order_test.cpp: a bundle's config.json): a child half run to its exec against
// the recording kernel (recording_kernel.hpp), and lookups into what it recorded.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caps/seccomp_filter.hpp"
#include "recording_kernel.hpp"
#include "runtime/container_init.hpp"
#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/run_options.hpp"

namespace hutch::testing {

using Strings = std::vector<std::string>;

inline const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
inline const std::string kMerged = "/run/hutch/containers/" + kId + "/merged";

// A host with every capability, a passwd with root and alice (1000).
HostFacts fake_host();
// `hutch run` of /srv/rootfs with the few flags the tests know (--read-only, -v, --tmpfs, -u,
// --security-opt), on --network none: the network's own order is the parent's (attach.cpp).
Spec run_spec(Strings flags);
// A GO packet as the parent sends it (runtime/sync.cpp).
std::string go_packet();

// How a child half ended: it reached its exec, or it threw.
struct Outcome {
    bool exec_reached = false;
    std::string error;                 // Error::what(), when it threw
    std::optional<SysError> sys_error;  // when what it threw was a failed call
};

class LaunchOrder : public ::testing::Test {
protected:
    // The container's first process (container_init_steps) for `spec`; `tune` adjusts the
    // context before the run (the OCI start fifo). Fails the test unless it reaches the exec.
    template <typename Tune>
    void run_child(const Spec& spec, Tune tune) {
        Outcome o = attempt_child(spec, tune);
        if (!o.exec_reached) ADD_FAILURE() << "no exec: " << o.error << "\n" << all_steps();
    }
    void run_child(const Spec& spec) { run_child(spec, [](InitContext&) {}); }
    template <typename Tune>
    Outcome attempt_child(const Spec& spec, Tune tune) {
        prepare(spec);
        kernel_.queue_packet(go_packet());
        InitContext context{spec, plan_, sync_.get(), {}, std::nullopt, false,
                            program_ ? &*program_ : nullptr, {-1, -1, -1}};
        tune(context);
        return attempt([&] { container_init_steps(context); });
    }
    Outcome attempt_child(const Spec& spec) { return attempt_child(spec, [](InitContext&) {}); }

    // A process `hutch exec` adds (exec_init_steps) with `spec`, into the container whose first
    // process is behind kTargetPidfd. Fails the test unless it reaches the exec.
    void run_exec(const Spec& spec, bool outlives_parent = false);
    Outcome attempt_exec(const Spec& spec, bool outlives_parent = false);

    // Index of the first (last) step starting with `prefix`; fails the test when there is none.
    int first(const std::string& prefix) const;
    int last(const std::string& prefix) const;
    // The same among every call, lookups included (indexes into kernel_.calls()).
    int first_call(const std::string& prefix) const;
    int last_call(const std::string& prefix) const;
    bool any_call(const std::string& prefix) const;
    // Steps that are mounts onto the spec's masked paths (/dev/null on files, tmpfs on dirs).
    std::vector<int> mask_mounts(const Spec& spec) const;
    // The fds the close_range calls left open from 3 up to `up_to`.
    std::vector<int> left_open(int up_to) const;
    std::string all_steps() const;
    std::string all_calls() const;

    static constexpr int kTargetPidfd = 4242;  // never a real fd: setns is the recording kernel's

    RecordingKernel kernel_;
    RootfsPlan plan_;
    Fd sync_, peer_;
    std::optional<seccomp::Program> program_;
    Strings steps_;

private:
    void prepare(const Spec& spec);
    template <typename Body>
    Outcome attempt(Body body) {
        Outcome o;
        sys::ScopedKernel scoped(kernel_);
        try {
            body();
            o.error = "the checklist returned without an exec";
        } catch (const ExecReached&) {
            o.exec_reached = true;
        } catch (const SysError& e) {
            o.error = e.what();
            o.sys_error = e;
        } catch (const Error& e) {
            o.error = e.what();
        }
        steps_ = kernel_.steps();
        return o;
    }
};

}  // namespace hutch::testing
