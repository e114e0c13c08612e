#include "runtime/image/save.hpp"

#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/image/archive.hpp"
#include "runtime/image/registry_manifest.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/state.hpp"

namespace hutch::image {
namespace {

// Feeds libarchive's decompressor ("raw" format: the bytes of the blob, uncompressed) to `sink`.
template <typename Sink>
void decompress(const std::string& path, const std::string& what, Sink&& sink) {
    ArchiveReader a(archive_read_new());
    if (!support_in_process_filters(a.get())) throw Error(what + ": " + archive_error(a.get()));
    archive_read_support_format_raw(a.get());
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
        throw Error(what + ": " + archive_error(a.get()));
    archive_entry* entry = nullptr;
    if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) throw Error(what + ": " + archive_error(a.get()));
    std::string buffer(1 << 16, '\0');
    for (;;) {
        la_ssize_t got = archive_read_data(a.get(), buffer.data(), buffer.size());
        if (got < 0) throw Error(what + ": " + archive_error(a.get()));
        if (got == 0) break;
        sink(buffer.data(), static_cast<std::size_t>(got));
    }
}

class TarOut {
public:
    explicit TarOut(int fd) : a_(archive_write_new()) {
        archive_write_set_format_pax_restricted(a_.get());
        if (archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK) fail("open the output");
    }
    void file(const std::string& name, std::int64_t size, const std::function<void()>& write_body) {
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), size);
        archive_entry_set_mtime(e.get(), 0, 0);
        if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail(name);
        write_body();
        if (archive_write_finish_entry(a_.get()) != ARCHIVE_OK) fail(name);
    }
    void text(const std::string& name, const std::string& body) {
        file(name, static_cast<std::int64_t>(body.size()), [&] { write(name, body.data(), body.size()); });
    }
    void write(const std::string& name, const void* data, std::size_t size) {
        if (archive_write_data(a_.get(), data, size) != static_cast<la_ssize_t>(size)) fail(name);
    }
    void close() {
        if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("close the archive");
    }

private:
    [[noreturn]] void fail(const std::string& what) { throw Error("save: " + what + ": " + archive_error(a_.get())); }
    ArchiveWriter a_;
};

// The layer as an uncompressed tar: the blob itself when it is one, else decompressed into a
// temp blob first (a tar header needs the size before the bytes).
std::string uncompressed_layer(const BlobStore& blobs, const std::string& blob, const std::string& diff_id) {
    if (blob == diff_id) return blobs.path(blob);
    if (blobs.has(diff_id)) return blobs.path(diff_id);
    BlobStore::Writer w = blobs.writer();
    decompress(blobs.path(blob), "layer " + blob, [&](const char* p, std::size_t n) { w.write(p, n); });
    w.commit(diff_id);
    return blobs.path(diff_id);
}

}  // namespace

void save_archive(const ImageStore& store, const std::vector<std::string>& refs, int fd) {
    StoreLock lock = store.lock(StoreLock::Mode::kShared);
    const BlobStore& blobs = store.blobs();
    nlohmann::json manifest = nlohmann::json::array();
    nlohmann::json repositories = nlohmann::json::object();
    TarOut out(fd);
    for (const auto& ref : refs) {
        ImageRecord image = store.get(ref);
        std::string config_name = image.id.substr(7) + ".json";
        out.text(config_name, blobs.read(image.id, 8u << 20));
        nlohmann::json layers = nlohmann::json::array();
        if (image.layer_blobs.size() != image.diff_ids.size()) throw Error("image " + image.id + ": its record is damaged");
        for (std::size_t i = 0; i < image.diff_ids.size(); ++i) {
            const std::string& diff_id = image.diff_ids[i];
            std::string path = uncompressed_layer(blobs, image.layer_blobs[i], diff_id);
            std::string name = diff_id.substr(7) + "/layer.tar";
            struct stat st {};
            Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!in || ::fstat(in.get(), &st) != 0) throw SysError("save the image", "open", path, errno);
            out.file(name, st.st_size, [&] {
                std::string buffer(1 << 16, '\0');
                for (;;) {
                    ssize_t got = ::read(in.get(), buffer.data(), buffer.size());
                    if (got < 0 && errno == EINTR) continue;
                    if (got < 0) throw SysError("save the image", "read", path, errno);
                    if (got == 0) break;
                    out.write(name, buffer.data(), static_cast<std::size_t>(got));
                }
            });
            layers.push_back(name);
        }
        // Saved by name, the archive carries that name; by id, none (as docker save).
        nlohmann::json tags = nlohmann::json::array();
        std::string name = is_digest(ref) || !Reference::looks_like(ref) ? "" : normalize_tag(ref);
        if (std::find(image.repo_tags.begin(), image.repo_tags.end(), name) != image.repo_tags.end()) {
            tags.push_back(name);
            std::size_t colon = name.rfind(':');
            repositories[name.substr(0, colon)][name.substr(colon + 1)] = image.id.substr(7);
        }
        manifest.push_back({{"Config", config_name}, {"RepoTags", tags}, {"Layers", layers}});
    }
    out.text("manifest.json", manifest.dump());
    out.text("repositories", repositories.dump());
    out.close();
}

}  // namespace hutch::image

namespace hutch::image {
namespace {

// libarchive's writer into a blob: the tar is hashed as it is made.
la_ssize_t write_to_blob(archive*, void* writer, const void* data, size_t size) {
    static_cast<BlobStore::Writer*>(writer)->write(data, size);
    return static_cast<la_ssize_t>(size);
}

// A directory tree as an uncompressed tar, names relative to it, symlinks stored as symlinks.
void tar_directory(const std::string& given, BlobStore::Writer& blob) {
    // "root/" and "root" are the same tree; libarchive names the entries from the form without
    // the slash, which every name below is cut from.
    std::string dir = given;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    ArchiveWriter out(archive_write_new());
    archive_write_set_format_pax_restricted(out.get());
    archive_write_set_bytes_in_last_block(out.get(), 1);
    if (archive_write_open(out.get(), &blob, nullptr, write_to_blob, nullptr) != ARCHIVE_OK)
        throw Error("import " + dir + ": " + archive_error(out.get()));
    ArchiveReader disk(archive_read_disk_new());
    archive_read_disk_set_symlink_physical(disk.get());
    archive_read_disk_set_standard_lookup(disk.get());
    if (archive_read_disk_open(disk.get(), dir.c_str()) != ARCHIVE_OK)
        throw Error("import " + dir + ": " + archive_error(disk.get()));
    std::string buffer(1 << 16, '\0');
    for (;;) {
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        int r = archive_read_next_header2(disk.get(), e.get());
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) throw Error("import " + dir + ": " + archive_error(disk.get()));
        archive_read_disk_descend(disk.get());
        std::string path = archive_entry_pathname(e.get());
        if (path == dir) continue;  // the root itself
        std::string relative = path.substr(dir.size() + (dir.back() == '/' ? 0 : 1));
        archive_entry_set_pathname(e.get(), relative.c_str());
        if (archive_write_header(out.get(), e.get()) != ARCHIVE_OK) throw Error("import " + path + ": " + archive_error(out.get()));
        if (archive_entry_filetype(e.get()) != AE_IFREG || archive_entry_size(e.get()) == 0) continue;
        Fd in(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!in) throw SysError("import", "open", path, errno);
        for (;;) {
            ssize_t got = ::read(in.get(), buffer.data(), buffer.size());
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw SysError("import", "read", path, errno);
            if (got == 0) break;
            if (archive_write_data(out.get(), buffer.data(), static_cast<std::size_t>(got)) != got)
                throw Error("import " + path + ": " + archive_error(out.get()));
        }
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) throw Error("import " + dir + ": " + archive_error(out.get()));
}

}  // namespace

std::string import_rootfs(ImageStore& store, const std::string& source, const std::string& tag) {
    if (!tag.empty()) tag_name(tag);  // a bad name is refused before anything is written
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0) throw UsageError("import: " + source + ": " + std::strerror(errno));
    StoreLock lock = store.lock(StoreLock::Mode::kExclusive);
    try {
        const BlobStore& blobs = store.blobs();
        BlobStore::Writer layer = blobs.writer();
        if (S_ISDIR(st.st_mode)) tar_directory(source, layer);
        else decompress(source, "import " + source, [&](const char* p, std::size_t n) { layer.write(p, n); });
        std::string diff_id = layer.commit();
        std::string now = rfc3339_now();
        nlohmann::json config = {
            {"architecture", registry::host_platform("linux").architecture},
            {"os", "linux"},
            {"created", now},
            {"config", nlohmann::json::object()},
            {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}},
            {"history", {{{"created", now}, {"comment", "Imported by hutch import"}}}},
        };
        std::string config_digest = blobs.put(config.dump());
        std::vector<std::string> tags;
        if (!tag.empty()) tags.push_back(tag);
        return store.add(config_digest, {{diff_id, diff_id}}, tags, {}, "").id;
    } catch (...) {
        store.collect_garbage();
        throw;
    }
}

}  // namespace hutch::image
