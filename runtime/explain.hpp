// --explain: every kernel-level step hutch takes, printed as the call it makes.
//
// One line per call on stderr, written with a single write(2) so lines from the parent and the
// container's init never interleave mid-line. The actor prefix tells a student which process
// made the call: "parent" is hutch on the host, "child" is the container's first process before
// it becomes the user's command.
#pragma once

#include <string>

namespace hutch::explain {

void enable(bool on);
bool enabled();
// Called first thing in main(): with HUTCH_EXPLAIN_TIMES, enable() then prints when main()
// began, so the stamps account for the start from there (before it: exec, loader, constructors).
void main_began();
// Whether lookups (openat2, fstat, ...) are explained too: HUTCH_EXPLAIN=all. By default only
// the steps that change something are (runtime/sys/kernel.hpp).
bool lookups();

// Who is speaking: set once in the child right after clone.
void set_actor(const char* actor);

// Prints "[actor] text" when enabled. Cheap when disabled: callers build the text lazily
// through `if (explain::enabled())` where the text is costly.
void line(const std::string& text);

// A teaching note beside the calls ("# why"), printed as its own line when enabled.
void comment(const std::string& text);

// Shortens every later line: occurrences of `prefix` print as `$name`, and the definition is
// printed once ("# ROOT=/run/hutch/..."), so lines stay readable and still exact.
void define(const std::string& name, const std::string& prefix);

// Quotes a string as C source would show it: "/proc" or NULL for an empty optional.
std::string quote(const std::string& s);

}  // namespace hutch::explain
