// Plugin metrics: named counters and gauges, snapshotted on the broker thread and published as
// retained messages under $SYS/plugins/<plugin>/<instance>/<name> (only values that changed).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace mqs {

// The one place that spells a plugin's $SYS topics: "$SYS/plugins/<plugin>/<instance>/<suffix>".
std::string sysTopic(std::string_view plugin, std::string_view instance, std::string_view suffix);

// Thread: increment from any thread (relaxed atomics, a few ns); register and snapshot on one thread.
class Metric {
public:
    void add(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    // For a metric only one thread ever adds to (e.g. counted per message on the broker thread): a plain
    // load and store, without the locked instruction (~20 cycles) of add().
    void addOnOwnerThread(int64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
    int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<int64_t> value_{0};
};

class MetricsRegistry {
public:
    // Returns a reference that stays valid for the registry's lifetime; the same name gives the same metric,
    // so counters survive a rules reload when rule names are kept.
    Metric& get(const std::string& name);
    // (name, value) pairs whose value changed since the last call (all of them on the first call).
    std::vector<std::pair<std::string, int64_t>> takeChanged();
    std::vector<std::pair<std::string, int64_t>> all() const;

private:
    std::map<std::string, std::unique_ptr<Metric>> metrics_;
    std::map<std::string, int64_t> last_published_;
};

// Decides on the broker thread when a periodic action is due; checked from TICK and from message
// callbacks, because Mosquitto 2.0.11 sends no ticks with per_listener_settings true.
class IntervalTimer {
public:
    explicit IntervalTimer(std::chrono::milliseconds interval) : interval_(interval) {}
    bool enabled() const { return interval_.count() > 0; }
    // True at most once per interval; the first call arms the timer and returns false.
    bool due(Clock::TimePoint now) {
        if (!enabled()) return false;
        if (!armed_) {
            armed_ = true;
            next_ = now + interval_;
            return false;
        }
        if (now < next_) return false;
        next_ = now + interval_;
        return true;
    }

private:
    std::chrono::milliseconds interval_;
    bool armed_ = false;
    Clock::TimePoint next_{};
};

}  // namespace mqs
