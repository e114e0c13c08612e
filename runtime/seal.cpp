#include "runtime/seal.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"

extern char** environ;

namespace hutch {

void ensure_sealed_binary(char** argv) {
    struct statvfs st {};
    if (::statvfs("/proc/self/exe", &st) == 0 && (st.f_flag & ST_RDONLY)) return;

    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw SysError("seal hutch's binary", "readlink", "/proc/self/exe", errno);
    std::string self(buf, static_cast<std::size_t>(n));

    explain::line("unshare(CLONE_NEWNS)   # hutch's own mount namespace, to seal its binary");
    check(::unshare(CLONE_NEWNS), "seal hutch's binary", "unshare(CLONE_NEWNS)");
    explain::line("mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)");
    check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "seal hutch's binary",
          "mount MS_REC|MS_PRIVATE", "/");
    explain::line("mount(" + explain::quote(self) + ", " + explain::quote(self) + ", NULL, MS_BIND, NULL)");
    check(::mount(self.c_str(), self.c_str(), nullptr, MS_BIND, nullptr), "seal hutch's binary",
          "mount MS_BIND", self);
    explain::line("mount(NULL, " + explain::quote(self) + ", NULL, MS_BIND|MS_REMOUNT|MS_RDONLY, NULL)");
    check(::mount(nullptr, self.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr),
          "seal hutch's binary", "mount MS_BIND|MS_REMOUNT|MS_RDONLY", self);
    explain::line("execve(" + explain::quote(self) + ", argv, envp)   # now running read-only");
    ::execve(self.c_str(), argv, environ);
    throw SysError("seal hutch's binary", "execve", self, errno);
}

}  // namespace hutch
