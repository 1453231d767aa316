// The one reader of JSON rules files for every plugin: reads the file, walks it with a cursor that knows its
// JSON path, checks types and keys, and reports every problem as "<file>: <json path>: <problem>".
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_path.hpp"
#include "common/topic.hpp"

namespace mqs {

// A rules-file problem. what() is "<file>: <path>: <problem>", or "<file>: <problem>" when it concerns
// the whole file. The path is written like "rules[2].levels[0].above"; a key that is not made of
// letters, digits, '_' and '-' is written quoted, like tags["room name"]. The plugin's logger adds
// "<plugin>: " in front.
class RulesError : public std::runtime_error {
public:
    RulesError(std::string file, std::string path, std::string problem);
    const std::string& file() const { return file_; }
    const std::string& path() const { return path_; }
    const std::string& problem() const { return problem_; }

private:
    std::string file_, path_, problem_;
};

class RulesNode;

// A parsed rules file. Nodes point into it: keep it alive, and in place, while they are used.
class RulesFile {
public:
    // Throws RulesError: "cannot open: <errno text>", "cannot read: <errno text>", or
    // "not valid JSON at line L, column C: ...". `file` appears in messages as given.
    static RulesFile read(const std::filesystem::path& file);
    // The same from text already in memory (tests); `file` stands for the file name in messages.
    static RulesFile parse(std::string_view text, std::string file);

    RulesFile(RulesFile&&) = default;
    RulesFile(const RulesFile&) = delete;
    RulesFile& operator=(const RulesFile&) = delete;

    RulesNode root() const;
    const std::string& file() const { return file_; }

private:
    RulesFile(std::string file, nlohmann::json doc) : file_(std::move(file)), doc_(std::move(doc)) {}
    std::string file_;
    nlohmann::json doc_;
};

// A cursor on one value of a rules file: the value (or its absence), the file and the JSON path to it.
// Cheap to copy; valid while its RulesFile lives. Every getter throws RulesError located at this node:
// "is required (<what>)" when absent, "must be <what> (not <type>)" when of the wrong type, and a
// sentence naming the bad value otherwise. Typical use (defaults live in the caller's struct):
//
//   RulesFile file = RulesFile::read(path);
//   RulesNode doc = file.root();
//   doc.checkObject({"rules"});
//   for (const RulesNode& r : doc.get("rules").elements()) {
//       r.checkObject({"name", "qos"});
//       rule.name = r.get("name").ruleName();
//       if (auto q = r.find("qos")) rule.qos = static_cast<int>(q->integer(0, 2));
//   }
class RulesNode {
public:
    const std::string& file() const { return *file_; }
    const std::string& path() const { return path_; }
    bool present() const { return value_ != nullptr; }
    const nlohmann::json& json() const;  // null when absent

    // Throws RulesError for this location.
    [[noreturn]] void fail(std::string_view problem) const;

    // Members and elements. get() of a missing key (or of anything below an absent node) gives an
    // absent node, so `rule.get("name").string()` says "name: is required (a string)".
    RulesNode get(std::string_view key) const;
    std::optional<RulesNode> find(std::string_view key) const;  // nullopt when absent
    bool has(std::string_view key) const { return find(key).has_value(); }

    // This node must be an object using only these keys; an unknown key is refused with the known ones listed.
    void checkObject(const std::vector<std::string_view>& known) const;
    std::vector<std::pair<std::string, RulesNode>> members() const;  // must be an object; in key order
    std::vector<RulesNode> elements() const;                         // must be an array

    std::string string() const;
    bool boolean() const;
    int64_t integer(int64_t min, int64_t max) const;  // a whole JSON number within [min, max]
    double number() const;                            // a finite JSON number
    std::chrono::milliseconds duration() const;       // "250ms", "90s", "5m", "1h"; zero allowed
    std::chrono::milliseconds positiveDuration() const;
    uint64_t bytes() const;  // 4096 or "64KiB" (common/options' size notation)
    // One of the named choices, e.g. choice<Action>({{"drop", Action::Drop}, {"shadow", Action::Shadow}}).
    template <typename T>
    T choice(std::initializer_list<std::pair<std::string_view, T>> choices) const;

    // A name that goes into metric topics and log lines: non-empty, no '/', '+', '#' or control characters.
    std::string ruleName() const;
    std::string topicFilter() const;      // an MQTT subscription filter
    TopicTemplate topicTemplate() const;  // a filter whose levels may be named captures, "site/{room}/+"
    // A topic to publish to: non-empty, no wildcards, no leading '$'; may use the given placeholders.
    OutputTemplate outputTopic(const std::vector<std::string>& placeholders) const;
    OutputTemplate outputTemplate(const std::vector<std::string>& placeholders) const;  // any "{name}" text
    JsonPath jsonPath() const;                                                          // "temp", "a.b[2]", "$"

private:
    friend class RulesFile;
    RulesNode(const nlohmann::json* value, const std::string* file, std::string path)
        : value_(value), file_(file), path_(std::move(path)) {}
    // The value when present and of the wanted kind; otherwise fails with "is required" or "must be".
    const nlohmann::json& expect(bool ok_type, std::string_view what) const;
    size_t choiceIndex(const std::vector<std::string_view>& names) const;
    RulesNode child(const nlohmann::json* value, std::string_view key) const;

    const nlohmann::json* value_;  // nullptr: absent
    const std::string* file_;
    std::string path_;
};

template <typename T>
T RulesNode::choice(std::initializer_list<std::pair<std::string_view, T>> choices) const {
    std::vector<std::string_view> names;
    for (const auto& c : choices) names.push_back(c.first);
    return (choices.begin() + choiceIndex(names))->second;
}

}  // namespace mqs
