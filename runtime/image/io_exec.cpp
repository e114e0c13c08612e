// hutch's stand-ins for the image I/O that lives in hutch-image (runtime/image/reexec.hpp): each
// re-executes this command line as hutch-image, which has the real function.
#include "runtime/image/layer.hpp"
#include "runtime/image/load.hpp"
#include "runtime/image/pull.hpp"
#include "runtime/image/reexec.hpp"
#include "runtime/image/save.hpp"

namespace hutch::image {

UnpackedLayer unpack_layer(const std::string&, const std::string&, const std::string&) {
    reexec_with_image_io("unpack a layer");
}

std::vector<std::string> load_archive(ImageStore&, int, const std::string&) { reexec_with_image_io("load"); }

void save_archive(const ImageStore&, const std::vector<std::string>&, int) { reexec_with_image_io("save"); }

std::string import_rootfs(ImageStore&, const std::string&, const std::string&) { reexec_with_image_io("import"); }

ImageRecord pull_to_store(ImageStore&, const Reference&, const RegistryOptions&,
                          const std::function<void(const std::string&)>&) {
    reexec_with_image_io("pull");
}

}  // namespace hutch::image
