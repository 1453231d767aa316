// Logging facade and rate limiter; see log.hpp.
#include "common/log.hpp"

#include <cstdio>

namespace mqs {

Logger::Logger(std::string plugin_name, LogSink sink)
    : plugin_name_(std::move(plugin_name)), sink_(std::move(sink)) {}

void Logger::log(LogLevel level, std::string_view message) const {
    if (!sink_) return;
    std::string line;
    line.reserve(plugin_name_.size() + 2 + message.size());
    line.append(plugin_name_).append(": ").append(message);
    sink_(level, line);
}

RateLimitedLog::RateLimitedLog(const Logger& logger, const Clock& clock, std::chrono::seconds interval,
                               int burst)
    : logger_(logger), clock_(clock), interval_(interval), burst_(burst) {}

bool RateLimitedLog::warning(std::string_view key, std::string_view message) {
    auto now = clock_.now();
    auto [it, inserted] = windows_.try_emplace(std::string(key));
    Window& window = it->second;
    if (inserted || now - window.start >= interval_) {
        uint64_t suppressed = inserted ? 0 : window.suppressed;
        window = Window{now, 0, 0};
        if (suppressed > 0) {
            std::string line(message);
            line += " (" + std::to_string(suppressed) + " similar lines suppressed)";
            window.written = 1;
            logger_.warning(line);
            return true;
        }
    }
    if (window.written >= burst_) {
        ++window.suppressed;
        ++suppressed_total_;
        return false;
    }
    ++window.written;
    logger_.warning(message);
    return true;
}

std::string quoteForLog(std::string_view text, size_t max_length) {
    std::string out = "'";
    size_t n = 0;
    for (unsigned char c : text) {
        if (n++ == max_length) {
            out += "...";
            break;
        }
        if (c == '\'' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    out += "'";
    return out;
}

}  // namespace mqs
