// Rules file parsing and checking; the format is documented in docs/validate.md.
#include "validate/rules.hpp"

#include <set>

namespace mqs::validate {
namespace {

struct LoadContext {
    std::filesystem::path rules_file;
    std::filesystem::path schema_dir;
    SchemaStore store;
};

std::shared_ptr<const CompiledSchema> loadSchema(const RulesNode& spec, LoadContext& ctx) {
    try {
        if (spec.json().is_object() || spec.json().is_boolean()) {
            // Inline schemas resolve relative $refs against the schema directory, like schema files.
            return CompiledSchema::compile(spec.json(), SchemaStore::fileUri(ctx.schema_dir / "inline.schema.json"),
                                           ctx.store);
        }
        if (spec.json().is_string()) {
            std::filesystem::path file = ctx.schema_dir / spec.string();
            std::error_code ec;
            auto canonical = std::filesystem::weakly_canonical(file, ec);
            RulesFile doc = [&] {
                try {
                    return RulesFile::read(canonical);
                } catch (const RulesError& e) {
                    spec.fail(std::string("schema file ") + e.what());
                }
            }();
            return CompiledSchema::compile(doc.root().json(), SchemaStore::fileUri(canonical), ctx.store);
        }
    } catch (const SchemaLoadError& e) {
        spec.fail(std::string("invalid schema: ") + e.what());
    }
    spec.fail("must be a schema object or the name of a file in the schema directory");
}

Rule parseRule(const RulesNode& spec, bool is_default, LoadContext& ctx) {
    spec.checkObject({"name", "topics", "utf8", "json", "min_size", "max_size", "schema", "action", "dead_letter_topic",
                      "dead_letter_qos", "disconnect_after"});
    Rule rule;
    rule.name = is_default && !spec.has("name") ? "default" : spec.get("name").ruleName();
    std::vector<std::string> placeholders = deadLetterBuiltins();
    if (is_default) {
        if (spec.has("topics")) spec.get("topics").fail("the default rule applies to unmatched topics and takes none");
    } else {
        const RulesNode topics = spec.get("topics");
        const auto elements = topics.elements();
        if (elements.empty()) topics.fail("must not be empty: give at least one topic filter or template");
        std::vector<std::string> common_captures;
        bool first = true;
        for (const auto& t : elements) {
            rule.topics.push_back(t.topicTemplate());
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
    if (auto v = spec.find("utf8")) rule.require_utf8 = v->boolean();
    if (auto v = spec.find("min_size")) rule.min_size = v->bytes();
    if (auto v = spec.find("max_size")) rule.max_size = v->bytes();
    if (rule.min_size && rule.max_size && *rule.min_size > *rule.max_size) {
        spec.fail("min_size is larger than max_size");
    }
    if (auto v = spec.find("schema")) rule.schema = loadSchema(*v, ctx);
    rule.require_json = rule.schema != nullptr;
    if (auto v = spec.find("json")) rule.require_json = v->boolean();
    if (rule.schema && !rule.require_json) spec.get("json").fail("cannot be false when a schema is given");
    if (!rule.require_utf8 && !rule.require_json && !rule.min_size && !rule.max_size) {
        spec.fail("has no check: give at least one of utf8, json, min_size, max_size, schema");
    }

    if (auto v = spec.find("action")) {
        rule.action = v->choice<FailureAction>({{"drop", FailureAction::Drop},
                                                {"dead_letter", FailureAction::DeadLetter},
                                                {"shadow", FailureAction::Shadow}});
    }
    const RulesNode dead_letter_topic = spec.get("dead_letter_topic");
    if (rule.action == FailureAction::DeadLetter) {
        if (!dead_letter_topic.present()) dead_letter_topic.fail("is required when action is dead_letter");
        rule.dead_letter_topic = dead_letter_topic.outputTopic(placeholders);
    } else if (dead_letter_topic.present()) {
        dead_letter_topic.fail("only applies when action is dead_letter");
    }
    if (auto v = spec.find("dead_letter_qos")) rule.dead_letter_qos = static_cast<int>(v->integer(0, 2));
    if (auto d = spec.find("disconnect_after")) {
        if (rule.action == FailureAction::Shadow) d->fail("does not apply to shadow rules, which never act");
        d->checkObject({"failures", "window"});
        rule.disconnect_after.failures = static_cast<uint32_t>(d->get("failures").integer(1, 1'000'000));
        rule.disconnect_after.window = d->get("window").positiveDuration();
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
    const RulesFile rules_file = RulesFile::read(file);
    const RulesNode doc = rules_file.root();
    doc.checkObject({"rules", "default_rule", "match_policy", "schema_dir"});
    LoadContext ctx;
    ctx.rules_file = std::filesystem::absolute(file);
    ctx.schema_dir = ctx.rules_file.parent_path();
    const auto schema_dir = doc.find("schema_dir");
    if (schema_dir) ctx.schema_dir = ctx.schema_dir / schema_dir->string();
    ctx.schema_dir = std::filesystem::weakly_canonical(ctx.schema_dir);
    if (schema_dir && !std::filesystem::is_directory(ctx.schema_dir)) {
        schema_dir->fail("'" + ctx.schema_dir.string() + "' is not a directory");
    }
    if (std::filesystem::is_directory(ctx.schema_dir) && schema_dir) {
        try {
            ctx.store.addDirectory(ctx.schema_dir);
        } catch (const SchemaLoadError& e) {
            schema_dir->fail(e.what());
        }
    }

    RuleSet set;
    set.source = ctx.rules_file;
    if (auto v = doc.find("match_policy")) {
        set.match_policy = v->choice<MatchPolicy>({{"all", MatchPolicy::All}, {"any", MatchPolicy::Any}});
    }
    std::set<std::string> names;
    for (const auto& spec : doc.get("rules").elements()) {
        Rule rule = parseRule(spec, false, ctx);
        if (!names.insert(rule.name).second) spec.get("name").fail("'" + rule.name + "' is used by another rule");
        set.rules.push_back(std::move(rule));
    }
    if (auto spec = doc.find("default_rule")) {
        Rule rule = parseRule(*spec, true, ctx);
        if (!names.insert(rule.name).second) spec->get("name").fail("'" + rule.name + "' is used by another rule");
        set.default_rule = std::move(rule);
    }
    return set;
}

}  // namespace mqs::validate
