#include "caps/apply.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <vector>

#include "runtime/error.hpp"
#include "runtime/sys/describe.hpp"
#include "runtime/sys/kernel.hpp"

namespace hutch::caps {

ProcessPrivileges ProcessPrivileges::from(const CapabilitySets& s) {
    return {parse_names(s.bounding, "process.capabilities.bounding"),
            parse_names(s.effective, "process.capabilities.effective"),
            parse_names(s.permitted, "process.capabilities.permitted"),
            parse_names(s.inheritable, "process.capabilities.inheritable"),
            parse_names(s.ambient, "process.capabilities.ambient")};
}

// One prctl per capability: the kernel drops them one at a time.
void drop_bounding_set(CapSet keep, const HostCaps& host) {
    CapSet to_drop = host.all() & ~keep;
    for (int cap = 0; cap <= host.last_cap; ++cap) {
        if ((to_drop & bit(cap)) && sys::kernel().prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap)) != 0)
            throw SysError("drop from the bounding set", "prctl(PR_CAPBSET_DROP)", name_of(cap), errno);
    }
}

void switch_user(const User& user) {
    sys::Kernel& k = sys::kernel();
    check(k.prctl(PR_SET_KEEPCAPS, 1), "switch user", "prctl(PR_SET_KEEPCAPS)");
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    check(k.setgroups(groups.size(), groups.data()), "switch user", "setgroups");
    check(k.setresgid(user.gid, user.gid, user.gid), "switch user", "setresgid", std::to_string(user.gid));
    check(k.setresuid(user.uid, user.uid, user.uid), "switch user", "setresuid", std::to_string(user.uid));
    check(k.prctl(PR_SET_KEEPCAPS, 0), "switch user", "prctl(PR_SET_KEEPCAPS)");
}

void set_capabilities(const ProcessPrivileges& p, CapSet extra, const HostCaps& host) {
    const CapSet known = host.all();
    CapSet effective = (p.effective | extra) & known, permitted = (p.permitted | extra) & known;
    if (sys::kernel().capset(effective, permitted, p.inheritable & known) != 0)
        throw SysError("set capabilities", "capset", sys::capability_set(permitted), errno);
}

void set_ambient(CapSet ambient, const HostCaps& host) {
    sys::Kernel& k = sys::kernel();
    check(k.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL), "set capabilities", "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    for (int cap = 0; cap <= host.last_cap; ++cap) {
        if ((ambient & bit(cap)) && k.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap)) != 0)
            throw SysError("set capabilities", "prctl(PR_CAP_AMBIENT_RAISE)", name_of(cap), errno);
    }
}

void set_no_new_privileges() {
    check(sys::kernel().prctl(PR_SET_NO_NEW_PRIVS, 1), "set no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace hutch::caps
