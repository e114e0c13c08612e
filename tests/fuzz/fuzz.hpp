// Shared by the fuzz targets (tests/fuzz/*_fuzz.cpp): each defines LLVMFuzzerTestOneInput and is
// built twice, with clang's libFuzzer and sanitizers (HUTCH_FUZZ=ON, scripts/fuzz) and, in the
// ordinary build, with replay_main.cpp, which feeds it every file of its committed corpus
// (tests/fuzz/corpus/<target>/) as a ctest test.
//
// A target checks invariants, not only "does not crash": a violated one aborts through
// FUZZ_CHECK, which libFuzzer reports as a crash and saves the input. Bad input must come back
// as hutch::UsageError (the CLI's one clear line); any other exception escaping a target is a
// finding too, because the CLI would print it as an unclear "hutch: stoll" or a JSON library's
// internals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond, what)                                                                        \
    do {                                                                                              \
        if (!(cond)) ::hutch::fuzz::violated(__FILE__, __LINE__, #cond, (what));                      \
    } while (0)

namespace hutch::fuzz {

[[noreturn]] inline void violated(const char* file, int line, const char* cond, const std::string& what) {
    std::fprintf(stderr, "%s:%d: invariant violated: %s\n  %s\n", file, line, cond, what.c_str());
    std::abort();
}

// The input cut at NUL bytes: argv words, or the fields of a multi-part input. A trailing
// NUL does not add an empty last word.
inline std::vector<std::string> split_nul(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> out;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nul = text.find('\0', start);
        if (nul == std::string_view::npos) nul = text.size();
        out.emplace_back(text.substr(start, nul - start));
        start = nul + 1;
    }
    return out;
}

inline std::string as_string(const std::uint8_t* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace hutch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
