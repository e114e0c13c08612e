#include "caps/seccomp_profile.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string_view>

#include <nlohmann/json.hpp>

#include "caps/seccomp_filter.hpp"
#include "runtime/error.hpp"
#include "runtime/interrupt.hpp"

namespace hutch::seccomp {
namespace {

using json = nlohmann::json;

// Architecture names Docker profiles use in includes/excludes. Docker compares them with Go's
// GOARCH ("amd64"); its own default profile also writes libseccomp-style names ("x86", "x32",
// "s390"). Aliases fold to one canonical name so "x86_64" matches an amd64 machine.
struct ArchName {
    std::string_view name;
    std::string_view canonical;
};
constexpr std::array<ArchName, 28> kArchNames = {{
    {"amd64", "amd64"},       {"x86_64", "amd64"},     {"386", "386"},
    {"x86", "386"},           {"i386", "386"},         {"x32", "x32"},
    {"arm", "arm"},           {"arm64", "arm64"},      {"aarch64", "arm64"},
    {"mips", "mips"},         {"mipsle", "mipsle"},    {"mipsel", "mipsle"},
    {"mips64", "mips64"},     {"mips64le", "mips64le"}, {"mipsel64", "mips64le"},
    {"mips64n32", "mips64n32"}, {"mipsel64n32", "mipsel64n32"}, {"mips64len32", "mipsel64n32"},
    {"ppc", "ppc"},           {"ppc64", "ppc64"},      {"ppc64le", "ppc64le"},
    {"s390", "s390"},         {"s390x", "s390x"},      {"parisc", "parisc"},
    {"parisc64", "parisc64"}, {"riscv64", "riscv64"},  {"loong64", "loong64"},
    {"loongarch64", "loong64"},
}};

// Go architecture -> the libseccomp architecture archMap is keyed by.
struct NativeArch {
    std::string_view go;
    std::string_view scmp;
};
constexpr std::array<NativeArch, 12> kNativeArches = {{
    {"amd64", "SCMP_ARCH_X86_64"},   {"386", "SCMP_ARCH_X86"},
    {"arm64", "SCMP_ARCH_AARCH64"},  {"arm", "SCMP_ARCH_ARM"},
    {"mips", "SCMP_ARCH_MIPS"},      {"mipsle", "SCMP_ARCH_MIPSEL"},
    {"mips64", "SCMP_ARCH_MIPS64"},  {"mips64le", "SCMP_ARCH_MIPSEL64"},
    {"ppc64", "SCMP_ARCH_PPC64"},    {"ppc64le", "SCMP_ARCH_PPC64LE"},
    {"s390x", "SCMP_ARCH_S390X"},    {"riscv64", "SCMP_ARCH_RISCV64"},
}};

std::string_view canonical_arch(std::string_view name) {
    for (const auto& a : kArchNames)
        if (a.name == name) return a.canonical;
    return {};
}

[[noreturn]] void bad_profile(const std::string& path, const std::string& why) {
    throw UsageError("seccomp profile: " + (path.empty() ? std::string() : path + ": ") + why);
}

std::string member(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
}

std::string element(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}


// Go's decoder, which Docker uses, treats null as absent; so does this parser.
const json* find(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

void only_keys(const json& obj, const std::string& path, std::initializer_list<std::string_view> keys) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
            bad_profile(member(path, it.key()), "unknown key");
}

void expect(bool ok, const json& j, const std::string& path, const char* what) {
    if (!ok) bad_profile(path, std::string("expected ") + what + ", got " + j.type_name());
}

std::string string_of(const json& j, const std::string& path) {
    expect(j.is_string(), j, path, "a string");
    return j.get<std::string>();
}

std::uint64_t unsigned_of(const json& j, const std::string& path, std::uint64_t max) {
    expect(j.is_number_unsigned() || j.is_number_integer(), j, path, "a whole number");
    if (!j.is_number_unsigned() || j.get<std::uint64_t>() > max)
        bad_profile(path, j.dump() + " is out of range (0.." + std::to_string(max) + ")");
    return j.get<std::uint64_t>();
}

std::vector<std::string> strings_of(const json& j, const std::string& path) {
    expect(j.is_array(), j, path, "an array");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < j.size(); ++i) out.push_back(string_of(j[i], element(path, i)));
    return out;
}

// An array longer than `max` is refused before its elements are read.
void within_limit(const json& j, const std::string& path, std::size_t max, const char* what, const char* where) {
    if (j.is_array() && j.size() > max)
        bad_profile(path, std::to_string(j.size()) + " " + what + "; hutch accepts at most " + std::to_string(max) + where);
}

template <typename F>
void each_object(const json& j, const std::string& path, F&& f) {
    expect(j.is_array(), j, path, "an array");
    for (std::size_t i = 0; i < j.size(); ++i) {
        std::string at = element(path, i);
        expect(j[i].is_object(), j[i], at, "an object");
        f(j[i], at);
    }
}

std::optional<KernelVersion> parse_kernel(std::string_view text) {
    // "<major>.<minor>", as moby's KernelVersion reads it.
    auto number = [](std::string_view s) -> std::optional<unsigned> {
        if (s.empty() || s.size() > 6) return std::nullopt;
        unsigned n = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + static_cast<unsigned>(c - '0');
        }
        return n;
    };
    auto dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    auto major = number(text.substr(0, dot));
    auto minor = number(text.substr(dot + 1));
    if (!major || !minor) return std::nullopt;
    return KernelVersion{*major, *minor};
}

Condition parse_condition(const json& j, const std::string& path) {
    expect(j.is_object(), j, path, "an object");
    only_keys(j, path, {"caps", "arches", "minKernel"});
    Condition c;
    if (const json* caps = find(j, "caps")) {
        std::string caps_path = member(path, "caps");
        auto names = strings_of(*caps, caps_path);
        for (std::size_t i = 0; i < names.size(); ++i) {
            auto cap = caps::number_from_name(names[i]);
            if (!cap) bad_profile(element(caps_path, i), "unknown capability " + in_quotes(names[i]));
            c.caps |= caps::bit(*cap);
        }
    }
    if (const json* arches = find(j, "arches")) {
        std::string arches_path = member(path, "arches");
        c.arches = strings_of(*arches, arches_path);
        for (std::size_t i = 0; i < c.arches.size(); ++i)
            if (canonical_arch(c.arches[i]).empty())
                bad_profile(element(arches_path, i), "unknown architecture " + in_quotes(c.arches[i]));
    }
    if (const json* min = find(j, "minKernel")) {
        std::string min_path = member(path, "minKernel");
        std::string text = string_of(*min, min_path);
        c.min_kernel = parse_kernel(text);
        if (!c.min_kernel) bad_profile(min_path, "expected \"<major>.<minor>\", got " + in_quotes(text));
    }
    return c;
}

SeccompArg parse_arg(const json& j, const std::string& path) {
    only_keys(j, path, {"index", "value", "valueTwo", "op"});
    SeccompArg a;
    if (const json* index = find(j, "index"))
        a.index = static_cast<unsigned>(unsigned_of(*index, member(path, "index"), 5));
    if (const json* value = find(j, "value"))
        a.value = unsigned_of(*value, member(path, "value"), UINT64_MAX);
    if (const json* two = find(j, "valueTwo"))
        a.value_two = unsigned_of(*two, member(path, "valueTwo"), UINT64_MAX);
    const json* op = find(j, "op");
    if (!op) bad_profile(member(path, "op"), "missing");
    a.op = string_of(*op, member(path, "op"));
    if (auto why = operator_error(a.op); !why.empty()) bad_profile(member(path, "op"), why);
    return a;
}

std::string parse_action(const json& obj, const char* key, const std::string& path) {
    const json* action = find(obj, key);
    if (!action) bad_profile(member(path, key), "missing");
    std::string out = string_of(*action, member(path, key));
    if (auto why = action_error(out); !why.empty()) bad_profile(member(path, key), why);
    return out;
}

std::optional<std::uint32_t> parse_errno(const json& obj, const char* key, const std::string& action,
                                         const std::string& path) {
    const json* value = find(obj, key);
    if (!value) return std::nullopt;
    std::string at = member(path, key);
    std::uint64_t n = unsigned_of(*value, at, UINT32_MAX);
    if (auto why = errno_ret_error(action, n); !why.empty()) bad_profile(at, why);
    return static_cast<std::uint32_t>(n);
}

ProfileSyscall parse_syscall(const json& j, const std::string& path) {
    only_keys(j, path, {"names", "name", "action", "errnoRet", "args", "comment", "includes",
                        "excludes"});
    ProfileSyscall s;
    const json* names = find(j, "names");
    const json* name = find(j, "name");
    if (names && name) bad_profile(path, "use either \"name\" or \"names\", not both");
    std::string names_path = member(path, names ? "names" : "name");
    if (names) {
        within_limit(*names, names_path, kMaxNamesPerRule, "names", " in one rule");
        s.names = strings_of(*names, names_path);
    }
    if (name) s.names.push_back(string_of(*name, names_path));
    if (s.names.empty()) bad_profile(member(path, "names"), "no syscall names");
    // Names libseccomp does not know are kept: compile() skips them, as runc and Docker do.
    for (std::size_t i = 0; i < s.names.size(); ++i)
        if (auto why = syscall_name_error(s.names[i]); !why.empty())
            bad_profile(names ? element(names_path, i) : names_path, why);
    s.action = parse_action(j, "action", path);
    s.errno_ret = parse_errno(j, "errnoRet", s.action, path);
    if (const json* args = find(j, "args")) {
        std::string args_path = member(path, "args");
        within_limit(*args, args_path, kMaxArgsPerRule, "conditions", "");
        each_object(*args, args_path, [&](const json& a, const std::string& at) {
            s.args.push_back(parse_arg(a, at));
        });
    }
    if (const json* c = find(j, "includes")) s.includes = parse_condition(*c, member(path, "includes"));
    if (const json* c = find(j, "excludes")) s.excludes = parse_condition(*c, member(path, "excludes"));
    if (const json* comment = find(j, "comment")) string_of(*comment, member(path, "comment"));
    return s;
}

bool lists_arch(const std::vector<std::string>& arches, std::string_view target) {
    std::string_view want = canonical_arch(target);
    return std::any_of(arches.begin(), arches.end(),
                       [&](const std::string& a) { return canonical_arch(a) == want; });
}

bool excluded(const Condition& c, caps::CapSet granted, const Target& target) {
    if (!c.arches.empty() && lists_arch(c.arches, target.arch)) return true;
    if (c.caps & granted) return true;
    if (c.min_kernel && target.kernel >= *c.min_kernel) return true;
    return false;
}

bool included(const Condition& c, caps::CapSet granted, const Target& target) {
    if (!c.arches.empty() && !lists_arch(c.arches, target.arch)) return false;
    if ((c.caps & granted) != c.caps) return false;
    if (c.min_kernel && target.kernel < *c.min_kernel) return false;
    return true;
}

}  // namespace

DockerProfile parse_docker_profile(const std::string& json_text) {
    if (json_text.size() > kMaxProfileBytes)
        bad_profile("", std::to_string(json_text.size()) + " bytes; hutch reads at most " +
                     std::to_string(kMaxProfileBytes) + " (1 MiB)");
    interrupt::check();
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::exception& e) {
        // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> from "parse".
        std::string what = e.what();
        auto close = what.find("] ");
        bad_profile("", "not JSON: " + (close == std::string::npos ? what : what.substr(close + 2)));
    }
    expect(doc.is_object(), doc, "(document)", "an object");
    only_keys(doc, "", {"defaultAction", "defaultErrnoRet", "architectures", "archMap",
                        "syscalls", "flags", "listenerPath", "listenerMetadata", "comment"});

    DockerProfile p;
    p.default_action = parse_action(doc, "defaultAction", "");
    p.default_errno_ret = parse_errno(doc, "defaultErrnoRet", p.default_action, "");

    if (const json* arches = find(doc, "architectures")) {
        p.architectures = strings_of(*arches, "architectures");
        for (std::size_t i = 0; i < p.architectures.size(); ++i)
            if (auto why = architecture_error(p.architectures[i]); !why.empty())
                bad_profile(element("architectures", i), why);
    }
    if (const json* map = find(doc, "archMap")) {
        each_object(*map, "archMap", [&](const json& e, const std::string& at) {
            only_keys(e, at, {"architecture", "subArchitectures"});
            ArchMapEntry entry;
            const json* arch = find(e, "architecture");
            if (!arch) bad_profile(member(at, "architecture"), "missing");
            entry.architecture = string_of(*arch, member(at, "architecture"));
            if (auto why = architecture_error(entry.architecture); !why.empty())
                bad_profile(member(at, "architecture"), why);
            if (const json* subs = find(e, "subArchitectures")) {
                std::string subs_path = member(at, "subArchitectures");
                entry.sub_architectures = strings_of(*subs, subs_path);
                for (std::size_t i = 0; i < entry.sub_architectures.size(); ++i)
                    if (auto why = architecture_error(entry.sub_architectures[i]); !why.empty())
                        bad_profile(element(subs_path, i), why);
            }
            p.arch_map.push_back(std::move(entry));
        });
    }
    if (!p.architectures.empty() && !p.arch_map.empty())
        bad_profile("archMap", "use either \"architectures\" or \"archMap\", not both");

    if (const json* flags = find(doc, "flags")) {
        p.flags = strings_of(*flags, "flags");
        for (std::size_t i = 0; i < p.flags.size(); ++i)
            if (auto why = flag_error(p.flags[i]); !why.empty()) bad_profile(element("flags", i), why);
    }
    for (const char* key : {"listenerPath", "listenerMetadata"})
        if (const json* v = find(doc, key); v && !(v->is_string() && v->get<std::string>().empty()))
            bad_profile(key, "not supported: hutch runs no seccomp notification agent");
    if (const json* comment = find(doc, "comment")) string_of(*comment, "comment");

    if (const json* syscalls = find(doc, "syscalls")) {
        within_limit(*syscalls, "syscalls", kMaxRules, "rules", "");
        each_object(*syscalls, "syscalls", [&](const json& s, const std::string& at) {
            interrupt::check();
            p.syscalls.push_back(parse_syscall(s, at));
        });
    }
    return p;
}

const DockerProfile& default_profile() {
    static const DockerProfile profile = parse_docker_profile(default_profile_json());
    return profile;
}

Target Target::native() {
    Target t;
#if defined(__x86_64__)
    t.arch = "amd64";
#elif defined(__aarch64__)
    t.arch = "arm64";
#elif defined(__i386__)
    t.arch = "386";
#elif defined(__arm__)
    t.arch = "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    t.arch = "ppc64le";
#elif defined(__s390x__)
    t.arch = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    t.arch = "riscv64";
#else
#error "hutch: add this architecture to seccomp::Target::native"
#endif
    struct utsname u {};
    if (::uname(&u) == 0) {
        // "6.1.0-18-amd64" -> 6.1
        std::string_view release = u.release;
        auto second_dot = release.find('.', release.find('.') + 1);
        auto end = release.find_first_not_of("0123456789.");
        auto cut = std::min(second_dot, end);
        if (auto k = parse_kernel(release.substr(0, cut))) t.kernel = *k;
    }
    return t;
}

Seccomp resolve(const DockerProfile& profile, caps::CapSet capabilities, const Target& target) {
    Seccomp out;
    out.default_action = profile.default_action;
    out.default_errno_ret = profile.default_errno_ret;
    out.flags = profile.flags;
    out.architectures = profile.architectures;
    std::string_view native_scmp;
    for (const auto& n : kNativeArches)
        if (n.go == canonical_arch(target.arch)) native_scmp = n.scmp;
    for (const auto& entry : profile.arch_map)
        if (entry.architecture == native_scmp) {
            out.architectures = {entry.architecture};
            out.architectures.insert(out.architectures.end(), entry.sub_architectures.begin(),
                                     entry.sub_architectures.end());
        }
    for (const auto& rule : profile.syscalls) {
        if (excluded(rule.excludes, capabilities, target)) continue;
        if (!included(rule.includes, capabilities, target)) continue;
        out.syscalls.push_back({rule.names, rule.action, rule.errno_ret, rule.args});
    }
    return out;
}

}  // namespace hutch::seccomp
