// The image store's names and what it hands `hutch run` from an image config, on images without
// layers (no unpacking, no root needed): found by the repo digest a pull recorded, never named by
// a digest reference, and no NUL of a hostile config cutting a command short.
#include <gtest/gtest.h>


#include <string>

#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/image/image_store.hpp"
#include "test_helpers.hpp"

namespace hutch::image {
namespace {

const std::string kManifest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class ImageStoreTest : public ::testing::Test {
protected:

    // An image without layers whose config's "config" is `run`, added under `tags`.
    ImageRecord add(ImageStore& store, const nlohmann::json& run, const std::vector<std::string>& tags,
                    const std::string& repo_digest = "") {
        nlohmann::json config = {{"architecture", "amd64"}, {"os", "linux"}, {"config", run},
                                 {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
        std::string digest = store.blobs().put(config.dump());
        return store.add(digest, {}, tags, {}, repo_digest);
    }

    // The message of the error run_config throws for an image whose "config" is `run`.
    std::string refusal(const nlohmann::json& run) {
        ImageStore store(top_);
        ImageRecord image = add(store, run, {});
        try {
            store.run_config(image);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }

    hutch::test::TempDir tmp_{"hutch-image-store-test"};
    const std::string top_ = tmp_.path();
};

// `hutch pull app@sha256:...` records the manifest digest; `hutch run app@sha256:...` must find
// it by that (it has no tag), as Docker does, or every run by digest pulls again and fails.
TEST_F(ImageStoreTest, FindsAPulledImageByItsRepoDigest) {
    ImageStore store(top_);
    ImageRecord image = add(store, nlohmann::json::object(), {}, "127.0.0.1:5000/app@" + kManifest);
    auto found = store.find("127.0.0.1:5000/app@" + kManifest);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, image.id);
    // A tag beside the digest is ignored, as Docker ignores it.
    ASSERT_TRUE(store.find("127.0.0.1:5000/app:v1@" + kManifest).has_value());
    EXPECT_FALSE(store.find("127.0.0.1:5000/other@" + kManifest).has_value());
}

// Docker refuses "refusing to create a tag with a digest reference"; stored, such a name lists as
// repository "app@sha256" with the hex as its tag.
TEST_F(ImageStoreTest, NoNameWithADigest) {
    ImageStore store(top_);
    ImageRecord image = add(store, nlohmann::json::object(), {"app:v1"});
    EXPECT_THROW(store.tag(image.id, "app@" + kManifest), UsageError);
    EXPECT_THROW(add(store, nlohmann::json::object(), {"b:1", "app:v2@" + kManifest}), UsageError);
    EXPECT_THROW(tag_name("app@" + kManifest), UsageError);
    EXPECT_EQ(tag_name("app"), "app:latest");
    // Nothing was renamed by the refused calls: every name is checked before any is written.
    std::vector<ImageRecord> images = store.list();
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0].repo_tags, std::vector<std::string>{"app:v1"});
    EXPECT_FALSE(store.find("b:1").has_value());
}

// execve stops at a NUL: the image's command or variable would be cut short without a word.
TEST_F(ImageStoreTest, ANulInTheConfigIsRefused) {
    std::string nul("a\0b", 3);
    for (const char* key : {"User", "WorkingDir", "StopSignal"}) {
        std::string why = refusal({{key, "/x" + nul}});
        EXPECT_NE(why.find(std::string("\"") + key + "\" \"/xa\\x00b\" holds a NUL"), std::string::npos) << why;
    }
    for (const auto& run : {nlohmann::json{{"Env", {"A=" + nul}}}, nlohmann::json{{"Cmd", {"/bin/sh", nul}}},
                            nlohmann::json{{"Entrypoint", {nul}}}})
        EXPECT_NE(refusal(run).find("holds a NUL"), std::string::npos) << run.dump();
    // Newlines are values like any other (an sh -c script, a multi-line variable).
    EXPECT_EQ(refusal({{"Env", {"SCRIPT=a\nb"}}, {"Cmd", {"/bin/sh", "-c", "true\ntrue"}}, {"User", "nobody"}}), "");
}

// Docker's config reads a lone string Entrypoint or Cmd as a one-word list.
TEST_F(ImageStoreTest, ALoneStringCommandIsAOneWordList) {
    ImageStore store(top_);
    ImageRecord image = add(store, {{"Entrypoint", "/bin/app"}, {"Cmd", "--serve"}}, {"app:1"});
    RunConfig c = store.run_config(image);
    EXPECT_EQ(c.entrypoint, std::vector<std::string>{"/bin/app"});
    EXPECT_EQ(c.cmd, std::vector<std::string>{"--serve"});
    EXPECT_NE(refusal({{"Cmd", 42}}).find("\"Cmd\" is not a list"), std::string::npos);
}

// More layers than an image may have is refused before anything is unpacked.
TEST_F(ImageStoreTest, TooManyLayersAreRefused) {
    ImageStore store(top_);
    std::vector<LayerBlob> layers(126, LayerBlob{kManifest, ""});
    try {
        store.add(kManifest, layers, {}, {}, "");
        ADD_FAILURE() << "126 layers were accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("126 layers, more than the 125"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace hutch::image
