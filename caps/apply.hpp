// Applying a process's privileges just before execve: bounding set, user and groups, the
// capability sets, no_new_privs. The order is forced by the kernel:
//   1. drop from the bounding set while still root with CAP_SETPCAP;
//   2. keep permitted capabilities across the uid change (PR_SET_KEEPCAPS), then setgroups,
//      setresgid, setresuid;
//   3. capset effective/permitted/inheritable, then the ambient set (which needs them);
//   4. no_new_privs last among these, so nothing after it can gain privilege.
// A seccomp filter goes in after step 3 (container_init.cpp): the kernel accepts it from a
// process with CAP_SYS_ADMIN or no_new_privs, so step 3 may keep CAP_SYS_ADMIN for that one
// call (`extra`) and a last set_capabilities() drops it, as runc does; no_new_privs then stays
// off unless asked for, as in Docker.
#pragma once

#include "caps/capabilities.hpp"
#include "runtime/spec.hpp"

namespace hutch::caps {

struct ProcessPrivileges {
    CapSet bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
    static ProcessPrivileges from(const CapabilitySets& sets);
};

void drop_bounding_set(CapSet keep, const HostCaps& host);                           // step 1
void switch_user(const User& user);                                                // step 2
void set_capabilities(const ProcessPrivileges& privileges, CapSet extra, const HostCaps& host);  // 3
void set_ambient(CapSet ambient, const HostCaps& host);                            // step 3
void set_no_new_privileges();                                                      // step 4

}  // namespace hutch::caps
