#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/error.hpp"
#include "runtime/sys/kernel.hpp"
#include "runtime/trampoline/trampoline.hpp"

namespace hutch::trampoline {

bool available() {
    // A read(2), not an ifstream: the cloned child asks, and iostreams' first use there (the
    // locale's set-up, on copy-on-write pages) cost ~0.5 ms of the start.
    Fd knob(::open("/proc/sys/vm/memfd_noexec", O_RDONLY | O_CLOEXEC));
    if (!knob) return true;  // before Linux 6.3: no such knob, memfds may be executed
    char level = '0';
    return ::read(knob.get(), &level, 1) != 1 || level < '2';
}

Fd seal_program(const char* name, const unsigned char* image, unsigned long size) {
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
    const std::string shown = std::string("memfd:") + name;
    Fd fd(static_cast<int>(::syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC)));
    if (!fd && errno == EINVAL)  // kernels before 6.3 know no MFD_EXEC: executable by default
        fd = Fd(static_cast<int>(::syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING)));
    if (!fd) throw SysError("prepare hutch's program", "memfd_create", shown, errno);
    if (::write(fd.get(), image, size) != static_cast<ssize_t>(size))
        throw SysError("prepare hutch's program", "write", shown, errno);
    // Sealed: nothing, not even root in the container, can change what is executed.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
        throw SysError("prepare hutch's program", "fcntl(F_ADD_SEALS)", shown, errno);
    return fd;
}

Fd prepare() { return seal_program("hutch-trampoline", kImage, kImageSize); }

void exec(const Fd& image, int sync_fd, const std::string& path, const std::vector<std::string>& argv,
          const std::vector<std::string>& envp) {
    std::string fd_arg = std::to_string(sync_fd);
    std::vector<char*> args = {const_cast<char*>("hutch-trampoline"), fd_arg.data(),
                               const_cast<char*>(path.c_str())};
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> env;
    for (const auto& e : envp) env.push_back(const_cast<char*>(e.c_str()));
    env.push_back(nullptr);
    // The socket must survive this exec; the trampoline marks it close-on-exec again.
    ::fcntl(sync_fd, F_SETFD, 0);
    sys::kernel().execveat(image.get(), "", args.data(), env.data(), AT_EMPTY_PATH);
    int err = errno;
    ::fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
    throw SysError("exec through hutch's trampoline", "execveat", "memfd:hutch-trampoline", err);
}

}  // namespace hutch::trampoline
