// The discovery configs this plugin published and owns, so it can clear them later and never touches
// anyone else's; plus the state snapshot (inventory + user deletions) that survives a restart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hadiscovery/device_records.hpp"
#include "hadiscovery/state_file_writer.hpp"
#include "hadiscovery/user_deletions.hpp"

namespace mqs::hadiscovery {

// Snapshot format (one JSON object, one file, written by StateFileWriter):
//   {"format": "mqs-hadiscovery-state", "version": 1,
//    "configs": [{"topic": "homeassistant/device/x/config", "device": "x", "rule": "r",
//                 "hash": "<16 hex digits>", "last_seen_ms": 1763769600000}, ...],
//    "deleted": ["homeassistant/sensor/y/config", ...],
//    "devices": [<device records, see device_records.hpp>]}
// Sorted by topic, so equal state gives equal text. A reader rejects another "format", a "version" it
// does not know (newer files are not guessed at), wrong types, empty or duplicated topics. Unknown keys
// are ignored so a later version may add some. "hash" is a string: JSON readers lose 64-bit integers.
// last_seen_ms is wall-clock milliseconds since the epoch (it must survive a restart).
inline constexpr int kSnapshotVersion = 1;

// Thread: broker thread only. Bounded by `max_bytes` (an estimate of the memory held): record() of a
// config that does not fit is refused and counted. Lookups by topic and device are O(log n);
// devicesIdleSince() and devicesOfRule() walk all devices (periodic/reload work, not per message).
class Inventory {
public:
    struct OwnedConfig {
        std::string topic;
        std::string device_id;
        std::string rule;
        uint64_t payload_hash = 0;
        int64_t last_seen_ms = 0;
        bool operator==(const OwnedConfig&) const = default;
    };
    enum class Recorded { New, Changed, Unchanged, Refused };

    explicit Inventory(size_t max_bytes);

    bool owns(std::string_view topic) const;
    const OwnedConfig* find(std::string_view topic) const;
    // True if the topic is new or its payload hash changed: the caller publishes. False when unchanged
    // (last_seen_ms still advances) or refused because full (counted in refusals()).
    bool record(OwnedConfig c);
    Recorded recordDetailed(OwnedConfig c);  // the same, saying which
    // Marks every config of the device as seen now (called per message: O(log n + configs of the device)).
    void touchDevice(std::string_view device_id, int64_t now_ms);
    // Drops the device's configs; returns their topics (sorted) to clear with an empty retained message.
    std::vector<std::string> forget(std::string_view device_id);
    // Drops one config (e.g. a user deleted it in Home Assistant); false when not owned.
    bool forgetTopic(std::string_view topic);
    // Devices whose most recent last_seen_ms is before `cutoff_ms` (sorted).
    std::vector<std::string> devicesIdleSince(int64_t cutoff_ms) const;
    // Devices with at least one config recorded under `rule` (sorted).
    std::vector<std::string> devicesOfRule(std::string_view rule) const;
    std::vector<std::string> devices() const;                                                    // sorted
    std::vector<std::string> topicsOf(std::string_view device_id) const;                         // sorted
    const std::map<std::string, OwnedConfig, std::less<>>& configs() const { return configs_; }  // by topic

    size_t deviceCount() const { return devices_.size(); }
    size_t configCount() const { return configs_.size(); }
    size_t bytes() const { return bytes_; }
    size_t maxBytes() const { return max_bytes_; }
    uint64_t refusals() const { return refusals_; }
    // Grows with every change the snapshot must carry (a config added, changed, moved or forgotten), so the
    // adapter can tell when to submit a new one (coalesced on its tick: serializing walks every config).
    // touchDevice() does not count: it runs per message; last_seen_ms is saved with the next change or on
    // the adapter's slow timer.
    uint64_t changes() const { return changes_; }

    // The snapshot without deletions (an empty "deleted" array); see serializeState().
    std::string serialize() const;
    // Reads the "configs" of a snapshot. Throws SnapshotError naming `where` on corrupt input. Configs
    // beyond max_bytes (the limit was lowered) are dropped and counted in refusals().
    static Inventory parse(const std::string& text, const std::string& where, size_t max_bytes);

    static constexpr size_t kEntryOverhead = 160;  // map nodes, strings' headers, the device index

    // What one config costs against max_bytes: the topic is held twice (the config map and the device index).
    static size_t entryBytes(const OwnedConfig& c) {
        return kEntryOverhead + 2 * c.topic.size() + c.device_id.size() + c.rule.size();
    }

private:
    void indexAdd(const OwnedConfig& c);
    void indexRemove(const OwnedConfig& c);

    size_t max_bytes_;
    std::map<std::string, OwnedConfig, std::less<>> configs_;            // by topic
    std::map<std::string, std::set<std::string>, std::less<>> devices_;  // device id -> topics
    size_t bytes_ = 0;
    uint64_t refusals_ = 0;
    uint64_t changes_ = 0;
};

// A copy of everything the state file holds: taken on the broker thread (copying is far cheaper than
// serializing: 10 000 devices take milliseconds, their JSON over 100 ms) and rendered on the writer's.
struct StateSnapshot {
    std::vector<Inventory::OwnedConfig> configs;  // by topic
    std::vector<std::string> deleted;             // sorted
    std::vector<DeviceRecord> devices;            // by id
    std::string render() const;                   // the file's text
};
StateSnapshot snapshotOf(const Inventory& inventory, const UserDeletions& deletions,
                         std::vector<DeviceRecord> devices = {});

// The whole snapshot file's text: snapshotOf(...).render().
std::string serializeState(const Inventory& inventory, const UserDeletions& deletions,
                           std::vector<DeviceRecord> devices = {});

struct LoadedState {
    Inventory inventory;
    UserDeletions deletions;
    std::vector<DeviceRecord> devices = {};
};
// Parses a whole snapshot (throws SnapshotError naming `where`). Device records share the inventory's bound.
LoadedState parseState(const std::string& text, const std::string& where, size_t inventory_max_bytes,
                       size_t deletions_max_count, size_t deletions_max_bytes);
// Reads and parses the file at `path`: a missing file gives an empty state; an unreadable, corrupt or
// implausibly large one (far more than the limits could have written) throws SnapshotError. Blocks on
// the disk: plugin init only.
LoadedState loadStateFile(const std::string& path, size_t inventory_max_bytes, size_t deletions_max_count,
                          size_t deletions_max_bytes);

}  // namespace mqs::hadiscovery
