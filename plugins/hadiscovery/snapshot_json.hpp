// Shared by the inventory's and the deletions' readers: parse the snapshot text once and check its header.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace mqs::hadiscovery {
class Inventory;
class UserDeletions;
}  // namespace mqs::hadiscovery

namespace mqs::hadiscovery::snapshot {

inline constexpr const char* kFormat = "mqs-hadiscovery-state";

// The snapshot's top-level object after the format and version checks; throws SnapshotError naming `where`.
nlohmann::json parseChecked(const std::string& text, const std::string& where);
// The parts of a checked snapshot, so a whole file is parsed once (see parseState).
Inventory inventoryFrom(const nlohmann::json& root, const std::string& where, size_t max_bytes);
UserDeletions deletionsFrom(const nlohmann::json& root, const std::string& where, size_t max_count, size_t max_bytes);

}  // namespace mqs::hadiscovery::snapshot
