// Image archives made by the tests themselves, without the internet or Docker: layer tars (with
// whiteouts, opaque dirs, compression), OCI image layouts and `docker save` tarballs, written with
// libarchive so the bytes are a real tar that hutch has to read.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace hutch_it {

struct TarEntry {
    enum class Type { kFile, kDir, kSymlink, kHardlink, kCharDevice };
    Type type = Type::kFile;
    std::string path;
    std::string body;  // file content, or the symlink's / hard link's target
    unsigned mode = 0644;
    unsigned uid = 0, gid = 0;
    std::vector<std::pair<std::string, std::string>> xattrs;  // written as pax SCHILY.xattr records
};
enum class Compression { kNone, kGzip, kZstd };

std::string make_tar(const std::vector<TarEntry>& entries, Compression compression = Compression::kNone);
// The whole tree under `dir` as an uncompressed tar, names relative to it.
std::string tar_of_directory(const std::string& dir);
std::string sha256_digest(const std::string& bytes);  // "sha256:<hex>"

struct TestImage {
    std::vector<std::string> layers;       // blob bytes, bottom first
    std::vector<std::string> diff_ids;     // sha256 of each uncompressed layer
    std::vector<std::string> media_types;  // OCI layer media types
    nlohmann::json run_config = nlohmann::json::object();  // the config's "config" object
    std::string config_json() const;      // the image config these make
};
// An image of one uncompressed layer (its diff id computed) and this "config" object.
TestImage single_layer_image(std::string layer, nlohmann::json run_config = nlohmann::json::object());
// An OCI layout tarball (oci-layout, index.json naming `name` in containerd's annotation, blobs/).
std::string oci_layout_tar(const TestImage& image, const std::string& name);
// A `docker save` tarball (manifest.json with RepoTags [name], <hex>.json, <hex>/layer.tar).
std::string docker_archive_tar(const TestImage& image, const std::string& name);

}  // namespace hutch_it
