// `hutch audit`: judges a profile against the rules in caps/audit and runs nothing.
//
//   hutch audit [run options] ROOTFS|IMAGE [COMMAND]   the Spec `hutch run` would build from the flags
//   hutch audit NAME                                   a created or running container's stored Spec
//   hutch audit --config config.json                   an OCI config
//
// An existing directory is a ROOTFS. A single name without run options is a container when one
// has that name, else an image of hutch's store (never pulled: audit runs nothing), as for run.
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "caps/audit.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/image/image_store.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/run_options.hpp"

namespace hutch::cli {
namespace {

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_container(const Paths& paths, const std::string& ref) {
    try {
        find_container(paths, ref);
        return true;
    } catch (const UsageError&) {
        return false;
    }
}

bool is_stored_image(const Paths& paths, const std::string& ref) {
    if (!image::Reference::looks_like(ref) && ref.rfind("sha256:", 0) != 0) return false;
    image::ImageStore store(paths.data_root);
    image::StoreLock lock = store.lock(image::StoreLock::Mode::kShared);
    return store.find(ref).has_value();
}

// nlohmann's message is "[json.exception.parse_error.101] parse error at line 3, column 5: why";
// keep it from "line" on.
std::string parse_error_text(const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    auto at = what.find("line ");
    return at == std::string::npos ? what : what.substr(at);
}

// A Spec stored as OCI JSON; `what` names the file for the user ("config", "container web").
Spec read_spec(const std::string& path, const std::string& what) {
    std::string text;
    try {
        text = read_file(path);
    } catch (const SysError& e) {
        throw UsageError("cannot read " + what + " \"" + path + "\": " + std::strerror(e.error_number()));
    }
    nlohmann::json parsed;
    try {
        parsed = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw UsageError("invalid JSON in " + what + " \"" + path + "\": " + parse_error_text(e));
    } catch (const nlohmann::json::exception& e) {  // out_of_range.406: "1e400"
        throw UsageError("invalid JSON in " + what + " \"" + path + "\": " + e.what());
    }
    try {
        return spec_from_json(parsed);
    } catch (const UsageError& e) {
        // spec_from_json names the JSON path from "config"; the file is named here.
        std::string why = e.what();
        if (why.rfind("config: ", 0) == 0) why.erase(0, 8);
        throw UsageError("invalid " + what + " \"" + path + "\": " + why);
    }
}

// The Spec `hutch run` would build for these flags. Volume sources need not exist here: the
// profile is judged, not started, perhaps on another machine than the one it will run on.
Spec spec_from_flags(RunOptions options, const std::vector<std::string>& rest, const Paths& paths) {
    resolve_root_argument(options, rest[0], {rest.begin() + 1, rest.end()}, paths, "");
    if (options.command.empty()) options.command = {"/bin/sh"};
    HostFacts host = host_facts(options);
    add_resource_facts(host, options);
    host.host_path_exists = [](const std::string&) { return true; };
    // Likewise --network container:REF names a container that need not be running (or exist):
    // a running one's facts are used as run uses them, else it is audited by the mode alone
    // (its id stays empty when none has that name; a user namespace is taken to be there, with
    // maps unknown).
    host.running_container = [&paths](const std::string& ref) {
        try {
            return running_container(paths, ref);
        } catch (const UsageError&) {
        }
        HostFacts::JoinedContainer joined{ref, "", ""};
        joined.own_user_namespace = true;
        try {
            joined.id = find_container(paths, ref).id;
        } catch (const UsageError&) {
        }
        return joined;
    };
    return build_run_spec(options, new_container_id(), host);
}

}  // namespace

void add_audit_command(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "audit", "Check a container profile against CIS Docker Benchmark rules (runs nothing)");
    cmd->set_help_flag("--help", "Print this help and exit");  // -h is --hostname
    cmd->prefix_command();  // from ROOTFS on, everything is the container's command
    set_usage(cmd, "ROOTFS|IMAGE|CONTAINER [COMMAND] [ARG...]");
    cmd->footer("Forms: hutch audit [run options] ROOTFS|IMAGE [COMMAND] | hutch audit NAME | "
                  "hutch audit --config config.json");
    auto opts = std::make_shared<RunOptions>();
    auto config = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("table");
    auto strict = std::make_shared<bool>(false);

    add_run_flags(cmd, *opts);
    drop_run_flags(cmd, {"--name", "--rm", "--detach", "--interactive", "--tty"});  // audit starts nothing
    auto* config_opt = cmd->add_option("--config", *config, "Audit an OCI config.json instead");
    auto* format_opt = cmd->add_option("--format", *format, "Output format: table or json")
                           ->check(CLI::IsMember({"table", "json"}));
    auto* strict_opt = cmd->add_flag("--strict", *strict, "Exit 1 when any finding is WARN (for CI)");

    cmd->callback([=, &paths, &exit_code]() {
        std::vector<std::string> rest = cmd->remaining();
        if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-')
            throw UsageError("unknown flag: " + rest[0]);
        bool run_flags = false;
        for (const CLI::Option* o : cmd->get_options())
            if (o != config_opt && o != format_opt && o != strict_opt && o != cmd->get_help_ptr() &&
                o->count() > 0)
                run_flags = true;

        Spec spec;
        if (config_opt->count() > 0) {
            if (!rest.empty() || run_flags)
                throw UsageError("--config takes no ROOTFS, container or run options: the config is the whole profile");
            spec = read_spec(*config, "config");
        } else if (rest.empty()) {
            throw UsageError("\"hutch audit\" requires ROOTFS [COMMAND], a container NAME, or --config FILE");
        } else if (is_directory(rest[0]) ||
                   (!(rest.size() == 1 && !run_flags && is_container(paths, rest[0])) && is_stored_image(paths, rest[0]))) {
            spec = spec_from_flags(*opts, rest, paths);
        } else if (rest.size() > 1) {
            throw UsageError("\"" + rest[0] + "\" is not a rootfs directory or an image of hutch's store (a container "
                             "takes no COMMAND; audit options go before NAME)");
        } else {
            if (run_flags)
                throw UsageError("run options describe a new container: a container \"" + rest[0] +
                                 "\" is audited as it was created");
            ContainerState c = find_container(paths, rest[0]);
            spec = read_spec(paths.data_dir(c.id) + "/config.json", "container " + rest[0] + "'s config");
        }

        audit::Options options;
        for (const auto& own : {paths.root, paths.data_root})
            if (std::find(options.control_paths.begin(), options.control_paths.end(), own) ==
                options.control_paths.end())
                options.control_paths.push_back(own);
        auto findings = audit::audit(spec, options);
        if (*format == "json") std::cout << audit::to_json(findings).dump(2) << "\n";
        else std::cout << audit::format_table(findings);
        std::cout.flush();
        exit_code = audit::exit_code(findings, *strict);
    });
}

}  // namespace hutch::cli
