#include "caps/seccomp_filter.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/fd.hpp"
#include "runtime/interrupt.hpp"

namespace hutch::seccomp {
namespace {

struct ActionInfo {
    std::string_view name;
    std::uint32_t value;   // with the errno/trace data bits zero
    bool takes_errno;      // errnoRet goes into the low 16 bits
    bool supported;
};

// The OCI action names (config-linux.md#seccomp). SCMP_ACT_KILL is libseccomp's old name for
// killing the thread.
constexpr std::array<ActionInfo, 9> kActions = {{
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false, true},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, true},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, true},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, true},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true, true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true, true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, true},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false, true},
    // Needs a listener and an agent answering each call; hutch runs none.
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false, false},
}};

struct OperatorInfo {
    std::string_view name;
    scmp_compare op;
};

constexpr std::array<OperatorInfo, 7> kOperators = {{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

struct FlagInfo {
    std::string_view name;
    unsigned value;
    bool supported;
};

constexpr std::array<FlagInfo, 6> kFlags = {{
    {"SECCOMP_FILTER_FLAG_TSYNC", 1U << 0, true},
    {"SECCOMP_FILTER_FLAG_LOG", 1U << 1, true},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1U << 2, true},
    // These change how the filter is used (a listener fd, thread-sync errors), not what it
    // allows: hutch has no use for them.
    {"SECCOMP_FILTER_FLAG_NEW_LISTENER", 1U << 3, false},
    {"SECCOMP_FILTER_FLAG_TSYNC_ESRCH", 1U << 4, false},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1U << 5, false},
}};

// Every architecture libseccomp 2.5 can name; used to tell a typo from a syscall of another
// architecture.
constexpr std::array<const char*, 19> kAllArches = {
    "x86_64", "x86",   "x32",     "aarch64",  "arm",      "mips",      "mipsel",
    "mips64", "mipsel64", "mips64n32", "mipsel64n32", "parisc", "parisc64", "ppc",
    "ppc64",  "ppc64le", "s390",  "s390x",    "riscv64"};

const ActionInfo* find_action(std::string_view name) {
    for (const auto& a : kActions)
        if (a.name == name) return &a;
    return nullptr;
}

const OperatorInfo* find_operator(std::string_view name) {
    for (const auto& o : kOperators)
        if (o.name == name) return &o;
    return nullptr;
}

const FlagInfo* find_flag(std::string_view name) {
    for (const auto& f : kFlags)
        if (f.name == name) return &f;
    return nullptr;
}


// "SCMP_ARCH_X86_64" -> libseccomp's token, 0 when unknown.
std::uint32_t arch_token(std::string_view scmp_arch) {
    constexpr std::string_view kPrefix = "SCMP_ARCH_";
    if (scmp_arch.substr(0, kPrefix.size()) != kPrefix || scmp_arch.size() == kPrefix.size())
        return 0;
    std::string lower(scmp_arch.substr(kPrefix.size()));
    for (char& c : lower) {
        if (c >= 'a' && c <= 'z') return 0;  // the OCI names are upper case
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return ::seccomp_arch_resolve_name(lower.c_str());
}

[[noreturn]] void bad_field(const std::string& path, const std::string& why) {
    throw UsageError("linux.seccomp: " + path + ": " + why);
}

std::string at(const char* field, std::size_t i) {
    return std::string(field) + "[" + std::to_string(i) + "]";
}

// The action's libseccomp value, errnoRet folded in (EPERM when absent, as runc and crun).
// `agent`: the profile names a listenerPath, so SCMP_ACT_NOTIFY has someone to answer it.
std::uint32_t action_value(const std::string& path, const std::string& action,
                           const std::optional<std::uint32_t>& errno_ret,
                           const std::string& errno_path, bool agent) {
    if (action == "SCMP_ACT_NOTIFY" && !agent)
        bad_field(path, "SCMP_ACT_NOTIFY needs a seccomp agent: set linux.seccomp.listenerPath");
    if (auto why = action_error(action); !why.empty() && action != "SCMP_ACT_NOTIFY") bad_field(path, why);
    const ActionInfo* info = find_action(action);
    if (!info->takes_errno) {
        if (errno_ret) bad_field(errno_path, errno_ret_error(action, *errno_ret));
        return info->value;
    }
    std::uint32_t data = errno_ret.value_or(EPERM);
    if (auto why = errno_ret_error(action, data); !why.empty()) bad_field(errno_path, why);
    return info->value | data;
}

struct ContextDeleter {
    void operator()(void* ctx) const { ::seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

std::vector<sock_filter> export_bpf(const Context& ctx) {
    Fd fd(check(::memfd_create("hutch-seccomp-bpf", MFD_CLOEXEC), "compile the seccomp filter",
                "memfd_create", "hutch-seccomp-bpf"));
    if (int rc = ::seccomp_export_bpf(ctx.get(), fd.get()); rc < 0)
        throw SysError("compile the seccomp filter", "seccomp_export_bpf", "", -rc);
    struct stat st {};
    check(::fstat(fd.get(), &st), "compile the seccomp filter", "fstat", "hutch-seccomp-bpf");
    auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0 || size % sizeof(sock_filter) != 0)
        throw Error("compile the seccomp filter: libseccomp exported " + std::to_string(size) +
                    " bytes, not whole BPF instructions");
    std::vector<sock_filter> out(size / sizeof(sock_filter));
    auto* bytes = reinterpret_cast<char*>(out.data());
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd.get(), bytes + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw SysError("compile the seccomp filter", "pread", "hutch-seccomp-bpf",
                           n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
    return out;
}

}  // namespace

std::string action_error(std::string_view action) {
    const ActionInfo* info = find_action(action);
    if (!info) return "unknown action " + in_quotes(action);
    if (!info->supported)
        return in_quotes(action) + " is not supported: hutch runs no seccomp notification agent";
    return "";
}

std::string errno_ret_error(std::string_view action, std::uint64_t errno_ret) {
    const ActionInfo* info = find_action(action);
    if (!info) return "unknown action " + in_quotes(action);
    if (!info->takes_errno)
        return "errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not " +
               std::string(action);
    // The kernel caps an errno at MAX_ERRNO; a trace message has 16 bits.
    std::uint64_t max = info->name == "SCMP_ACT_ERRNO" ? 4095 : 0xffff;
    if (errno_ret > max)
        return std::to_string(errno_ret) + " is out of range (0.." + std::to_string(max) + ")";
    return "";
}

std::string operator_error(std::string_view op) {
    return find_operator(op) ? "" : "unknown operator " + in_quotes(op);
}

std::string architecture_error(std::string_view scmp_arch) {
    return arch_token(scmp_arch) ? "" : "unknown architecture " + in_quotes(scmp_arch);
}

std::string flag_error(std::string_view flag) {
    const FlagInfo* info = find_flag(flag);
    if (!info) return "unknown flag " + in_quotes(flag);
    if (!info->supported) return in_quotes(flag) + " is not supported by hutch";
    return "";
}

std::string syscall_name_error(std::string_view name) {
    if (name.empty()) return "an empty syscall name";
    if (name.size() > kMaxNameLength)
        return "a syscall name of " + std::to_string(name.size()) + " characters (at most " +
               std::to_string(kMaxNameLength) + ")";
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return in_quotes(name) + " is not a syscall name (a-z, 0-9 and _ only)";
    return "";
}

bool syscall_known(std::string_view name) {
    if (!syscall_name_error(name).empty()) return false;
    std::string n(name);
    if (::seccomp_syscall_resolve_name(n.c_str()) != __NR_SCMP_ERROR) return true;
    for (const char* arch : kAllArches) {
        std::uint32_t token = ::seccomp_arch_resolve_name(arch);
        if (token && ::seccomp_syscall_resolve_name_arch(token, n.c_str()) != __NR_SCMP_ERROR)
            return true;
    }
    return false;
}

namespace {

void check_limits(const Seccomp& seccomp) {
    if (seccomp.syscalls.size() > kMaxRules)
        bad_field("syscalls", std::to_string(seccomp.syscalls.size()) + " rules; hutch accepts at most " +
                             std::to_string(kMaxRules));
    std::size_t conditioned = 0;
    for (std::size_t i = 0; i < seccomp.syscalls.size(); ++i) {
        const SeccompSyscall& rule = seccomp.syscalls[i];
        if (!rule.args.empty() && rule.names.size() <= kMaxNamesPerRule)
            conditioned += std::unordered_set<std::string>(rule.names.begin(), rule.names.end()).size();
        if (conditioned > kMaxConditionedRules)
            bad_field(at("syscalls", i), "more than " + std::to_string(kMaxConditionedRules) +
                                        " rules with argument conditions (one per name) up to here; hutch accepts at most " +
                                        std::to_string(kMaxConditionedRules));
        if (rule.names.size() > kMaxNamesPerRule)
            bad_field(at("syscalls", i) + ".names", std::to_string(rule.names.size()) +
                                                   " names; hutch accepts at most " +
                                                   std::to_string(kMaxNamesPerRule) + " in one rule");
        if (rule.args.size() > kMaxArgsPerRule)
            bad_field(at("syscalls", i) + ".args", std::to_string(rule.args.size()) +
                                                  " conditions; at most " + std::to_string(kMaxArgsPerRule));
    }
}

// The libseccomp conditions of one rule: one rule, conditions ANDed; or one rule per condition
// when an argument is tested twice (see the header).
std::vector<std::vector<scmp_arg_cmp>> rule_conditions(const SeccompSyscall& rule, const std::string& path) {
    std::vector<scmp_arg_cmp> conditions;
    bool same_argument_twice = false;
    std::array<int, 6> uses{};
    for (std::size_t k = 0; k < rule.args.size(); ++k) {
        const SeccompArg& a = rule.args[k];
        const std::string arg_path = path + "." + at("args", k);
        if (a.index > 5) bad_field(arg_path + ".index", std::to_string(a.index) + " is not 0..5");
        if (auto why = operator_error(a.op); !why.empty()) bad_field(arg_path + ".op", why);
        if (++uses[a.index] > 1) same_argument_twice = true;
        conditions.push_back({a.index, find_operator(a.op)->op, a.value, a.value_two});
    }
    std::vector<std::vector<scmp_arg_cmp>> rules;
    if (same_argument_twice)
        for (const auto& c : conditions) rules.push_back({c});
    else
        rules.push_back(conditions);
    return rules;
}

// One libseccomp rule already added: (syscall number, action, conditions) as bytes. A profile
// that repeats a name (40,000 copies of "read") adds it once: each seccomp_rule_add walks the
// syscall's existing rules, so repeats made compiling quadratic.
std::string rule_key(int nr, std::uint32_t action, const std::vector<scmp_arg_cmp>& conditions) {
    std::string key(reinterpret_cast<const char*>(&nr), sizeof nr);
    key.append(reinterpret_cast<const char*>(&action), sizeof action);
    for (const auto& c : conditions) {
        key.append(reinterpret_cast<const char*>(&c.arg), sizeof c.arg);
        key.append(reinterpret_cast<const char*>(&c.op), sizeof c.op);
        key.append(reinterpret_cast<const char*>(&c.datum_a), sizeof c.datum_a);
        key.append(reinterpret_cast<const char*>(&c.datum_b), sizeof c.datum_b);
    }
    return key;
}

// Whether libseccomp knows `name`, asked once per distinct name.
class KnownNames {
public:
    bool known(const std::string& name) {
        auto [it, fresh] = known_.try_emplace(name, false);
        if (fresh) it->second = syscall_known(name);
        return it->second;
    }

private:
    std::unordered_map<std::string, bool> known_;
};

}  // namespace

std::vector<std::string> unknown_syscalls(const Seccomp& seccomp) {
    KnownNames names;
    std::unordered_set<std::string> seen;
    std::vector<std::string> out;
    for (const auto& rule : seccomp.syscalls)
        for (const auto& name : rule.names)
            if (syscall_name_error(name).empty() && !names.known(name) && seen.insert(name).second)
                out.push_back(name);
    return out;
}

Program compile(const Seccomp& seccomp) {
    if (seccomp.default_action.empty()) bad_field("defaultAction", "missing");
    check_limits(seccomp);
    const bool agent = !seccomp.listener_path.empty();
    // As runc: the agent answers some calls, not every one (its own would wait on it).
    if (seccomp.default_action == "SCMP_ACT_NOTIFY") bad_field("defaultAction", "SCMP_ACT_NOTIFY cannot be the default");
    const std::uint32_t default_action = action_value(
        "defaultAction", seccomp.default_action, seccomp.default_errno_ret, "defaultErrnoRet", agent);

    Program program;
    for (std::size_t i = 0; i < seccomp.flags.size(); ++i) {
        if (auto why = flag_error(seccomp.flags[i]); !why.empty()) bad_field(at("flags", i), why);
        program.flags |= find_flag(seccomp.flags[i])->value;
    }

    Context ctx(::seccomp_init(default_action));
    if (!ctx) throw Error("compile the seccomp filter: seccomp_init failed");
    // A binary search over syscall numbers instead of a linear list: every system call the
    // container makes runs this filter, and loading a shorter program is cheaper too.
    ::seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (std::size_t i = 0; i < seccomp.architectures.size(); ++i) {
        const std::string& arch = seccomp.architectures[i];
        std::uint32_t token = arch_token(arch);
        if (!token) bad_field(at("architectures", i), architecture_error(arch));
        // The native architecture is in every new filter already: EEXIST.
        if (int rc = ::seccomp_arch_add(ctx.get(), token); rc < 0 && rc != -EEXIST)
            throw SysError("compile the seccomp filter", "seccomp_arch_add", arch, -rc);
    }

    KnownNames names;
    std::unordered_set<std::string> added;
    for (std::size_t i = 0; i < seccomp.syscalls.size(); ++i) {
        interrupt::check();  // a large profile is a slow start: SIGTERM ends it here
        const SeccompSyscall& rule = seccomp.syscalls[i];
        const std::string path = at("syscalls", i);
        const std::uint32_t action =
            action_value(path + ".action", rule.action, rule.errno_ret, path + ".errnoRet", agent);
        if (rule.action == "SCMP_ACT_NOTIFY") program.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        const auto rules = rule_conditions(rule, path);
        if (rule.names.empty()) bad_field(path + ".names", "no syscall names");
        for (std::size_t j = 0; j < rule.names.size(); ++j) {
            const std::string& name = rule.names[j];
            if (auto why = syscall_name_error(name); !why.empty()) bad_field(path + "." + at("names", j), why);
            // libseccomp refuses a rule that repeats the default action; it changes nothing.
            // A name libseccomp does not know is skipped (unknown_syscalls() lists them).
            if (action == default_action || !names.known(name)) continue;
            // Native number (negative for a call the native architecture lacks); libseccomp
            // translates it for each architecture of the filter and skips those without it.
            int nr = ::seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) continue;
            for (const auto& r : rules) {
                if (!added.insert(rule_key(nr, action, r)).second) continue;
                int rc = ::seccomp_rule_add_array(ctx.get(), action, nr,
                                                  static_cast<unsigned>(r.size()), r.data());
                // EEXIST: an earlier rule gave this call another action for the same arguments.
                // A call has one; runc fails such a start too ("file exists"), so say it plainly.
                if (rc == -EEXIST)
                    bad_field(path + "." + at("names", j),
                         in_quotes(name) + " already has another action from an earlier rule (after the "
                         "caps and arches includes/excludes): a call takes one action");
                if (rc < 0)
                    bad_field(path + "." + at("names", j),
                         "libseccomp refused the rule for " + in_quotes(name) + ": " +
                             std::strerror(-rc));
            }
        }
    }

    if (agent && !makes_listener(program))
        bad_field("listenerPath", "is set, but no rule has the action SCMP_ACT_NOTIFY");
    // The kernel refuses a listener with TSYNC (EINVAL) unless TSYNC_ESRCH, which hutch does
    // not take, is set too.
    if (makes_listener(program) && (program.flags & SECCOMP_FILTER_FLAG_TSYNC))
        bad_field("flags", "SECCOMP_FILTER_FLAG_TSYNC cannot go with SCMP_ACT_NOTIFY rules (the kernel refuses it)");
    program.instructions = export_bpf(ctx);
    if (program.instructions.size() > BPF_MAXINSNS)
        throw UsageError("linux.seccomp: the filter has " +
                         std::to_string(program.instructions.size()) +
                         " BPF instructions; the kernel loads at most " +
                         std::to_string(BPF_MAXINSNS));
    return program;
}

namespace {

// An observing filter: every call of every architecture the host runs gets `action`. Another
// architecture is the spec's filter's business; killing it here would change what the workload
// does.
Program compile_observer(std::uint32_t action) {
    Context ctx(::seccomp_init(action));
    if (!ctx) throw Error("compile the observing seccomp filter: seccomp_init failed (out of memory)");
    ::seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
    if (::seccomp_arch_native() == SCMP_ARCH_X86_64)
        for (std::uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32})
            if (int rc = ::seccomp_arch_add(ctx.get(), arch); rc < 0 && rc != -EEXIST)
                throw SysError("compile the observing seccomp filter", "seccomp_arch_add", "", -rc);
    // Not observed: a call waiting for its notification is interrupted by any signal, and its
    // syscall then fails with EINTR where the handler lacks SA_RESTART. A shell's
    // rt_sigprocmask(SIG_SETMASK, all, &old) failing so left busybox ash in sigsuspend with every
    // signal blocked, for ever. These never block, so no program retries them: they go unseen
    // and every generated profile allows them (unobserved_syscalls()).
    if (action == SCMP_ACT_NOTIFY)
        for (const auto& name : unobserved_syscalls())
            if (int nr = ::seccomp_syscall_resolve_name(name.c_str()); nr != __NR_SCMP_ERROR)
                if (int rc = ::seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); rc < 0)
                    throw SysError("compile the observing seccomp filter", "seccomp_rule_add", name, -rc);
    Program program;
    program.instructions = export_bpf(ctx);
    return program;
}

}  // namespace

const std::vector<std::string>& unobserved_syscalls() {
    static const std::vector<std::string> calls = {"rt_sigprocmask", "rt_sigaction", "rt_sigreturn"};
    return calls;
}

Program compile_listener() {
    Program program = compile_observer(SCMP_ACT_NOTIFY);
    program.flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
    return program;
}

Program compile_logger() { return compile_observer(SCMP_ACT_LOG); }

bool makes_listener(const Program& program) { return program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER; }

int install_observer(const Program& program) {
    const bool listener = program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER;
    explain::comment("hutch profile: the observing filter, before the container's own");
    long fd = sys::kernel().seccomp_filter(program.flags, program.instructions.data(), program.instructions.size());
    if (fd < 0) throw SysError("load the observing seccomp filter", "seccomp", "SECCOMP_SET_MODE_FILTER", errno);
    return listener ? static_cast<int>(fd) : -1;
}

int install(const Program& program) {
    const char* step = "load the seccomp filter";
    if (program.instructions.empty() || program.instructions.size() > BPF_MAXINSNS)
        throw Error(std::string(step) + ": a program of " +
                    std::to_string(program.instructions.size()) + " instructions cannot be loaded");
    const long fd = sys::kernel().seccomp_filter(program.flags, program.instructions.data(), program.instructions.size());
    if (fd < 0) {
        int err = errno;
        // EACCES: neither no_new_privs nor CAP_SYS_ADMIN (seccomp(2)); say so, errno alone
        // reads like a file permission problem.
        throw SysError(err == EACCES ? std::string(step) + " (needs no_new_privs or CAP_SYS_ADMIN)"
                                     : std::string(step),
                       "seccomp", "SECCOMP_SET_MODE_FILTER", err);
    }
    return makes_listener(program) ? static_cast<int>(fd) : -1;
}

}  // namespace hutch::seccomp
