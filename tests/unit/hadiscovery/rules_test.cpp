// hadiscovery rules files: the shipped examples load; bad rules are refused naming the rule and the key.
#include <gtest/gtest.h>

#include "hadiscovery/rules.hpp"

using namespace mqs::hadiscovery;

namespace {

TEST(HaShippedRules, Load) {
    for (const char* name : {"ipwatch-rules.json", "warehouse-rules.json", "dht11-rules.json"}) {
        SCOPED_TRACE(name);
        RuleSet set = loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/" + name);
        EXPECT_FALSE(set.rules.empty());
    }
    RuleSet ip = loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/ipwatch-rules.json");
    const Rule& r = ip.rules[0];
    EXPECT_EQ(r.topic.filter(), "ipwatch/device/+/status");
    ASSERT_TRUE(r.availability);
    EXPECT_EQ(r.entities.size(), 7u);
    EXPECT_EQ(r.entities[0].platform, Platform::Sensor);
    EXPECT_TRUE(r.entities[0].numeric);
    EXPECT_EQ(r.entities[4].platform, Platform::BinarySensor);
    EXPECT_FALSE(r.entities[4].use_availability);
    EXPECT_EQ(r.entities[6].platform, Platform::Button);
    EXPECT_EQ(r.entities[6].qos, 1);
    mqs::Captures caps;
    ASSERT_TRUE(r.topic.match("ipwatch/device/10.0.0.5/status", &caps));
    EXPECT_EQ(r.device_id.render(caps), "ipwatch_10.0.0.5");
    RuleSet wh = loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json");
    EXPECT_EQ(wh.rules[0].expire, ExpireMode::Observed);
}

// A minimal rule with `entity` as its only entity and `extra` merged into the rule.
std::string ruleWith(const std::string& entity, const std::string& extra = "") {
    return R"({"rules": [{"name": "r1", "topic": "t/{id}/s", "device": {"name": "Dev {id}"}, )" + extra +
           R"("entities": [)" + entity + "]}]}";
}

struct BadCase {
    const char* name;
    std::string text;
    const char* path;     // expected location in the message
    const char* problem;  // expected substring
};

class HaBadRules : public ::testing::TestWithParam<BadCase> {};

TEST_P(HaBadRules, AreRefusedNamingRuleAndKey) {
    const auto& c = GetParam();
    try {
        parseRuleSet(c.text, "rules.json");
        FAIL() << "accepted";
    } catch (const mqs::RulesError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(c.path), std::string::npos) << what;
        EXPECT_NE(what.find(c.problem), std::string::npos) << what;
    }
}

const std::string kSensor = R"({"id": "t", "component": "sensor", "field": "temp")";

INSTANTIATE_TEST_SUITE_P(
    Table, HaBadRules,
    ::testing::Values(
        BadCase{"UnknownRuleKey", ruleWith(kSensor + "}", R"("colour": 1, )"), "rules[0]", "colour"},
        BadCase{"UnknownEntityKey", ruleWith(kSensor + R"(, "unti": "%"})"), "rules[0].entities[0]", "unti"},
        BadCase{"RuleNamedInMessage", ruleWith(kSensor + R"(, "unti": "%"})"), "", "(rule 'r1')"},
        BadCase{"InvalidTemplate",
                R"({"rules": [{"name": "r1", "topic": "t/{id/s", "device": {"name": "x"}, "entities": []}]})",
                "rules[0].topic", ""},
        BadCase{"NoCapture",
                R"({"rules": [{"name": "r1", "topic": "t/a/s", "device": {"name": "x"}, "entities": []}]})",
                "rules[0].topic", "capture"},
        BadCase{"UnknownCaptureInName",
                R"({"rules": [{"name": "r1", "topic": "t/{id}/s", "device": {"name": "x {zone}"}, "entities": []}]})",
                "rules[0].device.name", "zone"},
        BadCase{"UnitDoesNotFitClass", ruleWith(kSensor + R"(, "device_class": "temperature", "unit": "%"})"),
                "rules[0].entities[0].unit", "not valid with device_class"},
        BadCase{"UnknownDeviceClass", ruleWith(kSensor + R"(, "device_class": "cpu"})"),
                "rules[0].entities[0].device_class", "not a sensor device class"},
        BadCase{"ConfigCategoryOnSensor", ruleWith(kSensor + R"(, "entity_category": "config"})"),
                "rules[0].entities[0].entity_category", "diagnostic"},
        BadCase{"BadEntityId", ruleWith(R"({"id": "t.x", "component": "sensor", "field": "temp"})"),
                "rules[0].entities[0].id", "letters"},
        BadCase{"DuplicateEntityId", ruleWith(kSensor + "}," + kSensor + "}"), "rules[0].entities[1].id", "twice"},
        BadCase{"SensorWithoutField", ruleWith(R"({"id": "t", "component": "sensor"})"), "rules[0].entities[0]",
                "field"},
        BadCase{"ButtonWithoutCommandTopic", ruleWith(R"({"id": "b", "component": "button"})"),
                "rules[0].entities[0].command_topic", "required"},
        BadCase{"ButtonWithField",
                ruleWith(R"({"id": "b", "component": "button", "command_topic": "c", "field": "x"})"),
                "rules[0].entities[0]", "field"},
        BadCase{"UnknownComponent", ruleWith(R"({"id": "b", "component": "light"})"), "rules[0].entities[0].component",
                "light"},
        BadCase{"AvailabilityOptOutWithoutAvailability",
                ruleWith(R"({"id": "c", "component": "binary_sensor", "state_topic": "x", "availability": false})"),
                "rules[0].entities[0].availability", "no availability"},
        BadCase{"DeviceIdWithoutCapture",
                ruleWith(kSensor + "}", "")
                    .replace(ruleWith(kSensor + "}", "").find(R"("device": {)"), 11, R"("device": {"id": "fixed", )"),
                "rules[0].device.id", "capture"},
        BadCase{"DuplicateIdsBetweenRules",
                R"({"rules": [
                    {"name": "a", "topic": "a/{id}", "device": {"id": "dev_{id}", "name": "A"}, "entities": [{"id": "t", "component": "sensor", "field": "t"}]},
                    {"name": "b", "topic": "b/{id}", "device": {"id": "dev_{id}", "name": "B"}, "entities": [{"id": "t", "component": "sensor", "field": "t"}]}]})",
                "rules[1].device.id", "collide with rule 'a'"},
        BadCase{"PrefixOfAnotherRule",
                R"({"rules": [
                    {"name": "a", "topic": "a/{id}", "device": {"id": "dev_{id}", "name": "A"}, "entities": [{"id": "t", "component": "sensor", "field": "t"}]},
                    {"name": "b", "topic": "b/{id}", "device": {"id": "dev_x_{id}", "name": "B"}, "entities": [{"id": "t", "component": "sensor", "field": "t"}]}]})",
                "rules[1].device.id", "collide"},
        BadCase{"DuplicateRuleName",
                R"({"rules": [
                    {"name": "a", "topic": "a/{id}", "device": {"id": "a_{id}", "name": "A"}, "entities": [{"id": "t", "component": "sensor", "field": "t"}]},
                    {"name": "a", "topic": "b/{id}", "device": {"id": "b_{id}", "name": "B"}, "entities": [{"id": "t", "component": "sensor", "field": "t"}]}]})",
                "rules[1].name", "exists already"},
        BadCase{"ExpireAfterWord", ruleWith(kSensor + "}", R"("expire_after": "soon", )"), "rules[0].expire_after",
                "observed"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HaInference, FieldNameTable) {
    ASSERT_NE(inferFromFieldName("temp"), nullptr);
    EXPECT_STREQ(inferFromFieldName("Temperature")->device_class, "temperature");
    EXPECT_STREQ(inferFromFieldName("hum")->unit, "%");
    EXPECT_STREQ(inferFromFieldName("co2")->device_class, "carbon_dioxide");
    EXPECT_EQ(inferFromFieldName("alert_level"), nullptr);
    // Every row of the table is one Home Assistant accepts.
    for (const char* f : {"temperature", "humidity", "pressure", "battery", "voltage", "current", "power", "energy",
                          "co2", "lux", "rssi", "pm25", "pm10"}) {
        const InferredSensor* s = inferFromFieldName(f);
        ASSERT_NE(s, nullptr) << f;
        EXPECT_EQ(checkSensorTriple(s->device_class, s->unit, s->state_class), "") << f;
    }
}

}  // namespace
