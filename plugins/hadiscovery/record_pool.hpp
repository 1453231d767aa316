// Records at fixed addresses, allocated in contiguous chunks and reused through a free list: the engine's
// per-device hot records sit next to each other instead of scattered among map nodes and strings.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace mqs::hadiscovery {

// acquire() hands out a value-initialised T that keeps its address until release(); memory is kept for
// reuse (bounded by the most records held at once). Thread: whoever owns it (the broker thread).
template <typename T, size_t kChunk = 256>
class RecordPool {
public:
    T* acquire() {
        if (free_.empty()) {
            chunks_.push_back(std::make_unique<T[]>(kChunk));
            T* chunk = chunks_.back().get();
            for (size_t i = kChunk; i-- > 0;) free_.push_back(chunk + i);  // handed out in address order
        }
        T* t = free_.back();
        free_.pop_back();
        *t = T{};
        return t;
    }
    void release(T* t) {
        *t = T{};
        free_.push_back(t);
    }
    size_t capacity() const { return chunks_.size() * kChunk; }

private:
    std::vector<std::unique_ptr<T[]>> chunks_;
    std::vector<T*> free_;
};

}  // namespace mqs::hadiscovery
