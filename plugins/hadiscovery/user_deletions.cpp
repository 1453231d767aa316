// "Deleted stays deleted" keys and their part of the state snapshot; see user_deletions.hpp.
#include "hadiscovery/user_deletions.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "hadiscovery/snapshot_json.hpp"

namespace mqs::hadiscovery {

UserDeletions::UserDeletions(size_t max_count, size_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

bool UserDeletions::markDeleted(std::string key) {
    if (key.empty() || keys_.contains(key)) return false;
    const size_t cost = kEntryOverhead + key.size();
    if (keys_.size() >= max_count_ || bytes_ + cost > max_bytes_) {
        ++refusals_;
        return false;
    }
    bytes_ += cost;
    keys_.insert(std::move(key));
    ++changes_;
    return true;
}

bool UserDeletions::isDeleted(std::string_view key) const {
    return keys_.find(key) != keys_.end();
}

bool UserDeletions::undelete(std::string_view key) {
    const auto it = keys_.find(key);
    if (it == keys_.end()) return false;
    bytes_ -= kEntryOverhead + it->size();
    keys_.erase(it);
    ++changes_;
    return true;
}

std::vector<std::string> UserDeletions::list() const {
    return {keys_.begin(), keys_.end()};
}

std::string UserDeletions::serializeArray() const {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& k : keys_) array.push_back(k);
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

UserDeletions UserDeletions::parse(const std::string& text, const std::string& where, size_t max_count,
                                   size_t max_bytes) {
    return snapshot::deletionsFrom(snapshot::parseChecked(text, where), where, max_count, max_bytes);
}

UserDeletions snapshot::deletionsFrom(const nlohmann::json& root, const std::string& where, size_t max_count,
                                      size_t max_bytes) {
    UserDeletions result(max_count, max_bytes);
    const auto it = root.find("deleted");
    if (it == root.end()) return result;  // a snapshot without deletions
    if (!it->is_array()) throw SnapshotError(where + ": \"deleted\" is not an array");
    for (size_t i = 0; i < it->size(); ++i) {
        const auto& v = (*it)[i];
        if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
            throw SnapshotError(where + ": deleted[" + std::to_string(i) + "] is not a non-empty string");
        }
        result.markDeleted(v.get<std::string>());  // duplicates are harmless; overflow is counted
    }
    return result;
}

}  // namespace mqs::hadiscovery
