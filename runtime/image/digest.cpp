// SHA-256 as FIPS 180-4 section 6.2 gives it. Whole 64-byte blocks are hashed straight from the
// caller's buffer; only a partial block at either end is copied, so a layer streamed in 64 KiB
// reads costs one copy of nothing.
#include "runtime/image/digest.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/error.hpp"
#include "runtime/image/quote.hpp"

namespace hutch::image {
namespace {

constexpr std::uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

std::uint32_t load_be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

Sha256::Sha256()
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

// One round with the eight working variables named in place rather than shifted through (the
// rotation is in the argument order of the calls below), FIPS 180-4 6.2.2 step 3. The message
// schedule is kept as a ring of 16 words, each extended just before its round uses it (step 1):
// a quarter of the memory traffic of the 64-word table.
#define HUTCH_SHA256_ROUND(a, b, c, d, e, f, g, h, i)                                                    \
    do {                                                                                                 \
        std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + (g ^ (e & (f ^ g))) + kRound[i] + W(i); \
        d += t1;                                                                                         \
        h = t1 + (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) | (c & (a | b)));                   \
    } while (0)

void Sha256::block(const unsigned char* p) {
    std::uint32_t w[16];
    for (int t = 0; t < 16; ++t) w[t] = load_be32(p + 4 * t);
    auto W = [&w](int t) {
        if (t < 16) return w[t];
        std::uint32_t x = w[(t - 15) & 15], y = w[(t - 2) & 15];
        return w[t & 15] += (rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)) + w[(t - 7) & 15] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10));
    };
    std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (int t = 0; t < 64; t += 8) {
        HUTCH_SHA256_ROUND(a, b, c, d, e, f, g, h, t);
        HUTCH_SHA256_ROUND(h, a, b, c, d, e, f, g, t + 1);
        HUTCH_SHA256_ROUND(g, h, a, b, c, d, e, f, t + 2);
        HUTCH_SHA256_ROUND(f, g, h, a, b, c, d, e, t + 3);
        HUTCH_SHA256_ROUND(e, f, g, h, a, b, c, d, t + 4);
        HUTCH_SHA256_ROUND(d, e, f, g, h, a, b, c, t + 5);
        HUTCH_SHA256_ROUND(c, d, e, f, g, h, a, b, t + 6);
        HUTCH_SHA256_ROUND(b, c, d, e, f, g, h, a, t + 7);
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;
}
#undef HUTCH_SHA256_ROUND

void Sha256::update(const void* data, std::size_t size) {
    auto p = static_cast<const unsigned char*>(data);
    length_ += size;
    if (buffered_ > 0) {
        std::size_t take = std::min(size, buffer_.size() - buffered_);
        std::memcpy(buffer_.data() + buffered_, p, take);
        buffered_ += take;
        p += take;
        size -= take;
        if (buffered_ < buffer_.size()) return;
        block(buffer_.data());
        buffered_ = 0;
    }
    for (; size >= 64; p += 64, size -= 64) block(p);
    std::memcpy(buffer_.data(), p, size);
    buffered_ = size;
}

std::string Sha256::finish() {
    // Padding: 0x80, zeros up to 56 mod 64, then the message length in bits, big-endian.
    std::uint64_t bits = length_ * 8;
    unsigned char pad[72] = {0x80};
    std::size_t pad_size = (buffered_ < 56 ? 56 - buffered_ : 120 - buffered_);
    for (int i = 0; i < 8; ++i) pad[pad_size + i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(pad, pad_size + 8);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (std::uint32_t word : state_)
        for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(word >> shift) & 0xf];
    return out;
}

bool is_digest(std::string_view text) {
    constexpr std::string_view prefix = "sha256:";
    if (text.size() != prefix.size() + 64 || text.substr(0, prefix.size()) != prefix) return false;
    for (char c : text.substr(prefix.size()))
        if (!is_lower_hex(c)) return false;
    return true;
}

std::string digest_hex(std::string_view digest, std::string_view what) {
    if (!is_digest(digest))
        throw UsageError(std::string(what) + ": not a sha256 digest (\"sha256:\" and 64 lowercase hex digits): " +
                         image::quoted_safely(digest, 100));
    return std::string(digest.substr(7));
}

std::string digest_of(std::string_view data) {
    Sha256 hash;
    hash.update(data);
    return hash.finish();
}

}  // namespace hutch::image
