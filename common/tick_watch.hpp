// Notices when the broker sends no MOSQ_EVT_TICK (Mosquitto 2.0.11 with per_listener_settings true)
// so the plugin can say once, plainly, that timers now run from message callbacks only.
#pragma once

#include <chrono>

#include "common/clock.hpp"

namespace mqs {

class TickWatch {
public:
    explicit TickWatch(std::chrono::seconds patience = std::chrono::seconds(5)) : patience_(patience) {}
    void onTick() { ticked_ = true; }
    // Call from message callbacks; true exactly once, when messages flow but no tick came for `patience`.
    bool shouldWarn(Clock::TimePoint now) {
        if (ticked_ || warned_) return false;
        if (!started_) {
            started_ = true;
            first_message_ = now;
            return false;
        }
        if (now - first_message_ < patience_) return false;
        warned_ = true;
        return true;
    }
    bool ticking() const { return ticked_; }

private:
    std::chrono::seconds patience_;
    bool ticked_ = false, warned_ = false, started_ = false;
    Clock::TimePoint first_message_{};
};

}  // namespace mqs
