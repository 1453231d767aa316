// mosquitto_validate.so inside the real broker: warehouse rules end to end, actions, reload,
// refusal of bad options, hostile payloads and metrics, with real MQTT 3.1.1 and 5 clients.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"

using namespace mqs::testing;
using namespace std::chrono_literals;

namespace {

const std::string kValidReading = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";
const std::string kInvalidReading = R"({"timestamp":1732200000,"temp":"hot","hum":144.0,"alert_level":0,"version":1})";

std::string warehouseConfig(const std::string& extra = "") {
    return std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_VALIDATE + "\n" +
           "plugin_opt_rules_file " + CONF_DIR + "/validate/warehouse-rules.json\n" + extra;
}

// A broker whose rules file lives in its own directory, so tests can rewrite it and reload.
std::string ownRulesConfig(BrokerProcess& broker, const std::string& rules, const std::string& extra = "") {
    broker.writeFile("rules.json", rules);
    return std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_VALIDATE + "\n" + "plugin_opt_rules_file " +
           (broker.dir() / "rules.json").string() + "\n" + extra;
}

struct Connected {
    BrokerProcess& broker;
    MqttTestClient client;
    Connected(BrokerProcess& b, const std::string& id, MqttTestClient::Protocol p = MqttTestClient::Protocol::V5)
        : broker(b), client(id, p) {
        EXPECT_TRUE(client.connect(b.port())) << client.lastError();
    }
};

}  // namespace

TEST(ValidateIntegration, LoadsTheWarehouseRules) {
    BrokerProcess broker(warehouseConfig());
    ASSERT_TRUE(broker.start()) << broker.log();
    EXPECT_TRUE(broker.waitForLog("validate: loaded 2 rule(s) from")) << broker.log();
}

TEST(ValidateIntegration, ValidReadingIsDeliveredByteIdentical) {
    BrokerProcess broker(warehouseConfig());
    ASSERT_TRUE(broker.start()) << broker.log();
    for (auto protocol : {MqttTestClient::Protocol::V311, MqttTestClient::Protocol::V5}) {
        Connected sub(broker, "sub", protocol), pub(broker, "sensor-nord-1", protocol);
        ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
        int reason = -1;
        ASSERT_TRUE(pub.client.publish("entrepot/nord/s1/v1", kValidReading, 1, false, &reason));
        EXPECT_EQ(reason, 0);
        auto msg = sub.client.waitForMessageOn("entrepot/nord/s1/v1");
        ASSERT_TRUE(msg);
        EXPECT_EQ(msg->payload, kValidReading);
        EXPECT_FALSE(sub.client.waitForMessageOn("entrepot/deadletter/#", 300ms));
    }
}

TEST(ValidateIntegration, InvalidReadingIsDeadLetteredWithJsonPointers) {
    BrokerProcess broker(warehouseConfig());
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub"), pub(broker, "sensor-nord-1");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    int reason = -1;
    ASSERT_TRUE(pub.client.publish("entrepot/nord/s1/v1", kInvalidReading, 1, false, &reason));
    EXPECT_EQ(reason, 0x87) << "MQTT 5 publishers learn the message was refused";

    auto letter = sub.client.waitForMessageOn("entrepot/deadletter/nord/s1");
    ASSERT_TRUE(letter) << broker.log();
    auto envelope = nlohmann::json::parse(letter->payload);
    EXPECT_EQ(envelope["topic"], "entrepot/nord/s1/v1");
    EXPECT_EQ(envelope["client_id"], "sensor-nord-1");
    EXPECT_EQ(envelope["rule"], "warehouse-telemetry");
    EXPECT_EQ(envelope["payload"], kInvalidReading);
    std::set<std::string> pointers;
    for (const auto& e : envelope["errors"]) pointers.insert(e["pointer"].get<std::string>());
    EXPECT_EQ(pointers, (std::set<std::string>{"/temp", "/hum"})) << envelope.dump(2);
    EXPECT_FALSE(sub.client.waitForMessageOn("entrepot/nord/s1/v1", 300ms)) << "the invalid reading must not be delivered";
    EXPECT_TRUE(broker.waitForLog("validate: rule 'warehouse-telemetry' rejected 'entrepot/nord/s1/v1'")) << broker.log();
}

TEST(ValidateIntegration, Mqtt311PublisherIsDroppedSilently) {
    BrokerProcess broker(warehouseConfig());
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub"), pub(broker, "old-sensor", MqttTestClient::Protocol::V311);
    ASSERT_TRUE(sub.client.subscribe("entrepot/+/+/v1", 1));
    ASSERT_TRUE(pub.client.publish("entrepot/sud/s2/v1", "not json", 1));
    EXPECT_TRUE(pub.client.isConnected());
    EXPECT_FALSE(sub.client.waitForMessage(500ms));
}

TEST(ValidateIntegration, BinaryPayloadOnUncheckedTopicPassesUntouched) {
    BrokerProcess broker(warehouseConfig());
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub"), pub(broker, "camera");
    ASSERT_TRUE(sub.client.subscribe("camera/#", 1));
    std::string binary("\x00\xff\xfe\x01jpeg\x00", 9);
    ASSERT_TRUE(pub.client.publish("camera/frame", binary, 1));
    auto msg = sub.client.waitForMessageOn("camera/frame");
    ASSERT_TRUE(msg);
    EXPECT_EQ(msg->payload, binary);
}

struct BadOptionCase {
    std::string name;
    std::string options;
    std::string expected_log;
};

std::ostream& operator<<(std::ostream& os, const BadOptionCase& c) { return os << c.name; }

class ValidateBadOptions : public ::testing::TestWithParam<BadOptionCase> {};

TEST_P(ValidateBadOptions, StopTheBrokerNamingTheOption) {
    BrokerProcess broker(std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_VALIDATE + "\n" + GetParam().options);
    EXPECT_FALSE(broker.start());
    auto status = broker.waitExit(10s);
    ASSERT_TRUE(status);
    EXPECT_NE(*status, 0);
    EXPECT_TRUE(broker.waitForLog(GetParam().expected_log, 2s)) << broker.log();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateBadOptions,
    ::testing::Values(
        BadOptionCase{"MissingRulesFile", "", "validate: plugin_opt_rules_file: is required"},
        BadOptionCase{"RulesFileNotFound", "plugin_opt_rules_file /nonexistent/rules.json\n",
                      "validate: plugin_opt_rules_file: cannot open '/nonexistent/rules.json'"},
        BadOptionCase{"UnknownOption",
                      "plugin_opt_rules_file " CONF_DIR "/validate/warehouse-rules.json\nplugin_opt_colour red\n",
                      "validate: plugin_opt_colour: unknown option"},
        BadOptionCase{"BadDuration",
                      "plugin_opt_rules_file " CONF_DIR "/validate/warehouse-rules.json\nplugin_opt_metrics_interval soon\n",
                      "validate: plugin_opt_metrics_interval: 'soon' is not a duration"},
        BadOptionCase{"BadWillCheck",
                      "plugin_opt_rules_file " CONF_DIR "/validate/warehouse-rules.json\nplugin_opt_will_check yes\n",
                      "validate: plugin_opt_will_check"}));

TEST(ValidateIntegration, BadRulesFileStopsTheBrokerWithItsLocation) {
    BrokerProcess broker("");
    broker.updateConfig(ownRulesConfig(broker, R"({"rules":[{"name":"r","topics":["a/#/b"],"utf8":true}]})"));
    EXPECT_FALSE(broker.start());
    ASSERT_TRUE(broker.waitExit(10s));
    EXPECT_TRUE(broker.waitForLog("rules[0].topics[0]: '#' must be the last level", 2s)) << broker.log();
}

TEST(ValidateIntegration, ReloadSwapsValidRulesAndKeepsOldOnesWhenInvalid) {
    BrokerProcess broker("");
    broker.updateConfig(ownRulesConfig(broker, R"({"rules":[{"name":"small","topics":["t"],"max_size":5}]})"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub"), pub(broker, "pub");
    ASSERT_TRUE(sub.client.subscribe("t", 1));
    ASSERT_TRUE(pub.client.publish("t", "123456", 1));
    EXPECT_FALSE(sub.client.waitForMessage(300ms));

    broker.writeFile("rules.json", R"({"rules":[{"name":"larger","topics":["t"],"max_size":10}]})");
    broker.reload();
    ASSERT_TRUE(broker.waitForLogCount("validate: loaded 1 rule(s)", 2)) << broker.log();
    ASSERT_TRUE(pub.client.publish("t", "123456", 1));
    EXPECT_TRUE(sub.client.waitForMessage(2s));

    broker.writeFile("rules.json", R"({"rules":[{"name":"broken","topics":["t"]}]})");
    broker.reload();
    ASSERT_TRUE(broker.waitForLog("validate: reload refused, keeping the previous rules")) << broker.log();
    EXPECT_TRUE(broker.waitForLog("rules[0]: has no check")) << broker.log();
    ASSERT_TRUE(pub.client.publish("t", "123456", 1));
    EXPECT_TRUE(sub.client.waitForMessage(2s)) << "the previous rules (max_size 10) still apply";
    ASSERT_TRUE(pub.client.publish("t", "12345678901", 1));
    EXPECT_FALSE(sub.client.waitForMessage(300ms));
}

TEST(ValidateIntegration, DisconnectAfterRepeatedFailures) {
    BrokerProcess broker("");
    broker.updateConfig(ownRulesConfig(broker, R"({"rules":[{"name":"json-only","topics":["t/#"],"json":true,
        "disconnect_after":{"failures":3,"window":"60s"}}]})"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected pub(broker, "spammer");
    ASSERT_TRUE(pub.client.publish("t/1", "x", 1));
    ASSERT_TRUE(pub.client.publish("t/1", "x", 1));
    EXPECT_TRUE(pub.client.isConnected());
    pub.client.publish("t/1", "x", 1, false, nullptr, 1s);
    EXPECT_TRUE(pub.client.waitForDisconnect(5s));
    EXPECT_TRUE(broker.waitForLog("validate: disconnecting client 'spammer': rule 'json-only' failed 3 time(s)")) << broker.log();
    // The broker, not the client, ended the connection: a v5 DISCONNECT reason or a dropped socket, either way
    // not the 0 of our own disconnect() (the broker's reason code and log wording differ between versions).
    EXPECT_NE(pub.client.lastDisconnectReason(), 0);
    EXPECT_FALSE(pub.client.publish("t/1", "{}", 1, false, nullptr, 500ms)) << "the kicked session is gone";
    Connected again(broker, "polite");
    EXPECT_TRUE(again.client.publish("t/1", "{}", 1)) << "the broker keeps serving others";
}

TEST(ValidateIntegration, ShadowRuleLogsButDelivers) {
    BrokerProcess broker("");
    broker.updateConfig(ownRulesConfig(broker, R"({"rules":[{"name":"trial","topics":["t"],"schema":{"type":"integer"},"action":"shadow"}]})"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub"), pub(broker, "pub");
    ASSERT_TRUE(sub.client.subscribe("t", 1));
    int reason = -1;
    ASSERT_TRUE(pub.client.publish("t", "\"text\"", 1, false, &reason));
    EXPECT_EQ(reason, 0);
    EXPECT_TRUE(sub.client.waitForMessage());
    EXPECT_TRUE(broker.waitForLog("validate: shadow rule 'trial' would reject 't'")) << broker.log();
}

TEST(ValidateIntegration, HostilePayloadsNeverHurtTheBroker) {
    BrokerProcess broker("");
    // The 10 MB payload must reach the plugin: mosquitto 2.1 refuses packets over 2 000 000 bytes by default.
    broker.updateConfig("max_packet_size 16000000\n" + ownRulesConfig(broker, R"({"rules":[{"name":"strict","topics":["t"],
        "schema":{"type":"object","properties":{"id":{"type":"string","pattern":"^(a|b)*$"}}},
        "action":"dead_letter","dead_letter_topic":"dl/{rule}"}]})"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub"), pub(broker, "attacker");
    ASSERT_TRUE(sub.client.subscribe("dl/#", 1));
    const std::vector<std::string> hostile = {
        "{\"id\":\"\xc3\x28\"}",                                                    // malformed UTF-8
        "{\"id\":\"ab",                                                             // truncated
        std::string(100'000, '[') + std::string(100'000, ']'),                      // 100 000 levels
        "{\"id\":\"" + std::string(10'000'000, 'a') + "\"}",                        // 10 MB
        "{\"id\":\"" + std::string(200'000, 'a') + "c\"}",                          // long string vs pattern
        "{\"n\":1e999}",                                                            // beyond double
    };
    for (const auto& payload : hostile) {
        int reason = -1;
        ASSERT_TRUE(pub.client.publish("t", payload, 1, false, &reason, 20s)) << broker.log();
        EXPECT_EQ(reason, 0x87);
        auto letter = sub.client.waitForMessageOn("dl/strict", 20s);
        ASSERT_TRUE(letter) << broker.log();
        EXPECT_FALSE(nlohmann::json::parse(letter->payload)["errors"].empty());
    }
    int reason = -1;
    ASSERT_TRUE(pub.client.publish("t", "{\"id\":\"" + std::string(200'000, 'a') + "\"}", 1, false, &reason, 20s));
    EXPECT_LT(reason, 0x80) << "a long string that matches the pattern passes (0x10: no subscriber)";
}

TEST(ValidateIntegration, PublishesRetainedMetrics) {
    BrokerProcess broker(warehouseConfig("plugin_opt_metrics_interval 200ms\nplugin_opt_instance warehouse\n"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected pub(broker, "sensor");
    ASSERT_TRUE(pub.client.publish("entrepot/nord/s1/v1", kValidReading, 1));
    ASSERT_TRUE(pub.client.publish("entrepot/nord/s1/v1", kInvalidReading, 1));
    Connected sub(broker, "metrics-reader");
    ASSERT_TRUE(sub.client.subscribe("$SYS/plugins/validate/warehouse/#", 0));
    std::map<std::string, std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline && (seen["rules/warehouse-telemetry/passed"] != "1" ||
                                                            seen["rules/warehouse-telemetry/dead_lettered"] != "1")) {
        if (auto m = sub.client.waitForMessage(500ms)) {
            seen[m->topic.substr(std::string("$SYS/plugins/validate/warehouse/").size())] = m->payload;
        }
    }
    EXPECT_EQ(seen["rules/warehouse-telemetry/passed"], "1");
    EXPECT_EQ(seen["rules/warehouse-telemetry/dead_lettered"], "1");
    EXPECT_EQ(seen["messages/checked"], "2");
}

TEST(ValidateIntegration, WorksWithoutTicksUnderPerListenerSettings) {
    // Mosquitto 2.0.11 sends no MOSQ_EVT_TICK with per_listener_settings true: metrics must still flow.
    BrokerProcess broker("");
    std::string body = "per_listener_settings true\n" +
                       ownRulesConfig(broker, R"({"rules":[{"name":"json","topics":["t"],"json":true}]})",
                                      "plugin_opt_metrics_interval 200ms\n");
    broker.updateConfig(body);
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub"), pub(broker, "pub");
    ASSERT_TRUE(sub.client.subscribe("$SYS/plugins/validate/validate/rules/json/passed", 0));
    std::optional<ReceivedMessage> metric;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!metric && std::chrono::steady_clock::now() < deadline) {
        ASSERT_TRUE(pub.client.publish("t", "{}", 1));
        metric = sub.client.waitForMessage(300ms);
    }
    ASSERT_TRUE(metric) << broker.log();
    EXPECT_NE(metric->payload, "0");
}
