// The /etc/hosts files of the containers on a user-defined network: what NetworkStore's
// announce and withdraw write into them (netns/network.cpp), each file edited in place, since it
// is bind-mounted into its container, and what the container's root wrote into it kept.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "netns/network.hpp"

namespace hutch::net::hosts_files {

// How a peer appears in another container's /etc/hosts: its address, then its name, its aliases
// and its short id (the id makes each line unique to one container). No newline.
std::string peer_text(const Endpoint& peer);
// The whole /etc/hosts of `self`, naming those of `peers` that are not itself.
std::string hosts_of(const Endpoint& self, const std::vector<Endpoint>& peers);
// Writes `content` over `path` without replacing the inode (a running container would keep
// seeing the old file after a rename). A missing file (the container is gone) is skipped.
void write_in_place(const std::string& path, const std::string& content);
// Adds `text` as a line of its own at the end of the file at `path`. A missing file is
// skipped; a failure is a warning, so one peer's file cannot stop the others'.
void append_line(const std::string& path, const std::string& text);
// Takes every line that is exactly `text` out of the file at `path`, keeping the rest. A file
// past 4 MiB is not hutch's writing alone: it gets `fallback()` instead, when given. A failure
// is a warning, as in append_line.
void remove_line(const std::string& path, const std::string& text, const std::function<std::string()>& fallback);

}  // namespace hutch::net::hosts_files
