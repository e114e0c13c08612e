// Pure parsing and formatting for hutch-probe: no system calls here, so the unit tests cover
// them without privileges. Deliberately independent of hutch_core: the probe is a static program
// that runs inside foreign root filesystems and must not drag libcap-ng, libseccomp or libmnl in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hutch::probe {

// ---- namespaces -------------------------------------------------------------------------------

// The inode number in a /proc/self/ns/* link: "pid:[4026531836]" -> 4026531836.
std::optional<std::uint64_t> ns_inode(std::string_view link);

// True when `inode` is the fixed number the kernel gives the initial namespace of that kind
// (include/linux/proc_ns.h: PROC_*_INIT_INO). mnt and net have fixed numbers only in recent
// kernels: on older ones this is false for them even in the initial namespaces.
bool is_initial_ns(std::string_view kind, std::uint64_t inode);

// ---- /proc/self/status and friends --------------------------------------------------------------

// "Name:\tvalue" lines -> {Name: value}, values trimmed.
std::map<std::string, std::string> parse_status(std::string_view text);

std::optional<std::uint64_t> parse_hex(std::string_view text);
std::optional<long long> parse_int(std::string_view text);

// Capability numbers as in linux/capability.h: 0 = CAP_CHOWN ... 40 = CAP_CHECKPOINT_RESTORE.
// Unknown numbers print as "CAP_41".
inline constexpr int kKnownCaps = 41;
std::string cap_name(int cap);
std::vector<std::string> cap_names(std::uint64_t set);

// One line of /proc/self/{uid,gid}_map.
struct IdMapLine {
    std::uint64_t inside = 0, outside = 0, count = 0;
};
std::vector<IdMapLine> parse_id_map(std::string_view text);

std::string_view seccomp_mode_name(long long mode);  // 0 disabled, 1 strict, 2 filter

// ---- mountinfo ---------------------------------------------------------------------------------

// One line of /proc/self/mountinfo (proc(5)), with the octal escapes (\040 ...) decoded.
struct MountEntry {
    int id = 0, parent = 0;
    unsigned major = 0, minor = 0;
    std::string root;           // path inside the source filesystem ("/null" for a /dev/null bind)
    std::string mount_point;
    std::string options;        // per-mount: rw|ro,nosuid,...
    std::vector<std::string> optional;  // shared:N master:N propagate_from:N unbindable
    std::string fstype;
    std::string source;
    std::string super_options;  // per-superblock
};
std::optional<MountEntry> parse_mountinfo_line(std::string_view line);
std::vector<MountEntry> parse_mountinfo(std::string_view text);
std::string unescape_mountinfo(std::string_view field);

// True when the comma-separated `options` contain exactly `option`.
bool has_option(std::string_view options, std::string_view option);

// "private", or the propagation tags joined ("shared:1 master:3").
std::string propagation(const MountEntry& m);

// True for `path` equal to `dir` or below it ("/proc/kcore" is under "/proc").
bool path_under(std::string_view path, std::string_view dir);

// ---- syscall outcomes --------------------------------------------------------------------------

// What happened when one sensitive call was tried in a throwaway child.
struct Outcome {
    enum class Kind { returned, killed, timed_out, not_run } kind = Kind::not_run;
    long ret = 0;    // the return value when err == 0
    int err = 0;     // errno when the call failed
    int signal = 0;  // when killed
    std::string why_not_run;
};

// The verdict on one outcome. `expected` are the errnos the kernel answers when the call is
// allowed (with the arguments the probe uses); `ok_expected` when success is an allowed answer.
//   EPERM / ENOSYS                -> blocked ("blocked (EPERM)")
//   an expected errno or success  -> allowed ("allowed (ENOENT)", "allowed (ok)")
//   killed by SIGSYS              -> blocked ("blocked (killed by SIGSYS)")
//   any other errno               -> unexpected ("unexpected (EACCES)": an LSM or a profile with
//                                    its own errno may be answering; the probe does not guess)
struct Verdict {
    enum class State { blocked, allowed, unknown } state = State::unknown;
    std::string text;        // "blocked (EPERM)"
    std::string errno_name;  // "EPERM", empty when none
    std::string signal_name; // "SIGSYS", empty when none
};
Verdict judge(const Outcome& o, const std::vector<int>& expected, bool ok_expected);

// "ENOENT" for 2; "errno 4242" when the C library has no name for it.
std::string errno_name(int err);
// "SIGSYS" for 31; "signal 99" when unknown.
std::string signal_name(int sig);

// ---- devices ------------------------------------------------------------------------------------

// One device the `devices` section tries: mknod in a scratch directory, then an open with
// O_RDONLY|O_NONBLOCK|O_NOCTTY, closed at once. Only devices whose open has no lasting effect are
// listed; never a watchdog (10:130: opening one arms it, and the host reboots unless it is fed).
struct ProbeDevice {
    std::string name;
    char type = 'c';
    unsigned major = 0, minor = 0;
    bool docker_allows = false;  // under Docker's default policy (open; mknod is always allowed)
    std::string why;             // why it is on the list, and why opening it is harmless
    std::string skip;            // non-empty: not tried here, and why
    bool open = true;            // false: mknod only (opening would load a driver)
};

// A host block device as /sys/dev/block lists it: "M:m", its "removable" and "size" files ("" if
// unreadable).
struct BlockDevice {
    std::string numbers, removable, size;
};

// The list, given /proc/misc (dynamic misc minors, cpu_dma_latency's) and the host's block
// devices. The block device tried is one that exists (so opening its node never makes the kernel
// load a driver or create a device): an unbound loop device (size 0: no data behind it) when
// there is one, else a fixed disk; none: mknod only.
std::vector<ProbeDevice> probe_device_list(std::string_view proc_misc, const std::vector<BlockDevice>& block_devices);

// The minor /proc/misc gives `name` ("259 cpu_dma_latency" -> 259).
std::optional<unsigned> misc_minor(std::string_view proc_misc, std::string_view name);

// The verdict on an open or mknod errno: EPERM is the device policy's (or a capability's)
// refusal; anything else (0, ENXIO from a driver with nothing behind the node) means the policy
// let the call through. "allowed (ok)", "allowed (ENXIO)", "denied (EPERM)".
std::string device_verdict(int err);

// ---- output ------------------------------------------------------------------------------------

// A JSON string literal, quotes included; control characters and non-UTF-8 bytes escaped so the
// output stays valid JSON whatever a mount point or hostname contains.
std::string json_quote(std::string_view s);

// Splits `words` into lines of at most `width` columns (a word longer than that gets its own line).
std::vector<std::string> wrap_words(const std::vector<std::string>& words, std::size_t width);

}  // namespace hutch::probe
