// pull_image against a real registry: Debian's docker-registry (the distribution registry) on
// 127.0.0.1 with its own storage dir, filled by skopeo from an OCI layout this test writes byte by
// byte (two gzip'd layers, a config with diff_ids, a multi-arch index and an arm64-only one).
// A python front (helpers/registry_front.py) adds what the registry alone does not: bearer token
// auth, a registry that denies, wrong bytes, an unknown media type, redirects to another origin.
// Every process is started here, listens on 127.0.0.1 only and is killed by its pid.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "harness.hpp"
#include "image_archives.hpp"
#include "runtime/error.hpp"
#include "runtime/image/blob_store.hpp"
#include "runtime/image/digest.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/image/registry.hpp"

using namespace hutch_it;
using hutch::image::BlobStore;
using hutch::image::digest_of;
using hutch::image::PulledImage;
using hutch::image::Reference;
using hutch::image::RegistryOptions;
using nlohmann::json;

namespace {

constexpr const char* kRegistry = "/usr/bin/docker-registry";

std::string missing_tools() {
    for (const char* tool : {kRegistry, "/usr/bin/skopeo", "/usr/bin/python3", "/usr/bin/gzip"})
        if (::access(tool, X_OK) != 0) return std::string(tool) + " is not installed (scripts/setup installs it)";
    return "";
}

// A port nothing listens on right now (bound, read, closed).
int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

bool port_open(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
}

// One regular file as a ustar archive (header, content padded to 512, two zero blocks).
std::string tar_of(const std::string& name, const std::string& content) {
    std::string h(512, '\0');
    auto put = [&h](std::size_t at, const std::string& v) { h.replace(at, v.size(), v); };
    auto octal = [](unsigned long v, int width) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%0*lo", width - 1, v);
        return std::string(buf);
    };
    put(0, name);
    put(100, octal(0644, 8));
    put(108, octal(0, 8));
    put(116, octal(0, 8));
    put(124, octal(content.size(), 12));
    put(136, octal(1700000000, 12));
    put(148, std::string(8, ' '));
    h[156] = '0';
    put(257, std::string("ustar\0" "00", 8));
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    put(148, octal(sum, 7));
    std::string body = content + std::string((512 - content.size() % 512) % 512, '\0');
    return h + body + std::string(1024, '\0');
}

std::string gzip(const TempDir& dir, const std::string& data) {
    write_file(dir / "gz.in", data);
    Result r = run_command({"/usr/bin/gzip", "-n", "-f", dir / "gz.in"});
    EXPECT_EQ(r.code, 0) << describe(r);
    std::string out = read_file(dir / "gz.in.gz");
    ::unlink((dir / "gz.in.gz").c_str());
    return out;
}

json descriptor(const std::string& type, const std::string& bytes) {
    return {{"mediaType", type}, {"digest", digest_of(bytes)}, {"size", bytes.size()}};
}

// An OCI image layout at `dir`, written here: tags v1 (amd64), multi (amd64 + arm64 index) and
// armonly (an index with arm64 alone).
struct Layout {
    std::string dir;
    std::vector<std::string> layers;  // gzip'd bytes
    std::string config_amd64, config_arm64, manifest_amd64, manifest_arm64;

    void blob(const std::string& bytes) const { write_file(dir + "/blobs/sha256/" + digest_of(bytes).substr(7), bytes); }

    std::string manifest_for(const std::string& config) const {
        json m = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                  {"config", descriptor("application/vnd.oci.image.config.v1+json", config)}, {"layers", json::array()}};
        for (const auto& l : layers) m["layers"].push_back(descriptor("application/vnd.oci.image.layer.v1.tar+gzip", l));
        return m.dump();
    }

    static std::string config_for(const std::string& arch, const std::vector<std::string>& diff_ids) {
        return json{{"architecture", arch}, {"os", "linux"}, {"config", {{"Cmd", {"/bin/sh"}}}},
                    {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}.dump();
    }

    std::string index_of(const std::vector<std::pair<std::string, std::string>>& entries) const {
        json index = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", json::array()}};
        for (const auto& [arch, manifest] : entries) {
            json d = descriptor("application/vnd.oci.image.manifest.v1+json", manifest);
            d["platform"] = {{"os", "linux"}, {"architecture", arch}};
            index["manifests"].push_back(d);
        }
        return index.dump();
    }

    void build(const TempDir& scratch) {
        ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((dir + "/blobs").c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((dir + "/blobs/sha256").c_str(), 0755), 0);
        std::vector<std::string> tars = {tar_of("etc/first", "the lower layer\n"), tar_of("etc/second", "the upper layer\n")};
        std::vector<std::string> diff_ids;
        for (const auto& t : tars) {
            layers.push_back(gzip(scratch, t));
            diff_ids.push_back(digest_of(t));
            blob(layers.back());
        }
        config_amd64 = config_for("amd64", diff_ids);
        config_arm64 = config_for("arm64", diff_ids);
        manifest_amd64 = manifest_for(config_amd64);
        manifest_arm64 = manifest_for(config_arm64);
        std::string multi = index_of({{"arm64", manifest_arm64}, {"amd64", manifest_amd64}});
        std::string armonly = index_of({{"arm64", manifest_arm64}});
        for (const auto& b : {config_amd64, config_arm64, manifest_amd64, manifest_arm64, multi, armonly}) blob(b);
        auto tagged = [](json d, const std::string& tag) {
            d["annotations"] = {{"org.opencontainers.image.ref.name", tag}};
            return d;
        };
        json index = {{"schemaVersion", 2}, {"manifests",
            {tagged(descriptor("application/vnd.oci.image.manifest.v1+json", manifest_amd64), "v1"),
             tagged(descriptor("application/vnd.oci.image.index.v1+json", multi), "multi"),
             tagged(descriptor("application/vnd.oci.image.index.v1+json", armonly), "armonly")}}};
        write_file(dir + "/index.json", index.dump());
        write_file(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    }
};

// A process of this test, killed by its pid when the owner goes (Process's destructor).
struct Server {
    std::unique_ptr<Process> process;
    int port = 0;
};

class ImagePull : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!missing_tools().empty()) return;
        dir_ = new TempDir;
        layout_ = new Layout{*dir_ / "layout", {}, {}, {}, {}, {}};
        layout_->build(*dir_);
        registry_ = new Server;
        registry_->port = free_port();
        write_file(*dir_ / "registry.yml", "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: " +
                                              (*dir_ / "storage") + "\nhttp:\n  addr: 127.0.0.1:" +
                                              std::to_string(registry_->port) + "\n");
        registry_->process = std::make_unique<Process>(Process::spawn({kRegistry, "serve", *dir_ / "registry.yml"}));
        for (int i = 0; i < 100 && !port_open(registry_->port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
                 {"v1", "test/app:v1"}, {"multi", "test/multi:v1"}, {"armonly", "test/armonly:v1"}}) {
            Result r = run_command({"/usr/bin/skopeo", "copy", "--all", "--dest-tls-verify=false", "oci:" + layout_->dir + ":" + from,
                                    "docker://127.0.0.1:" + std::to_string(registry_->port) + "/" + to},
                                   {}, std::chrono::seconds(60));
            pushed_ = pushed_ && r.code == 0;
            if (r.code != 0) push_error_ = describe(r);
        }
    }
    static void TearDownTestSuite() {
        delete registry_;  // kills docker-registry by its pid
        delete layout_;
        delete dir_;
        registry_ = nullptr, layout_ = nullptr, dir_ = nullptr;
    }
    void SetUp() override {
        if (std::string why = missing_tools(); !why.empty()) GTEST_SKIP() << why;
        ASSERT_TRUE(registry_ && port_open(registry_->port)) << "docker-registry did not start";
        ASSERT_TRUE(pushed_) << "skopeo copy failed: " << push_error_;
    }

    std::string domain() const { return "127.0.0.1:" + std::to_string(registry_->port); }

    // Starts registry_front.py in `mode` before the registry; its port.
    Server front(const std::string& mode) {
        Server s;
        std::string port_file = store_dir_ / "front.port";
        ::unlink(port_file.c_str());
        s.process = std::make_unique<Process>(Process::spawn({"/usr/bin/python3", HUTCH_SOURCE_DIR "/tests/integration/helpers/registry_front.py",
                                                               mode, "http://" + domain(), port_file, front_log()}));
        for (int i = 0; i < 100 && !path_exists(port_file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        s.port = std::atoi(read_file(port_file).c_str());
        EXPECT_GT(s.port, 0) << "registry_front.py did not start";
        return s;
    }
    std::string front_log() const { return store_dir_ / "front.log"; }

    PulledImage pull(const std::string& ref, RegistryOptions options = {}) {
        if (options.architecture.empty()) options.architecture = "amd64";
        options.connect_timeout_seconds = 5;
        options.stall_timeout_seconds = 10;
        lines_.clear();
        return hutch::image::pull_image(Reference::parse(ref), store_, options, [this](const std::string& l) { lines_.push_back(l); });
    }
    std::string pull_error(const std::string& ref, RegistryOptions options = {}) {
        try {
            pull(ref, options);
        } catch (const hutch::Error& e) {
            return e.what();
        }
        return "";
    }
    // Blobs in the store, and whether a temp file was left behind.
    Strings stored() const { return list_dir(store_dir_ / "images/blobs/sha256"); }
    Strings temp_files() const { return list_dir(store_dir_ / "images/tmp"); }

    static inline TempDir* dir_ = nullptr;
    static inline Layout* layout_ = nullptr;
    static inline Server* registry_ = nullptr;
    static inline bool pushed_ = true;
    static inline std::string push_error_;
    TempDir store_dir_;
    BlobStore store_{store_dir_ / "images"};
    Strings lines_;
};

bool has_line(const Strings& lines, const std::string& needle) {
    for (const auto& l : lines)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

TEST_F(ImagePull, PullsConfigAndLayersIntoTheStoreWithTheirDigests) {
    PulledImage image = pull(domain() + "/test/app:v1");
    EXPECT_EQ(image.config_digest, digest_of(layout_->config_amd64));
    ASSERT_EQ(image.layer_digests.size(), 2u);
    EXPECT_EQ(image.layer_digests[0], digest_of(layout_->layers[0]));
    EXPECT_EQ(image.layer_digests[1], digest_of(layout_->layers[1]));
    EXPECT_EQ(image.layer_media_types, Strings(2, "application/vnd.oci.image.layer.v1.tar+gzip"));
    EXPECT_EQ(image.manifest, layout_->manifest_amd64);  // skopeo pushed our bytes unchanged
    EXPECT_EQ(image.manifest_digest, digest_of(layout_->manifest_amd64));
    for (const auto& bytes : {layout_->config_amd64, layout_->layers[0], layout_->layers[1], layout_->manifest_amd64}) {
        ASSERT_TRUE(store_.has(digest_of(bytes)));
        EXPECT_EQ(store_.read(digest_of(bytes), 1 << 20), bytes);
    }
    EXPECT_EQ(stored().size(), 4u);
    EXPECT_TRUE(temp_files().empty());
    EXPECT_TRUE(has_line(lines_, "Pulling fs layer")) << ::testing::PrintToString(lines_);

    // Again: nothing is fetched, every layer already exists.
    pull(domain() + "/test/app:v1");
    EXPECT_FALSE(has_line(lines_, "Pulling fs layer")) << ::testing::PrintToString(lines_);
    EXPECT_TRUE(has_line(lines_, digest_of(layout_->layers[0]).substr(7, 12) + ": Already exists"));
    EXPECT_TRUE(has_line(lines_, digest_of(layout_->layers[1]).substr(7, 12) + ": Already exists"));
}

TEST_F(ImagePull, PullsByDigestAndChecksTheManifestAgainstIt) {
    PulledImage image = pull(domain() + "/test/app@" + digest_of(layout_->manifest_amd64));
    EXPECT_EQ(image.config_digest, digest_of(layout_->config_amd64));
    // A digest the registry does not have: an error naming the registry, nothing stored.
    std::string why = pull_error(domain() + "/test/app@" + digest_of("nothing"));
    EXPECT_NE(why.find(domain()), std::string::npos) << why;
    EXPECT_NE(why.find("HTTP 404"), std::string::npos) << why;
}

TEST_F(ImagePull, AnIndexResolvesToThePlatformAsked) {
    EXPECT_EQ(pull(domain() + "/test/multi:v1").config_digest, digest_of(layout_->config_amd64));
    EXPECT_EQ(pull(domain() + "/test/multi:v1", {.architecture = "arm64"}).config_digest, digest_of(layout_->config_arm64));
    RegistryOptions host;
    host.architecture = "";
    lines_.clear();
    PulledImage image = hutch::image::pull_image(Reference::parse(domain() + "/test/multi:v1"), store_, host, {});
    std::string machine = run_command({"uname", "-m"}).out;
    if (machine == "x86_64\n") {
        EXPECT_EQ(image.config_digest, digest_of(layout_->config_amd64));
    }
    if (machine == "aarch64\n") {
        EXPECT_EQ(image.config_digest, digest_of(layout_->config_arm64));
    }
}

TEST_F(ImagePull, AnIndexWithoutThePlatformIsRefusedNamingWhatItOffers) {
    std::string why = pull_error(domain() + "/test/armonly:v1");
    EXPECT_NE(why.find(domain() + "/test/armonly:v1"), std::string::npos) << why;
    EXPECT_NE(why.find("no matching manifest for linux/amd64"), std::string::npos) << why;
    EXPECT_NE(why.find("linux/arm64"), std::string::npos) << why;
    EXPECT_TRUE(stored().empty());
}

TEST_F(ImagePull, FetchesAnAnonymousBearerTokenWhenAsked) {
    Server f = front("token");
    std::string ref = "127.0.0.1:" + std::to_string(f.port) + "/test/app:v1";
    PulledImage image = pull(ref);
    EXPECT_EQ(image.config_digest, digest_of(layout_->config_amd64));
    std::string log = read_file(front_log());
    EXPECT_NE(log.find("GET /token?service=test&scope=repository%3Atest%2Fapp%3Apull"), std::string::npos) << log;
    EXPECT_NE(log.find("auth=Bearer T"), std::string::npos) << log;
}

TEST_F(ImagePull, ARegistryThatRefusesTheTokenIsUnauthorized) {
    for (const char* mode : {"deny", "basic"}) {
        Server f = front(mode);
        std::string registry = "127.0.0.1:" + std::to_string(f.port);
        std::string why = pull_error(registry + "/test/app:v1");
        EXPECT_NE(why.find(registry + ": unauthorized"), std::string::npos) << mode << ": " << why;
        EXPECT_NE(why.find("anonymous tokens only"), std::string::npos) << why;
        EXPECT_TRUE(stored().empty());
    }
}

TEST_F(ImagePull, RedirectedBlobsNeverCarryTheTokenToAnotherOrigin) {
    Server f = front("redirect");
    PulledImage image = pull("127.0.0.1:" + std::to_string(f.port) + "/test/app:v1");
    EXPECT_EQ(image.layer_digests.size(), 2u);
    std::string log = read_file(front_log());
    EXPECT_NE(log.find("STORAGE /v2/test/app/blobs/"), std::string::npos) << log;  // the redirect was followed
    EXPECT_EQ(log.find("STORAGE /v2/test/app/blobs/" + digest_of(layout_->layers[0]) + " auth=Bearer"), std::string::npos) << log;
    for (const auto& line : split_lines(log))
        if (line.rfind("STORAGE", 0) == 0) {
            EXPECT_NE(line.find("auth=none"), std::string::npos) << line;
        }
}

TEST_F(ImagePull, WrongBytesLeaveNoBlob) {
    Server f = front("corrupt");
    std::string why = pull_error("127.0.0.1:" + std::to_string(f.port) + "/test/app:v1");
    EXPECT_NE(why.find("does not match its digest"), std::string::npos) << why;
    EXPECT_NE(why.find("pull 127.0.0.1:" + std::to_string(f.port) + "/test/app:v1: "), std::string::npos) << why;
    EXPECT_NE(why.find(digest_of(layout_->config_amd64)), std::string::npos) << why;
    EXPECT_TRUE(stored().empty()) << ::testing::PrintToString(stored());
    EXPECT_TRUE(temp_files().empty()) << ::testing::PrintToString(temp_files());
}

TEST_F(ImagePull, AnUnknownLayerMediaTypeIsRefusedNamingIt) {
    Server f = front("mediatype");
    std::string registry = "127.0.0.1:" + std::to_string(f.port);
    std::string why = pull_error(registry + "/test/app:v1");
    EXPECT_NE(why.find("unsupported layer media type \"application/x-evil\""), std::string::npos) << why;
    EXPECT_TRUE(stored().empty());
    // Pulled by its real digest, the altered manifest does not match.
    why = pull_error(registry + "/test/app@" + digest_of(layout_->manifest_amd64));
    EXPECT_NE(why.find("manifest digest mismatch"), std::string::npos) << why;
}

TEST_F(ImagePull, AnUnreachableRegistryFailsQuicklyNamingIt) {
    std::string registry = "127.0.0.1:" + std::to_string(free_port());
    auto start = std::chrono::steady_clock::now();
    std::string why = pull_error(registry + "/test/app:v1");
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_NE(why.find("pull " + registry + "/test/app:v1: " + registry), std::string::npos) << why;
    EXPECT_NE(why.find("http://" + registry + "/v2/test/app/manifests/v1"), std::string::npos) << why;
    EXPECT_NE(why.find("connect to"), std::string::npos) << why;
    EXPECT_LT(took, std::chrono::seconds(3));
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
}

// The command line end to end: `hutch run` of a name the store lacks pulls it (--pull missing,
// Docker's default, progress on stderr), `hutch pull` again is up to date, --pull never refuses,
// and an unreachable registry leaves the store empty.
TEST_F(ImagePull, RunPullsAMissingImageAndPullSaysItIsUpToDate) {
    if (::geteuid() != 0) GTEST_SKIP() << "containers need root";
    std::string rootfs = test_rootfs();
    if (rootfs.empty()) GTEST_SKIP() << rootfs_skip_reason();
    TestImage busybox;
    busybox.layers = {tar_of_directory(rootfs)};
    busybox.diff_ids = {digest_of(busybox.layers[0])};
    busybox.media_types = {"application/vnd.oci.image.layer.v1.tar"};
    busybox.run_config = {{"Cmd", {"/bin/echo", "pulled and run"}}};
    std::string archive = store_dir_ / "busybox-oci.tar";
    write_file(archive, oci_layout_tar(busybox, "test/busybox:v1"));
    Result pushed = run_command({"/usr/bin/skopeo", "copy", "--dest-tls-verify=false", "oci-archive:" + archive,
                                 "docker://" + domain() + "/test/busybox:v1"},
                                {}, std::chrono::seconds(60));
    ASSERT_EXIT_CODE(pushed, 0);

    TempRoots roots;
    std::string ref = domain() + "/test/busybox:v1";
    Result run = roots.hutch({"run", "--rm", ref});
    ASSERT_EXIT_CODE(run, 0);
    EXPECT_EQ(run.out, "pulled and run\n");
    EXPECT_NE(run.err.find("Unable to find image '" + ref + "' locally"), std::string::npos) << describe(run);
    EXPECT_NE(run.err.find("Downloaded newer image for " + ref), std::string::npos) << describe(run);

    Result again = roots.hutch({"pull", ref});
    ASSERT_EXIT_CODE(again, 0);
    EXPECT_NE(again.out.find("Status: Image is up to date for " + ref), std::string::npos) << describe(again);
    EXPECT_EQ(again.out_lines().back(), ref);
    Result images = roots.hutch({"images"});
    EXPECT_NE(images.out.find(domain() + "/test/busybox   v1"), std::string::npos) << images.out;
    json inspect = json::parse(roots.hutch({"image", "inspect", ref}).out);
    ASSERT_EQ(inspect[0]["RepoDigests"].size(), 1u);
    EXPECT_EQ(inspect[0]["RepoDigests"][0].get<std::string>().rfind(domain() + "/test/busybox@sha256:", 0), 0u);

    Result never = roots.hutch({"run", "--rm", "--pull", "never", domain() + "/test/busybox:other"});
    EXPECT_EXIT_CODE(never, 125);
    EXPECT_NE(never.err.find("Unable to find image"), std::string::npos) << describe(never);

    TempRoots fresh;
    std::string gone = "127.0.0.1:" + std::to_string(free_port()) + "/test/app:v1";
    Result unreachable = fresh.hutch({"pull", gone});
    EXPECT_EXIT_CODE(unreachable, 125);
    EXPECT_EQ(unreachable.err_lines().size(), 1u) << describe(unreachable);
    EXPECT_EQ(list_dir(fresh.data_root() + "/images/blobs/sha256"), Strings{});
}

}  // namespace
