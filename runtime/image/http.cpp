// libcurl behind runtime/image/http.hpp: one easy handle per request (a pull makes a handful), its
// callbacks writing into a Transfer that tracks which response (of a redirect chain) is current.
#include "runtime/image/http.hpp"

#include <curl/curl.h>

#include <cctype>
#include <exception>
#include <mutex>

#include "runtime/error.hpp"

namespace hutch::image::http {
namespace {

// curl_global_init is not thread-safe and must run once before any handle.
void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

class Easy {
public:
    Easy() : handle_(curl_easy_init()) {
        if (!handle_) throw Error("libcurl: curl_easy_init failed");
    }
    Easy(const Easy&) = delete;
    Easy& operator=(const Easy&) = delete;
    ~Easy() { curl_easy_cleanup(handle_); }
    CURL* get() const { return handle_; }

private:
    CURL* handle_;
};

class HeaderList {
public:
    HeaderList() = default;
    HeaderList(const HeaderList&) = delete;
    HeaderList& operator=(const HeaderList&) = delete;
    ~HeaderList() { curl_slist_free_all(list_); }
    void append(const std::string& line) {
        curl_slist* next = curl_slist_append(list_, line.c_str());
        if (!next) throw Error("libcurl: curl_slist_append failed");
        list_ = next;
    }
    curl_slist* get() const { return list_; }

private:
    curl_slist* list_ = nullptr;
};

// What the callbacks fill. A new status line starts a new response (a redirect's target).
struct Transfer {
    const Request* request;
    Response response;
    bool over_limit = false;
    std::exception_ptr sink_error;
    std::size_t received = 0;
};

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    std::string line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
        t.response.headers.clear();
        t.response.body.clear();
        t.received = 0;
        std::size_t space = line.find(' ');
        t.response.status = space == std::string::npos ? 0 : std::atol(line.c_str() + space + 1);
        return size * count;
    }
    std::size_t colon = line.find(':');
    if (colon != std::string::npos && t.response.headers.size() < 200) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        t.response.headers.emplace_back(name, trim(line.substr(colon + 1)));
    }
    return size * count;
}

// Returning less than given makes curl abort with CURLE_WRITE_ERROR; no exception may cross C.
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    std::size_t n = size * count;
    t.received += n;
    if (t.received > t.request->limit) {
        t.over_limit = true;
        return 0;
    }
    bool success = t.response.status >= 200 && t.response.status < 300;
    if (success && t.request->sink) {
        try {
            t.request->sink(data, n);
        } catch (...) {
            t.sink_error = std::current_exception();
            return 0;
        }
    } else {
        t.response.body.append(data, n);
    }
    return n;
}

void set(CURL* h, CURLoption option, auto value) {
    if (CURLcode rc = curl_easy_setopt(h, option, value); rc != CURLE_OK)
        throw Error(std::string("libcurl: curl_easy_setopt: ") + curl_easy_strerror(rc));
}

}  // namespace

std::string Response::header(const std::string& name) const {
    std::string value;
    for (const auto& [n, v] : headers)
        if (n == name) value = v;
    return value;
}

std::vector<std::string> Response::all(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers)
        if (n == name) out.push_back(v);
    return out;
}

Response get(const Request& request, const Limits& limits, const std::string& what) {
    global_init();
    Easy easy;
    HeaderList headers;
    for (const auto& line : request.headers) headers.append(line);
    Transfer transfer{&request, {}, false, nullptr, 0};
    char error[CURL_ERROR_SIZE] = "";
    CURL* h = easy.get();
    set(h, CURLOPT_URL, request.url.c_str());
    set(h, CURLOPT_PROTOCOLS_STR, "http,https");
    set(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(h, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
    set(h, CURLOPT_MAXREDIRS, 5L);
    set(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts in a process that handles signals
    set(h, CURLOPT_CONNECTTIMEOUT, limits.connect_timeout_seconds);
    set(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    set(h, CURLOPT_LOW_SPEED_TIME, limits.stall_timeout_seconds);
    set(h, CURLOPT_USERAGENT, "hutch/" HUTCH_VERSION);
    set(h, CURLOPT_HTTPHEADER, headers.get());
    set(h, CURLOPT_HEADERFUNCTION, on_header);
    set(h, CURLOPT_HEADERDATA, &transfer);
    set(h, CURLOPT_WRITEFUNCTION, on_body);
    set(h, CURLOPT_WRITEDATA, &transfer);
    set(h, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl_easy_perform(h);
    if (transfer.sink_error) std::rethrow_exception(transfer.sink_error);
    if (transfer.over_limit)
        throw Error(what + ": GET " + request.url + ": response larger than " + std::to_string(request.limit) + " bytes");
    if (rc != CURLE_OK)
        throw Error(what + ": GET " + request.url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
    char* effective = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) transfer.response.url = effective;
    return std::move(transfer.response);
}

std::string escape(const std::string& text) {
    global_init();
    Easy easy;
    char* out = curl_easy_escape(easy.get(), text.c_str(), static_cast<int>(text.size()));
    if (!out) throw Error("libcurl: curl_easy_escape failed");
    std::string result(out);
    curl_free(out);
    return result;
}

}  // namespace hutch::image::http
