// Bookkeeping of disconnected client contexts for the Will check; see disconnected_clients.hpp.
#include "validate/disconnected_clients.hpp"

#include <functional>
#include <iterator>

namespace mqs::validate {
namespace {

uint64_t idHash(std::string_view id) {
    return std::hash<std::string_view>{}(id);
}

}  // namespace

void DisconnectedClients::onDisconnect(const void* client, std::string_view client_id, WillTiming timing) {
    if (client == nullptr) return;
    forget(client);  // a context disconnects once per connection; a stale entry under its address is outdated
    if (timing == WillTiming::Now) {
        slot_ = client;
        slot_id_hash_ = idHash(client_id);
        return;
    }
    slot_ = nullptr;
    if (capacity_ == 0) return;
    while (entries_.size() >= capacity_) {
        entries_.erase(oldest_first_.front());
        oldest_first_.pop_front();
        ++evicted_;
    }
    oldest_first_.push_back(client);
    entries_.emplace(client, Entry{idHash(client_id), std::prev(oldest_first_.end())});
}

bool DisconnectedClients::takeWill(const void* client, std::string_view client_id) {
    if (client == slot_) {
        slot_ = nullptr;
        return slot_id_hash_ == idHash(client_id);
    }
    slot_ = nullptr;
    auto it = entries_.find(client);
    if (it == entries_.end()) return false;
    const bool same_client = it->second.id_hash == idHash(client_id);
    oldest_first_.erase(it->second.age);
    entries_.erase(it);
    return same_client;
}

void DisconnectedClients::forget(const void* client) {
    auto it = entries_.find(client);
    if (it == entries_.end()) return;
    oldest_first_.erase(it->second.age);
    entries_.erase(it);
}

}  // namespace mqs::validate
