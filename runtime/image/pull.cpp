#include "runtime/image/pull.hpp"

namespace hutch::image {

ImageRecord pull_to_store(ImageStore& store, const Reference& ref, const RegistryOptions& options,
                          const std::function<void(const std::string&)>& progress) {
    StoreLock lock = store.lock(StoreLock::Mode::kExclusive);
    try {
        PulledImage pulled = pull_image(ref, store.blobs(), options, progress);
        store.blobs().put(pulled.manifest, pulled.manifest_digest);
        std::vector<LayerBlob> layers;
        for (const auto& digest : pulled.layer_digests) layers.push_back({digest, ""});
        std::vector<std::string> tags;
        if (!ref.tag.empty()) tags.push_back(ref.familiar());
        return store.add(pulled.config_digest, layers, tags, {pulled.manifest_digest},
                         ref.repository() + "@" + pulled.manifest_digest);
    } catch (...) {
        store.collect_garbage();  // the blobs and layers of this pull that no image names
        throw;
    }
}

}  // namespace hutch::image
