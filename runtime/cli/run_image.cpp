// `hutch run|create|profile|audit ROOTFS-or-IMAGE`: which one the argument names, and what an
// image brings to the container (its layers as the root, Entrypoint and Cmd, Env, User,
// WorkingDir), combined with the flags as Docker combines them.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "netns/host_config.hpp"
#include "runtime/image/image_store.hpp"
#include "runtime/image/pull.hpp"
#include "runtime/image/reexec.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/user_db.hpp"

namespace hutch::cli {
namespace {

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string absolute_directory(const std::string& given) {
    char resolved[PATH_MAX];
    if (!::realpath(given.c_str(), resolved))
        throw UsageError("invalid rootfs \"" + given + "\": " + std::strerror(errno));
    if (!is_directory(resolved)) throw UsageError("invalid rootfs \"" + given + "\": not a directory");
    return resolved;
}

// The command Docker runs: --entrypoint (even "") replaces the image's Entrypoint and drops its
// Cmd; arguments after the image replace its Cmd.
std::vector<std::string> image_command(const RunOptions& opts, const std::vector<std::string>& args,
                                       const image::RunConfig& config) {
    std::vector<std::string> command;
    if (opts.entrypoint_given) {
        if (!opts.entrypoint.empty()) command.push_back(opts.entrypoint);
        command.insert(command.end(), args.begin(), args.end());
        return command;
    }
    command = config.entrypoint;
    const auto& rest = args.empty() ? config.cmd : args;
    command.insert(command.end(), rest.begin(), rest.end());
    return command;
}

void use_image(RunOptions& opts, const std::string& ref, const std::vector<std::string>& args, const Paths& paths,
               const std::string& id, const PullImage& pull) {
    image::ImageStore store(paths.data_root);
    std::optional<image::StoreLock> lock(store.lock(image::StoreLock::Mode::kShared));
    std::optional<image::ImageRecord> found = store.find(ref);
    // --pull missing (the default) pulls a name the store lacks, always pulls first, never does
    // not; an id is never pulled. The lock is not held across the pull, which takes it itself.
    bool by_name = ref.rfind("sha256:", 0) != 0 && image::Reference::looks_like(ref);
    if (by_name && pull && (opts.pull == "always" || (opts.pull == "missing" && !found))) {
        lock.reset();
        // Printed once: by hutch, before it hands the pull to hutch-image.
        if (!found && !image::reexecuted()) std::cerr << "Unable to find image '" << ref << "' locally\n";
        pull(image::Reference::parse(ref));
        lock.emplace(store.lock(image::StoreLock::Mode::kShared));
        found = store.find(ref);
    }
    if (!found) {
        std::string hint = opts.pull == "never" || !pull ? "" : ": hutch load, hutch import or hutch pull it first";
        throw UsageError("Unable to find image '" + ref + "' locally" + hint);
    }
    if (found->diff_ids.empty()) throw UsageError("image " + ref + " has no layers: nothing to run");
    // Recorded before the container exists: an rmi from now on sees it (ImageStore::leased_by).
    if (!id.empty()) store.lease(id, found->id);
    image::RunConfig config = store.run_config(*found);
    opts.image_layers = store.layer_dirs(*found);
    opts.rootfs = opts.image_layers.front();
    opts.image_id = found->id;
    opts.image_ref = ref;
    opts.image_env = config.env;
    opts.image_exposed = config.exposed_ports;
    opts.command = image_command(opts, args, config);
    // Audit (no container `id`) runs nothing: an image without a command is still a profile.
    if (opts.command.empty() && !id.empty())
        throw UsageError("no command specified: image " + ref + " has no Entrypoint or Cmd, give one after it");
    if (opts.user.empty()) opts.user = config.user;
    if (opts.workdir.empty()) opts.workdir = config.working_dir;
    if (opts.stop_signal.empty()) opts.stop_signal = config.stop_signal;
    if (config.has_healthcheck)
        std::cerr << "hutch: note: image " << ref << " has a HEALTHCHECK; hutch does not run health checks\n";
}

bool is_opaque(int layer, const std::string& dir) {
    Fd fd(::openat(layer, dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    char value[2] = {};
    return fd && ::fgetxattr(fd.get(), "trusted.overlay.opaque", value, sizeof value) == 1 && value[0] == 'y';
}

enum class InLayer { kAbsent, kHidden, kHere };

// What one layer says about `relative` ("etc/passwd") in the merged root, walked a component at a
// time and never through a link (an fstatat of "etc/passwd" follows an /etc symlink, and an
// absolute one on the host): kHere when the layer has it, or a non-directory at one of its
// parents (overlayfs shows that entry, which read_user_db then resolves within this layer);
// kHidden when a whiteout of it or of a parent, or an opaque parent, hides the layers below;
// kAbsent when they show through.
InLayer look_up(int layer, const std::string& relative) {
    bool opaque = false;
    for (std::size_t end = relative.find('/');; end = relative.find('/', end + 1)) {
        std::string prefix = relative.substr(0, end);
        struct stat st {};
        if (::fstatat(layer, prefix.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return opaque ? InLayer::kHidden : InLayer::kAbsent;
        if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return InLayer::kHidden;  // overlayfs' whiteout
        if (end == std::string::npos || !S_ISDIR(st.st_mode)) return InLayer::kHere;
        opaque = opaque || is_opaque(layer, prefix);
    }
}

}  // namespace

// A user database as the container will see it through its overlay: the top-most layer that has
// the file, unless a whiteout (of it or of /etc) or an opaque /etc in a layer above hides the ones
// below. Each read stays inside its layer (read_user_db).
std::string read_in_layers(const std::vector<std::string>& layers, const std::string& path) {
    std::string relative = path.substr(1);
    for (const auto& dir : layers) {
        Fd layer(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!layer) continue;
        switch (look_up(layer.get(), relative)) {
            case InLayer::kAbsent: continue;
            case InLayer::kHidden: return "";
            case InLayer::kHere: return read_user_db(layer.get(), path, dir + path);
        }
    }
    return "";
}

void resolve_root_argument(RunOptions& opts, const std::string& arg, const std::vector<std::string>& args,
                           const Paths& paths, const std::string& id, const PullImage& pull) {
    // A path (it has a '/') that is a directory stays a directory, as before images; a bare name
    // is an image when the store has one by that name, else a directory of that name.
    bool path_like = arg.find('/') != std::string::npos;
    bool directory = is_directory(arg);
    if (directory && !path_like) {
        image::ImageStore store(paths.data_root);
        image::StoreLock lock = store.lock(image::StoreLock::Mode::kShared);
        directory = !image::Reference::looks_like(arg) || !store.find(arg);
    }
    if (directory) {
        opts.rootfs = absolute_directory(arg);
        opts.command = args;
        if (opts.entrypoint_given) {
            opts.command.clear();
            if (!opts.entrypoint.empty()) opts.command.push_back(opts.entrypoint);
            opts.command.insert(opts.command.end(), args.begin(), args.end());
        }
        return;
    }
    if (!image::Reference::looks_like(arg) && arg.rfind("sha256:", 0) != 0) {
        opts.rootfs = absolute_directory(arg);  // says why the directory is not one
        return;
    }
    use_image(opts, arg, args, paths, id, pull);
}

image::ImageRecord pull_image_ref(const image::Reference& ref, const Globals& globals, std::ostream* progress) {
    image::RegistryOptions options;
    options.insecure_registries = net::read_host_config(globals.config_path).insecure_registries;
    image::ImageStore store(globals.paths.data_root);
    std::string before;
    {
        image::StoreLock lock = store.lock(image::StoreLock::Mode::kShared);
        if (auto old = store.find(ref.familiar())) before = old->id;
    }
    image::ImageRecord pulled = image::pull_to_store(store, ref, options, [progress](const std::string& line) {
        if (progress) *progress << line << "\n" << std::flush;
    });
    if (progress) {
        if (!pulled.repo_digests.empty()) {
            const std::string& d = pulled.repo_digests.back();
            *progress << "Digest: " << d.substr(d.find('@') + 1) << "\n";
        }
        *progress << "Status: " << (before == pulled.id ? "Image is up to date for " : "Downloaded newer image for ")
                  << ref.familiar() << "\n";
    }
    return pulled;
}

}  // namespace hutch::cli
