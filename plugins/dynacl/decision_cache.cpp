// Per-client decision memo; see decision_cache.hpp.
#include "dynacl/decision_cache.hpp"

#include <algorithm>

namespace mqs::dynacl {
namespace {

uint64_t load64(const char* p) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

uint32_t load32(const char* p) {
    uint32_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// One multiply per word; the final fold brings the product's high bits down to the low ones the tables
// index with.
uint64_t mix(uint64_t h, uint64_t w) {
    return (h ^ w) * 0xbf58476d1ce4e5b9ULL;
}

constexpr size_t kFirstSlots = 8;
constexpr size_t kFirstTopicBytes = 64;

}  // namespace

uint64_t topicHash(std::string_view topic) {
    const char* p = topic.data();
    const size_t n = topic.size();
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    if (n >= 8) {
        const char* end = p + n;
        for (; end - p >= 8; p += 8) h = mix(h, load64(p));
        if (p != end) h = mix(h, load64(end - 8));  // the tail, overlapping the last whole word
    } else if (n >= 4) {
        h = mix(h, (uint64_t{load32(p)} << 32) | load32(p + n - 4));
    } else if (n > 0) {
        h = mix(h, (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
                       (uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) | static_cast<unsigned char>(p[n - 1]));
    }
    return h ^ (h >> 32);
}

void DecisionCache::reset(ClientMemo& m, uint64_t generation, const CacheIdentity& who) {
    total_bytes_ -= m.bytes;
    m.slots = {};
    m.topics = {};
    m.used = 0;
    m.generation = generation;
    m.username.assign(who.username);
    m.client_id.assign(who.client_id);
    m.address.assign(who.address);
    m.bytes = kClientOverhead + m.username.size() + m.client_id.size() + m.address.size();
    total_bytes_ += m.bytes;
}

void DecisionCache::store(const void* client, uint64_t generation, const CacheIdentity& who, Access access,
                          std::string_view topic, Decision decision) {
    if (topic.size() > UINT16_MAX) return;
    // A budget that cannot hold the client's record and this one topic in a first table: nothing is kept.
    const size_t base = kClientOverhead + std::strlen(who.username) + std::strlen(who.client_id) + std::strlen(who.address);
    if (base + kFirstSlots * sizeof(Slot) + std::max(kFirstTopicBytes, topic.size()) > bytes_per_client_) return;
    bool inserted = false;
    ClientMemo& m = memoFor(client, &inserted);
    if (inserted || m.generation != generation || !sameIdentity(m, who)) reset(m, generation, who);

    const uint64_t hash = topicHash(topic);
    Slot* slot = m.slots.empty() ? nullptr : &probe(m, hash, topic);
    if (slot == nullptr || slot->bits == 0) {
        Sizes next = sizesWith(m, topic.size());
        // Full: start this client's memo afresh rather than track recency on the hot path.
        if (m.bytes - heldBytes(m) + next.bytes() > bytes_per_client_) {
            reset(m, generation, who);
            next = sizesWith(m, topic.size());
        }
        const size_t growth = next.bytes() - heldBytes(m);
        if (total_bytes_ + growth > total_limit_) {
            clear();
            return;
        }
        const size_t before = heldBytes(m);
        if (next.slots != m.slots.size()) grow(m, next.slots);
        if (next.arena > m.topics.capacity()) m.topics.reserve(next.arena);
        slot = &probe(m, hash, topic);
        slot->hash = hash;
        slot->offset = static_cast<uint32_t>(m.topics.size());
        slot->length = static_cast<uint16_t>(topic.size());
        m.topics.append(topic);
        ++m.used;
        // The arena may have been given more than asked for: count what it really holds.
        m.bytes += heldBytes(m) - before;
        total_bytes_ += heldBytes(m) - before;
    }
    const unsigned shift = shiftOf(access);
    slot->bits = static_cast<uint8_t>((slot->bits & ~(3u << shift)) | ((static_cast<unsigned>(decision) + 1) << shift));
}

DecisionCache::Sizes DecisionCache::sizesWith(const ClientMemo& m, size_t topic_bytes) {
    Sizes next;
    if (m.slots.empty()) {
        next.slots = kFirstSlots;
        next.arena = std::max(kFirstTopicBytes, topic_bytes);
        return next;
    }
    next.slots = (m.used + 1) * 2 > m.slots.size() ? 2 * m.slots.size() : m.slots.size();
    const size_t need = m.topics.size() + topic_bytes;
    next.arena = need <= m.topics.capacity() ? m.topics.capacity() : std::max(2 * m.topics.capacity(), need);
    return next;
}

void DecisionCache::grow(ClientMemo& m, size_t slots) {
    std::vector<Slot> old(slots);
    old.swap(m.slots);
    const size_t mask = slots - 1;
    for (const Slot& s : old) {
        if (s.bits == 0) continue;
        size_t i = s.hash & mask;
        while (m.slots[i].bits != 0) i = (i + 1) & mask;
        m.slots[i] = s;
    }
}

DecisionCache::ClientMemo& DecisionCache::memoFor(const void* client, bool* inserted) {
    if ((clients_count_ + 1) * 2 > client_slots_.size()) growClients();
    const size_t mask = client_slots_.size() - 1;
    size_t i = clientIndex(client);
    while (client_slots_[i].client != nullptr && client_slots_[i].client != client) i = (i + 1) & mask;
    ClientSlot& s = client_slots_[i];
    *inserted = s.client == nullptr;
    if (*inserted) {
        s.client = client;
        s.memo = std::make_unique<ClientMemo>();
        ++clients_count_;
    }
    return *s.memo;
}

void DecisionCache::growClients() {
    const size_t size = client_slots_.empty() ? 16 : 2 * client_slots_.size();
    std::vector<ClientSlot> old(size);
    old.swap(client_slots_);
    client_shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(size));
    total_bytes_ += (size - old.size()) * sizeof(ClientSlot);
    const size_t mask = size - 1;
    for (ClientSlot& s : old) {
        if (s.client == nullptr) continue;
        size_t i = clientIndex(s.client);
        while (client_slots_[i].client != nullptr) i = (i + 1) & mask;
        client_slots_[i] = std::move(s);
    }
}

void DecisionCache::forget(const void* client) {
    if (clients_count_ == 0) return;
    const size_t mask = client_slots_.size() - 1;
    size_t i = clientIndex(client);
    while (client_slots_[i].client != client) {
        if (client_slots_[i].client == nullptr) return;
        i = (i + 1) & mask;
    }
    total_bytes_ -= client_slots_[i].memo->bytes;
    client_slots_[i] = ClientSlot{};
    if (--clients_count_ == 0) {
        clear();  // the table too
        return;
    }
    // Backward shift: move later entries of the run up into the hole when their home allows it, so lookups
    // never stop early at it.
    for (size_t hole = i, j = (i + 1) & mask; client_slots_[j].client != nullptr; j = (j + 1) & mask) {
        const size_t home = clientIndex(client_slots_[j].client);
        // j's home lies cyclically in (hole, j]: it must stay.
        const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        client_slots_[hole] = std::move(client_slots_[j]);
        client_slots_[j] = ClientSlot{};
        hole = j;
    }
}

void DecisionCache::clear() {
    client_slots_.clear();
    client_shift_ = 64;
    clients_count_ = 0;
    total_bytes_ = 0;
}

size_t DecisionCache::bytesOf(const void* client) const {
    const ClientMemo* m = memoOf(client);
    return m == nullptr ? 0 : m->bytes;
}

}  // namespace mqs::dynacl
