// `hutch pull` and `hutch run --pull`: a registry's image into the store (registry.hpp fetches
// the blobs, ImageStore::add unpacks and names them), under the store's exclusive lock; a pull
// that fails leaves no blob or layer of its own behind.
#pragma once

#include <functional>
#include <string>

#include "runtime/image/image_store.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/image/registry.hpp"

namespace hutch::image {

ImageRecord pull_to_store(ImageStore& store, const Reference& ref, const RegistryOptions& options,
                          const std::function<void(const std::string&)>& progress);

}  // namespace hutch::image
