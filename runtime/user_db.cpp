#include "runtime/user_db.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "runtime/error.hpp"
#include "runtime/fd.hpp"
#include "runtime/mounts.hpp"

namespace hutch {
namespace {

const char* file_type(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISDIR(mode)) return "a directory";
    return "not a plain file";
}

[[noreturn]] void refuse(const std::string& shown, const std::string& why) {
    throw UsageError("cannot read " + shown + ": " + why);
}

// The longest line must stay under the bound: a parser fed one 4 MiB line (or a fuzzer's
// input) is not what /etc/passwd is.
void check_lines(const std::string& text, const std::string& shown) {
    std::size_t line = 1, start = 0;
    for (;;) {
        std::size_t nl = text.find('\n', start);
        std::size_t end = nl == std::string::npos ? text.size() : nl;
        if (end - start > kUserDbMaxLine)
            refuse(shown, "line " + std::to_string(line) + " is longer than " + std::to_string(kUserDbMaxLine) +
                              " bytes");
        if (nl == std::string::npos) return;
        start = nl + 1;
        ++line;
    }
}

}  // namespace

std::string read_user_db(int root_fd, const std::string& path, const std::string& shown) {
    // O_PATH opens nothing: no device driver's open, no FIFO rendezvous.
    Fd handle = mnt::open_in_root(root_fd, path, O_PATH);
    if (!handle) {
        if (errno == ENOENT || errno == ENOTDIR) return "";
        refuse(shown, std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(handle.get(), &st) != 0) refuse(shown, std::string("fstat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) refuse(shown, std::string(file_type(st.st_mode)) + ", not a regular file");
    if (static_cast<unsigned long long>(st.st_size) > kUserDbMaxBytes)
        refuse(shown, "larger than " + std::to_string(kUserDbMaxBytes >> 20) + " MiB");
    // The checked inode itself, for reading (O_NONBLOCK: should it ever not be a regular file
    // after all, no read waits).
    Fd file(::open(mnt::fd_path(handle.get()).c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!file) refuse(shown, std::strerror(errno));
    // Bounded whatever st_size said: the file may grow while it is read.
    std::string text;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(file.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) refuse(shown, std::string("read: ") + std::strerror(errno));
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kUserDbMaxBytes) refuse(shown, "larger than " + std::to_string(kUserDbMaxBytes >> 20) + " MiB");
    }
    check_lines(text, shown);
    return text;
}

}  // namespace hutch
