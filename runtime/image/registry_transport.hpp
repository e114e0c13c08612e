// Which scheme and host a registry is spoken to with.
//
// Docker's rule (registry/config.go): https, except for registries it calls insecure: any on
// 127.0.0.0/8 (the default insecure CIDR) and those in daemon.json's insecure-registries, by
// "host:port" or by a CIDR holding the registry's address. hutch adds "localhost" and ::1 and
// checks CIDRs only against IP literals: it never resolves a name to decide to drop TLS. Docker
// tries TLS first for an insecure registry; hutch goes to plain http directly.
#pragma once

#include <string>
#include <vector>

namespace hutch::image::registry {

// "http" or "https" for a reference's domain ("127.0.0.1:5000", "[::1]:5000", "quay.io").
std::string scheme_for(const std::string& domain, const std::vector<std::string>& insecure_registries);

// The host the API lives on: docker.io's is registry-1.docker.io, every other is its domain.
std::string api_host(const std::string& domain);

}  // namespace hutch::image::registry
