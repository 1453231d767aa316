// Shared by the inventory's and the deletions' readers: parse the snapshot text once and check its header.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mqs::hadiscovery::snapshot {

inline constexpr const char* kFormat = "mqs-hadiscovery-state";

// The snapshot's top-level object after the format and version checks; throws SnapshotError naming `where`.
nlohmann::json parseChecked(const std::string& text, const std::string& where);

}  // namespace mqs::hadiscovery::snapshot
