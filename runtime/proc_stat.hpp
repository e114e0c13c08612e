// /proc/PID/stat read once and split into its fields, as proc(5) numbers them: field(1) is the
// pid, field(2) the command name (which may hold spaces and parentheses, so the fields after it
// are counted from its last ')'), field(3) the state, field(4) the parent, field(22) the start
// time. What pasta adoption, the image store's lock owners, the OCI state and the profiler's
// tracer ask of a process.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hutch {

class ProcStat {
public:
    explicit ProcStat(pid_t pid);
    // Whether the process existed when it was read.
    bool exists() const { return !fields_.empty(); }
    // Field `n` (from 1); "" past the end or when there is no such process.
    const std::string& field(int n) const;

private:
    std::vector<std::string> fields_;  // fields_[0] is field 1
};

}  // namespace hutch
