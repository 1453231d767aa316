// Which broker client contexts have disconnected, so that validate can tell the write check of a Will (sent
// only for a client that is gone) from the write check of an ordinary publish (already checked in MESSAGE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string_view>
#include <unordered_map>

namespace mqs::validate {

// Mosquitto write-checks a Will through MOSQ_EVT_ACL_CHECK, after MOSQ_EVT_DISCONNECT for the same context
// (src/context.c, context__disconnect), or later for a delayed Will or an expiring session; an ordinary
// publish is write-checked while its client is connected. So a write check whose context is recorded here,
// under the same client id, is a Will. The id guards against a freed context whose address a new client got.
// A client that cannot have a delayed Will (MQTT 3.1/3.1.1: no Will Delay) has its Will, if any, checked
// within the same DISCONNECT handling: it takes one slot that the next callback of any kind clears
// (endOfDisconnect), so no stale entry is left for a context that is then freed. MQTT 5 clients are kept
// in the set until their Will is checked, they publish again, or they are the oldest at `capacity`.
// Bounded: at most `capacity` entries (a few dozen bytes each), the oldest forgotten first.
// Thread: broker thread only. Never throws except std::bad_alloc.
class DisconnectedClients {
public:
    explicit DisconnectedClients(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

    static constexpr size_t kDefaultCapacity = 16384;

    enum class WillTiming { Now, MaybeLater };
    void onDisconnect(const void* client, std::string_view client_id, WillTiming timing = WillTiming::MaybeLater);
    // Any callback other than the Will check that follows a DISCONNECT: the immediate Will, if any, is past.
    void endOfDisconnect() { slot_ = nullptr; }
    // A write check for `client`: true (and forgotten, a Will is sent once) if it is a recorded disconnected
    // client with this id.
    bool takeWill(const void* client, std::string_view client_id);
    // The context publishes again: it is connected, whatever was recorded under its address.
    void onLive(const void* client) {
        slot_ = nullptr;
        if (!entries_.empty()) forget(client);
    }
    bool empty() const { return slot_ == nullptr && entries_.empty(); }
    bool contains(const void* client) const {
        return client == slot_ || (!entries_.empty() && entries_.find(client) != entries_.end());
    }
    size_t size() const { return entries_.size() + (slot_ != nullptr ? 1 : 0); }
    uint64_t evicted() const { return evicted_; }

private:
    struct Entry {
        uint64_t id_hash;
        std::list<const void*>::iterator age;
    };
    void forget(const void* client);

    size_t capacity_;
    const void* slot_ = nullptr;  // the MQTT 3.x client of the DISCONNECT being handled
    uint64_t slot_id_hash_ = 0;
    std::unordered_map<const void*, Entry> entries_;
    std::list<const void*> oldest_first_;
    uint64_t evicted_ = 0;
};

}  // namespace mqs::validate
