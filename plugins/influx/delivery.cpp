// Status handling and backoff; see delivery.hpp and the status-code table in docs/influx.md.
// No I/O of its own: everything goes through the Transport it is given.
#include "influx/delivery.hpp"

#include <algorithm>
#include <utility>

namespace mqs::influx {

StatusClass classify(const HttpResponse& r) {
    if (r.status >= 200 && r.status <= 299) return StatusClass::Success;
    switch (r.status) {
        case 400:
        case 422: return StatusClass::Reject;
        case 413: return StatusClass::TooLarge;
        case 401:
        case 403:
        case 404: return StatusClass::Credentials;
        case 429:
        case 503: return StatusClass::Throttled;
        default: return StatusClass::Retry;
    }
}

std::string describe(const HttpResponse& r) {
    if (r.status == 0) return "no answer: " + r.error;
    std::string out = "HTTP " + std::to_string(r.status);
    if (!r.message.empty()) out += ": " + r.message;
    return out;
}

DeliveryResult deliver(Transport& transport, const Batch& batch, const std::atomic<bool>* abort) {
    DeliveryResult result;
    // Ranges still to send, last one on top; pushing the halves in reverse keeps the order of lines.
    std::vector<std::pair<size_t, size_t>> todo{{0, batch.lines()}};
    while (!todo.empty()) {
        if (abort && abort->load(std::memory_order_relaxed)) {
            result.stopped_by = StatusClass::Retry;
            result.last.error = "shutting down";
            return result;
        }
        auto [first, last] = todo.back();
        todo.pop_back();
        if (first >= last) continue;
        HttpResponse r = transport.post(batch.body(first, last));
        ++result.requests;
        StatusClass c = classify(r);
        if (c == StatusClass::Success) {
            result.written += last - first;
            continue;
        }
        ++result.failed_requests;
        if (c == StatusClass::Reject || c == StatusClass::TooLarge) {
            if (last - first == 1) {
                result.quarantined.push_back({std::string(batch.line(first)), r.status, r.message});
                continue;
            }
            size_t mid = first + (last - first) / 2;
            todo.emplace_back(mid, last);
            todo.emplace_back(first, mid);
            continue;
        }
        result.stopped_by = c;
        result.last = std::move(r);
        return result;
    }
    result.done = true;
    return result;
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(initial), max_(std::max(max, initial)), rng_(seed) {}

std::chrono::milliseconds Backoff::next(std::optional<std::chrono::milliseconds> retry_after) {
    const unsigned n = attempt_++;
    if (retry_after) return std::min<std::chrono::milliseconds>(*retry_after, std::chrono::hours(1));
    int64_t d = initial_.count();
    for (unsigned i = 0; i < n && d < max_.count(); ++i) d *= 2;
    d = std::min<int64_t>(d, max_.count());
    std::uniform_int_distribution<int64_t> jitter(d / 2, d);
    return std::chrono::milliseconds(jitter(rng_));
}

}  // namespace mqs::influx
