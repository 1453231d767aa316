// Validation rules as loaded from the rules file: which topics, which checks, what to do on failure.
// A RuleSet is immutable once loaded; a reload builds a new one and swaps it in whole.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jsonschema/json_schema.hpp"
#include "common/rules_reader.hpp"
#include "common/topic.hpp"

namespace mqs::validate {

// The schema engine lives in libs/jsonschema; rules and checks name its types unqualified.
using jsonschema::CompiledSchema;
using jsonschema::SchemaError;
using jsonschema::SchemaLoadError;
using jsonschema::SchemaStore;

enum class FailureAction { Drop, DeadLetter, Shadow };
enum class MatchPolicy { All, Any };

struct DisconnectAfter {
    uint32_t failures = 0;  // 0: never disconnect
    std::chrono::milliseconds window{0};
};

struct Rule {
    std::string name;
    std::vector<TopicTemplate> topics;  // empty for the default rule
    bool require_utf8 = false;
    bool require_json = false;
    std::optional<uint64_t> min_size;
    std::optional<uint64_t> max_size;
    std::shared_ptr<const CompiledSchema> schema;  // implies require_json
    FailureAction action = FailureAction::Drop;
    std::optional<OutputTemplate> dead_letter_topic;  // set when action is DeadLetter
    int dead_letter_qos = 1;
    DisconnectAfter disconnect_after;

    bool matches(std::string_view topic, Captures* captures) const;
};

struct RuleSet {
    MatchPolicy match_policy = MatchPolicy::All;
    std::vector<Rule> rules;
    std::optional<Rule> default_rule;  // applies when no rule's topics match
    std::filesystem::path source;
};

// A rules-file problem: "<file>: <json path>: <problem>" (common/rules_reader.hpp).
using mqs::RulesError;

// Reads, checks and compiles a rules file (schemas included). Throws RulesError.
RuleSet loadRuleSet(const std::filesystem::path& file);

// Placeholders every dead-letter topic may use, besides the rule's topic captures.
inline const std::vector<std::string>& deadLetterBuiltins() {
    static const std::vector<std::string> names{"rule", "topic", "client_id", "username"};
    return names;
}

}  // namespace mqs::validate
