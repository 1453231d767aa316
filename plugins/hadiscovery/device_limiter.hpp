// Flood protection for discovery: how many new devices a rule may bring to Home Assistant per time
// window, so a misbehaving publisher cannot create thousands of devices at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"

namespace mqs::hadiscovery {

using TimePoint = mqs::Clock::TimePoint;

// Thread: broker thread only. A device admitted once is known (until forget()) and always admitted again;
// a new device counts against its rule's sliding window of `window`, at most `max_new_devices` per window
// (0: no limit). Known devices are bounded by `max_known_bytes`: when full, new devices are refused and
// counted like a flood. Each rule keeps the last kSampleSize refused device ids for the log.
class DeviceLimiter {
public:
    DeviceLimiter(size_t max_new_devices, std::chrono::steady_clock::duration window,
                  size_t max_known_bytes = 16 * 1024 * 1024);

    bool admit(std::string_view rule, std::string_view device_id, TimePoint now);
    uint64_t refused(std::string_view rule) const;
    std::vector<std::string> refusedSample(std::string_view rule) const;  // oldest first, no duplicates
    void forget(std::string_view device_id);
    // A device that exists already (the inventory loaded at start): known without using the window.
    // False when full.
    bool addKnown(std::string_view device_id);
    bool known(std::string_view device_id) const;

    uint64_t refusedTotal() const { return refused_total_; }
    size_t knownCount() const { return known_.size(); }
    size_t bytes() const { return bytes_; }

    static constexpr size_t kSampleSize = 8;
    static constexpr size_t kEntryOverhead = 48;

private:
    struct RuleState {
        std::deque<TimePoint> admitted;  // times of the new devices admitted in the window
        uint64_t refused = 0;
        std::deque<std::string> sample;
    };

    size_t max_new_;
    std::chrono::steady_clock::duration window_;
    size_t max_known_bytes_;
    std::set<std::string, std::less<>> known_;
    size_t bytes_ = 0;
    std::map<std::string, RuleState, std::less<>> rules_;  // one per configured rule that saw a device
    uint64_t refused_total_ = 0;
};

}  // namespace mqs::hadiscovery
