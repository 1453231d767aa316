// Per-client decision memo; see decision_cache.hpp.
#include "dynacl/decision_cache.hpp"

namespace mqs::dynacl {
namespace {

unsigned shiftOf(Access access) {
    return static_cast<unsigned>(access) * 2;
}

}  // namespace

std::optional<Decision> DecisionCache::find(const void* client, uint64_t generation, const CacheIdentity& who,
                                            Access access, std::string_view topic) {
    auto it = clients_.find(client);
    if (it == clients_.end()) return std::nullopt;
    ClientEntries& e = it->second;
    if (e.generation != generation || !sameIdentity(e, who)) return std::nullopt;
    auto t = e.topics.find(topic);
    if (t == e.topics.end()) return std::nullopt;
    const unsigned bits = (t->second >> shiftOf(access)) & 3u;
    if (bits == 0) return std::nullopt;
    return static_cast<Decision>(bits - 1);
}

void DecisionCache::reset(ClientEntries& e, uint64_t generation, const CacheIdentity& who) {
    total_bytes_ -= e.bytes;
    e.topics.clear();
    e.generation = generation;
    e.username.assign(who.username);
    e.client_id.assign(who.client_id);
    e.address.assign(who.address);
    e.bytes = kClientOverhead + e.username.size() + e.client_id.size() + e.address.size();
    total_bytes_ += e.bytes;
}

void DecisionCache::store(const void* client, uint64_t generation, const CacheIdentity& who, Access access,
                          std::string_view topic, Decision decision) {
    // A budget that cannot hold the client's record and this one topic: nothing is kept.
    const size_t cost = kEntryOverhead + topic.size();
    const size_t base = kClientOverhead + std::strlen(who.username) + std::strlen(who.client_id) + std::strlen(who.address);
    if (base + cost > bytes_per_client_) return;
    auto [it, inserted] = clients_.try_emplace(client);
    ClientEntries& e = it->second;
    if (inserted || e.generation != generation || !sameIdentity(e, who)) {
        reset(e, generation, who);
    }
    auto t = e.topics.find(topic);
    if (t == e.topics.end()) {
        // Full: start this client's memo afresh rather than track recency on the hot path.
        if (e.bytes + cost > bytes_per_client_) reset(e, generation, who);
        if (total_bytes_ + cost > total_limit_) {
            clear();
            return;
        }
        t = e.topics.emplace(std::string(topic), 0).first;
        e.bytes += cost;
        total_bytes_ += cost;
    }
    const unsigned shift = shiftOf(access);
    t->second = static_cast<uint8_t>((t->second & ~(3u << shift)) | ((static_cast<unsigned>(decision) + 1) << shift));
}

void DecisionCache::forget(const void* client) {
    auto it = clients_.find(client);
    if (it == clients_.end()) return;
    total_bytes_ -= it->second.bytes;
    clients_.erase(it);
}

void DecisionCache::clear() {
    clients_.clear();
    total_bytes_ = 0;
}

size_t DecisionCache::bytesOf(const void* client) const {
    auto it = clients_.find(client);
    return it == clients_.end() ? 0 : it->second.bytes;
}

}  // namespace mqs::dynacl
