// SHA-256 against the NIST FIPS 180-4 example vectors, streamed at odd split points, and the
// digest syntax that decides what may become a path in the image store.
#include <gtest/gtest.h>

#include <string>

#include "runtime/image/digest.hpp"
#include "test_helpers.hpp"

namespace hutch::image {
namespace {

using hutch::test::contains;
using hutch::test::usage_error;

TEST(ImageDigest, NistVectors) {
    EXPECT_EQ(digest_of(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(digest_of("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(digest_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "sha256:cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    EXPECT_EQ(digest_of(std::string(1000000, 'a')),
              "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// The padding edges: 55 bytes fit one final block, 56 need a second, 64 a whole extra one.
TEST(ImageDigest, PaddingEdges) {
    EXPECT_EQ(digest_of(std::string(55, 'a')), "sha256:9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    EXPECT_EQ(digest_of(std::string(56, 'a')), "sha256:b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    EXPECT_EQ(digest_of(std::string(64, 'a')), "sha256:ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(ImageDigest, StreamingAtAnySplitEqualsOneShot) {
    std::string data;
    for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7 + 3);
    std::string whole = digest_of(data);
    for (std::size_t split : {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 500, 999, 1000}) {
        Sha256 hash;
        hash.update(data.data(), split);
        hash.update(data.data() + split, data.size() - split);
        EXPECT_EQ(hash.finish(), whole) << "split at " << split;
    }
    Sha256 bytewise;
    for (char c : data) bytewise.update(&c, 1);
    EXPECT_EQ(bytewise.finish(), whole);
    Sha256 odd;  // chunks of 1, 2, 3, ... bytes
    for (std::size_t at = 0, n = 1; at < data.size(); at += n, ++n) odd.update(data.substr(at, n));
    EXPECT_EQ(odd.finish(), whole);
}

TEST(ImageDigest, DigestSyntax) {
    const std::string hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    EXPECT_TRUE(is_digest("sha256:" + hex));
    EXPECT_EQ(digest_hex("sha256:" + hex, "layer"), hex);
    std::string upper = hex;
    upper[0] = 'E';
    for (const std::string& bad : {"sha256:" + upper, "sha256:" + hex.substr(1), "sha256:" + hex + "0",
                                   "sha512:" + hex, "sha256:../" + hex.substr(3), "sha256:" + hex.substr(1) + "\n",
                                   "sha256:" + hex + "\n", hex, std::string("sha256:"), std::string()}) {
        EXPECT_FALSE(is_digest(bad)) << bad;
        std::string message = usage_error([&] { digest_hex(bad, "layer of test"); });
        EXPECT_TRUE(contains(message, "layer of test"));
        EXPECT_TRUE(contains(message, "not a sha256 digest"));
    }
    // The bad text is shown, its control characters escaped.
    EXPECT_TRUE(contains(usage_error([&] { digest_hex("sha256:\x1b[2J", "x"); }), "\"sha256:\\x1b[2J\""));
}

}  // namespace
}  // namespace hutch::image
