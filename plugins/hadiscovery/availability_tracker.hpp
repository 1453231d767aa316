// Availability of devices that have no last will of their own: which MQTT clients feed which device, so
// the device is `online` while at least one of them is connected and `offline` when the last one leaves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mqs::hadiscovery {

// Thread: broker thread only. fed() runs per message: O(log n). Bounded by `max_bytes`: a new
// (client, device) pair that does not fit is not tracked and is counted in refusals(). A device with no
// feeding client left is dropped entirely, so offline devices cost nothing.
class AvailabilityTracker {
public:
    explicit AvailabilityTracker(size_t max_bytes);

    // True if the device had no feeding client before (it just came (back) online): publish `online`.
    bool fed(std::string_view client_id, std::string_view device_id);
    // Devices (sorted) that no connected client feeds any more: publish `offline` for each.
    std::vector<std::string> clientGone(std::string_view client_id);
    // The device was forgotten (inventory): stop tracking it; no `offline` is due.
    void forgetDevice(std::string_view device_id);
    bool online(std::string_view device_id) const;
    std::vector<std::string> feeders(std::string_view device_id) const;  // sorted

    size_t deviceCount() const { return devices_.size(); }
    size_t clientCount() const { return clients_.size(); }
    size_t bytes() const { return bytes_; }
    uint64_t refusals() const { return refusals_; }

    static constexpr size_t kPairOverhead = 96;  // two set nodes, two strings' headers
    static constexpr size_t kKeyOverhead = 64;   // a map node per new client or device

private:
    size_t max_bytes_;
    std::map<std::string, std::set<std::string, std::less<>>, std::less<>> clients_;  // client -> devices
    std::map<std::string, std::set<std::string, std::less<>>, std::less<>> devices_;  // device -> clients
    size_t bytes_ = 0;
    uint64_t refusals_ = 0;
};

}  // namespace mqs::hadiscovery
