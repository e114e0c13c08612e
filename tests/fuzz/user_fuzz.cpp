// --user against the container's /etc/passwd and /etc/group (runtime/user.hpp resolve_user):
// both files come from the image, so they are hostile. The input is SPEC NUL PASSWD NUL GROUP.
//
// Invariants: a numeric uid or gid is taken as given; a name resolves to a passwd line of that
// name; ids stay within Docker's 0..2^31-1; the supplementary list is never empty and holds the
// given group alone when one was given; resolving twice gives the same answer.
#include <charconv>

#include "runtime/error.hpp"
#include "runtime/user.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

bool numeric(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

std::uint64_t number(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

// Whether `passwd` has a line "name:x:uid:...".
bool passwd_has(std::string_view passwd, std::string_view name, std::uint32_t uid) {
    std::size_t start = 0;
    while (start <= passwd.size()) {
        std::size_t nl = std::min(passwd.find('\n', start), passwd.size());
        std::string_view line = passwd.substr(start, nl - start);
        start = nl + 1;
        std::size_t c1 = line.find(':');
        if (c1 == std::string_view::npos || line.substr(0, c1) != name) continue;
        std::size_t c2 = line.find(':', c1 + 1);
        std::size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
        if (c3 == std::string_view::npos) continue;
        std::string_view field = line.substr(c2 + 1, c3 - c2 - 1);  // "0123" is 123, as in Go's Atoi
        if (numeric(field) && number(field) == uid) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 65536) return -1;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::size_t nul1 = text.find('\0');
    std::string_view spec = text.substr(0, nul1);
    std::string_view rest = nul1 == std::string_view::npos ? std::string_view() : text.substr(nul1 + 1);
    std::size_t nul2 = rest.find('\0');
    std::string_view passwd = rest.substr(0, nul2);
    std::string_view group = nul2 == std::string_view::npos ? std::string_view() : rest.substr(nul2 + 1);

    hutch::ResolvedUser user;
    try {
        user = hutch::resolve_user(spec, passwd, group);
    } catch (const hutch::UsageError&) {
        return 0;
    }
    hutch::ResolvedUser again = hutch::resolve_user(spec, passwd, group);
    FUZZ_CHECK(again.uid == user.uid && again.gid == user.gid && again.additional_gids == user.additional_gids &&
                   again.home == user.home,
               "resolving twice differs");

    std::string_view user_part = spec.substr(0, spec.find(':'));
    bool has_group = spec.find(':') != std::string_view::npos;
    std::string_view group_part = has_group ? spec.substr(spec.find(':') + 1) : std::string_view();
    FUZZ_CHECK(user.uid <= 0x7fffffff && user.gid <= 0x7fffffff, "an id beyond 2^31-1");
    FUZZ_CHECK(!user.additional_gids.empty(), "an empty supplementary list");
    for (auto g : user.additional_gids) FUZZ_CHECK(g <= 0x7fffffff, "a supplementary gid beyond 2^31-1");
    if (numeric(user_part)) FUZZ_CHECK(user.uid == number(user_part), "a numeric uid changed");
    else if (!user_part.empty())
        FUZZ_CHECK(passwd_has(passwd, user_part, user.uid), "a name resolved to no passwd line of that name and uid");
    else FUZZ_CHECK(user.uid == 0, "\":group\" did not keep root");
    if (has_group) {
        if (numeric(group_part)) FUZZ_CHECK(user.gid == number(group_part), "a numeric gid changed");
        FUZZ_CHECK(user.additional_gids == std::vector<std::uint32_t>{user.gid},
                   "a given group is not the only supplementary group");
    }
    return 0;
}
