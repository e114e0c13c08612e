// The image commands, with Docker's names: load, save, import, images, tag, rmi, pull and
// `image inspect|ls|rm|load|save|import|tag|pull`. They read and change the store of
// runtime/image/ and never start a container.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"
#include "runtime/fd.hpp"
#include "runtime/image/image_store.hpp"
#include "runtime/image/load.hpp"
#include "runtime/image/reference.hpp"
#include "runtime/image/save.hpp"
#include "runtime/stats.hpp"

namespace hutch::cli {
namespace {

using image::ImageStore;
using image::StoreLock;

// Go's text/tabwriter as docker's formatter sets it up (runtime/stats.hpp): header included.
void print_table(const std::vector<std::vector<std::string>>& cells) { std::cout << stats::docker_table(cells); }

// Docker's "2 years ago" (go-units HumanDuration) from an RFC 3339 time.
std::string created_ago(const std::string& created) {
    const std::int64_t now = events::now_nano();
    auto at = events::parse_time(created, now);
    if (!at) return "N/A";
    return stats::human_duration(static_cast<double>(now - *at) / 1e9) + " ago";
}

std::string short_id(const std::string& id) { return id.substr(7, 12); }

// The rows docker images shows: one per name, or one "<none>" row for an image without any.
std::vector<std::pair<std::string, std::string>> names_of(const image::ImageRecord& i) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& t : i.repo_tags) {
        std::size_t colon = t.rfind(':');
        out.emplace_back(t.substr(0, colon), t.substr(colon + 1));
    }
    if (out.empty()) out.emplace_back("<none>", "<none>");
    return out;
}

void add_images(CLI::App& parent, const char* name, const Paths& paths, int& exit_code) {
    auto* cmd = parent.add_subcommand(name, "List images");
    auto quiet = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>();
    auto filter = std::make_shared<std::string>();
    cmd->add_flag("-q,--quiet", *quiet, "Only show image IDs");
    cmd->add_option("--format", *format, "json: one JSON object per image");
    cmd->add_option("REPOSITORY", *filter, "Only images of this name (and tag)");
    cmd->callback([=, &paths, &exit_code]() {
        if (!format->empty() && *format != "json")
            throw UsageError("invalid --format \"" + *format + "\": hutch prints a table or json");
        ImageStore store(paths.data_root);
        StoreLock lock = store.lock(StoreLock::Mode::kShared);
        std::vector<image::ImageRecord> images = store.list();
        std::sort(images.begin(), images.end(), [](const auto& a, const auto& b) { return a.created > b.created; });
        std::string wanted_repo, wanted_tag;
        if (!filter->empty()) {
            image::Reference r = image::Reference::parse(*filter);
            wanted_repo = r.repository();
            if (filter->find(':', filter->rfind('/') == std::string::npos ? 0 : filter->rfind('/')) != std::string::npos)
                wanted_tag = r.tag;
        }
        std::vector<std::vector<std::string>> rows = {{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
        std::vector<std::string> seen;
        for (const auto& i : images) {
            for (const auto& [repo, tag] : names_of(i)) {
                if (!wanted_repo.empty() && (repo != wanted_repo || (!wanted_tag.empty() && tag != wanted_tag))) continue;
                if (*quiet) {
                    if (std::find(seen.begin(), seen.end(), i.id) == seen.end()) std::cout << short_id(i.id) << "\n";
                    seen.push_back(i.id);
                } else if (*format == "json") {
                    nlohmann::json j = {{"Repository", repo},  {"Tag", tag},
                                        {"ID", short_id(i.id)}, {"CreatedAt", i.created},
                                        {"CreatedSince", created_ago(i.created)},
                                        {"Size", stats::human_size(static_cast<double>(i.size))}};
                    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
                } else {
                    rows.push_back({repo, tag, short_id(i.id), created_ago(i.created), stats::human_size(static_cast<double>(i.size))});
                }
            }
        }
        if (!*quiet && format->empty()) print_table(rows);
        exit_code = 0;
    });
}

nlohmann::json inspect_image(const ImageStore& store, const image::ImageRecord& i) {
    nlohmann::json config = store.config_json(i);
    std::string lower;
    for (const auto& dir : store.layer_dirs(i)) lower += (lower.empty() ? "" : ":") + dir;
    return {
        {"Id", i.id},
        {"RepoTags", i.repo_tags},
        {"RepoDigests", i.repo_digests},
        {"Parent", ""},
        {"Comment", config.value("comment", "")},
        {"Created", i.created},
        {"Author", config.value("author", "")},
        {"Config", config.value("config", nlohmann::json::object())},
        {"Architecture", i.architecture},
        {"Os", i.os},
        {"Size", i.size},
        {"GraphDriver", {{"Name", "overlay"}, {"Data", {{"LowerDir", lower}}}}},
        {"RootFS", {{"Type", "layers"}, {"Layers", i.diff_ids}}},
    };
}

void add_image_inspect(CLI::App& parent, const Paths& paths, int& exit_code) {
    auto* cmd = parent.add_subcommand("inspect", "Show images as JSON (Docker's shape where it applies)");
    auto refs = std::make_shared<std::vector<std::string>>();
    cmd->add_option("IMAGE", *refs, "Image names or ids")->required();
    cmd->callback([=, &paths, &exit_code]() {
        ImageStore store(paths.data_root);
        StoreLock lock = store.lock(StoreLock::Mode::kShared);
        nlohmann::json out = nlohmann::json::array();
        for (const auto& ref : *refs) out.push_back(inspect_image(store, store.get(ref)));
        std::cout << out.dump(4, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
        exit_code = 0;
    });
}

void add_rmi(CLI::App& parent, const char* name, const Paths& paths, int& exit_code) {
    auto* cmd = parent.add_subcommand(name, "Remove one or more images");
    auto force = std::make_shared<bool>(false);
    auto refs = std::make_shared<std::vector<std::string>>();
    cmd->add_flag("-f,--force", *force, "Remove an image that has several names");
    cmd->add_option("IMAGE", *refs, "Image names or ids")->required();
    cmd->callback([=, &paths, &exit_code]() {
        ImageStore store(paths.data_root);
        StoreLock lock = store.lock(StoreLock::Mode::kExclusive);
        std::string containers = paths.data_root + "/containers";
        exit_code = 0;
        for (const auto& ref : *refs) {
            try {
                auto lines = store.remove(ref, *force, [&](const std::string& id) { return store.leased_by(id, containers); });
                for (const auto& line : lines) std::cout << line << "\n";
            } catch (const Error& e) {
                // Docker goes on with the other images and exits 1 at the end; hutch's own code.
                std::cerr << "hutch: " << e.what() << "\n";
                exit_code = kExitHutchError;
            }
        }
    });
}

void add_tag(CLI::App& parent, const char* name, const Paths& paths, int& exit_code) {
    auto* cmd = parent.add_subcommand(name, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
    auto source = std::make_shared<std::string>();
    auto target = std::make_shared<std::string>();
    cmd->add_option("SOURCE_IMAGE", *source, "Image name or id")->required();
    cmd->add_option("TARGET_IMAGE", *target, "New name[:tag]")->required();
    cmd->callback([=, &paths, &exit_code]() {
        ImageStore store(paths.data_root);
        image::tag_name(*target);  // a bad name, before the lock
        StoreLock lock = store.lock(StoreLock::Mode::kExclusive);
        store.tag(*source, *target);
        exit_code = 0;
    });
}

void add_load(CLI::App& parent, const Paths& paths, int& exit_code) {
    auto* cmd = parent.add_subcommand("load", "Load images from a tar archive (docker save or OCI layout) or STDIN");
    auto input = std::make_shared<std::string>();
    auto quiet = std::make_shared<bool>(false);
    cmd->add_option("-i,--input", *input, "Read from tar archive file, instead of STDIN");
    cmd->add_flag("-q,--quiet", *quiet, "Suppress the load output");
    cmd->callback([=, &paths, &exit_code]() {
        Fd file;
        int fd = 0;
        std::string what = "stdin";
        if (!input->empty()) {
            file.reset(::open(input->c_str(), O_RDONLY | O_CLOEXEC));
            if (!file) throw UsageError("load: " + *input + ": " + std::strerror(errno));
            fd = file.get();
            what = *input;
        } else if (::isatty(0)) {
            throw UsageError("requested load from stdin, but stdin is empty (a terminal): use -i FILE or a pipe");
        }
        ImageStore store(paths.data_root);
        for (const auto& line : image::load_archive(store, fd, what))
            if (!*quiet) std::cout << line << "\n";
        exit_code = 0;
    });
}

void add_save(CLI::App& parent, const Paths& paths, int& exit_code) {
    auto* cmd = parent.add_subcommand("save", "Save one or more images to a tar archive (docker save's format)");
    auto output = std::make_shared<std::string>();
    auto refs = std::make_shared<std::vector<std::string>>();
    cmd->add_option("-o,--output", *output, "Write to a file, instead of STDOUT");
    cmd->add_option("IMAGE", *refs, "Image names or ids")->required();
    cmd->callback([=, &paths, &exit_code]() {
        ImageStore store(paths.data_root);
        if (output->empty()) {
            if (::isatty(1)) throw UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            image::save_archive(store, *refs, 1);
        } else {
            // Written beside the target and renamed: a failed save leaves no half archive.
            // A new file of its own (a stale partial removed first, never written through a link).
            std::string temp = *output + ".hutch-partial";
            ::unlink(temp.c_str());
            Fd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
            if (!out) throw UsageError("save: " + *output + ": " + std::strerror(errno));
            try {
                image::save_archive(store, *refs, out.get());
                if (::fsync(out.get()) != 0 || ::rename(temp.c_str(), output->c_str()) != 0)
                    throw SysError("save the images", "rename", *output, errno);
            } catch (...) {
                ::unlink(temp.c_str());
                throw;
            }
        }
        exit_code = 0;
    });
}

void add_import(CLI::App& parent, const Paths& paths, int& exit_code) {
    auto* cmd = parent.add_subcommand("import", "Import a root filesystem (directory or tarball) as a one-layer image");
    auto source = std::make_shared<std::string>();
    auto tag = std::make_shared<std::string>();
    cmd->add_option("FILE|DIR", *source, "A tar (plain or compressed) or a directory")->required();
    cmd->add_option("REPOSITORY[:TAG]", *tag, "Name for the image");
    cmd->callback([=, &paths, &exit_code]() {
        ImageStore store(paths.data_root);
        std::cout << image::import_rootfs(store, *source, *tag) << "\n";
        exit_code = 0;
    });
}

void add_pull(CLI::App& parent, const Globals& globals, int& exit_code) {
    auto* cmd = parent.add_subcommand("pull", "Download an image from a registry");
    auto ref = std::make_shared<std::string>();
    auto quiet = std::make_shared<bool>(false);
    cmd->add_option("NAME[:TAG|@DIGEST]", *ref, "The image")->required();
    cmd->add_flag("-q,--quiet", *quiet, "Suppress verbose output");
    cmd->callback([=, &globals, &exit_code]() {
        image::Reference r = image::Reference::parse(*ref);
        pull_image_ref(r, globals, *quiet ? nullptr : &std::cout);
        std::cout << r.full() << "\n";
        exit_code = 0;
    });
}

}  // namespace

void add_image_commands(CLI::App& app, const Globals& globals, int& exit_code) {
    const Paths& paths = globals.paths;
    add_pull(app, globals, exit_code);
    add_images(app, "images", paths, exit_code);
    add_rmi(app, "rmi", paths, exit_code);
    add_tag(app, "tag", paths, exit_code);
    add_load(app, paths, exit_code);
    add_save(app, paths, exit_code);
    add_import(app, paths, exit_code);
    auto* image = app.add_subcommand("image", "Manage images (inspect, ls, rm, tag, load, save, import, pull)");
    image->require_subcommand(1);
    add_image_inspect(*image, paths, exit_code);
    add_images(*image, "ls", paths, exit_code);
    add_rmi(*image, "rm", paths, exit_code);
    add_tag(*image, "tag", paths, exit_code);
    add_load(*image, paths, exit_code);
    add_save(*image, paths, exit_code);
    add_import(*image, paths, exit_code);
    add_pull(*image, globals, exit_code);
}

}  // namespace hutch::cli
