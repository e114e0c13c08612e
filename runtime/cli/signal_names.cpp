// Signal names as docker kill, docker stop and --stop-signal take them: "TERM", "SIGTERM",
// "sigterm" or a number.
#include <csignal>
#include <cctype>
#include <string>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"

namespace hutch::cli {
namespace {

struct SignalName {
    const char* name;
    int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},   {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

}  // namespace

int parse_signal(const std::string& text) {
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 2) {
        int n = std::stoi(text);
        if (n >= 1 && n <= SIGRTMAX) return n;
    }
    std::string name;
    for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
    for (const auto& s : kSignals)
        if (name == s.name) return s.number;
    throw UsageError("invalid signal \"" + text + "\"");
}

}  // namespace hutch::cli
