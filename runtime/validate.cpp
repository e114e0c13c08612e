#include "runtime/validate.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "runtime/error.hpp"

namespace hutch::validate {

bool container_name(std::string_view name) {
    if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
            return false;
    return name.size() <= 128;
}

bool hostname(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string_view::npos) end = name.size();
        std::string_view label = name.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
        start = end + 1;
    }
    return true;
}

std::string ip_address(std::string_view text) {
    std::string s(text);
    if (s.find('\0') != std::string::npos) return "";  // inet_pton would stop at it
    if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
    unsigned char buf[sizeof(struct in6_addr)];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return inet_ntop(AF_INET, buf, out, sizeof out);
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return inet_ntop(AF_INET6, buf, out, sizeof out);
    return "";
}

bool has_space_or_control(std::string_view text) {
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (std::isspace(u) || std::iscntrl(u)) return true;
    }
    return false;
}

bool has_control(std::string_view text) {
    for (char c : text)
        if (std::iscntrl(static_cast<unsigned char>(c))) return true;
    return false;
}

bool utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        // The lead byte gives the length; the code point must need that length (no overlong form).
        std::size_t extra = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 0;
        if (extra == 0) return false;  // a continuation byte, or 0xf8-0xff, where a character starts
        static constexpr std::uint32_t kLeast[] = {0, 0x80, 0x800, 0x10000};
        std::uint32_t point = c & (0x7fu >> (extra + 1));
        if (text.size() - i <= extra) return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0) != 0x80) return false;
            point = (point << 6) | (next & 0x3f);
        }
        if (point < kLeast[extra] || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

std::vector<std::string> fields(std::string_view text, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == sep) {
            out.emplace_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

std::string clean_absolute_path(const std::string& path, const std::string& what) {
    auto invalid = [&](const char* why) { return UsageError("invalid " + what + " \"" + path + "\": " + why); };
    if (path.empty() || path[0] != '/') throw invalid("the path must be absolute");
    if (has_control(path)) throw invalid("control characters");
    std::string out;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = std::min(path.find('/', start), path.size());
        std::string part = path.substr(start, slash - start);
        if (part == "..") throw invalid("\"..\" is not allowed");
        if (!part.empty() && part != ".") out += "/" + part;
        start = slash + 1;
    }
    return out.empty() ? "/" : out;
}

}  // namespace hutch::validate
