#include "runtime/proc_stat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "runtime/fd.hpp"

namespace hutch {

ProcStat::ProcStat(pid_t pid) {
    if (pid <= 0) return;
    Fd fd(::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    // One line, well under this (the command name is at most 16 bytes).
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buffer, sizeof buffer - 1)) < 0 && errno == EINTR) {
    }
    if (n <= 0) return;
    const std::string text(buffer, static_cast<std::size_t>(n));
    const auto open = text.find(" ("), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return;
    fields_.push_back(text.substr(0, open));
    fields_.push_back(text.substr(open + 2, close - open - 2));
    for (std::size_t at = close + 1; at < text.size();) {
        while (at < text.size() && (text[at] == ' ' || text[at] == '\n')) ++at;
        if (at >= text.size()) break;
        const std::size_t end = text.find_first_of(" \n", at);
        fields_.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
        at = end == std::string::npos ? text.size() : end;
    }
}

const std::string& ProcStat::field(int n) const {
    static const std::string kNone;
    return n >= 1 && static_cast<std::size_t>(n) <= fields_.size() ? fields_[static_cast<std::size_t>(n) - 1] : kNone;
}

}  // namespace hutch
