// The content-addressed blob store: <root>/blobs/sha256/<hex>, one file per blob, written once.
//
// A blob appears under its name only after its bytes hashed to that name: a writer fills a temp
// file in <root>/tmp/ (same filesystem), and commit() verifies, fsyncs and renames. A killed
// pull or load leaves only a temp file (removed by the next writer's sweep or by the Writer's
// destructor), never a blob that looks complete.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/fd.hpp"
#include "runtime/image/digest.hpp"

namespace hutch::image {

class BlobStore {
public:
    // `root`: the image store's root (<data-root>/images); created on first write.
    explicit BlobStore(std::string root);

    const std::string& root() const { return root_; }
    bool has(std::string_view digest) const;
    // The blob's file; UsageError when `digest` is not a digest.
    std::string path(std::string_view digest) const;
    // Opens an existing blob read-only; SysError naming the digest when it is missing.
    Fd open(std::string_view digest) const;
    // A whole small blob (a manifest, a config), at most `limit` bytes: hostile input is bounded.
    std::string read(std::string_view digest, std::size_t limit) const;

    class Writer {
    public:
        Writer(Writer&&) noexcept;
        Writer& operator=(Writer&&) = delete;
        ~Writer();  // an uncommitted temp file is removed
        void write(const void* data, std::size_t size);
        std::uint64_t size() const { return size_; }
        // Verifies the bytes against `expected` (empty: any digest), then makes the blob visible.
        // A mismatch is an Error naming both digests; nothing is stored. Returns the digest.
        std::string commit(std::string_view expected = {});

    private:
        friend class BlobStore;
        Writer(std::string dir, std::string temp, Fd fd);
        std::string dir_, temp_;
        Fd fd_;
        Sha256 hash_;
        std::uint64_t size_ = 0;
        bool committed_ = false;
    };
    Writer writer() const;
    // A whole blob from memory (configs, manifests written by hutch itself).
    std::string put(std::string_view data, std::string_view expected = {}) const;
    // Removes a blob (rmi's garbage collection); absent is fine.
    void remove(std::string_view digest) const;

private:
    std::string root_;
};

}  // namespace hutch::image
