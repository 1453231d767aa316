// Wills through validate and alerts in one real broker: validate holds a Will to its rules; alerts does not
// evaluate Wills (docs/alerts.md, Wills), while the same reading published normally raises an alert.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"

using namespace mqs::testing;
using namespace std::chrono_literals;

namespace {

// Valid for validate's warehouse schema, and critical for the warehouse-alert-level rule.
const std::string kCriticalReading = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":2,"version":1})";

std::string chainConfig() {
    return std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_VALIDATE + "\nplugin_opt_rules_file " + CONF_DIR +
           "/validate/warehouse-rules.json\nplugin_opt_will_check sole_acl\n" + "plugin " +
           PLUGIN_PATH_MOSQUITTO_ALERTS + "\nplugin_opt_rules_file " + CONF_DIR + "/alerts/warehouse-alerts.json\n";
}

}  // namespace

TEST(WillChain, AlertsDoNotEvaluateWillsButDoEvaluateTheSamePublish) {
    BrokerProcess broker(chainConfig());
    ASSERT_TRUE(broker.start()) << broker.log();
    MqttTestClient sub("sub");
    ASSERT_TRUE(sub.connect(broker.port()));
    ASSERT_TRUE(sub.subscribe("entrepot/#", 1));

    {
        MqttTestClient dying("sensor-nord-1");
        dying.setWill("entrepot/nord/s1/v1", kCriticalReading, 1, false);
        ASSERT_TRUE(dying.connect(broker.port()));
        dying.abortConnection();
    }
    auto will = sub.waitForMessageOn("entrepot/nord/s1/v1");
    ASSERT_TRUE(will) << "validate passes the valid Will\n" << broker.log();
    EXPECT_EQ(will->payload, kCriticalReading);
    EXPECT_FALSE(sub.waitForMessageOn("entrepot/alerts/#", 500ms)) << "no alert from a Will";

    MqttTestClient pub("sensor-nord-2");
    ASSERT_TRUE(pub.connect(broker.port()));
    ASSERT_TRUE(pub.publish("entrepot/nord/s2/v1", kCriticalReading, 1));
    auto alert = sub.waitForMessageOn("entrepot/alerts/nord/s2");
    ASSERT_TRUE(alert) << broker.log();
    EXPECT_EQ(nlohmann::json::parse(alert->payload)["state"], "raised");
}
