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

// Registers the decompressors hutch accepts on a reader: gzip, zstd, xz and bzip2, each built
// into libarchive. Never archive_read_support_filter_all: "all" includes lrzip, lzop and grzip,
// which libarchive runs as external programs on the (hostile) bytes. False when one is missing
// or would need an external program (ARCHIVE_WARN).
inline bool support_in_process_filters(archive* a) {
    for (auto add : {archive_read_support_filter_gzip, archive_read_support_filter_zstd,
                     archive_read_support_filter_xz, archive_read_support_filter_bzip2})
        if (add(a) != ARCHIVE_OK) return false;
    return true;
}

inline std::string archive_error(archive* a) {
    const char* text = archive_error_string(a);
    return text ? text : "unknown libarchive error";
}

}  // namespace hutch::image
