// hutch: a container launcher on raw Linux primitives.

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <iostream>

#include "netns/host_config.hpp"
#include "runtime/rootless.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/image/reexec.hpp"
#include "runtime/interrupt.hpp"
#include "runtime/monitor.hpp"

namespace {

// Error messages quote what the user typed: a newline in it must not start a second line of
// output that the user chose, so control characters print escaped.
std::string one_line(const char* message) {
    std::string out;
    for (const char* p = message; *p; ++p) {
        auto c = static_cast<unsigned char>(*p);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else out += *p;
    }
    return out;
}

void report(const char* message) { std::fprintf(stderr, "hutch: %s\n", one_line(message).c_str()); }

}  // namespace

int main(int argc, char** argv) {
    using namespace hutch;
    explain::main_began();
    image::remember_command_line(argv);
    // A reader that goes away (`--explain 2>&1 | head`) must not kill hutch between clone and
    // cleanup; the child restores the default before exec.
    std::signal(SIGPIPE, SIG_IGN);
    // Under the name hutch-oci (the link installed beside hutch), or as `hutch oci`, the
    // command line is runc's, for engines that take a runtime path.
    std::string_view invoked = argv[0];
    if (auto slash = invoked.rfind('/'); slash != std::string_view::npos) invoked.remove_prefix(slash + 1);
    if (invoked == "hutch-oci") return cli::oci_main(argc, argv);
    if (argc > 1 && std::string_view(argv[1]) == "oci") return cli::oci_main(argc - 1, argv + 1);
    // A detached container's resident monitor, back in hutch once the command exited.
    if (argc > 1 && std::string_view(argv[1]) == monitor::kExitCommand) return cli::monitor_exit_main(argc, argv);
    cli::Globals globals;
    globals.config_path = net::kDefaultHostConfig;
    Paths& paths = globals.paths;
    // A user without root: rootless hutch's roots, the user's own (runtime/rootless.hpp).
    if (rootless::active()) paths = rootless::default_paths([](const char* name) -> const char* { return std::getenv(name); });
    int exit_code = 0;
    // Never destroyed: freeing the command tree at exit is work no one needs (the process ends).
    CLI::App& app = *new CLI::App{"hutch: Docker-style containers on raw Linux primitives, explained", "hutch"};
    app.set_version_flag("--version", "hutch version " HUTCH_VERSION);
    app.set_help_flag("--help", "Print this help and exit");
    app.require_subcommand(1);
    app.formatter(cli::usage_formatter());  // before the commands: each copies its parent's
    // The environment can set them (one world per student on a shared lab machine); a flag
    // still wins.
    app.add_option("--root", paths.root, "Runtime state directory")->capture_default_str()->envname("HUTCH_ROOT");
    app.add_option("--data-root", paths.data_root, "Durable data directory")
        ->capture_default_str()
        ->envname("HUTCH_DATA_ROOT");
    app.add_option("--config", globals.config_path, "Host config file (DNS defaults, default bridge)")
        ->capture_default_str()
        ->envname("HUTCH_CONFIG");
    // Only the commands the command line names are built (runtime/cli/commands.cpp): the whole
    // tree's 300-odd options took ~3 ms of every start to build and ~2 ms to destroy.
    try {
        cli::add_commands(app, globals, exit_code, argv, cli::command_word(app, argc, argv));
    } catch (const Error& e) {  // the build's check of the command table (`__generate-docs`)
        report(e.what());
        return kExitHutchError;
    }
    // Flags and environment read, before the command runs: rootless hutch without its roots
    // says which variable to set, for every command that keeps or reads state.
    app.parse_complete_callback([&app, &paths] {
        if (!rootless::active()) return;
        for (const CLI::App* c : app.get_subcommands())
            for (const char* stateless : {"version", "completion", "__generate-docs", "audit"})
                if (c->get_name() == stateless) return;
        rootless::require_roots(paths);
    });
    // An unknown command says so, as docker's does (CLI11 alone would ask for a subcommand),
    // at every level: `hutch network connect` names `connect`.
    CLI::App* command = &app;
    std::string path = "hutch";
    for (int i = 1; i < argc; ++i) {
        std::string word = argv[i];
        // An option with its value apart ("--root DIR"): the value is no command.
        if (const CLI::Option* o = word.rfind("--", 0) == 0 ? command->get_option_no_throw(word) : nullptr;
            o && o->get_type_size() != 0) {
            ++i;
            continue;
        }
        if (word.rfind('-', 0) == 0) continue;
        if (command->get_subcommands({}).empty()) break;  // a command's own arguments from here
        auto known = command->get_subcommands([&](const CLI::App* c) { return c->check_name(word); });
        if (known.empty()) {
            report(("'" + word + "' is not a " + path + " command (see " + path + " --help)").c_str());
            return kExitHutchError;
        }
        command = known.front();
        path += " " + command->get_name();
    }
    return cli::parse_and_run(app, argc, argv, exit_code, [](const std::string& message) { report(message.c_str()); });
}

namespace hutch::cli {

int parse_and_run(CLI::App& app, int argc, char** argv, const int& exit_code,
                  const std::function<void(const std::string&)>& report, int own_error) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            std::cout << app.help();
            return 0;
        }
        report(std::string(e.what()) + " (see " + app.get_name() + " --help)");
        return own_error;
    } catch (const interrupt::Interrupted& e) {
        // Everything the start made is gone by now: say so, then end as the signal asked.
        report(e.what());
        interrupt::die_of(e.signal());
        return e.exit_code();
    } catch (const Error& e) {
        report(e.what());
        return e.exit_code() == kExitHutchError ? own_error : e.exit_code();
    } catch (const std::exception& e) {
        report(e.what());
        return own_error;
    }
    return exit_code;
}

}  // namespace hutch::cli
