// Two of our plugins in one real broker: a SIGHUP reaches the reload callback of both, whichever is
// first and even when the first refuses its new rules, and the broker keeps running and serving.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"

using namespace mqs::testing;
using namespace std::chrono_literals;

namespace {

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

enum class First { Validate, Alerts };

const std::string kSmallMessagesOnly = R"({"rules":[{"name":"small","topics":["t"],"max_size":5}]})";
const std::string kLargerMessagesToo = R"({"rules":[{"name":"larger","topics":["t"],"max_size":10}]})";

// validate and alerts, each with a rules file of its own in the broker's dir so a test can rewrite it.
std::string twoPluginConfig(BrokerProcess& broker, First first) {
    broker.writeFile("validate-rules.json", kSmallMessagesOnly);
    broker.writeFile("alerts-rules.json", readFile(CONF_DIR "/alerts/dht11-alerts.json"));
    const std::string validate = std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_VALIDATE + "\nplugin_opt_rules_file " +
                                 (broker.dir() / "validate-rules.json").string() + "\n";
    const std::string alerts = std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_ALERTS + "\nplugin_opt_rules_file " +
                               (broker.dir() / "alerts-rules.json").string() + "\n";
    return first == First::Validate ? validate + alerts : alerts + validate;
}

// The broker still accepts a client and a QoS 1 publish after the reload.
void expectServing(BrokerProcess& broker) {
    ASSERT_TRUE(broker.isRunning());
    EXPECT_FALSE(broker.waitExit(200ms).has_value()) << broker.log();
    MqttTestClient client("after-reload");
    ASSERT_TRUE(client.connect(broker.port())) << client.lastError();
    EXPECT_TRUE(client.publish("some/other/topic", "x", 1)) << client.lastError();
}

class TwoPluginReload : public ::testing::TestWithParam<First> {};

TEST_P(TwoPluginReload, SighupReachesBothPlugins) {
    BrokerProcess broker("");
    broker.updateConfig(twoPluginConfig(broker, GetParam()));
    ASSERT_TRUE(broker.start()) << broker.log();
    ASSERT_EQ(broker.countInLog("validate: loaded "), 1u) << broker.log();
    MqttTestClient sub("sub"), pub("pub");
    ASSERT_TRUE(sub.connect(broker.port()) && pub.connect(broker.port()));
    ASSERT_TRUE(sub.subscribe("t", 1));
    ASSERT_TRUE(pub.publish("t", "123456", 1));
    EXPECT_FALSE(sub.waitForMessage(300ms));  // validate drops it: too large

    broker.writeFile("validate-rules.json", kLargerMessagesToo);
    broker.reload();
    // validate logs "loaded" again on reload, alerts "reloaded": each line comes from that plugin's callback.
    EXPECT_TRUE(broker.waitForLogCount("validate: loaded ", 2)) << broker.log();
    EXPECT_TRUE(broker.waitForLog("alerts: reloaded ")) << broker.log();
    ASSERT_TRUE(pub.publish("t", "123456", 1));
    EXPECT_TRUE(sub.waitForMessage(2s)) << "validate's new rules are not in force";
    expectServing(broker);

    broker.reload();  // and again: nothing was left in a state that stops the next reload
    EXPECT_TRUE(broker.waitForLogCount("validate: loaded ", 3)) << broker.log();
    EXPECT_TRUE(broker.waitForLogCount("alerts: reloaded ", 2)) << broker.log();
    expectServing(broker);
}

TEST_P(TwoPluginReload, RefusedReloadOfOnePluginStillReachesTheOther) {
    BrokerProcess broker("");
    broker.updateConfig(twoPluginConfig(broker, GetParam()));
    ASSERT_TRUE(broker.start()) << broker.log();

    broker.writeFile("validate-rules.json", "{ not json");
    broker.reload();
    EXPECT_TRUE(broker.waitForLog("validate: reload refused, keeping the previous rules")) << broker.log();
    EXPECT_TRUE(broker.waitForLog("alerts: reloaded ")) << broker.log();
    expectServing(broker);
}

INSTANTIATE_TEST_SUITE_P(EitherOrder, TwoPluginReload, ::testing::Values(First::Validate, First::Alerts),
                         [](const auto& param_info) {
                             return param_info.param == First::Validate ? "ValidateFirst" : "AlertsFirst";
                         });

}  // namespace
