#include <fcntl.h>
#include "runtime/seal.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"
#include "runtime/sys/kernel.hpp"

extern char** environ;

namespace hutch {

void ensure_sealed_binary(char** argv) {
    struct statvfs st {};
    if (::statvfs("/proc/self/exe", &st) == 0 && (st.f_flag & ST_RDONLY)) return;

    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw SysError("seal hutch's binary", "readlink", "/proc/self/exe", errno);
    std::string self(buf, static_cast<std::size_t>(n));

    sys::Kernel& k = sys::kernel();
    explain::comment("hutch's own mount namespace, to run its binary from a read-only bind");
    check(k.unshare(CLONE_NEWNS), "seal hutch's binary", "unshare(CLONE_NEWNS)");
    check(k.mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "seal hutch's binary",
          "mount MS_REC|MS_PRIVATE", "/");
    check(k.mount(self.c_str(), self.c_str(), nullptr, MS_BIND, nullptr), "seal hutch's binary", "mount MS_BIND", self);
    check(k.mount(nullptr, self.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr), "seal hutch's binary",
          "mount MS_BIND|MS_REMOUNT|MS_RDONLY", self);
    k.execveat(AT_FDCWD, self.c_str(), argv, environ, 0);
    throw SysError("seal hutch's binary", "execve", self, errno);
}

}  // namespace hutch
