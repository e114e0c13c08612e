#include "netns/hosts_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "netns/etc_files.hpp"
#include "runtime/error.hpp"
#include "runtime/fd.hpp"

namespace hutch::net::hosts_files {
namespace {

// An /etc/hosts larger than this was not written by hutch alone (1,000 peers take ~80 KiB).
constexpr std::size_t kMaxHostsFile = 4 << 20;

void warn_hosts(const std::string& path, const std::exception& e) {
    std::fprintf(stderr, "hutch: warning: /etc/hosts %s: %s\n", path.c_str(), e.what());
}

}  // namespace

// How a peer appears in another container's /etc/hosts: its address, then its name, its aliases
// and its short id (the id makes each line unique to one container). No newline.
std::string peer_text(const Endpoint& peer) {
    std::string names = peer.container_name;
    for (const auto& a : peer.aliases) names += (names.empty() ? "" : " ") + a;
    names += (names.empty() ? "" : " ") + peer.container_id.substr(0, 12);
    return peer.address.str() + "\t" + names;
}

std::string hosts_of(const Endpoint& self, const std::vector<Endpoint>& all) {
    std::vector<ExtraHost> peers;
    for (const auto& p : all)
        if (p.container_id != self.container_id) {
            const std::string text = peer_text(p);
            peers.push_back({text.substr(text.find('\t') + 1), p.address.str()});
        }
    return etc::hosts(self.extra_hosts, self.address.str(), self.hostname, peers);
}

// Writes `content` over `path` without replacing the inode: the file is bind-mounted into a
// running container, which would keep seeing the old file after a rename.
void write_in_place(const std::string& path, const std::string& content) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return;  // the container is gone already
    // Overwrite then cut, rather than truncate then write: a reader never sees an empty file.
    for (std::size_t done = 0; done < content.size();) {
        ssize_t n = ::pwrite(fd.get(), content.data() + done, content.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw SysError("update /etc/hosts", "pwrite", path, errno);
        done += static_cast<std::size_t>(n);
    }
    check(::ftruncate(fd.get(), static_cast<off_t>(content.size())), "update /etc/hosts", "ftruncate", path);
}

// Adds `text` as a line at the end of the /etc/hosts at `path`, on a line of its own even when
// the container's root left the file without a final newline. A container that is gone (no
// file) is skipped; a failure is a warning, so one peer's file cannot stop the others'.
void append_line(const std::string& path, const std::string& text) {
    try {
        Fd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
        if (!fd) return;
        struct stat st {};
        char last = '\n';
        if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
        if (st.st_size > 0 && ::pread(fd.get(), &last, 1, st.st_size - 1) != 1) last = '\n';
        const std::string line = (last == '\n' ? "" : "\n") + text + "\n";
        for (std::size_t done = 0; done < line.size();) {
            ssize_t n = ::write(fd.get(), line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw SysError("update /etc/hosts", "write", path, errno);
            done += static_cast<std::size_t>(n);
        }
    } catch (const std::exception& e) {
        warn_hosts(path, e);
    }
}

// Takes every line that is exactly `text` out of the /etc/hosts at `path`, in place (it is
// bind-mounted into its container), keeping the rest: what the container's root wrote stays.
// The file is read through its fd and at most kMaxHostsFile of it: a larger one is not hutch's
// writing alone and gets `fallback` (hutch's own content for it) instead, when there is one. A
// failure is a warning, as in append_line.
void remove_line(const std::string& path, const std::string& text, const std::function<std::string()>& fallback) {
    try {
        Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
        struct stat st {};
        if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
        std::string content;
        char buffer[65536];
        while (content.size() <= kMaxHostsFile) {
            ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw SysError("update /etc/hosts", "read", path, errno);
            if (n == 0) break;
            content.append(buffer, static_cast<std::size_t>(n));
        }
        if (content.size() > kMaxHostsFile) {
            if (fallback) write_in_place(path, fallback());
            return;
        }
        std::string kept;
        bool changed = false;
        for (std::size_t start = 0; start < content.size();) {
            std::size_t end = std::min(content.find('\n', start), content.size());
            if (std::string_view(content).substr(start, end - start) == text) changed = true;
            else kept.append(content, start, end + 1 - start);
            start = end + 1;
        }
        if (changed) write_in_place(path, kept);
    } catch (const std::exception& e) {
        warn_hosts(path, e);
    }
}

}  // namespace hutch::net::hosts_files
