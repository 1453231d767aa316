// Alert rules: condition predicates with and without hysteresis (table-driven), rules-file
// loading of the shipped examples, and located errors for bad rules files.
#include <gtest/gtest.h>

#include <cmath>

#include "alerts/rules.hpp"

using namespace mqs::alerts;

namespace {

struct PredicateCase {
    const char* name;
    ConditionKind kind;
    double a, b;
    bool has_clear;
    double ca, cb;
    double value;
    double previous;  // NaN: no previous value
    bool raises, holds;
};

std::ostream& operator<<(std::ostream& os, const PredicateCase& c) { return os << c.name; }

class ConditionPredicates : public ::testing::TestWithParam<PredicateCase> {};

TEST_P(ConditionPredicates, RaiseAndHold) {
    const auto& c = GetParam();
    Condition cond{c.kind, c.a, c.b, c.has_clear, c.ca, c.cb};
    const double* prev = std::isnan(c.previous) ? nullptr : &c.previous;
    EXPECT_EQ(cond.raises(c.value, prev), c.raises);
    EXPECT_EQ(cond.holds(c.value, prev), c.holds);
}

constexpr double kNoPrev = NAN;
using K = ConditionKind;

INSTANTIATE_TEST_SUITE_P(
    Table, ConditionPredicates,
    ::testing::Values(
        PredicateCase{"AboveOver", K::Above, 30, 0, true, 28, 0, 31, kNoPrev, true, true},
        PredicateCase{"AboveAtThreshold", K::Above, 30, 0, true, 28, 0, 30, kNoPrev, false, true},
        PredicateCase{"AboveInHysteresisBand", K::Above, 30, 0, true, 28, 0, 29, kNoPrev, false, true},
        PredicateCase{"AboveAtClear", K::Above, 30, 0, true, 28, 0, 28, kNoPrev, false, true},
        PredicateCase{"AboveBelowClear", K::Above, 30, 0, true, 28, 0, 27.9, kNoPrev, false, false},
        PredicateCase{"AboveNoClear", K::Above, 30, 0, false, 0, 0, 30, kNoPrev, false, false},
        PredicateCase{"BelowUnder", K::Below, 5, 0, true, 6, 0, 4, kNoPrev, true, true},
        PredicateCase{"BelowBand", K::Below, 5, 0, true, 6, 0, 5.5, kNoPrev, false, true},
        PredicateCase{"BelowCleared", K::Below, 5, 0, true, 6, 0, 6.1, kNoPrev, false, false},
        PredicateCase{"AtLeastEqual", K::AtLeast, 1, 0, false, 0, 0, 1, kNoPrev, true, true},
        PredicateCase{"AtLeastUnder", K::AtLeast, 1, 0, false, 0, 0, 0, kNoPrev, false, false},
        PredicateCase{"AtMostEqual", K::AtMost, 1, 0, false, 0, 0, 1, kNoPrev, true, true},
        PredicateCase{"OutsideHigh", K::Outside, 10, 20, true, 11, 19, 21, kNoPrev, true, true},
        PredicateCase{"OutsideBand", K::Outside, 10, 20, true, 11, 19, 19.5, kNoPrev, false, true},
        PredicateCase{"OutsideBackInside", K::Outside, 10, 20, true, 11, 19, 15, kNoPrev, false, false},
        PredicateCase{"InsideIn", K::Inside, 10, 20, true, 9, 21, 15, kNoPrev, true, true},
        PredicateCase{"InsideBand", K::Inside, 10, 20, true, 9, 21, 20.5, kNoPrev, false, true},
        PredicateCase{"InsideOut", K::Inside, 10, 20, true, 9, 21, 22, kNoPrev, false, false},
        PredicateCase{"EqualsYes", K::Equals, 3, 0, false, 0, 0, 3, kNoPrev, true, true},
        PredicateCase{"EqualsNo", K::Equals, 3, 0, false, 0, 0, 2, kNoPrev, false, false},
        PredicateCase{"NotEqualsYes", K::NotEquals, 0, 0, false, 0, 0, 1, kNoPrev, true, true},
        PredicateCase{"ChangeFirstSample", K::Change, 5, 0, true, 1, 0, 100, kNoPrev, false, false},
        PredicateCase{"ChangeBig", K::Change, 5, 0, true, 1, 0, 20, 10, true, true},
        PredicateCase{"ChangeSmallButAboveClear", K::Change, 5, 0, true, 1, 0, 12, 10, false, true},
        PredicateCase{"ChangeSettled", K::Change, 5, 0, true, 1, 0, 10.5, 10, false, false},
        PredicateCase{"ChangeDown", K::Change, 5, 0, false, 0, 0, 4, 10, true, true}),
    [](const ::testing::TestParamInfo<PredicateCase>& p) { return std::string(p.param.name); });

struct BadRulesCase {
    const char* name;
    const char* text;
    const char* error;
};

std::ostream& operator<<(std::ostream& os, const BadRulesCase& c) { return os << c.name; }

class BadRules : public ::testing::TestWithParam<BadRulesCase> {};

TEST_P(BadRules, AreRefusedWithTheirLocation) {
    try {
        parseRuleSet(GetParam().text, "r.json");
        FAIL() << "accepted";
    } catch (const RulesError& e) {
        EXPECT_NE(std::string(e.what()).find(GetParam().error), std::string::npos) << e.what();
    }
}

#define RULE(body) "{\"rules\":[{\"name\":\"t\",\"topic\":\"s/{id}\",\"alert_topic\":\"a/{id}\"," body "}]}"

INSTANTIATE_TEST_SUITE_P(
    Table, BadRules,
    ::testing::Values(
        BadRulesCase{"NotJson", "{", "r.json: not valid JSON"},
        BadRulesCase{"NoRules", "{}", "r.json: rules: is required"},
        BadRulesCase{"UnknownTopKey", "{\"rules\":[],\"x\":1}", "r.json: x: unknown key"},
        BadRulesCase{"ThresholdNotNumber", RULE("\"levels\":[{\"name\":\"w\",\"above\":\"30\"}]"),
                     "r.json: rules[0].levels[0].above: must be a number (not a string)"},
        BadRulesCase{"TwoConditions", RULE("\"levels\":[{\"name\":\"w\",\"above\":3,\"below\":1}]"),
                     "rules[0].levels[0]: has both"},
        BadRulesCase{"NoCondition", RULE("\"levels\":[{\"name\":\"w\"}]"), "rules[0].levels[0]: needs one condition"},
        BadRulesCase{"ClearOnWrongSide", RULE("\"levels\":[{\"name\":\"w\",\"above\":30,\"clear\":31}]"),
                     "rules[0].levels[0].clear: must not be above the raise threshold"},
        BadRulesCase{"ClearRangeOutside", RULE("\"levels\":[{\"name\":\"w\",\"outside\":[10,20],\"clear\":[9,19]}]"),
                     "rules[0].levels[0].clear: must lie within"},
        BadRulesCase{"BadRange", RULE("\"levels\":[{\"name\":\"w\",\"inside\":[20,10]}]"),
                     "rules[0].levels[0].inside: low must not be greater than high"},
        BadRulesCase{"ZeroCount", RULE("\"levels\":[{\"name\":\"w\",\"above\":1,\"count\":0}]"),
                     "rules[0].levels[0].count: 0 is not a whole number from 1 to 1000000"},
        BadRulesCase{"BadFor", RULE("\"levels\":[{\"name\":\"w\",\"above\":1,\"for\":\"soon\"}]"),
                     "rules[0].levels[0].for: 'soon' is not a duration"},
        BadRulesCase{"DuplicateLevel", RULE("\"levels\":[{\"name\":\"w\",\"above\":1},{\"name\":\"w\",\"above\":2}]"),
                     "rules[0].levels[1].name: 'w' is used twice"},
        BadRulesCase{"ReservedLevel", RULE("\"levels\":[{\"name\":\"deadman\",\"above\":1}]"),
                     "rules[0].levels[0].name: 'deadman' is reserved"},
        BadRulesCase{"TooManyLevels",
                     RULE("\"levels\":[{\"name\":\"a\",\"above\":1},{\"name\":\"b\",\"above\":2},{\"name\":\"c\",\"above\":3},"
                          "{\"name\":\"d\",\"above\":4},{\"name\":\"e\",\"above\":5}]"),
                     "rules[0].levels: at most 4 levels"},
        BadRulesCase{"NothingToWatch", RULE("\"qos\":1"), "rules[0]: has nothing to watch"},
        BadRulesCase{"UnknownCaptureInAlertTopic",
                     "{\"rules\":[{\"name\":\"t\",\"topic\":\"s/{id}\",\"alert_topic\":\"a/{zone}\",\"deadman\":\"9s\"}]}",
                     "rules[0].alert_topic:"},
        BadRulesCase{"WildcardAlertTopic",
                     "{\"rules\":[{\"name\":\"t\",\"topic\":\"s/{id}\",\"alert_topic\":\"a/#\",\"deadman\":\"9s\"}]}",
                     "rules[0].alert_topic: 'a/#' must be a non-empty topic without wildcards"},
        BadRulesCase{"BadTopic", "{\"rules\":[{\"name\":\"t\",\"topic\":\"s/#/x\",\"alert_topic\":\"a\",\"deadman\":\"9s\"}]}",
                     "rules[0].topic:"},
        BadRulesCase{"TopicsDisagree",
                     "{\"rules\":[{\"name\":\"t\",\"topics\":[\"s/{id}\",\"t/{other}\"],\"alert_topic\":\"a\",\"deadman\":\"9s\"}]}",
                     "rules[0].topics[1]: must capture the same names"},
        BadRulesCase{"BadQos", RULE("\"deadman\":\"9s\",\"qos\":3"), "rules[0].qos: 3 is not a whole number from 0 to 2"},
        BadRulesCase{"BadOnClear", RULE("\"deadman\":\"9s\",\"on_clear\":\"nothing\""), "rules[0].on_clear: 'nothing' is not one of: message, empty"},
        BadRulesCase{"ZeroDeadman", RULE("\"deadman\":\"0s\""), "rules[0].deadman: '0s' is not a positive duration"},
        BadRulesCase{"NotAnObject", "[]", "r.json: must be an object (not an array)"},
        BadRulesCase{"RulesNotArray", "{\"rules\":{}}", "r.json: rules: must be an array (not an object)"},
        BadRulesCase{"NameWithNewline",
                     "{\"rules\":[{\"name\":\"a\\nb\",\"topic\":\"s\",\"alert_topic\":\"a\",\"deadman\":\"9s\"}]}",
                     "r.json: rules[0].name: 'a\\x0ab' must not contain '/', '+', '#' or control characters"},
        BadRulesCase{"NameWithHash",
                     "{\"rules\":[{\"name\":\"a#\",\"topic\":\"s\",\"alert_topic\":\"a\",\"deadman\":\"9s\"}]}",
                     "r.json: rules[0].name: 'a#' must not contain"},
        BadRulesCase{"TopicsAsString",
                     "{\"rules\":[{\"name\":\"t\",\"topics\":\"s/{id}\",\"alert_topic\":\"a\",\"deadman\":\"9s\"}]}",
                     "r.json: rules[0].topics: must be an array (not a string)"},
        BadRulesCase{"TopicNotString",
                     "{\"rules\":[{\"name\":\"t\",\"topic\":5,\"alert_topic\":\"a\",\"deadman\":\"9s\"}]}",
                     "r.json: rules[0].topic: must be a topic filter or template (not a whole number)"},
        BadRulesCase{"NoAlertTopic", "{\"rules\":[{\"name\":\"t\",\"topic\":\"s\",\"deadman\":\"9s\"}]}",
                     "r.json: rules[0].alert_topic: is required"},
        BadRulesCase{"BadInvalidMode", RULE("\"levels\":[{\"name\":\"w\",\"above\":1}],\"invalid\":\"shout\""),
                     "r.json: rules[0].invalid: 'shout' is not one of: count, alert"},
        BadRulesCase{"RetainNotBool", RULE("\"deadman\":\"9s\",\"retain\":1"),
                     "r.json: rules[0].retain: must be true or false (not a whole number)"},
        BadRulesCase{"LevelUnknownKey", RULE("\"levels\":[{\"name\":\"w\",\"above\":1,\"colour\":1}]"),
                     "r.json: rules[0].levels[0].colour: unknown key (known: above, below"},
        BadRulesCase{"RangeBoundNotNumber", RULE("\"levels\":[{\"name\":\"w\",\"inside\":[1,\"x\"]}]"),
                     "r.json: rules[0].levels[0].inside[1]: must be a number (not a string)"},
        BadRulesCase{"UnknownRuleKey", RULE("\"deadman\":\"9s\",\"colour\":1"), "rules[0].colour: unknown key"},
        BadRulesCase{"UnknownMessagePlaceholder", RULE("\"deadman\":\"9s\",\"message\":\"{nope}\""), "rules[0].message:"},
        BadRulesCase{"DuplicateName",
                     "{\"rules\":[{\"name\":\"t\",\"topic\":\"s\",\"alert_topic\":\"a\",\"deadman\":\"9s\"},"
                     "{\"name\":\"t\",\"topic\":\"s\",\"alert_topic\":\"a\",\"deadman\":\"9s\"}]}",
                     "rules[1].name: 't' is used by another rule"}),
    [](const ::testing::TestParamInfo<BadRulesCase>& p) { return std::string(p.param.name); });

}  // namespace

TEST(AlertRules, ShippedExamplesLoad) {
    RuleSet warehouse = loadRuleSet(std::string(CONF_DIR) + "/alerts/warehouse-alerts.json");
    ASSERT_EQ(warehouse.rules.size(), 3u);
    EXPECT_EQ(warehouse.rules[2].deadman, std::chrono::seconds(90));
    EXPECT_EQ(warehouse.rules[2].deadman_topic.text(), "entrepot/alerts/{zone}/heartbeat");
    EXPECT_EQ(warehouse.rules[1].invalid_topic.text(), "entrepot/alerts/{zone}/{sensor}/temp/invalid");
    RuleSet dht = loadRuleSet(std::string(CONF_DIR) + "/alerts/dht11-alerts.json");
    ASSERT_EQ(dht.rules.size(), 2u);
    EXPECT_EQ(dht.rules[0].levels[0].count, 5u);
    EXPECT_TRUE(dht.rules[0].value.has_value()) << "temperature is read from the JSON payload";
}

TEST(AlertRules, MissingFileIsLocated) {
    try {
        loadRuleSet("/nonexistent/alerts.json");
        FAIL();
    } catch (const RulesError& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/alerts.json: cannot open: No such file or directory");
    }
}

TEST(AlertRules, DeadmanTopicDefaultsBesideThresholdAlerts) {
    RuleSet set = parseRuleSet(RULE("\"levels\":[{\"name\":\"w\",\"above\":1}],\"deadman\":\"5s\""), "r");
    EXPECT_EQ(set.rules[0].deadman_topic.text(), "a/{id}/deadman") << "its own retained topic";
}
