// Image references as Docker reads them: [DOMAIN/]PATH[:TAG][@DIGEST].
//
// "alpine" is docker.io/library/alpine:latest; a first component with a '.' or ':' or that is
// "localhost" is a registry domain (127.0.0.1:5000/app). Path components are lowercase
// [a-z0-9] runs joined by '.', '_', '__' or '-'s; a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
// Anything else is a UsageError naming the text: a reference ends up in paths, URLs and JSON.
#pragma once

#include <string>
#include <string_view>

namespace hutch::image {

struct Reference {
    std::string domain;  // "docker.io", "127.0.0.1:5000"
    std::string path;    // "library/alpine"
    std::string tag;     // "latest" when neither tag nor digest was given
    std::string digest;  // "sha256:..." or empty

    static Reference parse(std::string_view text);
    // Can `text` be read as a reference at all (for `hutch run X`: image or directory)?
    static bool looks_like(std::string_view text);

    // "docker.io/library/alpine:latest"
    std::string full() const;
    // Docker's short form, as `docker images` shows it: "alpine", "127.0.0.1:5000/app".
    std::string repository() const;
    // repository() + ":" + tag, or + "@" + digest when there is no tag.
    std::string familiar() const;
};

}  // namespace hutch::image
