// hutch's resident monitor: what a detached container's supervisor becomes once the command runs.
//
// Built freestanding (no libc, a few KiB), embedded in hutch and executed from a sealed memfd by
// the process that started the container (runtime/monitor.hpp), so the process stays the
// container's parent and keeps every fd the start handed it, but no longer maps hutch's 70 MB
// binary, libc or heap: what stays resident for the container's whole life is this program's
// few pages. It does the steady-state duties, conmon's:
//   - forwards the signals that reach it (read from the signalfd it inherits) to the command,
//     remembering the last one (a user's stop, runtime/restart.hpp);
//   - copies the command's output (its pty or pipes) into the log;
//   - waits for the command's exit (waitid on its pidfd, WNOWAIT: hutch reaps it once recorded).
// Then it writes the exit status into the record's lock file, where `hutch wait` reads it
// (runtime/state.hpp, record_exit), and execs hutch again (the binary's fd it inherits) with the
// argv it was given, whose last two words, "@status" and "@signal", become the exit status and
// the forwarded signal: hutch records the exit, cleans up, and decides the restart
// (runtime/launch.cpp, resume_after_exit).
//
//   - says in the log when the container's pasta (rootless hutch's network) exits first: the
//     container has no network from then on, and nothing else would tell.
//
//   argv: [0] "hutch-monitor", [1] the command's pidfd, [2] the signalfd, [3] hutch's binary
//         (an O_PATH fd), [4] the relays "FROM:TO,FROM:TO" or "-", [5] the lock file's fd,
//         [6] pasta's pidfd or "-", [7...] hutch's argv.
// A failure it cannot recover from is written to its stderr (the container's log) and ends it
// with status 125: the container then looks as if its supervisor was killed, which `rm -f`
// cleans (and `wait` still has the status when it came that far).

#include "runtime/trampoline/freestanding.hpp"

namespace {

using hutch::freestanding::syscall6;

constexpr long kSysRead = 0, kSysWrite = 1, kSysPwrite = 18, kSysPoll = 7, kSysFcntl = 72, kSysPrctl = 157, kSysExit = 60,
               kSysWaitid = 247, kSysExecveat = 322, kSysPidfdSendSignal = 424;
constexpr long kFSetFd = 2, kFdCloexec = 1, kFGetFl = 3, kFSetFl = 4, kONonblock = 04000, kAtEmptyPath = 0x1000;
constexpr long kPrSetName = 15, kPrSetDumpable = 4, kPPidfd = 3, kWNohang = 1, kWExited = 4, kWNowait = 0x01000000;
constexpr long kEINTR = 4, kEAGAIN = 11;
constexpr short kPollIn = 0x1, kPollErr = 0x8, kPollHup = 0x10;
constexpr int kCldExited = 1, kSigWinch = 28;
constexpr int kMaxRelays = 4, kMaxArgs = 256;

struct PollFd {
    int fd;
    short events;
    short revents;
};

struct Relay {
    int from = -1, to = -1;
    bool open = true;
};

void write_all(int fd, const char* data, long size) {
    while (size > 0) {
        long n = syscall6(kSysWrite, fd, reinterpret_cast<long>(data), size);
        if (n == -kEINTR) continue;
        if (n <= 0) return;  // the log is gone or full: the command must not block on it
        data += n;
        size -= n;
    }
}

long length(const char* s) {
    long n = 0;
    while (s[n]) ++n;
    return n;
}

void say(const char* what) {
    write_all(2, "hutch-monitor: ", 15);
    write_all(2, what, length(what));
    write_all(2, "\n", 1);
}

[[noreturn]] void fail(const char* what) {
    say(what);
    syscall6(kSysExit, 125);
    __builtin_trap();
}

// A decimal fd or pid: -1 for anything else.
int parse_number(const char*& s) {
    if (*s < '0' || *s > '9') return -1;
    long n = 0;
    for (; *s >= '0' && *s <= '9'; ++s) {
        n = n * 10 + (*s - '0');
        if (n > 0x7fffffff) return -1;
    }
    return static_cast<int>(n);
}

int parse_fd(const char* s) {
    int n = parse_number(s);
    return *s == '\0' ? n : -1;
}

// "FROM:TO,FROM:TO" (or "-": none) into `relays`; the count, -1 when malformed.
int parse_relays(const char* s, Relay* relays) {
    if (s[0] == '-' && s[1] == '\0') return 0;
    int count = 0;
    for (;;) {
        if (count == kMaxRelays) return -1;
        int from = parse_number(s);
        if (from < 0 || *s++ != ':') return -1;
        int to = parse_number(s);
        if (to < 0) return -1;
        relays[count++] = {from, to, true};
        if (*s == '\0') return count;
        if (*s++ != ',') return -1;
    }
}

// Copies what `from` has into `to`; false once it is done (EOF, or EIO from a pty master whose
// slave is gone).
bool pump(Relay& r) {
    static char buffer[16384];
    long n = syscall6(kSysRead, r.from, reinterpret_cast<long>(buffer), sizeof buffer);
    if (n == -kEINTR || n == -kEAGAIN) return true;
    if (n <= 0) return false;
    write_all(r.to, buffer, n);
    return true;
}

// Decimal text of 0 <= value < 1000.
void format_small(int value, char* out) {
    char digits[4];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value && n < 3);
    for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
    out[n] = '\0';
}

bool same(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

// pasta (`pasta_fd`, its pidfd, readable) ended before the command: the line hutch's in-process
// supervisor writes too (pasta::death_notice). WNOWAIT: hutch reaps pasta when the container ends.
void say_pasta_ended(int pasta_fd) {
    static int info[32];
    static char number[4];
    const char* how = "exited";
    const bool known = syscall6(kSysWaitid, kPPidfd, pasta_fd, reinterpret_cast<long>(info), kWExited | kWNohang | kWNowait, 0) == 0 &&
                       info[4] != 0;  // si_pid, at byte 16: 0 while it still runs
    if (known) {
        how = info[2] == kCldExited ? "exited with status " : "was killed by signal ";
        format_small(info[6] & 0xff, number);
    }
    static const char head[] = "hutch: pasta, the container's network, ";
    static const char tail[] = ": the container has no network from now on\n";
    write_all(2, head, sizeof head - 1);
    write_all(2, how, length(how));
    if (known) write_all(2, number, length(number));
    write_all(2, tail, sizeof tail - 1);
}

}  // namespace

extern "C" [[noreturn]] void monitor_main(long* stack) {
    long argc = stack[0];
    char** argv = reinterpret_cast<char**>(stack + 1);
    char** envp = argv + argc + 1;
    // Nothing without CAP_SYS_PTRACE may read this process's memory or open its fds through
    // /proc (exec made it dumpable again); the name `ps` shows.
    syscall6(kSysPrctl, kPrSetDumpable, 0);
    syscall6(kSysPrctl, kPrSetName, reinterpret_cast<long>("hutch-monitor"));
    if (argc < 10 || argc - 7 >= kMaxArgs || !same(argv[argc - 2], "@status") || !same(argv[argc - 1], "@signal"))
        fail("not a monitor command (this is hutch's detached-container monitor)");
    const int pidfd = parse_fd(argv[1]), signal_fd = parse_fd(argv[2]), hutch_fd = parse_fd(argv[3]);
    Relay relays[kMaxRelays];
    const int relay_count = parse_relays(argv[4], relays);
    const int lock_fd = parse_fd(argv[5]);
    const bool with_pasta = !same(argv[6], "-");
    int pasta_fd = with_pasta ? parse_fd(argv[6]) : -1;
    if (pidfd < 0 || signal_fd < 0 || hutch_fd < 0 || relay_count < 0 || lock_fd < 0 || (with_pasta && pasta_fd < 0))
        fail("malformed arguments");

    int forwarded = 0;
    constexpr int kRelaysAt = 3;
    PollFd fds[kRelaysAt + kMaxRelays];
    for (;;) {
        fds[0] = {pidfd, kPollIn, 0};
        fds[1] = {signal_fd, kPollIn, 0};
        fds[2] = {pasta_fd, kPollIn, 0};  // -1 once said: poll skips it
        for (int i = 0; i < relay_count; ++i) fds[kRelaysAt + i] = {relays[i].open ? relays[i].from : -1, kPollIn, 0};
        long ready = syscall6(kSysPoll, reinterpret_cast<long>(fds), kRelaysAt + relay_count, -1);
        if (ready == -kEINTR) continue;
        if (ready < 0) fail("poll failed");
        if (fds[1].revents & kPollIn) {
            // signalfd_siginfo records of 128 bytes; the signal number is the first 4.
            static unsigned int record[32];
            while (syscall6(kSysRead, signal_fd, reinterpret_cast<long>(record), sizeof record) == sizeof record) {
                const int signo = static_cast<int>(record[0]);
                if (signo == kSigWinch) continue;  // a detached container has no window to follow
                forwarded = signo;
                syscall6(kSysPidfdSendSignal, pidfd, signo, 0, 0);
            }
        }
        if (fds[2].revents & kPollIn) {
            say_pasta_ended(pasta_fd);
            pasta_fd = -1;
        }
        for (int i = 0; i < relay_count; ++i)
            if (relays[i].open && (fds[kRelaysAt + i].revents & (kPollIn | kPollHup | kPollErr)) && !pump(relays[i]))
                relays[i].open = false;
        if (fds[0].revents & kPollIn) break;
    }
    // The command has exited: what it wrote before that goes into the log first.
    for (int i = 0; i < relay_count; ++i) {
        if (!relays[i].open) continue;
        syscall6(kSysFcntl, relays[i].from, kFSetFl, syscall6(kSysFcntl, relays[i].from, kFGetFl) | kONonblock);
        while (pump(relays[i])) {
            PollFd p = {relays[i].from, kPollIn, 0};
            if (syscall6(kSysPoll, reinterpret_cast<long>(&p), 1, 0) <= 0 || !(p.revents & kPollIn)) break;
        }
    }
    // siginfo_t: si_code at byte 8, si_status at byte 24 (x86-64). WNOWAIT: the command stays a
    // zombie, its pid taken, until hutch has recorded the exit (resume_after_exit reaps it):
    // until then the record says "running" with that pid, and no other process may get it.
    static int info[32];
    long waited;
    while ((waited = syscall6(kSysWaitid, kPPidfd, pidfd, reinterpret_cast<long>(info), kWExited | kWNowait, 0)) ==
           -kEINTR) {
    }
    if (waited < 0) fail("waitid on the command's pidfd failed");
    const int status = info[2] == kCldExited ? info[6] : 128 + info[6];

    static char status_text[4], signal_text[4];
    format_small(status, status_text);
    format_small(forwarded, signal_text);
    // "exit N\n", as ContainerRecord::record_exit writes it: `hutch wait` has the status even if
    // hutch cannot be run again (its binary was overwritten in place, say).
    static char record[12] = "exit ";
    int length = 5;
    for (int i = 0; status_text[i]; ++i) record[length++] = status_text[i];
    record[length++] = '\n';
    syscall6(kSysPwrite, lock_fd, reinterpret_cast<long>(record), length, 0);
    static char* next[kMaxArgs + 1];
    int n = 0;
    for (long i = 7; i < argc - 2; ++i) next[n++] = argv[i];
    next[n++] = status_text;
    next[n++] = signal_text;
    next[n] = nullptr;
    // Only what hutch was told about survives the exec: these were the monitor's own.
    syscall6(kSysFcntl, pidfd, kFSetFd, kFdCloexec);
    syscall6(kSysFcntl, signal_fd, kFSetFd, kFdCloexec);
    syscall6(kSysFcntl, hutch_fd, kFSetFd, kFdCloexec);
    if (with_pasta) syscall6(kSysFcntl, parse_fd(argv[6]), kFSetFd, kFdCloexec);
    for (int i = 0; i < relay_count; ++i) syscall6(kSysFcntl, relays[i].from, kFSetFd, kFdCloexec);
    syscall6(kSysExecveat, hutch_fd, reinterpret_cast<long>(""), reinterpret_cast<long>(next), reinterpret_cast<long>(envp),
             kAtEmptyPath);
    fail("cannot run hutch again to record the container's exit (execveat failed)");
}

HUTCH_FREESTANDING_START(monitor_main);
