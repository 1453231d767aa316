// Time source behind an interface so timers, windows and rate limits can be tested with a fake clock.
// The broker's tick event carries no time in 2.0.x, so plugins read their own clock.
#pragma once

#include <chrono>

namespace mqs {

class Clock {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;                               // for intervals and timers
    virtual std::chrono::system_clock::time_point wallNow() const = 0;  // for timestamps in messages
};

class SystemClock final : public Clock {
public:
    TimePoint now() const override { return std::chrono::steady_clock::now(); }
    std::chrono::system_clock::time_point wallNow() const override { return std::chrono::system_clock::now(); }
};

// Test clock: time moves only when advance() is called.
class FakeClock final : public Clock {
public:
    TimePoint now() const override { return now_; }
    std::chrono::system_clock::time_point wallNow() const override { return wall_; }
    void advance(std::chrono::nanoseconds by) {
        now_ += by;
        wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
    }

private:
    TimePoint now_{std::chrono::hours(1)};
    std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'763'769'600)};  // 2025-11-22T00:00:00Z
};

}  // namespace mqs
