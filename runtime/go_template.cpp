#include "runtime/go_template.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "runtime/error.hpp"

namespace hutch::go_template {

using json = nlohmann::json;

namespace {

// A value while a template runs: JSON, or the "no value" of a key a map lacks.
struct Value {
    json v;
    bool missing = false;
};

Value missing_value() { return {json(), true}; }

}  // namespace

// --- the parsed form ---------------------------------------------------------------------------
// Outside the anonymous namespace: Node (declared in the header) holds a Pipeline, and a type of
// internal linkage inside it would make GCC warn wherever this file is compiled as part of a
// larger one (CI's unity build).

struct Pipeline;

struct Operand {
    enum class Kind { kDot, kVariable, kLiteral, kFunction, kPipeline } kind = Kind::kDot;
    std::string name;                 // a variable ("$", "$x") or a function
    std::vector<std::string> fields;  // .A.B after the dot, a variable or a (pipeline)
    json literal;
    std::shared_ptr<Pipeline> sub;
    std::string text;  // as written, for error messages
};

struct Command {
    std::vector<Operand> args;
};

struct Pipeline {
    std::vector<std::string> declare;  // $x := ... or $i, $e := ...
    std::vector<Command> commands;
    std::string text;
};

struct Node {
    enum class Kind { kText, kAction, kIf, kRange, kWith } kind = Kind::kText;
    std::string text;
    int line = 1;
    Pipeline pipe;
    std::vector<std::unique_ptr<Node>> body, otherwise;
};

namespace {

[[noreturn]] void parse_error(int line, const std::string& why) {
    throw UsageError("template parsing error: template: :" + std::to_string(line) + ": " + why);
}

[[noreturn]] void exec_error(int line, const std::string& at, const std::string& why) {
    throw UsageError("template: :" + std::to_string(line) + ": executing \"\" at <" + at + ">: " + why);
}

// --- lexing an action's words ------------------------------------------------------------------

struct Token {
    enum class Kind { kField, kVariable, kString, kNumber, kWord, kOpen, kClose, kPipe, kDeclare, kComma } kind;
    std::string text;
};

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::vector<Token> lex_action(const std::string& s, int line) {
    std::vector<Token> out;
    std::size_t i = 0;
    auto take_fields = [&](std::string& text) {
        while (i < s.size() && s[i] == '.') {
            std::size_t start = i++;
            while (i < s.size() && word_char(s[i])) ++i;
            text += s.substr(start, i - start);
        }
    };
    while (i < s.size()) {
        char c = s[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '.' && (i + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
            std::string text;
            if (i + 1 >= s.size() || !word_char(s[i + 1])) {
                text = ".";
                ++i;
            } else {
                take_fields(text);
            }
            out.push_back({Token::Kind::kField, text});
        } else if (c == '$') {
            std::size_t start = i++;
            while (i < s.size() && word_char(s[i])) ++i;
            std::string text = s.substr(start, i - start);
            take_fields(text);
            out.push_back({Token::Kind::kVariable, text});
        } else if (c == '"') {
            std::string text;
            for (++i;; ++i) {
                if (i >= s.size()) parse_error(line, "unterminated quoted string");
                if (s[i] == '"') break;
                if (s[i] == '\\' && i + 1 < s.size()) {
                    char e = s[++i];
                    text += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
                } else {
                    text += s[i];
                }
            }
            ++i;
            out.push_back({Token::Kind::kString, text});
        } else if (c == '`') {
            std::size_t end = s.find('`', i + 1);
            if (end == std::string::npos) parse_error(line, "unterminated raw quoted string");
            out.push_back({Token::Kind::kString, s.substr(i + 1, end - i - 1)});
            i = end + 1;
        } else if (std::isdigit(static_cast<unsigned char>(c)) || ((c == '-' || c == '+' || c == '.') && i + 1 < s.size() &&
                                                                    std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
            std::size_t start = i++;
            while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
            out.push_back({Token::Kind::kNumber, s.substr(start, i - start)});
        } else if (word_char(c)) {
            std::size_t start = i;
            while (i < s.size() && word_char(s[i])) ++i;
            out.push_back({Token::Kind::kWord, s.substr(start, i - start)});
        } else if (c == '(') {
            out.push_back({Token::Kind::kOpen, "("});
            ++i;
        } else if (c == ')') {
            ++i;
            std::string text = ")";
            take_fields(text);
            out.push_back({Token::Kind::kClose, text});
        } else if (c == '|') {
            out.push_back({Token::Kind::kPipe, "|"});
            ++i;
        } else if (c == ':' && i + 1 < s.size() && s[i + 1] == '=') {
            out.push_back({Token::Kind::kDeclare, ":="});
            i += 2;
        } else if (c == ',') {
            out.push_back({Token::Kind::kComma, ","});
            ++i;
        } else {
            parse_error(line, std::string("unexpected \"") + c + "\" in command");
        }
    }
    return out;
}

std::vector<std::string> split_fields(const std::string& chain) {  // ".A.B" -> {A, B}
    std::vector<std::string> out;
    for (std::size_t i = 0; i < chain.size();) {
        std::size_t next = chain.find('.', i + 1);
        if (next == std::string::npos) next = chain.size();
        if (next > i + 1) out.push_back(chain.substr(i + 1, next - i - 1));
        i = next;
    }
    return out;
}

// A limit on nesting, parentheses and control structures alike (Go has one too, 10000): deeper
// templates are refused instead of exhausting the stack in the parser and the runner.
constexpr int kMaxDepth = 1000;

const std::vector<std::string>& function_names() {
    static const std::vector<std::string> names = {"and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le",
                                                   "gt", "ge", "print", "printf", "println", "json", "join", "split",
                                                   "lower", "upper", "title", "truncate", "pad"};
    return names;
}

class PipelineParser {
public:
    PipelineParser(std::vector<Token> tokens, int line) : t_(std::move(tokens)), line_(line) {}

    Pipeline parse_whole(const std::string& text) {
        Pipeline p = parse(/*nested=*/false);
        p.text = text;
        if (at_ < t_.size()) parse_error(line_, "unexpected \"" + t_[at_].text + "\" in operand");
        return p;
    }

private:
    Pipeline parse(bool nested) {
        Pipeline p;
        // $x := or $i, $e :=
        std::size_t look = at_;
        std::vector<std::string> vars;
        while (look < t_.size() && t_[look].kind == Token::Kind::kVariable && t_[look].text.find('.') == std::string::npos) {
            vars.push_back(t_[look].text);
            ++look;
            if (look < t_.size() && t_[look].kind == Token::Kind::kComma) {
                ++look;
                continue;
            }
            break;
        }
        if (!vars.empty() && look < t_.size() && t_[look].kind == Token::Kind::kDeclare) {
            if (vars.size() > 2) parse_error(line_, "too many declarations in command");
            p.declare = vars;
            at_ = look + 1;
        }
        for (;;) {
            Command c;
            while (at_ < t_.size() && t_[at_].kind != Token::Kind::kPipe && t_[at_].kind != Token::Kind::kClose)
                c.args.push_back(operand());
            if (c.args.empty()) parse_error(line_, "missing command");
            p.commands.push_back(std::move(c));
            if (at_ < t_.size() && t_[at_].kind == Token::Kind::kPipe) {
                ++at_;
                continue;
            }
            break;
        }
        if (!nested && at_ < t_.size() && t_[at_].kind == Token::Kind::kClose) parse_error(line_, "unexpected right paren");
        return p;
    }

    Operand operand() {
        const Token& tok = t_[at_++];
        Operand o;
        o.text = tok.text;
        switch (tok.kind) {
        case Token::Kind::kField:
            o.kind = Operand::Kind::kDot;
            o.fields = split_fields(tok.text == "." ? "" : tok.text);
            break;
        case Token::Kind::kVariable: {
            o.kind = Operand::Kind::kVariable;
            auto dot = tok.text.find('.');
            o.name = tok.text.substr(0, dot);
            if (dot != std::string::npos) o.fields = split_fields(tok.text.substr(dot));
            break;
        }
        case Token::Kind::kString:
            o.kind = Operand::Kind::kLiteral;
            o.literal = tok.text;
            o.text = "\"" + tok.text + "\"";
            break;
        case Token::Kind::kNumber: {
            o.kind = Operand::Kind::kLiteral;
            long long whole = 0;
            auto [end, ec] = std::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), whole);
            if (ec == std::errc() && end == tok.text.data() + tok.text.size()) {
                o.literal = whole;
            } else {
                char* stop = nullptr;
                double d = std::strtod(tok.text.c_str(), &stop);
                if (stop == nullptr || *stop != '\0') parse_error(line_, "bad number syntax: \"" + tok.text + "\"");
                o.literal = d;
            }
            break;
        }
        case Token::Kind::kWord:
            if (tok.text == "true" || tok.text == "false") {
                o.kind = Operand::Kind::kLiteral;
                o.literal = tok.text == "true";
            } else if (tok.text == "nil") {
                o.kind = Operand::Kind::kLiteral;
                o.literal = nullptr;
            } else {
                const auto& names = function_names();
                if (std::find(names.begin(), names.end(), tok.text) == names.end())
                    parse_error(line_, "function \"" + tok.text + "\" not defined");
                o.kind = Operand::Kind::kFunction;
                o.name = tok.text;
            }
            break;
        case Token::Kind::kOpen: {
            o.kind = Operand::Kind::kPipeline;
            if (++depth_ > kMaxDepth) parse_error(line_, "max expression depth exceeded");
            o.sub = std::make_shared<Pipeline>(parse(/*nested=*/true));
            --depth_;
            if (at_ >= t_.size() || t_[at_].kind != Token::Kind::kClose) parse_error(line_, "unclosed left paren");
            o.fields = split_fields(t_[at_].text.substr(1));
            o.text = "(...)" + t_[at_].text.substr(1);
            ++at_;
            break;
        }
        default:
            parse_error(line_, "unexpected \"" + tok.text + "\" in operand");
        }
        return o;
    }

    std::vector<Token> t_;
    std::size_t at_ = 0;
    int line_;
    int depth_ = 0;
};

// --- splitting the text into text and actions, then into a tree -----------------------------------

struct Piece {
    bool action = false;
    std::string text;  // the text, or the action's inside (trim markers and spaces removed)
    int line = 1;
};

std::vector<Piece> split_pieces(const std::string& text) {
    std::vector<Piece> out;
    int line = 1;
    std::size_t at = 0;
    while (at <= text.size()) {
        std::size_t open = text.find("{{", at);
        std::string chunk = text.substr(at, open == std::string::npos ? std::string::npos : open - at);
        out.push_back({false, chunk, line});
        line += static_cast<int>(std::count(chunk.begin(), chunk.end(), '\n'));
        if (open == std::string::npos) break;
        std::size_t inner = open + 2;
        bool trim_left = text.compare(inner, 2, "- ") == 0 || text.compare(inner, 2, "-\t") == 0 ||
                         text.compare(inner, 2, "-\n") == 0;
        if (trim_left) inner += 1;
        std::size_t close = text.find("}}", inner);
        if (close == std::string::npos) parse_error(line, "unclosed action");
        std::size_t inner_end = close;
        bool trim_right = close >= inner + 2 && text[close - 1] == '-' && std::isspace(static_cast<unsigned char>(text[close - 2]));
        if (trim_right) inner_end -= 1;
        std::string inside = text.substr(inner, inner_end - inner);
        if (trim_left && !out.empty()) {
            auto& prev = out.back().text;
            prev.erase(prev.find_last_not_of(" \t\r\n") + 1);
        }
        out.push_back({true, inside, line});
        line += static_cast<int>(std::count(inside.begin(), inside.end(), '\n'));
        at = close + 2;
        if (trim_right) {
            std::size_t keep = text.find_first_not_of(" \t\r\n", at);
            std::string skipped = text.substr(at, (keep == std::string::npos ? text.size() : keep) - at);
            line += static_cast<int>(std::count(skipped.begin(), skipped.end(), '\n'));
            at = keep == std::string::npos ? text.size() : keep;
        }
        if (at == text.size()) break;
    }
    return out;
}

std::string trim(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

class TreeParser {
public:
    explicit TreeParser(std::vector<Piece> pieces) : p_(std::move(pieces)) {}

    std::vector<std::unique_ptr<Node>> parse_top() {
        std::string stop;
        auto nodes = list(stop);
        if (!stop.empty()) parse_error(line_, "unexpected {{" + stop + "}}");
        return nodes;
    }

private:
    // Nodes until {{end}} or {{else...}}: `stop` says which ("" at the end of the text).
    std::vector<std::unique_ptr<Node>> list(std::string& stop) {
        std::vector<std::unique_ptr<Node>> out;
        while (at_ < p_.size()) {
            const Piece& piece = p_[at_++];
            line_ = piece.line;
            if (!piece.action) {
                if (!piece.text.empty()) {
                    auto n = std::make_unique<Node>();
                    n->text = piece.text;
                    out.push_back(std::move(n));
                }
                continue;
            }
            std::string inside = trim(piece.text);
            if (inside.rfind("/*", 0) == 0) continue;  // a comment
            std::string word = inside.substr(0, inside.find_first_of(" \t\n"));
            std::string rest = trim(inside.substr(word.size()));
            if (word == "end" || word == "else") {
                stop = inside;
                return out;
            }
            if (word == "if" || word == "range" || word == "with") {
                out.push_back(control(word, rest, piece.line));
                continue;
            }
            if (inside.empty()) parse_error(piece.line, "missing value for command");
            auto n = std::make_unique<Node>();
            n->kind = Node::Kind::kAction;
            n->line = piece.line;
            n->pipe = pipeline(inside, piece.line);
            out.push_back(std::move(n));
        }
        return out;
    }

    Pipeline pipeline(const std::string& text, int line) {
        if (trim(text).empty()) parse_error(line, "missing value for command");
        return PipelineParser(lex_action(text, line), line).parse_whole(text);
    }

    std::unique_ptr<Node> control(const std::string& word, const std::string& rest, int line) {
        if (++depth_ > kMaxDepth) parse_error(line, "max expression depth exceeded");
        struct Leave {
            int& depth;
            ~Leave() { --depth; }
        } leave{depth_};
        auto n = std::make_unique<Node>();
        n->kind = word == "if" ? Node::Kind::kIf : word == "range" ? Node::Kind::kRange : Node::Kind::kWith;
        n->line = line;
        n->pipe = pipeline(rest, line);
        std::string stop;
        n->body = list(stop);
        if (stop.empty()) parse_error(line_, "unexpected EOF");
        if (stop == "end") return n;
        // {{else}} or, for if and with, {{else if ...}} / {{else with ...}}: a nested node whose
        // {{end}} ends this one too.
        std::string after = trim(stop.substr(4));
        if (!after.empty()) {
            std::string w = after.substr(0, after.find_first_of(" \t\n"));
            if (w != "if" && w != "with") parse_error(line_, "unexpected {{" + stop + "}}");
            n->otherwise.push_back(control(w, trim(after.substr(w.size())), line_));
            return n;
        }
        std::string end;
        n->otherwise = list(end);
        if (end != "end") parse_error(line_, end.empty() ? "unexpected EOF" : "unexpected {{" + end + "}}");
        return n;
    }

    std::vector<Piece> p_;
    std::size_t at_ = 0;
    int line_ = 1;
    int depth_ = 0;
};

// --- running -----------------------------------------------------------------------------------

// fmt's %v: integers in decimal; a float as %g with the shortest digits, in e-notation when its
// exponent is below -4 or 6 and above (Go prints 1e6 as "1e+06", 100000.0 as "100000").
std::string number_text(const json& v) {
    if (!v.is_number_float()) return v.dump();
    const double d = v.get<double>();
    if (!std::isfinite(d)) return std::isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf";
    if (d == 0) return "0";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    (void)ec;
    std::string sci(buf, end);  // shortest: "1.5e+06", "1e-05"
    const auto e = sci.find('e');
    const int exponent = std::stoi(sci.substr(e + 1));
    if (exponent < -4 || exponent >= 6) {
        std::string digits = sci.substr(e + 2);
        if (digits.size() < 2) digits.insert(0, "0");
        return sci.substr(0, e + 2) + digits;
    }
    auto [fend, fec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    (void)fec;
    return std::string(buf, fend);
}

bool truthy(const Value& value) {
    if (value.missing) return false;
    const json& v = value.v;
    if (v.is_null()) return false;
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number()) return v.get<double>() != 0;
    if (v.is_string()) return !v.get<std::string>().empty();
    return !v.empty();
}

std::string type_name(const Value& value) {
    if (value.missing) return "<no value>";
    switch (value.v.type()) {
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "int";
    case json::value_t::number_float: return "float64";
    case json::value_t::array: return "[]interface {}";
    case json::value_t::object: return "map[string]interface {}";
    default: return "<nil>";
    }
}

std::string printed(const Value& value) { return value.missing ? "<no value>" : print_value(value.v); }

class Runner {
public:
    Runner(bool strict, std::string& out) : strict_(strict), out_(out) {}

    void run(const std::vector<std::unique_ptr<Node>>& nodes, const Value& dot) {
        for (const auto& n : nodes) run_node(*n, dot);
    }

    void set_root(const Value& root) { vars_.push_back({"$", root}); }

private:
    void run_node(const Node& n, const Value& dot) {
        line_ = n.line;
        switch (n.kind) {
        case Node::Kind::kText:
            out_ += n.text;
            return;
        case Node::Kind::kAction: {
            Value v = pipeline(n.pipe, dot);
            if (n.pipe.declare.empty()) out_ += printed(v);
            return;
        }
        case Node::Kind::kIf:
        case Node::Kind::kWith: {
            std::size_t scope = vars_.size();
            Value v = pipeline(n.pipe, dot);
            if (truthy(v)) run(n.body, n.kind == Node::Kind::kWith ? v : dot);
            else run(n.otherwise, dot);
            vars_.resize(scope);
            return;
        }
        case Node::Kind::kRange: {
            std::size_t scope = vars_.size();
            Pipeline head = n.pipe;
            std::vector<std::string> names = head.declare;
            head.declare.clear();
            Value over = pipeline(head, dot);
            if (!over.missing && !over.v.is_null() && !over.v.is_array() && !over.v.is_object())
                exec_error(n.line, n.pipe.text, "range can't iterate over " + printed(over));
            bool any = false;
            auto each = [&](const json& key, const json& element) {
                any = true;
                std::size_t inner = vars_.size();
                if (names.size() == 1) vars_.push_back({names[0], {element}});
                if (names.size() == 2) {
                    vars_.push_back({names[0], {key}});
                    vars_.push_back({names[1], {element}});
                }
                run(n.body, {element});
                vars_.resize(inner);
            };
            if (!over.missing && over.v.is_array()) {
                for (std::size_t i = 0; i < over.v.size(); ++i) each(json(i), over.v[i]);
            } else if (!over.missing && over.v.is_object()) {
                for (auto it = over.v.begin(); it != over.v.end(); ++it) each(json(it.key()), it.value());
            }
            if (!any) run(n.otherwise, dot);
            vars_.resize(scope);
            return;
        }
        }
    }

    Value pipeline(const Pipeline& p, const Value& dot) {
        Value result;
        bool have = false;
        for (const auto& c : p.commands) {
            result = command(c, dot, have ? &result : nullptr, p.text);
            have = true;
        }
        if (p.declare.size() == 1) vars_.push_back({p.declare[0], result});
        return result;
    }

    Value command(const Command& c, const Value& dot, const Value* piped, const std::string& text) {
        const Operand& head = c.args.front();
        if (head.kind != Operand::Kind::kFunction) {
            if (c.args.size() > 1 || piped) exec_error(line_, text, "can't give argument to non-function " + head.text);
            return operand(head, dot);
        }
        // and/or stop at the first argument that decides (Go 1.18): `and .Mounts (index .Mounts 0)`
        // guards the index.
        if (head.name == "and" || head.name == "or") {
            if (c.args.size() < 2 && !piped) exec_error(line_, text, "wrong number of args for " + head.name + ": want at least 1 got 0");
            Value last;
            for (std::size_t i = 1; i <= c.args.size(); ++i) {
                if (i == c.args.size() && !piped) break;
                last = i < c.args.size() ? operand(c.args[i], dot) : *piped;
                if (truthy(last) != (head.name == "and")) return last;
            }
            return last;
        }
        std::vector<Value> args;
        for (std::size_t i = 1; i < c.args.size(); ++i) args.push_back(operand(c.args[i], dot));
        if (piped) args.push_back(*piped);
        return call(head.name, args, text);
    }

    Value operand(const Operand& o, const Value& dot) {
        Value base;
        switch (o.kind) {
        case Operand::Kind::kDot: base = dot; break;
        case Operand::Kind::kLiteral: return {o.literal};
        case Operand::Kind::kFunction: return call(o.name, {}, o.text);
        case Operand::Kind::kPipeline: base = pipeline(*o.sub, dot); break;
        case Operand::Kind::kVariable: {
            auto it = std::find_if(vars_.rbegin(), vars_.rend(), [&](const auto& v) { return v.first == o.name; });
            if (it == vars_.rend()) exec_error(line_, o.text, "undefined variable: " + o.name);
            base = it->second;
            break;
        }
        }
        for (const auto& f : o.fields) base = field(base, f, o.text);
        return base;
    }

    Value field(const Value& from, const std::string& name, const std::string& text) {
        if (from.missing || from.v.is_null()) return missing_value();
        if (!from.v.is_object()) exec_error(line_, text, "can't evaluate field " + name + " in type " + type_name(from));
        auto it = from.v.find(name);
        if (it == from.v.end()) {
            if (strict_) exec_error(line_, text, "can't evaluate field " + name);
            return missing_value();
        }
        return {*it};
    }

    // --- functions ---
    void need(const std::string& name, const std::vector<Value>& args, std::size_t n, const std::string& text) {
        if (args.size() != n)
            exec_error(line_, text, "wrong number of args for " + name + ": want " + std::to_string(n) + " got " +
                                        std::to_string(args.size()));
    }
    std::string string_arg(const Value& v, const std::string& name, const std::string& text) {
        if (v.missing || !v.v.is_string()) exec_error(line_, text, "wrong type for value in " + name + "; expected string; got " + type_name(v));
        return v.v.get<std::string>();
    }
    long long int_arg(const Value& v, const std::string& name, const std::string& text) {
        if (v.missing || !v.v.is_number()) exec_error(line_, text, "wrong type for value in " + name + "; expected int; got " + type_name(v));
        return v.v.get<long long>();
    }
    int compare(const Value& a, const Value& b, const std::string& name, const std::string& text) {
        if (!a.missing && !b.missing && a.v.is_number() && b.v.is_number()) {
            double x = a.v.get<double>(), y = b.v.get<double>();
            return x < y ? -1 : x > y ? 1 : 0;
        }
        if (!a.missing && !b.missing && a.v.is_string() && b.v.is_string()) return a.v.get<std::string>().compare(b.v.get<std::string>());
        if (name == "eq" || name == "ne") {
            if (a.missing || b.missing) return a.missing == b.missing ? 0 : 1;
            if (a.v.type() == b.v.type() && (a.v.is_boolean() || a.v.is_null())) return a.v == b.v ? 0 : 1;
        }
        exec_error(line_, text, "error calling " + name + ": incompatible types for comparison");
    }

    Value call(const std::string& name, const std::vector<Value>& args, const std::string& text) {
        if (name == "and" || name == "or") {  // as an argument with no operands of its own
            exec_error(line_, text, "wrong number of args for " + name + ": want at least 1 got 0");
        }
        if (name == "not") {
            need(name, args, 1, text);
            return {json(!truthy(args[0]))};
        }
        if (name == "len") {
            need(name, args, 1, text);
            const Value& a = args[0];
            if (!a.missing && a.v.is_string()) return {json(a.v.get<std::string>().size())};
            if (!a.missing && (a.v.is_array() || a.v.is_object())) return {json(a.v.size())};
            exec_error(line_, text, "error calling len: len of type " + type_name(a));
        }
        if (name == "index") {
            if (args.empty()) exec_error(line_, text, "wrong number of args for index: want at least 1 got 0");
            Value v = args[0];
            for (std::size_t i = 1; i < args.size(); ++i) {
                if (!v.missing && v.v.is_array()) {
                    long long k = int_arg(args[i], name, text);
                    if (k < 0 || static_cast<std::size_t>(k) >= v.v.size())
                        exec_error(line_, text, "error calling index: index out of range: " + std::to_string(k));
                    v = {v.v[static_cast<std::size_t>(k)]};
                } else if (!v.missing && v.v.is_object()) {
                    std::string k = string_arg(args[i], name, text);
                    v = v.v.contains(k) ? Value{v.v[k]} : missing_value();
                } else if (v.missing || v.v.is_null()) {
                    exec_error(line_, text, "error calling index: index of untyped nil");
                } else {
                    exec_error(line_, text, "error calling index: can't index item of type " + type_name(v));
                }
            }
            return v;
        }
        if (name == "slice") {
            if (args.empty() || args.size() > 3) exec_error(line_, text, "wrong number of args for slice");
            const Value& v = args[0];
            if (v.missing || !(v.v.is_string() || v.v.is_array()))
                exec_error(line_, text, "error calling slice: can't slice item of type " + type_name(v));
            std::size_t size = v.v.is_string() ? v.v.get<std::string>().size() : v.v.size();
            long long from = args.size() > 1 ? int_arg(args[1], name, text) : 0;
            long long to = args.size() > 2 ? int_arg(args[2], name, text) : static_cast<long long>(size);
            if (from < 0 || to < from || static_cast<std::size_t>(to) > size) exec_error(line_, text, "error calling slice: index out of range");
            if (v.v.is_string()) return {json(v.v.get<std::string>().substr(from, to - from))};
            return {json(json::array_t(v.v.begin() + from, v.v.begin() + to))};
        }
        if (name == "eq") {
            if (args.size() < 2) exec_error(line_, text, "wrong number of args for eq: want at least 2");
            for (std::size_t i = 1; i < args.size(); ++i)
                if (compare(args[0], args[i], name, text) == 0) return {json(true)};
            return {json(false)};
        }
        if (name == "ne" || name == "lt" || name == "le" || name == "gt" || name == "ge") {
            need(name, args, 2, text);
            int c = compare(args[0], args[1], name, text);
            bool r = name == "ne" ? c != 0 : name == "lt" ? c < 0 : name == "le" ? c <= 0 : name == "gt" ? c > 0 : c >= 0;
            return {json(r)};
        }
        if (name == "print" || name == "println") {
            // fmt.Sprint puts a space between operands when neither is a string; Sprintln always.
            auto is_string = [](const Value& v) { return !v.missing && v.v.is_string(); };
            std::string s;
            for (std::size_t i = 0; i < args.size(); ++i) {
                if (i > 0 && (name == "println" || (!is_string(args[i]) && !is_string(args[i - 1])))) s += ' ';
                s += printed(args[i]);
            }
            if (name == "println") s += '\n';
            return {json(s)};
        }
        if (name == "printf") {
            if (args.empty()) exec_error(line_, text, "wrong number of args for printf: want at least 1 got 0");
            std::string f = string_arg(args[0], name, text), s;
            std::size_t next = 1;
            for (std::size_t i = 0; i < f.size(); ++i) {
                if (f[i] != '%' || i + 1 >= f.size()) {
                    s += f[i];
                    continue;
                }
                // %[flags][width][.precision]verb, handed to snprintf for the verbs it shares with Go.
                std::size_t start = i++;
                while (i < f.size() && std::string_view("-+# 0").find(f[i]) != std::string_view::npos) ++i;
                while (i < f.size() && (std::isdigit(static_cast<unsigned char>(f[i])) || f[i] == '.')) ++i;
                if (i >= f.size()) {
                    s += "%!(NOVERB)";
                    break;
                }
                const char verb = f[i];
                const std::string spec = f.substr(start, i - start);
                for (std::size_t d = 1; d < spec.size();) {  // a width or precision snprintf can honour
                    std::size_t end = spec.find_first_not_of("0123456789", d);
                    if (end == std::string::npos) end = spec.size();
                    if (end > d && (end - d > 3 || std::stoi(spec.substr(d, end - d)) > 256))
                        exec_error(line_, text, "error calling printf: width or precision over 256 in " + spec + verb);
                    d = end + 1;
                }
                if (verb == '%') {
                    s += '%';
                    continue;
                }
                if (next >= args.size()) {
                    s += std::string("%!") + verb + "(MISSING)";
                    continue;
                }
                const Value& a = args[next++];
                char buf[512];
                if ((verb == 'd' || verb == 'x' || verb == 'o') && !a.missing && a.v.is_number()) {
                    std::snprintf(buf, sizeof buf, (spec + "ll" + verb).c_str(), a.v.get<long long>());
                } else if ((verb == 'f' || verb == 'e' || verb == 'g') && !a.missing && a.v.is_number()) {
                    std::snprintf(buf, sizeof buf, (spec + verb).c_str(), a.v.get<double>());
                } else if (verb == 's' || verb == 'v' || verb == 'q' || verb == 't') {
                    std::string text_value = verb == 'q' ? json(printed(a)).dump(-1, ' ', false, json::error_handler_t::replace)
                                                         : printed(a);
                    std::snprintf(buf, sizeof buf, (spec + "s").c_str(), text_value.c_str());
                    if (text_value.size() >= sizeof buf) {
                        s += text_value;  // longer than any width: as it is
                        continue;
                    }
                } else {
                    std::snprintf(buf, sizeof buf, "%%!%c(%s)", verb, printed(a).c_str());
                }
                s += buf;
            }
            return {json(s)};
        }
        if (name == "json") {
            need(name, args, 1, text);
            // A byte that is not UTF-8 (a command line, a file name) prints as U+FFFD, not an error.
            return {json(args[0].missing ? std::string("null") : args[0].v.dump(-1, ' ', false, json::error_handler_t::replace))};
        }
        if (name == "join") {
            need(name, args, 2, text);
            const Value& list = args[0];
            std::string sep = string_arg(args[1], name, text), s;
            if (list.missing || !list.v.is_array()) exec_error(line_, text, "wrong type for value in join; expected []string; got " + type_name(list));
            for (std::size_t i = 0; i < list.v.size(); ++i) {
                if (!list.v[i].is_string()) exec_error(line_, text, "wrong type for value in join; expected []string");
                s += (i ? sep : "") + list.v[i].get<std::string>();
            }
            return {json(s)};
        }
        if (name == "split") {
            need(name, args, 2, text);
            std::string s = string_arg(args[0], name, text), sep = string_arg(args[1], name, text);
            json parts = json::array();
            if (sep.empty()) {
                for (char ch : s) parts.push_back(std::string(1, ch));
            } else {
                std::size_t from = 0;
                for (std::size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + sep.size()) parts.push_back(s.substr(from, at - from));
                parts.push_back(s.substr(from));
            }
            return {parts};
        }
        if (name == "lower" || name == "upper" || name == "title") {
            need(name, args, 1, text);
            std::string s = string_arg(args[0], name, text);
            bool word_start = true;
            for (auto& ch : s) {
                auto u = static_cast<unsigned char>(ch);
                if (name == "lower") ch = static_cast<char>(std::tolower(u));
                else if (name == "upper") ch = static_cast<char>(std::toupper(u));
                else {
                    if (word_start) ch = static_cast<char>(std::toupper(u));
                    word_start = std::isspace(u) != 0;
                }
            }
            return {json(s)};
        }
        if (name == "truncate") {
            need(name, args, 2, text);
            std::string s = string_arg(args[0], name, text);
            long long n = int_arg(args[1], name, text);
            if (n >= 0 && static_cast<std::size_t>(n) < s.size()) s.resize(static_cast<std::size_t>(n));
            return {json(s)};
        }
        if (name == "pad") {
            need(name, args, 3, text);
            std::string s = string_arg(args[0], name, text);
            long long before = int_arg(args[1], name, text), after = int_arg(args[2], name, text);
            return {json(std::string(static_cast<std::size_t>(std::max(0LL, before)), ' ') + s +
                         std::string(static_cast<std::size_t>(std::max(0LL, after)), ' '))};
        }
        exec_error(line_, text, "function \"" + name + "\" not defined");
    }

    bool strict_;
    std::string& out_;
    std::vector<std::pair<std::string, Value>> vars_;
    int line_ = 1;
};

std::size_t display_width(const std::string& text) {
    std::size_t n = 0;
    for (unsigned char ch : text) n += (ch & 0xC0) != 0x80;
    return n;
}

}  // namespace

std::string print_value(const json& v) {
    switch (v.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::string: return v.get<std::string>();
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return number_text(v);
    case json::value_t::array: {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + print_value(v[i]);
        return s + "]";
    }
    case json::value_t::object: {
        std::string s = "map[";
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            s += (first ? "" : " ") + it.key() + ":" + print_value(it.value());
            first = false;
        }
        return s + "]";
    }
    default: return "";
    }
}

Template::Template(const std::string& text, bool strict_fields) : text_(text), strict_(strict_fields) {
    nodes_ = TreeParser(split_pieces(text)).parse_top();
}

Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const json& dot) const {
    std::string out;
    Runner runner(strict_, out);
    runner.set_root({dot});
    runner.run(nodes_, {dot});
    return out;
}

bool is_table(const std::string& format) { return format.rfind("table", 0) == 0; }

std::string listing_format(const std::string& format) {
    std::string text = is_table(format) ? format.substr(5) : format;
    std::size_t b = text.find_first_not_of(' ');
    text = b == std::string::npos ? "" : text.substr(b, text.find_last_not_of(' ') - b + 1);
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 't' || text[i + 1] == 'n')) {
            out += text[++i] == 't' ? '\t' : '\n';
        } else {
            out += text[i];
        }
    }
    return out;
}

namespace {
std::string resolved_format(const std::string& format, const std::string& default_table) {
    if (format.empty() || format == "table") return default_table;
    return format == "json" ? "{{json .}}" : format;
}
}  // namespace

Listing::Listing(const std::string& format, const std::string& default_table)
    : table_(is_table(resolved_format(format, default_table))),
      row_(listing_format(resolved_format(format, default_table)), /*strict_fields=*/true) {}

std::string Listing::render(const nlohmann::json& headers, const std::vector<nlohmann::json>& rows) const {
    std::string out = table_ ? row_.render(headers) + "\n" : "";
    for (const auto& r : rows) out += row_.render(r) + "\n";
    return table_ ? align_columns(out) : out;
}

std::string align_columns(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::size_t from = 0;
    while (from < text.size()) {
        std::size_t nl = text.find('\n', from);
        std::string line = text.substr(from, nl == std::string::npos ? std::string::npos : nl - from);
        std::vector<std::string> cells;
        std::size_t c = 0;
        for (std::size_t tab; (tab = line.find('\t', c)) != std::string::npos; c = tab + 1) cells.push_back(line.substr(c, tab - c));
        cells.push_back(line.substr(c));
        rows.push_back(std::move(cells));
        if (nl == std::string::npos) break;
        from = nl + 1;
    }
    std::vector<std::size_t> width;
    for (const auto& row : rows)
        for (std::size_t i = 0; i + 1 < row.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], std::max<std::size_t>(display_width(row[i]) + 3, 10));
        }
    std::string out;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size()) out += std::string(width[i] - display_width(row[i]), ' ');
        }
        out += '\n';
    }
    return out;
}

}  // namespace hutch::go_template
