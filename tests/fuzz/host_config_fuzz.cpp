// The host config, /etc/hutch/config.json (netns/host_config.hpp): read by every run and network
// command, written by an administrator (or a careless tool). read_host_config takes a path, so
// the input is put in a memfd and read through /proc/self/fd: the real function, unchanged.
//
// Invariants: a bad file (not JSON, not an object) is a UsageError naming it; what is accepted is safe to write into a
// container's resolv.conf and to use as a link name and gateway: no space or control character,
// a bridge name of 1-15 characters without '/', a "bip" of a gateway address and a prefix of
// 8-30 that parse back as such.
#include <sys/mman.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "netns/host_config.hpp"
#include "netns/ipv4.hpp"
#include "runtime/error.hpp"
#include "runtime/validate.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

// One memfd for the whole run, rewritten for each input.
int input_fd() {
    static int fd = ::memfd_create("hutch-fuzz-host-config", MFD_CLOEXEC);
    if (fd < 0) hutch::fuzz::violated(__FILE__, __LINE__, "memfd_create", "cannot make the input file");
    return fd;
}

void check_words(const std::vector<std::string>& values, const char* key) {
    for (const auto& v : values)
        FUZZ_CHECK(!v.empty() ? !hutch::validate::has_space_or_control(v) : true,
                   std::string("a bad \"") + key + "\" value was accepted: " + v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 65536) return -1;
    int fd = input_fd();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
        hutch::fuzz::violated(__FILE__, __LINE__, "pwrite", "cannot write the input file");
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    hutch::net::HostConfig config;
    try {
        config = hutch::net::read_host_config(path);
    } catch (const hutch::UsageError& e) {
        FUZZ_CHECK(std::string(e.what()).find(path) != std::string::npos, "the error does not name the file");
        return 0;
    }
    // Docker refuses a daemon.json that is not an object; a "[]" taken for the defaults hides a
    // broken file.
    auto json = nlohmann::json::parse(data, data + size, nullptr, false);
    FUZZ_CHECK(json.is_discarded() || json.is_object(), "a host config that is not an object was accepted");
    check_words(config.dns, "dns");
    check_words(config.dns_search, "dns-search");
    check_words(config.dns_options, "dns-opts");
    const std::string& bridge = config.bridge.bridge;
    FUZZ_CHECK(!bridge.empty() && bridge.size() <= 15 && bridge.find('/') == std::string::npos &&
                   !hutch::validate::has_space_or_control(bridge),
               "a bad bridge name was accepted: " + bridge);
    const std::string& bip = config.bridge.bip;
    auto slash = bip.find('/');
    FUZZ_CHECK(slash != std::string::npos, "a bip without a prefix was accepted: " + bip);
    auto gateway = hutch::net::Ipv4::parse(bip.substr(0, slash));
    FUZZ_CHECK(gateway && gateway->str() == bip.substr(0, slash), "a bip gateway that is not an address: " + bip);
    std::string prefix = bip.substr(slash + 1);
    FUZZ_CHECK(!prefix.empty() && prefix.find_first_not_of("0123456789") == std::string::npos &&
                   std::stoi(prefix) >= 8 && std::stoi(prefix) <= 30,
               "a bip prefix outside 8-30: " + bip);
    return 0;
}
