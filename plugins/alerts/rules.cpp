// Rules file parsing and checking, and the condition predicates; the format is in docs/alerts.md.
// Errors are located like "<file>: rules[2].levels[0].above: must be a number".
#include "rules.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "options.hpp"

namespace mqs::alerts {

bool Condition::raises(double v, const double* previous) const {
    switch (kind) {
        case ConditionKind::Above: return v > a;
        case ConditionKind::Below: return v < a;
        case ConditionKind::AtLeast: return v >= a;
        case ConditionKind::AtMost: return v <= a;
        case ConditionKind::Outside: return v < a || v > b;
        case ConditionKind::Inside: return v >= a && v <= b;
        case ConditionKind::Equals: return v == a;
        case ConditionKind::NotEquals: return v != a;
        case ConditionKind::Change: return previous != nullptr && std::fabs(v - *previous) > a;
    }
    return false;
}

bool Condition::holds(double v, const double* previous) const {
    if (!has_clear) return raises(v, previous);
    // The clear threshold says where the alert ends: it holds until the value crosses it.
    switch (kind) {
        case ConditionKind::Above: return !(v < clear_a);
        case ConditionKind::AtLeast: return !(v < clear_a);
        case ConditionKind::Below: return !(v > clear_a);
        case ConditionKind::AtMost: return !(v > clear_a);
        case ConditionKind::Outside: return v < clear_a || v > clear_b;
        case ConditionKind::Inside: return v >= clear_a && v <= clear_b;
        case ConditionKind::Change: return previous != nullptr && std::fabs(v - *previous) > clear_a;
        case ConditionKind::Equals:
        case ConditionKind::NotEquals: return raises(v, previous);
    }
    return false;
}

std::vector<double> Condition::raiseThreshold() const {
    if (kind == ConditionKind::Outside || kind == ConditionKind::Inside) return {a, b};
    return {a};
}

std::vector<double> Condition::clearThreshold() const {
    if (!has_clear) return raiseThreshold();
    if (kind == ConditionKind::Outside || kind == ConditionKind::Inside) return {clear_a, clear_b};
    return {clear_a};
}

const char* Condition::kindName(ConditionKind kind) {
    switch (kind) {
        case ConditionKind::Above: return "above";
        case ConditionKind::Below: return "below";
        case ConditionKind::AtLeast: return "at_least";
        case ConditionKind::AtMost: return "at_most";
        case ConditionKind::Outside: return "outside";
        case ConditionKind::Inside: return "inside";
        case ConditionKind::Equals: return "equals";
        case ConditionKind::NotEquals: return "not_equals";
        case ConditionKind::Change: return "change";
    }
    return "?";
}

bool Rule::matches(std::string_view topic, Captures* captures) const {
    for (const auto& t : topics) {
        if (t.match(topic, captures)) return true;
    }
    return false;
}

const Rule* RuleSet::find(std::string_view name) const {
    size_t i = indexOf(name);
    return i < rules.size() ? &rules[i] : nullptr;
}

size_t RuleSet::indexOf(std::string_view name) const {
    for (size_t i = 0; i < rules.size(); ++i) {
        if (rules[i].name == name) return i;
    }
    return rules.size();
}

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw RulesError(where + ": " + what); }

void checkKeys(const json& spec, const std::set<std::string>& known, const std::string& where) {
    for (const auto& [key, value] : spec.items()) {
        if (!known.count(key)) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            fail(where + "." + key, "unknown key (known: " + list + ")");
        }
    }
}

double number(const json& v, const std::string& where) {
    if (!v.is_number()) fail(where, "must be a number");
    double d = v.get<double>();
    if (!std::isfinite(d)) fail(where, "must be a finite number");
    return d;
}

std::pair<double, double> range(const json& v, const std::string& where) {
    if (!v.is_array() || v.size() != 2) fail(where, "must be a range [low, high]");
    double lo = number(v[0], where + "[0]"), hi = number(v[1], where + "[1]");
    if (lo > hi) fail(where, "low must not be greater than high");
    return {lo, hi};
}

std::chrono::milliseconds duration(const json& v, const std::string& where, bool allow_zero) {
    if (!v.is_string()) fail(where, "must be a duration string such as \"90s\" or \"5m\"");
    auto d = parseDuration(v.get<std::string>());
    if (!d || d->count() < 0 || (!allow_zero && d->count() == 0)) {
        fail(where, "'" + v.get<std::string>() + "' is not a " + (allow_zero ? "" : "positive ") + "duration such as 90s or 5m");
    }
    return *d;
}

OutputTemplate outputTopic(const json& v, const std::string& where, const std::vector<std::string>& allowed) {
    if (!v.is_string()) fail(where, "must be a topic string");
    std::string topic = v.get<std::string>();
    if (topic.empty() || topic.find_first_of("+#") != std::string::npos || topic[0] == '$') {
        fail(where, "'" + topic + "' must be a non-empty topic without wildcards or a leading '$'");
    }
    try {
        return OutputTemplate::parse(topic, allowed);
    } catch (const std::invalid_argument& e) {
        fail(where, e.what());
    }
}

Level parseLevel(const json& spec, const std::string& where) {
    if (!spec.is_object()) fail(where, "must be an object");
    static const std::set<std::string> conditions{"above", "below", "at_least", "at_most", "outside",
                                                  "inside", "equals", "not_equals", "change"};
    std::set<std::string> known = conditions;
    known.insert({"name", "clear", "count", "for"});
    checkKeys(spec, known, where);
    Level level;
    if (!spec.contains("name") || !spec["name"].is_string() || spec["name"].get<std::string>().empty()) {
        fail(where + ".name", "is required (a non-empty string such as \"warning\")");
    }
    level.name = spec["name"].get<std::string>();
    if (level.name == "deadman" || level.name == "invalid") {
        fail(where + ".name", "'" + level.name + "' is reserved for the rule's own " + level.name + " alert");
    }
    std::string found;
    for (const auto& c : conditions) {
        if (!spec.contains(c)) continue;
        if (!found.empty()) fail(where, "has both '" + found + "' and '" + c + "': give exactly one condition");
        found = c;
    }
    if (found.empty()) fail(where, "needs one condition: above, below, at_least, at_most, outside, inside, equals, not_equals or change");
    Condition& c = level.condition;
    const json& v = spec[found];
    const std::string cwhere = where + "." + found;
    if (found == "outside" || found == "inside") {
        c.kind = found == "outside" ? ConditionKind::Outside : ConditionKind::Inside;
        std::tie(c.a, c.b) = range(v, cwhere);
    } else {
        static const std::pair<const char*, ConditionKind> kinds[] = {
            {"above", ConditionKind::Above},   {"below", ConditionKind::Below},       {"at_least", ConditionKind::AtLeast},
            {"at_most", ConditionKind::AtMost}, {"equals", ConditionKind::Equals}, {"not_equals", ConditionKind::NotEquals},
            {"change", ConditionKind::Change}};
        for (const auto& [name, kind] : kinds) {
            if (found == name) c.kind = kind;
        }
        c.a = number(v, cwhere);
        if (c.kind == ConditionKind::Change && c.a < 0) fail(cwhere, "must not be negative");
    }
    if (spec.contains("clear")) {
        const std::string w = where + ".clear";
        c.has_clear = true;
        switch (c.kind) {
            case ConditionKind::Above:
            case ConditionKind::AtLeast:
                c.clear_a = number(spec["clear"], w);
                if (c.clear_a > c.a) fail(w, "must not be above the raise threshold (" + found + ")");
                break;
            case ConditionKind::Below:
            case ConditionKind::AtMost:
                c.clear_a = number(spec["clear"], w);
                if (c.clear_a < c.a) fail(w, "must not be below the raise threshold (" + found + ")");
                break;
            case ConditionKind::Change:
                c.clear_a = number(spec["clear"], w);
                if (c.clear_a < 0 || c.clear_a > c.a) fail(w, "must be between 0 and the change threshold");
                break;
            case ConditionKind::Outside:
                std::tie(c.clear_a, c.clear_b) = range(spec["clear"], w);
                if (c.clear_a < c.a || c.clear_b > c.b) fail(w, "must lie within the 'outside' range (the value clears once back inside it)");
                break;
            case ConditionKind::Inside:
                std::tie(c.clear_a, c.clear_b) = range(spec["clear"], w);
                if (c.clear_a > c.a || c.clear_b < c.b) fail(w, "must contain the 'inside' range (the value clears once out of it)");
                break;
            case ConditionKind::Equals:
            case ConditionKind::NotEquals:
                fail(w, "does not apply to '" + found + "'");
        }
    }
    if (spec.contains("count")) {
        const json& n = spec["count"];
        if (!n.is_number_unsigned() || n.get<uint64_t>() == 0 || n.get<uint64_t>() > 1'000'000) {
            fail(where + ".count", "must be a whole number from 1 to 1000000");
        }
        level.count = n.get<uint32_t>();
    }
    if (spec.contains("for")) level.for_duration = duration(spec["for"], where + ".for", true);
    return level;
}

Rule parseRule(const json& spec, const std::string& where) {
    if (!spec.is_object()) fail(where, "must be an object");
    static const std::set<std::string> known{"name", "topic", "topics", "value", "levels", "alert_topic", "qos", "retain",
                                             "on_clear", "renotify", "cooldown", "message", "deadman", "deadman_topic",
                                             "invalid", "invalid_topic", "duplicate_window", "dedup_field"};
    checkKeys(spec, known, where);
    Rule rule;
    if (!spec.contains("name") || !spec["name"].is_string() || spec["name"].get<std::string>().empty()) {
        fail(where + ".name", "is required (a non-empty string)");
    }
    rule.name = spec["name"].get<std::string>();
    if (rule.name.find_first_of("/+#\n") != std::string::npos) {
        fail(where + ".name", "'" + rule.name + "' must not contain '/', '+' or '#' (it names metric topics)");
    }

    // Topics: one "topic" or a "topics" array; all must capture the same names (they form the device key).
    std::vector<std::pair<std::string, std::string>> topic_specs;  // (where, text)
    if (spec.contains("topic") == spec.contains("topics")) fail(where + ".topic", "give exactly one of 'topic' or 'topics'");
    if (spec.contains("topic")) {
        if (!spec["topic"].is_string()) fail(where + ".topic", "must be a string");
        topic_specs.emplace_back(where + ".topic", spec["topic"].get<std::string>());
    } else {
        if (!spec["topics"].is_array() || spec["topics"].empty()) fail(where + ".topics", "must be a non-empty array of topic templates");
        for (size_t i = 0; i < spec["topics"].size(); ++i) {
            std::string twhere = where + ".topics[" + std::to_string(i) + "]";
            if (!spec["topics"][i].is_string()) fail(twhere, "must be a string");
            topic_specs.emplace_back(twhere, spec["topics"][i].get<std::string>());
        }
    }
    for (const auto& [twhere, text] : topic_specs) {
        try {
            rule.topics.push_back(TopicTemplate::parse(text));
        } catch (const std::invalid_argument& e) {
            fail(twhere, e.what());
        }
        const auto& names = rule.topics.back().captureNames();
        if (rule.topics.size() == 1) {
            rule.capture_names = names;
        } else if (std::set<std::string>(names.begin(), names.end()) !=
                   std::set<std::string>(rule.capture_names.begin(), rule.capture_names.end())) {
            fail(twhere, "must capture the same names as the rule's first topic (they identify the device)");
        }
    }
    // Timer-fired alerts have no message: name the source topic when the first topic can be rendered back.
    const std::string& first = rule.topics.front().text();
    if (first.find_first_of("+#") == std::string::npos) {
        rule.source_topic = OutputTemplate::parse(first, rule.capture_names);
    }

    if (spec.contains("value")) {
        if (!spec["value"].is_string()) fail(where + ".value", "must be a JSON path such as \"temp\" or \"$\" for the whole payload");
        std::string path = spec["value"].get<std::string>();
        if (path != "$") {
            try {
                rule.value = JsonPath::parse(path);
            } catch (const std::invalid_argument& e) {
                fail(where + ".value", e.what());
            }
            if (rule.value->isRoot()) rule.value.reset();
        }
    }

    if (spec.contains("levels")) {
        const json& levels = spec["levels"];
        if (!levels.is_array()) fail(where + ".levels", "must be an array of levels");
        if (levels.size() > kMaxLevels) fail(where + ".levels", "at most " + std::to_string(kMaxLevels) + " levels per rule");
        std::set<std::string> level_names;
        for (size_t i = 0; i < levels.size(); ++i) {
            std::string lwhere = where + ".levels[" + std::to_string(i) + "]";
            rule.levels.push_back(parseLevel(levels[i], lwhere));
            if (!level_names.insert(rule.levels.back().name).second) fail(lwhere + ".name", "'" + rule.levels.back().name + "' is used twice");
        }
    }
    if (spec.contains("deadman")) rule.deadman = duration(spec["deadman"], where + ".deadman", false);
    if (rule.levels.empty() && rule.deadman.count() == 0) {
        fail(where, "has nothing to watch: give 'levels', 'deadman' or both");
    }

    std::vector<std::string> topic_names = alertTopicBuiltins();
    topic_names.insert(topic_names.end(), rule.capture_names.begin(), rule.capture_names.end());
    if (!spec.contains("alert_topic")) fail(where + ".alert_topic", "is required, e.g. \"alerts/{device}\"");
    rule.alert_topic = outputTopic(spec["alert_topic"], where + ".alert_topic", topic_names);
    // Each alert kind gets its own retained topic, so one never overwrites another's state.
    if (spec.contains("deadman_topic")) {
        if (rule.deadman.count() == 0) fail(where + ".deadman_topic", "only applies with 'deadman'");
        rule.deadman_topic = outputTopic(spec["deadman_topic"], where + ".deadman_topic", topic_names);
    } else {
        rule.deadman_topic = rule.levels.empty() ? rule.alert_topic
                                                 : OutputTemplate::parse(rule.alert_topic.text() + "/deadman", topic_names);
    }
    if (spec.contains("invalid")) {
        const json& inv = spec["invalid"];
        if (inv == "count") rule.invalid = InvalidMode::Count;
        else if (inv == "alert") rule.invalid = InvalidMode::Alert;
        else fail(where + ".invalid", "must be \"count\" or \"alert\"");
        if (rule.invalid == InvalidMode::Alert && !rule.needsValue()) fail(where + ".invalid", "needs 'levels' (a deadman-only rule reads no value)");
    }
    if (spec.contains("invalid_topic")) {
        if (rule.invalid != InvalidMode::Alert) fail(where + ".invalid_topic", "only applies with \"invalid\": \"alert\"");
        rule.invalid_topic = outputTopic(spec["invalid_topic"], where + ".invalid_topic", topic_names);
    } else {
        rule.invalid_topic = OutputTemplate::parse(rule.alert_topic.text() + "/invalid", topic_names);
    }

    if (spec.contains("qos")) {
        const json& q = spec["qos"];
        if (!q.is_number_integer() || q.get<int>() < 0 || q.get<int>() > 2) fail(where + ".qos", "must be 0, 1 or 2");
        rule.qos = q.get<int>();
    }
    if (spec.contains("retain")) {
        if (!spec["retain"].is_boolean()) fail(where + ".retain", "must be true or false");
        rule.retain = spec["retain"].get<bool>();
    }
    if (spec.contains("on_clear")) {
        const json& c = spec["on_clear"];
        if (c == "message") rule.on_clear = ClearMode::Message;
        else if (c == "empty") rule.on_clear = ClearMode::Empty;
        else fail(where + ".on_clear", "must be \"message\" (retained clear message) or \"empty\" (clear message, then the retained alert is deleted)");
    }
    if (spec.contains("renotify")) rule.renotify = duration(spec["renotify"], where + ".renotify", true);
    if (spec.contains("cooldown")) rule.cooldown = duration(spec["cooldown"], where + ".cooldown", true);
    if (spec.contains("message")) {
        if (!spec["message"].is_string()) fail(where + ".message", "must be a string");
        std::vector<std::string> names = messageBuiltins();
        names.insert(names.end(), rule.capture_names.begin(), rule.capture_names.end());
        try {
            rule.message = OutputTemplate::parse(spec["message"].get<std::string>(), names);
        } catch (const std::invalid_argument& e) {
            fail(where + ".message", e.what());
        }
    }
    if (spec.contains("duplicate_window")) rule.duplicate_window = duration(spec["duplicate_window"], where + ".duplicate_window", true);
    if (spec.contains("dedup_field")) {
        if (!spec["dedup_field"].is_string()) fail(where + ".dedup_field", "must be a JSON path such as \"timestamp\"");
        try {
            rule.dedup_field = JsonPath::parse(spec["dedup_field"].get<std::string>());
        } catch (const std::invalid_argument& e) {
            fail(where + ".dedup_field", e.what());
        }
        if (rule.dedup_field->isRoot()) fail(where + ".dedup_field", "must name a field, not the whole payload");
    }
    return rule;
}

}  // namespace

RuleSet parseRuleSet(const std::string& text, const std::string& where) {
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::parse_error& e) {
        fail(where, "not valid JSON: " + std::string(e.what()));
    }
    if (!doc.is_object()) fail(where, "must be a JSON object with a \"rules\" array");
    for (const auto& [key, value] : doc.items()) {
        if (key != "rules") fail(where + ": " + key, "unknown key (known: rules)");
    }
    if (!doc.contains("rules") || !doc["rules"].is_array()) fail(where + ": rules", "is required: an array of rules");
    RuleSet set;
    std::set<std::string> names;
    for (size_t i = 0; i < doc["rules"].size(); ++i) {
        std::string rwhere = where + ": rules[" + std::to_string(i) + "]";
        Rule rule = parseRule(doc["rules"][i], rwhere);
        if (!names.insert(rule.name).second) fail(rwhere + ".name", "'" + rule.name + "' is used by another rule");
        set.rules.push_back(std::move(rule));
    }
    return set;
}

RuleSet loadRuleSet(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) fail(file.string(), "cannot open rules file");
    std::stringstream text;
    text << in.rdbuf();
    RuleSet set = parseRuleSet(text.str(), file.string());
    set.source = std::filesystem::absolute(file);
    return set;
}

}  // namespace mqs::alerts
