// Per-client memo of ACL decisions, so the hot ACL_CHECK answers a repeated (access, topic) with one hash
// lookup. Every entry carries the state generation it was computed under: any change of the state bumps
// the generation and the next check of every client recomputes, so a revoked grant is never honoured
// again. Memory is bounded in bytes per client and in total. Broker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dynacl/state.hpp"

namespace mqs::dynacl {

// What a client's decisions depend on besides the state: compared on every lookup, because another plugin
// may change a username during a connection and a client handle may be reused for a later connection.
// The broker's own C strings, never null ("" for none): compared without measuring them first, so a cache hit
// costs no strlen of the identity.
struct CacheIdentity {
    const char* username = "";
    const char* client_id = "";
    const char* address = "";  // the broker's raw text; empty when no rule uses %a
};

class DecisionCache {
public:
    // Cost of one entry besides its topic: hash node, string, bucket share and malloc headers (measured:
    // about 95 bytes with glibc on x86-64, see decision_cache_test.cpp), and of a client's own record.
    static constexpr size_t kEntryOverhead = 112;
    static constexpr size_t kClientOverhead = 256;

    DecisionCache(size_t bytes_per_client, size_t total_bytes)
        : bytes_per_client_(bytes_per_client), total_limit_(total_bytes) {}

    // `client` is the broker's opaque client handle.
    std::optional<Decision> find(const void* client, uint64_t generation, const CacheIdentity& who, Access access,
                                 std::string_view topic);
    void store(const void* client, uint64_t generation, const CacheIdentity& who, Access access, std::string_view topic,
               Decision decision);
    // On disconnect: the handle may be reused for another client.
    void forget(const void* client);
    void clear();

    size_t clients() const { return clients_.size(); }
    size_t bytes() const { return total_bytes_; }
    size_t bytesOf(const void* client) const;

private:
    struct TransparentHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct ClientEntries {
        uint64_t generation = 0;
        std::string username;
        std::string client_id;
        std::string address;
        size_t bytes = 0;
        // Two bits per access: 0 unknown, else Decision + 1.
        std::unordered_map<std::string, uint8_t, TransparentHash, std::equal_to<>> topics;
    };
    // strcmp against the stored copy (which holds no NUL: it came from the same C strings).
    static bool sameIdentity(const ClientEntries& e, const CacheIdentity& who) {
        return std::strcmp(e.username.c_str(), who.username) == 0 && std::strcmp(e.client_id.c_str(), who.client_id) == 0 &&
               std::strcmp(e.address.c_str(), who.address) == 0;
    }
    void reset(ClientEntries& entries, uint64_t generation, const CacheIdentity& who);

    size_t bytes_per_client_;
    size_t total_limit_;
    size_t total_bytes_ = 0;
    std::unordered_map<const void*, ClientEntries> clients_;
};

}  // namespace mqs::dynacl
