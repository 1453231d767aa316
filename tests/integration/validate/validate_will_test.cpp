// Wills in mosquitto_validate.so with the real broker: a client that sets a Will and drops its socket (no
// DISCONNECT) has its Will held to the rules like a publish; ordinary publishes are still checked once.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"

using namespace mqs::testing;
using namespace std::chrono_literals;

namespace {

const std::string kValidReading = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";
const std::string kInvalidReading = R"({"timestamp":1732200000,"temp":"hot","hum":144.0,"alert_level":0,"version":1})";

// Warehouse rules: entrepot/{zone}/{sensor}/v1 must match a schema (dead-lettered to
// entrepot/deadletter/{zone}/{sensor}); entrepot/heartbeat/{zone} must be UTF-8 (dropped).
std::string warehouseConfig(const std::string& extra) {
    return std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_VALIDATE + "\n" + "plugin_opt_rules_file " + CONF_DIR +
           "/validate/warehouse-rules.json\n" + extra;
}

// On Mosquitto 2.0 the operator must say what else decides access; this broker has no other ACL.
const std::string kSoleAcl = "plugin_opt_will_check sole_acl\n";

struct Connected {
    MqttTestClient client;
    Connected(BrokerProcess& b, const std::string& id, MqttTestClient::Protocol p = MqttTestClient::Protocol::V5)
        : client(id, p) {
        EXPECT_TRUE(client.connect(b.port())) << client.lastError();
    }
};

// Connects `id` with a Will, then drops the socket without DISCONNECT so that the broker sends the Will.
void dieWithWill(BrokerProcess& broker, const std::string& id, const std::string& topic, const std::string& payload,
                 MqttTestClient::Protocol protocol = MqttTestClient::Protocol::V5) {
    MqttTestClient client(id, protocol);
    client.setWill(topic, payload, 1, false);
    ASSERT_TRUE(client.connect(broker.port())) << client.lastError();
    client.abortConnection();
}

// The latest value of each metric under $SYS/plugins/validate/<instance>/, read until `done` holds or 5 s pass.
std::map<std::string, std::string> readMetrics(MqttTestClient& reader, const std::string& instance,
                                               const std::function<bool(std::map<std::string, std::string>&)>& done) {
    const std::string prefix = "$SYS/plugins/validate/" + instance + "/";
    std::map<std::string, std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline && !done(seen)) {
        if (auto m = reader.waitForMessageOn(prefix + "#", 300ms)) seen[m->topic.substr(prefix.size())] = m->payload;
    }
    return seen;
}

}  // namespace

class ValidateWills : public ::testing::TestWithParam<MqttTestClient::Protocol> {};

TEST_P(ValidateWills, InvalidWillIsNotDeliveredAndIsDeadLettered) {
    BrokerProcess broker(warehouseConfig(kSoleAcl));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));

    dieWithWill(broker, "sensor-nord-1", "entrepot/nord/s1/v1", kInvalidReading, GetParam());

    auto letter = sub.client.waitForMessageOn("entrepot/deadletter/nord/s1");
    ASSERT_TRUE(letter) << broker.log();
    auto envelope = nlohmann::json::parse(letter->payload);
    EXPECT_EQ(envelope["will"], true) << envelope.dump(2);
    EXPECT_EQ(envelope["topic"], "entrepot/nord/s1/v1");
    EXPECT_EQ(envelope["client_id"], "sensor-nord-1");
    EXPECT_EQ(envelope["rule"], "warehouse-telemetry");
    EXPECT_EQ(envelope["payload"], kInvalidReading);
    EXPECT_FALSE(sub.client.waitForMessageOn("entrepot/nord/s1/v1", 500ms)) << "the invalid Will must not be delivered";
    EXPECT_TRUE(broker.waitForLog("rejected the Will on 'entrepot/nord/s1/v1' of client 'sensor-nord-1'"))
        << broker.log();
}

TEST_P(ValidateWills, ValidWillIsDelivered) {
    BrokerProcess broker(warehouseConfig(kSoleAcl));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));

    dieWithWill(broker, "sensor-nord-1", "entrepot/nord/s1/v1", kValidReading, GetParam());

    auto will = sub.client.waitForMessageOn("entrepot/nord/s1/v1");
    ASSERT_TRUE(will) << broker.log();
    EXPECT_EQ(will->payload, kValidReading);
    EXPECT_FALSE(sub.client.waitForMessageOn("entrepot/deadletter/#", 300ms));
}

INSTANTIATE_TEST_SUITE_P(Protocols, ValidateWills,
                         ::testing::Values(MqttTestClient::Protocol::V311, MqttTestClient::Protocol::V5));

TEST(ValidateWill, NonUtf8WillOnADropRuleIsDropped) {
    BrokerProcess broker(warehouseConfig(kSoleAcl));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));

    dieWithWill(broker, "gateway-nord", "entrepot/heartbeat/nord", std::string("\xff\xfe", 2));
    EXPECT_TRUE(broker.waitForLog("rejected the Will on 'entrepot/heartbeat/nord'")) << broker.log();
    EXPECT_FALSE(sub.client.waitForMessage(500ms)) << "dropped: neither the Will nor a dead letter";

    dieWithWill(broker, "gateway-sud", "entrepot/heartbeat/sud", "offline");
    auto will = sub.client.waitForMessageOn("entrepot/heartbeat/sud");
    ASSERT_TRUE(will) << broker.log();
    EXPECT_EQ(will->payload, "offline");
}

TEST(ValidateWill, MqttFiveWillsAreCheckedAtDisconnect) {
    // MQTT 5 clients without a Will Delay: their Wills are sent (and checked) within the disconnect.
    BrokerProcess broker(warehouseConfig(kSoleAcl));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    for (const auto& [id, payload] : {std::pair{"sensor-nord-1", kInvalidReading}, {"sensor-nord-2", kValidReading}}) {
        MqttTestClient client(id);
        client.setWill(std::string("entrepot/nord/") + (payload == kValidReading ? "s2" : "s1") + "/v1", payload, 1,
                       false);
        ASSERT_TRUE(client.connect(broker.port())) << client.lastError();
        client.abortConnection();
    }
    auto letter = sub.client.waitForMessageOn("entrepot/deadletter/nord/s1", 5s);
    ASSERT_TRUE(letter) << broker.log();
    EXPECT_EQ(nlohmann::json::parse(letter->payload)["will"], true);
    auto will = sub.client.waitForMessageOn("entrepot/nord/s2/v1", 5s);
    ASSERT_TRUE(will) << broker.log();
    EXPECT_EQ(will->payload, kValidReading);
    EXPECT_FALSE(sub.client.waitForMessageOn("entrepot/nord/s1/v1", 300ms)) << "the invalid Will is not sent";
}

TEST(ValidateWill, WillsOfClientsWithASessionExpiryAreChecked) {
    // Mosquitto 2.1 tells a plugin about such a client's going with MOSQ_EVT_CLIENT_OFFLINE instead of
    // MOSQ_EVT_DISCONNECT; the adapter registers both, so the Will is judged on every release.
    BrokerProcess broker(warehouseConfig(kSoleAcl));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    {
        MqttTestClient client("sensor-est-1");
        client.setWill("entrepot/est/s1/v1", kInvalidReading, 1, false);
        client.setSessionExpiryInterval(3600);
        ASSERT_TRUE(client.connect(broker.port())) << client.lastError();
        client.abortConnection();
    }
    auto letter = sub.client.waitForMessageOn("entrepot/deadletter/est/s1", 5s);
    ASSERT_TRUE(letter) << broker.log();
    EXPECT_EQ(nlohmann::json::parse(letter->payload)["will"], true);
    EXPECT_FALSE(sub.client.waitForMessageOn("entrepot/est/s1/v1", 300ms)) << "the invalid Will is not sent";
}

TEST(ValidateWill, ADelayedWillIsNotCheckedAndDoesNotConfuseTheReconnectingClient) {
    // The documented limit (docs/validate.md, Wills): a Will sent after a Will Delay is not checked. What
    // must hold: the client that reconnects afterwards under the same id is judged as an ordinary publisher.
    BrokerProcess broker(warehouseConfig(kSoleAcl));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    {
        MqttTestClient client("sensor-nord-1");
        client.setWill("entrepot/nord/s1/v1", kValidReading, 1, false, 1);
        client.setSessionExpiryInterval(60);
        ASSERT_TRUE(client.connect(broker.port())) << client.lastError();
        client.abortConnection();
    }
    auto will = sub.client.waitForMessageOn("entrepot/nord/s1/v1", 5s);
    ASSERT_TRUE(will) << broker.log();
    EXPECT_EQ(will->payload, kValidReading);
    Connected again(broker, "sensor-nord-1");
    int reason = -1;
    ASSERT_TRUE(again.client.publish("entrepot/nord/s1/v1", kInvalidReading, 1, false, &reason));
    EXPECT_EQ(reason, 0x87);
    auto letter = sub.client.waitForMessageOn("entrepot/deadletter/nord/s1");
    ASSERT_TRUE(letter) << broker.log();
    EXPECT_EQ(nlohmann::json::parse(letter->payload)["will"], false);
}

TEST(ValidateWill, WillOnAnUncheckedTopicPasses) {
    BrokerProcess broker(warehouseConfig(kSoleAcl));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("ipwatch/#", 1));
    dieWithWill(broker, "agent-1", "ipwatch/agent-1/status", "offline");
    auto will = sub.client.waitForMessageOn("ipwatch/agent-1/status");
    ASSERT_TRUE(will) << broker.log();
    EXPECT_EQ(will->payload, "offline");
}

TEST(ValidateWill, GracefulDisconnectSendsNoWillAndDoesNotConfuseTheNextPublisher) {
    BrokerProcess broker(warehouseConfig(kSoleAcl + "plugin_opt_metrics_interval 200ms\n"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    {
        MqttTestClient polite("sensor-nord-1");
        polite.setWill("entrepot/nord/s1/v1", kInvalidReading, 1, false);
        ASSERT_TRUE(polite.connect(broker.port()));
        polite.disconnect();
    }
    // The same client id connects again (its new context may reuse the old address) and publishes.
    Connected again(broker, "sensor-nord-1");
    int reason = -1;
    ASSERT_TRUE(again.client.publish("entrepot/nord/s1/v1", kInvalidReading, 1, false, &reason));
    EXPECT_EQ(reason, 0x87);
    auto letter = sub.client.waitForMessageOn("entrepot/deadletter/nord/s1");
    ASSERT_TRUE(letter) << broker.log();
    EXPECT_EQ(nlohmann::json::parse(letter->payload)["will"], false);
    EXPECT_FALSE(sub.client.waitForMessage(300ms)) << "one dead letter, nothing else";
}

TEST(ValidateWill, OrdinaryPublishesAreCheckedOnceAndWillsCounted) {
    BrokerProcess broker(warehouseConfig(kSoleAcl + "plugin_opt_metrics_interval 200ms\nplugin_opt_instance w\n"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    ASSERT_TRUE(sub.client.subscribe("$SYS/plugins/validate/w/#", 0));
    {
        Connected pub(broker, "sensor-nord-1");
        int reason = -1;
        ASSERT_TRUE(pub.client.publish("entrepot/nord/s1/v1", kInvalidReading, 1, false, &reason));
        EXPECT_EQ(reason, 0x87) << "an invalid publish is refused as before";
        ASSERT_TRUE(pub.client.publish("entrepot/nord/s1/v1", kValidReading, 1));
        ASSERT_TRUE(sub.client.waitForMessageOn("entrepot/nord/s1/v1"));
        ASSERT_TRUE(sub.client.waitForMessageOn("entrepot/deadletter/nord/s1"));
    }
    auto seen = readMetrics(sub.client, "w", [](auto& m) {
        return m["messages/checked"] == "2" && m["messages/rejected"] == "1" &&
               m["rules/warehouse-telemetry/matched"] == "2" && m["rules/warehouse-telemetry/dead_lettered"] == "1" &&
               m["wills/checked"] == "0";
    });
    EXPECT_EQ(seen["messages/checked"], "2") << "each publish checked once, not again in the write check";
    EXPECT_EQ(seen["messages/rejected"], "1");
    EXPECT_EQ(seen["rules/warehouse-telemetry/matched"], "2");
    EXPECT_EQ(seen["wills/checked"], "0");

    dieWithWill(broker, "sensor-nord-2", "entrepot/nord/s2/v1", kInvalidReading);
    ASSERT_TRUE(sub.client.waitForMessageOn("entrepot/deadletter/nord/s2")) << broker.log();
    seen = readMetrics(sub.client, "w", [](auto& m) {
        return m["wills/checked"] == "1" && m["wills/rejected"] == "1" && m["messages/checked"] == "3" &&
               m["rules/warehouse-telemetry/dead_lettered"] == "2";
    });
    EXPECT_EQ(seen["wills/checked"], "1");
    EXPECT_EQ(seen["wills/rejected"], "1");
    EXPECT_EQ(seen["messages/checked"], "3");
    EXPECT_EQ(seen["rules/warehouse-telemetry/dead_lettered"], "2");
}

TEST(ValidateWill, WithAnAclFileTheAclStillDecides) {
    // acl_after: validate answers "defer" (2.0) or "ignore" (2.1) when it has no objection, so the acl_file decides.
    BrokerProcess broker("");
    broker.writeFile("acl", "topic readwrite entrepot/#\ntopic read $SYS/#\n");
    broker.updateConfig("acl_file " + (broker.dir() / "acl").string() + "\n" +
                        warehouseConfig("plugin_opt_will_check acl_after\n"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    ASSERT_TRUE(sub.client.subscribe("forbidden/#", 1));  // granted; deliveries are read-checked

    Connected pub(broker, "sensor-nord-1");
    ASSERT_TRUE(pub.client.publish("entrepot/nord/s1/v1", kValidReading, 1));
    ASSERT_TRUE(sub.client.waitForMessageOn("entrepot/nord/s1/v1")) << broker.log();
    ASSERT_TRUE(pub.client.publish("forbidden/x", "y", 1));
    EXPECT_FALSE(sub.client.waitForMessageOn("forbidden/#", 300ms)) << "the acl_file still refuses what it refuses";

    dieWithWill(broker, "sensor-nord-2", "entrepot/nord/s2/v1", kInvalidReading);
    ASSERT_TRUE(sub.client.waitForMessageOn("entrepot/deadletter/nord/s2")) << broker.log();
    EXPECT_FALSE(sub.client.waitForMessageOn("entrepot/nord/s2/v1", 300ms));
    dieWithWill(broker, "sensor-nord-3", "entrepot/nord/s3/v1", kValidReading);
    EXPECT_TRUE(sub.client.waitForMessageOn("entrepot/nord/s3/v1")) << broker.log();
    dieWithWill(broker, "sensor-nord-4", "forbidden/will", "offline");
    EXPECT_FALSE(sub.client.waitForMessageOn("forbidden/#", 300ms)) << "a Will validate passes is still ACL-checked";
}

TEST(ValidateWill, OffLetsWillsThroughUnchecked) {
    BrokerProcess broker(warehouseConfig("plugin_opt_will_check off\n"));
    ASSERT_TRUE(broker.start()) << broker.log();
    Connected sub(broker, "sub");
    ASSERT_TRUE(sub.client.subscribe("entrepot/#", 1));
    dieWithWill(broker, "sensor-nord-1", "entrepot/nord/s1/v1", kInvalidReading);
    auto will = sub.client.waitForMessageOn("entrepot/nord/s1/v1");
    ASSERT_TRUE(will) << broker.log();
    EXPECT_EQ(will->payload, kInvalidReading);
    EXPECT_FALSE(broker.log().find("Wills are not checked") != std::string::npos) << "off is a choice: no warning";
}
