// Unpacking one image layer (a tar, gzip'd tar or zstd'd tar) into a directory of its own, which
// later becomes one lowerdir of a container's overlay root.
//
// The tar is hostile input, read with libarchive and applied with our own *at() calls:
// - every entry is created relative to the layer's directory fd, its parents opened with
//   openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): a path with `..`
//   that climbs out, an absolute path, or a path through a symlink the layer made, is refused;
// - symlinks are stored as they are (they resolve inside the container's root at run time);
//   hard links must name an entry already in this layer;
// - the OCI/Docker whiteouts become overlayfs ones: `.wh.NAME` a 0/0 character device NAME,
//   `.wh..wh..opq` the trusted.overlay.opaque=y xattr on its directory (user.overlay.opaque=y
//   for rootless hutch, whose overlay is mounted with userxattr);
// - device nodes, FIFOs and sockets are skipped (hutch's /dev is its own tmpfs; Docker as root
//   would create them, a container under hutch never needs them from the image);
// - owner, mode (setuid/setgid kept, as Docker keeps them) and mtime as in the tar; xattrs only
//   `security.capability` and `user.*` but `user.overlay.*` (an overlay xattr from an image
//   could forge whiteouts).
// The layer is unpacked under a temp name and renamed into place only when complete.
//
// Rootless hutch (runtime/rootless.hpp) unpacks in a helper that is root of a user namespace of
// the user's maps, as podman does: the layer's owners land on the user's subordinate ids (uid 0
// on the user, uid 1 on the first subordinate id, ...), as the container will see them. A uid
// beyond the user's ranges fails the unpack, naming the entry.
#pragma once

#include <cstdint>
#include <string>

namespace hutch::image {

struct UnpackedLayer {
    std::string diff_id;      // sha256 of the uncompressed tar, as the image config lists it
    std::uint64_t size = 0;   // bytes of regular file content unpacked
};

// Unpacks the blob at `blob_path` into `dir`, which must not exist yet (its parent must). The
// tar's own digest is computed on the way; a caller that knows the expected diff id checks it.
// Errors name the layer (`what`, e.g. its digest) and the entry; a failure leaves nothing at `dir`.
UnpackedLayer unpack_layer(const std::string& blob_path, const std::string& dir, const std::string& what);

}  // namespace hutch::image
