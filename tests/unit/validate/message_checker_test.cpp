// MessageChecker verdicts: rule matching, policies, actions, shadow, disconnect_after and hostile payloads.
#include <gtest/gtest.h>

#include "validate/message_checker.hpp"
#include "tests/unit/validate/test_files.hpp"

using namespace mqs;
using namespace mqs::validate;

namespace {

const char* kWarehouseRules = R"({
  "rules": [
    {"name": "telemetry", "topics": ["entrepot/{zone}/{sensor}/v1"],
     "schema": {"type": "object", "required": ["temp"],
                "properties": {"temp": {"type": "number", "minimum": -40, "maximum": 85},
                               "id": {"type": "string", "pattern": "^(a|b)*$"}}},
     "action": "dead_letter", "dead_letter_topic": "dl/{zone}/{sensor}/{rule}",
     "disconnect_after": {"failures": 3, "window": "10s"}},
    {"name": "binary-size", "topics": ["blob/#"], "max_size": 8}
  ]
})";

class CheckerTest : public ::testing::Test {
protected:
    void load(const std::string& rules_json) {
        auto file = dir_.write("rules.json", rules_json);
        config_ = parseConfig({{"rules_file", file.string()}, {"max_json_bytes", "1MiB"}, {"max_json_depth", "64"}});
        checker_ = std::make_unique<MessageChecker>(config_, std::make_shared<const RuleSet>(loadRuleSet(file)), metrics_, clock_);
    }
    Verdict check(const std::string& topic, const std::string& payload, const std::string& client = "c1",
                  bool will = false) {
        Message m;
        m.will = will;
        m.topic = topic;
        m.payload = payload.data();
        m.payload_length = payload.size();
        m.client_id = client;
        Verdict v;
        checker_->check(m, v);
        return v;
    }
    int64_t metric(const std::string& name) { return metrics_.get(name).value(); }

    TempDir dir_;
    Config config_;
    MetricsRegistry metrics_;
    FakeClock clock_;
    std::unique_ptr<MessageChecker> checker_;
};

}  // namespace

TEST_F(CheckerTest, ValidMessagePasses) {
    load(kWarehouseRules);
    Verdict v = check("entrepot/nord/s1/v1", R"({"timestamp":1732200000,"temp":23.1,"hum":44.0})");
    EXPECT_EQ(v.outcome, Outcome::Pass);
    EXPECT_TRUE(v.failures.empty());
    EXPECT_EQ(metric("rules/telemetry/matched"), 1);
    EXPECT_EQ(metric("rules/telemetry/passed"), 1);
    EXPECT_EQ(metric("messages/checked"), 1);
}

TEST_F(CheckerTest, UnmatchedTopicPassesUntouched) {
    load(kWarehouseRules);
    EXPECT_EQ(check("other/topic", "\xff\x00 not json").outcome, Outcome::Pass);
    EXPECT_EQ(metric("rules/telemetry/matched"), 0);
}

TEST_F(CheckerTest, SchemaFailureIsDeadLetteredWithPointers) {
    load(kWarehouseRules);
    Verdict v = check("entrepot/sud/s7/v1", R"({"temp":"hot"})");
    EXPECT_EQ(v.outcome, Outcome::DeadLetter);
    EXPECT_EQ(v.dead_letter_topic, "dl/sud/s7/telemetry");
    ASSERT_EQ(v.failures.size(), 1u);
    EXPECT_EQ(v.failures[0].rule, "telemetry");
    EXPECT_EQ(v.failures[0].check, "schema");
    EXPECT_EQ(v.failures[0].pointer, "/temp");
    EXPECT_EQ(metric("rules/telemetry/failed"), 1);
    EXPECT_EQ(metric("rules/telemetry/dead_lettered"), 1);
    EXPECT_EQ(metric("messages/rejected"), 1);
}

TEST_F(CheckerTest, EachRuleRunsItsSchemaOncePerMessage) {
    load(kWarehouseRules);
    ASSERT_EQ(checker_->schemaEvaluations(), 0u);
    EXPECT_EQ(check("entrepot/nord/s1/v1", R"({"temp":23.1})").outcome, Outcome::Pass);
    EXPECT_EQ(checker_->schemaEvaluations(), 1u);
    // A failing message gets its verdict and its errors from the same single evaluation.
    Verdict v = check("entrepot/sud/s7/v1", R"({"temp":"hot","id":"c"})");
    EXPECT_EQ(v.outcome, Outcome::DeadLetter);
    EXPECT_EQ(v.failures.size(), 2u);
    EXPECT_EQ(checker_->schemaEvaluations(), 2u);
}

TEST_F(CheckerTest, FailingShadowAndEnforcingRulesAreEachEvaluatedOnce) {
    load(R"({"rules": [
      {"name": "shadow", "topics": ["t"], "schema": {"required": ["a"]}, "action": "shadow"},
      {"name": "enforce", "topics": ["t"], "schema": {"required": ["b"]}, "action": "drop"}]})");
    Verdict v = check("t", "{}");
    EXPECT_EQ(v.outcome, Outcome::Drop);
    ASSERT_EQ(v.shadow_failures.size(), 1u);
    EXPECT_EQ(v.shadow_failures[0].rule, "shadow");
    ASSERT_EQ(v.failures.size(), 1u);
    EXPECT_EQ(v.failures[0].rule, "enforce");
    EXPECT_EQ(checker_->schemaEvaluations(), 2u);
}

TEST_F(CheckerTest, BinaryPayloadWithSizeOnlyRulePasses) {
    load(kWarehouseRules);
    EXPECT_EQ(check("blob/x", std::string("\x00\xff\x01", 3)).outcome, Outcome::Pass);
    Verdict v = check("blob/x", std::string(9, '\x01'));
    EXPECT_EQ(v.outcome, Outcome::Drop);
    EXPECT_EQ(v.failures.at(0).check, "size");
    EXPECT_EQ(v.failures.at(0).message, "payload is 9 bytes, more than max_size 8 bytes");
}

struct HostileCase {
    std::string name;
    std::string payload;
    std::string check;
    std::string message_part;
};

std::ostream& operator<<(std::ostream& os, const HostileCase& c) { return os << c.name; }

class HostilePayloads : public CheckerTest, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(HostilePayloads, FailCleanly) {
    load(kWarehouseRules);
    Verdict v = check("entrepot/est/s1/v1", GetParam().payload);
    ASSERT_EQ(v.outcome, Outcome::DeadLetter);
    ASSERT_FALSE(v.failures.empty());
    EXPECT_EQ(v.failures[0].check, GetParam().check);
    EXPECT_NE(v.failures[0].message.find(GetParam().message_part), std::string::npos) << v.failures[0].message;
    // The checker stays usable for the next message.
    EXPECT_EQ(check("entrepot/est/s1/v1", R"({"temp":1})").outcome, Outcome::Pass);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HostilePayloads,
    ::testing::Values(
        HostileCase{"MalformedUtf8", "{\"temp\":1,\"id\":\"\xc3\x28\"}", "utf8", "invalid UTF-8"},
        HostileCase{"TruncatedJson", R"({"temp":23.)", "json", "malformed JSON"},
        HostileCase{"Nesting100k", std::string(100'000, '[') + std::string(100'000, ']'), "json", "deeper than 64"},
        HostileCase{"TenMegabytes", "{\"temp\":1,\"id\":\"" + std::string(10'000'000, 'a') + "\"}", "json", "exceeds the JSON limit"},
        HostileCase{"NumberBeyondDouble", R"({"temp":1e999})", "json", "out of range"},
        HostileCase{"EmptyPayload", "", "json", "empty payload"},
        HostileCase{"LongStringAgainstPattern", "{\"temp\":1,\"id\":\"" + std::string(500'000, 'a') + "c\"}", "schema", "pattern"}));

TEST_F(CheckerTest, LongStringMatchingPatternPasses) {
    load(kWarehouseRules);
    // 500 000 characters against ^(a|b)*$: std::regex would overflow the stack; RE2 is linear.
    EXPECT_EQ(check("entrepot/est/s1/v1", "{\"temp\":1,\"id\":\"" + std::string(500'000, 'a') + "\"}").outcome, Outcome::Pass);
}

TEST_F(CheckerTest, DisconnectAfterNFailuresInWindow) {
    load(kWarehouseRules);
    EXPECT_FALSE(check("entrepot/n/s/v1", "{}", "bad").disconnect);
    EXPECT_FALSE(check("entrepot/n/s/v1", "{}", "bad").disconnect);
    EXPECT_FALSE(check("entrepot/n/s/v1", "{}", "other").disconnect);  // counted per client
    EXPECT_TRUE(check("entrepot/n/s/v1", "{}", "bad").disconnect);
    EXPECT_EQ(metric("rules/telemetry/disconnected"), 1);
    // The window restarts after a disconnect, and old failures age out.
    EXPECT_FALSE(check("entrepot/n/s/v1", "{}", "bad").disconnect);
    EXPECT_FALSE(check("entrepot/n/s/v1", "{}", "bad").disconnect);
    clock_.advance(std::chrono::seconds(11));
    EXPECT_FALSE(check("entrepot/n/s/v1", "{}", "bad").disconnect);
    checker_->forgetClient("bad");
    checker_->forgetClient("other");
    EXPECT_EQ(checker_->trackedClients(), 0u);
}

TEST_F(CheckerTest, AWillIsJudgedLikeAPublishButNeverCountsTowardsDisconnect) {
    load(kWarehouseRules);
    for (int i = 0; i < 5; ++i) {
        Verdict v = check("entrepot/n/s/v1", "{}", "gone", true);
        EXPECT_EQ(v.outcome, Outcome::DeadLetter);
        EXPECT_FALSE(v.disconnect);
    }
    EXPECT_EQ(metric("rules/telemetry/dead_lettered"), 5);
    EXPECT_EQ(metric("rules/telemetry/disconnected"), 0);
    EXPECT_EQ(checker_->trackedClients(), 0u);
}

TEST_F(CheckerTest, AllPolicyNeedsEveryRule) {
    load(R"({"rules":[
        {"name":"small","topics":["t/#"],"max_size":10},
        {"name":"json","topics":["t/+"],"json":true,"action":"dead_letter","dead_letter_topic":"dl/{rule}"}]})");
    Verdict v = check("t/x", "not json at all");
    EXPECT_EQ(v.outcome, Outcome::Drop);  // the first failing rule decides the action
    ASSERT_EQ(v.failures.size(), 2u);
    EXPECT_EQ(v.failures[0].rule, "small");
    EXPECT_EQ(v.failures[1].rule, "json");
    EXPECT_EQ(check("t/x", "[1]").outcome, Outcome::Pass);
}

TEST_F(CheckerTest, AnyPolicyNeedsOneRule) {
    load(R"({"match_policy":"any","rules":[
        {"name":"v1","topics":["t"],"schema":{"required":["a"]}},
        {"name":"v2","topics":["t"],"schema":{"required":["b"]},"action":"dead_letter","dead_letter_topic":"dl"}]})");
    EXPECT_EQ(check("t", R"({"b":1})").outcome, Outcome::Pass);
    EXPECT_EQ(metric("rules/v1/failed"), 1);
    Verdict v = check("t", R"({"c":1})");
    EXPECT_EQ(v.outcome, Outcome::Drop);
    EXPECT_EQ(v.deciding_rule->name, "v1");
    EXPECT_EQ(v.failures.size(), 2u);
}

TEST_F(CheckerTest, ShadowRuleCountsButNeverBlocks) {
    load(R"({"rules":[{"name":"trial","topics":["t"],"schema":{"type":"integer"},"action":"shadow"}]})");
    Verdict v = check("t", R"("text")");
    EXPECT_EQ(v.outcome, Outcome::Pass);
    ASSERT_EQ(v.shadow_failures.size(), 1u);
    EXPECT_EQ(v.shadow_failures[0].rule, "trial");
    EXPECT_EQ(metric("rules/trial/shadow_failed"), 1);
    EXPECT_EQ(metric("messages/rejected"), 0);
}

TEST_F(CheckerTest, DefaultRuleCoversUnmatchedTopics) {
    load(R"({"rules":[{"name":"r","topics":["json/#"],"json":true}],
             "default_rule":{"utf8":true,"max_size":"1KiB"}})");
    EXPECT_EQ(check("json/x", "{}").outcome, Outcome::Pass);
    EXPECT_EQ(check("other", "plain text").outcome, Outcome::Pass);
    EXPECT_EQ(check("other", "\xff").outcome, Outcome::Drop);
    EXPECT_EQ(metric("rules/default/failed"), 1);
    EXPECT_EQ(check("json/x", "\xff").failures.at(0).rule, "r");  // a matched topic does not fall back
}
