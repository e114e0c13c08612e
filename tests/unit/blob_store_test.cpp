// The blob store: a blob is visible only under the digest of its bytes, a wrong or abandoned
// write leaves nothing (no blob, no temp file), and small reads are bounded.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "runtime/image/blob_store.hpp"
#include "test_helpers.hpp"

namespace hutch::image {
namespace {

using hutch::test::contains;

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ignored;  // a directory not made yet holds nothing
    for (const auto& entry : std::filesystem::directory_iterator(dir, ignored)) out.push_back(entry.path().filename());
    return out;
}

class BlobStoreTest : public ::testing::Test {
protected:
    hutch::test::TempDir tmp_{"hutch-blob-test"};
    const std::string top_ = tmp_.path();
    const std::string root_ = top_ + "/data/images";  // created on first write, parents too
};

const std::string kAbc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kEmpty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST_F(BlobStoreTest, PutReadHasPath) {
    BlobStore store(root_);
    EXPECT_FALSE(store.has(kAbc));
    EXPECT_EQ(store.put("abc"), kAbc);
    EXPECT_TRUE(store.has(kAbc));
    EXPECT_EQ(store.path(kAbc), root_ + "/blobs/sha256/" + kAbc.substr(7));
    EXPECT_EQ(store.read(kAbc, 3), "abc");
    struct stat st {};
    ASSERT_EQ(::stat(store.path(kAbc).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    ASSERT_EQ(::stat(root_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    // The same content again is fine: its name is its hash.
    EXPECT_EQ(store.put("abc", kAbc), kAbc);
    EXPECT_EQ(names_in(root_ + "/blobs/sha256").size(), 1u);
    EXPECT_TRUE(names_in(root_ + "/tmp").empty());
    store.remove(kAbc);
    EXPECT_FALSE(store.has(kAbc));
    store.remove(kAbc);  // absent is fine
    EXPECT_FALSE(store.has("sha256:../../etc/passwd"));
    EXPECT_TRUE(contains(hutch::test::usage_error([&] { store.path("sha256:../x"); }), "not a sha256 digest"));
}

TEST_F(BlobStoreTest, WriterStreamsAndVerifies) {
    BlobStore store(root_);
    BlobStore::Writer w = store.writer();
    w.write("a", 1);
    w.write("bc", 2);
    EXPECT_EQ(w.size(), 3u);
    EXPECT_EQ(w.commit(kAbc), kAbc);
    EXPECT_EQ(store.read(kAbc, 100), "abc");
    EXPECT_TRUE(names_in(root_ + "/tmp").empty());
}

TEST_F(BlobStoreTest, WrongDigestStoresNothing) {
    BlobStore store(root_);
    BlobStore::Writer w = store.writer();
    w.write("abd", 3);
    try {
        w.commit(kAbc);
        FAIL() << "a commit with the wrong digest succeeded";
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), kAbc));  // expected
        EXPECT_TRUE(contains(e.what(), "sha256:a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9"));  // actual
    }
    EXPECT_FALSE(store.has(kAbc));
    EXPECT_TRUE(names_in(root_ + "/blobs/sha256").empty());
    EXPECT_TRUE(names_in(root_ + "/tmp").empty());
    EXPECT_THROW(w.commit(), Error);  // no second chance on a finished writer
}

TEST_F(BlobStoreTest, AbandonedWriterLeavesNothing) {
    BlobStore store(root_);
    {
        BlobStore::Writer w = store.writer();
        w.write("abc", 3);
        BlobStore::Writer moved(std::move(w));
        moved.write("def", 3);
    }
    EXPECT_TRUE(names_in(root_ + "/blobs/sha256").empty());
    EXPECT_TRUE(names_in(root_ + "/tmp").empty());
    EXPECT_EQ(store.put(""), kEmpty);  // an empty blob is a blob
}

TEST_F(BlobStoreTest, ReadIsBounded) {
    BlobStore store(root_);
    std::string big(100000, 'x');
    std::string digest = store.put(big);
    EXPECT_EQ(store.read(digest, big.size()), big);
    try {
        store.read(digest, 99999);
        FAIL() << "read past its limit";
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), digest));
        EXPECT_TRUE(contains(e.what(), "99999"));
    }
    EXPECT_THROW(store.read(kAbc, 10), SysError);  // missing
    EXPECT_THROW(store.open(kAbc), SysError);
}

}  // namespace
}  // namespace hutch::image
