// The container's environment as docker builds it from `-e` and `--env-file`: one parser for
// `hutch run`/`create` and `hutch exec`, so both take the same forms.
//
//   -e NAME=VALUE   sets NAME (a variable set twice keeps its first position, as docker's does)
//   -e NAME         takes NAME's value from hutch's own environment; when unset there, NAME is
//                   unset in the container's too (docker's rule)
//   --env-file F    one such entry a line; blank lines and lines starting with # are skipped,
//                   leading whitespace trimmed, a trailing \r dropped (docker's kvfile rules)
//
// As in docker the caller's environment is read where the command is given (resolve), and the
// result is applied over the environment the container already has (apply): for exec that is
// the container's own, so `exec -e NAME` with NAME unset hides the container's NAME.
//
// A name is never empty and nothing may hold a NUL (execve would cut the string there, so the
// container would see another variable than the one asked for): UsageError naming it.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace hutch::env {

using Strings = std::vector<std::string>;
// getenv(3)'s shape: the caller's environment (tests pass fakes).
using Getenv = std::function<const char*(const char*)>;

// One `-e` entry resolved against the caller's environment: NAME=VALUE, or NAME alone when
// NAME is not set there (meaning: unset it).
std::string resolve(const std::string& entry, const Getenv& getenv);
// The entries of an --env-file (named `path` in messages) whose text is `text`, unresolved.
Strings file_entries(const std::string& path, const std::string& text);
// Applies one resolved entry to `env`: NAME=VALUE sets NAME in place, NAME alone removes it.
void apply(Strings& env, const std::string& resolved);
// resolve() then apply().
void add(Strings& env, const std::string& entry, const Getenv& getenv);
// Whether `env` sets `name`.
bool has(const Strings& env, const std::string& name);

}  // namespace hutch::env
