// Hostile text in an error message: an entry name from a layer, a digest from a registry. A
// terminal must not receive its control characters (escape sequences can rewrite what the user
// sees), nor megabytes of it.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace hutch::image {

// `text` in double quotes, bytes outside printable ASCII as \xNN, cut at `limit` bytes with "...".
// Not named `quoted`: <iomanip>'s std::quoted would win argument-dependent lookup for a
// std::string wherever <iomanip> is seen first (CI's unity build).
inline std::string quoted_safely(std::string_view text, std::size_t limit = 256) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    out += text.size() > limit ? "\"..." : "\"";
    return out;
}

}  // namespace hutch::image
