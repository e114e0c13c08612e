// pull_image: the Registry HTTP API v2 walk Docker's pull makes, in this order:
//   1. GET /v2/<name>/manifests/<tag|digest> with the four manifest types in Accept; a 401 with a
//      Bearer challenge fetches an anonymous token and retries (registry_auth);
//   2. an index / manifest list is resolved to the platform (registry_manifest) and that
//      manifest fetched by digest;
//   3. every manifest fetched by digest is checked against it; the platform manifest's own digest
//      (sha256 of its exact bytes) is what RepoDigests records;
//   4. the config and each layer not yet in the store: GET /v2/<name>/blobs/<digest>, following
//      redirects to storage, streamed into a BlobStore::Writer that verifies the digest at
//      commit, the transfer bounded by the descriptor's size.
// Nothing here builds a path: digests reach the store only through BlobStore, after is_digest().
#include "runtime/image/registry.hpp"

#include <nlohmann/json.hpp>

#include "runtime/error.hpp"
#include "runtime/image/digest.hpp"
#include "runtime/image/http.hpp"
#include "runtime/image/registry_auth.hpp"
#include "runtime/image/registry_manifest.hpp"
#include "runtime/image/registry_transport.hpp"

namespace hutch::image {
namespace {

constexpr std::size_t kMaxManifest = 4 << 20;  // Docker's distribution client reads at most 4 MiB
constexpr std::uint64_t kMaxConfig = 8 << 20;
constexpr std::size_t kMaxErrorBody = 64 << 10;

using registry::Descriptor;
using registry::Manifest;

// The registry error JSON's first message ({"errors":[{"code":..,"message":..}]}), short.
std::string registry_message(const std::string& body) {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() || doc["errors"].empty()) return "";
    const auto& e = doc["errors"][0];
    std::string out;
    if (e.is_object() && e.contains("code") && e["code"].is_string()) out = e["code"].get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) out += ": " + e["message"].get<std::string>();
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 32) c = ' ';
    return out.substr(0, 200);
}

// One pull's conversation with one registry: its base URL and the token once it has one.
class Session {
public:
    Session(const Reference& ref, const RegistryOptions& options)
        : ref_(ref),
          base_(registry::scheme_for(ref.domain, options.insecure_registries) + "://" + registry::api_host(ref.domain) +
                "/v2/" + ref.path),
          limits_{options.connect_timeout_seconds, options.stall_timeout_seconds},
          what_("pull " + ref.familiar()) {}

    const std::string& what() const { return what_; }

    // GET base/<tail>, with a token fetched (or renewed once) when the registry asks for one.
    http::Response get(const std::string& tail, std::vector<std::string> headers, std::size_t limit, bool follow,
                       const std::function<void(const char*, std::size_t)>& sink) {
        bool renewed = false;
        for (;;) {
            http::Request request{base_ + "/" + tail, headers, limit, follow, sink};
            if (!token_.empty()) request.headers.push_back("Authorization: Bearer " + token_);
            http::Response r = http::get(request, limits_, what_ + ": " + ref_.domain);
            if (r.status != 401) return r;
            auto challenge = registry::parse_challenge(r.header("www-authenticate"));
            if (renewed || challenge.scheme != "bearer") throw unauthorized(r);
            token_ = registry::fetch_token(challenge, "repository:" + ref_.path + ":pull", limits_, what_ + ": " + ref_.domain);
            renewed = true;
        }
    }

    // A non-2xx answer as one line naming the registry, the object and the registry's own words.
    Error failure(const http::Response& r, const std::string& object) const {
        std::string message = registry_message(r.body);
        return Error(what_ + ": " + ref_.domain + ": " + object + ": HTTP " + std::to_string(r.status) +
                     (message.empty() ? "" : " (" + message + ")"));
    }

private:
    Error unauthorized(const http::Response& r) const {
        std::string message = registry_message(r.body);
        return Error(what_ + ": " + ref_.domain + ": unauthorized" + (message.empty() ? "" : " (" + message + ")") +
                     ": pull access denied (hutch pull sends no credentials; it supports anonymous tokens only)");
    }

    const Reference& ref_;
    std::string base_;
    http::Limits limits_;
    std::string what_;
    std::string token_;
};

struct FetchedManifest {
    std::string bytes, content_type;
};

FetchedManifest fetch_manifest(Session& session, const std::string& tag_or_digest, const std::string& expected_digest) {
    http::Response r = session.get("manifests/" + tag_or_digest, {registry::manifest_accept_header()}, kMaxManifest, false, {});
    if (r.status != 200) throw session.failure(r, "manifest " + tag_or_digest);
    if (!expected_digest.empty() && digest_of(r.body) != expected_digest)
        throw Error(session.what() + ": manifest digest mismatch: expected " + expected_digest + ", got " + digest_of(r.body));
    return {std::move(r.body), r.header("content-type")};
}

// Streams one blob into the store; the Writer removes its temp file on any failure.
void fetch_blob(Session& session, const BlobStore& blobs, const Descriptor& blob) {
    BlobStore::Writer writer = blobs.writer();
    auto sink = [&writer](const char* data, std::size_t size) { writer.write(data, size); };
    // The limit is the descriptor's size: a registry sending more is refused mid-transfer.
    std::size_t limit = blob.size > kMaxErrorBody ? blob.size : kMaxErrorBody;
    http::Response r = session.get("blobs/" + blob.digest, {}, limit, true, sink);
    if (r.status != 200) throw session.failure(r, "blob " + blob.digest);
    if (writer.size() != blob.size)
        throw Error(session.what() + ": blob " + blob.digest + " is " + std::to_string(writer.size()) + " bytes, the manifest says " +
                    std::to_string(blob.size));
    try {
        writer.commit(blob.digest);
    } catch (const Error& e) {
        throw Error(session.what() + ": " + e.what());  // the pull and the registry, named
    }
}

std::string short_id(const std::string& digest) { return digest.substr(7, 12); }

}  // namespace

PulledImage pull_image(const Reference& ref, const BlobStore& blobs, const RegistryOptions& options,
                       const std::function<void(const std::string&)>& progress) {
    Session session(ref, options);
    auto say = [&](const std::string& line) { if (progress) progress(line); };
    say((ref.tag.empty() ? ref.digest : ref.tag) + ": Pulling from " + ref.path);

    FetchedManifest fetched = fetch_manifest(session, ref.digest.empty() ? ref.tag : ref.digest, ref.digest);
    Manifest manifest = registry::parse_manifest(fetched.bytes, fetched.content_type, session.what());
    if (manifest.is_index) {
        registry::Platform want = options.architecture.empty() ? registry::host_platform(options.os)
                                                               : registry::Platform{options.os, options.architecture, ""};
        const Descriptor& entry = registry::select_platform(manifest, want, session.what());
        fetched = fetch_manifest(session, entry.digest, entry.digest);
        manifest = registry::parse_manifest(fetched.bytes, fetched.content_type, session.what());
        if (manifest.is_index) throw Error(session.what() + ": the index entry for " + want.text() + " is another index");
    }
    if (manifest.config.size > kMaxConfig)
        throw Error(session.what() + ": the image config is " + std::to_string(manifest.config.size) + " bytes, more than " +
                    std::to_string(kMaxConfig));

    PulledImage out;
    out.manifest = std::move(fetched.bytes);
    out.manifest_digest = digest_of(out.manifest);
    out.config_digest = manifest.config.digest;
    if (!blobs.has(manifest.config.digest)) fetch_blob(session, blobs, manifest.config);
    for (const auto& layer : manifest.layers) {
        out.layer_digests.push_back(layer.digest);
        out.layer_media_types.push_back(layer.media_type);
        if (blobs.has(layer.digest)) {
            say(short_id(layer.digest) + ": Already exists");
            continue;
        }
        say(short_id(layer.digest) + ": Pulling fs layer");
        fetch_blob(session, blobs, layer);
        say(short_id(layer.digest) + ": Download complete");
    }
    // The manifest last: its presence says every blob it names is in the store.
    blobs.put(out.manifest, out.manifest_digest);
    say("Digest: " + out.manifest_digest);
    return out;
}

}  // namespace hutch::image
