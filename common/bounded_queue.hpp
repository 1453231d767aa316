// A bounded multi-producer queue: workers hand results to the broker thread (drained in TICK or the
// next callback), and the broker thread hands work to workers, without ever blocking the broker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace mqs {

// Thread: any. tryPush never blocks beyond the (short) mutex hold; it refuses when full so the
// caller decides what full means (spool, drop with a counter, withhold an ack).
template <typename T>
class BoundedQueue {
public:
    explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

    bool tryPush(T item) {
        {
            std::lock_guard lock(mutex_);
            if (items_.size() >= capacity_ || closed_) return false;
            items_.push_back(std::move(item));
        }
        not_empty_.notify_one();
        return true;
    }

    // Waits up to `timeout` for an item; nullopt on timeout or when closed and empty.
    template <typename Rep, typename Period>
    std::optional<T> popWait(std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock lock(mutex_);
        not_empty_.wait_for(lock, timeout, [&] { return !items_.empty() || closed_; });
        if (items_.empty()) return std::nullopt;
        T item = std::move(items_.front());
        items_.pop_front();
        return item;
    }

    // Moves up to `max_items` items to `fn` without holding the lock while fn runs. Returns the count.
    template <typename Fn>
    size_t drain(Fn&& fn, size_t max_items = SIZE_MAX) {
        {
            // Checked before constructing `taken`: a std::deque allocates even when empty, and the
            // broker thread calls this for every message.
            std::lock_guard lock(mutex_);
            if (items_.empty()) return 0;
        }
        std::deque<T> taken;
        {
            std::lock_guard lock(mutex_);
            if (items_.empty()) return 0;
            if (items_.size() <= max_items) {
                taken.swap(items_);
            } else {
                for (size_t i = 0; i < max_items; ++i) {
                    taken.push_back(std::move(items_.front()));
                    items_.pop_front();
                }
            }
        }
        for (auto& item : taken) fn(std::move(item));
        return taken.size();
    }

    // Wakes waiters; later pushes are refused.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        not_empty_.notify_all();
    }

    size_t size() const {
        std::lock_guard lock(mutex_);
        return items_.size();
    }
    size_t capacity() const { return capacity_; }

private:
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable not_empty_;
    std::deque<T> items_;
    bool closed_ = false;
};

}  // namespace mqs
