// `hutch profile [run options] [--output DIR] [--verify] ROOTFS COMMAND...`: runs the workload
// once under observation and writes the least privilege it showed (runtime/profile/profile.hpp).
#include <climits>
#include <cstdlib>
#include <iostream>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/launch.hpp"
#include "runtime/profile/profile.hpp"
#include "runtime/seal.hpp"
#include "runtime/trampoline/trampoline.hpp"

namespace hutch::cli {

void add_profile_command(CLI::App& app, const Globals& globals, int& exit_code, char** argv) {
    auto* cmd = app.add_subcommand(
        "profile", "Run a workload once and write the least privilege it needs (capabilities, seccomp, read-only)");
    cmd->set_help_flag("--help", "Print this help and exit");  // -h is --hostname
    cmd->prefix_command();  // from ROOTFS on, everything is the container's command
    set_usage(cmd, "ROOTFS|IMAGE COMMAND [ARG...]");
    auto opts = std::make_shared<RunOptions>();
    auto output = std::make_shared<std::string>();
    auto verify = std::make_shared<bool>(false);
    add_run_flags(cmd, *opts);
    // One foreground run, removed after, compared by its output: no -d, --rm, --restart, -i, -t.
    drop_run_flags(cmd, {"--rm", "--restart", "--detach", "--interactive", "--tty"});
    cmd->add_option("--output", *output, "Write profile.json, flags.txt and report.md into this directory");
    cmd->add_flag("--verify", *verify, "Run again under the generated profile and compare exit status and output");

    cmd->callback([=, &globals, &exit_code]() {
        require_root("profile", "it watches the container through a seccomp listener and cgroup accounting, which rootless hutch does not have");
        std::vector<std::string> rest = cmd->remaining();
        if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') throw UsageError("unknown flag: " + rest[0]);
        if (rest.empty())
            throw UsageError("\"hutch profile\" requires at least 1 argument: ROOTFS|IMAGE [COMMAND [ARG...]]");

        profile::Request request;
        request.options = *opts;
        auto pull = [&globals](const image::Reference& ref) { pull_image_ref(ref, globals, &std::cerr); };
        resolve_root_argument(request.options, rest[0], {rest.begin() + 1, rest.end()}, globals.paths,
                              new_container_id(), pull);
        if (request.options.command.empty())
            throw UsageError("\"hutch profile\" requires at least 2 arguments: ROOTFS COMMAND [ARG...]");
        request.build_spec = [&globals](const RunOptions& o, const std::string& id) {
            return spec_from_options(o, globals, id);
        };
        request.paths = globals.paths;
        request.config = net::read_host_config(globals.config_path);
        request.rootfs_arg = rest[0];
        request.output_dir = *output;
        request.verify = *verify;
        // The flags as typed: what lies between "profile" and ROOTFS (prefix_command leaves the
        // rest untouched, so it is argv's tail).
        int argc = 0;
        while (argv[argc]) ++argc;
        int first = 1;
        while (first < argc && std::string(argv[first]) != "profile") ++first;
        for (int i = first + 1; i < argc - static_cast<int>(rest.size()); ++i) request.user_flags.push_back(argv[i]);

        if (!trampoline::available()) ensure_sealed_binary(argv);
        exit_code = profile::run_profile(request, std::cout);
    });
}

}  // namespace hutch::cli
