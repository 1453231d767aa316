// Rules file parsing and checking; the format is documented in docs/validate.md.
#include "rules.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "options.hpp"

namespace mqs::validate {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw RulesError(where + ": " + what); }

json readJsonFile(const std::filesystem::path& file, const std::string& what) {
    std::ifstream in(file);
    if (!in) fail(file.string(), "cannot open " + what);
    try {
        return json::parse(in);
    } catch (const json::parse_error& e) {
        fail(file.string(), "not valid JSON: " + std::string(e.what()));
    }
}

std::optional<uint64_t> sizeField(const json& rule, const char* key, const std::string& where) {
    if (!rule.contains(key)) return std::nullopt;
    const json& v = rule.at(key);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_string()) {
        if (auto s = parseSize(v.get<std::string>())) return s;
    }
    fail(where + "." + key, "must be a byte count such as 4096 or \"64KiB\"");
}

bool boolField(const json& rule, const char* key, bool fallback, const std::string& where) {
    if (!rule.contains(key)) return fallback;
    if (!rule.at(key).is_boolean()) fail(where + "." + key, "must be true or false");
    return rule.at(key).get<bool>();
}

struct LoadContext {
    std::filesystem::path rules_file;
    std::filesystem::path schema_dir;
    SchemaStore store;
};

std::shared_ptr<const CompiledSchema> loadSchema(const json& spec, const std::string& where, LoadContext& ctx) {
    try {
        if (spec.is_object() || spec.is_boolean()) {
            // Inline schemas resolve relative $refs against the schema directory, like schema files.
            return CompiledSchema::compile(spec, SchemaStore::fileUri(ctx.schema_dir / "inline.schema.json"), ctx.store);
        }
        if (spec.is_string()) {
            std::filesystem::path file = ctx.schema_dir / spec.get<std::string>();
            std::error_code ec;
            auto canonical = std::filesystem::weakly_canonical(file, ec);
            json doc = readJsonFile(canonical, "schema file");
            return CompiledSchema::compile(doc, SchemaStore::fileUri(canonical), ctx.store);
        }
    } catch (const SchemaLoadError& e) {
        fail(where, std::string("invalid schema: ") + e.what());
    }
    fail(where, "must be a schema object or the name of a file in the schema directory");
}

Rule parseRule(const json& spec, const std::string& where, bool is_default, LoadContext& ctx) {
    if (!spec.is_object()) fail(where, "must be an object");
    static const std::set<std::string> known{"name", "topics", "utf8", "json", "min_size", "max_size", "schema",
                                             "action", "dead_letter_topic", "dead_letter_qos", "disconnect_after"};
    for (const auto& [key, value] : spec.items()) {
        if (!known.count(key)) fail(where + "." + key, "unknown key");
    }
    Rule rule;
    if (!spec.contains("name") || !spec["name"].is_string() || spec["name"].get<std::string>().empty()) {
        if (!is_default) fail(where + ".name", "is required (a non-empty string)");
        rule.name = "default";
    } else {
        rule.name = spec["name"].get<std::string>();
    }
    if (rule.name.find_first_of("/+#") != std::string::npos) {
        fail(where + ".name", "'" + rule.name + "' must not contain '/', '+' or '#' (it names metric topics)");
    }
    std::vector<std::string> placeholders = deadLetterBuiltins();
    if (is_default) {
        if (spec.contains("topics")) fail(where + ".topics", "the default rule applies to unmatched topics and takes none");
    } else {
        if (!spec.contains("topics") || !spec["topics"].is_array() || spec["topics"].empty()) {
            fail(where + ".topics", "is required: a non-empty array of topic filters or templates");
        }
        std::vector<std::string> common_captures;
        bool first = true;
        for (size_t i = 0; i < spec["topics"].size(); ++i) {
            const json& t = spec["topics"][i];
            std::string twhere = where + ".topics[" + std::to_string(i) + "]";
            if (!t.is_string()) fail(twhere, "must be a string");
            try {
                rule.topics.push_back(TopicTemplate::parse(t.get<std::string>()));
            } catch (const std::invalid_argument& e) {
                fail(twhere, e.what());
            }
            // A dead-letter topic may only use captures that every topic of the rule provides.
            const auto& names = rule.topics.back().captureNames();
            if (first) {
                common_captures = names;
                first = false;
            } else {
                std::vector<std::string> kept;
                for (const auto& n : common_captures) {
                    for (const auto& m : names) {
                        if (n == m) kept.push_back(n);
                    }
                }
                common_captures = kept;
            }
        }
        placeholders.insert(placeholders.end(), common_captures.begin(), common_captures.end());
    }
    rule.require_utf8 = boolField(spec, "utf8", false, where);
    rule.min_size = sizeField(spec, "min_size", where);
    rule.max_size = sizeField(spec, "max_size", where);
    if (rule.min_size && rule.max_size && *rule.min_size > *rule.max_size) {
        fail(where, "min_size is larger than max_size");
    }
    if (spec.contains("schema")) rule.schema = loadSchema(spec["schema"], where + ".schema", ctx);
    rule.require_json = boolField(spec, "json", rule.schema != nullptr, where);
    if (rule.schema && !rule.require_json) fail(where + ".json", "cannot be false when a schema is given");
    if (!rule.require_utf8 && !rule.require_json && !rule.min_size && !rule.max_size) {
        fail(where, "has no check: give at least one of utf8, json, min_size, max_size, schema");
    }

    std::string action = spec.value("action", std::string("drop"));
    if (action == "drop") rule.action = FailureAction::Drop;
    else if (action == "dead_letter") rule.action = FailureAction::DeadLetter;
    else if (action == "shadow") rule.action = FailureAction::Shadow;
    else fail(where + ".action", "'" + action + "' is not one of: drop, dead_letter, shadow");

    if (rule.action == FailureAction::DeadLetter) {
        if (!spec.contains("dead_letter_topic") || !spec["dead_letter_topic"].is_string()) {
            fail(where + ".dead_letter_topic", "is required when action is dead_letter");
        }
        std::string topic = spec["dead_letter_topic"].get<std::string>();
        if (topic.find_first_of("+#") != std::string::npos || topic.empty() || topic[0] == '$') {
            fail(where + ".dead_letter_topic", "'" + topic + "' must be a non-empty topic without wildcards or a leading '$'");
        }
        try {
            rule.dead_letter_topic = OutputTemplate::parse(topic, placeholders);
        } catch (const std::invalid_argument& e) {
            fail(where + ".dead_letter_topic", e.what());
        }
    } else if (spec.contains("dead_letter_topic")) {
        fail(where + ".dead_letter_topic", "only applies when action is dead_letter");
    }
    if (spec.contains("dead_letter_qos")) {
        const json& q = spec["dead_letter_qos"];
        if (!q.is_number_integer() || q.get<int>() < 0 || q.get<int>() > 2) fail(where + ".dead_letter_qos", "must be 0, 1 or 2");
        rule.dead_letter_qos = q.get<int>();
    }
    if (spec.contains("disconnect_after")) {
        const json& d = spec["disconnect_after"];
        std::string dwhere = where + ".disconnect_after";
        if (rule.action == FailureAction::Shadow) fail(dwhere, "does not apply to shadow rules, which never act");
        if (!d.is_object() || !d.contains("failures") || !d["failures"].is_number_unsigned() ||
            d["failures"].get<uint64_t>() == 0 || d["failures"].get<uint64_t>() > 1'000'000) {
            fail(dwhere + ".failures", "is required: a whole number from 1 to 1000000");
        }
        rule.disconnect_after.failures = d["failures"].get<uint32_t>();
        if (!d.contains("window") || !d["window"].is_string()) fail(dwhere + ".window", "is required, e.g. \"60s\"");
        auto window = parseDuration(d["window"].get<std::string>());
        if (!window || window->count() <= 0) fail(dwhere + ".window", "'" + d["window"].get<std::string>() + "' is not a positive duration such as 60s or 5m");
        rule.disconnect_after.window = *window;
        for (const auto& [key, value] : d.items()) {
            if (key != "failures" && key != "window") fail(dwhere + "." + key, "unknown key");
        }
    }
    return rule;
}

}  // namespace

bool Rule::matches(std::string_view topic, Captures* captures) const {
    for (const auto& t : topics) {
        if (t.match(topic, captures)) return true;
    }
    return false;
}

RuleSet loadRuleSet(const std::filesystem::path& file) {
    json doc = readJsonFile(file, "rules file");
    const std::string where = file.string();
    if (!doc.is_object()) fail(where, "must be a JSON object with a \"rules\" array");
    static const std::set<std::string> known{"rules", "default_rule", "match_policy", "schema_dir"};
    for (const auto& [key, value] : doc.items()) {
        if (!known.count(key)) fail(where + ": " + key, "unknown key (known: rules, default_rule, match_policy, schema_dir)");
    }
    LoadContext ctx;
    ctx.rules_file = std::filesystem::absolute(file);
    ctx.schema_dir = ctx.rules_file.parent_path();
    if (doc.contains("schema_dir")) {
        if (!doc["schema_dir"].is_string()) fail(where + ": schema_dir", "must be a path string");
        ctx.schema_dir = ctx.schema_dir / doc["schema_dir"].get<std::string>();
    }
    ctx.schema_dir = std::filesystem::weakly_canonical(ctx.schema_dir);
    if (doc.contains("schema_dir") && !std::filesystem::is_directory(ctx.schema_dir)) {
        fail(where + ": schema_dir", "'" + ctx.schema_dir.string() + "' is not a directory");
    }
    if (std::filesystem::is_directory(ctx.schema_dir) && doc.contains("schema_dir")) {
        try {
            ctx.store.addDirectory(ctx.schema_dir);
        } catch (const SchemaLoadError& e) {
            fail(where + ": schema_dir", e.what());
        }
    }

    RuleSet set;
    set.source = ctx.rules_file;
    std::string policy = doc.value("match_policy", std::string("all"));
    if (policy == "all") set.match_policy = MatchPolicy::All;
    else if (policy == "any") set.match_policy = MatchPolicy::Any;
    else fail(where + ": match_policy", "'" + policy + "' is not one of: all, any");

    if (!doc.contains("rules") || !doc["rules"].is_array()) fail(where + ": rules", "is required: an array of rules");
    std::set<std::string> names;
    for (size_t i = 0; i < doc["rules"].size(); ++i) {
        std::string rwhere = where + ": rules[" + std::to_string(i) + "]";
        Rule rule = parseRule(doc["rules"][i], rwhere, false, ctx);
        if (!names.insert(rule.name).second) fail(rwhere + ".name", "'" + rule.name + "' is used by another rule");
        set.rules.push_back(std::move(rule));
    }
    if (doc.contains("default_rule")) {
        Rule rule = parseRule(doc["default_rule"], where + ": default_rule", true, ctx);
        if (!names.insert(rule.name).second) fail(where + ": default_rule.name", "'" + rule.name + "' is used by another rule");
        set.default_rule = std::move(rule);
    }
    return set;
}

}  // namespace mqs::validate
