// Reading what a registry serves as a manifest: Docker schema 2 manifests and manifest lists,
// OCI image manifests and indexes. The bytes are hostile: every digest must pass is_digest()
// before anything uses it, every media type must be one hutch knows how to unpack, sizes are
// numbers. Schema 1 (signed, removed from Docker 20.10's push and from the registries) and
// foreign/non-distributable layers (Windows base layers fetched from elsewhere) are refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::image::registry {

inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";

// The Accept header of a manifest request: the four types above.
std::string manifest_accept_header();

struct Descriptor {
    std::string media_type, digest;
    std::uint64_t size = 0;
    std::string os, architecture, variant;  // an index entry's platform
};

struct Manifest {
    std::string media_type;
    bool is_index = false;
    std::vector<Descriptor> manifests;  // an index's entries
    Descriptor config;                  // an image manifest's config
    std::vector<Descriptor> layers;     // and its layers, bottom first
};

// Parses manifest bytes served with `content_type` (the JSON's own mediaType wins when present).
// An Error naming `what` for anything hutch cannot pull.
Manifest parse_manifest(std::string_view bytes, std::string_view content_type, const std::string& what);

// Whether hutch unpacks layers of this media type (tar, tar+gzip, tar+zstd, Docker's gzip).
bool known_layer_type(std::string_view media_type);

struct Platform {
    std::string os, architecture, variant;
    std::string text() const;  // "linux/arm/v7"
};

// uname's machine in Go's GOARCH names, as image platforms use them ("x86_64" -> "amd64",
// "aarch64" -> "arm64", "armv7l" -> "arm" variant "v7"); the machine itself when unknown.
Platform platform_of_machine(const std::string& os, std::string_view machine);
// This host's platform (uname).
Platform host_platform(const std::string& os);

// The index entry for `want`: os and architecture equal, and the variant equal when both name
// one (arm64's "v8" is its default). Error naming `what` and the platforms the index offers.
const Descriptor& select_platform(const Manifest& index, const Platform& want, const std::string& what);

}  // namespace hutch::image::registry
