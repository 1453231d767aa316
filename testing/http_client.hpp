// Blocking HTTP GET/POST through libcurl for tests and benchmarks (servers on loopback), with timeouts.
#pragma once

#include <chrono>
#include <string>

namespace mqs::testing {

struct HttpResult {
    long status = 0;  // 0: no answer (refused, timeout, TLS failure)
    std::string body;
    std::string error;  // libcurl's text when status is 0, for failure messages only
};

// `ca_file`: PEM bundle trusted for https URLs (empty: the system store); with it the host name is
// not checked. Any thread; each call uses its own handle.
HttpResult httpGet(const std::string& url, const std::string& ca_file = "",
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));
HttpResult httpPost(const std::string& url, const std::string& body,
                    const std::string& content_type = "application/x-www-form-urlencoded",
                    const std::string& ca_file = "", std::chrono::milliseconds timeout = std::chrono::seconds(10));
std::string urlEncode(const std::string& text);

}  // namespace mqs::testing
