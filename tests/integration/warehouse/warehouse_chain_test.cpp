// conf/mosquitto-warehouse.conf, the chain the README runs (validate -> alerts -> influx), started as
// shipped but for its paths: the build's plugins, the source tree's rules, a VictoriaMetrics on a free
// port as the InfluxDB 2.x /api/v2/write endpoint, and state files in the broker's own directory.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"
#include "testing/tsdb_servers.hpp"

using namespace mqs::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kInstalledPlugins = "/usr/local/lib/mosquitto/";
const std::string kInstalledConf = "/usr/local/etc/mosquitto/plugin-suite/";
const std::string kStateDir = "/var/lib/mosquitto/";
const std::string kTopic = "entrepot/nord/s1/v1";

json readJson(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);
}

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
}

// The shipped file with its install paths pointed at this build; its own listener line gives way to the
// harness's free port. The influx rules are a copy with the sink's url pointed at `tsdb_url`.
std::string warehouseConfig(const BrokerProcess& broker, const std::string& tsdb_url) {
    json influx_rules = readJson(CONF_DIR "/influx/warehouse-rules.json");
    for (auto& sink : influx_rules["sinks"]) sink["url"] = tsdb_url;
    broker.writeFile("influx-rules.json", influx_rules.dump(2));

    std::ifstream in(CONF_DIR "/mosquitto-warehouse.conf");
    std::string body;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("listener ", 0) == 0) continue;
        replaceAll(line, kInstalledPlugins + "mosquitto_validate.so", PLUGIN_PATH_MOSQUITTO_VALIDATE);
        replaceAll(line, kInstalledPlugins + "mosquitto_alerts.so", PLUGIN_PATH_MOSQUITTO_ALERTS);
        replaceAll(line, kInstalledPlugins + "mosquitto_influx.so", PLUGIN_PATH_MOSQUITTO_INFLUX);
        replaceAll(line, kInstalledConf + "influx/warehouse-rules.json", (broker.dir() / "influx-rules.json").string());
        replaceAll(line, kInstalledConf, CONF_DIR "/");
        replaceAll(line, kStateDir, broker.dir().string() + "/");
        body += line + "\n";
    }
    return body;
}

// A rule's topic template from a rules file, with {zone} and {sensor} filled in for nord/s1.
std::string ruleTopic(const std::string& rules_file, const std::string& rule, const std::string& key) {
    const json rules = readJson(rules_file);
    for (const auto& r : rules["rules"]) {
        if (r["name"] == rule) {
            std::string topic = r.at(key).get<std::string>();
            replaceAll(topic, "{zone}", "nord");
            replaceAll(topic, "{sensor}", "s1");
            return topic;
        }
    }
    return "(no rule " + rule + " in " + rules_file + ")";
}

std::string reading(int64_t timestamp, const std::string& temp, double hum, int alert_level) {
    return "{\"timestamp\":" + std::to_string(timestamp) + ",\"temp\":" + temp + ",\"hum\":" + json(hum).dump() +
           ",\"alert_level\":" + std::to_string(alert_level) + ",\"version\":1}";
}

// Timestamps (ms) of the stored entrepot_temp samples of nord/s1.
std::set<int64_t> storedTimestamps(VictoriaProcess& vm) {
    std::set<int64_t> out;
    for (const auto& series : vm.exportSeries("{__name__=\"entrepot_temp\",zone=\"nord\",sensor=\"s1\"}")) {
        for (const auto& ts : series["timestamps"]) out.insert(ts.get<int64_t>());
    }
    return out;
}

}  // namespace

TEST(WarehouseChain, ShippedConfigValidatesAlertsAndForwards) {
    VictoriaProcess vm;
    ASSERT_TRUE(vm.start()) << vm.log();
    BrokerProcess broker("", "warehouse");
    const std::string config = warehouseConfig(broker, vm.url());
    for (const std::string& installed : {kInstalledPlugins, kInstalledConf, kStateDir}) {
        ASSERT_EQ(config.find(installed), std::string::npos) << "a path the test does not rewrite:\n" << config;
    }
    broker.updateConfig(config);
    ASSERT_TRUE(broker.start()) << broker.log();

    const std::string dead_letter_topic =
        ruleTopic(CONF_DIR "/validate/warehouse-rules.json", "warehouse-telemetry", "dead_letter_topic");
    const std::string alert_topic =
        ruleTopic(CONF_DIR "/alerts/warehouse-alerts.json", "warehouse-alert-level", "alert_topic");

    MqttTestClient sub("dashboard");
    ASSERT_TRUE(sub.connect(broker.port())) << sub.lastError();
    ASSERT_TRUE(sub.subscribe("entrepot/#", 1));
    MqttTestClient sensor("sensor-nord-s1");
    ASSERT_TRUE(sensor.connect(broker.port())) << sensor.lastError();

    // 1. A valid reading reaches the subscriber unchanged.
    const std::string valid = reading(1732200000, "23.1", 44.0, 0);
    int reason = -1;
    ASSERT_TRUE(sensor.publish(kTopic, valid, 1, false, &reason));
    EXPECT_EQ(reason, 0);
    auto delivered = sub.waitForMessageOn(kTopic);
    ASSERT_TRUE(delivered) << broker.log();
    EXPECT_EQ(delivered->payload, valid);

    // 2. An invalid one is dead-lettered, refused to its v5 publisher, and goes no further.
    const std::string invalid = reading(1732200001, "\"hot\"", 144.0, 0);
    ASSERT_TRUE(sensor.publish(kTopic, invalid, 1, false, &reason));
    EXPECT_EQ(reason, 0x87);
    auto letter = sub.waitForMessageOn(dead_letter_topic);
    ASSERT_TRUE(letter) << dead_letter_topic << "\n" << broker.log();
    const json envelope = json::parse(letter->payload);
    EXPECT_EQ(envelope["topic"], kTopic);
    EXPECT_EQ(envelope["payload"], invalid);

    // 3. An alert-level reading is delivered (the next message on the topic: the invalid one never was)
    // and raises a retained critical alert.
    const std::string alarming = reading(1732200002, "24.0", 45.0, 2);
    ASSERT_TRUE(sensor.publish(kTopic, alarming, 1, false, &reason));
    EXPECT_EQ(reason, 0);
    auto next = sub.waitForMessageOn(kTopic);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->payload, alarming) << "the invalid reading must not be delivered";
    auto alert = sub.waitForMessageOn(alert_topic);
    ASSERT_TRUE(alert) << alert_topic << "\n" << broker.log();
    EXPECT_EQ(json::parse(alert->payload)["state"], "raised");

    MqttTestClient late("late-dashboard");
    ASSERT_TRUE(late.connect(broker.port()));
    ASSERT_TRUE(late.subscribe(alert_topic, 1));
    auto retained = late.waitForMessageOn(alert_topic, 2s);
    ASSERT_TRUE(retained) << "the active alert is retained";
    EXPECT_TRUE(retained->retain);
    const json active = json::parse(retained->payload);
    EXPECT_EQ(active["state"], "raised");
    EXPECT_EQ(active["level"], "critical");

    // 4. The two valid readings, and only they, become points (precision ms) in the time-series store.
    const std::set<int64_t> expected = {1732200000000, 1732200002000};
    std::set<int64_t> stored;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while ((stored = storedTimestamps(vm)) != expected && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(stored, expected) << broker.log();
    const auto series = vm.exportSeries("{__name__=\"entrepot_temp\",zone=\"nord\",sensor=\"s1\"}");
    ASSERT_EQ(series.size(), 1u);
    EXPECT_DOUBLE_EQ(series[0]["values"][0].get<double>(), 23.1);

    // 5. Wills are held to the same rules (the shipped will_check): an invalid one is dead-lettered and never
    // delivered, a valid one is delivered.
    MqttTestClient bad_will("sensor-nord-s2");
    const std::string will_topic = "entrepot/nord/s2/v1";
    bad_will.setWill(will_topic, reading(1732200003, "\"hot\"", 44.0, 0), 1, false);
    ASSERT_TRUE(bad_will.connect(broker.port())) << bad_will.lastError();
    bad_will.abortConnection();
    auto will_letter = sub.waitForMessageOn("entrepot/deadletter/nord/s2");
    ASSERT_TRUE(will_letter) << broker.log();
    EXPECT_EQ(json::parse(will_letter->payload)["topic"], will_topic);
    MqttTestClient good_will("sensor-nord-s3");
    const std::string good_topic = "entrepot/nord/s3/v1";
    const std::string good_payload = reading(1732200004, "21.5", 40.0, 0);
    good_will.setWill(good_topic, good_payload, 1, false);
    ASSERT_TRUE(good_will.connect(broker.port())) << good_will.lastError();
    good_will.abortConnection();
    auto good = sub.waitForMessageOn(good_topic);
    ASSERT_TRUE(good) << broker.log();
    EXPECT_EQ(good->payload, good_payload);
    EXPECT_FALSE(sub.waitForMessageOn(will_topic, 500ms)) << "the invalid Will must not be delivered";
    EXPECT_EQ(broker.stop(), 0);
}
