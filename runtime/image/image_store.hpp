// The image store: which images exist, their names, and the unpacked layers they stand on.
//
// Under <data-root>/images/ (beside containers/):
//   blobs/sha256/<hex>    every blob (configs, manifests, layer tars as they came), BlobStore
//   layers/<hex>/         one directory per unpacked layer, named by its diff id: a lowerdir
//   images/<hex>.json     one record per image, named by its id (the config's digest)
//   repositories.json     name:tag -> image id
//   leases/<container-id> the image a container was made from and the process making it, written
//                         before the container exists, so rmi sees a container still starting
//   lock                  flock: shared to read or start a container, exclusive to change anything
//                         (load, pull, tag, rmi hold it for their whole run: a blob written by an
//                         unfinished pull is never collected by a concurrent rmi)
// A layer shared by images is unpacked once. rmi removes what no remaining image names.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/fd.hpp"
#include "runtime/image/blob_store.hpp"

namespace hutch::image {

// What `hutch run IMAGE` takes from the image's config (Docker's "config" object).
struct RunConfig {
    std::vector<std::string> entrypoint, cmd, env;
    std::vector<std::string> exposed_ports;  // ExposedPorts' keys: "80/tcp", what -P publishes
    std::string user, working_dir, stop_signal;
    bool has_healthcheck = false;
};

struct ImageRecord {
    std::string id;                          // sha256 of the config blob
    std::vector<std::string> repo_tags;      // "alpine:latest", "127.0.0.1:5000/app:v1"
    std::vector<std::string> repo_digests;   // "127.0.0.1:5000/app@sha256:..." (pulled only)
    std::vector<std::string> diff_ids;       // layers, bottom first
    std::vector<std::string> layer_blobs;    // the blob each layer came as (compressed or not)
    std::vector<std::string> blobs;          // every blob the image keeps: config, manifest, layers
    std::string created;                     // the config's "created"
    std::string architecture, os;
    std::uint64_t size = 0;                  // bytes of the unpacked layers' files
};

// One layer of an image being added: the blob as stored and the diff id the config promises.
struct LayerBlob {
    std::string digest;
    std::string diff_id;
};

// An flock on the store's lock file, released when it goes out of scope.
class StoreLock {
public:
    enum class Mode { kShared, kExclusive };
    StoreLock(const std::string& path, Mode mode);

private:
    Fd fd_;
};

class ImageStore {
public:
    explicit ImageStore(const std::string& data_root);

    const BlobStore& blobs() const { return blobs_; }
    const std::string& root() const { return root_; }
    StoreLock lock(StoreLock::Mode mode) const;

    // Adds (or re-tags) the image whose config and layer blobs are in the blob store: unpacks the
    // layers not unpacked yet, checks every diff id against the config, writes the record and
    // points each of `tags` (familiar "name:tag") at it, taking them from other images. Caller
    // holds the exclusive lock. `manifest_digest`, when pulled, becomes a repo digest of `repo`.
    ImageRecord add(const std::string& config_digest, const std::vector<LayerBlob>& layers,
                    const std::vector<std::string>& tags, const std::vector<std::string>& extra_blobs,
                    const std::string& repo_digest);

    // An image by "name:tag" (tag defaults to latest), full id, "sha256:" id or a unique id prefix
    // of 12+ hex digits (Docker accepts shorter; hutch too from 4); nullopt when there is none.
    std::optional<ImageRecord> find(const std::string& ref) const;
    ImageRecord get(const std::string& ref) const;  // UsageError "No such image: REF"
    std::vector<ImageRecord> list() const;
    nlohmann::json config_json(const ImageRecord& image) const;
    RunConfig run_config(const ImageRecord& image) const;
    // The image's layer directories for overlay's lowerdir: top layer first.
    std::vector<std::string> layer_dirs(const ImageRecord& image) const;
    std::string layer_dir(const std::string& diff_id) const;

    // Records that container `container_id` is being made from `image_id` (shared lock held).
    void lease(const std::string& container_id, const std::string& image_id) const;

    void tag(const std::string& source, const std::string& target);
    // docker rmi: removes a tag, or the image (with -f every tag) and then every blob and layer no
    // remaining image needs. `in_use(id)` names a container using the image ("" when none): such
    // an image is refused. Returns Docker's lines ("Untagged: ...", "Deleted: sha256:...").
    std::vector<std::string> remove(const std::string& ref, bool force,
                                    const std::function<std::string(const std::string&)>& in_use);
    // The id of a container holding a lease on `image_id` that is still live: its data dir
    // exists under `containers_dir`, or the hutch process that took the lease still runs (pid
    // and start time); stale leases are removed.
    std::string leased_by(const std::string& image_id, const std::string& containers_dir) const;

    // Removes every blob and layer no image record names: after rmi, and after a failed load or
    // pull (whose blobs and layers no record names yet). Exclusive lock held.
    void collect_garbage() const;

private:
    void write_record(const ImageRecord& image) const;
    void name_image(ImageRecord& image, const std::vector<std::string>& tags) const;
    std::map<std::string, std::string> read_tags() const;
    void write_tags(const std::map<std::string, std::string>& tags) const;

    std::string root_;
    BlobStore blobs_;
};

// Removes container `container_id`'s lease, if it has one (its record is being removed); the
// lease of a container whose removal was interrupted is dropped by the next rmi that finds it.
void drop_lease(const std::string& data_root, const std::string& container_id);

// "alpine" -> "alpine:latest"; a reference with a digest only stays as it is. UsageError for a
// reference that does not parse.
std::string normalize_tag(const std::string& ref);
// A name an image is given (tag, load, import, pull): normalize_tag's, but a reference with a
// digest is refused, as Docker refuses it ("refusing to create a tag with a digest reference"):
// stored as a tag it would list as repository "app@sha256" and never be found by its digest.
std::string tag_name(const std::string& ref);

}  // namespace hutch::image
