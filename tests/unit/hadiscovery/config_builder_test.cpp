// Config building: both discovery forms pass the contract, ids come from captures (never names) and are
// stable, missing fields leave entities out, migration follows Home Assistant's migrate_discovery order.
#include <gtest/gtest.h>

#include "hadiscovery/config_builder.hpp"

using namespace mqs::hadiscovery;
using nlohmann::json;

namespace {

struct Fixture {
    RuleSet set = loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/ipwatch-rules.json");
    DeviceView view(const std::string& topic, const std::string& name = "") {
        DeviceView d;
        d.rule = &set.rules[0];
        EXPECT_TRUE(d.rule->topic.match(topic, &d.captures));
        d.id = sanitizeId(d.rule->device_id.render(d.captures));
        d.name = name.empty() ? d.rule->device_name.render(d.captures) : name;
        d.topic = topic;
        return d;
    }
};

TEST(HaBuild, DeviceFormIsOneValidMessage) {
    Fixture f;
    BuildOptions o;
    std::vector<std::string> problems;
    auto out = buildConfigs(f.view("ipwatch/device/10.0.0.5/status"), o, problems);
    ASSERT_TRUE(problems.empty()) << json(problems).dump();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, "homeassistant/device/ipwatch_10_0_0_5/config");
    json p = json::parse(out[0].payload);
    EXPECT_TRUE(checkDiscoveryMessage("homeassistant", out[0].topic, p, DiscoveryForm::Device).empty());
    EXPECT_EQ(p["device"]["identifiers"], json::array({"ipwatch_10_0_0_5"}));
    EXPECT_EQ(p["origin"]["name"], "mosquitto_hadiscovery");
    const auto& c = p["components"];
    EXPECT_EQ(c.size(), 7u);
    EXPECT_EQ(c["cpu"]["unique_id"], "ipwatch_10_0_0_5_cpu");
    EXPECT_EQ(c["cpu"]["default_entity_id"], "sensor.ipwatch_10_0_0_5_cpu");
    EXPECT_FALSE(c["cpu"].contains("object_id"));
    EXPECT_EQ(c["cpu"]["value_template"], "{{ value_json.cpu_percent }}");
    EXPECT_EQ(c["cpu"]["json_attributes_topic"], "ipwatch/device/10.0.0.5/status");
    EXPECT_EQ(c["cpu"]["availability"][0]["topic"], "ipwatch/device/10.0.0.5/availability");
    EXPECT_FALSE(c["connectivity"].contains("availability"));
    EXPECT_EQ(c["connectivity"]["state_topic"], "ipwatch/device/10.0.0.5/availability");
    EXPECT_EQ(c["shutdown"]["payload_press"], R"({"command":"shutdown"})");
    EXPECT_EQ(c["shutdown"]["qos"], 1);
    EXPECT_EQ(c["shutdown"]["retain"], false);
    EXPECT_EQ(c["uptime"]["entity_category"], "diagnostic");
    for (const auto& [k, v] : c.items()) {
        EXPECT_FALSE(v.contains("availability_topic") && v.contains("availability")) << k;
    }
}

TEST(HaBuild, EntityFormIsOneValidMessagePerEntity) {
    Fixture f;
    BuildOptions o;
    o.form = DiscoveryForm::Entity;
    o.prefix = "ha";
    std::vector<std::string> problems;
    auto out = buildConfigs(f.view("ipwatch/device/10.0.0.5/status"), o, problems);
    ASSERT_TRUE(problems.empty()) << json(problems).dump();
    ASSERT_EQ(out.size(), 7u);
    EXPECT_EQ(out[0].topic, "ha/sensor/ipwatch_10_0_0_5/cpu/config");
    EXPECT_EQ(out[4].topic, "ha/binary_sensor/ipwatch_10_0_0_5/connectivity/config");
    EXPECT_EQ(out[5].topic, "ha/button/ipwatch_10_0_0_5/shutdown/config");
    for (const auto& d : out) {
        json p = json::parse(d.payload);
        EXPECT_FALSE(p.contains("platform")) << d.topic;
        EXPECT_TRUE(p.contains("origin")) << d.topic;
        EXPECT_TRUE(checkDiscoveryMessage("ha", d.topic, p, DiscoveryForm::Entity).empty()) << d.topic;
    }
    EXPECT_EQ(discoveryTopics(f.view("ipwatch/device/10.0.0.5/status"), o, DiscoveryForm::Entity).size(), 7u);
}

TEST(HaBuild, IdsComeFromCapturesNotFromTheDisplayName) {
    Fixture f;
    BuildOptions o;
    std::vector<std::string> problems;
    auto a = buildConfigs(f.view("ipwatch/device/10.0.0.5/status", "web-1"), o, problems);
    auto b = buildConfigs(f.view("ipwatch/device/10.0.0.5/status", "renamed host"), o, problems);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0].topic, b[0].topic);
    EXPECT_EQ(json::parse(a[0].payload)["components"]["cpu"]["unique_id"],
              json::parse(b[0].payload)["components"]["cpu"]["unique_id"]);
    EXPECT_NE(a[0].payload, b[0].payload) << "the name is part of the config";
    // Same input, same bytes (the inventory compares hashes).
    auto again = buildConfigs(f.view("ipwatch/device/10.0.0.5/status", "web-1"), o, problems);
    EXPECT_EQ(a[0].payload, again[0].payload);
}

TEST(HaBuild, HostileCaptureValuesCannotEscapeTheirTopic) {
    Fixture f;
    BuildOptions o;
    std::vector<std::string> problems;
    auto out = buildConfigs(f.view("ipwatch/device/Süd ünd \"x\"/status"), o, problems);
    ASSERT_TRUE(problems.empty()) << json(problems).dump();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, "homeassistant/device/ipwatch_Su00fcd_u00fcnd__x_/config");
}

TEST(HaBuild, MissingEntitiesAreLeftOut) {
    Fixture f;
    BuildOptions o;
    auto d = f.view("ipwatch/device/10.0.0.5/status");
    d.entity_mask = 0b1100000;  // only the two buttons
    std::vector<std::string> problems;
    auto out = buildConfigs(d, o, problems);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(json::parse(out[0].payload)["components"].size(), 2u);
    d.entity_mask = 0;
    EXPECT_TRUE(buildConfigs(d, o, problems).empty());
}

TEST(HaBuild, EntityNamesNeverRepeatTheDeviceName) {
    Fixture f;
    BuildOptions o;
    std::vector<std::string> problems;
    // A host that calls itself "CPU": the entity "CPU" would read "CPU CPU"; it takes the device's name.
    auto out = buildConfigs(f.view("ipwatch/device/10.0.0.5/status", "cpu"), o, problems);
    ASSERT_TRUE(problems.empty()) << json(problems).dump();
    ASSERT_EQ(out.size(), 1u);
    json p = json::parse(out[0].payload);
    EXPECT_TRUE(p["components"]["cpu"]["name"].is_null());
    out = buildConfigs(f.view("ipwatch/device/10.0.0.5/status", "Disk"), o, problems);
    EXPECT_TRUE(json::parse(out[0].payload)["components"]["disk"]["name"].is_null());
    EXPECT_EQ(json::parse(out[0].payload)["components"]["cpu"]["name"], "CPU");
}

TEST(HaBuild, ExpireAfterGoesToOwnStateTopicSensorsOnly) {
    RuleSet set = loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json");
    DeviceView d;
    d.rule = &set.rules[0];
    ASSERT_TRUE(d.rule->topic.match("entrepot/nord/s1/v1", &d.captures));
    d.id = sanitizeId(d.rule->device_id.render(d.captures));
    d.name = d.rule->device_name.render(d.captures);
    d.topic = "entrepot/nord/s1/v1";
    d.expire_after_s = 90;
    std::vector<std::string> problems;
    auto out = buildConfigs(d, BuildOptions{}, problems);
    ASSERT_TRUE(problems.empty()) << json(problems).dump();
    ASSERT_EQ(out.size(), 1u);
    json p = json::parse(out[0].payload);
    EXPECT_EQ(p["device"]["suggested_area"], "nord");
    EXPECT_EQ(p["device"]["name"], "Entrepôt nord s1");
    EXPECT_EQ(p["components"]["temperature"]["expire_after"], 90);
    EXPECT_EQ(p["components"]["temperature"]["unit_of_measurement"], "°C");
}

TEST(HaBuild, InferredSensors) {
    RuleSet set = loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json");
    DeviceView d;
    d.rule = &set.rules[0];
    ASSERT_TRUE(d.rule->topic.match("dht11/sensor/data", &d.captures));
    d.id = sanitizeId(d.rule->device_id.render(d.captures));
    d.name = "DHT11 sensor";
    d.topic = "dht11/sensor/data";
    d.inferred.push_back({"battery", *inferFromFieldName("battery")});
    std::vector<std::string> problems;
    auto out = buildConfigs(d, BuildOptions{}, problems);
    ASSERT_TRUE(problems.empty()) << json(problems).dump();
    json p = json::parse(out[0].payload);
    EXPECT_EQ(p["components"]["auto_battery"]["device_class"], "battery");
    EXPECT_EQ(p["components"]["auto_battery"]["unique_id"], "dht11_sensor_auto_battery");
}

TEST(HaMigration, FollowsMigrateDiscoveryOrder) {
    std::vector<Discovery> configs{{"ha/device/d/config", "{...}"}};
    auto m = migrationMessages({"ha/sensor/d/a/config", "ha/sensor/d/b/config"}, configs);
    ASSERT_EQ(m.size(), 5u);
    EXPECT_EQ(m[0].payload, R"({"migrate_discovery":true})");
    EXPECT_EQ(m[1].payload, R"({"migrate_discovery":true})");
    EXPECT_EQ(m[2].topic, "ha/device/d/config");
    EXPECT_EQ(m[3].topic, "ha/sensor/d/a/config");
    EXPECT_EQ(m[3].payload, "");
    EXPECT_EQ(m[4].payload, "");
}

TEST(HaValueTemplate, Paths) {
    EXPECT_EQ(valueTemplateFor(mqs::JsonPath::parse("temp")), "{{ value_json.temp }}");
    EXPECT_EQ(valueTemplateFor(mqs::JsonPath::parse("a.b[2]")), "{{ value_json.a.b[2] }}");
    EXPECT_EQ(valueTemplateFor(mqs::JsonPath::parse("$")), "{{ value }}");
}

}  // namespace
