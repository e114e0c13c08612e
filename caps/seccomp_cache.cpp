#include "caps/seccomp_cache.hpp"

#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/state.hpp"

namespace hutch::seccomp {
namespace {

constexpr char kMagic[] = "hutch-seccomp-bpf 1\n";

std::string cache_key(const Seccomp& seccomp) {
    const scmp_version* v = seccomp_version();
    // hutch's own compile() (how it splits rules, maps actions) is part of what made the BPF:
    // a rebuilt hutch never trusts filters an older build compiled.
    nlohmann::json spec_json = to_json([&] {
        Spec s;
        s.linux.seccomp = seccomp;
        return s;
    }())["linux"]["seccomp"];
    // Appended piece by piece: GCC 12 warns (-Warray-bounds, a false positive) on the chain of
    // operator+ over these literals.
    std::string key = "hutch ";
    key += __DATE__;
    key += ' ';
    key += __TIME__;
    key += ", libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
    key += ' ';
    key += spec_json.dump();
    key += '\n';
    return key;
}

}  // namespace

Program compile_cached(const Seccomp& seccomp, const std::string& dir) {
    if (explain::enabled()) {
        const scmp_version* v = seccomp_version();
        std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
        for (const auto& name : unknown_syscalls(seccomp))
            explain::comment("seccomp: \"" + name + "\" is a syscall libseccomp " + version +
                          " does not know: skipped, as runc and Docker skip it");
    }
    std::string key = cache_key(seccomp);
    char name[32];
    std::snprintf(name, sizeof name, "%016zx.bpf", std::hash<std::string>{}(key));
    std::string file = dir + "/" + name;
    try {
        // Only an entry hutch itself wrote: root's, not writable by anyone else, not a symlink.
        struct stat st {};
        if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
            (st.st_mode & 022))
            throw Error("no usable cache entry");
        std::string data = read_file(file);
        std::size_t header = sizeof kMagic - 1 + key.size() + sizeof(unsigned);
        if (data.size() > header && data.compare(0, sizeof kMagic - 1, kMagic) == 0 &&
            data.compare(sizeof kMagic - 1, key.size(), key) == 0 &&
            (data.size() - header) % sizeof(sock_filter) == 0) {
            Program program;
            std::memcpy(&program.flags, data.data() + sizeof kMagic - 1 + key.size(), sizeof(unsigned));
            program.instructions.resize((data.size() - header) / sizeof(sock_filter));
            std::memcpy(program.instructions.data(), data.data() + header, data.size() - header);
            explain::comment("seccomp filter: " + std::to_string(program.instructions.size()) +
                          " BPF instructions, compiled earlier (" + file + ")");
            return program;
        }
    } catch (const Error&) {
        // no entry yet
    }
    Program program = compile(seccomp);
    explain::comment("seccomp filter: " + std::to_string(program.instructions.size()) +
                  " BPF instructions compiled by libseccomp, kept in " + file);
    std::string data = kMagic + key;
    data.append(reinterpret_cast<const char*>(&program.flags), sizeof(unsigned));
    data.append(reinterpret_cast<const char*>(program.instructions.data()),
                program.instructions.size() * sizeof(sock_filter));
    try {
        ::mkdir(dir.c_str(), 0700);
        write_file_atomic(file, data, 0600, Durability::kRuntime);
    } catch (const Error&) {
        // a read-only or full state root costs the next start a compile, nothing more
    }
    return program;
}

}  // namespace hutch::seccomp
