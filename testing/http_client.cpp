// libcurl easy handles, one per request; see http_client.hpp.
#include "testing/http_client.hpp"

#include <curl/curl.h>

#include <mutex>

namespace mqs::testing {
namespace {

void globalInitOnce() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t collect(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

HttpResult request(const std::string& url, const std::string* body, const std::string& content_type,
                   const std::string& ca_file, std::chrono::milliseconds timeout) {
    globalInitOnce();
    HttpResult r;
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        r.error = "curl_easy_init failed";
        return r;
    }
    char error[CURL_ERROR_SIZE] = "";
    curl_slist* headers = nullptr;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // loopback servers only: an http_proxy variable must not apply
    if (!ca_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
        // Chain only: some test servers present a certificate for another host name on purpose.
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (body != nullptr) {
        headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    }
    const CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
        r.body.clear();  // incomplete: report no answer rather than a truncated body
        r.error = error[0] != '\0' ? error : curl_easy_strerror(rc);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return r;
}

}  // namespace

HttpResult httpGet(const std::string& url, const std::string& ca_file, std::chrono::milliseconds timeout) {
    return request(url, nullptr, "", ca_file, timeout);
}

HttpResult httpPost(const std::string& url, const std::string& body, const std::string& content_type,
                    const std::string& ca_file, std::chrono::milliseconds timeout) {
    return request(url, &body, content_type, ca_file, timeout);
}

std::string urlEncode(const std::string& text) {
    globalInitOnce();
    CURL* curl = curl_easy_init();
    char* e = curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size()));
    std::string out = e != nullptr ? e : "";
    curl_free(e);
    curl_easy_cleanup(curl);
    return out;
}

}  // namespace mqs::testing
