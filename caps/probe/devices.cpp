#include "caps/probe/devices.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace hutch::probe {
namespace {

// A small file read whole ("" when it cannot be read): /proc/misc, a sysfs attribute.
std::string slurp(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return "";
    std::string out;
    char buf[4096];
    ssize_t n;
    while (out.size() < (1 << 20) && (n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

// /sys/dev/block's entries ("8:0") with their "removable" and "size" attributes, sorted.
std::vector<BlockDevice> block_devices() {
    std::vector<BlockDevice> out;
    DIR* dir = ::opendir("/sys/dev/block");
    if (!dir) return out;
    while (dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name.find(':') == std::string::npos) continue;
        std::string base = "/sys/dev/block/" + name;
        out.push_back({name, slurp(base + "/removable"), slurp(base + "/size")});
    }
    ::closedir(dir);
    std::sort(out.begin(), out.end(), [](const BlockDevice& a, const BlockDevice& b) { return a.numbers < b.numbers; });
    return out;
}

DeviceResult try_device(const std::string& scratch, const ProbeDevice& d) {
    DeviceResult r{d, -1, -1};
    if (!d.skip.empty()) return r;
    std::string node = scratch + "/" + d.name;
    mode_t type = d.type == 'b' ? S_IFBLK : S_IFCHR;
    r.mknod_err = ::mknod(node.c_str(), type | 0600, makedev(d.major, d.minor)) == 0 ? 0 : errno;
    if (r.mknod_err != 0) return r;
    if (d.open) {
        // O_NOCTTY: a terminal never becomes ours; O_NONBLOCK: no open waits (a tty's carrier).
        int fd = ::open(node.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        r.open_err = fd >= 0 ? 0 : errno;
        if (fd >= 0) ::close(fd);
    }
    ::unlink(node.c_str());
    return r;
}

}  // namespace

DevicesReport probe_devices() {
    DevicesReport report;
    for (const char* base : {"/dev", "/tmp"}) {
        std::string templ = std::string(base) + "/.hutch-probe-devices-XXXXXX";
        if (::mkdtemp(templ.data())) {
            report.scratch = templ;
            break;
        }
        report.err = errno;
    }
    if (report.scratch.empty()) return report;
    report.err = 0;
    struct statvfs vfs {};
    report.nodev = ::statvfs(report.scratch.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NODEV);
    for (const auto& d : probe_device_list(slurp("/proc/misc"), block_devices()))
        report.results.push_back(try_device(report.scratch, d));
    ::rmdir(report.scratch.c_str());
    return report;
}

}  // namespace hutch::probe
