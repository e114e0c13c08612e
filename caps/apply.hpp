// Applying a process's privileges just before execve: bounding set, user and groups, the
// capability sets, no_new_privs. The order is forced by the kernel:
//   1. drop from the bounding set while still root with CAP_SETPCAP;
//   2. keep permitted capabilities across the uid change (PR_SET_KEEPCAPS), then setgroups,
//      setresgid, setresuid;
//   3. capset effective/permitted/inheritable, then the ambient set (which needs them);
//   4. no_new_privs last among these, so nothing after it can gain privilege.
#pragma once

#include "caps/capabilities.hpp"
#include "runtime/spec.hpp"

namespace hutch::caps {

struct ProcessPrivileges {
    CapSet bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
    static ProcessPrivileges from(const CapabilitySets& sets);
};

void apply_user_and_capabilities(const User& user, const ProcessPrivileges& privileges,
                                 const HostCaps& host);
void set_no_new_privileges();

}  // namespace hutch::caps
