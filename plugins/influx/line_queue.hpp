// Hand-off of encoded lines from the broker thread to a sink's intake thread. The broker thread
// appends to one buffer under a short lock; the intake thread swaps the whole buffer out at once.
// Unlike a queue of strings, no allocation happens per line on either side once both buffers have
// grown, and no memory is freed on a thread other than the one that allocated it.
#pragma once

#include <cstddef>
#include <mutex>
#include <string_view>

#include "influx/batch.hpp"

namespace mqs::influx {

// Thread: tryPush from one producer (the broker thread), takeAll from one consumer.
class LineQueue {
public:
    // Batch offsets are 32-bit: the text bound keeps them far from overflow.
    static constexpr size_t kMaxBytes = 256u << 20;

    explicit LineQueue(size_t max_lines) : max_lines_(max_lines) {}

    // False, taking nothing, when max_lines lines or kMaxBytes of text are already waiting.
    bool tryPush(std::string_view line) {
        std::lock_guard lock(mutex_);
        if (waiting_.lines() >= max_lines_ || waiting_.bytes() + line.size() + 1 > kMaxBytes) return false;
        waiting_.data.append(line);
        waiting_.data += '\n';
        waiting_.ends.push_back(static_cast<uint32_t>(waiting_.data.size()));
        return true;
    }

    // Moves every waiting line into `out` (its previous content is dropped; its buffers go back
    // to the producer for reuse). Returns the number of lines.
    size_t takeAll(Batch& out) {
        out.data.clear();
        out.ends.clear();
        std::lock_guard lock(mutex_);
        out.data.swap(waiting_.data);
        out.ends.swap(waiting_.ends);
        return out.lines();
    }

    size_t size() const {
        std::lock_guard lock(mutex_);
        return waiting_.lines();
    }

private:
    const size_t max_lines_;
    mutable std::mutex mutex_;
    Batch waiting_;  // oldest_ms unused: the intake thread stamps lines when it takes them
};

}  // namespace mqs::influx
