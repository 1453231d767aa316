// MQTT topic filters (+, #, $-topics) and topic templates with named captures such as
// "entrepot/{zone}/{sensor}/v1", which match like "entrepot/+/+/v1" and render output topics.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqs {

// Full MQTT semantics: '+' one level, '#' the rest including the parent level,
// topics starting with '$' are not matched by a filter whose first level is a wildcard.
bool topicMatchesFilter(std::string_view filter, std::string_view topic);

// Returns an error message for an invalid subscription filter, or empty when valid.
std::string checkTopicFilter(std::string_view filter);

// For every topic a plugin builds before it publishes: returns why `topic` cannot be published, or
// empty when it can. MQTT carries a topic in 2 length bytes (beyond 65 535 bytes the length wraps and
// the message lands on another topic); a topic name is non-empty UTF-8 without wildcards or NUL, and
// Mosquitto refuses C0/C1 control characters in it as well.
std::string checkPublishTopic(std::string_view topic);

// Named values pulled from a topic (and anything else a plugin wants to substitute).
class Captures {
public:
    void set(std::string_view name, std::string_view value);
    std::optional<std::string_view> get(std::string_view name) const;
    void clear() { entries_.clear(); }
    const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

private:
    std::vector<std::pair<std::string, std::string>> entries_;
};

// A topic pattern where a level may be "{name}" (one level, captured), "+" (one level, not captured)
// or a final "#". Immutable after parse; match() is cheap and allocation-free when it fails.
class TopicTemplate {
public:
    // Throws std::invalid_argument with a readable message on a bad template.
    static TopicTemplate parse(std::string_view text);

    const std::string& text() const { return text_; }
    const std::string& filter() const { return filter_; }  // the equivalent MQTT filter
    const std::vector<std::string>& captureNames() const { return capture_names_; }

    // On success fills `captures` (if given) and returns true.
    bool match(std::string_view topic, Captures* captures = nullptr) const;

private:
    struct Level {
        enum class Kind { Literal, Capture, Plus, Hash } kind;
        std::string text;  // literal text or capture name
    };
    std::string text_;
    std::string filter_;
    std::vector<Level> levels_;
    std::vector<std::string> capture_names_;
};

// "{name}" substitution for output topics and messages. Unknown names are an error at parse time
// when the caller lists the names it will supply.
class OutputTemplate {
public:
    // allowed: names that may appear; throws std::invalid_argument naming an unknown or unclosed placeholder.
    static OutputTemplate parse(std::string_view text, const std::vector<std::string>& allowed);
    std::string render(const Captures& values) const;
    const std::string& text() const { return text_; }

private:
    struct Piece {
        bool is_name;
        std::string text;
    };
    std::string text_;
    std::vector<Piece> pieces_;
};

}  // namespace mqs
