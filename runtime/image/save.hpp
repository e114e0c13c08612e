// `hutch save` and `hutch import`: the store's way out and a flat root filesystem's way in.
#pragma once

#include <string>
#include <vector>

#include "runtime/image/image_store.hpp"

namespace hutch::image {

// Writes the images `refs` as a `docker save` archive (manifest.json, repositories, the config as
// <id>.json, each layer as <diff-id>/layer.tar, uncompressed as Docker writes them) to `fd`.
// Shared lock held while reading.
void save_archive(const ImageStore& store, const std::vector<std::string>& refs, int fd);

// docker import: a directory or a tar (plain or compressed) becomes a one-layer image with an
// empty config, tagged `tag` when not empty. Returns the image id. Exclusive lock held.
std::string import_rootfs(ImageStore& store, const std::string& source, const std::string& tag);

}  // namespace hutch::image
