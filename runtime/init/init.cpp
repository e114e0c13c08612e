// hutch-init: the tiny pid 1 of `hutch run --init`, as docker-init (tini) is for `docker run --init`.
//
// A command run as a pid namespace's pid 1 gets two jobs it was seldom written for:
//   - the kernel hands it every orphan of the namespace to reap (a shell's `(cmd &)`, a daemon
//     that double-forks); a command that never calls wait() leaves them as zombies, each holding
//     a pid (and with --pids-limit, a slot of the limit);
//   - the kernel delivers it no signal it has no handler for (SIGNAL_UNKILLABLE): `hutch stop`'s
//     SIGTERM to a `sleep` is dropped and stop must wait for its timeout and SIGKILL.
// This program takes both: it runs the command as its child and, as tini does by default,
//   - blocks every asynchronous signal and takes them with rt_sigtimedwait (a blocked signal is
//     queued even for pid 1, whatever its disposition), forwarding each one but SIGCHLD to the
//     child (to the child only, not its process group: tini's default, without -g);
//   - puts the child in a process group of its own and, when stdin is a terminal, makes that
//     group the terminal's foreground one, so ^C and SIGWINCH reach the command directly;
//   - reaps every child it gets, and ends with the command's status: its exit code, or 128+N
//     when signal N killed it (the shell's convention, tini's and Docker's);
//   - when it is not pid 1 (--pid host, --pid container:NAME) it becomes a child subreaper, so
//     the orphans still come to it.
// No timeout polls: SIGCHLD stays blocked, so a child that exits between the reaping and the
// wait leaves it pending and the wait returns at once.
//
//   argv: [0] the path, [1] "--", [2...] the command (searched in PATH like execvp, without its
//   /bin/sh fallback for files the kernel cannot run: hutch without --init has none either)
//
// Built like the exec trampoline (runtime/trampoline): freestanding, no libc, a few KiB, static,
// x86-64 raw system calls, so it runs in any rootfs (busybox, distroless, scratch) and its
// handful of calls are all in Docker's default seccomp profile.

#include "runtime/trampoline/freestanding.hpp"

namespace {

using hutch::freestanding::syscall6;

constexpr long kSysWrite = 1, kSysRtSigaction = 13, kSysRtSigprocmask = 14, kSysIoctl = 16, kSysGetpid = 39,
               kSysClone = 56, kSysExecve = 59, kSysExit = 60, kSysWait4 = 61, kSysKill = 62, kSysSetpgid = 109,
               kSysRtSigtimedwait = 128, kSysPrctl = 157, kSysExitGroup = 231;
constexpr long kSigSetMask = 2, kSigSetSize = 8, kTiocspgrp = 0x5410, kPrSetChildSubreaper = 36;
constexpr long kWnohang = 1, kWall = 0x40000000;
constexpr int kSigIll = 4, kSigTrap = 5, kSigAbrt = 6, kSigBus = 7, kSigFpe = 8, kSigKill = 9,
              kSigSegv = 11, kSigChld = 17, kSigStop = 19, kSigTtin = 21, kSigTtou = 22, kSigSys = 31;
constexpr long kEintr = 4, kEagain = 11, kEnoent = 2, kEacces = 13, kEnotdir = 20, kEnotty = 25, kEnxio = 6;
constexpr int kExitNotFound = 127, kExitCannotInvoke = 126;

using SigSet = unsigned long;  // the kernel's 64-signal set on x86-64
constexpr SigSet bit(int sig) { return SigSet{1} << (sig - 1); }

struct KernelSigaction {  // the kernel's struct sigaction on x86-64
    void* handler;
    unsigned long flags;
    void* restorer;
    SigSet mask;
};

// ---- text out, without libc -------------------------------------------------------------------

unsigned long length(const char* s) {
    unsigned long n = 0;
    while (s[n]) ++n;
    return n;
}

void say(const char* a, const char* b = "", const char* c = "", const char* d = "") {
    char line[512];
    unsigned long n = 0;
    const char* parts[] = {"hutch-init: ", a, b, c, d, "\n"};
    for (const char* part : parts)
        for (; *part && n < sizeof line; ++part) line[n++] = *part;
    syscall6(kSysWrite, 2, reinterpret_cast<long>(line), static_cast<long>(n));
}

const char* error_text(long err) {
    switch (err) {
        case 1: return "Operation not permitted";
        case 2: return "No such file or directory";
        case 7: return "Argument list too long";
        case 8: return "Exec format error";
        case 12: return "Cannot allocate memory";
        case 13: return "Permission denied";
        case 20: return "Not a directory";
        case 21: return "Is a directory";
        case 26: return "Text file busy";
        case 36: return "File name too long";
        case 40: return "Too many levels of symbolic links";
        default: return "error";
    }
}

[[noreturn]] void end(int code) {
    // A restrictive seccomp profile may block either exit call: then end by a fault, never by
    // running on (as the trampoline does).
    syscall6(kSysExitGroup, code);
    syscall6(kSysExit, code);
    __builtin_trap();
}

// ---- the child: the command -------------------------------------------------------------------

bool starts_with(const char* s, const char* prefix) {
    for (; *prefix; ++s, ++prefix)
        if (*s != *prefix) return false;
    return true;
}

// execvp's search: a name with a '/' is run as is, else each PATH entry in turn (empty means the
// working directory); a directory where it is not executable is remembered (EACCES) but the
// search goes on, as glibc's does. Returns only on failure: the errno, and whether PATH was searched.
long exec_command(char** argv, char** envp, bool& searched) {
    const char* name = argv[0];
    searched = false;
    for (const char* p = name; *p; ++p)
        if (*p == '/') return -syscall6(kSysExecve, reinterpret_cast<long>(name), reinterpret_cast<long>(argv),
                                        reinterpret_cast<long>(envp));
    const char* path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char** e = envp; *e; ++e)
        if (starts_with(*e, "PATH=")) path = *e + 5;
    searched = true;
    long err = kEnoent;
    bool denied = false;
    unsigned long name_length = length(name);
    for (const char* dir = path;; ++dir) {
        const char* stop = dir;
        while (*stop && *stop != ':') ++stop;
        char candidate[4096];
        unsigned long dir_length = static_cast<unsigned long>(stop - dir);
        if (dir_length + 1 + name_length < sizeof candidate) {
            unsigned long n = 0;
            if (dir_length == 0) candidate[n++] = '.';
            for (const char* c = dir; c < stop; ++c) candidate[n++] = *c;
            candidate[n++] = '/';
            for (const char* c = name; *c; ++c) candidate[n++] = *c;
            candidate[n] = '\0';
            err = -syscall6(kSysExecve, reinterpret_cast<long>(candidate), reinterpret_cast<long>(argv),
                            reinterpret_cast<long>(envp));
            if (err == kEacces) denied = true;
            else if (err != kEnoent && err != kEnotdir) return err;  // found, but the kernel refused it
        }
        if (!*stop) break;
        dir = stop;
    }
    return denied ? kEacces : err;
}

// In the new child: its own process group, the terminal's foreground one when stdin is a
// terminal (allowed from the background while SIGTTOU is ignored), the signal state hutch gave
// this program back, then the command.
[[noreturn]] void run_child(char** argv, char** envp, SigSet old_mask, const KernelSigaction old_tty[2]) {
    syscall6(kSysSetpgid, 0, 0);
    int group = static_cast<int>(syscall6(kSysGetpid));  // a pid_t for TIOCSPGRP
    long err = -syscall6(kSysIoctl, 0, kTiocspgrp, reinterpret_cast<long>(&group));
    if (err > 0 && err != kEnotty && err != kEnxio)  // no terminal on stdin is the usual case
        say("cannot give the terminal to the command: ", error_text(err));
    syscall6(kSysRtSigaction, kSigTtin, reinterpret_cast<long>(&old_tty[0]), 0, kSigSetSize);
    syscall6(kSysRtSigaction, kSigTtou, reinterpret_cast<long>(&old_tty[1]), 0, kSigSetSize);
    syscall6(kSysRtSigprocmask, kSigSetMask, reinterpret_cast<long>(&old_mask), 0, kSigSetSize);
    bool searched = false;
    err = exec_command(argv, envp, searched);
    if (searched && err == kEnoent) say("exec \"", argv[0], "\": executable file not found in $PATH");
    else say("exec \"", argv[0], "\": ", error_text(err));
    end(err == kEnoent || err == kEnotdir ? kExitNotFound : kExitCannotInvoke);
}

// ---- pid 1: reap, forward, end with the command -----------------------------------------------

int exit_code(int status) {
    int signal = status & 0x7f;
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
}

// Reaps every child that has ended; the command's exit code once it is one of them, else -1.
int reap(long command) {
    int code = -1;
    for (;;) {
        int status = 0;
        long pid = syscall6(kSysWait4, -1, reinterpret_cast<long>(&status), kWnohang | kWall, 0);
        if (pid <= 0) return code;  // none left ended (0) or none at all (-ECHILD)
        if (pid == command) code = exit_code(status);
    }
}

// A seccomp profile without rt_sigtimedwait: reap still, forward nothing.
[[noreturn]] void reap_only(long command, long err) {
    say("cannot wait for signals (", error_text(err), "): none are forwarded to the command");
    for (;;) {
        int status = 0;
        long pid = syscall6(kSysWait4, -1, reinterpret_cast<long>(&status), kWall, 0);
        if (pid == command) end(exit_code(status));
        if (pid < 0 && pid != -kEintr) end(kExitCannotInvoke);  // no child at all: cannot be
    }
}

[[noreturn]] void supervise(long command, SigSet waited) {
    for (;;) {
        int code = reap(command);
        if (code >= 0) end(code);
        long sig = syscall6(kSysRtSigtimedwait, reinterpret_cast<long>(&waited), 0, 0, kSigSetSize);
        if (sig == -kEintr || sig == -kEagain || sig == kSigChld) continue;
        if (sig < 0) reap_only(command, -sig);
        syscall6(kSysKill, command, sig);  // ESRCH: it ended meanwhile, and SIGCHLD is pending
    }
}

}  // namespace

extern "C" [[noreturn]] void init_main(long* stack) {
    long argc = stack[0];
    char** argv = reinterpret_cast<char**>(stack + 1);
    char** envp = argv + argc + 1;
    int first = argc > 1 && argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] == '\0' ? 2 : 1;
    if (first >= argc) {
        say("usage: hutch-init -- COMMAND [ARG...] (the pid 1 of `hutch run --init`)");
        end(2);
    }
    if (syscall6(kSysGetpid) != 1) syscall6(kSysPrctl, kPrSetChildSubreaper, 1);

    // Every signal is taken by the wait, but those the kernel raises for a fault of this program
    // (left deliverable, or a fault would loop) and SIGTTIN/SIGTTOU, ignored instead so the child
    // can take the terminal from the background. SIGKILL and SIGSTOP cannot be blocked.
    SigSet synchronous = bit(kSigIll) | bit(kSigTrap) | bit(kSigAbrt) | bit(kSigBus) | bit(kSigFpe) |
                         bit(kSigSegv) | bit(kSigSys) | bit(kSigTtin) | bit(kSigTtou);
    SigSet waited = ~synchronous & ~(bit(kSigKill) | bit(kSigStop));
    SigSet old_mask = 0;
    syscall6(kSysRtSigprocmask, kSigSetMask, reinterpret_cast<long>(&waited), reinterpret_cast<long>(&old_mask),
             kSigSetSize);
    KernelSigaction ignore{reinterpret_cast<void*>(1), 0, nullptr, 0};  // SIG_IGN
    KernelSigaction old_tty[2] = {};
    syscall6(kSysRtSigaction, kSigTtin, reinterpret_cast<long>(&ignore), reinterpret_cast<long>(&old_tty[0]),
             kSigSetSize);
    syscall6(kSysRtSigaction, kSigTtou, reinterpret_cast<long>(&ignore), reinterpret_cast<long>(&old_tty[1]),
             kSigSetSize);

    long child = syscall6(kSysClone, kSigChld, 0, 0, 0, 0);  // fork()
    if (child == 0) run_child(argv + first, envp, old_mask, old_tty);
    if (child < 0) {
        say("cannot start the command: fork: ", error_text(-child));
        end(kExitCannotInvoke);
    }
    supervise(child, waited);
}

HUTCH_FREESTANDING_START(init_main);
