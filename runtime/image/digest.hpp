// Content digests: SHA-256 (FIPS 180-4), written here rather than pulled from a crypto library
// because it is the only primitive the image store needs, and "sha256:<64 hex>" strings, the
// names of everything in the store.
//
// A digest read from an image or a registry is hostile input: is_digest() is the one check that
// lets it become part of a path (64 lowercase hex digits, nothing else can climb or escape).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hutch::image {

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    // Ends the hash: "sha256:<64 lowercase hex>". The object must not be updated afterwards.
    std::string finish();

private:
    void block(const unsigned char* p);
    std::array<std::uint32_t, 8> state_;
    std::array<unsigned char, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;
};

// "sha256:" followed by exactly 64 lowercase hex digits.
bool is_digest(std::string_view text);
// The 64 hex digits of a valid digest (a path component in the store); UsageError naming `what`
// and the text otherwise.
std::string digest_hex(std::string_view digest, std::string_view what);
// SHA-256 of `data` as a digest string.
std::string digest_of(std::string_view data);

}  // namespace hutch::image
