// Help, man pages and shell completion, all from the one definition of the commands: the
// CLI11 tree main.cpp builds. `hutch completion bash|zsh` prints a completion script;
// `hutch __generate-docs DIR` (hidden; the build runs it) writes DIR/man1/hutch.1, one
// DIR/man1/hutch-COMMAND.1 per command and DIR/completion/{hutch.bash,_hutch}. Nothing here
// lists a command or a flag: a new flag appears in all three once it is added to its command.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"

namespace hutch::cli {
namespace {

// The positional grammar of commands whose arguments CLI11 does not parse (prefix commands:
// `run [OPTIONS] ROOTFS|IMAGE [COMMAND] [ARG...]`), by command.
std::map<const CLI::App*, std::string>& usage_registry() {
    static std::map<const CLI::App*, std::string> registry;
    return registry;
}

std::string positional_usage(const CLI::App* app) {
    auto it = usage_registry().find(app);
    if (it != usage_registry().end()) return it->second;
    std::string out;
    for (const CLI::Option* o : app->get_options())
        if (o->get_positional()) {
            std::string name = o->get_name(true);
            out += (out.empty() ? "" : " ") + (o->get_required() ? name : "[" + name + "]");
            if (o->get_items_expected_max() > 1) out += "...";
        }
    return out;
}

class UsageFormatter : public CLI::Formatter {
public:
    std::string make_usage(const CLI::App* app, std::string name) const override {
        std::string usage = CLI::Formatter::make_usage(app, name);
        auto it = usage_registry().find(app);
        if (it == usage_registry().end()) return usage;
        std::size_t end = usage.find_last_not_of('\n') + 1;
        // The registered positionals replace CLI11's own names for them (`port` has real
        // positionals too, and its Usage line named them twice).
        if (std::size_t options = usage.find("[OPTIONS]"); options != std::string::npos && options < end)
            return usage.substr(0, options + 9) + " " + it->second + usage.substr(end);
        return usage.substr(0, end) + " " + it->second + usage.substr(end);
    }
};

// The commands users see (hidden ones have an empty group).
std::vector<const CLI::App*> commands_of(const CLI::App& app) {
    std::vector<const CLI::App*> out;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); })) out.push_back(sub);
    return out;
}

bool takes_value(const CLI::Option* o) { return o->get_type_size() != 0 && o->get_items_expected_max() != 0; }

// Every spelling of the flags of `app` ("-a --all"), help included; with `valued`, only those
// that take a value.
std::vector<std::string> flag_names(const CLI::App* app, bool valued = false) {
    std::vector<std::string> out;
    for (const CLI::Option* o : app->get_options()) {
        if (o->get_positional() && o->nonpositional() == false) continue;
        if (valued && !takes_value(o)) continue;
        for (const auto& s : o->get_snames()) out.push_back("-" + s);
        for (const auto& l : o->get_lnames()) out.push_back("--" + l);
    }
    return out;
}

bool names_containers(const CLI::App* app) {
    std::string usage = positional_usage(app);
    return usage.find("CONTAINER") != std::string::npos;
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

// --- bash ---------------------------------------------------------------------------------------

std::string bash_script(const CLI::App& app) {
    std::ostringstream s;
    std::vector<std::string> commands;
    for (const auto* c : commands_of(app)) commands.push_back(c->get_name());
    std::string global_alternatives;
    for (const auto& g : flag_names(&app, true)) global_alternatives += (global_alternatives.empty() ? "" : "|") + g;
    // bash splits "--root=/x" at "=" (COMP_WORDBREAKS): the value is then two words on.
    s << "# bash completion for hutch, made by `hutch completion bash` from hutch's own command definitions.\n"
         "_hutch() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd='' i\n"
         "  [[ $prev == = && $COMP_CWORD -ge 2 ]] && prev=${COMP_WORDS[COMP_CWORD-2]}\n"
         "  [[ $cur == = ]] && cur=''\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    case ${COMP_WORDS[i]} in\n"
         "      " << (global_alternatives.empty() ? "--no-such-option" : global_alternatives)
      << ") if [[ ${COMP_WORDS[i+1]} == = ]]; then ((i += 2)); else ((i++)); fi ;;\n"
         "      -*|=) ;;\n"
         "      *) cmd=${COMP_WORDS[i]}; break ;;\n"
         "    esac\n"
         "  done\n"
         "  local words='' values='' containers=0\n"
         "  case $cmd in\n"
         "    '') words='" << join(commands) << " " << join(flag_names(&app)) << "'; values='" << join(flag_names(&app, true))
      << "' ;;\n";
    for (const auto* c : commands_of(app)) {
        s << "    " << c->get_name() << ") words='" << join(flag_names(c));
        for (const CLI::App* sub : commands_of(*c)) s << " " << sub->get_name();
        s << "'; values='" << join(flag_names(c, true)) << "'";
        if (names_containers(c)) s << "; containers=1";
        s << " ;;\n";
    }
    s << "  esac\n"
         "  # The value of a flag that takes one: bash's own (file) completion.\n"
         "  if [[ $prev == -* && \" $values \" == *\" $prev \"* ]]; then COMPREPLY=(); return; fi\n"
         "  if [[ $cur == -* || $containers == 0 ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -W \"$(hutch ps -a --format '{{.Names}}' 2>/dev/null)\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -o default -F _hutch hutch\n";
    return s.str();
}

// --- zsh ----------------------------------------------------------------------------------------

std::string zsh_quote(std::string text) {  // inside [...] of an _arguments spec, single-quoted
    std::string out;
    for (char c : text) {
        if (c == '\'') out += "'\\''";
        else if (c == '[' || c == ']' || c == ':') out += std::string("\\") + c;
        else out += c;
    }
    return out;
}

std::string zsh_script(const CLI::App& app) {
    std::ostringstream s;
    s << "#compdef hutch\n# zsh completion for hutch, made by `hutch completion zsh` from hutch's own command definitions.\n"
         "_hutch() {\n"
         "  local -a commands\n"
         "  commands=(\n";
    for (const auto* c : commands_of(app)) s << "    '" << c->get_name() << ":" << zsh_quote(c->get_description()) << "'\n";
    s << "  )\n"
         "  local i cmd\n"
         "  for ((i = 2; i < CURRENT; i++)); do\n"
         "    case ${words[i]} in\n"
         "      " << [&] {
             std::string alts;
             for (const auto& g : flag_names(&app, true)) alts += (alts.empty() ? "" : "|") + g;
             return alts.empty() ? std::string("--no-such-option") : alts;
         }() << ") ((i++)) ;;\n"
         "      -*) ;;\n"
         "      *) cmd=${words[i]}; break ;;\n"
         "    esac\n"
         "  done\n"
         "  if [[ -z $cmd ]]; then _describe 'hutch command' commands; return; fi\n"
         "  case $cmd in\n";
    for (const auto* c : commands_of(app)) {
        s << "    " << c->get_name() << ") _arguments -s";
        for (const CLI::Option* o : c->get_options()) {
            if (o->get_positional() && !o->nonpositional()) continue;
            std::vector<std::string> names;
            for (const auto& sn : o->get_snames()) names.push_back("-" + sn);
            for (const auto& l : o->get_lnames()) names.push_back("--" + l);
            for (const auto& n : names)
                s << " \\\n        '" << n << "[" << zsh_quote(o->get_description()) << "]" << (takes_value(o) ? ":value:" : "")
                  << "'";
        }
        s << " '*::argument:_files' ;;\n";
    }
    s << "  esac\n}\n_hutch \"$@\"\n";
    return s.str();
}

// --- man pages ----------------------------------------------------------------------------------

std::string roff(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\\') out += "\\e";
        else if (c == '-') out += "\\-";
        else if ((c == '.' || c == '\'') && (i == 0 || text[i - 1] == '\n')) out += std::string("\\&") + c;
        else out += c;
    }
    return out;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
    if (!f) throw SysError("write the generated docs", "write", path, errno);
}

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw SysError("write the generated docs", "mkdir", path, errno);
}

std::string options_section(const CLI::App* app) {
    std::ostringstream s;
    for (const CLI::Option* o : app->get_options()) {
        if (o->get_positional() && !o->nonpositional()) continue;
        std::vector<std::string> names;
        for (const auto& sn : o->get_snames()) names.push_back("\\fB\\-" + roff(sn) + "\\fR");
        for (const auto& l : o->get_lnames()) names.push_back("\\fB\\-\\-" + roff(l) + "\\fR");
        std::string line;
        for (const auto& n : names) line += (line.empty() ? "" : ", ") + n;
        if (takes_value(o)) line += " \\fI" + roff(o->get_type_name().empty() ? "VALUE" : o->get_type_name()) + "\\fR";
        s << ".TP\n" << line << "\n" << roff(o->get_description()) << "\n";
    }
    return s.str();
}

std::string man_header(const std::string& name, const std::string& summary) {
    return ".TH " + roff(name) + " 1 \"\" \"hutch " HUTCH_VERSION "\" \"hutch manual\"\n.SH NAME\n" + roff(name) + " \\- " +
           roff(summary) + "\n";
}

void write_man_pages(const CLI::App& app, const std::string& dir) {
    std::ostringstream top;
    top << man_header("hutch", app.get_description()) << ".SH SYNOPSIS\n\\fBhutch\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR\n"
        << ".SH DESCRIPTION\nDocker-style containers on raw Linux primitives, without a daemon. Each command has its own "
           "page, hutch\\-\\fICOMMAND\\fR(1); \\fBhutch\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR prints the same options.\n"
        << ".SH OPTIONS\n" << options_section(&app) << ".SH COMMANDS\n";
    for (const auto* c : commands_of(app))
        top << ".TP\n\\fBhutch\\-" << roff(c->get_name()) << "\\fR(1)\n" << roff(c->get_description()) << "\n";
    top << ".SH ENVIRONMENT\n.TP\n\\fBHUTCH_ROOT\\fR, \\fBHUTCH_DATA_ROOT\\fR, \\fBHUTCH_CONFIG\\fR\n"
           "Set \\fB\\-\\-root\\fR, \\fB\\-\\-data\\-root\\fR and \\fB\\-\\-config\\fR; a flag wins.\n"
           ".SH EXIT STATUS\n125 when hutch itself fails (a bad flag or value, a failed step), 126 when the command "
           "cannot be invoked, 127 when it is not found, else the container's own status.\n"
           ".SH SEE ALSO\n\\fBhutch\\-oci\\fR (runc's command line, for engines), docker(1)\n";
    write_text(dir + "/hutch.1", top.str());
    for (const auto* c : commands_of(app)) {
        std::string name = "hutch-" + c->get_name();
        std::ostringstream page;
        std::string positionals = positional_usage(c);
        page << man_header(name, c->get_description()) << ".SH SYNOPSIS\n\\fBhutch " << roff(c->get_name())
             << "\\fR [\\fIOPTIONS\\fR]" << (positionals.empty() ? "" : " \\fI" + roff(positionals) + "\\fR");
        std::vector<const CLI::App*> subs = commands_of(*c);
        if (!subs.empty()) page << " \\fICOMMAND\\fR";
        page << "\n.SH DESCRIPTION\n" << roff(c->get_description()) << ".\n.SH OPTIONS\n" << options_section(c);
        if (!subs.empty()) {
            page << ".SH COMMANDS\n";
            for (const auto* sub : subs) {
                page << ".TP\n\\fBhutch " << roff(c->get_name() + " " + sub->get_name()) << "\\fR";
                std::string p = positional_usage(sub);
                if (!p.empty()) page << " \\fI" << roff(p) << "\\fR";
                page << "\n" << roff(sub->get_description()) << "\n" << options_section(sub);
            }
        }
        page << ".SH SEE ALSO\n\\fBhutch\\fR(1)\n";
        write_text(dir + "/" + name + ".1", page.str());
    }
}

}  // namespace

void set_usage(CLI::App* command, const std::string& positionals) { usage_registry()[command] = positionals; }

std::shared_ptr<CLI::Formatter> usage_formatter() { return std::make_shared<UsageFormatter>(); }

void add_docs_commands(CLI::App& app, int& exit_code) {
    auto* completion = app.add_subcommand("completion", "Print the shell completion script (bash or zsh)");
    auto shell = std::make_shared<std::string>();
    completion->add_option("SHELL", *shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
    completion->callback([&app, shell, &exit_code]() {
        std::cout << (*shell == "bash" ? bash_script(app) : zsh_script(app));
        exit_code = 0;
    });
    auto* generate = app.add_subcommand("__generate-docs", "Write man pages and completion scripts into DIR");
    generate->group("");  // for the build, not for users
    auto dir = std::make_shared<std::string>();
    generate->add_option("DIR", *dir, "Where to write man1/ and completion/")->required();
    generate->callback([&app, dir, &exit_code]() {
        make_dir(*dir);
        make_dir(*dir + "/man1");
        make_dir(*dir + "/completion");
        write_man_pages(app, *dir + "/man1");
        write_text(*dir + "/completion/hutch.bash", bash_script(app));
        write_text(*dir + "/completion/_hutch", zsh_script(app));
        exit_code = 0;
    });
}

}  // namespace hutch::cli
