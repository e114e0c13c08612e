// The device policy on cgroup2: a BPF_PROG_TYPE_CGROUP_DEVICE program, written here instruction
// by instruction from a normalised devices::Policy, loaded with bpf(BPF_PROG_LOAD) and attached
// to the container's cgroup directory with BPF_CGROUP_DEVICE and BPF_F_ALLOW_MULTI (programs
// of the cgroups above still run: the strictest wins).
//
// The kernel runs the program before every mknod and every open for reading or writing of a
// device node by a process of that cgroup or any cgroup below it (devcgroup_check_permission);
// 0 refuses with EPERM. On a hybrid host (v1 controllers plus /sys/fs/cgroup/unified) the
// program of the unified cgroup runs first and cgroup v1's devices check after it, so a
// container placed only in the unified hierarchy is filtered too. Attached before clone3
// (CLONE_INTO_CGROUP), it filters the container's first instruction.
//
// The program, for a deny-all policy (an allow-all one swaps 1 and 0 and the access test):
//     r2 = ctx->access_type & 0xffff      the node's type: 1 block, 2 char
//     r3 = ctx->access_type >> 16         the access: 1 mknod, 2 read, 4 write
//     r4 = ctx->major, r5 = ctx->minor
//   for each exception:
//     if w2 != TYPE goto next; if w4 != MAJOR goto next; if w5 != MINOR goto next
//     if w3 & ~ACCESS goto next           one exception must cover all the access asked
//     r0 = 1; exit
//   next: ...
//     r0 = 0; exit
// (A wildcard number or full rwm access leaves its test out.) The same decisions as cgroup v1
// (devices::Policy::allows); tests/unit/devices_test.cpp runs the instructions to check it.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "runtime/devices.hpp"
#include "runtime/fd.hpp"

namespace hutch::bpf {

// The program's instructions.
std::vector<bpf_insn> device_program(const devices::Policy& policy);

// One loaded program: closed with this object (an attachment keeps its own reference, so the
// program lives as long as the cgroup it is attached to).
class DeviceProgram {
public:
    // bpf(BPF_PROG_LOAD); on failure a SysError whose message carries the verifier's log.
    static DeviceProgram load(const std::vector<bpf_insn>& instructions);
    // bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to the cgroup2 directory fd
    // `cgroup_fd` (`shown`: its path, for messages).
    void attach(int cgroup_fd, const std::string& shown) const;
    int fd() const { return fd_.get(); }

private:
    explicit DeviceProgram(Fd fd) : fd_(std::move(fd)) {}
    Fd fd_;
};

// Loads the policy's program and attaches it to `cgroup_fd`; nothing when the policy allows
// everything (--privileged), which a program would only slow down.
void apply_v2(int cgroup_fd, const std::string& shown, const devices::Policy& policy);

}  // namespace hutch::bpf
