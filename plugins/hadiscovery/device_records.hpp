// What the engine knows of a device beyond its owned configs (its rule, topic, display name, the entities
// its payloads have shown, the observed expire_after), saved in the state snapshot so that at broker start
// every device's configs can be rebuilt from the current rules and re-published before it speaks again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mqs::hadiscovery {

// Snapshot key "devices" (optional: files written before it existed load without it), one object a device:
//   {"id": "ipwatch_10_0_0_5", "rule": "ipwatch", "topic": "ipwatch/device/10.0.0.5/status",
//    "name": "web-1", "entities": ["cpu", "memory"], "inferred": ["co2"], "expire_after_s": 90}
// Entities are saved by id, not by index, so an edited rules file maps them to its own entities.
struct DeviceRecord {
    std::string id;
    std::string rule;
    std::string topic;
    std::string name;
    std::vector<std::string> entities;  // ids of the rule's entities the device's payloads carried
    std::vector<std::string> inferred;  // payload fields inferred as sensors
    int64_t expire_after_s = 0;
    bool operator==(const DeviceRecord&) const = default;

    // What a record costs against the bound (strings and their headers, roughly).
    size_t bytes() const;
};

// The records as the snapshot's JSON array text, one device a line.
std::string serializeDeviceRecords(const std::vector<DeviceRecord>& records);

namespace snapshot {
// The "devices" array of a checked snapshot. Throws SnapshotError naming `where` on wrong types or a
// duplicated id; records beyond `max_bytes` (in file order) are dropped: those devices come back at their
// next message, as before this key existed.
std::vector<DeviceRecord> deviceRecordsFrom(const nlohmann::json& root, const std::string& where, size_t max_bytes);
}  // namespace snapshot

}  // namespace mqs::hadiscovery
