// Jittered, rate-limited re-publication queue; see republish_queue.hpp.
#include "hadiscovery/republish_queue.hpp"

#include <algorithm>
#include <cmath>

namespace mqs::hadiscovery {

RepublishQueue::RepublishQueue(std::chrono::steady_clock::duration jitter, double rate_per_second, uint64_t seed)
    : jitter_(std::max(jitter, std::chrono::steady_clock::duration::zero())), rate_(rate_per_second), rng_(seed) {}

void RepublishQueue::scheduleAll(const std::vector<std::string>& device_ids, Clock::TimePoint now) {
    const bool running = !queue_.empty();
    for (const auto& id : device_ids) {
        if (queued_.insert(id).second) queue_.push_back(id);
    }
    if (running || queue_.empty()) return;  // a run going on keeps its start and pacing
    std::uniform_int_distribution<int64_t> pick(0, jitter_.count());
    start_ = now + std::chrono::steady_clock::duration(pick(rng_));
    last_ = start_;
    credit_ = 0;
}

std::vector<std::string> RepublishQueue::due(Clock::TimePoint now) {
    std::vector<std::string> out;
    if (queue_.empty() || now < start_) return out;
    size_t n = queue_.size();
    if (rate_ > 0) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        last_ = now;
        // At most one second's worth (and at least one id) saved up, so a late tick does not burst.
        credit_ = std::min(credit_ + rate_ * elapsed, std::max(1.0, rate_));
        n = std::min(n, static_cast<size_t>(std::floor(credit_)));
        credit_ -= static_cast<double>(n);
    }
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        queued_.erase(queued_.find(queue_.front()));
        out.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    if (queue_.empty()) credit_ = 0;
    return out;
}

void RepublishQueue::remove(std::string_view device_id) {
    const auto it = queued_.find(device_id);
    if (it == queued_.end()) return;
    queued_.erase(it);
    queue_.erase(std::find(queue_.begin(), queue_.end(), device_id));
    if (queue_.empty()) credit_ = 0;
}

void RepublishQueue::clear() {
    queue_.clear();
    queued_.clear();
    credit_ = 0;
}

}  // namespace mqs::hadiscovery
