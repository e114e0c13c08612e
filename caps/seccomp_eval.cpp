#include "caps/seccomp_eval.hpp"

#include <linux/audit.h>
#include <linux/filter.h>

#include <cstddef>
#include <cstring>

#include "runtime/error.hpp"

namespace hutch::seccomp {
namespace {

std::uint32_t native_audit_arch() {
#if defined(__x86_64__)
    return AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
    return AUDIT_ARCH_AARCH64;
#elif defined(__i386__)
    return AUDIT_ARCH_I386;
#elif defined(__arm__)
    return AUDIT_ARCH_ARM;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return AUDIT_ARCH_PPC64LE;
#elif defined(__s390x__)
    return AUDIT_ARCH_S390X;
#elif defined(__riscv) && __riscv_xlen == 64
    return AUDIT_ARCH_RISCV64;
#else
#error "hutch: add this architecture to seccomp_eval.cpp"
#endif
}

std::uint32_t alu(std::uint16_t op, std::uint32_t a, std::uint32_t operand, bool& ok) {
    switch (BPF_OP(op)) {
        case BPF_ADD: return a + operand;
        case BPF_SUB: return a - operand;
        case BPF_MUL: return a * operand;
        case BPF_DIV: return operand ? a / operand : (ok = false, 0);
        case BPF_MOD: return operand ? a % operand : (ok = false, 0);
        case BPF_AND: return a & operand;
        case BPF_OR: return a | operand;
        case BPF_XOR: return a ^ operand;
        case BPF_LSH: return operand < 32 ? a << operand : 0;
        case BPF_RSH: return operand < 32 ? a >> operand : 0;
        case BPF_NEG: return -a;
        default: ok = false; return 0;
    }
}

bool jump_taken(std::uint16_t op, std::uint32_t a, std::uint32_t operand) {
    switch (BPF_OP(op)) {
        case BPF_JEQ: return a == operand;
        case BPF_JGT: return a > operand;
        case BPF_JGE: return a >= operand;
        case BPF_JSET: return (a & operand) != 0;
        default: return false;
    }
}

}  // namespace

// The instructions seccomp admits (kernel/seccomp.c, seccomp_check_filter): loads of the
// 32-bit words of seccomp_data, scratch memory, ALU, forward jumps, returns.
std::uint32_t evaluate(const Program& program, const Call& call) {
    seccomp_data data{};
    data.nr = call.nr;
    data.arch = native_audit_arch();
    for (std::size_t i = 0; i < 6; ++i) data.args[i] = call.args[i];
    unsigned char bytes[sizeof data];
    std::memcpy(bytes, &data, sizeof data);
    std::uint32_t a = 0, x = 0;
    std::uint32_t mem[BPF_MEMWORDS] = {};
    const auto& insns = program.instructions;
    for (std::size_t pc = 0; pc < insns.size(); ++pc) {
        const sock_filter& f = insns[pc];
        bool ok = true;
        switch (BPF_CLASS(f.code)) {
            case BPF_LD:
            case BPF_LDX: {
                std::uint32_t v = 0;
                if (BPF_MODE(f.code) == BPF_ABS && f.k % 4 == 0 && f.k + 4 <= sizeof data) std::memcpy(&v, bytes + f.k, 4);
                else if (BPF_MODE(f.code) == BPF_LEN) v = sizeof data;
                else if (BPF_MODE(f.code) == BPF_IMM) v = f.k;
                else if (BPF_MODE(f.code) == BPF_MEM && f.k < BPF_MEMWORDS) v = mem[f.k];
                else ok = false;
                (BPF_CLASS(f.code) == BPF_LD ? a : x) = v;
                break;
            }
            case BPF_ST:
            case BPF_STX:
                if (f.k >= BPF_MEMWORDS) ok = false;
                else mem[f.k] = BPF_CLASS(f.code) == BPF_ST ? a : x;
                break;
            case BPF_ALU: a = alu(f.code, a, BPF_SRC(f.code) == BPF_X ? x : f.k, ok); break;
            case BPF_JMP:
                if (BPF_OP(f.code) == BPF_JA) pc += f.k;
                else pc += jump_taken(f.code, a, BPF_SRC(f.code) == BPF_X ? x : f.k) ? f.jt : f.jf;
                break;
            case BPF_RET: return BPF_RVAL(f.code) == BPF_A ? a : f.k;
            case BPF_MISC:
                if (BPF_MISCOP(f.code) == BPF_TAX) x = a;
                else a = x;
                break;
            default: ok = false;
        }
        if (!ok) break;
    }
    return SECCOMP_RET_KILL_PROCESS;
}

bool lets_run(std::uint32_t ret) {
    std::uint32_t action = ret & SECCOMP_RET_ACTION_FULL;
    return action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG;
}

std::string describe(std::uint32_t ret) {
    switch (ret & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_KILL_PROCESS: return "SCMP_ACT_KILL_PROCESS";
        case SECCOMP_RET_KILL_THREAD: return "SCMP_ACT_KILL";
        case SECCOMP_RET_TRAP: return "SCMP_ACT_TRAP";
        case SECCOMP_RET_ERRNO: {
            int err = static_cast<int>(ret & SECCOMP_RET_DATA);
            const char* name = strerrorname_np(err);
            return "SCMP_ACT_ERRNO(" + std::string(name ? name : std::to_string(err).c_str()) + ")";
        }
        case SECCOMP_RET_TRACE: return "SCMP_ACT_TRACE: ENOSYS without a tracer";
        case SECCOMP_RET_USER_NOTIF: return "SCMP_ACT_NOTIFY";
        case SECCOMP_RET_LOG: return "SCMP_ACT_LOG";
        case SECCOMP_RET_ALLOW: return "SCMP_ACT_ALLOW";
        default: return "an unknown action";
    }
}

void require_allowed(const Program& program, const std::string& command, const Call* calls, std::size_t count) {
    std::string all;
    for (std::size_t i = 0; i < count; ++i) {
        bool named_before = false;
        for (std::size_t j = 0; j < i; ++j) named_before = named_before || std::strcmp(calls[j].name, calls[i].name) == 0;
        if (!named_before) all += (all.empty() ? "" : ", ") + std::string(calls[i].name);
    }
    for (std::size_t i = 0; i < count; ++i) {
        std::uint32_t ret = evaluate(program, calls[i]);
        if (lets_run(ret)) continue;
        throw Error("exec \"" + command + "\": the seccomp profile blocks " + calls[i].name + " (" + describe(ret) +
                        "); hutch makes these calls after the filter to start the command: " + all,
                    kExitCannotInvoke);
    }
}

}  // namespace hutch::seccomp
