// Rules file loading: a valid file compiles; every mistake is refused with its location named.
#include <gtest/gtest.h>

#include "validate/rules.hpp"
#include "tests/unit/validate/test_files.hpp"

using namespace mqs::validate;

TEST(Rules, LoadsTheWarehouseExample) {
    RuleSet set = loadRuleSet(std::string(CONF_DIR) + "/validate/warehouse-rules.json");
    ASSERT_EQ(set.rules.size(), 2u);
    const Rule& telemetry = set.rules[0];
    EXPECT_EQ(telemetry.name, "warehouse-telemetry");
    EXPECT_TRUE(telemetry.require_json);
    ASSERT_TRUE(telemetry.schema);
    EXPECT_EQ(telemetry.action, FailureAction::DeadLetter);
    EXPECT_TRUE(telemetry.matches("entrepot/nord/s1/v1", nullptr));
    EXPECT_FALSE(telemetry.matches("entrepot/heartbeat/nord", nullptr));
    EXPECT_EQ(set.rules[1].action, FailureAction::Drop);
    EXPECT_EQ(set.match_policy, MatchPolicy::All);
}

struct BadRulesCase {
    std::string name;
    std::string rules;
    std::string expected;  // substring of the error
};

std::ostream& operator<<(std::ostream& os, const BadRulesCase& c) { return os << c.name; }

class BadRules : public ::testing::TestWithParam<BadRulesCase> {};

TEST_P(BadRules, AreRefusedWithTheirLocation) {
    TempDir dir;
    auto file = dir.write("rules.json", GetParam().rules);
    dir.write("schemas/ok.json", R"({"type":"object"})");
    dir.write("broken-schemas/broken.json", R"({"type":)");
    try {
        loadRuleSet(file);
        FAIL() << "expected RulesError";
    } catch (const RulesError& e) {
        EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadRules,
    ::testing::Values(
        BadRulesCase{"NotJson", "{", "not valid JSON"},
        BadRulesCase{"NoRules", "{}", "rules: is required"},
        BadRulesCase{"UnknownTopKey", R"({"rules":[],"colour":1})", "colour: unknown key"},
        BadRulesCase{"NoName", R"({"rules":[{"topics":["a"],"utf8":true}]})", "rules[0].name: is required"},
        BadRulesCase{"NoTopics", R"({"rules":[{"name":"r","utf8":true}]})", "rules[0].topics: is required"},
        BadRulesCase{"BadTopic", R"({"rules":[{"name":"r","topics":["a/#/b"],"utf8":true}]})", "rules[0].topics[0]: '#' must be the last level"},
        BadRulesCase{"NoCheck", R"({"rules":[{"name":"r","topics":["a"]}]})", "rules[0]: has no check"},
        BadRulesCase{"UnknownRuleKey", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"shema":{}}]})", "rules[0].shema: unknown key"},
        BadRulesCase{"BadAction", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"action":"burn"}]})", "'burn' is not one of: drop, dead_letter, shadow"},
        BadRulesCase{"DeadLetterWithoutTopic", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"action":"dead_letter"}]})", "rules[0].dead_letter_topic: is required"},
        BadRulesCase{"DeadLetterUnknownPlaceholder", R"({"rules":[{"name":"r","topics":["a/{zone}"],"utf8":true,"action":"dead_letter","dead_letter_topic":"dl/{room}"}]})", "unknown placeholder '{room}'"},
        BadRulesCase{"DeadLetterWildcard", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"action":"dead_letter","dead_letter_topic":"dl/#"}]})", "without wildcards"},
        BadRulesCase{"DuplicateName", R"({"rules":[{"name":"r","topics":["a"],"utf8":true},{"name":"r","topics":["b"],"utf8":true}]})", "rules[1].name: 'r' is used by another rule"},
        BadRulesCase{"SizeOrder", R"({"rules":[{"name":"r","topics":["a"],"min_size":10,"max_size":5}]})", "min_size is larger than max_size"},
        BadRulesCase{"BadSize", R"({"rules":[{"name":"r","topics":["a"],"max_size":"big"}]})", "rules[0].max_size: 'big' is not a byte count"},
        BadRulesCase{"MissingSchemaFile", R"({"schema_dir":"schemas","rules":[{"name":"r","topics":["a"],"schema":"nope.json"}]})", "rules[0].schema: schema file "},
        BadRulesCase{"BrokenSchemaDir", R"({"schema_dir":"broken-schemas","rules":[{"name":"r","topics":["a"],"schema":"ok.json"}]})", "broken.json"},
        BadRulesCase{"InvalidSchema", R"({"rules":[{"name":"r","topics":["a"],"schema":{"type":"colour"}}]})", "rules[0].schema: invalid schema"},
        BadRulesCase{"UnsafePattern", R"({"rules":[{"name":"r","topics":["a"],"schema":{"pattern":"(?=a)b"}}]})", "rules[0].schema: invalid schema"},
        BadRulesCase{"UnresolvableRef", R"({"rules":[{"name":"r","topics":["a"],"schema":{"$ref":"other.json#/x"}}]})", "rules[0].schema: invalid schema"},
        BadRulesCase{"JsonFalseWithSchema", R"({"rules":[{"name":"r","topics":["a"],"json":false,"schema":{}}]})", "rules[0].json: cannot be false"},
        BadRulesCase{"DisconnectWithoutWindow", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"disconnect_after":{"failures":3}}]})", "disconnect_after.window: is required"},
        BadRulesCase{"DisconnectOnShadow", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"action":"shadow","disconnect_after":{"failures":3,"window":"10s"}}]})", "does not apply to shadow rules"},
        BadRulesCase{"TopicsAsString", R"({"rules":[{"name":"r","topics":"a/b","utf8":true}]})", "rules[0].topics: must be an array (not a string)"},
        BadRulesCase{"EmptyTopics", R"({"rules":[{"name":"r","topics":[],"utf8":true}]})", "rules[0].topics: must not be empty"},
        BadRulesCase{"TopicNotString", R"({"rules":[{"name":"r","topics":["a",7],"utf8":true}]})", "rules[0].topics[1]: must be a topic filter or template (not a whole number)"},
        BadRulesCase{"NameWithSlash", R"({"rules":[{"name":"a/b","topics":["a"],"utf8":true}]})", "rules[0].name: 'a/b' must not contain '/', '+', '#' or control characters"},
        BadRulesCase{"NameWithNewline", R"({"rules":[{"name":"a\nb","topics":["a"],"utf8":true}]})", "rules[0].name: 'a\\x0ab' must not contain"},
        BadRulesCase{"NameNotString", R"({"rules":[{"name":3,"topics":["a"],"utf8":true}]})", "rules[0].name: must be a string (not a whole number)"},
        BadRulesCase{"Utf8NotBool", R"({"rules":[{"name":"r","topics":["a"],"utf8":"yes"}]})", "rules[0].utf8: must be true or false (not a string)"},
        BadRulesCase{"ActionNotString", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"action":1}]})", "rules[0].action: must be one of: drop, dead_letter, shadow (not a whole number)"},
        BadRulesCase{"BadQos", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"action":"dead_letter","dead_letter_topic":"dl","dead_letter_qos":3}]})", "rules[0].dead_letter_qos: 3 is not a whole number from 0 to 2"},
        BadRulesCase{"ZeroWindow", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"disconnect_after":{"failures":3,"window":"0s"}}]})", "rules[0].disconnect_after.window: '0s' is not a positive duration"},
        BadRulesCase{"UnknownDisconnectKey", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"disconnect_after":{"failures":3,"window":"5s","x":1}}]})", "rules[0].disconnect_after.x: unknown key (known: failures, window)"},
        BadRulesCase{"NotAnObject", R"([])", "rules.json: must be an object (not an array)"},
        BadRulesCase{"BadPolicy", R"({"match_policy":"most","rules":[]})", "'most' is not one of: all, any"},
        BadRulesCase{"DefaultWithTopics", R"({"rules":[],"default_rule":{"topics":["a"],"utf8":true}})", "default_rule.topics: the default rule applies to unmatched topics"}));

TEST(Rules, CrossFileRefsResolveInSchemaDir) {
    TempDir dir;
    dir.write("schemas/defs.json", R"({"definitions":{"pct":{"type":"number","maximum":100}}})");
    dir.write("schemas/main.json", R"({"properties":{"hum":{"$ref":"defs.json#/definitions/pct"}}})");
    auto file = dir.write("rules.json", R"({"schema_dir":"schemas","rules":[{"name":"r","topics":["a"],"schema":"main.json"}]})");
    RuleSet set = loadRuleSet(file);
    simdjson::dom::parser parser;
    EXPECT_TRUE(set.rules[0].schema->validate(parser.parse(std::string(R"({"hum":50})"))));
    std::vector<SchemaError> errors;
    EXPECT_FALSE(set.rules[0].schema->validate(parser.parse(std::string(R"({"hum":150})")), &errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].pointer, "/hum");
}

TEST(Rules, MissingFileNamesThePathAndTheReason) {
    TempDir dir;
    const auto file = dir.path() / "nope.json";
    try {
        loadRuleSet(file);
        FAIL() << "expected RulesError";
    } catch (const RulesError& e) {
        EXPECT_EQ(std::string(e.what()), file.string() + ": cannot open: No such file or directory");
    }
}

TEST(Rules, ErrorsNameTheFileThenTheJsonPath) {
    TempDir dir;
    auto file = dir.write("rules.json", R"({"rules":[{"name":"r","topics":["a"],"utf8":true,"min_size":"x"}]})");
    try {
        loadRuleSet(file);
        FAIL() << "expected RulesError";
    } catch (const RulesError& e) {
        EXPECT_EQ(std::string(e.what()), file.string() + ": rules[0].min_size: 'x' is not a byte count such as 4096 or 64KiB");
    }
}
