// The CLI a Docker user expects (issue 18): `hutch version`, Go templates in inspect -f, the
// HUTCH_ROOT, HUTCH_DATA_ROOT and HUTCH_CONFIG environment, and docker's refusal of -it without
// a terminal.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <algorithm>
#include <string>

#include "harness.hpp"

namespace hutch_it {
namespace {

class DockerCliIntegration : public HutchTest {
protected:
    Result hutch(const Strings& args, const SpawnOptions& so = {}) { return run_hutch(roots_.hutch_args(args), so); }
};

TEST_F(DockerCliIntegration, VersionAsDockerPrintsIt) {
    Result v = run_hutch({"version"});
    ASSERT_EXIT_CODE(v, 0);
    EXPECT_TRUE(std::regex_search(v.out, std::regex("^hutch:\n Version: +[0-9]+\\.[0-9]+\\.[0-9]+\n"))) << v.out;
    for (const char* line : {" OCI spec:", " libseccomp:", " Kernel Version:", " OS/Arch:           linux/"})
        EXPECT_NE(v.out.find(line), std::string::npos) << v.out;
    Result f = run_hutch({"version", "--format", "{{.Version}} {{.Os}}"});
    ASSERT_EXIT_CODE(f, 0);
    Result flag = run_hutch({"--version"});
    EXPECT_EQ(flag.out, "hutch version " + f.out.substr(0, f.out.find(' ')) + "\n");
    EXPECT_EQ(f.out.substr(f.out.find(' ')), " linux\n");
}

// Help as Docker gives it: every Usage line with its positionals, only the flags that mean
// something for the command, and an unknown command named.
TEST_F(DockerCliIntegration, HelpAndUnknownCommands) {
    EXPECT_NE(run_hutch({"run", "--help"}).out.find("Usage: hutch run [OPTIONS] ROOTFS|IMAGE [COMMAND] [ARG...]\n"),
              std::string::npos);
    EXPECT_NE(run_hutch({"exec", "--help"}).out.find("Usage: hutch exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"),
              std::string::npos);
    std::string audit = run_hutch({"audit", "--help"}).out;
    for (const char* meaningless : {"--detach", "--rm ", "--tty", "--interactive"})
        EXPECT_EQ(audit.find(meaningless), std::string::npos) << meaningless << "\n" << audit;
    EXPECT_NE(audit.find("--restart"), std::string::npos) << "CIS 5.14 reads it";
    std::string profile = run_hutch({"profile", "--help"}).out;
    for (const char* meaningless : {"--detach", "--rm ", "--restart", "--tty"})
        EXPECT_EQ(profile.find(meaningless), std::string::npos) << meaningless << "\n" << profile;
    Result unknown = run_hutch({"--root", "/nonexistent-hutch-root", "nosuch", "x"});
    EXPECT_EXIT_CODE(unknown, 125);
    EXPECT_EQ(unknown.err, "hutch: 'nosuch' is not a hutch command (see hutch --help)\n");
    EXPECT_FALSE(path_exists("/nonexistent-hutch-root"));
    // ...at every level (a Docker user tries `network connect`), options and their values skipped.
    Result nested = run_hutch({"--root", "/nonexistent-hutch-root", "network", "connect", "net", "box"});
    EXPECT_EXIT_CODE(nested, 125);
    EXPECT_EQ(nested.err, "hutch: 'connect' is not a hutch network command (see hutch network --help)\n");
    EXPECT_EQ(run_hutch({"image", "nosuch"}).err, "hutch: 'nosuch' is not a hutch image command (see hutch image --help)\n");
    EXPECT_FALSE(path_exists("/nonexistent-hutch-root"));
}

// hutch builds only the command it is given (runtime/cli/commands.cpp): help asked for any way
// still lists every command, and each command, built alone, has its own help and runs.
TEST_F(DockerCliIntegration, OnlyTheNamedCommandIsBuiltAndHelpStillListsThemAll) {
    auto commands_listed = [](const std::string& help) {
        std::vector<std::string> names;
        std::istringstream lines(help.substr(help.find("Subcommands:")));
        std::string line;
        while (std::getline(lines, line))
            if (line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ')
                names.push_back(line.substr(2, line.find(' ', 2) - 2));
        return names;
    };
    Result help = run_hutch({"--help"});
    ASSERT_EXIT_CODE(help, 0);
    const std::vector<std::string> all = commands_listed(help.out);
    for (const char* expected : {"run", "create", "start", "ps", "rm", "exec", "port", "events", "stats", "audit",
                                 "update", "profile", "pull", "images", "image", "version", "completion"})
        EXPECT_NE(std::find(all.begin(), all.end(), expected), all.end()) << expected << "\n" << help.out;
    // After the global flags: all of them; before a command word, that command's help (CLI11's).
    EXPECT_EQ(commands_listed(run_hutch({"--root", "/nonexistent-hutch-root", "--help"}).out), all);
    EXPECT_NE(run_hutch({"--help", "ps", "-a"}).out.find("\nUsage: hutch ps [OPTIONS]"), std::string::npos);
    for (const std::string& command : all) {
        Result own = run_hutch({command, "--help"});
        EXPECT_EXIT_CODE(own, 0);
        EXPECT_NE(own.out.find("Usage: hutch " + command + " "), std::string::npos) << command << ":\n" << own.out;
    }
    Result ps = hutch({"ps", "-a"});
    EXPECT_EXIT_CODE(ps, 0);
    EXPECT_EQ(ps.out.rfind("CONTAINER ID", 0), 0u) << ps.out;
    // The completion script describes every command, not only itself.
    std::string bash = run_hutch({"completion", "bash"}).out;
    for (const std::string& command : all) EXPECT_NE(bash.find(command), std::string::npos) << command;
    // The man pages (the build's __generate-docs, every command built and the table checked)
    // give each command the positionals its own --help gives: no command takes another's. The
    // two spell them apart ("[CONTAINER]..." and "[CONTAINER...]"): the words are compared.
    const std::string docs = roots_.base() + "/generated-docs";
    ASSERT_EXIT_CODE(run_hutch({"__generate-docs", docs}), 0);
    auto words_of = [](std::string text) {
        for (char& c : text)
            if (c == '[' || c == ']' || c == '.' || c == '|') c = ' ';
        std::multiset<std::string> words;
        std::istringstream in(text);
        for (std::string w; in >> w;) words.insert(w == "SUBCOMMAND" ? "COMMAND" : w);
        return words;
    };
    for (const std::string& command : all) {
        const std::string own_help = run_hutch({command, "--help"}).out;
        const std::size_t at = own_help.find("Usage: ");
        ASSERT_NE(at, std::string::npos) << own_help;
        const std::string usage = own_help.substr(at + 7, own_help.find('\n', at) - at - 7);
        const std::string man = read_file(docs + "/man1/hutch-" + command + ".1");
        const std::size_t from = man.find(".SH SYNOPSIS\n");
        ASSERT_NE(from, std::string::npos) << command;
        std::string synopsis = man.substr(from + 13, man.find('\n', from + 13) - from - 13);
        for (const char* font : {"\\fB", "\\fR", "\\fI"})
            for (std::size_t f; (f = synopsis.find(font)) != std::string::npos;) synopsis.erase(f, 3);
        EXPECT_EQ(words_of(synopsis), words_of(usage)) << command << ": " << synopsis << " | " << usage;
    }
    EXPECT_FALSE(path_exists("/nonexistent-hutch-root"));
}

// inspect -f is Go's text/template over inspect's JSON: range, index, join, if, json.
TEST_F(DockerCliIntegration, InspectFormatIsAGoTemplate) {
    ASSERT_EXIT_CODE(run_raw({"--name", "tpl", "--network", "none", "-e", "COLOUR=blue", rootfs_, "sh", "-c", "exit 3"}), 3);
    Result r = hutch({"inspect", "-f",
                      "{{.State.ExitCode}}|{{join .Config.Cmd \",\"}}|{{index .Config.Cmd 0}}|"
                      "{{range .Config.Env}}{{if eq . \"COLOUR=blue\"}}{{.}}{{end}}{{end}}|{{json .State.Running}}|"
                      "{{with .HostConfig.RestartPolicy}}{{.Name}}{{end}}|{{len .Args}}",
                      "tpl"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "3|sh,-c,exit 3|sh|COLOUR=blue|false|no|2\n");
    Result bad = hutch({"inspect", "-f", "{{range .Config.Env}}", "tpl"});
    EXPECT_EXIT_CODE(bad, 125);
    EXPECT_EQ(bad.err_lines().size(), 1u) << describe(bad);
    EXPECT_NE(bad.err.find("unexpected EOF"), std::string::npos) << describe(bad);
}

// Docker's HostConfig.SecurityOpt (as given; null for none) and GraphDriver (where the root's
// layers are: the upper dir holds what the container wrote).
TEST_F(DockerCliIntegration, InspectShowsSecurityOptAndGraphDriver) {
    ASSERT_EXIT_CODE(run_raw({"--name", "sec", "--network", "none", "--security-opt", "no-new-privileges",
                              "--security-opt", "seccomp=unconfined", rootfs_, "sh", "-c", "echo x >/written"}), 0);
    EXPECT_EQ(hutch({"inspect", "-f", "{{json .HostConfig.SecurityOpt}}", "sec"}).out,
              "[\"no-new-privileges\",\"seccomp=unconfined\"]\n");
    ASSERT_EXIT_CODE(run_raw({"--name", "plain", "--network", "none", rootfs_, "true"}), 0);
    EXPECT_EQ(hutch({"inspect", "-f", "{{json .HostConfig.SecurityOpt}}", "plain"}).out, "null\n");
    nlohmann::json driver = nlohmann::json::parse(hutch({"inspect", "-f", "{{json .GraphDriver}}", "sec"}).out);
    EXPECT_EQ(driver["Name"], "overlay");
    EXPECT_EQ(std::filesystem::canonical(driver["Data"]["LowerDir"].get<std::string>()), std::filesystem::canonical(rootfs_));
    EXPECT_EQ(read_file(driver["Data"]["UpperDir"].get<std::string>() + "/written"), "x\n");
}

// One world per student on a shared machine: the environment names the roots, a flag wins.
TEST_F(DockerCliIntegration, EnvironmentNamesTheRoots) {
    SpawnOptions env;
    env.extra_env = {"HUTCH_ROOT=" + roots_.run_root(), "HUTCH_DATA_ROOT=" + roots_.data_root()};
    Result made = run_hutch({"create", "--name", "from-env", "--network", "none", rootfs_, "true"}, env);
    ASSERT_EXIT_CODE(made, 0);
    EXPECT_EQ(roots_.container_ids().size(), 1u) << "the container is under the roots the environment named";
    EXPECT_EQ(run_hutch({"ps", "-a", "--format", "{{.Names}}"}, env).out, "from-env\n");
    TempDir other;
    Result flagged = run_hutch({"--root", other.path() + "/run", "--data-root", other.path() + "/data", "ps", "-a", "-q"}, env);
    EXPECT_EXIT_CODE(flagged, 0);
    EXPECT_EQ(flagged.out, "") << "--root and --data-root win over the environment";
    // HUTCH_CONFIG names the host config a start reads: a broken one is refused by its name.
    write_file(other / "broken.json", "[1]");
    env.extra_env.push_back("HUTCH_CONFIG=" + other / "broken.json");
    Result config = run_hutch({"run", "--rm", "--network", "none", rootfs_, "true"}, env);
    EXPECT_EXIT_CODE(config, 125);
    EXPECT_NE(config.err.find("host config " + other / "broken.json"), std::string::npos) << describe(config);
    EXPECT_EXIT_CODE(hutch({"rm", "from-env"}), 0);
}

// docker run/exec -it with an input that is not a terminal: "the input device is not a TTY",
// before anything is made.
TEST_F(DockerCliIntegration, InteractiveTtyNeedsATerminal) {
    Result run = hutch({"run", "-i", "-t", "--rm", "--network", "none", rootfs_, "true"});
    EXPECT_EXIT_CODE(run, 125);
    EXPECT_EQ(run.err, "hutch: the input device is not a TTY\n");
    EXPECT_EQ(roots_.leftovers(), Strings{});
    // -t alone, or -i -t detached, attach no input: they run.
    EXPECT_EXIT_CODE(hutch({"run", "-t", "--rm", "--network", "none", rootfs_, "true"}), 0);
    ASSERT_EXIT_CODE(hutch({"run", "-d", "--name", "bg", "--network", "none", rootfs_, "sleep", "30"}), 0);
    Result exec = hutch({"exec", "-i", "-t", "bg", "true"});
    EXPECT_EXIT_CODE(exec, 125);
    EXPECT_EQ(exec.err, "hutch: the input device is not a TTY\n");
    EXPECT_EXIT_CODE(hutch({"rm", "-f", "bg"}), 0);
}

}  // namespace
}  // namespace hutch_it
