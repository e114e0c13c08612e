// One owner for a libarchive handle (reader or writer), and the error text libarchive gives.
#pragma once

#include <archive.h>

#include <memory>
#include <string>

namespace hutch::image {

struct ArchiveReadFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
    void operator()(archive* a) const { archive_write_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;

inline std::string archive_error(archive* a) {
    const char* text = archive_error_string(a);
    return text ? text : "unknown libarchive error";
}

}  // namespace hutch::image
