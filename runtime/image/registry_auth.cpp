// The parse follows RFC 7235's grammar (token, "=", token or quoted-string, ","), as containerd's
// remotes/docker/auth does; only the first challenge of a header line is read (registries send
// one per line).
#include "runtime/image/registry_auth.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstring>

#include "runtime/error.hpp"

namespace hutch::image::registry {
namespace {

constexpr std::size_t kMaxTokenResponse = 1 << 20;

bool token_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 32 && u < 127 && !std::strchr("\"(),/:;<=>?@[]\\{}", c);
}

std::string_view skip_space(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

std::string take_token(std::string_view& s) {
    std::size_t n = 0;
    while (n < s.size() && token_char(s[n])) ++n;
    std::string out(s.substr(0, n));
    s.remove_prefix(n);
    return out;
}

// A quoted-string with its backslash escapes; false when it never closes.
bool take_quoted(std::string_view& s, std::string& out) {
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            out += s[++i];
        } else if (s[i] == '"') {
            s.remove_prefix(i + 1);
            return true;
        } else {
            out += s[i];
        }
    }
    return false;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

Challenge parse_challenge(std::string_view s) {
    Challenge c;
    s = skip_space(s);
    c.scheme = lower(take_token(s));
    for (;;) {
        s = skip_space(s);
        std::string name = lower(take_token(s));
        if (name.empty() || s.empty() || s.front() != '=') return c;
        s.remove_prefix(1);
        std::string value;
        if (!s.empty() && s.front() == '"') {
            if (!take_quoted(s, value)) return c;
        } else {
            value = take_token(s);
        }
        c.params[name] = value;
        s = skip_space(s);
        if (s.empty() || s.front() != ',') return c;
        s.remove_prefix(1);
    }
}

std::string token_from_json(std::string_view body, const std::string& what) {
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    std::string token;
    for (const char* key : {"token", "access_token"})
        if (doc.is_object() && doc.contains(key) && doc[key].is_string() && token.empty()) token = doc[key].get<std::string>();
    if (token.empty()) throw Error(what + ": the token server's answer holds no token");
    for (char c : token)
        if (static_cast<unsigned char>(c) <= 32 || static_cast<unsigned char>(c) >= 127)
            throw Error(what + ": the token server's token holds a character that cannot go into a header");
    return token;
}

std::string fetch_token(const Challenge& challenge, const std::string& scope, const http::Limits& limits,
                        const std::string& what) {
    auto realm = challenge.params.find("realm");
    if (realm == challenge.params.end() || !(realm->second.rfind("https://", 0) == 0 || realm->second.rfind("http://", 0) == 0))
        throw Error(what + ": the registry's Bearer challenge has no http(s) realm");
    std::string url = realm->second + (realm->second.find('?') == std::string::npos ? "?" : "&");
    auto service = challenge.params.find("service");
    if (service != challenge.params.end()) url += "service=" + http::escape(service->second) + "&";
    auto own_scope = challenge.params.find("scope");
    url += "scope=" + http::escape(own_scope != challenge.params.end() ? own_scope->second : scope);
    http::Response r = http::get({url, {"Accept: application/json"}, kMaxTokenResponse, false, {}}, limits, what);
    if (r.status != 200)
        throw Error(what + ": token server " + realm->second + " answered HTTP " + std::to_string(r.status));
    return token_from_json(r.body, what);
}

}  // namespace hutch::image::registry
