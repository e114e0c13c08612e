// Checks for values users type: each returns whether the value is acceptable, so front-ends can
// reject it with a message that names it before anything touches the kernel.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hutch::validate {

// Docker's container name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*
bool container_name(std::string_view name);
// RFC 1123 hostname: labels of 1-63 [a-zA-Z0-9-] not starting or ending with '-', 253 at most.
bool hostname(std::string_view name);
// A literal IPv4 or IPv6 address (IPv6 may be bracketed); returns the canonical text or "".
std::string ip_address(std::string_view text);
// True when the text has whitespace or a control character (a newline in a file is an attack).
bool has_space_or_control(std::string_view text);
// True when the text has a control character (newline, tab, NUL, ...).
bool has_control(std::string_view text);
// True when the text is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code
// points above U+10FFFF), as JSON requires of every string.
bool utf8(std::string_view text);

// The fields of `text` between `sep`s, empty ones included: "a::b" is 3, "" is 1 ("" alone).
std::vector<std::string> fields(std::string_view text, char sep);

// An absolute path as one place: "/a//b/./" is "/a/b", so checks on it see what the kernel will.
// Unlike the checks above it throws, a UsageError naming `what` and the path, when the path is
// relative, holds a control character or climbs with "..".
std::string clean_absolute_path(const std::string& path, const std::string& what);

}  // namespace hutch::validate
