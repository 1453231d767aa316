// Logging facade shared by every plugin: one line per message, prefixed with the plugin name.
// The sink is injected so the broker adapter can route to mosquitto_log_printf and tests can capture.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"

namespace mqs {

enum class LogLevel { Debug, Info, Notice, Warning, Error };

using LogSink = std::function<void(LogLevel, const std::string&)>;

// Thread: call from the broker thread only when the sink is the broker's (it is not thread-safe there).
class Logger {
public:
    Logger(std::string plugin_name, LogSink sink);

    void log(LogLevel level, std::string_view message) const;
    void debug(std::string_view message) const { log(LogLevel::Debug, message); }
    void info(std::string_view message) const { log(LogLevel::Info, message); }
    void warning(std::string_view message) const { log(LogLevel::Warning, message); }
    void error(std::string_view message) const { log(LogLevel::Error, message); }

    const std::string& pluginName() const { return plugin_name_; }

private:
    std::string plugin_name_;
    LogSink sink_;
};

// Per-message warnings go through this so a flood of bad payloads cannot flood the log:
// at most `burst` lines per key per `interval`; the next line allowed says how many were suppressed.
class RateLimitedLog {
public:
    RateLimitedLog(const Logger& logger, const Clock& clock,
                   std::chrono::seconds interval = std::chrono::seconds(10), int burst = 5);

    // Returns true if the line was written.
    bool warning(std::string_view key, std::string_view message);
    uint64_t suppressedTotal() const { return suppressed_total_; }

private:
    struct Window {
        Clock::TimePoint start;
        int written = 0;
        uint64_t suppressed = 0;
    };
    const Logger& logger_;
    const Clock& clock_;
    std::chrono::seconds interval_;
    int burst_;
    std::unordered_map<std::string, Window> windows_;
    uint64_t suppressed_total_ = 0;
};

// Quotes external text for a log line: printable ASCII kept, the rest escaped, long text cut.
std::string quoteForLog(std::string_view text, size_t max_length = 200);

}  // namespace mqs
