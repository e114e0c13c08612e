// hutch-probe: prints the view from inside a container (namespaces, ids, capabilities, seccomp,
// which sensitive syscalls are blocked, read-only and masked mounts, hostname, the runtime it
// believes it is in), as aligned text or as JSON.
//
// A static program (libc and the C++ runtime only) so it runs in any root filesystem; `hutch run
// --probe` bind-mounts it read-only at /dev/.hutch-probe. It reads /proc and tries a list of calls
// that are made to fail harmlessly (syscalls.cpp) and a list of device nodes it makes and opens
// without reading or writing them (devices.cpp, in a scratch directory it removes); it writes
// nothing else anywhere but stdout, and it never changes its own namespaces, the clock, the
// hostname or any mount.
//
// This file is the command line; what it reads is gather.hpp's (process.cpp, mounts.cpp),
// syscalls.cpp's and devices.cpp's, and report.hpp prints it.
#include <cstdio>
#include <optional>
#include <string>

#include "caps/probe/report.hpp"

namespace hutch::probe {
namespace {

struct SectionName {
    const char* flag;
    unsigned bit;
};
constexpr SectionName kSections[] = {
    {"ns", kNs}, {"ids", kIds}, {"caps", kCaps}, {"seccomp", kSeccomp}, {"syscalls", kSyscalls},
    {"syscalls32", kSyscalls32}, {"mounts", kMounts}, {"runtime", kRuntime}, {"devices", kDevices}, {"all", kAll},
};

void usage(std::FILE* to) {
    std::fprintf(to,
        "Usage: hutch-probe [--json] [--only SECTION[,SECTION...]]\n"
        "Prints what a process sees from inside a container.\n"
        "\n"
        "  --json           JSON instead of text\n"
        "  --only SECTIONS  print only these sections (repeatable, comma-separated):\n"
        "                   ns, ids, caps, seccomp, syscalls, syscalls32, mounts, runtime, devices,\n"
        "                   all\n"
        "  -h, --help       this text\n"
        "\n"
        "syscalls tries sensitive calls (mount, unshare, bpf, reboot, ...) with arguments the kernel\n"
        "rejects before it acts, each in a short-lived child: \"blocked (EPERM)\" or \"blocked\n"
        "(ENOSYS)\" when refused, \"allowed (<errno>)\" when the kernel got to judge the arguments.\n"
        "Nothing is changed, even as root with every capability. syscalls32 does the same through\n"
        "the i386 ABI (int $0x80), which a seccomp filter must cover separately.\n"
        "\n"
        "devices makes a fixed list of device nodes with mknod in a scratch directory it creates\n"
        "(/dev/.hutch-probe-devices-*, else /tmp) and opens each O_RDONLY|O_NONBLOCK|O_NOCTTY, closing\n"
        "it at once: \"denied (EPERM)\" is the device policy's refusal (or a missing capability's,\n"
        "noted), anything else means the policy let it through. The list: null zero full random\n"
        "urandom tty ptmx pts tun (Docker allows them), fuse hwrng cpu_dma_latency tty0 kmsg and a\n"
        "host block device that exists, an unbound loop device if any (Docker denies them). Each is\n"
        "on it because opening it has no lasting effect: nothing is read or written; a watchdog\n"
        "(opening arms it) is never on it.\n");
}

// Adds the comma-separated sections of `list` to `only`; false (after saying why) on a name that
// is none.
bool add_sections(const std::string& list, unsigned& only) {
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        unsigned bit = 0;
        for (const auto& s : kSections)
            if (name == s.flag) bit = s.bit;
        if (!bit) {
            std::fprintf(stderr,
                         "hutch-probe: unknown section \"%s\" (ns, ids, caps, seccomp, "
                         "syscalls, syscalls32, mounts, runtime, devices, all)\n",
                         name.c_str());
            return false;
        }
        only |= bit;
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return true;
}

struct Args {
    bool json = false;
    unsigned only = 0;
};

// The command line into `args`; an exit status when the program is done (help, a bad argument).
std::optional<int> parse_args(int argc, char** argv, Args& args) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--json") {
            args.json = true;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "--only" || a.rfind("--only=", 0) == 0) {
            std::string list;
            if (a == "--only") {
                if (i + 1 >= argc) {
                    std::fprintf(stderr, "hutch-probe: --only needs a section\n");
                    return 2;
                }
                list = argv[++i];
            } else {
                list = a.substr(7);
            }
            if (!add_sections(list, args.only)) return 2;
        } else {
            std::fprintf(stderr, "hutch-probe: unknown argument \"%s\" (see --help)\n", a.c_str());
            return 2;
        }
    }
    return std::nullopt;
}

Report gather(unsigned sections) {
    Report r;
    r.sections = sections;
    if (r.sections & kNs) r.ns = gather_namespaces();
    if (r.sections & kIds) r.ids = gather_ids();
    if (r.sections & kCaps) r.caps = gather_caps();
    if (r.sections & kSeccomp) r.seccomp = gather_seccomp();
    std::fflush(stdout);  // nothing buffered may be duplicated into the children
    if (r.sections & kSyscalls) r.sys64 = probe_syscalls(Abi::x86_64);
    if (r.sections & kSyscalls32) r.sys32 = probe_syscalls(Abi::i386);
    r.sys32.abi = Abi::i386;
    if (r.sections & (kMounts | kRuntime)) r.mounts = gather_mounts();
    if (r.sections & kRuntime) r.runtime = gather_runtime(r.mounts);
    if (r.sections & kDevices) r.devices = probe_devices();
    return r;
}

int run(int argc, char** argv) {
    Args args;
    if (auto done = parse_args(argc, argv, args)) return *done;
    Report r = gather(args.only ? args.only : kAll);
    if (args.json) print_json(r);
    else print_text(r);
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) return 1;
    return 0;
}

}  // namespace
}  // namespace hutch::probe

int main(int argc, char** argv) { return hutch::probe::run(argc, argv); }
