// Alert rules as loaded from the rules file: which topics, which value, which levels and conditions,
// where and how alerts are published. A RuleSet is immutable once loaded; a reload builds a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/json_path.hpp"
#include "common/rules_reader.hpp"
#include "common/topic.hpp"

namespace mqs::alerts {

// At most this many levels per rule, so per-device debounce counters fit in a fixed array.
inline constexpr size_t kMaxLevels = 4;

enum class ConditionKind { Above, Below, AtLeast, AtMost, Outside, Inside, Equals, NotEquals, Change };

// One level's test. `raises` decides whether a sample starts (or continues) the condition; once the
// level is active `holds` decides whether it stays, with the separate clear threshold (hysteresis).
struct Condition {
    ConditionKind kind = ConditionKind::Above;
    double a = 0, b = 0;              // threshold, or range [a, b]
    bool has_clear = false;
    double clear_a = 0, clear_b = 0;  // clear threshold, or clear range

    // previous: the device's last valid value (nullptr for its first sample); only Change reads it.
    bool raises(double value, const double* previous) const;
    bool holds(double value, const double* previous) const;
    // For alert payloads: the threshold that raises, and the one that clears.
    std::vector<double> raiseThreshold() const;
    std::vector<double> clearThreshold() const;
    static const char* kindName(ConditionKind kind);
};

struct Level {
    std::string name;
    Condition condition;
    uint32_t count = 1;                      // consecutive matching samples before raising
    std::chrono::milliseconds for_duration{0};  // and the condition held at least this long
};

enum class ClearMode { Message, Empty };   // retained clear message, or an empty retained message
enum class InvalidMode { Count, Alert };

struct Rule {
    std::string name;
    std::vector<TopicTemplate> topics;
    std::vector<std::string> capture_names;  // the device key is these captures' values joined by '/'
    std::optional<JsonPath> value;           // nullopt: the whole payload is the number
    std::vector<Level> levels;               // ascending severity
    OutputTemplate alert_topic;
    int qos = 1;
    bool retain = true;
    ClearMode on_clear = ClearMode::Message;
    std::chrono::milliseconds renotify{0};  // re-publish an alert that stays active; 0 never
    std::chrono::milliseconds cooldown{0};  // after a clear, no new raise for this long
    std::optional<OutputTemplate> message;
    std::chrono::milliseconds deadman{0};   // 0: no deadman
    OutputTemplate deadman_topic;
    InvalidMode invalid = InvalidMode::Count;
    OutputTemplate invalid_topic;
    std::optional<std::chrono::milliseconds> duplicate_window;  // overrides the plugin option
    std::optional<JsonPath> dedup_field;                         // e.g. "timestamp"
    std::optional<OutputTemplate> source_topic;  // renders the source topic for timer-fired alerts

    bool matches(std::string_view topic, Captures* captures) const;
    bool needsValue() const { return !levels.empty(); }
};

struct RuleSet {
    std::vector<Rule> rules;
    std::filesystem::path source;
    const Rule* find(std::string_view name) const;
    size_t indexOf(std::string_view name) const;  // rules.size() when absent
};

// A rules-file problem: "<file>: <json path>: <problem>" (common/rules_reader.hpp).
using mqs::RulesError;

// Reads and checks a rules file. Throws RulesError.
RuleSet loadRuleSet(const std::filesystem::path& file);
// Same, from text (tests); `where` names the source in messages.
RuleSet parseRuleSet(const std::string& text, const std::string& where);

// Placeholders an alert topic may use besides the rule's captures; messages may also use these.
inline const std::vector<std::string>& alertTopicBuiltins() {
    static const std::vector<std::string> names{"rule", "device"};
    return names;
}
inline const std::vector<std::string>& messageBuiltins() {
    static const std::vector<std::string> names{"rule", "device", "value", "level", "state", "threshold"};
    return names;
}

}  // namespace mqs::alerts
