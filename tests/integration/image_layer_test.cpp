// Unpacking image layers (runtime/image/layer.hpp), as root: owners, setuid bits, 0/0 whiteout
// devices and trusted.overlay.* xattrs need it. The tars are built here with libarchive's writer
// (plain, gzip, zstd); hostile ones must be refused with the layer and the entry named and
// nothing left behind; an overlay mounted over an unpacked layer (in a private mount namespace of
// a forked child) shows the whiteouts work for the kernel, not just on disk.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <vector>

#include "harness.hpp"
#include "runtime/error.hpp"
#include "runtime/image/digest.hpp"
#include "runtime/image/layer.hpp"

namespace hutch_it {
namespace {

using hutch::image::digest_of;
using hutch::image::unpack_layer;

struct Entry {
    std::string name;
    mode_t type = AE_IFREG;
    unsigned mode = 0644;
    std::string data;  // content, symlink target, or hard link target
    unsigned uid = 0, gid = 0;
    long mtime = 1'000'000'000;
    bool hardlink = false;
    std::map<std::string, std::string> xattrs;
};

la_ssize_t append_to_string(archive*, void* client, const void* buffer, size_t size) {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), size);
    return static_cast<la_ssize_t>(size);
}

std::string make_tar(const std::vector<Entry>& entries) {
    std::string out;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open(a, &out, nullptr, append_to_string, nullptr);
    for (const Entry& e : entries) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.name.c_str());
        archive_entry_set_filetype(entry, e.type);
        archive_entry_set_perm(entry, e.mode);
        archive_entry_set_uid(entry, e.uid);
        archive_entry_set_gid(entry, e.gid);
        archive_entry_set_mtime(entry, e.mtime, 0);
        if (e.hardlink) archive_entry_set_hardlink(entry, e.data.c_str());
        else if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.data.c_str());
        else if (e.type == AE_IFCHR) archive_entry_set_rdev(entry, ::makedev(1, 3));
        bool content = e.type == AE_IFREG && !e.hardlink;
        archive_entry_set_size(entry, content ? static_cast<la_int64_t>(e.data.size()) : 0);
        for (const auto& [name, value] : e.xattrs) archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
        EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
        if (content) archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

// `tar` compressed by `filter` (ARCHIVE_FILTER_GZIP, _ZSTD); "" when this libarchive has no
// built-in compressor for it (ARCHIVE_WARN: it would run an external program).
std::string compress(const std::string& tar, int filter) {
    std::string out;
    archive* a = archive_write_new();
    archive_write_set_format_raw(a);
    archive_write_set_bytes_in_last_block(a, 1);  // no zero padding after the compressed stream
    if (archive_write_add_filter(a, filter) != ARCHIVE_OK) {
        archive_write_free(a);
        return "";
    }
    archive_write_open(a, &out, nullptr, append_to_string, nullptr);
    archive_entry* entry = archive_entry_new();
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_write_header(a, entry);
    archive_write_data(a, tar.data(), tar.size());
    archive_entry_free(entry);
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

class ImageLayer : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (owners, 0/0 whiteout devices, trusted.* xattrs)";
    }
    // Writes `blob` and unpacks it into <tmp>/layer.
    hutch::image::UnpackedLayer unpack(const std::string& blob) {
        write_file(tmp_ / "blob", blob);
        return unpack_layer(tmp_ / "blob", layer(), "test-layer");
    }
    // The message of the Error `blob` must raise; nothing may be left beside the blob.
    std::string refused(const std::string& blob) {
        std::string message;
        try {
            unpack(blob);
            ADD_FAILURE() << "unpacked a hostile layer";
        } catch (const hutch::Error& e) {
            message = e.what();
        }
        EXPECT_EQ(names_in(tmp_.path()), std::vector<std::string>{"blob"}) << "left behind after: " << message;
        EXPECT_NE(message.find("test-layer"), std::string::npos) << message;
        return message;
    }
    std::string layer() const { return tmp_ / "layer"; }
    TempDir tmp_;
};

const std::vector<Entry>& sample() {
    static const std::vector<Entry> entries = {
        {.name = "./", .type = AE_IFDIR, .mode = 0755},
        {.name = "bin/", .type = AE_IFDIR, .mode = 0755},
        {.name = "bin/tool", .mode = 04755, .data = "tool", .uid = 1000, .gid = 1001},
        {.name = "bin/tool2", .data = "bin/tool", .hardlink = true},
        {.name = "./etc/conf", .mode = 0640, .data = "conf", .gid = 42, .mtime = 1'100'000'000},
        {.name = "etc/.wh.gone"},
        {.name = "opq/.wh..wh..opq"},
        {.name = "opq/new", .data = "new"},
        {.name = "var/empty/", .type = AE_IFDIR, .mode = 0711, .uid = 7, .gid = 7, .mtime = 1'234'567'890},
        {.name = "abs", .type = AE_IFLNK, .mode = 0777, .data = "/etc/passwd"},
        {.name = "dev/null", .type = AE_IFCHR, .mode = 0666},
        {.name = "fifo", .type = AE_IFIFO},
        {.name = "deep/a/b/file", .data = "deep"},
        {.name = "dup", .data = "first"},
        {.name = "dup", .mode = 0600, .data = "second"},
        {.name = "x", .data = "x", .xattrs = {{"user.kept", "yes"}, {"trusted.overlay.opaque", "y"}}},
        {.name = "a/../b", .data = "b"},
    };
    return entries;
}

void expect_sample(const std::string& root) {
    struct stat st {};
    ASSERT_EQ(::lstat((root + "/bin/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode, S_IFREG | 04755u);  // setuid kept: chmod after chown
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1'000'000'000);
    EXPECT_EQ(read_file(root + "/bin/tool"), "tool");
    struct stat link {};
    ASSERT_EQ(::lstat((root + "/bin/tool2").c_str(), &link), 0);
    EXPECT_EQ(link.st_ino, st.st_ino);
    ASSERT_EQ(::lstat((root + "/etc/conf").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_gid, 42u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1'100'000'000);
    ASSERT_EQ(::lstat((root + "/etc/gone").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, ::makedev(0, 0));
    EXPECT_FALSE(path_exists(root + "/etc/.wh.gone"));
    char value[8] = {};
    EXPECT_EQ(::lgetxattr((root + "/opq").c_str(), "trusted.overlay.opaque", value, sizeof value), 1);
    EXPECT_EQ(std::string(value), "y");
    EXPECT_FALSE(path_exists(root + "/opq/.wh..wh..opq"));
    ASSERT_EQ(::lstat((root + "/var/empty").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode, S_IFDIR | 0711u);
    EXPECT_EQ(st.st_uid, 7u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1'234'567'890);
    ASSERT_EQ(::lstat((root + "/var").c_str(), &st), 0);  // made because a child needed it
    EXPECT_EQ(st.st_mode, S_IFDIR | 0755u);
    char target[64] = {};
    EXPECT_EQ(::readlink((root + "/abs").c_str(), target, sizeof target - 1), 11);
    EXPECT_EQ(std::string(target), "/etc/passwd");
    EXPECT_FALSE(path_exists(root + "/dev/null"));
    EXPECT_FALSE(path_exists(root + "/fifo"));
    EXPECT_EQ(read_file(root + "/deep/a/b/file"), "deep");
    EXPECT_EQ(read_file(root + "/dup"), "second");
    ASSERT_EQ(::lstat((root + "/dup").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(::lgetxattr((root + "/x").c_str(), "user.kept", value, sizeof value), 3);
    EXPECT_LT(::lgetxattr((root + "/x").c_str(), "trusted.overlay.opaque", value, sizeof value), 0);
    EXPECT_EQ(read_file(root + "/b"), "b");
    EXPECT_FALSE(path_exists(root + "/a"));
}

TEST_F(ImageLayer, PlainGzipAndZstdUnpackTheSameWithTheDiffIdOfTheTar) {
    std::string tar = make_tar(sample());
    std::uint64_t content = 0;
    for (const Entry& e : sample())
        if (e.type == AE_IFREG && !e.hardlink && !e.name.starts_with("etc/.wh.") && !e.name.starts_with("opq/.wh."))
            content += e.data.size();
    std::vector<std::pair<std::string, int>> kinds = {{"plain", ARCHIVE_FILTER_NONE}, {"gzip", ARCHIVE_FILTER_GZIP},
                                                      {"zstd", ARCHIVE_FILTER_ZSTD}};
    std::string missing;
    for (const auto& [kind, filter] : kinds) {
        SCOPED_TRACE(kind);
        std::string blob = filter == ARCHIVE_FILTER_NONE ? tar : compress(tar, filter);
        if (blob.empty()) {
            missing += " " + kind;
            continue;
        }
        auto unpacked = unpack(blob);
        EXPECT_EQ(unpacked.diff_id, digest_of(tar));
        EXPECT_EQ(unpacked.size, content);
        expect_sample(layer());
        std::filesystem::remove_all(layer());
        EXPECT_EQ(names_in(tmp_.path()), std::vector<std::string>{"blob"});
    }
    if (!missing.empty()) GTEST_SKIP() << "this libarchive has no built-in compressor for:" << missing;
}

// The tar's trailing zero blocks and padding count: an uncompressed layer's diff id is
// sha256sum of the file itself.
TEST_F(ImageLayer, DiffIdOfAPlainTarIsTheFilesDigest) {
    std::string tar = make_tar({{.name = "f", .data = "f"}}) + std::string(20480, '\0');
    EXPECT_EQ(unpack(tar).diff_id, digest_of(tar));
}

TEST_F(ImageLayer, ExistingDirectoryIsRefused) {
    ASSERT_EQ(::mkdir(layer().c_str(), 0755), 0);
    write_file(tmp_ / "blob", make_tar({{.name = "f", .data = "f"}}));
    EXPECT_THROW(unpack_layer(tmp_ / "blob", layer(), "test-layer"), hutch::Error);
    EXPECT_TRUE(names_in(layer()).empty());
    std::vector<std::string> left = names_in(tmp_.path());
    EXPECT_EQ(left.size(), 2u);  // blob and layer: no temp dir
}

TEST_F(ImageLayer, NamesOutsideTheLayerAreRefused) {
    for (std::string name : {"../escape", "/abs/path", "a/../../x"}) {
        std::string message = refused(make_tar({{.name = "ok", .data = "ok"}, {.name = name, .data = "evil"}}));
        EXPECT_NE(message.find("\"" + name + "\""), std::string::npos) << message;
    }
    EXPECT_FALSE(path_exists(tmp_ / "escape"));
    EXPECT_FALSE(path_exists("/abs/path"));
}

TEST_F(ImageLayer, NothingIsWrittenThroughASymlink) {
    std::string before = read_file("/etc/passwd");
    struct stat st_before {};
    ASSERT_EQ(::stat("/etc/passwd", &st_before), 0);
    std::string message = refused(make_tar({{.name = "link", .type = AE_IFLNK, .data = "/"},
                                            {.name = "link/etc/passwd", .data = "root::0:0::/:/bin/sh\n"}}));
    EXPECT_NE(message.find("\"link/etc/passwd\""), std::string::npos) << message;
    struct stat st_after {};
    ASSERT_EQ(::stat("/etc/passwd", &st_after), 0);
    EXPECT_EQ(read_file("/etc/passwd"), before);
    EXPECT_EQ(st_after.st_mtim.tv_sec, st_before.st_mtim.tv_sec);
    EXPECT_EQ(st_after.st_mtim.tv_nsec, st_before.st_mtim.tv_nsec);
}

TEST_F(ImageLayer, HardLinksOutsideTheLayerAreRefused) {
    std::string message = refused(make_tar({{.name = "h", .data = "../../etc/passwd", .hardlink = true}}));
    EXPECT_NE(message.find("\"h\""), std::string::npos) << message;
    message = refused(make_tar({{.name = "link", .type = AE_IFLNK, .data = "/etc"},
                                {.name = "h", .data = "link/passwd", .hardlink = true}}));
    EXPECT_NE(message.find("\"h\""), std::string::npos) << message;
}

TEST_F(ImageLayer, TruncatedAndNonTarBlobsAreRefused) {
    std::string noise;
    for (unsigned i = 0, x = 12345; i < 200000; ++i) noise += static_cast<char>((x = x * 1103515245 + 12345) >> 16);
    std::string gz = compress(make_tar({{.name = "noise", .data = noise}}), ARCHIVE_FILTER_GZIP);
    refused(gz.substr(0, gz.size() / 2));
    refused(gz.substr(0, gz.size() - 4));  // only the gzip trailer cut: the tar itself is whole
    std::string text;
    for (int i = 0; i < 100; ++i) text += "this is not a tar archive at all\n";
    refused(text);
}

// The unpacked layer, as the upper of two read-only lowers of an overlay: the whiteout hides
// the lower file, the opaque directory the lower directory's content.
TEST_F(ImageLayer, OverlayReadsTheWhiteouts) {
    ASSERT_EQ(::mkdir((tmp_ / "lower").c_str(), 0755), 0);
    for (const char* dir : {"lower/etc", "lower/opq", "merged"}) ASSERT_EQ(::mkdir((tmp_ / dir).c_str(), 0755), 0);
    write_file(tmp_ / "lower/etc/gone", "gone");
    write_file(tmp_ / "lower/etc/kept", "kept");
    write_file(tmp_ / "lower/opq/old", "old");
    unpack(make_tar({{.name = "etc/.wh.gone"}, {.name = "opq/.wh..wh..opq"}, {.name = "opq/new", .data = "new"}}));
    std::string options = "lowerdir=" + layer() + ":" + (tmp_ / "lower");
    std::string merged = tmp_ / "merged";
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // A private mount namespace of the child's own: nothing it mounts reaches the host.
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(100);
        if (::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, options.c_str()) != 0) ::_exit(101);
        int bad = 0;
        struct stat st {};
        if (::lstat((merged + "/etc/gone").c_str(), &st) == 0 || errno != ENOENT) bad |= 1;
        if (::lstat((merged + "/etc/kept").c_str(), &st) != 0) bad |= 2;
        if (::lstat((merged + "/opq/old").c_str(), &st) == 0 || errno != ENOENT) bad |= 4;
        if (::lstat((merged + "/opq/new").c_str(), &st) != 0) bad |= 8;
        ::_exit(bad);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    int code = WEXITSTATUS(status);
    if (code == 101) GTEST_SKIP() << "no overlayfs with multiple lowers here";
    ASSERT_NE(code, 100) << "unshare(CLONE_NEWNS) or MS_PRIVATE failed";
    EXPECT_EQ(code & 1, 0) << "the whited-out file shows through";
    EXPECT_EQ(code & 2, 0) << "a lower file that was not whited out is missing";
    EXPECT_EQ(code & 4, 0) << "the opaque directory shows the lower content";
    EXPECT_EQ(code & 8, 0) << "the upper file of the opaque directory is missing";
    EXPECT_EQ(read_file(merged + "/etc/kept"), "");  // the host never saw the mount
}

}  // namespace
}  // namespace hutch_it
