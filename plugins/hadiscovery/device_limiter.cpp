// New-device flood protection per rule; see device_limiter.hpp.
#include "hadiscovery/device_limiter.hpp"

#include <algorithm>

namespace mqs::hadiscovery {

DeviceLimiter::DeviceLimiter(size_t max_new_devices, std::chrono::steady_clock::duration window, size_t max_known_bytes)
    : max_new_(max_new_devices), window_(window), max_known_bytes_(max_known_bytes) {}

bool DeviceLimiter::admit(std::string_view rule, std::string_view device_id, TimePoint now) {
    if (known_.find(device_id) != known_.end()) return true;
    auto r = rules_.find(rule);
    if (r == rules_.end()) r = rules_.emplace(std::string(rule), RuleState{}).first;
    RuleState& state = r->second;
    while (!state.admitted.empty() && now - state.admitted.front() >= window_) state.admitted.pop_front();
    const size_t cost = kEntryOverhead + device_id.size();
    const bool window_full = max_new_ != 0 && state.admitted.size() >= max_new_;
    if (window_full || bytes_ + cost > max_known_bytes_) {
        ++state.refused;
        ++refused_total_;
        // Most recent last, each id once: the log shows who is flooding, not one id many times.
        const auto same = std::find(state.sample.begin(), state.sample.end(), device_id);
        if (same != state.sample.end()) state.sample.erase(same);
        state.sample.emplace_back(device_id);
        if (state.sample.size() > kSampleSize) state.sample.pop_front();
        return false;
    }
    if (max_new_ != 0) state.admitted.push_back(now);
    known_.emplace(device_id);
    bytes_ += cost;
    return true;
}

uint64_t DeviceLimiter::refused(std::string_view rule) const {
    const auto r = rules_.find(rule);
    return r == rules_.end() ? 0 : r->second.refused;
}

std::vector<std::string> DeviceLimiter::refusedSample(std::string_view rule) const {
    const auto r = rules_.find(rule);
    if (r == rules_.end()) return {};
    return {r->second.sample.begin(), r->second.sample.end()};
}

void DeviceLimiter::forget(std::string_view device_id) {
    const auto it = known_.find(device_id);
    if (it == known_.end()) return;
    bytes_ -= kEntryOverhead + it->size();
    known_.erase(it);
}

bool DeviceLimiter::addKnown(std::string_view device_id) {
    if (known_.find(device_id) != known_.end()) return true;
    const size_t cost = kEntryOverhead + device_id.size();
    if (bytes_ + cost > max_known_bytes_) return false;
    known_.emplace(device_id);
    bytes_ += cost;
    return true;
}

bool DeviceLimiter::known(std::string_view device_id) const {
    return known_.find(device_id) != known_.end();
}

}  // namespace mqs::hadiscovery
