// Per-client memo of ACL decisions, so the hot ACL_CHECK answers a repeated (access, topic) with two probes
// of small flat tables (the client's handle, then the topic). Every entry carries the state generation it
// was computed under: any change of the state bumps the generation and the next check of every client
// recomputes, so a revoked grant is never honoured again. Memory is bounded in bytes per client and in
// total. Broker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynacl/state.hpp"

namespace mqs::dynacl {

// What a client's decisions depend on besides the state: compared on every lookup, because another plugin
// may change a username (or, on 2.1, a client id) during a connection and a client handle may be reused for
// a later connection. The broker's own C strings, never null ("" for none, and for what no rule uses):
// compared without measuring them first, so a cache hit costs no strlen of the identity.
struct CacheIdentity {
    const char* username = "";
    const char* client_id = "";  // empty when no rule uses %c
    const char* address = "";    // the broker's raw text; empty when no rule uses %a
};

// A fast 64-bit hash of a topic: whole 8-byte words, no per-byte loop (topics are hashed twice per message).
uint64_t topicHash(std::string_view topic);

class DecisionCache {
public:
    // A client's record besides its table and topics: the record, identity strings' headers, malloc headers
    // (the client table itself, 16 bytes per slot and at most half full, counts in bytes()). Checked against glibc's heap counter in
    // decision_cache_test.cpp.
    static constexpr size_t kClientOverhead = 448;

    DecisionCache(size_t bytes_per_client, size_t total_bytes)
        : bytes_per_client_(bytes_per_client), total_limit_(total_bytes) {}

    // `client` is the broker's opaque client handle.
    std::optional<Decision> find(const void* client, uint64_t generation, const CacheIdentity& who, Access access,
                                 std::string_view topic) const;
    void store(const void* client, uint64_t generation, const CacheIdentity& who, Access access, std::string_view topic,
               Decision decision);
    // On disconnect: the handle may be reused for another client.
    void forget(const void* client);
    void clear();

    size_t clients() const { return clients_count_; }
    size_t bytes() const { return total_bytes_; }
    size_t bytesOf(const void* client) const;

private:
    // Open addressing, linear probing. `bits` is 0 for a free slot; else two bits per access, 0 unknown,
    // else Decision + 1, so a stored slot is never 0.
    struct Slot {
        uint64_t hash = 0;
        uint32_t offset = 0;  // of the topic in `topics`
        uint16_t length = 0;  // MQTT topics are at most 65 535 bytes
        uint8_t bits = 0;
    };
    struct ClientMemo {
        uint64_t generation = 0;
        std::string username;
        std::string client_id;
        std::string address;
        size_t bytes = 0;
        size_t used = 0;
        std::vector<Slot> slots;  // size a power of two, or empty
        std::string topics;       // every remembered topic, back to back
    };
    // The client table: open addressing on the handle, linear probing, deletion by backward shift.
    struct ClientSlot {
        const void* client = nullptr;
        std::unique_ptr<ClientMemo> memo;
    };

    static unsigned shiftOf(Access access) { return static_cast<unsigned>(access) * 2; }
    size_t clientIndex(const void* client) const {
        return (reinterpret_cast<uintptr_t>(client) * 0x9e3779b97f4a7c15ULL) >> client_shift_;
    }
    const ClientMemo* memoOf(const void* client) const {
        if (clients_count_ == 0) return nullptr;
        const size_t mask = client_slots_.size() - 1;
        for (size_t i = clientIndex(client);; i = (i + 1) & mask) {
            const ClientSlot& s = client_slots_[i];
            if (s.client == client) return s.memo.get();
            if (s.client == nullptr) return nullptr;
        }
    }
    ClientMemo& memoFor(const void* client, bool* inserted);
    void growClients();

    // strcmp against the stored copy (which holds no NUL: it came from the same C strings); the client id
    // and address only when either side has one (most rules use neither %c nor %a).
    static bool sameText(const std::string& kept, const char* now) {
        return (kept.empty() && now[0] == '\0') || std::strcmp(kept.c_str(), now) == 0;
    }
    static bool sameIdentity(const ClientMemo& m, const CacheIdentity& who) {
        return std::strcmp(m.username.c_str(), who.username) == 0 && sameText(m.client_id, who.client_id) &&
               sameText(m.address, who.address);
    }
    // The slot holding `topic`, or the free slot where it would go (slots must not be empty).
    template <typename Memo>
    static auto& probe(Memo& m, uint64_t hash, std::string_view topic) {
        const size_t mask = m.slots.size() - 1;
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            auto& s = m.slots[i];
            if (s.bits == 0) return s;
            if (s.hash == hash && s.length == topic.size() &&
                std::memcmp(m.topics.data() + s.offset, topic.data(), topic.size()) == 0)
                return s;
        }
    }
    void reset(ClientMemo& m, uint64_t generation, const CacheIdentity& who);
    static void grow(ClientMemo& m, size_t slots);
    // What the table and the arena hold on the heap (nothing until the first topic).
    static size_t heldBytes(const ClientMemo& m) {
        return m.slots.empty() ? 0 : m.slots.size() * sizeof(Slot) + m.topics.capacity();
    }
    // The table and arena sizes once one more topic of `topic_bytes` is in: the table doubles past half
    // full, the arena doubles.
    struct Sizes {
        size_t slots = 0;
        size_t arena = 0;
        size_t bytes() const { return slots * sizeof(Slot) + arena; }
    };
    static Sizes sizesWith(const ClientMemo& m, size_t topic_bytes);

    size_t bytes_per_client_;
    size_t total_limit_;
    size_t total_bytes_ = 0;
    std::vector<ClientSlot> client_slots_;  // size a power of two, or empty
    unsigned client_shift_ = 64;
    size_t clients_count_ = 0;
};

// Inline: the hot path of every ACL check.
inline std::optional<Decision> DecisionCache::find(const void* client, uint64_t generation, const CacheIdentity& who,
                                                   Access access, std::string_view topic) const {
    const ClientMemo* m = memoOf(client);
    if (m == nullptr || m->generation != generation || m->used == 0 || !sameIdentity(*m, who)) return std::nullopt;
    const unsigned bits = (probe(*m, topicHash(topic), topic).bits >> shiftOf(access)) & 3u;
    if (bits == 0) return std::nullopt;
    return static_cast<Decision>(bits - 1);
}

}  // namespace mqs::dynacl
