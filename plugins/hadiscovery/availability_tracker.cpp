// Which clients feed which device, for devices without a last will; see availability_tracker.hpp.
#include "hadiscovery/availability_tracker.hpp"

namespace mqs::hadiscovery {

AvailabilityTracker::AvailabilityTracker(size_t max_bytes) : max_bytes_(max_bytes) {}

bool AvailabilityTracker::fed(std::string_view client_id, std::string_view device_id) {
    auto dev = devices_.find(device_id);
    if (dev != devices_.end() && dev->second.find(client_id) != dev->second.end()) return false;  // hot path
    auto client = clients_.find(client_id);
    size_t cost = kPairOverhead + client_id.size() + device_id.size();
    if (client == clients_.end()) cost += kKeyOverhead + client_id.size();
    if (dev == devices_.end()) cost += kKeyOverhead + device_id.size();
    if (bytes_ + cost > max_bytes_) {
        ++refusals_;
        return false;
    }
    bytes_ += cost;
    const bool came_online = dev == devices_.end();
    if (client == clients_.end())
        client = clients_.emplace(std::string(client_id), std::set<std::string, std::less<>>{}).first;
    if (dev == devices_.end())
        dev = devices_.emplace(std::string(device_id), std::set<std::string, std::less<>>{}).first;
    client->second.emplace(device_id);
    dev->second.emplace(client_id);
    return came_online;
}

std::vector<std::string> AvailabilityTracker::clientGone(std::string_view client_id) {
    std::vector<std::string> offline;
    const auto client = clients_.find(client_id);
    if (client == clients_.end()) return offline;
    for (const auto& device : client->second) {
        bytes_ -= kPairOverhead + client->first.size() + device.size();
        const auto dev = devices_.find(device);
        if (dev == devices_.end()) continue;
        if (const auto c = dev->second.find(client_id); c != dev->second.end()) dev->second.erase(c);
        if (dev->second.empty()) {
            bytes_ -= kKeyOverhead + dev->first.size();
            offline.push_back(dev->first);
            devices_.erase(dev);
        }
    }
    bytes_ -= kKeyOverhead + client->first.size();
    clients_.erase(client);
    return offline;  // sorted: the client's set is
}

void AvailabilityTracker::forgetDevice(std::string_view device_id) {
    const auto dev = devices_.find(device_id);
    if (dev == devices_.end()) return;
    for (const auto& client_id : dev->second) {
        bytes_ -= kPairOverhead + client_id.size() + dev->first.size();
        const auto client = clients_.find(client_id);
        if (client == clients_.end()) continue;
        if (const auto d = client->second.find(device_id); d != client->second.end()) client->second.erase(d);
        if (client->second.empty()) {
            bytes_ -= kKeyOverhead + client->first.size();
            clients_.erase(client);
        }
    }
    bytes_ -= kKeyOverhead + dev->first.size();
    devices_.erase(dev);
}

bool AvailabilityTracker::online(std::string_view device_id) const {
    return devices_.find(device_id) != devices_.end();
}

std::vector<std::string> AvailabilityTracker::feeders(std::string_view device_id) const {
    const auto dev = devices_.find(device_id);
    if (dev == devices_.end()) return {};
    return {dev->second.begin(), dev->second.end()};
}

}  // namespace mqs::hadiscovery
