// The HTTP GET the registry client needs, over libcurl, with one RAII owner per curl object.
//
// Every transfer is bounded: connect timeout, low-speed abort (a transfer moving nothing for the
// stall time), and a byte limit on the body (a manifest or token bigger than expected is hostile
// or broken, and is refused rather than buffered). Only http and https are spoken, on redirects
// too. A 2xx body can stream into a sink (a blob being written to the store); any other body is
// kept, bounded, for the error message.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hutch::image::http {

struct Limits {
    long connect_timeout_seconds = 15;
    long stall_timeout_seconds = 30;
};

struct Response {
    long status = 0;
    std::string body;  // the body when no sink took it (bounded by Request::limit)
    std::vector<std::pair<std::string, std::string>> headers;  // of the last response; names lowercase
    std::string url;   // the URL that answered (after redirects)

    // The last value of header `name` (lowercase), "" when absent.
    std::string header(const std::string& name) const;
    std::vector<std::string> all(const std::string& name) const;
};

struct Request {
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::size_t limit = 0;             // the most body bytes accepted
    // Registries redirect blob downloads to storage hosts. libcurl (since 7.58, with the port and
    // scheme compared since 7.83.1 for CVE-2022-27776) does not send a custom Authorization
    // header to a host other than the first one; CURLOPT_UNRESTRICTED_AUTH stays off.
    bool follow_redirects = false;
    std::function<void(const char*, std::size_t)> sink;  // takes a 2xx body when set
};

// Performs the GET. A transport failure (unreachable, timeout, TLS, body over the limit) is an
// Error "<what>: GET <url>: <curl's message>"; an exception thrown by the sink is rethrown.
// Any HTTP status is returned for the caller to judge.
Response get(const Request& request, const Limits& limits, const std::string& what);

// `text` percent-encoded for a URL query.
std::string escape(const std::string& text);

}  // namespace hutch::image::http
