// The engine's index of known devices by topic: a flat open-addressing table of (hash, pointer), looked up
// once per message. Against the std::unordered_map it replaces, a lookup reads one slot array and the
// device itself (which the message needs anyway) instead of a bucket, a node, the node's key string and
// then the device: with 10 000 devices each of those is a cache miss.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace mqs::hadiscovery {

// Hash of a topic: 8 bytes per step, a multiply and a shift each (std::hash's murmur cost ~75
// instructions per warehouse topic, this ~20). Seeded per process, and only admitted devices enter the
// index (flood cap, state bound), so colliding topics are hard to pick and slow to bring in.
inline uint64_t topicHash(std::string_view s, uint64_t seed = 0) {
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
    uint64_t h = (s.size() ^ seed) * kMul;
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * kMul;
        h ^= h >> 32;
    }
    if (i < s.size()) {
        uint64_t w = 0;
        if (s.size() >= 8)  // the last 8 bytes, overlapping the previous word: one load instead of a byte loop
            std::memcpy(&w, s.data() + s.size() - 8, 8);
        else
            for (size_t k = 0; k < s.size(); ++k) w |= uint64_t(static_cast<unsigned char>(s[k])) << (8 * k);
        h = (h ^ w) * kMul;
        h ^= h >> 32;
    }
    return h;
}

// T has a `topicView()` member or a `topic` member convertible to std::string_view; the index stores
// pointers, the owner keeps the T alive and at a stable address while indexed. Linear probing, at most
// half full, erase by backward shift (no tombstones). Thread: whoever owns it (the broker thread).
template <typename T>
class TopicIndex {
public:
    explicit TopicIndex(uint64_t seed = 0) : seed_(seed) {}

    // Once per message: kept inline in the caller (gcc stopped inlining it once items read their topic
    // through topicView(), which cost the engine ~14 instructions per message in a call and spills).
    [[gnu::always_inline]] T* find(std::string_view topic) const {
        if (slots_.empty()) return nullptr;
        const uint64_t h = topicHash(topic, seed_);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.item == nullptr) return nullptr;
            if (s.hash == h && topicOf(*s.item) == topic) return s.item;
        }
    }
    // False (and nothing changes) when an item with the same topic is already indexed.
    bool insert(T* item) {
        if (2 * (size_ + 1) > slots_.size()) grow();
        const std::string_view topic = topicOf(*item);
        const uint64_t h = topicHash(topic, seed_);
        size_t i = h & mask_;
        for (; slots_[i].item != nullptr; i = (i + 1) & mask_)
            if (slots_[i].hash == h && topicOf(*slots_[i].item) == topic) return false;
        slots_[i] = {h, item};
        ++size_;
        return true;
    }
    bool erase(std::string_view topic) {
        if (slots_.empty()) return false;
        const uint64_t h = topicHash(topic, seed_);
        size_t i = h & mask_;
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].item == nullptr) return false;
            if (slots_[i].hash == h && topicOf(*slots_[i].item) == topic) break;
        }
        // Backward shift: pull later members of the probe run into the hole when the hole is on their path.
        for (size_t j = (i + 1) & mask_; slots_[j].item != nullptr; j = (j + 1) & mask_) {
            const size_t home = slots_[j].hash & mask_;
            if (((j - home) & mask_) >= ((j - i) & mask_)) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = {};
        --size_;
        return true;
    }
    bool contains(std::string_view topic) const { return find(topic) != nullptr; }
    size_t size() const { return size_; }

private:
    // An item may keep its topic where reading it is cheapest (the engine's hot records: inline when short).
    static std::string_view topicOf(const T& item) {
        if constexpr (requires { item.topicView(); })
            return item.topicView();
        else
            return item.topic;
    }
    struct Slot {
        uint64_t hash = 0;
        T* item = nullptr;
    };
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.empty() ? 16 : 2 * old.size(), Slot{});
        mask_ = slots_.size() - 1;
        for (const Slot& s : old) {
            if (s.item == nullptr) continue;
            size_t i = s.hash & mask_;
            while (slots_[i].item != nullptr) i = (i + 1) & mask_;
            slots_[i] = s;
        }
    }

    uint64_t seed_;
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

}  // namespace mqs::hadiscovery
