// Pacing of the re-publication of every discovery config after Home Assistant's birth message or a broker
// start: a random delay first (so many publishers do not answer at once), then at most `rate` per second.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"

namespace mqs::hadiscovery {

// Thread: broker thread only (due() on the tick). Holds each device id once: a device scheduled again while
// queued keeps its place. scheduleAll() while a run is going on adds the new ids at the end and keeps the
// current pacing. `rate_per_second` <= 0: no rate limit (everything due once the jitter has passed).
class RepublishQueue {
public:
    RepublishQueue(std::chrono::steady_clock::duration jitter, double rate_per_second, uint64_t seed);

    void scheduleAll(const std::vector<std::string>& device_ids, Clock::TimePoint now);
    // The device ids to republish now, in scheduling order: at most rate x (time since the start), and
    // at most one second's worth in one call (a late tick does not burst).
    std::vector<std::string> due(Clock::TimePoint now);
    bool empty() const { return queue_.empty(); }
    size_t size() const { return queue_.size(); }
    void remove(std::string_view device_id);  // e.g. the device was forgotten meanwhile
    void clear();
    // When the current run starts (meaningful when not empty).
    Clock::TimePoint startsAt() const { return start_; }

private:
    std::chrono::steady_clock::duration jitter_;
    double rate_;
    std::mt19937_64 rng_;
    std::deque<std::string> queue_;
    std::set<std::string, std::less<>> queued_;
    Clock::TimePoint start_{};
    Clock::TimePoint last_{};
    double credit_ = 0;
};

}  // namespace mqs::hadiscovery
