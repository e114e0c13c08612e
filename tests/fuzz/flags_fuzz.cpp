// `hutch run`'s docker-style flags into a Spec: CLI11 with the command's own flag table
// (runtime/cli/run.cpp add_run_flags), then build_run_spec (runtime/run_options.hpp) with a fake
// host, so it runs without root and touches nothing. The input is the words after "hutch run",
// separated by NUL (ROOTFS stands for a fixed rootfs). `--env-file inline:TEXT` and
// `--security-opt seccomp=inline:TEXT` read TEXT as the file, so the fuzzer writes those too.
//
// Invariants: a bad command line is a CLI11 parse error or a UsageError; an accepted one gives a
// Spec that survives to_json/spec_from_json unchanged (the form --dry-run prints and `hutch
// create` stores), that the launcher's validate_spec accepts, whose mount destinations and cwd
// are clean absolute paths, whose strings bound for the container's /etc files hold no space or
// control character, whose environment has one entry per name, and whose effective
// capabilities lie within the bounding set. validate::utf8 agrees with nlohmann's UTF-8 check.
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/launch.hpp"
#include "runtime/run_options.hpp"
#include "runtime/validate.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace hutch;

const std::string kId = "4f2a7c0e5b9d13862a7c0e5b9d13862a7c0e5b9d13862a7c0e5b9d13862a7c0e";

HostFacts fake_host() {
    HostFacts host;
    host.caps = caps::HostCaps{40, ~caps::CapSet{0}};
    host.hostname = "fuzzhost";
    host.getenv = [](const char* key) -> const char* {
        return std::string_view(key) == "HOME" || std::string_view(key) == "FUZZ" ? "from-the-host" : nullptr;
    };
    host.read_in_rootfs = [](const std::string& path) -> std::string {
        if (path == "/etc/passwd")
            return "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                   "alice:x:1000:1000:Alice:/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
        if (path == "/etc/group")
            return "root:x:0:\naudio:x:29:alice\nstaff:x:50:alice,daemon\nalice:x:1000:\nnogroup:x:65534:\n";
        return "";
    };
    host.read_host_file = [](const std::string& path) -> std::string {
        if (path.rfind("inline:", 0) == 0) return path.substr(7);
        if (path == "/etc/env") return "A=1\n# a comment\n  B=two words\nHOME\n";
        throw UsageError("cannot read \"" + path + "\": No such file or directory");
    };
    host.host_path_exists = [](const std::string& path) { return path.rfind("/missing", 0) != 0; };
    host.probe_binary = "/usr/libexec/hutch/hutch-probe";
    host.running_container = [](const std::string& ref) -> HostFacts::JoinedContainer {
        if (ref == "web" || kId.rfind(ref, 0) == 0) return {kId, "/proc/4242/ns", "web"};
        throw UsageError("no running container " + ref);
    };
    return host;
}

// What CLI11 and spec_from_command_line make of the words; nullopt for a refused command line.
std::optional<Spec> spec_of(const std::vector<std::string>& words) {
    RunOptions opts;
    CLI::App app{"hutch", "hutch"};
    auto* run = app.add_subcommand("run", "");
    run->set_help_flag("--help", "");
    run->prefix_command();
    cli::add_run_flags(run, opts);
    std::vector<std::string> args = {"hutch", "run"};
    args.insert(args.end(), words.begin(), words.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
        std::vector<std::string> rest = run->remaining();
        if (rest.empty() || (rest[0].size() > 1 && rest[0][0] == '-')) return std::nullopt;
        opts.rootfs = "/rootfs";
        opts.command.assign(rest.begin() + 1, rest.end());
        return build_run_spec(opts, kId, fake_host());
    } catch (const CLI::ParseError&) {
        return std::nullopt;
    } catch (const UsageError&) {
        return std::nullopt;
    }
}

void check_etc_words(const std::vector<std::string>& words, const char* what) {
    for (const auto& w : words)
        FUZZ_CHECK(!w.empty() && !validate::has_space_or_control(w), std::string(what) + " bound for /etc: " + w);
}

void check_spec(const Spec& spec) {
    std::string text = to_json(spec).dump();
    FUZZ_CHECK(spec_from_json(nlohmann::json::parse(text)) == spec, "the Spec changed through to_json: " + text);
    Spec at_root = spec;
    at_root.root.path.assign(1, '/');  // not = "/": g++ 12 -Wrestrict misfires on it
    try {
        validate_spec(at_root);
    } catch (const UsageError& e) {
        fuzz::violated(__FILE__, __LINE__, "validate_spec", std::string("the launcher refuses what run accepted: ") + e.what());
    }
    for (const auto& m : spec.mounts)
        FUZZ_CHECK(validate::clean_absolute_path(m.destination, "fuzz") == m.destination, "unclean mount " + m.destination);
    FUZZ_CHECK(validate::clean_absolute_path(spec.process.cwd, "fuzz") == spec.process.cwd, "unclean cwd " + spec.process.cwd);
    if (!spec.hostname.empty()) check_etc_words({spec.hostname}, "hostname");
    check_etc_words(spec.hutch.network_aliases, "alias");
    check_etc_words(spec.hutch.dns, "dns");
    check_etc_words(spec.hutch.dns_search, "dns-search");
    check_etc_words(spec.hutch.dns_options, "dns-option");
    for (const auto& h : spec.hutch.extra_hosts) check_etc_words({h.name, h.address}, "add-host");
    std::set<std::string> names;
    for (const auto& e : spec.process.env) {
        auto eq = e.find('=');
        FUZZ_CHECK(eq != std::string::npos && eq > 0, "an environment entry without NAME=: " + e);
        FUZZ_CHECK(names.insert(e.substr(0, eq)).second, "a variable set twice: " + e);
    }
    const auto& c = spec.process.capabilities;
    for (const auto& cap : c.effective)
        FUZZ_CHECK(std::find(c.bounding.begin(), c.bounding.end(), cap) != c.bounding.end(),
                   "an effective capability outside the bounding set: " + cap);
}

}  // namespace

// validate::utf8, which build_run_spec relies on, agrees with the JSON library's own check.
void check_utf8_agrees(const std::string& word) {
    bool dumps = true;
    try {
        (void)nlohmann::json(word).dump();
    } catch (const nlohmann::json::type_error&) {
        dumps = false;
    }
    FUZZ_CHECK(validate::utf8(word) == dumps, "validate::utf8 and nlohmann disagree on " + nlohmann::json(word).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return -1;
    auto words = fuzz::split_nul(data, size);
    for (const auto& w : words) check_utf8_agrees(w);
    auto spec = spec_of(words);
    if (spec) check_spec(*spec);
    return 0;
}
