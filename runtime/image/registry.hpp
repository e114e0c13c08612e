// Pulling from a registry over the Registry HTTP API v2 (the distribution spec), with libcurl.
//
// - manifests: Docker schema 2 and OCI image manifests; a manifest list or OCI index is resolved
//   to the host's platform (linux/amd64 here, from uname);
// - auth: anonymous bearer tokens as Docker Hub asks (a 401 with `WWW-Authenticate: Bearer
//   realm=...,service=...,scope=...`, then the realm's token sent as `Authorization: Bearer`);
//   a 401 the token does not cure is an error naming the registry;
// - transport: https, or plain http for a registry on 127.0.0.0/8, ::1 or "localhost", and for
//   the ones listed as insecure (Docker's daemon.json `insecure-registries`);
// - every blob and manifest fetched by digest is verified before it is stored (BlobStore);
//   manifests are bounded in size, transfers in time (connect and low-speed timeouts).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/image/blob_store.hpp"
#include "runtime/image/reference.hpp"

namespace hutch::image {

struct RegistryOptions {
    std::vector<std::string> insecure_registries;  // "host:port" or CIDR, as Docker takes them
    long connect_timeout_seconds = 15;
    long stall_timeout_seconds = 30;  // abort a transfer that moves nothing for this long
    std::string os = "linux", architecture;  // architecture: empty means the host's
};

// What a pull leaves in the blob store, for ImageStore::add.
struct PulledImage {
    std::string manifest_digest;          // of the platform manifest (RepoDigests)
    std::string manifest;                 // its bytes (stored as a blob too)
    std::string config_digest;
    std::vector<std::string> layer_digests;  // compressed blobs, bottom first
    std::vector<std::string> layer_media_types;
};

// Fetches the manifest, config and every layer blob of `ref` into `blobs` (blobs already present
// are not fetched again). `progress` gets one line per step ("Pulling fs layer ...").
PulledImage pull_image(const Reference& ref, const BlobStore& blobs, const RegistryOptions& options,
                       const std::function<void(const std::string&)>& progress);

}  // namespace hutch::image
