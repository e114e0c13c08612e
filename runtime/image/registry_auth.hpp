// Registry token auth (the distribution spec's "token authentication"), anonymous only:
// a 401 carries `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`; the client
// GETs realm?service=..&scope=.. and sends the JSON's "token" (or "access_token", the OAuth
// name some servers use, as containerd takes either) as `Authorization: Bearer`.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/image/http.hpp"

namespace hutch::image::registry {

struct Challenge {
    std::string scheme;                         // lowercase: "bearer", "basic", ...
    std::map<std::string, std::string> params;  // names lowercase; quoted values unquoted
};

// One WWW-Authenticate value (RFC 7235 auth-params; quoted strings may hold commas and \").
// An unparsable value yields a challenge without params.
Challenge parse_challenge(std::string_view header);

// The token of a token server's JSON answer; Error naming `what` when there is none, or when it
// holds characters that cannot go into a header line (a token is hostile input too).
std::string token_from_json(std::string_view body, const std::string& what);

// Asks the challenge's realm for an anonymous token; `scope` is used when the challenge has none.
std::string fetch_token(const Challenge& challenge, const std::string& scope, const http::Limits& limits,
                        const std::string& what);

}  // namespace hutch::image::registry
