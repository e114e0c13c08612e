#include "runtime/image/load.hpp"

#include <archive_entry.h>

#include <map>

#include "runtime/error.hpp"
#include "runtime/image/archive.hpp"
#include "runtime/image/registry_manifest.hpp"
#include "runtime/image/reference.hpp"

namespace hutch::image {
namespace {

// The metadata files read into memory; everything else is a blob.
constexpr const char* kMetadataFiles[] = {"manifest.json", "index.json", "oci-layout", "repositories"};
constexpr std::size_t kMetadataLimit = 4u << 20;
constexpr std::size_t kManifestLimit = 4u << 20;
// More entries than any image archive has: a hostile archive cannot make the load run forever.
constexpr std::size_t kEntryLimit = 100000;
// More images than any archive of a real deployment holds (docker save of a whole host's images
// is a few hundred): each is added under the store's exclusive lock.
constexpr std::size_t kImageLimit = 1000;

struct Contents {
    std::map<std::string, std::string> blob_of;   // path in the archive -> digest
    std::map<std::string, std::string> metadata;  // kMetadataFiles present -> bytes
    std::map<std::string, std::string> links;     // symlink path -> the path it names
};

// "./a//b" -> "a/b"; the names are only keys here, never paths on this host.
std::string clean(std::string name) {
    std::string out;
    std::size_t i = 0;
    while (i <= name.size()) {
        std::size_t j = name.find('/', i);
        if (j == std::string::npos) j = name.size();
        std::string part = name.substr(i, j - i);
        if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
        i = j + 1;
    }
    return out;
}

bool is_metadata(const std::string& name) {
    for (const char* m : kMetadataFiles)
        if (name == m) return true;
    return false;
}

// An OCI layout's blobs are named by their digest: the name is checked against the content.
std::string expected_digest(const std::string& name) {
    const std::string prefix = "blobs/sha256/";
    if (name.rfind(prefix, 0) != 0) return "";
    std::string digest = "sha256:" + name.substr(prefix.size());
    if (!is_digest(digest)) throw Error("archive entry " + name + ": not a sha256 blob name");
    return digest;
}

std::string read_entry_text(archive* a, const std::string& name, la_int64_t size, const std::string& what) {
    if (size < 0 || static_cast<std::size_t>(size) > kMetadataLimit)
        throw Error(what + ": " + name + " is larger than " + std::to_string(kMetadataLimit) + " bytes");
    std::string text(static_cast<std::size_t>(size), '\0');
    la_ssize_t got = archive_read_data(a, text.data(), text.size());
    if (got != size) throw Error(what + ": " + name + ": " + (got < 0 ? archive_error(a) : "short read"));
    return text;
}

std::string stream_entry_to_blob(archive* a, const BlobStore& blobs, const std::string& name, const std::string& what) {
    BlobStore::Writer w = blobs.writer();
    std::string buffer(1 << 16, '\0');
    for (;;) {
        la_ssize_t got = archive_read_data(a, buffer.data(), buffer.size());
        if (got < 0) throw Error(what + ": " + name + ": " + archive_error(a));
        if (got == 0) break;
        w.write(buffer.data(), static_cast<std::size_t>(got));
    }
    try {
        return w.commit(expected_digest(name));
    } catch (const Error& e) {
        throw Error(what + ": " + name + ": " + e.what());
    }
}

Contents read_archive(const BlobStore& blobs, int fd, const std::string& what) {
    ArchiveReader a(archive_read_new());
    if (!support_in_process_filters(a.get())) throw Error(what + ": " + archive_error(a.get()));
    archive_read_support_format_tar(a.get());
    if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK)
        throw Error(what + ": not an image archive (" + archive_error(a.get()) + ")");
    Contents c;
    archive_entry* entry = nullptr;
    std::size_t count = 0;
    for (;;) {
        int r = archive_read_next_header(a.get(), &entry);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            throw Error(what + ": not a readable tar archive (" + archive_error(a.get()) + ")");
        if (++count > kEntryLimit) throw Error(what + ": more than " + std::to_string(kEntryLimit) + " entries");
        const char* raw = archive_entry_pathname(entry);
        std::string name = clean(raw ? raw : "");
        if (archive_entry_filetype(entry) == AE_IFLNK) {
            // Old `docker save` links a repeated layer to its first copy: "b/layer.tar -> ../a/layer.tar".
            const char* target = archive_entry_symlink(entry);
            std::string dir = name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/'));
            c.links[name] = clean(dir + "/" + (target ? target : ""));
            continue;
        }
        if (archive_entry_filetype(entry) != AE_IFREG) continue;
        if (is_metadata(name)) c.metadata[name] = read_entry_text(a.get(), name, archive_entry_size(entry), what);
        else c.blob_of[name] = stream_entry_to_blob(a.get(), blobs, name, what);
    }
    if (count == 0) throw Error(what + ": an empty archive");
    return c;
}

// The digest of the archive file `name` names (following the links of an old docker save, and
// the ".." they use: "../a/layer.tar" from "b/" is "a/layer.tar").
std::string blob_named(const Contents& c, std::string name, const std::string& what) {
    name = clean(name);
    for (int hops = 0; hops < 8; ++hops) {
        if (auto b = c.blob_of.find(name); b != c.blob_of.end()) return b->second;
        auto l = c.links.find(name);
        if (l == c.links.end()) break;
        name = l->second;
        // Resolve "x/../y" left by the join.
        std::size_t up;
        while ((up = name.find("/../")) != std::string::npos) {
            std::size_t start = name.rfind('/', up - 1);
            name.erase(start == std::string::npos ? 0 : start + 1, up + 4 - (start == std::string::npos ? 0 : start + 1));
        }
    }
    throw Error(what + ": the manifest names " + name.substr(0, 200) + ", which the archive does not hold");
}

nlohmann::json parse_json(const std::string& text, const std::string& what) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) throw Error(what + ": not valid JSON");
    return j;
}

std::vector<std::string> loaded_lines(const ImageRecord& image, const std::vector<std::string>& tags) {
    std::vector<std::string> lines;
    for (const auto& t : tags) lines.push_back("Loaded image: " + normalize_tag(t));
    if (tags.empty()) lines.push_back("Loaded image ID: " + image.id);
    return lines;
}

std::vector<std::string> load_docker_archive(ImageStore& store, const Contents& c, const std::string& what) {
    nlohmann::json manifest = parse_json(c.metadata.at("manifest.json"), what + ": manifest.json");
    if (!manifest.is_array() || manifest.empty()) throw Error(what + ": manifest.json lists no image");
    if (manifest.size() > kImageLimit)
        throw Error(what + ": manifest.json lists " + std::to_string(manifest.size()) + " images, more than " +
                    std::to_string(kImageLimit) + " (each holds the store's lock while it is added)");
    std::vector<std::string> lines;
    for (const auto& entry : manifest) {
        if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string() ||
            !entry.contains("Layers") || !entry["Layers"].is_array())
            throw Error(what + ": manifest.json: an entry without Config and Layers");
        std::string config = blob_named(c, entry["Config"].get<std::string>(), what);
        std::vector<LayerBlob> layers;
        for (const auto& l : entry["Layers"]) {
            if (!l.is_string()) throw Error(what + ": manifest.json: a layer that is not a file name");
            layers.push_back({blob_named(c, l.get<std::string>(), what), ""});
        }
        std::vector<std::string> tags;
        if (entry.contains("RepoTags") && entry["RepoTags"].is_array())
            for (const auto& t : entry["RepoTags"]) {
                if (!t.is_string()) throw Error(what + ": manifest.json: a RepoTag that is not a string");
                tag_name(t.get<std::string>());  // a bad name is refused before anything is recorded
                tags.push_back(t.get<std::string>());
            }
        ImageRecord image = store.add(config, layers, tags, {}, "");
        for (auto& line : loaded_lines(image, tags)) lines.push_back(std::move(line));
    }
    return lines;
}

// An OCI layout names images in index.json; containerd's name annotation is a full reference,
// the OCI one is usually just a tag (then the image loads without a name, as Docker does).
std::vector<std::string> oci_names(const nlohmann::json& entry) {
    if (!entry.is_object() || !entry.contains("annotations") || !entry["annotations"].is_object()) return {};
    const nlohmann::json& annotations = entry["annotations"];
    for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
        if (!annotations.contains(key) || !annotations[key].is_string()) continue;
        std::string name = annotations[key].get<std::string>();
        // A name with a digest is no tag (Docker's load gives no name then either).
        if (name.find_first_of(":/") != std::string::npos && Reference::looks_like(name) &&
            Reference::parse(name).digest.empty())
            return {name};
    }
    return {};
}

bool is_index_type(const std::string& media_type) {
    return media_type == registry::kOciIndex || media_type == registry::kDockerList;
}

std::vector<std::string> load_oci_layout(ImageStore& store, const Contents& c, const std::string& what) {
    const BlobStore& blobs = store.blobs();
    const std::string& index_text = c.metadata.at("index.json");
    registry::Manifest index = registry::parse_manifest(index_text, registry::kOciIndex, what + ": index.json");
    if (!index.is_index) throw Error(what + ": index.json is not an image index");
    if (index.manifests.size() > kImageLimit)
        throw Error(what + ": index.json lists " + std::to_string(index.manifests.size()) + " images, more than " +
                    std::to_string(kImageLimit));
    nlohmann::json raw = parse_json(index_text, what + ": index.json");  // for the names (annotations)
    auto held = [&](const std::string& digest) {
        if (!c.blob_of.count("blobs/sha256/" + digest.substr(7)))
            throw Error(what + ": index.json names " + digest + ", which the archive does not hold");
    };
    auto read_manifest = [&](const registry::Descriptor& d) {
        held(d.digest);
        return registry::parse_manifest(blobs.read(d.digest, kManifestLimit), d.media_type, what + ": manifest " + d.digest);
    };
    const registry::Platform host = registry::host_platform("linux");
    std::vector<std::string> lines;
    registry::Manifest elsewhere;  // other platforms' images of a multi-platform layout
    elsewhere.is_index = true;
    for (std::size_t i = 0; i < index.manifests.size(); ++i) {
        registry::Descriptor entry = index.manifests[i];
        if (is_index_type(entry.media_type)) {
            entry = registry::select_platform(read_manifest(entry), host, what + ": index " + entry.digest);
        } else if (!entry.os.empty() && (entry.os != host.os || entry.architecture != host.architecture)) {
            elsewhere.manifests.push_back(entry);
            continue;
        }
        registry::Manifest manifest = read_manifest(entry);
        if (manifest.is_index) throw Error(what + ": manifest " + entry.digest + " is an index inside an index");
        held(manifest.config.digest);
        std::vector<LayerBlob> layers;
        for (const auto& l : manifest.layers) {
            held(l.digest);
            layers.push_back({l.digest, ""});
        }
        std::vector<std::string> tags = oci_names(raw["manifests"][i]);
        ImageRecord image = store.add(manifest.config.digest, layers, tags, {entry.digest, index.manifests[i].digest}, "");
        for (auto& line : loaded_lines(image, tags)) lines.push_back(std::move(line));
    }
    if (lines.empty()) registry::select_platform(elsewhere, host, what);  // throws, naming what it offers
    return lines;
}

}  // namespace

std::vector<std::string> load_archive(ImageStore& store, int fd, const std::string& what) {
    StoreLock lock = store.lock(StoreLock::Mode::kExclusive);
    try {
        Contents c = read_archive(store.blobs(), fd, what);
        std::vector<std::string> lines;
        if (c.metadata.count("manifest.json")) lines = load_docker_archive(store, c, what);
        else if (c.metadata.count("index.json") && c.metadata.count("oci-layout")) lines = load_oci_layout(store, c, what);
        else throw Error(what + ": neither a docker save archive (manifest.json) nor an OCI image layout (oci-layout, index.json)");
        store.collect_garbage();  // the archive's files no image uses
        return lines;
    } catch (...) {
        store.collect_garbage();  // every blob and layer of this load that no image record names
        throw;
    }
}

}  // namespace hutch::image
