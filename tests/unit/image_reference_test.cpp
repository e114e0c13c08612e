// runtime/image/reference.hpp: Docker's reference grammar, the names `docker pull` and
// `docker images` use. Every refusal is a UsageError naming the text.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "runtime/error.hpp"
#include "runtime/image/reference.hpp"

using hutch::UsageError;
using hutch::image::Reference;

namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kDigest = "sha256:" + kHex;

// The message of the UsageError parse() throws for `text`; "" when it parses.
std::string refusal(const std::string& text) {
    try {
        Reference::parse(text);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ImageReference, ShortNamesAreDockerHubLibraryLatest) {
    Reference r = Reference::parse("alpine");
    EXPECT_EQ(r.domain, "docker.io");
    EXPECT_EQ(r.path, "library/alpine");
    EXPECT_EQ(r.tag, "latest");
    EXPECT_EQ(r.digest, "");
    EXPECT_EQ(r.full(), "docker.io/library/alpine:latest");
    EXPECT_EQ(r.repository(), "alpine");
    EXPECT_EQ(r.familiar(), "alpine:latest");
}

TEST(ImageReference, TwoComponentNamesStayOnDockerHubWithoutLibrary) {
    Reference r = Reference::parse("foo/bar:1.2");
    EXPECT_EQ(r.domain, "docker.io");
    EXPECT_EQ(r.path, "foo/bar");
    EXPECT_EQ(r.tag, "1.2");
    EXPECT_EQ(r.repository(), "foo/bar");
    EXPECT_EQ(Reference::parse("docker.io/library/alpine").repository(), "alpine");
    EXPECT_EQ(Reference::parse("index.docker.io/library/alpine").full(), "docker.io/library/alpine:latest");
    EXPECT_EQ(Reference::parse("docker.io/alpine").path, "library/alpine");
    // library/ with more components below it is not shortened.
    EXPECT_EQ(Reference::parse("docker.io/library/a/b").repository(), "library/a/b");
}

TEST(ImageReference, DomainsAreDetectedByDotColonOrLocalhost) {
    EXPECT_EQ(Reference::parse("localhost/x").domain, "localhost");
    EXPECT_EQ(Reference::parse("localhost/x").repository(), "localhost/x");
    EXPECT_EQ(Reference::parse("localhost:5000/x").domain, "localhost:5000");
    EXPECT_EQ(Reference::parse("quay.io/coreos/etcd").domain, "quay.io");
    EXPECT_EQ(Reference::parse("quay.io/coreos/etcd").repository(), "quay.io/coreos/etcd");
    EXPECT_EQ(Reference::parse("registry:5000/app").domain, "registry:5000");
    EXPECT_EQ(Reference::parse("[::1]:5000/app").domain, "[::1]:5000");
    // Without a slash the colon is a tag: "localhost:5000" is the image localhost, tag 5000.
    Reference r = Reference::parse("localhost:5000");
    EXPECT_EQ(r.full(), "docker.io/library/localhost:5000");
    // A first component without '.', ':' and not "localhost" is a Hub namespace.
    EXPECT_EQ(Reference::parse("myhost/app").domain, "docker.io");
}

TEST(ImageReference, PortsTagsAndDigestsTogether) {
    Reference r = Reference::parse("127.0.0.1:5000/a/b:v1@" + kDigest);
    EXPECT_EQ(r.domain, "127.0.0.1:5000");
    EXPECT_EQ(r.path, "a/b");
    EXPECT_EQ(r.tag, "v1");
    EXPECT_EQ(r.digest, kDigest);
    EXPECT_EQ(r.full(), "127.0.0.1:5000/a/b:v1@" + kDigest);
    EXPECT_EQ(r.familiar(), "127.0.0.1:5000/a/b:v1");

    Reference d = Reference::parse("alpine@" + kDigest);
    EXPECT_EQ(d.tag, "");  // a digest alone: no implied latest
    EXPECT_EQ(d.full(), "docker.io/library/alpine@" + kDigest);
    EXPECT_EQ(d.familiar(), "alpine@" + kDigest);
}

TEST(ImageReference, PathComponentSeparators) {
    for (const char* good : {"a.b", "a_b", "a__b", "a-b", "a---b", "a.b-c_d__e", "0", "a/b/c/d", "a1/2b"})
        EXPECT_EQ(refusal(good), "") << good;
    for (const char* bad : {"a..b", "a___b", "a_.b", ".a", "a.", "-a", "a-", "_a", "a_", "a-.b", "a b", "a+b", "é"})
        EXPECT_NE(refusal(bad), "") << bad;
}

TEST(ImageReference, TagGrammar) {
    EXPECT_EQ(Reference::parse("a:_x").tag, "_x");
    EXPECT_EQ(Reference::parse("a:V1.2-rc_3").tag, "V1.2-rc_3");
    EXPECT_EQ(Reference::parse("a:" + std::string(128, 't')).tag, std::string(128, 't'));
    EXPECT_NE(refusal("a:" + std::string(129, 't')), "");
    EXPECT_NE(refusal("a:.x"), "");
    EXPECT_NE(refusal("a:-x"), "");
    EXPECT_NE(refusal("a:x/y"), "");  // a slash after the colon: "a:x" is no domain, "y" no tag
    EXPECT_NE(refusal("a:x+y"), "");
}

TEST(ImageReference, RefusesHostileAndMalformedTexts) {
    for (const std::string& bad : std::initializer_list<std::string>{"", "../x", "a//b", "/a", "a/", "x:", "x@", "x@sha256:short", "x@sha256:" + kHex.substr(1) + "G",
                            "x@sha512:" + kHex + kHex, "x@SHA256:" + kHex, "x@" + kDigest + "x", "a/../b", "a/./b",
                            "a\nb", "a b", "host:port/x", "host:123456/x", "-host.io/x", "host-.io/x", "[zz]:5000/x",
                            "a:b:c", "x:tag@" + kDigest + "@" + kDigest, "\"a\"", kHex}) {
        std::string why = refusal(bad);
        EXPECT_NE(why, "") << "accepted: " << bad;
        EXPECT_NE(why.find("\"" + bad + "\""), std::string::npos) << "the message names the text: " << why;
        EXPECT_FALSE(Reference::looks_like(bad)) << bad;
    }
}

TEST(ImageReference, UppercaseRepositoryIsRefusedAsDockerSaysIt) {
    EXPECT_NE(refusal("A").find("repository name must be lowercase"), std::string::npos) << refusal("A");
    EXPECT_NE(refusal("library/Alpine").find("repository name must be lowercase"), std::string::npos);
    EXPECT_NE(refusal("quay.io/Coreos/etcd").find("repository name must be lowercase"), std::string::npos);
    // Uppercase in a tag or a domain is fine, as in Docker.
    EXPECT_EQ(Reference::parse("a:LATEST").tag, "LATEST");
    EXPECT_EQ(Reference::parse("Registry.Example.com/a").domain, "Registry.Example.com");
}

TEST(ImageReference, NameLengthIsBoundedAt255WithTheDomain) {
    std::string ok = "localhost/" + std::string(245, 'a');  // 255 in all
    EXPECT_EQ(refusal(ok), "");
    EXPECT_NE(refusal("localhost/" + std::string(246, 'a')).find("255"), std::string::npos);
    EXPECT_NE(refusal(std::string(300, 'a')), "");
    // docker.io/library/ counts: 255 - 18 characters of the name are left.
    EXPECT_EQ(refusal(std::string(237, 'a')), "");
    EXPECT_NE(refusal(std::string(238, 'a')), "");
}

TEST(ImageReference, LooksLikeAcceptsWhatParseAccepts) {
    EXPECT_TRUE(Reference::looks_like("alpine"));
    EXPECT_TRUE(Reference::looks_like("127.0.0.1:5000/test/app:v1"));
    EXPECT_FALSE(Reference::looks_like("./rootfs"));
    EXPECT_FALSE(Reference::looks_like("/srv/rootfs"));
    EXPECT_FALSE(Reference::looks_like("Rootfs"));
}
