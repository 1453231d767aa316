// Rules file parsing and checking, and the condition predicates; the format is in docs/alerts.md.
// Errors are located like "<file>: rules[2].levels[0].above: must be a number (not a string)".
#include "alerts/rules.hpp"

#include <cmath>
#include <set>

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

std::pair<double, double> range(const RulesNode& v) {
    if (!v.json().is_array() || v.json().size() != 2) v.fail("must be a range [low, high]");
    const auto bounds = v.elements();
    double lo = bounds[0].number(), hi = bounds[1].number();
    if (lo > hi) v.fail("low must not be greater than high");
    return {lo, hi};
}

Level parseLevel(const RulesNode& spec) {
    static const std::vector<std::string_view> conditions{"above",  "below",  "at_least",   "at_most", "outside",
                                                          "inside", "equals", "not_equals", "change"};
    std::vector<std::string_view> known = conditions;
    known.insert(known.end(), {"name", "clear", "count", "for"});
    spec.checkObject(known);
    Level level;
    const RulesNode name = spec.get("name");
    level.name = name.string();
    if (level.name.empty()) name.fail("must not be empty (a level name such as \"warning\")");
    if (level.name == "deadman" || level.name == "invalid") {
        name.fail("'" + level.name + "' is reserved for the rule's own " + level.name + " alert");
    }
    std::string found;
    for (auto c : conditions) {
        if (!spec.has(c)) continue;
        if (!found.empty()) {
            spec.fail("has both '" + found + "' and '" + std::string(c) + "': give exactly one condition");
        }
        found = c;
    }
    if (found.empty()) {
        spec.fail(
            "needs one condition: above, below, at_least, at_most, outside, inside, equals, not_equals or change");
    }
    Condition& c = level.condition;
    const RulesNode v = spec.get(found);
    if (found == "outside" || found == "inside") {
        c.kind = found == "outside" ? ConditionKind::Outside : ConditionKind::Inside;
        std::tie(c.a, c.b) = range(v);
    } else {
        static const std::pair<const char*, ConditionKind> kinds[] = {
            {"above", ConditionKind::Above},      {"below", ConditionKind::Below},
            {"at_least", ConditionKind::AtLeast}, {"at_most", ConditionKind::AtMost},
            {"equals", ConditionKind::Equals},    {"not_equals", ConditionKind::NotEquals},
            {"change", ConditionKind::Change}};
        for (const auto& [kind_name, kind] : kinds) {
            if (found == kind_name) c.kind = kind;
        }
        c.a = v.number();
        if (c.kind == ConditionKind::Change && c.a < 0) v.fail("must not be negative");
    }
    if (auto w = spec.find("clear")) {
        c.has_clear = true;
        switch (c.kind) {
            case ConditionKind::Above:
            case ConditionKind::AtLeast:
                c.clear_a = w->number();
                if (c.clear_a > c.a) w->fail("must not be above the raise threshold (" + found + ")");
                break;
            case ConditionKind::Below:
            case ConditionKind::AtMost:
                c.clear_a = w->number();
                if (c.clear_a < c.a) w->fail("must not be below the raise threshold (" + found + ")");
                break;
            case ConditionKind::Change:
                c.clear_a = w->number();
                if (c.clear_a < 0 || c.clear_a > c.a) w->fail("must be between 0 and the change threshold");
                break;
            case ConditionKind::Outside:
                std::tie(c.clear_a, c.clear_b) = range(*w);
                if (c.clear_a < c.a || c.clear_b > c.b) {
                    w->fail("must lie within the 'outside' range (the value clears once back inside it)");
                }
                break;
            case ConditionKind::Inside:
                std::tie(c.clear_a, c.clear_b) = range(*w);
                if (c.clear_a > c.a || c.clear_b < c.b) {
                    w->fail("must contain the 'inside' range (the value clears once out of it)");
                }
                break;
            case ConditionKind::Equals:
            case ConditionKind::NotEquals:
                w->fail("does not apply to '" + found + "'");
        }
    }
    if (auto n = spec.find("count")) level.count = static_cast<uint32_t>(n->integer(1, 1'000'000));
    if (auto d = spec.find("for")) level.for_duration = d->duration();
    return level;
}

Rule parseRule(const RulesNode& spec) {
    spec.checkObject({"name", "topic", "topics", "value", "levels", "alert_topic", "qos", "retain", "on_clear",
                      "renotify", "cooldown", "message", "deadman", "deadman_topic", "invalid", "invalid_topic",
                      "duplicate_window", "dedup_field"});
    Rule rule;
    rule.name = spec.get("name").ruleName();

    // Topics: one "topic" or a "topics" array; all must capture the same names (they form the device key).
    std::vector<RulesNode> topic_specs;
    if (spec.has("topic") == spec.has("topics")) spec.get("topic").fail("give exactly one of 'topic' or 'topics'");
    if (auto t = spec.find("topic")) {
        topic_specs.push_back(*t);
    } else {
        const RulesNode topics = spec.get("topics");
        topic_specs = topics.elements();
        if (topic_specs.empty()) topics.fail("must not be empty: give at least one topic template");
    }
    for (const auto& t : topic_specs) {
        rule.topics.push_back(t.topicTemplate());
        const auto& names = rule.topics.back().captureNames();
        if (rule.topics.size() == 1) {
            rule.capture_names = names;
        } else if (std::set<std::string>(names.begin(), names.end()) !=
                   std::set<std::string>(rule.capture_names.begin(), rule.capture_names.end())) {
            t.fail("must capture the same names as the rule's first topic (they identify the device)");
        }
    }
    // Timer-fired alerts have no message: name the source topic when the first topic can be rendered back.
    const std::string& first = rule.topics.front().text();
    if (first.find_first_of("+#") == std::string::npos) {
        rule.source_topic = OutputTemplate::parse(first, rule.capture_names);
    }

    if (auto v = spec.find("value")) {
        rule.value = v->jsonPath();
        if (rule.value->isRoot()) rule.value.reset();
    }

    if (auto levels = spec.find("levels")) {
        const auto elements = levels->elements();
        if (elements.size() > kMaxLevels) levels->fail("at most " + std::to_string(kMaxLevels) + " levels per rule");
        std::set<std::string> level_names;
        for (const auto& l : elements) {
            rule.levels.push_back(parseLevel(l));
            if (!level_names.insert(rule.levels.back().name).second) {
                l.get("name").fail("'" + rule.levels.back().name + "' is used twice");
            }
        }
    }
    if (auto d = spec.find("deadman")) rule.deadman = d->positiveDuration();
    if (rule.levels.empty() && rule.deadman.count() == 0) {
        spec.fail("has nothing to watch: give 'levels', 'deadman' or both");
    }

    std::vector<std::string> topic_names = alertTopicBuiltins();
    topic_names.insert(topic_names.end(), rule.capture_names.begin(), rule.capture_names.end());
    const RulesNode alert_topic = spec.get("alert_topic");
    if (!alert_topic.present()) alert_topic.fail("is required, e.g. \"alerts/{device}\"");
    rule.alert_topic = alert_topic.outputTopic(topic_names);
    // Each alert kind gets its own retained topic, so one never overwrites another's state.
    if (auto t = spec.find("deadman_topic")) {
        if (rule.deadman.count() == 0) t->fail("only applies with 'deadman'");
        rule.deadman_topic = t->outputTopic(topic_names);
    } else {
        rule.deadman_topic = rule.levels.empty() ? rule.alert_topic
                                                 : OutputTemplate::parse(rule.alert_topic.text() + "/deadman", topic_names);
    }
    if (auto inv = spec.find("invalid")) {
        rule.invalid = inv->choice<InvalidMode>({{"count", InvalidMode::Count}, {"alert", InvalidMode::Alert}});
        if (rule.invalid == InvalidMode::Alert && !rule.needsValue()) {
            inv->fail("needs 'levels' (a deadman-only rule reads no value)");
        }
    }
    if (auto t = spec.find("invalid_topic")) {
        if (rule.invalid != InvalidMode::Alert) t->fail("only applies with \"invalid\": \"alert\"");
        rule.invalid_topic = t->outputTopic(topic_names);
    } else {
        rule.invalid_topic = OutputTemplate::parse(rule.alert_topic.text() + "/invalid", topic_names);
    }

    if (auto q = spec.find("qos")) rule.qos = static_cast<int>(q->integer(0, 2));
    if (auto r = spec.find("retain")) rule.retain = r->boolean();
    // "message": a retained clear message; "empty": the clear message, then the retained alert is deleted.
    if (auto c = spec.find("on_clear")) {
        rule.on_clear = c->choice<ClearMode>({{"message", ClearMode::Message}, {"empty", ClearMode::Empty}});
    }
    if (auto d = spec.find("renotify")) rule.renotify = d->duration();
    if (auto d = spec.find("cooldown")) rule.cooldown = d->duration();
    if (auto m = spec.find("message")) {
        std::vector<std::string> names = messageBuiltins();
        names.insert(names.end(), rule.capture_names.begin(), rule.capture_names.end());
        rule.message = m->outputTemplate(names);
    }
    if (auto d = spec.find("duplicate_window")) rule.duplicate_window = d->duration();
    if (auto f = spec.find("dedup_field")) {
        rule.dedup_field = f->jsonPath();
        if (rule.dedup_field->isRoot()) f->fail("must name a field, not the whole payload");
    }
    return rule;
}

RuleSet parseRuleSet(const RulesFile& file) {
    const RulesNode doc = file.root();
    doc.checkObject({"rules"});
    RuleSet set;
    std::set<std::string> names;
    for (const auto& spec : doc.get("rules").elements()) {
        Rule rule = parseRule(spec);
        if (!names.insert(rule.name).second) spec.get("name").fail("'" + rule.name + "' is used by another rule");
        set.rules.push_back(std::move(rule));
    }
    return set;
}

}  // namespace

RuleSet parseRuleSet(const std::string& text, const std::string& where) {
    return parseRuleSet(RulesFile::parse(text, where));
}

RuleSet loadRuleSet(const std::filesystem::path& file) {
    RuleSet set = parseRuleSet(RulesFile::read(file));
    set.source = std::filesystem::absolute(file);
    return set;
}

}  // namespace mqs::alerts
