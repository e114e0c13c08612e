#include "runtime/image/registry_manifest.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/image/digest.hpp"

namespace hutch::image::registry {
namespace {

using nlohmann::json;

std::string string_field(const json& j, const char* key) {
    if (!j.contains(key)) return "";
    if (!j[key].is_string()) throw json::type_error::create(302, std::string("\"") + key + "\" is not a string", &j);
    return j[key].get<std::string>();
}

Descriptor descriptor(const json& j, const std::string& what) {
    if (!j.is_object()) throw Error(what + ": a descriptor is not a JSON object");
    Descriptor d;
    d.media_type = string_field(j, "mediaType");
    d.digest = string_field(j, "digest");
    if (!is_digest(d.digest)) throw Error(what + ": unsupported or invalid digest \"" + d.digest.substr(0, 80) + "\"");
    if (!j.contains("size") || !j["size"].is_number_unsigned()) throw Error(what + ": descriptor " + d.digest + " has no size");
    d.size = j["size"].get<std::uint64_t>();
    if (j.contains("platform") && j["platform"].is_object()) {
        d.os = string_field(j["platform"], "os");
        d.architecture = string_field(j["platform"], "architecture");
        d.variant = string_field(j["platform"], "variant");
    }
    return d;
}

// The JSON's mediaType, else the Content-Type's (without parameters), else the shape's.
std::string media_type_of(const json& doc, std::string_view content_type) {
    std::string own = string_field(doc, "mediaType");
    if (!own.empty()) return own;
    std::string header(content_type.substr(0, content_type.find(';')));
    while (!header.empty() && header.back() == ' ') header.pop_back();
    if (header == kDockerManifest || header == kDockerList || header == kOciManifest || header == kOciIndex) return header;
    if (doc.contains("manifests")) return std::string(kOciIndex);
    if (doc.contains("layers")) return std::string(kOciManifest);
    return header.empty() ? "(none)" : header;
}

Manifest parse_document(const json& doc, std::string_view content_type, const std::string& what) {
    if (!doc.is_object()) throw Error(what + ": the manifest is not a JSON object");
    Manifest m;
    m.media_type = media_type_of(doc, content_type);
    if (doc.contains("schemaVersion") && doc["schemaVersion"] == 1)
        throw Error(what + ": schema 1 manifests are not supported (Docker deprecated them; push the image again)");
    if (m.media_type == kDockerList || m.media_type == kOciIndex) {
        m.is_index = true;
        if (!doc.contains("manifests") || !doc["manifests"].is_array()) throw Error(what + ": the index has no manifests");
        for (const auto& entry : doc["manifests"]) m.manifests.push_back(descriptor(entry, what));
        return m;
    }
    if (m.media_type != kDockerManifest && m.media_type != kOciManifest)
        throw Error(what + ": unsupported manifest media type \"" + m.media_type.substr(0, 200) + "\"");
    if (!doc.contains("config") || !doc.contains("layers") || !doc["layers"].is_array())
        throw Error(what + ": the manifest has no config or layers");
    m.config = descriptor(doc["config"], what);
    if (m.config.media_type != "application/vnd.docker.container.image.v1+json" &&
        m.config.media_type != "application/vnd.oci.image.config.v1+json")
        throw Error(what + ": unsupported config media type \"" + m.config.media_type.substr(0, 200) + "\"");
    for (const auto& entry : doc["layers"]) {
        Descriptor layer = descriptor(entry, what);
        if (!known_layer_type(layer.media_type))
            throw Error(what + ": unsupported layer media type \"" + layer.media_type.substr(0, 200) + "\" (layer " + layer.digest + ")");
        m.layers.push_back(std::move(layer));
    }
    return m;
}

}  // namespace

std::string manifest_accept_header() {
    return "Accept: " + std::string(kDockerManifest) + ", " + std::string(kDockerList) + ", " + std::string(kOciManifest) +
           ", " + std::string(kOciIndex);
}

bool known_layer_type(std::string_view t) {
    return t == "application/vnd.oci.image.layer.v1.tar" || t == "application/vnd.oci.image.layer.v1.tar+gzip" ||
           t == "application/vnd.oci.image.layer.v1.tar+zstd" || t == "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

Manifest parse_manifest(std::string_view bytes, std::string_view content_type, const std::string& what) {
    json doc = json::parse(bytes, nullptr, false);
    if (doc.is_discarded()) throw Error(what + ": the manifest is not valid JSON");
    try {
        return parse_document(doc, content_type, what);
    } catch (const json::exception& e) {
        throw Error(what + ": malformed manifest: " + e.what());
    }
}

std::string Platform::text() const {
    return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Platform platform_of_machine(const std::string& os, std::string_view machine) {
    Platform p{os, std::string(machine), ""};
    if (machine == "x86_64") p.architecture = "amd64";
    else if (machine == "aarch64" || machine == "arm64") p.architecture = "arm64";
    else if (machine == "i386" || machine == "i686") p.architecture = "386";
    else if (machine.rfind("armv", 0) == 0 && machine.size() >= 5) p = {os, "arm", "v" + std::string(1, machine[4])};
    else if (machine == "ppc64le" || machine == "s390x" || machine == "riscv64") p.architecture = machine;
    return p;
}

Platform host_platform(const std::string& os) {
    struct utsname u{};
    if (::uname(&u) != 0) throw SysError("host platform", "uname", "", errno);
    return platform_of_machine(os, u.machine);
}

namespace {

// arm64's default variant is v8, which indexes may or may not spell out.
std::string normal_variant(const std::string& architecture, const std::string& variant) {
    return architecture == "arm64" && variant.empty() ? "v8" : variant;
}

// A hostile index's platform strings go into an error line: short and printable.
std::string printable(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 40)) out += (c > 32 && c < 127) ? c : '?';
    return out;
}

}  // namespace

const Descriptor& select_platform(const Manifest& index, const Platform& want, const std::string& what) {
    std::string want_variant = normal_variant(want.architecture, want.variant);
    const Descriptor* best = nullptr;
    std::string offered;
    std::size_t listed = 0;
    for (const auto& d : index.manifests) {
        if (listed++ < 16) offered += (offered.empty() ? "" : ", ") + printable(Platform{d.os, d.architecture, d.variant}.text());
        if (d.os != want.os || d.architecture != want.architecture) continue;
        std::string variant = normal_variant(d.architecture, d.variant);
        // A variant asked for must match; without one, an entry without a variant is preferred.
        if (!want_variant.empty() && variant != want_variant) continue;
        if (!best || (variant == want_variant && normal_variant(best->architecture, best->variant) != want_variant)) best = &d;
    }
    if (listed > 16) offered += ", ...";
    if (!best)
        throw Error(what + ": no matching manifest for " + want.text() + " in the manifest list entries (it offers " +
                    (offered.empty() ? "none" : offered) + ")");
    return *best;
}

}  // namespace hutch::image::registry
