#include "runtime/bpf_device_program.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::bpf {
namespace {

// Registers: r1 the context (struct bpf_cgroup_dev_ctx), r2..r5 the request, r0 the verdict.
constexpr std::uint8_t kCtx = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kScratch = 1, kResult = 0;

bpf_insn make(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

bpf_insn load_u32(std::uint8_t dst, std::int16_t offset) { return make(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, offset, 0); }
bpf_insn alu32(std::uint8_t op, std::uint8_t dst, std::int32_t imm) { return make(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov32(std::uint8_t dst, std::uint8_t src) { return make(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
// A 32-bit compare, so a number is compared as the u32 the context holds (BPF_JMP would
// sign-extend the immediate).
bpf_insn jump32(std::uint8_t op, std::uint8_t dst, std::int32_t imm) { return make(BPF_JMP32 | op | BPF_K, dst, 0, 0, imm); }

void verdict(std::vector<bpf_insn>& out, bool allow) {
    out.push_back(make(BPF_ALU64 | BPF_MOV | BPF_K, kResult, 0, 0, allow ? 1 : 0));
    out.push_back(make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

// One exception: every test jumps past the block when it does not hold; the block ends with the
// exception's verdict (the opposite of the default).
void append_block(std::vector<bpf_insn>& out, const devices::Exception& e, bool default_allow) {
    std::vector<bpf_insn> block;
    block.push_back(jump32(BPF_JNE, kType, e.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (e.major != devices::kWildcard) block.push_back(jump32(BPF_JNE, kMajor, static_cast<std::int32_t>(e.major)));
    if (e.minor != devices::kWildcard) block.push_back(jump32(BPF_JNE, kMinor, static_cast<std::int32_t>(e.minor)));
    if (e.access != devices::kAllAccess) {
        if (!default_allow) {
            // Allowed only when the exception covers all the access asked.
            block.push_back(jump32(BPF_JSET, kAccess, static_cast<std::int32_t>(~e.access & devices::kAllAccess)));
        } else {
            // Denied as soon as the exception shares some of it: skip when it shares none.
            block.push_back(mov32(kScratch, kAccess));
            block.push_back(alu32(BPF_AND, kScratch, static_cast<std::int32_t>(e.access)));
            block.push_back(jump32(BPF_JEQ, kScratch, 0));
        }
    }
    verdict(block, !default_allow);
    for (std::size_t i = 0; i < block.size(); ++i)
        if (BPF_CLASS(block[i].code) == BPF_JMP32) block[i].off = static_cast<std::int16_t>(block.size() - i - 1);
    out.insert(out.end(), block.begin(), block.end());
}

long bpf_call(int command, bpf_attr& attr) { return sys::kernel().bpf(command, &attr, sizeof attr); }

std::string summary(const devices::Policy& policy) {
    std::string out = policy.default_allow ? "allow all but:" : "deny all but:";
    for (const auto& e : policy.exceptions) out += " " + devices::exception_string(e) + ",";
    if (!policy.exceptions.empty()) out.pop_back();
    return out;
}

}  // namespace

std::vector<bpf_insn> device_program(const devices::Policy& policy) {
    std::vector<bpf_insn> out = {
        load_u32(kType, 0),   alu32(BPF_AND, kType, 0xffff),
        load_u32(kAccess, 0), alu32(BPF_RSH, kAccess, 16),
        load_u32(kMajor, 4),  load_u32(kMinor, 8),
    };
    for (const auto& e : policy.exceptions) append_block(out, e, policy.default_allow);
    verdict(out, policy.default_allow);
    return out;
}

DeviceProgram DeviceProgram::load(const std::vector<bpf_insn>& instructions) {
    static const char kLicense[] = "GPL";
    auto attributes = [&] {
        bpf_attr attr{};
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = reinterpret_cast<std::uint64_t>(instructions.data());
        attr.insn_cnt = static_cast<std::uint32_t>(instructions.size());
        attr.license = reinterpret_cast<std::uint64_t>(kLicense);
        std::strncpy(attr.prog_name, "hutch_devices", sizeof attr.prog_name - 1);
        return attr;
    };
    bpf_attr attr = attributes();
    int fd = static_cast<int>(bpf_call(BPF_PROG_LOAD, attr));
    if (fd >= 0) return DeviceProgram(Fd(fd));
    int err = errno;
    // Again with the verifier's log, which says which instruction it refused and why.
    std::vector<char> log(65536);
    attr = attributes();
    attr.log_buf = reinterpret_cast<std::uint64_t>(log.data());
    attr.log_size = static_cast<std::uint32_t>(log.size());
    attr.log_level = 1;
    if (int again = static_cast<int>(bpf_call(BPF_PROG_LOAD, attr)); again >= 0) return DeviceProgram(Fd(again));
    std::string text(log.data(), ::strnlen(log.data(), log.size()));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    for (auto& c : text)
        if (c == '\n') c = ';';
    throw SysError("load the device policy program", "bpf(BPF_PROG_LOAD)",
                   "BPF_PROG_TYPE_CGROUP_DEVICE, " + std::to_string(instructions.size()) + " instructions" +
                       (text.empty() ? std::string() : " (verifier: " + text + ")"),
                   err);
}

void DeviceProgram::attach(int cgroup_fd, const std::string& shown) const {
    bpf_attr attr{};
    attr.target_fd = static_cast<std::uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<std::uint32_t>(fd_.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf_call(BPF_PROG_ATTACH, attr) != 0)
        throw SysError("attach the device policy program", "bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)", shown, errno);
}

void apply_v2(int cgroup_fd, const std::string& shown, const devices::Policy& policy) {
    if (policy.allows_everything()) {
        explain::comment("device policy: allow all (no device program)");
        return;
    }
    explain::comment("device policy: " + summary(policy));
    DeviceProgram program = DeviceProgram::load(device_program(policy));
    program.attach(cgroup_fd, shown);
}

}  // namespace hutch::bpf
