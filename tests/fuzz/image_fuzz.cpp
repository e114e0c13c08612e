// What an image or a registry hands hutch before anything is stored: references (the names in
// RepoTags, annotations and on the command line) and manifests or indexes (registry answers,
// an OCI layout's index.json). The input is a reference text, a NUL, then a manifest document;
// a lone text is tried as both.
//
// Invariants: a reference that parses is lowercase where Docker requires it, holds no byte that
// could break a path or a URL, and re-parses from each of its printed forms to the same value;
// a manifest that parses names only digests that pass is_digest (they become file names) and
// only layer media types hutch unpacks; an index's platform choice is one of its entries.
#include "runtime/error.hpp"
#include "runtime/image/digest.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/image/registry_manifest.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using hutch::image::Reference;
namespace registry = hutch::image::registry;

bool same(const Reference& a, const Reference& b) {
    return a.domain == b.domain && a.path == b.path && a.tag == b.tag && a.digest == b.digest;
}

void check_reference(const std::string& text) {
    Reference r;
    try {
        r = Reference::parse(text);
    } catch (const hutch::UsageError&) {
        FUZZ_CHECK(!Reference::looks_like(text), "looks_like accepts what parse refuses: " + text);
        return;
    }
    FUZZ_CHECK(Reference::looks_like(text), "looks_like refuses what parse accepts: " + r.full());
    for (char c : r.full())
        FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '\\' && c != '?' && c != '#' && c != '%', "a byte no name may hold: " + r.full());
    FUZZ_CHECK(r.path.find("..") == std::string::npos && r.path.find("//") == std::string::npos, "a path that climbs: " + r.full());
    FUZZ_CHECK(r.digest.empty() || hutch::image::is_digest(r.digest), "a digest that is not one: " + r.full());
    for (const std::string& form : {r.full(), r.familiar()}) {
        Reference again = Reference::parse(form);
        FUZZ_CHECK(same(again, r), "does not re-parse to itself from " + form);
    }
}

void check_descriptor(const registry::Descriptor& d) {
    FUZZ_CHECK(hutch::image::is_digest(d.digest), "a descriptor digest that is not one: " + d.digest);
}

void check_manifest(const std::string& text) {
    for (const char* content_type : {"", "application/vnd.oci.image.index.v1+json",
                                     "application/vnd.docker.distribution.manifest.v2+json"}) {
        registry::Manifest m;
        try {
            m = registry::parse_manifest(text, content_type, "fuzz");
        } catch (const hutch::Error&) {
            continue;
        }
        if (m.is_index) {
            for (const auto& e : m.manifests) check_descriptor(e);
            try {
                const registry::Descriptor& chosen = registry::select_platform(m, {"linux", "amd64", ""}, "fuzz");
                check_descriptor(chosen);
                FUZZ_CHECK(chosen.os == "linux" && chosen.architecture == "amd64", "chose another platform: " + chosen.os);
            } catch (const hutch::Error&) {
                // No linux/amd64 entry: refusing is the right answer.
            }
            continue;
        }
        check_descriptor(m.config);
        for (const auto& l : m.layers) {
            check_descriptor(l);
            FUZZ_CHECK(registry::known_layer_type(l.media_type), "a layer type hutch does not unpack: " + l.media_type);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 65536) return -1;  // manifests are bounded far below this where hutch reads them
    auto parts = hutch::fuzz::split_nul(data, size);
    std::string whole = hutch::fuzz::as_string(data, size);
    check_reference(parts.empty() ? whole : parts[0]);
    check_manifest(parts.size() > 1 ? parts[1] : whole);
    return 0;
}
