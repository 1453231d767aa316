// HTTP delivery of line-protocol bodies to one InfluxDB-compatible server (1.x /write, 2.x /api/v2/write)
// with libcurl: keep-alive, gzip, timeouts, TLS verification. Used only on the sink's sender thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "influx/rules.hpp"
#include "influx/timestamp.hpp"

namespace mqs::influx {

struct HttpResponse {
    long status = 0;                                  // 0: no HTTP answer (see error)
    std::string message;                              // server's error text ("error"/"message" of its JSON), cut short
    std::optional<std::chrono::milliseconds> retry_after;
    std::string error;                                // transport error (connect refused, timeout, TLS, ...)
};

// Thread: one sender thread. Errors come back in HttpResponse, never as exceptions (after construction).
class Transport {
public:
    virtual ~Transport() = default;
    virtual HttpResponse post(std::string_view body) = 0;
};

// libcurl transport. Construction throws std::runtime_error when curl cannot be set up.
// `abort` (may be null) stops a request in progress as soon as it turns true (shutdown).
std::unique_ptr<Transport> makeCurlTransport(const SinkConfig& sink, Precision precision, const std::atomic<bool>* abort);

// The write URL for a sink (exposed for tests and log lines; the 1.x password is not in it).
std::string writeUrl(const SinkConfig& sink, Precision precision);

// Parses a Retry-After value: delay seconds or an HTTP date (relative to `now`).
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now);

// gzip (RFC 1952) of `data`, for Content-Encoding: gzip.
std::string gzipCompress(std::string_view data);

}  // namespace mqs::influx
