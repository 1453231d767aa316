// Remembers per-topic work (which rules match a topic, and what they derived from it) in a fixed
// number of slots, so messages on a topic seen before skip template matching and key building.
// Direct-mapped: a topic lives in the slot its hash picks and a colliding topic evicts it, which
// keeps memory fixed and the lookup at one hash and one string compare.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mqs {

// Thread: one thread. Value must be default-constructible; store() hands back the slot's value
// as it was left by its previous topic (so vectors keep their capacity): the caller overwrites it.
template <typename Value>
class TopicCache {
public:
    static constexpr size_t kMaxTopicBytes = 256;

    explicit TopicCache(size_t slots = 2048) {
        size_t n = 1;
        while (n < slots) n <<= 1;
        entries_.resize(n);
        mask_ = n - 1;
    }

    static size_t hashOf(std::string_view topic) { return std::hash<std::string_view>{}(topic); }

    // The value cached for this topic, or null.
    Value* find(std::string_view topic, size_t hash) {
        Entry& e = entries_[hash & mask_];
        if (!e.used || e.hash != hash || e.topic != topic) return nullptr;
        return &e.value;
    }

    // Claims the topic's slot (evicting whatever was there) and returns its value to fill in, or
    // null for a topic longer than kMaxTopicBytes: MQTT allows 64 KiB topics, and caching those
    // would let one client grow the cache to slots x 64 KiB.
    Value* store(std::string_view topic, size_t hash) {
        if (topic.size() > kMaxTopicBytes) return nullptr;
        Entry& e = entries_[hash & mask_];
        e.used = true;
        e.hash = hash;
        // Exact-size copy: assign() may reserve up to twice the size, which the bound would not cover.
        if (topic.size() <= e.topic.capacity())
            e.topic.assign(topic);
        else
            e.topic = std::string(topic);
        return &e.value;
    }

    void clear() {
        for (auto& e : entries_) e.used = false;
    }

    // Bytes the cache holds: its slots, each topic's buffer, and valueBytes(value) for what a value
    // keeps on the heap. Walks every slot: for tests and occasional metrics, not per message.
    template <typename ValueBytes>
    size_t heapBytes(ValueBytes valueBytes) const {
        size_t total = entries_.capacity() * sizeof(Entry);
        for (const auto& e : entries_) total += heapCapacity(e.topic) + valueBytes(e.value);
        return total;
    }
    // Heap bytes behind a string (0 while it fits the small-string buffer inside the object).
    static size_t heapCapacity(const std::string& s) {
        return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
    }

private:
    struct Entry {
        bool used = false;
        size_t hash = 0;
        std::string topic;
        Value value{};
    };
    std::vector<Entry> entries_;
    size_t mask_ = 0;
};

}  // namespace mqs
