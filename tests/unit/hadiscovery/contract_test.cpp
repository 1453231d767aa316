// Home Assistant's discovery contract (ha_contract.hpp): sanitizing ids, the unit/device-class/state-class
// tables and the message checker, table-driven.
#include <gtest/gtest.h>

#include "hadiscovery/ha_contract.hpp"

using namespace mqs::hadiscovery;
using nlohmann::json;

namespace {

struct SanitizeCase {
    const char* name;
    std::string in;
    std::string out;
};

class HaSanitize : public ::testing::TestWithParam<SanitizeCase> {};

TEST_P(HaSanitize, GivesOnlyAllowedCharacters) {
    const auto& c = GetParam();
    const std::string got = sanitizeId(c.in);
    EXPECT_EQ(got, c.out);
    EXPECT_TRUE(isSanitizedId(got)) << got;
    EXPECT_EQ(sanitizeId(c.in), got) << "deterministic";
}

INSTANTIATE_TEST_SUITE_P(
    Table, HaSanitize,
    ::testing::Values(SanitizeCase{"Ipv4", "10.0.0.5", "10_0_0_5"}, SanitizeCase{"Ipv6", "fe80::1", "fe80__1"},
                      SanitizeCase{"AlreadyClean", "nord_s-1", "nord_s-1"},
                      SanitizeCase{"Spaces", "cold room", "cold_room"}, SanitizeCase{"Latin1", "Süd", "Su00fcd"},
                      SanitizeCase{"TwoByteVsAscii", "sud", "sud"}, SanitizeCase{"Cjk", "倉庫", "u5009u5eab"},
                      SanitizeCase{"Emoji", "a😀", "au1f600"},
                      SanitizeCase{"InvalidUtf8", std::string("a\xff") + "b", "axffb"},
                      SanitizeCase{"TruncatedUtf8", std::string("a\xc3"), "axc3"},
                      SanitizeCase{"Wildcards", "a/+/#", "a____"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HaSanitize, NonAsciiValuesStayDistinct) {
    EXPECT_NE(sanitizeId("Süd"), sanitizeId("Sød"));
    EXPECT_NE(sanitizeId("Süd"), sanitizeId("S_d"));
}

struct TripleCase {
    const char* name;
    const char* device_class;
    const char* unit;
    const char* state_class;
    bool ok;
};

class HaSensorTriples : public ::testing::TestWithParam<TripleCase> {};

TEST_P(HaSensorTriples, FollowHomeAssistantsTables) {
    const auto& c = GetParam();
    EXPECT_EQ(checkSensorTriple(c.device_class, c.unit, c.state_class).empty(), c.ok)
        << checkSensorTriple(c.device_class, c.unit, c.state_class);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HaSensorTriples,
    ::testing::Values(TripleCase{"TemperatureC", "temperature", "°C", "measurement", true},
                      TripleCase{"TemperatureF", "temperature", "°F", "measurement", true},
                      TripleCase{"TemperatureKelvin", "temperature", "K", "", true},
                      TripleCase{"TemperatureBareC", "temperature", "C", "measurement", false},
                      TripleCase{"TemperaturePercent", "temperature", "%", "measurement", false},
                      TripleCase{"TemperatureTotal", "temperature", "°C", "total_increasing", false},
                      TripleCase{"HumidityPercent", "humidity", "%", "measurement", true},
                      TripleCase{"HumidityNoUnit", "humidity", "", "measurement", false},
                      TripleCase{"DurationSeconds", "duration", "s", "measurement", true},
                      TripleCase{"DurationTotalIncreasing", "duration", "s", "total_increasing", true},
                      TripleCase{"DurationSec", "duration", "sec", "measurement", false},
                      TripleCase{"TimestampNoUnit", "timestamp", "", "", true},
                      TripleCase{"TimestampWithStateClass", "timestamp", "", "measurement", false},
                      TripleCase{"TimestampWithUnit", "timestamp", "s", "", false},
                      TripleCase{"EnergyMeasurement", "energy", "kWh", "measurement", false},
                      TripleCase{"EnergyTotal", "energy", "kWh", "total_increasing", true},
                      TripleCase{"NoClassAnyUnit", "", "%", "measurement", true},
                      TripleCase{"NoClassOddUnit", "", "requests/min", "measurement", true},
                      TripleCase{"UnknownClass", "cpu", "%", "measurement", false},
                      TripleCase{"UnknownStateClass", "", "%", "average", false},
                      TripleCase{"AngleNeedsDegree", "", "rad", "measurement_angle", false},
                      TripleCase{"WindDirection", "wind_direction", "°", "measurement_angle", true},
                      TripleCase{"Pm25MicroSign", "pm25", "µg/m³", "measurement", true},
                      TripleCase{"Pm25GreekMu", "pm25", "μg/m³", "measurement", true},
                      TripleCase{"MonetaryAnyCurrency", "monetary", "EUR", "total", true},
                      TripleCase{"BatteryPercent", "battery", "%", "measurement", true},
                      TripleCase{"Co2Ppm", "carbon_dioxide", "ppm", "measurement", true}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HaDeviceClasses, BinarySensorAndButtonLists) {
    EXPECT_TRUE(isBinarySensorDeviceClass("connectivity"));
    EXPECT_FALSE(isBinarySensorDeviceClass("temperature"));
    EXPECT_TRUE(isButtonDeviceClass("restart"));
    EXPECT_FALSE(isButtonDeviceClass("shutdown"));
}

json goodDevicePayload() {
    return json::parse(R"({
      "device": {"identifiers": ["ipwatch_10_0_0_5"], "name": "IPWatch 10.0.0.5", "manufacturer": "IPWatch"},
      "origin": {"name": "mosquitto_hadiscovery", "sw_version": "1"},
      "components": {
        "cpu": {"platform": "sensor", "unique_id": "ipwatch_10_0_0_5_cpu", "default_entity_id": "sensor.ipwatch_10_0_0_5_cpu",
                "name": "CPU", "state_topic": "ipwatch/device/10.0.0.5/status", "unit_of_measurement": "%",
                "state_class": "measurement", "value_template": "{{ value_json.cpu_percent }}",
                "availability": [{"topic": "ipwatch/device/10.0.0.5/availability"}]},
        "reboot": {"platform": "button", "unique_id": "ipwatch_10_0_0_5_reboot", "name": "Reboot",
                   "command_topic": "ipwatch/device/10.0.0.5/command", "device_class": "restart",
                   "entity_category": "config"}
      }
    })");
}

struct CheckCase {
    const char* name;
    std::function<void(json&)> mutate;
    std::string topic;
    const char* expect;  // substring of one problem; empty: no problem
};

class HaDeviceMessages : public ::testing::TestWithParam<CheckCase> {};

TEST_P(HaDeviceMessages, AreHeldToTheContract) {
    const auto& c = GetParam();
    json p = goodDevicePayload();
    c.mutate(p);
    auto problems = checkDiscoveryMessage("homeassistant", c.topic, p, DiscoveryForm::Device);
    if (std::string(c.expect).empty()) {
        EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems[0]);
        return;
    }
    bool found = false;
    for (const auto& s : problems) found |= s.find(c.expect) != std::string::npos;
    EXPECT_TRUE(found) << "expected a problem containing '" << c.expect << "', got " << json(problems).dump();
}

const std::string kTopic = "homeassistant/device/ipwatch_10_0_0_5/config";
#define CMP(k) p["components"][k]

INSTANTIATE_TEST_SUITE_P(
    Table, HaDeviceMessages,
    ::testing::Values(
        CheckCase{"Good", [](json&) {}, kTopic, ""},
        CheckCase{"DottedTopicId", [](json&) {}, "homeassistant/device/ipwatch_10.0.0.5/config", "not [a-zA-Z0-9_-]+"},
        CheckCase{"WrongPrefix", [](json&) {}, "ha/device/x/config", "is not <prefix>"},
        CheckCase{"NoOrigin", [](json& p) { p.erase("origin"); }, kTopic, "origin"},
        CheckCase{"OriginWithoutName", [](json& p) { p["origin"].erase("name"); }, kTopic, "origin"},
        CheckCase{"NoIdentifiers", [](json& p) { p["device"].erase("identifiers"); }, kTopic, "identifiers"},
        CheckCase{"UnknownDeviceKey", [](json& p) { p["device"]["support_url"] = "x"; }, kTopic,
                  "device has unknown key"},
        CheckCase{"ObjectId",
                  [](json& p) {
                      CMP("cpu")["object_id"] = "cpu";
                  },
                  kTopic, "object_id is deprecated"},
        CheckCase{"DefaultEntityIdWithoutDomain",
                  [](json& p) {
                      CMP("cpu")["default_entity_id"] = "ipwatch_cpu";
                  },
                  kTopic, "default_entity_id"},
        CheckCase{"DefaultEntityIdOtherDomain",
                  [](json& p) {
                      CMP("cpu")["default_entity_id"] = "button.x";
                  },
                  kTopic, "default_entity_id"},
        CheckCase{"NoUniqueId", [](json& p) { CMP("cpu").erase("unique_id"); }, kTopic, "unique_id missing"},
        CheckCase{"NameRepeatsDevice",
                  [](json& p) {
                      CMP("cpu")["name"] = "IPWatch 10.0.0.5 CPU";
                  },
                  kTopic, "repeats the device name"},
        CheckCase{"BothAvailabilityForms",
                  [](json& p) {
                      CMP("cpu")["availability_topic"] = "a/b";
                  },
                  kTopic, "both availability_topic"},
        CheckCase{"SharedAndOwnAvailability", [](json& p) { p["availability_topic"] = "a/b"; }, kTopic,
                  "shares availability_topic"},
        CheckCase{"UnitMismatch",
                  [](json& p) {
                      CMP("cpu")["device_class"] = "temperature";
                  },
                  kTopic, "not valid with device_class"},
        CheckCase{"ConfigCategoryOnSensor",
                  [](json& p) {
                      CMP("cpu")["entity_category"] = "config";
                  },
                  kTopic, "entity_category config"},
        CheckCase{"SensorWithoutStateTopic", [](json& p) { CMP("cpu").erase("state_topic"); }, kTopic,
                  "needs a state_topic"},
        CheckCase{"SensorStateTopicShared",
                  [](json& p) {
                      p["state_topic"] = CMP("cpu")["state_topic"];
                      CMP("cpu").erase("state_topic");
                  },
                  kTopic, ""},
        CheckCase{"ButtonWithoutCommandTopic", [](json& p) { CMP("reboot").erase("command_topic"); }, kTopic,
                  "needs a command_topic"},
        CheckCase{"ButtonShutdownClass",
                  [](json& p) {
                      CMP("reboot")["device_class"] = "shutdown";
                  },
                  kTopic, "not a button device class"},
        CheckCase{"WildcardStateTopic",
                  [](json& p) {
                      CMP("cpu")["state_topic"] = "a/+/b";
                  },
                  kTopic, "state_topic"},
        CheckCase{"BadComponentKey",
                  [](json& p) {
                      CMP("c.p.u") = CMP("cpu");
                      p["components"].erase("cpu");
                  },
                  kTopic, "component id"},
        CheckCase{"UnknownPlatform",
                  [](json& p) {
                      CMP("cpu")["platform"] = "light";
                  },
                  kTopic, "platform 'light'"},
        CheckCase{"NoComponents", [](json& p) { p["components"] = json::object(); }, kTopic, "components missing"},
        CheckCase{"UnknownEntityKey",
                  [](json& p) {
                      CMP("cpu")["payload_press"] = "x";
                  },
                  kTopic, "unknown key"},
        CheckCase{"ExpireAfterZero",
                  [](json& p) {
                      CMP("cpu")["expire_after"] = 0;
                  },
                  kTopic, "expire_after"},
        CheckCase{"EntityFormOnDeviceTopic", [](json&) {}, "homeassistant/sensor/x/cpu/config", "device-based config"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HaEntityMessages, PerEntityConfigIsCheckedAgainstTheTopicsComponent) {
    json p = goodDevicePayload()["components"]["cpu"];
    p.erase("platform");
    p["device"] = goodDevicePayload()["device"];
    p["origin"] = goodDevicePayload()["origin"];
    const std::string topic = "homeassistant/sensor/ipwatch_10_0_0_5/cpu/config";
    auto problems = checkDiscoveryMessage("homeassistant", topic, p, DiscoveryForm::Entity);
    EXPECT_TRUE(problems.empty()) << json(problems).dump();
    // The same config as a button: its keys and its missing command_topic are refused.
    problems = checkDiscoveryMessage("homeassistant", "homeassistant/button/ipwatch_10_0_0_5/cpu/config", p,
                                     DiscoveryForm::Entity);
    EXPECT_FALSE(problems.empty());
    p["platform"] = "sensor";
    problems = checkDiscoveryMessage("homeassistant", topic, p, DiscoveryForm::Entity);
    EXPECT_FALSE(problems.empty());
}

}  // namespace
