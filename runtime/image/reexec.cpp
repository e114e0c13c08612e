#include "runtime/image/reexec.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

#include "runtime/error.hpp"

namespace hutch::image {
namespace {

constexpr const char* kMarker = "HUTCH_IMAGE_IO";
char** saved_argv = nullptr;
bool was_reexecuted = false;

}  // namespace

void remember_command_line(char** argv) {
    saved_argv = argv;
    was_reexecuted = std::getenv(kMarker) != nullptr;
    ::unsetenv(kMarker);
}

bool reexecuted() { return was_reexecuted; }

void reexec_with_image_io(const char* what) {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) throw SysError(std::string(what) + ": find hutch-image", "readlink", "/proc/self/exe", errno);
    self[n] = '\0';
    std::string dir(self);
    dir = dir.substr(0, dir.rfind('/'));
    std::string binary = dir + "/hutch-image";
    if (!saved_argv || was_reexecuted)
        throw Error(std::string(what) + ": needs hutch-image, and this process is not one that can run it");
    ::setenv(kMarker, "1", 1);
    ::execv(binary.c_str(), saved_argv);
    throw SysError(std::string(what) + ": run hutch-image (libarchive, libcurl)", "execv", binary, errno);
}

}  // namespace hutch::image
