#include "image_archives.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>

#include "runtime/image/digest.hpp"

namespace hutch_it {
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

la_ssize_t append(archive*, void* out, const void* data, size_t size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
}

ArchivePtr writer(std::string& out, Compression compression) {
    ArchivePtr a(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(a.get());
    if (compression == Compression::kGzip) archive_write_add_filter_gzip(a.get());
    if (compression == Compression::kZstd && archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK)
        throw std::runtime_error("libarchive without zstd");
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open(a.get(), &out, nullptr, append, nullptr) != ARCHIVE_OK)
        throw std::runtime_error(archive_error_string(a.get()));
    return a;
}

void add(archive* a, const TarEntry& e) {
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.path.c_str());
    archive_entry_set_uid(entry.get(), e.uid);
    archive_entry_set_gid(entry.get(), e.gid);
    archive_entry_set_mtime(entry.get(), 1700000000, 0);
    switch (e.type) {
        case TarEntry::Type::kFile:
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.body.size()));
            break;
        case TarEntry::Type::kDir: archive_entry_set_filetype(entry.get(), AE_IFDIR); break;
        case TarEntry::Type::kSymlink:
            archive_entry_set_filetype(entry.get(), AE_IFLNK);
            archive_entry_set_symlink(entry.get(), e.body.c_str());
            break;
        case TarEntry::Type::kHardlink:
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_hardlink(entry.get(), e.body.c_str());
            break;
        case TarEntry::Type::kCharDevice:
            archive_entry_set_filetype(entry.get(), AE_IFCHR);
            archive_entry_set_rdev(entry.get(), 0);
            break;
    }
    archive_entry_set_perm(entry.get(), e.mode);
    for (const auto& [name, value] : e.xattrs)
        archive_entry_xattr_add_entry(entry.get(), name.c_str(), value.data(), value.size());
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
    if (e.type == TarEntry::Type::kFile && !e.body.empty())
        archive_write_data(a, e.body.data(), e.body.size());
}

void finish(archive* a) {
    if (archive_write_close(a) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
}

}  // namespace

std::string make_tar(const std::vector<TarEntry>& entries, Compression compression) {
    std::string out;
    ArchivePtr a = writer(out, compression);
    for (const auto& e : entries) add(a.get(), e);
    finish(a.get());
    return out;
}

std::string tar_of_directory(const std::string& dir) {
    std::string out;
    ArchivePtr a = writer(out, Compression::kNone);
    ArchivePtr disk(archive_read_disk_new(), archive_read_free);
    archive_read_disk_set_symlink_physical(disk.get());
    if (archive_read_disk_open(disk.get(), dir.c_str()) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(disk.get()));
    for (;;) {
        EntryPtr e(archive_entry_new(), archive_entry_free);
        int r = archive_read_next_header2(disk.get(), e.get());
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) throw std::runtime_error(archive_error_string(disk.get()));
        archive_read_disk_descend(disk.get());
        std::string path = archive_entry_pathname(e.get());
        if (path == dir) continue;
        std::string relative = path.substr(dir.size() + 1);
        archive_entry_set_pathname(e.get(), relative.c_str());
        if (archive_entry_filetype(e.get()) == AE_IFCHR || archive_entry_filetype(e.get()) == AE_IFBLK) continue;
        if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a.get()));
        if (archive_entry_filetype(e.get()) != AE_IFREG) continue;
        std::string body;
        char buffer[65536];
        FILE* f = std::fopen(path.c_str(), "rb");
        if (!f) throw std::runtime_error("open " + path);
        size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) body.append(buffer, n);
        std::fclose(f);
        archive_write_data(a.get(), body.data(), body.size());
    }
    finish(a.get());
    return out;
}

std::string sha256_digest(const std::string& bytes) { return hutch::image::digest_of(bytes); }

TestImage single_layer_image(std::string layer, nlohmann::json run_config) {
    TestImage image;
    image.diff_ids = {sha256_digest(layer)};
    image.layers = {std::move(layer)};
    image.media_types = {"application/vnd.oci.image.layer.v1.tar"};
    image.run_config = std::move(run_config);
    return image;
}

std::string TestImage::config_json() const {
    nlohmann::json c = {{"architecture", "amd64"},
                        {"os", "linux"},
                        {"created", "2026-01-02T03:04:05Z"},
                        {"config", run_config},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    return c.dump();
}

std::string oci_layout_tar(const TestImage& image, const std::string& name) {
    std::vector<TarEntry> entries = {{TarEntry::Type::kFile, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                                     {TarEntry::Type::kDir, "blobs", "", 0755},
                                     {TarEntry::Type::kDir, "blobs/sha256", "", 0755}};
    auto blob = [&](const std::string& bytes) {
        std::string digest = sha256_digest(bytes);
        entries.push_back({TarEntry::Type::kFile, "blobs/sha256/" + digest.substr(7), bytes});
        return digest;
    };
    std::string config = image.config_json();
    nlohmann::json manifest = {{"schemaVersion", 2},
                               {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                               {"config",
                                {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                 {"digest", blob(config)},
                                 {"size", config.size()}}},
                               {"layers", nlohmann::json::array()}};
    for (std::size_t i = 0; i < image.layers.size(); ++i)
        manifest["layers"].push_back(
            {{"mediaType", image.media_types[i]}, {"digest", blob(image.layers[i])}, {"size", image.layers[i].size()}});
    std::string manifest_text = manifest.dump();
    nlohmann::json index = {{"schemaVersion", 2},
                            {"manifests",
                             {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                               {"digest", blob(manifest_text)},
                               {"size", manifest_text.size()},
                               {"annotations",
                                {{"io.containerd.image.name", name},
                                 {"org.opencontainers.image.ref.name", name.substr(name.rfind(':') + 1)}}}}}}};
    entries.push_back({TarEntry::Type::kFile, "index.json", index.dump()});
    return make_tar(entries);
}

std::string docker_archive_tar(const TestImage& image, const std::string& name) {
    std::string config = image.config_json();
    std::string config_name = sha256_digest(config).substr(7) + ".json";
    std::vector<TarEntry> entries = {{TarEntry::Type::kFile, config_name, config}};
    nlohmann::json layers = nlohmann::json::array();
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
        std::string dir = image.diff_ids[i].substr(7);
        entries.push_back({TarEntry::Type::kDir, dir, "", 0755});
        entries.push_back({TarEntry::Type::kFile, dir + "/VERSION", "1.0"});
        entries.push_back({TarEntry::Type::kFile, dir + "/layer.tar", image.layers[i]});
        layers.push_back(dir + "/layer.tar");
    }
    nlohmann::json manifest = nlohmann::json::array({{{"Config", config_name}, {"RepoTags", {name}}, {"Layers", layers}}});
    entries.push_back({TarEntry::Type::kFile, "manifest.json", manifest.dump()});
    return make_tar(entries);
}

}  // namespace hutch_it
