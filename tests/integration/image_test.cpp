// Images: load (OCI layout and docker save), save, import, images, tag, rmi, and running them:
// the root is the overlay of the image's layers (whiteouts and opaque dirs honoured), and the
// image's Entrypoint, Cmd, Env, User and WorkingDir are what the process gets, with Docker's
// overrides. Every image is built by the test from the busybox rootfs, without the internet.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "docker_daemon.hpp"
#include "harness.hpp"
#include "image_archives.hpp"

namespace hutch_it {
namespace {

using Type = TarEntry::Type;

class ImageIntegration : public HutchTest {
protected:
    void SetUp() override {
        HutchTest::SetUp();
        if (IsSkipped()) return;
        // Layer 1: the busybox rootfs, plus what layer 2 deletes and hides.
        std::string base = tar_of_directory(rootfs_);
        std::string extra = make_tar({{Type::kDir, "srv", "", 0755},
                                      {Type::kFile, "srv/removed", "gone in layer 2\n"},
                                      {Type::kDir, "srv/opq", "", 0755},
                                      {Type::kFile, "srv/opq/lower-only", "hidden by layer 2\n"}});
        // Layer 2 (gzip): deletes srv/removed, makes srv/opq opaque with a file of its own, adds
        // the working dir and a file owned by the image's user.
        std::string top = make_tar(top_layer(), Compression::kGzip);
        image_.layers = {base, extra, top};
        image_.diff_ids = {sha256_digest(base), sha256_digest(extra), sha256_digest(make_tar(top_layer()))};
        image_.media_types = {"application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar",
                              "application/vnd.oci.image.layer.v1.tar+gzip"};
        image_.run_config = {{"Entrypoint", {"/bin/sh", "-c"}},
                             {"Cmd", {"echo \"$GREETING\"; id -u; pwd"}},
                             {"Env", {"PATH=/bin:/usr/bin", "GREETING=hello from the image"}},
                             {"User", "nobody"},
                             {"WorkingDir", "/work"}};
    }

    static std::vector<TarEntry> top_layer() {
        return {{Type::kFile, "srv/.wh.removed", ""},
                {Type::kDir, "srv/opq", "", 0755},
                {Type::kFile, "srv/opq/.wh..wh..opq", ""},
                {Type::kFile, "srv/opq/upper-only", "from layer 2\n"},
                {Type::kDir, "work", "", 0777},
                {Type::kFile, "work/mine", "owned\n", 0600, 65534, 65534}};
    }

    std::string write_archive(const std::string& name, const std::string& bytes) {
        std::string path = roots_.base() + "/" + name;
        write_file(path, bytes);
        return path;
    }

    Result load(const std::string& archive_bytes) {
        return roots_.hutch({"load", "-i", write_archive("image.tar", archive_bytes)});
    }

    // Loads the image as an OCI layout under `oci_name`, then `archive` (another producer's
    // tarball of it, naming it `name`): one image under both names, with the OCI route's layers.
    void expect_the_oci_routes_image(const std::string& archive, const std::string& name, const std::string& oci_name) {
        ASSERT_EXIT_CODE(load(oci_layout_tar(image_, oci_name)), 0);
        Result loaded = roots_.hutch({"load", "-i", archive});
        ASSERT_EXIT_CODE(loaded, 0);
        EXPECT_EQ(loaded.out, "Loaded image: " + name + "\n");
        Result ids = roots_.hutch({"images", "-q"});
        EXPECT_EQ(ids.out_lines().size(), 1u) << "one image under two names: " << ids.out;
        nlohmann::json j = nlohmann::json::parse(roots_.hutch({"image", "inspect", name}).out);
        EXPECT_EQ(j[0]["RootFS"]["Layers"], nlohmann::json(image_.diff_ids));
    }

    // Every blob, layer and record in the store (empty: nothing there).
    Strings store_contents() const {
        Strings out;
        for (const char* dir : {"images/blobs/sha256", "images/layers", "images/images"})
            for (const auto& name : list_dir(roots_.data_root() + "/" + dir)) out.push_back(std::string(dir) + "/" + name);
        return out;
    }

    TestImage image_;
};

TEST_F(ImageIntegration, LoadsAnOciLayoutAndRunsItAsDockerWould) {
    Result loaded = load(oci_layout_tar(image_, "test/app:v1"));
    ASSERT_EXIT_CODE(loaded, 0);
    EXPECT_EQ(loaded.out, "Loaded image: test/app:v1\n");

    // Entrypoint + Cmd, the image's Env (its PATH too), User resolved through the layers' own
    // /etc/passwd, WorkingDir.
    Result r = roots_.hutch({"run", "--rm", "test/app:v1"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "hello from the image\n65534\n/work\n");

    Result env = roots_.hutch({"run", "--rm", "-e", "GREETING=overridden", "test/app:v1", "echo $GREETING; echo $PATH"});
    ASSERT_EXIT_CODE(env, 0);
    EXPECT_EQ(env.out, "overridden\n/bin:/usr/bin\n");

    // -u and -w override the image's; --entrypoint drops its Cmd.
    Result over = roots_.hutch({"run", "--rm", "-u", "0", "-w", "/srv", "--entrypoint", "/bin/pwd", "test/app:v1"});
    ASSERT_EXIT_CODE(over, 0);
    EXPECT_EQ(over.out, "/srv\n");
    // Removed containers (--rm) and dry runs hold no lease on the image.
    ASSERT_EXIT_CODE(roots_.hutch({"run", "--dry-run", "test/app:v1"}), 0);
    EXPECT_EQ(list_dir(roots_.data_root() + "/images/leases"), Strings{});
}

// In a user namespace each layer is an idmapped mount under the overlay: whiteouts and the
// opaque dir still count (the overlay is the host's, its trusted.* xattrs honoured), files show
// with their owners in the image, the image's user reads its own 0600 file, and a write lands in
// the container's upper dir with the mapped ids while the layers keep theirs.
TEST_F(ImageIntegration, TheLayersAreIdmappedInAUserNamespace) {
    ASSERT_EXIT_CODE(load(oci_layout_tar(image_, "test/app:v1")), 0);
    Result r = roots_.hutch({"run", "--rm", "--uidmap", "0:200000:65536", "test/app:v1",
                             "ls /srv; ls /srv/opq; stat -c %u /work/mine /bin/busybox; cat /work/mine; id -u"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, "opq\nupper-only\n65534\n0\nowned\n65534\n") << describe(r);
    Result d = roots_.hutch({"run", "-d", "--network", "none", "--uidmap", "0:200000:65536", "-u", "0", "test/app:v1",
                             "echo changed > /srv/opq/upper-only; sleep 60"});
    std::string id = started_id(d);
    ASSERT_FALSE(id.empty());
    std::string written = roots_.data_root() + "/containers/" + id + "/upper/srv/opq/upper-only";
    for (int i = 0; i < 100 && read_file(written) != "changed\n"; ++i) ::usleep(50 * 1000);
    struct stat st {};
    ASSERT_EQ(::stat(written.c_str(), &st), 0) << written;
    EXPECT_EQ(st.st_uid, 200000u);
    Result again = roots_.hutch({"run", "--rm", "-u", "0", "test/app:v1", "cat /srv/opq/upper-only; stat -c %u /work/mine"});
    EXPECT_EQ(again.out, "from layer 2\n65534\n") << "the layers are as they were";
    remove_all_containers(roots_);
}

TEST_F(ImageIntegration, TheRootIsTheOverlayOfTheLayers) {
    ASSERT_EXIT_CODE(load(oci_layout_tar(image_, "test/app:v1")), 0);
    Result r = roots_.hutch({"run", "--rm", "-u", "0", "--entrypoint", "/bin/sh", "test/app:v1", "-c",
                             "ls /srv; ls /srv/opq; cat /work/mine; grep ' / ' /proc/self/mountinfo"});
    ASSERT_EXIT_CODE(r, 0);
    // The whiteout removed srv/removed; the opaque dir shows only layer 2's content.
    EXPECT_NE(r.out.find("opq\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("removed"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("lower-only"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("upper-only"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("owned"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" - overlay "), std::string::npos) << r.out;

    // A write lands in the container's own upper dir, never in a layer: a second container
    // sees the image as it was.
    ASSERT_EXIT_CODE(roots_.hutch({"run", "--rm", "-u", "0", "test/app:v1", "echo changed > /srv/opq/upper-only"}), 0);
    Result again = roots_.hutch({"run", "--rm", "-u", "0", "test/app:v1", "cat /srv/opq/upper-only"});
    EXPECT_EQ(again.out, "from layer 2\n");

    // --read-only: an overlay of the layers alone, nothing writable.
    Result ro = roots_.hutch({"run", "--rm", "--read-only", "-u", "0", "test/app:v1", "touch /srv/x"});
    EXPECT_NE(ro.code, 0) << describe(ro);
    EXPECT_NE(ro.err.find("Read-only file system"), std::string::npos) << describe(ro);
}

TEST_F(ImageIntegration, SaveRmiLoadGivesTheSameImage) {
    ASSERT_EXIT_CODE(load(oci_layout_tar(image_, "test/app:v1")), 0);
    Result q = roots_.hutch({"images", "-q"});
    ASSERT_EXIT_CODE(q, 0);
    ASSERT_EQ(q.out_lines().size(), 1u) << q.out;
    std::string id = q.out_lines()[0];

    std::string saved = roots_.base() + "/saved.tar";
    ASSERT_EXIT_CODE(roots_.hutch({"save", "-o", saved, "test/app:v1"}), 0);
    Result rmi = roots_.hutch({"rmi", "test/app:v1"});
    ASSERT_EXIT_CODE(rmi, 0);
    EXPECT_NE(rmi.out.find("Untagged: test/app:v1\nDeleted: sha256:" + id), std::string::npos) << rmi.out;
    EXPECT_EQ(store_contents(), Strings{}) << "rmi leaves nothing of the image";

    Result reloaded = roots_.hutch({"load", "-i", saved});
    ASSERT_EXIT_CODE(reloaded, 0);
    EXPECT_EQ(reloaded.out, "Loaded image: test/app:v1\n");
    EXPECT_EQ(roots_.hutch({"images", "-q"}).out, id + "\n");
    Result r = roots_.hutch({"run", "--rm", "test/app:v1"});
    EXPECT_EQ(r.out, "hello from the image\n65534\n/work\n") << describe(r);
}

TEST_F(ImageIntegration, DockerSaveArchivesLoad) {
    TestImage plain = image_;
    plain.layers[2] = make_tar(top_layer());
    plain.media_types[2] = "application/vnd.oci.image.layer.v1.tar";
    Result loaded = load(docker_archive_tar(plain, "busybox:custom"));
    ASSERT_EXIT_CODE(loaded, 0);
    EXPECT_EQ(loaded.out, "Loaded image: busybox:custom\n");
    Result images = roots_.hutch({"images"});
    ASSERT_EXIT_CODE(images, 0);
    ASSERT_EQ(images.out_lines().size(), 2u) << images.out;
    EXPECT_EQ(images.out_lines()[0].rfind("REPOSITORY   TAG       IMAGE ID", 0), 0u) << images.out;
    EXPECT_EQ(images.out_lines()[1].rfind("busybox      custom    ", 0), 0u) << images.out;
    // The legacy VERSION files are not kept.
    for (const auto& entry : store_contents()) {
        if (entry.rfind("images/blobs/", 0) != 0) continue;
        EXPECT_NE(read_file(roots_.data_root() + "/" + entry), "1.0") << entry;
    }
    EXPECT_EQ(roots_.hutch({"run", "--rm", "busybox:custom"}).out, "hello from the image\n65534\n/work\n");
}

TEST_F(ImageIntegration, TagsAndRmiAsDocker) {
    ASSERT_EXIT_CODE(load(oci_layout_tar(image_, "test/app:v1")), 0);
    ASSERT_EXIT_CODE(roots_.hutch({"tag", "test/app:v1", "other"}), 0);
    Result images = roots_.hutch({"images", "--format", "json"});
    ASSERT_EQ(images.out_lines().size(), 2u) << images.out;
    // Removing one of two names only untags; by id with two names needs -f.
    Result untag = roots_.hutch({"rmi", "other"});
    EXPECT_EQ(untag.out, "Untagged: other:latest\n");
    ASSERT_EXIT_CODE(roots_.hutch({"tag", "test/app:v1", "other:2"}), 0);
    std::string id = roots_.hutch({"images", "-q"}).out_lines().at(0);
    Result by_id = roots_.hutch({"rmi", id});
    EXPECT_EXIT_CODE(by_id, 125);
    EXPECT_NE(by_id.err.find("must be forced"), std::string::npos) << describe(by_id);

    // An image a container was made from cannot go, even with -f; once the container is gone it can.
    Result created = roots_.hutch({"create", "--name", "user", "test/app:v1"});
    ASSERT_EXIT_CODE(created, 0);
    nlohmann::json container = inspect_container(roots_, "user");
    EXPECT_EQ(container["Config"]["Image"], "test/app:v1");
    EXPECT_EQ(container["Image"].get<std::string>().rfind("sha256:" + id, 0), 0u) << container["Image"];
    Result busy = roots_.hutch({"rmi", "-f", id});
    EXPECT_EXIT_CODE(busy, 125);
    EXPECT_NE(busy.err.find("is using it"), std::string::npos) << describe(busy);
    ASSERT_EXIT_CODE(roots_.hutch({"rm", "user"}), 0);
    Result gone = roots_.hutch({"rmi", "-f", id});
    EXPECT_EXIT_CODE(gone, 0);
    EXPECT_EQ(store_contents(), Strings{});
    Result missing = roots_.hutch({"run", "--rm", "test/app:v1"});
    EXPECT_EXIT_CODE(missing, 125);
    EXPECT_NE(missing.err.find("Unable to find image 'test/app:v1' locally"), std::string::npos) << describe(missing);
}

TEST_F(ImageIntegration, ImportMakesAOneLayerImage) {
    Result imported = roots_.hutch({"import", rootfs_, "busy:imported"});
    ASSERT_EXIT_CODE(imported, 0);
    EXPECT_EQ(imported.out.rfind("sha256:", 0), 0u) << imported.out;
    Result r = roots_.hutch({"run", "--rm", "busy:imported", "/bin/cat", "/etc/passwd"});
    ASSERT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, read_file(rootfs_ + "/etc/passwd"));
    Result inspect = roots_.hutch({"image", "inspect", "busy:imported"});
    ASSERT_EXIT_CODE(inspect, 0);
    nlohmann::json j = nlohmann::json::parse(inspect.out);
    EXPECT_EQ(j[0]["RepoTags"], nlohmann::json::array({"busy:imported"}));
    EXPECT_EQ(j[0]["RootFS"]["Layers"].size(), 1u);
    // A bare name that is no image and no directory says so; a path stays a directory.
    EXPECT_EXIT_CODE(roots_.hutch({"run", "--rm", rootfs_, "true"}), 0);
    // The same directory named with a trailing slash (what a shell's completion gives) is the
    // same tree: the same layer.
    Result slash = roots_.hutch({"import", rootfs_ + "/", "busy:slash"});
    ASSERT_EXIT_CODE(slash, 0);
    nlohmann::json again = nlohmann::json::parse(roots_.hutch({"image", "inspect", "busy:slash"}).out);
    EXPECT_EQ(again[0]["RootFS"]["Layers"], j[0]["RootFS"]["Layers"]);
}

TEST_F(ImageIntegration, BadArchivesAreRefusedAndLeaveNothing) {
    std::string good = oci_layout_tar(image_, "test/app:v1");
    struct Case {
        std::string name, bytes, message;
    };
    std::string index_only = make_tar({{Type::kFile, "oci-layout", "{}"}, {Type::kFile, "index.json", R"({"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":10}]})"}});
    std::string mismatch = make_tar({{Type::kFile, "oci-layout", "{}"},
                                     {Type::kFile, "blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111", "not that"}});
    std::string bad_tag = docker_archive_tar(image_, "Bad/UPPER:x");
    nlohmann::json many = nlohmann::json::array();
    for (int i = 0; i < 1001; ++i) many.push_back({{"Config", "c.json"}, {"RepoTags", {"a:" + std::to_string(i)}}, {"Layers", {}}});
    std::string too_many = make_tar({{Type::kFile, "manifest.json", many.dump()}});
    std::vector<Case> cases = {
        {"truncated", good.substr(0, good.size() / 2), "image.tar"},
        {"not a tar", std::string(4096, 'x'), "image.tar"},
        {"missing blob", index_only, "does not hold"},
        {"digest mismatch", mismatch, "1111111111"},
        {"bad name", bad_tag, "UPPER"},
        {"too many images", too_many, "1001 images, more than 1000"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        Result r = load(c.bytes);
        EXPECT_EXIT_CODE(r, 125);
        EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
        EXPECT_NE(r.err.find(c.message), std::string::npos) << describe(r);
        EXPECT_EQ(store_contents(), Strings{});
        EXPECT_EQ(list_dir(roots_.data_root() + "/images/tmp"), Strings{});
    }
    // A layer of a media type hutch does not unpack.
    TestImage odd = image_;
    odd.media_types[0] = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    Result refused = load(oci_layout_tar(odd, "odd:1"));
    EXPECT_EXIT_CODE(refused, 125);
    EXPECT_NE(refused.err.find("nondistributable"), std::string::npos) << describe(refused);
    EXPECT_EQ(store_contents(), Strings{});
    // An escaping layer: refused, and nothing of it stays.
    TestImage evil = single_layer_image(make_tar({{Type::kFile, "../../escaped", "x"}}), image_.run_config);
    Result r = load(oci_layout_tar(evil, "evil:1"));
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_NE(r.err.find("escaped"), std::string::npos) << describe(r);
    EXPECT_EQ(store_contents(), Strings{});
    EXPECT_FALSE(path_exists(roots_.data_root() + "/escaped"));
    EXPECT_FALSE(path_exists(roots_.base() + "/escaped"));
}

TEST_F(ImageIntegration, ConcurrentLoadsStoreTheLayersOnce) {
    std::string archive = write_archive("image.tar", oci_layout_tar(image_, "test/app:v1"));
    std::vector<Process> loads;
    for (int i = 0; i < 3; ++i) loads.push_back(Process::spawn({hutch_binary(), "--root", roots_.run_root(), "--data-root",
                                                                 roots_.data_root(), "load", "-i", archive}));
    for (auto& p : loads) {
        Result r = p.wait();
        EXPECT_EXIT_CODE(r, 0);
        EXPECT_EQ(r.out, "Loaded image: test/app:v1\n");
    }
    EXPECT_EQ(roots_.hutch({"images", "-q"}).out_lines().size(), 1u);
    // Three layers, each a directory and its size, once.
    EXPECT_EQ(list_dir(roots_.data_root() + "/images/layers").size(), 6u);
}

TEST_F(ImageIntegration, AKilledLoadLeavesNoImage) {
    std::string archive = oci_layout_tar(image_, "test/app:v1");
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    SpawnOptions so;
    so.inherit_fds = {{pipe_fds[0], 0}};
    Process loader = Process::spawn({hutch_binary(), "--root", roots_.run_root(), "--data-root", roots_.data_root(), "load"}, so);
    ::close(pipe_fds[0]);
    // Half the archive (the busybox layer is most of it), then the load dies mid-blob.
    std::size_t half = archive.size() / 2;
    ASSERT_EQ(::write(pipe_fds[1], archive.data(), half), static_cast<ssize_t>(half));
    std::this_thread::sleep_for(300ms);
    ::kill(loader.pid(), SIGKILL);
    loader.wait();
    ::close(pipe_fds[1]);
    EXPECT_EQ(roots_.hutch({"images", "-q"}).out, "");
    EXPECT_EQ(list_dir(roots_.data_root() + "/images/images"), Strings{});
    EXPECT_EQ(list_dir(roots_.data_root() + "/images/layers"), Strings{});
    EXPECT_EQ(list_dir(roots_.data_root() + "/images/tmp"), Strings{}) << "no half-written blob";
    // Every blob that is there is whole: it hashes to its name.
    for (const auto& hex : list_dir(roots_.data_root() + "/images/blobs/sha256"))
        EXPECT_EQ(sha256_digest(read_file(roots_.data_root() + "/images/blobs/sha256/" + hex)), "sha256:" + hex);
    ASSERT_EXIT_CODE(load(archive), 0);
}

// The image's StopSignal is what `hutch stop` sends first (here SIGUSR1); --stop-signal
// overrides it; a HEALTHCHECK is noted on stderr and not run.
TEST_F(ImageIntegration, StopSignalComesFromTheImage) {
    image_.run_config["StopSignal"] = "SIGUSR1";
    image_.run_config["Healthcheck"] = {{"Test", {"CMD", "true"}}};
    ASSERT_EXIT_CODE(load(oci_layout_tar(image_, "test/app:v1")), 0);
    // sh is pid 1: only a trapped signal reaches it, so each trap says which one came.
    const std::string script =
        "trap 'echo got USR1; exit 0' USR1; trap 'echo got TERM; exit 3' TERM; echo ready; while true; do sleep 0.1; done";
    // Once `name` is ready: hutch stop, then its exit status and its log.
    auto stopped = [&](const std::string& name) {
        for (int i = 0; i < 100 && roots_.hutch({"logs", name}).out.find("ready") == std::string::npos; ++i)
            std::this_thread::sleep_for(50ms);
        EXPECT_EXIT_CODE(roots_.hutch({"stop", "-t", "20", name}), 0);
        std::pair<std::string, std::string> seen = {roots_.hutch({"wait", name}).out, roots_.hutch({"logs", name}).out};
        EXPECT_EXIT_CODE(roots_.hutch({"rm", name}), 0);
        return seen;
    };
    Result started = roots_.hutch({"run", "-d", "--name", "svc", "test/app:v1", script});
    ASSERT_EXIT_CODE(started, 0);
    EXPECT_NE(started.err.find("HEALTHCHECK"), std::string::npos) << describe(started);
    auto [status, log] = stopped("svc");
    EXPECT_EQ(status, "0\n");
    EXPECT_NE(log.find("got USR1"), std::string::npos);

    Result overridden = roots_.hutch({"run", "-d", "--name", "svc2", "--stop-signal", "TERM", "test/app:v1", script});
    ASSERT_EXIT_CODE(overridden, 0);
    auto [status2, log2] = stopped("svc2");
    EXPECT_EQ(status2, "3\n");
    EXPECT_NE(log2.find("got TERM"), std::string::npos);
    Result bad = roots_.hutch({"run", "--rm", "--stop-signal", "NOPE", "test/app:v1", "true"});
    EXPECT_EXIT_CODE(bad, 125);
    EXPECT_NE(bad.err.find("NOPE"), std::string::npos) << describe(bad);
}

// A NUL in the image's Cmd: execve would run "echo before" and drop the rest without a word
// (Docker's exec refuses it). One line, exit 125, the value named.
TEST_F(ImageIntegration, ANulInTheImageCommandIsRefused) {
    TestImage bad = image_;
    bad.run_config["Cmd"] = {std::string("echo before\0; echo after", 24)};
    ASSERT_EXIT_CODE(load(oci_layout_tar(bad, "nul:1")), 0);
    Result r = roots_.hutch({"run", "--rm", "nul:1"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("\"Cmd\" \"echo before\\x00; echo after\" holds a NUL"), std::string::npos) << describe(r);
}

// The user database hutch reads for -u is the one the container sees: a layer that deletes /etc
// (a whiteout of the directory) hides the lower layers' /etc/passwd, as overlayfs hides it.
TEST_F(ImageIntegration, AWhiteoutOfEtcHidesTheLowerUsers) {
    TestImage img = image_;
    img.layers = {image_.layers[0], make_tar({{Type::kFile, ".wh.etc", ""}, {Type::kDir, "work", "", 0777}})};
    img.diff_ids = {image_.diff_ids[0], sha256_digest(img.layers[1])};
    img.media_types = {image_.media_types[0], image_.media_types[0]};
    ASSERT_EXIT_CODE(load(oci_layout_tar(img, "noetc:1")), 0);
    Result seen = roots_.hutch({"run", "--rm", "-u", "0", "noetc:1", "cat /etc/passwd || echo none"});
    ASSERT_EXIT_CODE(seen, 0);
    EXPECT_EQ(seen.out.find("nobody"), std::string::npos) << "the container has no passwd: " << seen.out;
    // The image's User "nobody" is nowhere the container can see: refused as Docker refuses it.
    Result r = roots_.hutch({"run", "--rm", "noetc:1"});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_NE(r.err.find("unable to find user nobody"), std::string::npos) << describe(r);
}

// skopeo writes docker-archive, the format of `docker save`: loading it gives the image the OCI
// route gives (same id, same layers), so both readers agree with a real producer.
TEST_F(ImageIntegration, SkopeosDockerArchiveLoadsAsTheSameImage) {
    if (::access("/usr/bin/skopeo", X_OK) != 0) GTEST_SKIP() << "skopeo is not installed (scripts/setup installs it)";
    std::string oci = write_archive("oci.tar", oci_layout_tar(image_, "test/app:v1"));
    std::string docker = roots_.base() + "/docker.tar";
    Result copied = run_command({"/usr/bin/skopeo", "copy", "oci-archive:" + oci, "docker-archive:" + docker + ":test/app:v2"},
                                {}, std::chrono::seconds(60));
    ASSERT_EXIT_CODE(copied, 0);
    ASSERT_NO_FATAL_FAILURE(expect_the_oci_routes_image(docker, "test/app:v2", "test/app:v1"));
    EXPECT_EQ(roots_.hutch({"run", "--rm", "test/app:v2"}).out, "hello from the image\n65534\n/work\n");
}

// `docker save` of Debian's docker.io: a dockerd of the test's own loads the test's archive and
// saves it back as Docker writes it (a layer.tar per layer, regenerated from what its overlay2
// store holds, whiteouts and the opaque dir included); hutch loads that as the very image the
// OCI route gives: one id, the same layers, the same run.
TEST_F(ImageIntegration, DockerdsSaveLoadsAsTheSameImage) {
    if (std::string why = DockerDaemon::missing(); !why.empty()) GTEST_SKIP() << why;
    TestImage plain = image_;
    plain.layers[2] = make_tar(top_layer());
    plain.media_types[2] = "application/vnd.oci.image.layer.v1.tar";
    std::string for_docker = write_archive("for-docker.tar", docker_archive_tar(plain, "test/app:v1"));
    TempDir docker_dir;
    {
        DockerDaemon dockerd(docker_dir.path());
        ASSERT_TRUE(dockerd.ready()) << "dockerd did not answer:\n" << dockerd.log();
        Result in = dockerd.docker({"load", "-i", for_docker});
        ASSERT_EXIT_CODE(in, 0) << dockerd.log();
        Result out = dockerd.docker({"save", "-o", roots_.base() + "/docker-saved.tar", "test/app:v1"});
        ASSERT_EXIT_CODE(out, 0) << dockerd.log();
    }
    ASSERT_NO_FATAL_FAILURE(expect_the_oci_routes_image(roots_.base() + "/docker-saved.tar", "test/app:v1", "test/app:oci"));
    EXPECT_EQ(roots_.hutch({"run", "--rm", "test/app:v1", "ls /srv; ls /srv/opq; cat /work/mine"}).out,
              "opq\nupper-only\nowned\n");
}

// hutch itself loads neither libarchive nor libcurl (with their ~40 libraries they added 25 ms to
// every hutch process); hutch-image, beside it, does the image I/O.
TEST(ImageBinaries, HutchLinksNoImageIoLibraries) {
    Result hutch = run_command({"/usr/bin/ldd", hutch_binary()});
    ASSERT_EXIT_CODE(hutch, 0);
    EXPECT_EQ(hutch.out.find("libcurl"), std::string::npos) << hutch.out;
    EXPECT_EQ(hutch.out.find("libarchive"), std::string::npos) << hutch.out;
    std::string image_io = hutch_binary().substr(0, hutch_binary().rfind('/')) + "/hutch-image";
    Result io = run_command({"/usr/bin/ldd", image_io});
    ASSERT_EXIT_CODE(io, 0);
    EXPECT_NE(io.out.find("libarchive"), std::string::npos) << io.out;
}

}  // namespace
}  // namespace hutch_it
