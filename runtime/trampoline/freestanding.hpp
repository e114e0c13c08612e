// What hutch's freestanding programs share (the exec trampoline, hutch-init): no libc, so raw
// x86-64 system calls and an entry point of their own. Header-only, for -ffreestanding builds.
#pragma once

namespace hutch::freestanding {

// A system call: the result, or -errno.
inline long syscall6(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
    long ret;
    register long r10 asm("r10") = d;
    register long r8 asm("r8") = e;
    register long r9 asm("r9") = f;
    asm volatile("syscall"
                 : "=a"(ret)
                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return ret;
}

}  // namespace hutch::freestanding

// The kernel starts a program at _start with the stack pointer on argc: this hands that pointer
// to `main_function` (extern "C", [[noreturn]], taking long*) with the ABI's 16-byte alignment.
#define HUTCH_FREESTANDING_START(main_function) \
    asm(".globl _start\n"                       \
        "_start:\n"                             \
        "    xor %rbp, %rbp\n"                  \
        "    mov %rsp, %rdi\n"                  \
        "    and $-16, %rsp\n"                  \
        "    call " #main_function "\n")
