// hutch's commands by family: each add_* function registers one or more top-level commands, and
// a start builds only the family its command line names. CLI11 builds a tree of objects per
// option (strings, validators, std::functions): all of hutch's commands took ~3 ms of a 30 ms
// `run --rm` to build, for one command used.
#include <seccomp.h>
#include <sys/utsname.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/go_template.hpp"

namespace hutch::cli {

namespace {

// `hutch version [--format TEMPLATE]`: docker version's block, for the one program hutch is
// (no daemon, so no Server part): the version, the OCI spec it speaks, the libseccomp it runs
// with, and the kernel and platform it runs on.
void add_version_command(CLI::App& app, int& exit_code) {
    auto* version = app.add_subcommand("version", "Show the hutch version information");
    auto format = std::make_shared<std::string>();
    version->add_option("-f,--format", *format, "Format the output using a Go template ({{.Version}})");
    version->callback([format, &exit_code]() {
        utsname host{};
        ::uname(&host);
        const scmp_version* seccomp = seccomp_version();
        std::string machine = host.machine;
        // Go's names for the architecture, as docker version prints OS/Arch.
        std::string arch = machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
        nlohmann::json info = {{"Version", HUTCH_VERSION},
                               {"OciSpec", "1.0.2"},
                               {"Libseccomp", std::to_string(seccomp->major) + "." + std::to_string(seccomp->minor) + "." +
                                                  std::to_string(seccomp->micro)},
                               {"KernelVersion", host.release},
                               {"Os", "linux"},
                               {"Arch", arch}};
        if (!format->empty()) {
            std::cout << hutch::go_template::Template(*format).render(info) << "\n";
        } else {
            std::cout << "hutch:\n"
                      << " Version:           " << HUTCH_VERSION << "\n"
                      << " OCI spec:          1.0.2\n"
                      << " libseccomp:        " << info["Libseccomp"].get<std::string>() << "\n"
                      << " Kernel Version:    " << host.release << "\n"
                      << " OS/Arch:           linux/" << arch << "\n";
        }
        exit_code = 0;
    });
}

using Adder = void (*)(CLI::App&, const Globals&, int& exit_code, char** argv);

struct Family {
    const char* names;  // the top-level commands `add` registers, space-separated
    Adder add;
    bool reads_whole_tree = false;  // completion and the docs describe every command
};

// In the order `hutch --help` lists them. The build checks the names (`__generate-docs`, below).
const Family kFamilies[] = {
    {"run create", [](CLI::App& a, const Globals& g, int& e, char** argv) { add_run_command(a, g, e, argv); }},
    {"start restart", [](CLI::App& a, const Globals& g, int& e, char** argv) { add_start_commands(a, g, e, argv); }},
    {"network", [](CLI::App& a, const Globals& g, int& e, char**) { add_network_command(a, g, e); }},
    {"ps", [](CLI::App& a, const Globals& g, int& e, char**) { add_ps_command(a, g.paths, e); }},
    {"rm", [](CLI::App& a, const Globals& g, int& e, char**) { add_rm_command(a, g.paths, e); }},
    {"kill stop pause unpause wait logs exec inspect port",
     [](CLI::App& a, const Globals& g, int& e, char**) { add_lifecycle_commands(a, g.paths, e); }},
    {"events", [](CLI::App& a, const Globals& g, int& e, char**) { add_events_command(a, g.paths, e); }},
    {"stats", [](CLI::App& a, const Globals& g, int& e, char**) { add_stats_command(a, g.paths, e); }},
    {"audit", [](CLI::App& a, const Globals& g, int& e, char**) { add_audit_command(a, g.paths, e); }},
    {"update", [](CLI::App& a, const Globals& g, int& e, char**) { add_update_command(a, g.paths, e); }},
    {"profile", [](CLI::App& a, const Globals& g, int& e, char** argv) { add_profile_command(a, g, e, argv); }},
    {"pull images rmi tag load save import image",
     [](CLI::App& a, const Globals& g, int& e, char**) { add_image_commands(a, g, e); }},
    {"version", [](CLI::App& a, const Globals&, int& e, char**) { add_version_command(a, e); }},
    {"completion __generate-docs", [](CLI::App& a, const Globals&, int& e, char**) { add_docs_commands(a, e); },
     true},
};

std::set<std::string> words_of(const char* names) {
    std::set<std::string> out;
    std::string_view rest = names;
    while (!rest.empty()) {
        std::size_t space = rest.find(' ');
        out.emplace(rest.substr(0, space));
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    return out;
}

std::set<std::string> top_level_names(const CLI::App& app) {
    std::set<std::string> out;
    for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; })) out.insert(c->get_name());
    return out;
}

}  // namespace

std::string command_word(const CLI::App& app, int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view word = argv[i];
        if (word == "--help") return {};  // help first: everything (CLI11 may show a command's own)
        if (word.rfind("--", 0) == 0 && word.find('=') == std::string_view::npos) {
            const CLI::Option* option = app.get_option_no_throw(std::string(word));
            if (option && option->get_type_size() != 0) ++i;  // its value ("--root DIR")
            continue;
        }
        if (word.rfind('-', 0) == 0) continue;
        return std::string(word);
    }
    return {};
}

void add_commands(CLI::App& app, const Globals& globals, int& exit_code, char** argv, const std::string& word) {
    for (const Family& family : kFamilies) {
        if (family.reads_whole_tree || !words_of(family.names).count(word)) continue;
        family.add(app, globals, exit_code, argv);
        return;
    }
    // No command, help, a misspelling (whose error lists what exists), completion or the docs.
    // The build's `__generate-docs` checks that each family registers exactly the names it
    // lists (on this tree: the usage registry is keyed by each command's App). A command missing
    // from the table still works (an unlisted word builds them all), only slower; a wrong name
    // would send that command to the wrong family.
    const bool check = word == "__generate-docs";
    for (const Family& family : kFamilies) {
        const std::set<std::string> before = check ? top_level_names(app) : std::set<std::string>{};
        family.add(app, globals, exit_code, argv);
        if (!check) continue;
        std::set<std::string> added = top_level_names(app);
        for (const auto& name : before) added.erase(name);
        if (added != words_of(family.names))
            throw Error(std::string("runtime/cli/commands.cpp: the family \"") + family.names +
                        "\" does not register exactly those commands");
    }
}

}  // namespace hutch::cli
