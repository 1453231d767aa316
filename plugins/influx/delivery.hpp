// What to do with each HTTP answer: write, split to isolate bad lines, quarantine, or keep and retry
// after a backoff (Retry-After honoured). Pure logic over a Transport, unit-tested with a scripted server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "influx/batch.hpp"
#include "influx/transport.hpp"

namespace mqs::influx {

enum class StatusClass {
    Success,      // 2xx
    Reject,       // 400, 422: bad lines (parse error, field type conflict, partial write): split, quarantine
    TooLarge,     // 413: split; a single line too large is quarantined
    Credentials,  // 401, 403, 404: wrong token/user or unknown database/bucket: keep, retry, log loudly
    Throttled,    // 429, 503: honour Retry-After
    Retry,        // other statuses and network errors: exponential backoff with jitter
};

StatusClass classify(const HttpResponse& response);

struct QuarantinedLine {
    std::string line;
    long status = 0;
    std::string message;
};

struct DeliveryResult {
    bool done = false;  // every line written or quarantined; the batch can be acknowledged
    uint64_t written = 0;
    uint64_t requests = 0;
    uint64_t failed_requests = 0;
    std::vector<QuarantinedLine> quarantined;
    // When !done: the answer that stopped the attempt.
    StatusClass stopped_by = StatusClass::Success;
    HttpResponse last;
};

// Sends the batch, splitting on 400/413 (depth first, so lines stay in order) down to single lines,
// which are quarantined. Stops at the first answer that calls for a retry: the whole batch is sent
// again later (already written lines are rewritten with the same timestamps: no duplicates).
DeliveryResult deliver(Transport& transport, const Batch& batch, const std::atomic<bool>* abort = nullptr);

// Exponential backoff with jitter: attempt n waits a random time in [d/2, d], d = min(max, initial * 2^n).
// A server's Retry-After replaces the computed delay (capped at one hour).
class Backoff {
public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed = std::random_device{}());
    std::chrono::milliseconds next(std::optional<std::chrono::milliseconds> retry_after = std::nullopt);
    void reset() { attempt_ = 0; }
    unsigned attempt() const { return attempt_; }

private:
    std::chrono::milliseconds initial_, max_;
    unsigned attempt_ = 0;
    std::mt19937_64 rng_;
};

std::string describe(const HttpResponse& response);

}  // namespace mqs::influx
