// Errors that say what failed, where and why.
//
// Every failure hutch reports carries the step it was taking (what a user would call it), the
// syscall that failed, the path or object it was applied to, and errno. The CLI prints it once
// as `hutch: <step>: <syscall> <path>: <strerror>` and exits with the error's exit code.
#pragma once

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hutch {

// A value as a one-line error names it: "value". (Not `quoted`: <iomanip>'s std::quoted, which
// nlohmann/json brings, would win argument-dependent lookup for a std::string.)
inline std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Exit codes shared with docker: 125 is hutch's own failure, 126 the command cannot be
// invoked, 127 the command was not found.
inline constexpr int kExitHutchError = 125;
inline constexpr int kExitCannotInvoke = 126;
inline constexpr int kExitNotFound = 127;

// A command that cannot be executed, in runc's words: `exec: "CMD": executable file not found in
// $PATH` (err 0: not on the PATH), `exec: "/CMD": stat /CMD: no such file or directory`, `exec:
// "CMD": permission denied` (a directory too, as runc's lookup says). Docker, containerd and
// podman match these lowercase texts to exit 127 and 126; a user reads the same as from runc.
inline std::string exec_failure_text(const std::string& command, int err) {
    std::string head = "exec: \"" + command + "\": ";
    if (err == 0) return head + "executable file not found in $PATH";
    if (err == EISDIR) err = EACCES;
    std::string why = std::strerror(err);
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    if ((err == ENOENT || err == ENOTDIR) && command.find('/') != std::string::npos) return head + "stat " + command + ": " + why;
    return head + why;
}

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, int exit_code = kExitHutchError)
        : std::runtime_error(message), exit_code_(exit_code) {}
    int exit_code() const { return exit_code_; }

private:
    int exit_code_;
};

// A bad value given by the user: the message names the value. Always exit 125.
class UsageError : public Error {
public:
    explicit UsageError(const std::string& message) : Error(message) {}
};

// A failed system call, with the step, the call, the object and errno.
class SysError : public Error {
public:
    SysError(std::string step, std::string syscall, std::string object, int err,
             int exit_code = kExitHutchError)
        : Error(format(step, syscall, object, err), exit_code),
          step_(std::move(step)), syscall_(std::move(syscall)), object_(std::move(object)),
          errno_(err) {}

    const std::string& step() const { return step_; }
    const std::string& syscall() const { return syscall_; }
    const std::string& object() const { return object_; }
    int error_number() const { return errno_; }

private:
    static std::string format(const std::string& step, const std::string& syscall,
                              const std::string& object, int err) {
        std::string out = step + ": " + syscall;
        if (!object.empty()) out += " " + object;
        out += ": ";
        out += std::strerror(err);
        return out;
    }
    std::string step_, syscall_, object_;
    int errno_;
};

// Throws SysError(step, syscall, object, errno) when `result` is -1.
template <typename T>
T check(T result, const char* step, const char* syscall, const std::string& object = {}) {
    if (result == static_cast<T>(-1)) throw SysError(step, syscall, object, errno);
    return result;
}

}  // namespace hutch
