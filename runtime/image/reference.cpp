// Docker's reference grammar (distribution/reference), read by hand rather than by regex so each
// refusal says which part was wrong:
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [domain "/"] path-component ["/" path-component]*      (at most 255 characters)
//   domain    := host [":" port], host a DNS name, an IPv4 literal or "[" IPv6 "]"
//   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag       := [\w][\w.-]{0,127}
//   digest    := "sha256:" 64 lowercase hex (hutch stores nothing else; is_digest())
//
// Which first component is a domain is Docker's splitDockerDomain rule: one containing '.' or
// ':', or "localhost", or one with an uppercase letter (so that "Foo/bar" is refused as a bad
// domain-less name rather than read as docker.io/Foo/bar). "index.docker.io" is docker.io; a
// one-component name on docker.io gets "library/".
#include "runtime/image/reference.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "runtime/error.hpp"
#include "runtime/image/digest.hpp"

namespace hutch::image {
namespace {

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxTag = 128;
constexpr std::string_view kDockerHub = "docker.io";

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool word(char c) { return alnum(c) || c == '_'; }

bool valid_path_component(std::string_view s) {
    if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
    for (std::size_t i = 0; i < s.size();) {
        if (lower_alnum(s[i])) { ++i; continue; }
        // A separator: ".", "_", "__" or a run of "-", always between alphanumerics.
        std::size_t j = i;
        if (s[i] == '.') j = i + 1;
        else if (s[i] == '_') j = (i + 1 < s.size() && s[i + 1] == '_') ? i + 2 : i + 1;
        else if (s[i] == '-') while (j < s.size() && s[j] == '-') ++j;
        else return false;
        if (j >= s.size() || !lower_alnum(s[j])) return false;
        i = j;
    }
    return true;
}

bool valid_dns_component(std::string_view s) {
    return !s.empty() && alnum(s.front()) && alnum(s.back()) &&
           std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-'; });
}

// ":" followed by 1 to 5 digits.
bool valid_port(std::string_view p) {
    return p.size() >= 2 && p.size() <= 6 && p.front() == ':' &&
           std::all_of(p.begin() + 1, p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_domain(std::string_view d) {
    if (!d.empty() && d.front() == '[') {  // [IPv6]:port, as distribution's newer grammar takes
        std::size_t close = d.find(']');
        if (close == std::string_view::npos || close < 3) return false;
        for (char c : d.substr(1, close - 1))
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':')) return false;
        std::string_view rest = d.substr(close + 1);
        return rest.empty() || valid_port(rest);
    }
    std::size_t colon = d.find(':');
    if (colon != std::string_view::npos && !valid_port(d.substr(colon))) return false;
    std::string_view host = d.substr(0, colon);
    for (std::size_t start = 0;;) {
        std::size_t dot = host.find('.', start);
        if (!valid_dns_component(host.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Docker's splitDockerDomain: which part of `name` is the registry.
void split_domain(std::string_view name, std::string& domain, std::string& path) {
    std::size_t slash = name.find('/');
    std::string_view first = name.substr(0, slash);
    bool is_domain = slash != std::string_view::npos &&
                     (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || lower(first) != first);
    if (is_domain) {
        domain = first;
        path = name.substr(slash + 1);
    } else {
        domain = kDockerHub;
        path = name;
    }
    if (domain == "index.docker.io") domain = kDockerHub;
    if (domain == kDockerHub && path.find('/') == std::string::npos) path = "library/" + path;
}

// Why `path` is not a valid repository path, or nothing.
std::optional<std::string> path_problem(const std::string& path) {
    std::size_t start = 0;
    for (;;) {
        std::size_t slash = path.find('/', start);
        std::string part = path.substr(start, slash - start);
        if (!valid_path_component(part))
            return valid_path_component(lower(part)) ? "repository name must be lowercase" : "invalid reference format";
        if (slash == std::string::npos) return std::nullopt;
        start = slash + 1;
    }
}

bool valid_tag(std::string_view t) {
    return !t.empty() && t.size() <= kMaxTag && word(t.front()) &&
           std::all_of(t.begin(), t.end(), [](char c) { return word(c) || c == '.' || c == '-'; });
}

// The parse itself: the reference, or why `text` is not one.
std::optional<std::string> parse_into(std::string_view text, Reference& ref) {
    if (text.empty()) return "repository name must have at least one component";
    if (text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) { return lower_alnum(c) && c <= 'f'; }))
        return "cannot specify 64-byte hexadecimal strings";  // Docker's rule: that is an image id
    std::string_view name = text;
    if (std::size_t at = text.find('@'); at != std::string_view::npos) {
        ref.digest = text.substr(at + 1);
        name = text.substr(0, at);
        if (!is_digest(ref.digest)) return "digest must be sha256:<64 lowercase hex digits>";
    }
    std::size_t colon = name.rfind(':');
    if (colon != std::string_view::npos && name.find('/', colon) == std::string_view::npos) {
        ref.tag = name.substr(colon + 1);
        name = name.substr(0, colon);
        if (!valid_tag(ref.tag)) return "invalid tag";
    }
    split_domain(name, ref.domain, ref.path);
    if (!valid_domain(ref.domain)) return "invalid reference format";
    if (auto problem = path_problem(ref.path)) return problem;
    if (ref.domain.size() + 1 + ref.path.size() > kMaxName)
        return "repository name must not be more than " + std::to_string(kMaxName) + " characters";
    if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
    return std::nullopt;
}

}  // namespace

Reference Reference::parse(std::string_view text) {
    Reference ref;
    if (auto problem = parse_into(text, ref))
        throw UsageError("invalid reference format \"" + std::string(text) + "\": " + *problem);
    return ref;
}

bool Reference::looks_like(std::string_view text) {
    Reference ref;
    return !parse_into(text, ref);
}

std::string Reference::full() const {
    std::string out = domain + "/" + path;
    if (!tag.empty()) out += ":" + tag;
    if (!digest.empty()) out += "@" + digest;
    return out;
}

std::string Reference::repository() const {
    if (domain != kDockerHub) return domain + "/" + path;
    if (path.rfind("library/", 0) == 0 && path.find('/', 8) == std::string::npos) return path.substr(8);
    return path;
}

std::string Reference::familiar() const {
    return tag.empty() ? repository() + "@" + digest : repository() + ":" + tag;
}

}  // namespace hutch::image
