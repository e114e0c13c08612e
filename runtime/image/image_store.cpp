#include "runtime/image/image_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <set>

#include "runtime/error.hpp"
#include "runtime/image/layer.hpp"
#include "runtime/image/quote.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/rootless.hpp"
#include "runtime/proc_stat.hpp"
#include "runtime/state.hpp"

namespace hutch::image {
namespace {

// Configs and records are small; anything larger is not an image config hutch will read.
constexpr std::size_t kConfigLimit = 8u << 20;
constexpr std::size_t kMaxLayers = 125;
// A process named by pid and start time (field 22 of /proc/PID/stat, clock ticks since boot):
// the pair never names a later process that reused the pid. "" when it is gone.
std::string process_identity(pid_t pid) {
    const ProcStat stat(pid);
    return stat.field(22).empty() ? "" : std::to_string(pid) + " " + stat.field(22);
}

std::vector<std::string> directory_names(const std::string& dir) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
        if (errno == ENOENT) return names;
        throw SysError("list the image store", "opendir", dir, errno);
    }
    while (dirent* e = ::readdir(d.get())) {
        std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> strings_of(const nlohmann::json& j, const char* key) {
    std::vector<std::string> out;
    if (!j.contains(key) || j[key].is_null()) return out;
    // Docker's config reads a lone string as a one-word list (its strslice type).
    if (j[key].is_string()) return {j[key].get<std::string>()};
    if (!j[key].is_array()) throw Error(std::string("image config: \"") + key + "\" is not a list");
    for (const auto& v : j[key]) {
        if (!v.is_string()) throw Error(std::string("image config: \"") + key + "\" holds a non-string");
        out.push_back(v.get<std::string>());
    }
    return out;
}

std::string string_of(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return "";
    if (!j[key].is_string()) throw Error(std::string("image config: \"") + key + "\" is not a string");
    return j[key].get<std::string>();
}

// execve reads each argument and variable up to its first NUL: a NUL in the config would run a
// shorter command than the image says, silently (Docker's Go exec refuses it, EINVAL). Refused
// at the image's edge, the value named.
void check_run_config(const RunConfig& c, const std::string& id) {
    auto check = [&](const char* key, const std::string& value) {
        if (value.find('\0') != std::string::npos)
            throw Error("image config " + id + ": \"" + key + "\" " + image::quoted_safely(value) + " holds a NUL");
    };
    for (const auto& [key, list] : {std::pair{"Entrypoint", &c.entrypoint}, {"Cmd", &c.cmd}, {"Env", &c.env}})
        for (const auto& v : *list) check(key, v);
    check("User", c.user);
    check("WorkingDir", c.working_dir);
    check("StopSignal", c.stop_signal);
}

nlohmann::json record_json(const ImageRecord& r) {
    return {{"id", r.id},           {"repoTags", r.repo_tags}, {"repoDigests", r.repo_digests},
            {"diffIds", r.diff_ids}, {"layerBlobs", r.layer_blobs}, {"blobs", r.blobs},        {"created", r.created},
            {"architecture", r.architecture}, {"os", r.os},   {"size", r.size}};
}

ImageRecord record_from(const nlohmann::json& j) {
    ImageRecord r;
    r.id = j.at("id").get<std::string>();
    r.repo_tags = j.value("repoTags", std::vector<std::string>{});
    r.repo_digests = j.value("repoDigests", std::vector<std::string>{});
    r.diff_ids = j.value("diffIds", std::vector<std::string>{});
    r.layer_blobs = j.value("layerBlobs", std::vector<std::string>{});
    r.blobs = j.value("blobs", std::vector<std::string>{});
    r.created = j.value("created", "");
    r.architecture = j.value("architecture", "");
    r.os = j.value("os", "");
    r.size = j.value("size", std::uint64_t{0});
    return r;
}

bool is_hex(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void add_unique(std::vector<std::string>& list, const std::string& value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

void drop_lease(const std::string& data_root, const std::string& container_id) {
    std::string path = data_root + "/images/leases/" + container_id;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw SysError("drop the image lease", "unlink", path, errno);
}

std::string normalize_tag(const std::string& ref) {
    Reference r = Reference::parse(ref);
    if (r.tag.empty()) return r.familiar();  // by digest only: "repo@sha256:..."
    return r.repository() + ":" + r.tag;
}

std::string tag_name(const std::string& ref) {
    if (!Reference::parse(ref).digest.empty())
        throw UsageError("refusing to create a tag with a digest reference: " + image::quoted_safely(ref));
    return normalize_tag(ref);
}

StoreLock::StoreLock(const std::string& path, Mode mode)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (!fd_) throw SysError("lock the image store", "open", path, errno);
    int op = mode == Mode::kShared ? LOCK_SH : LOCK_EX;
    while (::flock(fd_.get(), op) != 0)
        if (errno != EINTR) throw SysError("lock the image store", "flock", path, errno);
}

ImageStore::ImageStore(const std::string& data_root) : root_(data_root + "/images"), blobs_(root_) {}

StoreLock ImageStore::lock(StoreLock::Mode mode) const {
    make_dirs(root_, 0700);
    return StoreLock(root_ + "/lock", mode);
}

std::string ImageStore::layer_dir(const std::string& diff_id) const {
    return root_ + "/layers/" + digest_hex(diff_id, "layer diff id");
}

std::vector<std::string> ImageStore::layer_dirs(const ImageRecord& image) const {
    std::vector<std::string> dirs;
    for (auto it = image.diff_ids.rbegin(); it != image.diff_ids.rend(); ++it) dirs.push_back(layer_dir(*it));
    return dirs;
}

nlohmann::json ImageStore::config_json(const ImageRecord& image) const {
    std::string text = blobs_.read(image.id, kConfigLimit);
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error("image config " + image.id + ": not a JSON object");
    return j;
}

RunConfig ImageStore::run_config(const ImageRecord& image) const {
    nlohmann::json j = config_json(image);
    RunConfig c;
    if (!j.contains("config") || !j["config"].is_object()) return c;
    const nlohmann::json& cfg = j["config"];
    c.entrypoint = strings_of(cfg, "Entrypoint");
    c.cmd = strings_of(cfg, "Cmd");
    c.env = strings_of(cfg, "Env");
    c.user = string_of(cfg, "User");
    c.working_dir = string_of(cfg, "WorkingDir");
    c.stop_signal = string_of(cfg, "StopSignal");
    if (cfg.contains("ExposedPorts") && cfg["ExposedPorts"].is_object())
        for (const auto& [port, ignored] : cfg["ExposedPorts"].items()) {
            (void)ignored;
            if (c.exposed_ports.size() < 1024) c.exposed_ports.push_back(port);  // bounded: the image is hostile
        }
    c.has_healthcheck = cfg.contains("Healthcheck") && cfg["Healthcheck"].is_object();
    check_run_config(c, image.id);
    return c;
}

void ImageStore::write_record(const ImageRecord& image) const {
    make_dirs(root_ + "/images", 0700);
    write_file_atomic(root_ + "/images/" + digest_hex(image.id, "image id") + ".json", record_json(image).dump(), 0600,
                      Durability::kDurable);
}

std::map<std::string, std::string> ImageStore::read_tags() const {
    std::map<std::string, std::string> tags;
    std::string path = root_ + "/repositories.json";
    if (!exists(path)) return tags;
    nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error("image store: " + path + " is damaged (not a JSON object)");
    for (const auto& [name, id] : j.items())
        if (id.is_string()) tags[name] = id.get<std::string>();
    return tags;
}

void ImageStore::write_tags(const std::map<std::string, std::string>& tags) const {
    write_file_atomic(root_ + "/repositories.json", nlohmann::json(tags).dump(), 0600, Durability::kDurable);
}

std::vector<ImageRecord> ImageStore::list() const {
    std::vector<ImageRecord> out;
    for (const auto& name : directory_names(root_ + "/images")) {
        if (name.size() != 69 || name.substr(64) != ".json") continue;  // temp files of a write
        std::string path = root_ + "/images/" + name;
        nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw Error("image store: " + path + " is damaged");
        out.push_back(record_from(j));
    }
    return out;
}

std::optional<ImageRecord> ImageStore::find(const std::string& ref) const {
    std::vector<ImageRecord> images = list();
    auto by_id = [&](const std::string& id) -> std::optional<ImageRecord> {
        for (const auto& i : images)
            if (i.id == id) return i;
        return std::nullopt;
    };
    if (is_digest(ref)) return by_id(ref);
    if (Reference::looks_like(ref)) {
        // By digest, as Docker finds it: a repo digest a pull recorded (a tag beside it is ignored).
        if (Reference r = Reference::parse(ref); !r.digest.empty()) {
            std::string wanted = r.repository() + "@" + r.digest;
            for (const auto& i : images)
                if (std::find(i.repo_digests.begin(), i.repo_digests.end(), wanted) != i.repo_digests.end()) return i;
            return std::nullopt;
        }
        std::map<std::string, std::string> tags = read_tags();
        if (auto it = tags.find(normalize_tag(ref)); it != tags.end()) return by_id(it->second);
    }
    // An id prefix, as `docker run 3f5ef9` takes one: unique, at least 4 hex digits.
    if (ref.size() >= 4 && ref.size() <= 64 && is_hex(ref)) {
        std::optional<ImageRecord> match;
        for (const auto& i : images) {
            if (i.id.compare(7, ref.size(), ref) != 0) continue;
            if (match) throw UsageError("image id prefix " + ref + " is ambiguous");
            match = i;
        }
        return match;
    }
    return std::nullopt;
}

ImageRecord ImageStore::get(const std::string& ref) const {
    if (auto image = find(ref)) return *image;
    throw UsageError("No such image: " + ref);
}

ImageRecord ImageStore::add(const std::string& config_digest, const std::vector<LayerBlob>& layers,
                            const std::vector<std::string>& tags, const std::vector<std::string>& extra_blobs,
                            const std::string& repo_digest) {
    // overlayfs stacks at most 500 lower dirs, and hutch's lowerdir option fits far fewer (a page
    // of paths); Docker's limit is 125 layers. More is refused before anything is unpacked.
    if (layers.size() > kMaxLayers)
        throw Error("image config " + config_digest + ": " + std::to_string(layers.size()) + " layers, more than the " +
                    std::to_string(kMaxLayers) + " an image may have");
    ImageRecord image;
    image.id = config_digest;
    nlohmann::json config = config_json(image);
    const nlohmann::json* diff_ids = nullptr;
    if (config.contains("rootfs") && config["rootfs"].is_object() && config["rootfs"].contains("diff_ids"))
        diff_ids = &config["rootfs"]["diff_ids"];
    if (!diff_ids || !diff_ids->is_array() || diff_ids->size() != layers.size())
        throw Error("image config " + config_digest + ": rootfs.diff_ids does not list the image's " +
                    std::to_string(layers.size()) + " layers");
    image.created = string_of(config, "created");
    image.architecture = string_of(config, "architecture");
    image.os = string_of(config, "os");
    image.blobs.push_back(config_digest);
    make_dirs(root_ + "/layers", 0700);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const nlohmann::json& d = (*diff_ids)[i];
        if (!d.is_string() || !is_digest(d.get<std::string>()))
            throw Error("image config " + config_digest + ": diff id " + std::to_string(i) + " is not a sha256 digest");
        std::string diff_id = d.get<std::string>();
        if (!layers[i].diff_id.empty() && layers[i].diff_id != diff_id)
            throw Error("layer " + layers[i].digest + ": the manifest says " + layers[i].diff_id + ", the config " + diff_id);
        std::string dir = layer_dir(diff_id);
        std::string size_file = dir + ".size";
        if (!exists(dir)) {
            UnpackedLayer unpacked = unpack_layer(blobs_.path(layers[i].digest), dir, layers[i].digest);
            if (unpacked.diff_id != diff_id) {
                rootless::remove_tree_as_owner(dir);
                throw Error("layer " + layers[i].digest + ": its content is " + unpacked.diff_id + ", the config says " + diff_id);
            }
            write_file_atomic(size_file, std::to_string(unpacked.size), 0600, Durability::kRuntime);
        }
        if (exists(size_file)) image.size += std::strtoull(read_file(size_file).c_str(), nullptr, 10);  // 0 if damaged
        image.diff_ids.push_back(diff_id);
        image.layer_blobs.push_back(layers[i].digest);
        add_unique(image.blobs, layers[i].digest);
    }
    for (const auto& b : extra_blobs) add_unique(image.blobs, b);

    // An image already stored keeps its names and repo digests.
    if (auto old = find(config_digest)) {
        image.repo_tags = old->repo_tags;
        image.repo_digests = old->repo_digests;
        for (const auto& b : old->blobs) add_unique(image.blobs, b);
    }
    if (!repo_digest.empty()) add_unique(image.repo_digests, repo_digest);
    name_image(image, tags);
    return image;
}

void ImageStore::tag(const std::string& source, const std::string& target) {
    ImageRecord image = get(source);
    name_image(image, {target});
}

// Points each of `tags` at `image`, taking a name from the image that had it (which then shows
// as <none> if it has no other), and writes the records and the names.
void ImageStore::name_image(ImageRecord& image, const std::vector<std::string>& tags) const {
    for (const auto& t : tags) tag_name(t);  // every name checked before anything is written
    std::map<std::string, std::string> names = read_tags();
    for (const auto& t : tags) {
        std::string name = tag_name(t);
        if (auto it = names.find(name); it != names.end() && it->second != image.id) {
            if (auto previous = find(it->second)) {
                std::erase(previous->repo_tags, name);
                write_record(*previous);
            }
        }
        names[name] = image.id;
        add_unique(image.repo_tags, name);
    }
    write_record(image);
    write_tags(names);
}

// A lease is "IMAGE-ID\nPID STARTTIME\n": the image, and the hutch process making the container.
void ImageStore::lease(const std::string& container_id, const std::string& image_id) const {
    make_dirs(root_ + "/leases", 0700);
    write_file_atomic(root_ + "/leases/" + container_id, image_id + "\n" + process_identity(::getpid()) + "\n", 0600,
                      Durability::kRuntime);
}

std::string ImageStore::leased_by(const std::string& image_id, const std::string& containers_dir) const {
    std::string dir = root_ + "/leases";
    for (const auto& container : directory_names(dir)) {
        std::string path = dir + "/" + container;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        std::string text = read_file(path);
        std::size_t nl = text.find('\n');
        std::string leased = text.substr(0, nl);
        std::string maker = nl == std::string::npos ? "" : text.substr(nl + 1, text.find('\n', nl + 1) - nl - 1);
        // Live while the container's record exists, or while the process making it still runs
        // (it has not written the record yet).
        pid_t pid = static_cast<pid_t>(std::atol(maker.c_str()));
        bool live = exists(containers_dir + "/" + container) || (pid > 0 && process_identity(pid) == maker);
        if (!live) {
            ::unlink(path.c_str());  // its container is gone: the lease means nothing any more
            continue;
        }
        if (leased == image_id) return container;
    }
    return "";
}

std::vector<std::string> ImageStore::remove(const std::string& ref, bool force,
                                            const std::function<std::string(const std::string&)>& in_use) {
    ImageRecord image = get(ref);
    std::vector<std::string> lines;
    std::map<std::string, std::string> names = read_tags();
    std::string short_id = image.id.substr(7, 12);
    bool by_name = !is_digest(ref) && Reference::looks_like(ref) && names.count(normalize_tag(ref));
    // A name of an image that has others: only the name goes (docker rmi alpine:3 with alpine:latest).
    if (by_name && image.repo_tags.size() > 1) {
        std::string name = normalize_tag(ref);
        names.erase(name);
        std::erase(image.repo_tags, name);
        write_record(image);
        write_tags(names);
        return {"Untagged: " + name};
    }
    if (!by_name && image.repo_tags.size() > 1 && !force)
        throw UsageError("conflict: unable to delete " + short_id +
                         " (must be forced) - image is referenced in multiple repositories");
    if (std::string user = in_use(image.id); !user.empty())
        throw UsageError("conflict: unable to remove image " + ref + " - container " + user.substr(0, 12) +
                         " is using it (hutch refuses even with -f: its layers are the container's root)");
    for (const auto& t : image.repo_tags) {
        names.erase(t);
        lines.push_back("Untagged: " + t);
    }
    for (const auto& d : image.repo_digests) lines.push_back("Untagged: " + d);
    // The record first: a kill between the two leaves names of no image (which find() treats as
    // none), never an image listed under names that no longer lead to it.
    if (::unlink((root_ + "/images/" + digest_hex(image.id, "image id") + ".json").c_str()) != 0)
        throw SysError("remove the image", "unlink", image.id, errno);
    write_tags(names);
    lines.push_back("Deleted: " + image.id);
    collect_garbage();
    return lines;
}

// Removes every blob and layer no remaining image names (the exclusive lock is held).
void ImageStore::collect_garbage() const {
    std::set<std::string> blobs, layers;
    for (const auto& image : list()) {
        for (const auto& b : image.blobs) blobs.insert(digest_hex(b, "blob"));
        for (const auto& d : image.diff_ids) layers.insert(digest_hex(d, "layer"));
    }
    for (const auto& hex : directory_names(root_ + "/blobs/sha256"))
        if (!blobs.count(hex) && is_digest("sha256:" + hex)) blobs_.remove("sha256:" + hex);
    for (const auto& name : directory_names(root_ + "/layers")) {
        // A layer is its directory and its .size file; anything else (a killed unpack's temp
        // directory) is collected too.
        std::string hex = name.substr(0, name.find('.'));
        if (layers.count(hex) && (name == hex || name == hex + ".size")) continue;
        std::string path = root_ + "/layers/" + name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) continue;
        // Rootless, a layer's directories belong to the user's subordinate ids.
        if (S_ISDIR(st.st_mode)) rootless::remove_tree_as_owner(path);
        else ::unlink(path.c_str());
    }
}

}  // namespace hutch::image
