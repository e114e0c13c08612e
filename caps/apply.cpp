#include "caps/apply.hpp"

#include <cap-ng.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "runtime/error.hpp"
#include "runtime/explain.hpp"

namespace hutch::caps {
namespace {

std::string names_line(CapSet set) {
    std::string out;
    for (const auto& name : names_of(set)) out += (out.empty() ? "" : "|") + name;
    return out.empty() ? "0" : out;
}

}  // namespace

ProcessPrivileges ProcessPrivileges::from(const CapabilitySets& s) {
    return {parse_names(s.bounding, "process.capabilities.bounding"),
            parse_names(s.effective, "process.capabilities.effective"),
            parse_names(s.permitted, "process.capabilities.permitted"),
            parse_names(s.inheritable, "process.capabilities.inheritable"),
            parse_names(s.ambient, "process.capabilities.ambient")};
}

void drop_bounding_set(CapSet keep, const HostCaps& host) {
    CapSet to_drop = host.all() & ~keep;
    if (explain::enabled() && to_drop)
        explain::line("prctl(PR_CAPBSET_DROP, cap) for each of " + names_line(to_drop));
    for (int cap = 0; cap <= host.last_cap; ++cap) {
        if ((to_drop & bit(cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            throw SysError("drop from the bounding set", "prctl(PR_CAPBSET_DROP)", name_of(cap), errno);
    }
}

void switch_user(const User& user) {
    explain::line("prctl(PR_SET_KEEPCAPS, 1)");
    check(::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "switch user", "prctl(PR_SET_KEEPCAPS)");
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    if (explain::enabled()) {
        std::string list;
        for (gid_t g : groups) list += (list.empty() ? "" : ", ") + std::to_string(g);
        explain::line("setgroups(" + std::to_string(groups.size()) + ", [" + list + "])");
        explain::line("setresgid(" + std::to_string(user.gid) + ", " + std::to_string(user.gid) +
                      ", " + std::to_string(user.gid) + ")");
        explain::line("setresuid(" + std::to_string(user.uid) + ", " + std::to_string(user.uid) +
                      ", " + std::to_string(user.uid) + ")");
    }
    check(::setgroups(groups.size(), groups.data()), "switch user", "setgroups");
    check(::setresgid(user.gid, user.gid, user.gid), "switch user", "setresgid", std::to_string(user.gid));
    check(::setresuid(user.uid, user.uid, user.uid), "switch user", "setresuid", std::to_string(user.uid));
    explain::line("prctl(PR_SET_KEEPCAPS, 0)");
    check(::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "switch user", "prctl(PR_SET_KEEPCAPS)");
}

void set_capabilities(const ProcessPrivileges& p, CapSet extra, const HostCaps& host) {
    CapSet effective = p.effective | extra, permitted = p.permitted | extra;
    explain::line("capset(effective=" + names_line(effective) + ", permitted=" + names_line(permitted) +
                  ", inheritable=" + names_line(p.inheritable) + ")" +
                  (extra ? "   # " + names_line(extra) + " kept for the seccomp filter only" : ""));
    // libcap-ng builds the capset(2) call.
    capng_clear(CAPNG_SELECT_CAPS);
    for (int cap = 0; cap <= host.last_cap; ++cap) {
        auto type = static_cast<capng_type_t>((effective & bit(cap) ? CAPNG_EFFECTIVE : 0) |
                                              (permitted & bit(cap) ? CAPNG_PERMITTED : 0) |
                                              (p.inheritable & bit(cap) ? CAPNG_INHERITABLE : 0));
        if (type && capng_update(CAPNG_ADD, type, static_cast<unsigned>(cap)) != 0)
            throw Error("set capabilities: libcap-ng does not know " + name_of(cap));
    }
    if (capng_apply(CAPNG_SELECT_CAPS) != 0)
        throw SysError("set capabilities", "capset", names_line(permitted), errno ? errno : EPERM);
}

void set_ambient(CapSet ambient, const HostCaps& host) {
    explain::line("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)" +
                  std::string(ambient ? " then PR_CAP_AMBIENT_RAISE " + names_line(ambient) : ""));
    check(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "set capabilities",
          "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    for (int cap = 0; cap <= host.last_cap; ++cap) {
        if ((ambient & bit(cap)) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
            throw SysError("set capabilities", "prctl(PR_CAP_AMBIENT_RAISE)", name_of(cap), errno);
    }
}

void set_no_new_privileges() {
    explain::line("prctl(PR_SET_NO_NEW_PRIVS, 1)");
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace hutch::caps
