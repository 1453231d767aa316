// "Deleted stays deleted": the discovery topics (or unique ids) a Home Assistant user deleted, so the
// plugin does not re-create them; kept in the state snapshot with the inventory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hadiscovery/state_file_writer.hpp"

namespace mqs::hadiscovery {

// Home Assistant deletes an entity by publishing an empty retained message on its discovery topic (the
// device topic for a device-based config). The adapter decides the key; the topic is the usual one.
// Thread: broker thread only. Bounded in count and bytes: when full, a new key is refused and counted
// (the earlier deletions stay: an old entity coming back would surprise more than a new one staying).
class UserDeletions {
public:
    UserDeletions(size_t max_count, size_t max_bytes);

    // False when already marked, empty, or refused because full (see refusals()).
    bool markDeleted(std::string unique_id_or_topic);
    bool isDeleted(std::string_view key) const;
    bool undelete(std::string_view key);    // false when it was not marked
    std::vector<std::string> list() const;  // sorted

    size_t count() const { return keys_.size(); }
    size_t bytes() const { return bytes_; }
    size_t maxCount() const { return max_count_; }
    size_t maxBytes() const { return max_bytes_; }
    uint64_t refusals() const { return refusals_; }
    uint64_t changes() const { return changes_; }  // grows with every mark and undelete: time to save

    // The deletions as the JSON array that goes into the state snapshot (see inventory.hpp).
    std::string serializeArray() const;
    // Reads the "deleted" array of a state snapshot (the whole file's text). Throws SnapshotError naming
    // `where` on corrupt input; keys beyond the bounds are dropped and counted in refusals().
    static UserDeletions parse(const std::string& text, const std::string& where, size_t max_count, size_t max_bytes);

    static constexpr size_t kEntryOverhead = 48;  // set node and string header, roughly

private:
    size_t max_count_;
    size_t max_bytes_;
    std::set<std::string, std::less<>> keys_;
    size_t bytes_ = 0;
    uint64_t refusals_ = 0;
    uint64_t changes_ = 0;
};

}  // namespace mqs::hadiscovery
