// Unpacking a layer: two libarchive readers in a pipe, nothing buffered whole.
//
//   blob file --[reader 1: decompress (gzip, zstd, xz, bzip2 or none), format "raw"]--> bytes
//     --[read callback: SHA-256 of every byte handed over]--> [reader 2: tar only] --> entries
//
// The diff id is the digest of the uncompressed tar, so it is taken between the two readers;
// after the tar's end-of-archive the rest of the decompressed stream (the zero blocks and any
// padding after them) is drained into the hash too: an uncompressed tar hashes as sha256sum of
// the file. Entries are applied by LayerEntries (layer_entries.cpp) into "<dir>.tmp-<random>",
// renamed to `dir` (RENAME_NOREPLACE) only when the whole tar applied.
#include "runtime/image/layer.hpp"

#include "runtime/image/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <exception>
#include <memory>

#include "runtime/error.hpp"
#include "runtime/image/digest.hpp"
#include "runtime/image/layer_entries.hpp"
#include "runtime/remove_tree.hpp"
#include "runtime/rootless.hpp"
#include "runtime/state.hpp"

namespace hutch::image {
namespace {

// A hostile tar of empty entries must still end: Docker's largest real images have ~100,000.
constexpr std::size_t kMaxEntries = 1'000'000;
constexpr std::size_t kReadBlock = 1 << 16;

using Archive = std::unique_ptr<archive, int (*)(archive*)>;

Archive new_reader(const std::string& what) {
    Archive a(archive_read_new(), archive_read_free);
    if (!a) throw Error("unpack layer " + what + ": archive_read_new: out of memory");
    return a;
}

// The decompressed bytes of the blob, hashed as they are handed on.
class Decompressed {
public:
    Decompressed(int fd, std::string what) : raw_(new_reader(what)), what_(std::move(what)) {
        if (!support_in_process_filters(raw_.get())) fail("register decompressor");
        if (archive_read_support_format_raw(raw_.get()) != ARCHIVE_OK) fail("register raw format");
        if (archive_read_open_fd(raw_.get(), fd, kReadBlock) != ARCHIVE_OK) fail("open");
        archive_entry* entry = nullptr;
        int r = archive_read_next_header(raw_.get(), &entry);
        if (r == ARCHIVE_EOF) done_ = true;  // an empty blob: an empty stream (the tar reader decides)
        else if (r != ARCHIVE_OK) fail("read");
    }

    // The next decompressed bytes (0 at the end), pointing into libarchive's buffer.
    std::size_t next(const void** out) {
        while (!done_) {
            std::size_t size = 0;
            la_int64_t offset = 0;
            int r = archive_read_data_block(raw_.get(), out, &size, &offset);
            if (r == ARCHIVE_EOF) break;
            if (r != ARCHIVE_OK) fail("decompress");
            if (size == 0) continue;
            hash_.update(*out, size);
            return size;
        }
        done_ = true;
        return 0;
    }

    // Hashes what the tar reader left (end-of-archive blocks, padding) and returns the digest.
    std::string finish() {
        const void* ignored = nullptr;
        while (next(&ignored) > 0) {
        }
        return hash_.finish();
    }

    const std::string& error() const { return error_; }

private:
    [[noreturn]] void fail(const char* step) {
        const char* why = archive_error_string(raw_.get());
        error_ = std::string(step) + ": " + (why ? why : "damaged or truncated stream (libarchive gave no reason)");
        throw Error("unpack layer " + what_ + ": " + error_);
    }
    Archive raw_;
    std::string what_, error_;
    Sha256 hash_;
    bool done_ = false;
};

// The tar reader's read callback: pulls from the decompressor. An exception must not cross
// libarchive's C frames, so a failure becomes the tar reader's error and -1.
la_ssize_t pull(archive* tar, void* client, const void** buffer) {
    auto* stream = static_cast<Decompressed*>(client);
    try {
        return static_cast<la_ssize_t>(stream->next(buffer));
    } catch (const std::exception& e) {
        archive_set_error(tar, EIO, "%s", stream->error().empty() ? e.what() : stream->error().c_str());
        return -1;
    }
}

void apply_all(archive* tar, LayerEntries& entries) {
    for (std::size_t count = 0;; ++count) {
        archive_entry* entry = nullptr;
        int r = archive_read_next_header(tar, &entry);
        if (r == ARCHIVE_EOF) return;
        // ARCHIVE_WARN: a header libarchive read with a remark (a malformed pax attribute it skipped)
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            const char* why = archive_error_string(tar);
            entries.fail(std::string(count == 0 ? "read tar: " : "read tar after this entry: ") + (why ? why : "unknown error"));
        }
        if (count >= kMaxEntries) entries.fail("more than " + std::to_string(kMaxEntries) + " entries: refused");
        entries.apply(tar, entry);
    }
}

UnpackedLayer unpack_into(const std::string& blob_path, const std::string& temp, const std::string& what, bool user_xattr) {
    Fd blob(::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!blob) throw SysError("unpack layer " + what, "open", blob_path, errno);
    Fd root(::open(temp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) throw SysError("unpack layer " + what, "open", temp, errno);
    LayerEntries entries(std::move(root), temp, what, user_xattr);
    Decompressed stream(blob.get(), what);
    Archive tar = new_reader(what);
    if (archive_read_support_format_tar(tar.get()) != ARCHIVE_OK ||
        archive_read_open(tar.get(), &stream, nullptr, pull, nullptr) != ARCHIVE_OK) {
        const char* why = archive_error_string(tar.get());
        entries.fail(std::string("read tar: ") + (why ? why : "unknown error"));
    }
    apply_all(tar.get(), entries);
    entries.finish();
    UnpackedLayer out;
    out.diff_id = stream.finish();
    out.size = entries.content_size();
    // The files reach the disk before the layer's name does: the image store trusts a layer
    // directory that exists, so a crash must not leave one with empty files in it.
    if (::syncfs(entries.root()) != 0) throw SysError("unpack layer " + what, "syncfs", temp, errno);
    return out;
}

// Rootless: the entries are applied by the root of a user namespace of the user's maps, so
// that their owners are the container's ids. The result comes back as "<diff id> <size>".
UnpackedLayer unpack_as_namespace_root(const std::string& blob_path, const std::string& temp, const std::string& what) {
    const std::string result = rootless::as_namespace_root_with_result(
        rootless::user_maps(rootless::current_user()), "unpack layer " + what, [&] {
            try {
                UnpackedLayer out = unpack_into(blob_path, temp, what, true);
                return out.diff_id + " " + std::to_string(out.size);
            } catch (...) {
                // Its subordinate ids' directories are only this helper's to remove.
                try {
                    remove_tree(temp);
                } catch (const std::exception&) {
                }
                throw;
            }
        });
    UnpackedLayer out;
    const std::size_t space = result.find(' ');
    if (space == std::string::npos) throw Error("unpack layer " + what + ": the helper's answer is malformed");
    out.diff_id = result.substr(0, space);
    out.size = std::stoull(result.substr(space + 1));
    return out;
}

[[noreturn]] void remove_and_rethrow(const std::string& temp) {
    std::exception_ptr original = std::current_exception();
    try {
        rootless::remove_tree_as_owner(temp);
    } catch (const std::exception& e) {
        std::string first = "unpack layer failed";
        try {
            std::rethrow_exception(original);
        } catch (const std::exception& o) {
            first = o.what();
        }
        throw Error(first + " (and its temp dir stayed: " + e.what() + ")");
    }
    std::rethrow_exception(original);
}

}  // namespace

UnpackedLayer unpack_layer(const std::string& blob_path, const std::string& dir, const std::string& what) {
    std::string temp = dir + ".tmp-" + new_container_id().substr(0, 16);
    if (::mkdir(temp.c_str(), 0755) != 0) throw SysError("unpack layer " + what, "mkdir", temp, errno);
    try {
        UnpackedLayer out = rootless::active() ? unpack_as_namespace_root(blob_path, temp, what)
                                               : unpack_into(blob_path, temp, what, false);
        if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0)
            throw SysError("unpack layer " + what, "renameat2 RENAME_NOREPLACE", dir, errno);
        return out;
    } catch (...) {
        remove_and_rethrow(temp);
    }
}

}  // namespace hutch::image
