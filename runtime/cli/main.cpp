// hutch: a container launcher on raw Linux primitives.
#include <cstdio>
#include <iostream>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"

int main(int argc, char** argv) {
    using namespace hutch;
    Paths paths;
    int exit_code = 0;
    CLI::App app{"hutch: Docker-style containers on raw Linux primitives, explained", "hutch"};
    app.set_help_flag("--help", "Print this help and exit");
    app.require_subcommand(1);
    app.add_option("--root", paths.root, "Runtime state directory")->capture_default_str();
    app.add_option("--data-root", paths.data_root, "Durable data directory")->capture_default_str();
    cli::add_run_command(app, paths, exit_code, argv);
    cli::add_ps_command(app, paths, exit_code);
    cli::add_rm_command(app, paths, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            std::cout << app.help();
            return 0;
        }
        std::fprintf(stderr, "hutch: %s (see hutch --help)\n", e.what());
        return kExitHutchError;
    } catch (const Error& e) {
        std::fprintf(stderr, "hutch: %s\n", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hutch: %s\n", e.what());
        return kExitHutchError;
    }
    return exit_code;
}
