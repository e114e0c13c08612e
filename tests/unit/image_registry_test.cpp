// The registry client's pure parts: WWW-Authenticate, token answers, the http/https decision,
// manifest reading (media types, digests) and platform choice. The transfers themselves are
// tested against a real registry in tests/integration/image_pull_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "runtime/error.hpp"
#include "runtime/image/registry_auth.hpp"
#include "runtime/image/registry_manifest.hpp"
#include "runtime/image/registry_transport.hpp"

using namespace hutch::image::registry;
using hutch::Error;

namespace {

const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');
const std::string kD3 = "sha256:" + std::string(64, 'c');

std::string descriptor(const std::string& type, const std::string& digest, const std::string& platform = "") {
    return R"({"mediaType":")" + type + R"(","digest":")" + digest + R"(","size":10)" +
           (platform.empty() ? "" : R"(,"platform":)" + platform) + "}";
}

std::string image_manifest(const std::string& layer_type, const std::string& layer_digest = kD2) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
           descriptor("application/vnd.oci.image.config.v1+json", kD1) + R"(,"layers":[)" + descriptor(layer_type, layer_digest) + "]}";
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ImageRegistry, ParsesDockerHubsBearerChallenge) {
    Challenge c = parse_challenge(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
    EXPECT_EQ(c.scheme, "bearer");
    EXPECT_EQ(c.params["realm"], "https://auth.docker.io/token");
    EXPECT_EQ(c.params["service"], "registry.docker.io");
    EXPECT_EQ(c.params["scope"], "repository:library/alpine:pull");
}

TEST(ImageRegistry, ChallengeValuesMayHoldCommasEscapesAndBareTokens) {
    Challenge c = parse_challenge(R"(bearer  Realm="http://h/t?a=1,b=2" , scope="repository:a/b:pull,push", x=bare, q="say \"hi\"")");
    EXPECT_EQ(c.scheme, "bearer");
    EXPECT_EQ(c.params["realm"], "http://h/t?a=1,b=2");
    EXPECT_EQ(c.params["scope"], "repository:a/b:pull,push");
    EXPECT_EQ(c.params["x"], "bare");
    EXPECT_EQ(c.params["q"], "say \"hi\"");
    EXPECT_EQ(parse_challenge(R"(Basic realm="Registry Realm")").scheme, "basic");
    // An unterminated quote ends the parse without inventing a value.
    EXPECT_EQ(parse_challenge(R"(Bearer realm="http://h)").params.count("realm"), 0u);
    EXPECT_EQ(parse_challenge("").scheme, "");
}

TEST(ImageRegistry, TokenComesFromTokenOrAccessToken) {
    EXPECT_EQ(token_from_json(R"({"token":"T1","expires_in":300})", "w"), "T1");
    EXPECT_EQ(token_from_json(R"({"access_token":"T2"})", "w"), "T2");
    EXPECT_NE(error_of([] { token_from_json(R"({"nothing":1})", "pull x"); }).find("pull x"), std::string::npos);
    EXPECT_NE(error_of([] { token_from_json("not json", "w"); }), "");
    // A token that would split the request's header line is refused.
    EXPECT_NE(error_of([] { token_from_json(R"({"token":"a\r\nX-Evil: 1"})", "w"); }), "");
    EXPECT_NE(error_of([] { token_from_json(R"({"token":"a b"})", "w"); }), "");
}

TEST(ImageRegistry, PlainHttpOnlyForLoopbackAndListedRegistries) {
    EXPECT_EQ(scheme_for("127.0.0.1:5000", {}), "http");
    EXPECT_EQ(scheme_for("127.8.9.10", {}), "http");
    EXPECT_EQ(scheme_for("localhost:5000", {}), "http");
    EXPECT_EQ(scheme_for("[::1]:5000", {}), "http");
    EXPECT_EQ(scheme_for("docker.io", {}), "https");
    EXPECT_EQ(scheme_for("10.1.2.3:5000", {}), "https");
    EXPECT_EQ(scheme_for("128.0.0.1:5000", {}), "https");
    EXPECT_EQ(scheme_for("registry.local:5000", {}), "https");
    EXPECT_EQ(scheme_for("[::2]:5000", {}), "https");
    // Listed: host:port exactly, or a CIDR holding an IP literal (never a resolved name).
    EXPECT_EQ(scheme_for("registry.local:5000", {"registry.local:5000"}), "http");
    EXPECT_EQ(scheme_for("registry.local:5001", {"registry.local:5000"}), "https");
    EXPECT_EQ(scheme_for("registry.local", {"registry.local:5000"}), "https");
    EXPECT_EQ(scheme_for("10.1.2.3:5000", {"10.0.0.0/8"}), "http");
    EXPECT_EQ(scheme_for("10.1.2.3:5000", {"10.1.2.0/25"}), "http");
    EXPECT_EQ(scheme_for("10.1.2.200:5000", {"10.1.2.0/25"}), "https");
    EXPECT_EQ(scheme_for("11.1.2.3:5000", {"10.0.0.0/8"}), "https");
    EXPECT_EQ(scheme_for("registry.local:5000", {"0.0.0.0/0"}), "https");
    EXPECT_EQ(scheme_for("[fd00::5]:5000", {"fd00::/8"}), "http");
    EXPECT_EQ(scheme_for("10.1.2.3:5000", {"fd00::/8", "10.0.0.0/x", "10.0.0.0/33"}), "https");
    EXPECT_EQ(api_host("docker.io"), "registry-1.docker.io");
    EXPECT_EQ(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
}

TEST(ImageRegistry, ReadsImageManifestsOfEveryKnownLayerType) {
    for (const char* type : {"application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
                             "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.docker.image.rootfs.diff.tar.gzip"}) {
        Manifest m = parse_manifest(image_manifest(type), "", "pull x");
        EXPECT_FALSE(m.is_index);
        EXPECT_EQ(m.config.digest, kD1);
        ASSERT_EQ(m.layers.size(), 1u);
        EXPECT_EQ(m.layers[0].media_type, type);
        EXPECT_EQ(m.layers[0].size, 10u);
    }
}

TEST(ImageRegistry, RefusesUnknownAndForeignMediaTypesNamingThem) {
    for (const char* type : {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                             "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "application/x-evil", ""}) {
        std::string why = error_of([&] { parse_manifest(image_manifest(type), "", "pull x"); });
        EXPECT_NE(why.find("unsupported layer media type \"" + std::string(type) + "\""), std::string::npos) << why;
    }
    std::string why = error_of([] { parse_manifest(R"({"schemaVersion":2,"mediaType":"application/x-other"})", "", "pull x"); });
    EXPECT_NE(why.find("application/x-other"), std::string::npos) << why;
    EXPECT_NE(error_of([] { parse_manifest(R"({"schemaVersion":1,"name":"x"})", "", "pull x"); }).find("schema 1"), std::string::npos);
}

TEST(ImageRegistry, RefusesDigestsThatCouldBecomePaths) {
    for (const std::string& digest : {std::string("sha256:../../etc/passwd"), "sha256:" + std::string(64, 'A'), std::string("md5:abc"),
                                      "sha256:" + std::string(63, 'a')}) {
        std::string why = error_of([&] { parse_manifest(image_manifest("application/vnd.oci.image.layer.v1.tar", digest), "", "pull x"); });
        EXPECT_NE(why.find("invalid digest"), std::string::npos) << digest << ": " << why;
    }
    EXPECT_NE(error_of([] { parse_manifest("{not json", "", "pull x"); }), "");
    EXPECT_NE(error_of([] { parse_manifest(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":1},"layers":[]})", "", "pull x"); }), "");
    EXPECT_NE(error_of([] { parse_manifest(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                                           descriptor("application/vnd.oci.image.config.v1+json", kD1) + R"(,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + kD2 + R"(","size":-1}]})", "", "pull x"); }), "");
}

TEST(ImageRegistry, ContentTypeDecidesWhenTheJsonHasNoMediaType) {
    std::string index = R"({"schemaVersion":2,"manifests":[)" +
                        descriptor("application/vnd.oci.image.manifest.v1+json", kD1, R"({"os":"linux","architecture":"amd64"})") + "]}";
    EXPECT_TRUE(parse_manifest(index, "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8", "x").is_index);
    EXPECT_TRUE(parse_manifest(index, "", "x").is_index);  // OCI indexes may omit mediaType
}

TEST(ImageRegistry, MapsUnameToGoArchitectures) {
    EXPECT_EQ(platform_of_machine("linux", "x86_64").text(), "linux/amd64");
    EXPECT_EQ(platform_of_machine("linux", "aarch64").text(), "linux/arm64");
    EXPECT_EQ(platform_of_machine("linux", "armv7l").text(), "linux/arm/v7");
    EXPECT_EQ(platform_of_machine("linux", "i686").text(), "linux/386");
    EXPECT_EQ(platform_of_machine("linux", "s390x").text(), "linux/s390x");
}

TEST(ImageRegistry, SelectsTheHostPlatformFromAnIndex) {
    std::string index = R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                        descriptor("application/vnd.oci.image.manifest.v1+json", kD1, R"({"os":"linux","architecture":"arm64","variant":"v8"})") + "," +
                        descriptor("application/vnd.oci.image.manifest.v1+json", kD2, R"({"os":"linux","architecture":"amd64"})") + "," +
                        descriptor("application/vnd.oci.image.manifest.v1+json", kD3, R"({"os":"windows","architecture":"amd64"})") + "]}";
    Manifest m = parse_manifest(index, "", "x");
    EXPECT_EQ(select_platform(m, {"linux", "amd64", ""}, "x").digest, kD2);
    EXPECT_EQ(select_platform(m, {"linux", "arm64", ""}, "x").digest, kD1);  // arm64 means v8
    EXPECT_EQ(select_platform(m, {"windows", "amd64", ""}, "x").digest, kD3);
    std::string why = error_of([&] { select_platform(m, {"linux", "s390x", ""}, "pull 127.0.0.1:5000/a:b"); });
    EXPECT_NE(why.find("pull 127.0.0.1:5000/a:b"), std::string::npos) << why;
    EXPECT_NE(why.find("no matching manifest for linux/s390x"), std::string::npos) << why;
    EXPECT_NE(why.find("linux/arm64/v8, linux/amd64, windows/amd64"), std::string::npos) << why;
    std::string arm = R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                      descriptor("application/vnd.oci.image.manifest.v1+json", kD1, R"({"os":"linux","architecture":"arm","variant":"v6"})") + "," +
                      descriptor("application/vnd.oci.image.manifest.v1+json", kD2, R"({"os":"linux","architecture":"arm","variant":"v7"})") + "]}";
    EXPECT_EQ(select_platform(parse_manifest(arm, "", "x"), {"linux", "arm", "v7"}, "x").digest, kD2);
}
