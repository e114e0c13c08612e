// `hutch load`: a `docker save` tarball (manifest.json, with or without an OCI layout inside, as
// Docker 25+ writes) or an OCI image layout tarball (oci-layout, index.json, blobs/), plain or
// compressed, from a file or stdin.
//
// The tar is read once, front to back: every regular file streams into the blob store (hashed on
// the way, so a file named blobs/sha256/<hex> must hash to <hex>), the few small metadata files
// are kept in memory, bounded. Then the metadata names which blobs are configs and layers, and
// ImageStore::add unpacks and records each image. A load that fails removes every blob and layer
// it added; blobs of the archive no image uses (Docker's legacy per-layer json files) go too.
#pragma once

#include <string>
#include <vector>

#include "runtime/image/image_store.hpp"

namespace hutch::image {

// Loads every image of the archive read from `fd` (`what` names it in errors: the file or
// "stdin"); returns Docker's lines: "Loaded image: busybox:latest" or "Loaded image ID: sha256:...".
// Takes the store's exclusive lock.
std::vector<std::string> load_archive(ImageStore& store, int fd, const std::string& what);

}  // namespace hutch::image
