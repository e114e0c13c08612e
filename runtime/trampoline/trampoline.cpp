// hutch's exec trampoline: the last program a container's first process runs before its command.
//
// Built freestanding (no libc, a few hundred bytes), embedded in hutch, and executed from a
// sealed memfd. While it runs, /proc/self/exe is that sealed memfd, so a command of
// `/proc/self/exe` or `#!/proc/self/exe` reaches nothing on the host (CVE-2019-5736), without
// re-executing hutch itself.
//
//   argv: [0] "hutch-trampoline", [1] the sync socket's fd number, [2] the resolved path,
//         [3...] the command's argv
// It marks the socket close-on-exec and execs the command; the parent then sees EOF. If execve
// fails it sends {kind=kExecFailed, errno} over the socket (runtime/sync.hpp) and exits 127/126.

#include "runtime/trampoline/freestanding.hpp"

namespace {

using hutch::freestanding::syscall6;

constexpr long kSysWrite = 1, kSysFcntl = 72, kSysExecve = 59, kSysExit = 60, kSysExitGroup = 231, kSysSendto = 44;
constexpr long kFSetFd = 2, kFdCloexec = 1, kMsgNoSignal = 0x4000;
constexpr int kENOENT = 2, kENOTDIR = 20;
constexpr unsigned kExecFailed = 4;  // sync::Kind::kExecFailed

int parse_fd(const char* s) {
    int n = 0;
    for (; *s >= '0' && *s <= '9'; ++s) n = n * 10 + (*s - '0');
    return n;
}

}  // namespace

extern "C" [[noreturn]] void trampoline_main(long* stack) {
    long argc = stack[0];
    char** argv = reinterpret_cast<char**>(stack + 1);
    char** envp = argv + argc + 1;
    int exit_code = 126;
    if (argc < 4) {
        // Run any other way (a container exec'ing /proc/self/exe, say): refuse, say why.
        static const char kWhy[] = "hutch-trampoline: not a command (this is hutch's sealed exec trampoline)\n";
        syscall6(kSysWrite, 2, reinterpret_cast<long>(kWhy), sizeof kWhy - 1);
    } else {
        int sync_fd = parse_fd(argv[1]);
        syscall6(kSysFcntl, sync_fd, kFSetFd, kFdCloexec);
        long err = -syscall6(kSysExecve, reinterpret_cast<long>(argv[2]), reinterpret_cast<long>(argv + 3),
                             reinterpret_cast<long>(envp));
        exit_code = (err == kENOENT || err == kENOTDIR) ? 127 : 126;
        int message[2] = {static_cast<int>(kExecFailed), static_cast<int>(err)};
        syscall6(kSysSendto, sync_fd, reinterpret_cast<long>(message), sizeof message, kMsgNoSignal, 0, 0);
    }
    // A restrictive seccomp profile may block either exit call: then end by a fault, never by
    // running on into whatever follows.
    syscall6(kSysExit, exit_code, 0, 0);
    syscall6(kSysExitGroup, exit_code, 0, 0);
    __builtin_trap();
}

HUTCH_FREESTANDING_START(trampoline_main);
