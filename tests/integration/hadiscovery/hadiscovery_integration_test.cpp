// mosquitto_hadiscovery.so inside the real broker with real clients: an IPWatch agent becomes one retained
// device config that passes the contract; Home Assistant's birth re-publishes; a user deletion survives a
// restart and is undone through $CONTROL; an agent without a will goes offline; the flood cap counts; the
// warehouse and DHT11 examples; switching discovery_mode migrates without duplicates; bad rules refused.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "hadiscovery/ha_contract.hpp"
#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"
#include "testing/raw_mqtt_client.hpp"

using namespace mqs::testing;
using namespace std::chrono_literals;
using mqs::hadiscovery::checkDiscoveryMessage;
using mqs::hadiscovery::DiscoveryForm;
using nlohmann::json;

namespace {

const std::string kDeviceTopic = "homeassistant/device/ipwatch_10_0_0_5/config";
const std::string kStatusTopic = "ipwatch/device/10.0.0.5/status";
const std::string kAvailTopic = "ipwatch/device/10.0.0.5/availability";
const std::string kStatus =
    R"({"hostname":"web-1","cpu_percent":12.5,"memory_percent":48.1,"disk_percent":71.0,"uptime":86400})";

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
        text.replace(pos, from.size(), to);
}

// conf/hadiscovery/mosquitto-hadiscovery.conf as shipped, paths pointed at this build and the broker's dir.
std::string shippedConfig(const BrokerProcess& broker, const std::string& extra = "") {
    std::ifstream in(CONF_DIR "/hadiscovery/mosquitto-hadiscovery.conf");
    std::string body;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("listener ", 0) == 0) continue;
        replaceAll(line, "/usr/local/lib/mosquitto/mosquitto_hadiscovery.so", PLUGIN_PATH_MOSQUITTO_HADISCOVERY);
        replaceAll(line, "/usr/local/etc/mosquitto/plugin-suite/", CONF_DIR "/");
        replaceAll(line, "/var/lib/mosquitto/", broker.dir().string() + "/");
        body += line + "\n";
    }
    return body + extra;
}

std::string pluginLines(const std::string& rules, const std::string& extra = "") {
    return std::string("per_listener_settings false\nplugin ") + PLUGIN_PATH_MOSQUITTO_HADISCOVERY +
           "\nplugin_opt_rules_file " + rules + "\nplugin_opt_republish_jitter 0\n" + extra;
}

struct Client {
    MqttTestClient c;
    explicit Client(const std::string& id) : c(id, MqttTestClient::Protocol::V5) {}
    Client(BrokerProcess& b, const std::string& id) : c(id, MqttTestClient::Protocol::V5) {
        EXPECT_TRUE(c.connect(b.port())) << c.lastError();
    }
};

// Every message on `filter` until none came for `quiet`.
std::vector<ReceivedMessage> collect(MqttTestClient& c, const std::string& filter,
                                     std::chrono::milliseconds quiet = 700ms) {
    std::vector<ReceivedMessage> out;
    while (auto m = c.waitForMessageOn(filter, quiet)) out.push_back(*m);
    return out;
}

void expectContract(const ReceivedMessage& m, DiscoveryForm form) {
    json p = json::parse(m.payload);
    auto problems = checkDiscoveryMessage("homeassistant", m.topic, p, form);
    EXPECT_TRUE(problems.empty()) << m.topic << ": " << json(problems).dump();
}

// An IPWatch agent: Will `offline` retained on its availability topic, `online` then a status reading.
void startAgent(MqttTestClient& agent, BrokerProcess& b, bool will = true) {
    if (will) agent.setWill(kAvailTopic, "offline", 1, true);
    ASSERT_TRUE(agent.connect(b.port())) << agent.lastError();
    ASSERT_TRUE(agent.publish(kAvailTopic, "online", 1, true));
    ASSERT_TRUE(agent.publish(kStatusTopic, kStatus, 1, false));
}

// The IPWatch rules with a state file written every 100 ms; Home Assistant subscribed to its prefix.
void startWithStateFile(BrokerProcess& b, MqttTestClient& ha) {
    b.updateConfig(pluginLines(
        CONF_DIR "/hadiscovery/ipwatch-rules.json",
        "plugin_opt_state_file " + (b.dir() / "hadiscovery.state").string() + "\nplugin_opt_state_interval 100ms\n"));
    ASSERT_TRUE(b.start()) << b.log();
    ASSERT_TRUE(ha.connect(b.port())) << ha.lastError();
    ASSERT_TRUE(ha.subscribe("homeassistant/#", 1));
}

}  // namespace

TEST(HaDiscoveryIntegration, ShippedConfLoadsAndTheAgentsDeviceAppearsOnceRetainedAndValid) {
    BrokerProcess b("");
    b.updateConfig(shippedConfig(b));
    ASSERT_TRUE(b.start()) << b.log();
    EXPECT_TRUE(b.waitForLog("hadiscovery: loaded 1 rule(s)")) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client agent("ipwatch-agent-1");
    startAgent(agent.c, b);
    ASSERT_TRUE(agent.c.publish(kStatusTopic, kStatus, 1, false));  // a second reading changes nothing
    auto got = collect(ha.c, "homeassistant/#");
    ASSERT_EQ(got.size(), 1u) << "one config per device";
    EXPECT_EQ(got[0].topic, kDeviceTopic);
    EXPECT_EQ(got[0].qos, 1);
    expectContract(got[0], DiscoveryForm::Device);
    json p = json::parse(got[0].payload);
    EXPECT_EQ(p["device"]["name"], "web-1");
    EXPECT_EQ(p["components"]["shutdown"]["command_topic"], "ipwatch/device/10.0.0.5/command");
    // Retained: a subscriber that comes later gets it with the retain flag.
    Client late(b, "late");
    ASSERT_TRUE(late.c.subscribe(kDeviceTopic, 1));
    auto retained = late.c.waitForMessageOn(kDeviceTopic, 3s);
    ASSERT_TRUE(retained);
    EXPECT_TRUE(retained->retain);
    EXPECT_EQ(retained->payload, got[0].payload);
    // Pressing Shutdown in Home Assistant publishes the configured payload: the agent receives it.
    ASSERT_TRUE(agent.c.subscribe("ipwatch/device/10.0.0.5/command", 1));
    ASSERT_TRUE(
        ha.c.publish(p["components"]["shutdown"]["command_topic"], p["components"]["shutdown"]["payload_press"], 1));
    auto cmd = agent.c.waitForMessageOn("ipwatch/device/10.0.0.5/command", 3s);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(json::parse(cmd->payload), json::parse(R"({"command":"shutdown"})"));
}

TEST(HaDiscoveryIntegration, BirthMessageRepublishes) {
    BrokerProcess b(pluginLines(CONF_DIR "/hadiscovery/ipwatch-rules.json"));
    ASSERT_TRUE(b.start()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/device/#", 1));
    Client agent("agent");
    startAgent(agent.c, b);
    ASSERT_EQ(collect(ha.c, "homeassistant/device/#").size(), 1u);
    ASSERT_TRUE(ha.c.publish("homeassistant/status", "online", 1, false));
    auto again = collect(ha.c, "homeassistant/device/#", 1500ms);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].topic, kDeviceTopic);
    expectContract(again[0], DiscoveryForm::Device);
}

// Broker start: the devices of the state file get their configs again without speaking first, so Home
// Assistant finds them retained although this broker keeps no retained messages across a restart.
TEST(HaDiscoveryIntegration, ConfigsAreRepublishedAtBrokerStartBeforeTheDevicesSpeak) {
    BrokerProcess b("");
    std::string before;
    {
        Client ha("home-assistant");
        startWithStateFile(b, ha.c);
        Client agent("agent");
        startAgent(agent.c, b);
        auto got = collect(ha.c, "homeassistant/#");
        ASSERT_EQ(got.size(), 1u);
        before = got[0].payload;
        agent.c.disconnect();
    }
    ASSERT_EQ(b.stop(), 0);
    ASSERT_TRUE(b.restart()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    auto got = collect(ha.c, "homeassistant/#", 2s);
    ASSERT_EQ(got.size(), 1u) << "no agent has spoken since the restart: " << b.log();
    EXPECT_EQ(got[0].topic, kDeviceTopic);
    EXPECT_EQ(got[0].payload, before) << "the name web-1 came from the payload before the restart";
    expectContract(got[0], DiscoveryForm::Device);
}

TEST(HaDiscoveryIntegration, UserDeletionStaysDeletedAcrossARestartUntilUndone) {
    BrokerProcess b("");
    {
        Client ha("home-assistant");
        startWithStateFile(b, ha.c);
        Client agent("agent");
        startAgent(agent.c, b);
        ASSERT_EQ(collect(ha.c, "homeassistant/#").size(), 1u);
        // The user deletes the device in Home Assistant: it publishes an empty retained config.
        ASSERT_TRUE(ha.c.publish(kDeviceTopic, "", 1, true));
        EXPECT_TRUE(b.waitForLog("stays deleted")) << b.log();
        agent.c.disconnect();
    }
    ASSERT_EQ(b.stop(), 0);
    ASSERT_TRUE(b.restart()) << b.log();
    EXPECT_TRUE(b.waitForLog("1 user deletion(s)")) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client agent("agent");
    startAgent(agent.c, b);
    EXPECT_TRUE(collect(ha.c, "homeassistant/#", 1500ms).empty()) << "deleted stays deleted";
    // The operator undoes it.
    Client op(b, "operator");
    ASSERT_TRUE(op.c.subscribe("$CONTROL/hadiscovery/v1/response", 1));
    ASSERT_TRUE(op.c.publish("$CONTROL/hadiscovery/v1",
                             R"({"commands":[{"command":"undelete","device":"ipwatch_10_0_0_5"}]})", 1));
    auto reply = op.c.waitForMessageOn("$CONTROL/hadiscovery/v1/response", 3s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(json::parse(reply->payload)["responses"][0]["data"]["undeleted"][0], kDeviceTopic) << reply->payload;
    auto back = collect(ha.c, "homeassistant/#");
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].topic, kDeviceTopic);
}

class HaDiscoveryOffline : public ::testing::TestWithParam<bool> {};

// With a session expiry interval (the parameter) Mosquitto 2.1 reports the client's leaving as
// MOSQ_EVT_CLIENT_OFFLINE, not DISCONNECT; the adapter skeleton registers both.
TEST_P(HaDiscoveryOffline, AgentWithoutWillGoesOfflineWhenItDisconnects) {
    BrokerProcess b(pluginLines(CONF_DIR "/hadiscovery/ipwatch-rules.json"));
    ASSERT_TRUE(b.start()) << b.log();
    Client watcher(b, "watcher");
    ASSERT_TRUE(watcher.c.subscribe(kAvailTopic, 1));
    Client agent("agent-no-will");
    if (GetParam()) agent.c.setSessionExpiryInterval(3600);
    startAgent(agent.c, b, false);
    auto online = watcher.c.waitForMessageOn(kAvailTopic, 3s);
    ASSERT_TRUE(online);
    EXPECT_EQ(online->payload, "online");
    collect(watcher.c, kAvailTopic, 300ms);
    agent.c.disconnect();  // polite: no Will (it has none anyway)
    auto offline = watcher.c.waitForMessageOn(kAvailTopic, 3s);
    ASSERT_TRUE(offline);
    EXPECT_EQ(offline->payload, "offline");
    Client late(b, "late");
    ASSERT_TRUE(late.c.subscribe(kAvailTopic, 1));
    auto retained = late.c.waitForMessageOn(kAvailTopic, 3s);
    ASSERT_TRUE(retained);
    EXPECT_TRUE(retained->retain);
    EXPECT_EQ(retained->payload, "offline") << "entities show unavailable, not stale values";
}
INSTANTIATE_TEST_SUITE_P(SessionExpiry, HaDiscoveryOffline, ::testing::Bool(),
                         [](const auto& param_info) { return param_info.param ? "WithSessionExpiry" : "CleanSession"; });

// 10 000 agents, each its own MQTT connection (a bare blocking client: no thread per agent), each
// announcing its own device: 50 are discovered, the rest counted.
TEST(HaDiscoveryIntegration, FloodOfNewDevicesIsCappedAndCounted) {
    BrokerProcess b(pluginLines(CONF_DIR "/hadiscovery/ipwatch-rules.json",
                                "plugin_opt_max_new_devices 50\nplugin_opt_new_device_window 1h\n"
                                "plugin_opt_metrics_interval 200ms\nmax_connections -1\n"));
    ASSERT_TRUE(b.start()) << b.log();
    // libmosquitto waits with select(): its clients must exist before 10 000 sockets push fds past 1024.
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 0));
    Client metrics(b, "metrics-reader");
    ASSERT_TRUE(metrics.c.subscribe("$SYS/plugins/hadiscovery/hadiscovery/#", 0));
    const auto started = std::chrono::steady_clock::now();
    constexpr int kAgents = 10'000;
    std::vector<std::unique_ptr<RawMqttClient>> agents;
    agents.reserve(kAgents);
    for (int i = 0; i < kAgents; ++i) {
        auto agent = std::make_unique<RawMqttClient>(b.port());
        ASSERT_TRUE(agent->connect("agent-" + std::to_string(i))) << i;
        ASSERT_TRUE(agent->publishQos1(
            "ipwatch/device/10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "/status", kStatus, 1,
            false))
            << i;
        agents.push_back(std::move(agent));
    }
    std::printf("[flood] %d agents connected and published in %.1f s\n", kAgents,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    std::map<std::string, std::string> seen;
    const std::string refused = std::to_string(kAgents - 50);
    for (int i = 0; i < 100 && seen["devices_refused"] != refused; ++i) {
        if (auto m = metrics.c.waitForMessage(200ms)) seen[m->topic.substr(m->topic.rfind('/') + 1)] = m->payload;
    }
    EXPECT_EQ(seen["devices_refused"], refused);
    EXPECT_EQ(seen["devices"], "50");
    EXPECT_EQ(collect(ha.c, "homeassistant/#", 500ms).size(), 50u);
    EXPECT_TRUE(b.isRunning());
}

TEST(HaDiscoveryIntegration, WarehouseExample) {
    BrokerProcess b(pluginLines(CONF_DIR "/hadiscovery/warehouse-rules.json"));
    ASSERT_TRUE(b.start()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client sensor(b, "sensor-nord-s1");
    ASSERT_TRUE(sensor.c.publish("entrepot/heartbeat/nord", R"({"timestamp":1763769600000})", 1));
    const std::string reading = R"({"timestamp":1763769600000,"temp":21.4,"hum":55.0,"alert_level":0,"version":1})";
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(sensor.c.publish("entrepot/nord/s1/v1", reading, 1));
        std::this_thread::sleep_for(300ms);  // the period the plugin learns expire_after from
    }
    std::map<std::string, json> last;
    for (const auto& m : collect(ha.c, "homeassistant/#")) {
        expectContract(m, DiscoveryForm::Device);
        last[m.topic] = json::parse(m.payload);
    }
    ASSERT_EQ(last.size(), 2u);
    const json& s = last["homeassistant/device/entrepot_sensor_nord_s1/config"];
    EXPECT_EQ(s["device"]["suggested_area"], "nord");
    EXPECT_EQ(s["components"].size(), 3u);
    EXPECT_EQ(s["components"]["temperature"]["unit_of_measurement"], "°C");
    EXPECT_EQ(s["components"]["temperature"]["expire_after"], 1) << "3 x 0.3 s, rounded up";
    const json& z = last["homeassistant/device/entrepot_zone_nord/config"];
    EXPECT_EQ(z["components"]["heartbeat"]["device_class"], "timestamp");
}

TEST(HaDiscoveryIntegration, Dht11Example) {
    BrokerProcess b(pluginLines(CONF_DIR "/hadiscovery/dht11-rules.json"));
    ASSERT_TRUE(b.start()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client board(b, "dht11-board");
    ASSERT_TRUE(board.c.publish("dht11/sensor/data", R"({"temperature":21.0,"humidity":40.0})", 1));
    auto got = collect(ha.c, "homeassistant/#");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].topic, "homeassistant/device/dht11_sensor/config");
    expectContract(got[0], DiscoveryForm::Device);
    json p = json::parse(got[0].payload);
    EXPECT_EQ(p["components"]["temperature"]["device_class"], "temperature");
    EXPECT_EQ(p["components"]["humidity"]["unit_of_measurement"], "%");
}

TEST(HaDiscoveryIntegration, SwitchingDiscoveryModeMigratesWithoutDuplicates) {
    BrokerProcess b("");
    const std::string state = "plugin_opt_state_file " + (b.dir() / "hadiscovery.state").string() + "\n";
    b.updateConfig(pluginLines(CONF_DIR "/hadiscovery/ipwatch-rules.json", state));
    ASSERT_TRUE(b.start()) << b.log();
    {
        Client ha(b, "home-assistant");
        ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
        Client agent("agent");
        startAgent(agent.c, b);
        ASSERT_EQ(collect(ha.c, "homeassistant/#").size(), 1u);
        agent.c.disconnect();
    }
    ASSERT_EQ(b.stop(), 0);
    b.updateConfig(
        pluginLines(CONF_DIR "/hadiscovery/ipwatch-rules.json", state + "plugin_opt_discovery_mode entity\n"));
    ASSERT_TRUE(b.start()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client agent("agent");
    startAgent(agent.c, b);
    auto got = collect(ha.c, "homeassistant/#");
    std::string topics;
    for (const auto& m : got) topics += "\n  " + m.topic + (m.payload.empty() ? " (empty)" : "");
    ASSERT_EQ(got.size(), 1u + 7 + 1) << "migrate marker, the entity configs, then the old topic cleared; got:" << topics;
    EXPECT_EQ(got.front().topic, kDeviceTopic);
    EXPECT_EQ(json::parse(got.front().payload), json::parse(R"({"migrate_discovery":true})"));
    std::set<std::string> unique_ids;
    for (size_t i = 1; i + 1 < got.size(); ++i) {
        expectContract(got[i], DiscoveryForm::Entity);
        EXPECT_TRUE(unique_ids.insert(json::parse(got[i].payload)["unique_id"]).second) << "no duplicate entity";
    }
    EXPECT_EQ(unique_ids.size(), 7u);
    EXPECT_EQ(got.back().topic, kDeviceTopic);
    EXPECT_EQ(got.back().payload, "");
}

TEST(HaDiscoveryIntegration, BadRulesStopTheBrokerAndAreRefusedAtReload) {
    BrokerProcess b("");
    const std::string bad = R"({"rules":[{"name":"ipwatch","topic":"ipwatch/device/{ip}/status","device":{"name":"x"},
        "entities":[{"id":"t","component":"sensor","field":"t","device_class":"temperature","unit":"%"}]}]})";
    b.writeFile("rules.json", bad);
    b.updateConfig(pluginLines((b.dir() / "rules.json").string()));
    EXPECT_FALSE(b.start(5s));
    EXPECT_NE(b.log().find("rules[0].entities[0].unit"), std::string::npos) << b.log();
    EXPECT_NE(b.log().find("rule 'ipwatch'"), std::string::npos) << b.log();
    // A good file loads; the bad one at SIGHUP is refused and the running rules stay.
    std::ifstream in(CONF_DIR "/hadiscovery/ipwatch-rules.json");
    b.writeFile("rules.json", std::string(std::istreambuf_iterator<char>(in), {}));
    ASSERT_TRUE(b.start()) << b.log();
    b.writeFile("rules.json", bad);
    b.reload();
    EXPECT_TRUE(b.waitForLog("reload refused, keeping the previous rules")) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client agent("agent");
    startAgent(agent.c, b);
    EXPECT_EQ(collect(ha.c, "homeassistant/#").size(), 1u);
}

TEST(HaDiscoveryIntegration, IdleDeviceAndRemovedRuleLoseTheirConfigs) {
    BrokerProcess b("");
    const std::string both = R"({"rules": [
      {"name": "a", "topic": "a/{id}/data", "device": {"id": "a_{id}", "name": "A {id}"},
       "entities": [{"id": "t", "component": "sensor", "name": "Temperature", "field": "t", "unit": "°C", "device_class": "temperature"}]},
      {"name": "b", "topic": "b/{id}/data", "device": {"id": "b_{id}", "name": "B {id}"},
       "entities": [{"id": "h", "component": "sensor", "name": "Humidity", "field": "h", "unit": "%", "device_class": "humidity"}]}]})";
    b.writeFile("rules.json", both);
    b.updateConfig(pluginLines((b.dir() / "rules.json").string(), "plugin_opt_device_idle_timeout 2s\n"));
    ASSERT_TRUE(b.start()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client dev(b, "dev");
    ASSERT_TRUE(dev.c.publish("a/1/data", R"({"t":20})", 1));
    ASSERT_TRUE(dev.c.publish("b/1/data", R"({"h":50})", 1));
    ASSERT_EQ(collect(ha.c, "homeassistant/#", 500ms).size(), 2u);
    // Rule b goes at SIGHUP: its device's config is cleared (a stays).
    const json without_b = json::parse(both);
    json only_a = without_b;
    only_a["rules"].erase(1);
    b.writeFile("rules.json", only_a.dump());
    b.reload();
    auto cleared = ha.c.waitForMessageOn("homeassistant/#", 3s);
    ASSERT_TRUE(cleared);
    EXPECT_EQ(cleared->topic, "homeassistant/device/b_1/config");
    EXPECT_EQ(cleared->payload, "");
    // a/1 keeps publishing for longer than the timeout, so it is not idle; then it stops, and its config
    // goes after 2 s of silence.
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(1s);
        ASSERT_TRUE(dev.c.publish("a/1/data", R"({"t":20})", 1));
    }
    const auto last = std::chrono::steady_clock::now();
    auto idle = ha.c.waitForMessageOn("homeassistant/#", 6s);
    ASSERT_TRUE(idle);
    EXPECT_GE(std::chrono::steady_clock::now() - last, 1900ms) << "removed while still active";
    EXPECT_EQ(idle->topic, "homeassistant/device/a_1/config");
    EXPECT_EQ(idle->payload, "");
}

TEST(HaDiscoveryIntegration, EntityModeAndDryRun) {
    BrokerProcess b(pluginLines(CONF_DIR "/hadiscovery/dht11-rules.json", "plugin_opt_discovery_mode entity\n"));
    ASSERT_TRUE(b.start()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client board(b, "dht11-board");
    ASSERT_TRUE(board.c.publish("dht11/sensor/data", R"({"temperature":21.0,"humidity":40.0})", 1));
    auto got = collect(ha.c, "homeassistant/#");
    ASSERT_EQ(got.size(), 2u);
    for (const auto& m : got) expectContract(m, DiscoveryForm::Entity);
    EXPECT_EQ(got[0].topic, "homeassistant/sensor/dht11_sensor/temperature/config");

    BrokerProcess dry(pluginLines(CONF_DIR "/hadiscovery/dht11-rules.json", "plugin_opt_dry_run true\n"));
    ASSERT_TRUE(dry.start()) << dry.log();
    Client ha2(dry, "home-assistant");
    ASSERT_TRUE(ha2.c.subscribe("homeassistant/#", 1));
    Client board2(dry, "dht11-board");
    ASSERT_TRUE(board2.c.publish("dht11/sensor/data", R"({"temperature":21.0,"humidity":40.0})", 1));
    EXPECT_TRUE(dry.waitForLog("dry run: would publish retained to 'homeassistant/device/dht11_sensor/config'"))
        << dry.log();
    EXPECT_TRUE(collect(ha2.c, "homeassistant/#", 500ms).empty());
}

TEST(HaDiscoveryIntegration, CorruptStateFileStopsTheBroker) {
    BrokerProcess b("");
    b.writeFile("hadiscovery.state", "{\"format\": \"something else\"");
    b.updateConfig(pluginLines(CONF_DIR "/hadiscovery/ipwatch-rules.json",
                               "plugin_opt_state_file " + (b.dir() / "hadiscovery.state").string() + "\n"));
    EXPECT_FALSE(b.start(5s));
    EXPECT_NE(b.log().find("hadiscovery.state"), std::string::npos) << b.log();
}

TEST(HaDiscoveryIntegration, HostileCaptureValuesGiveValidSanitizedConfigs) {
    BrokerProcess b(pluginLines(CONF_DIR "/hadiscovery/ipwatch-rules.json"));
    ASSERT_TRUE(b.start()) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client evil(b, "evil");
    const std::string status =
        R"({"hostname":"x\"}],\"device\":{\"identifiers\":[\"ipwatch_10_0_0_5\"]}","cpu_percent":1})";
    ASSERT_TRUE(evil.c.publish("ipwatch/device/Zürich \"hq\"/status", status, 1));
    ASSERT_TRUE(evil.c.publish("ipwatch/device/10.0.0.5/status", status, 1));
    ASSERT_TRUE(evil.c.publish("ipwatch/device/10_0_0_5/status", status, 1));  // same id as 10.0.0.5: ignored
    auto got = collect(ha.c, "homeassistant/#");
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].topic, "homeassistant/device/ipwatch_Zu00fcrich__hq_/config");
    EXPECT_EQ(got[1].topic, kDeviceTopic);
    for (const auto& m : got) {
        expectContract(m, DiscoveryForm::Device);
        EXPECT_EQ(json::parse(m.payload)["device"]["identifiers"].size(), 1u);
    }
    EXPECT_EQ(json::parse(got[0].payload)["device"]["identifiers"][0], "ipwatch_Zu00fcrich__hq_");
    EXPECT_EQ(json::parse(got[0].payload)["components"]["shutdown"]["command_topic"],
              "ipwatch/device/Zürich \"hq\"/command");
}

// The snapshot is written while the broker runs (every state_interval), not only at a clean stop.
TEST(HaDiscoveryIntegration, UserDeletionSurvivesAKill) {
    BrokerProcess b("");
    {
        Client ha("home-assistant");
        startWithStateFile(b, ha.c);
        Client agent("agent");
        startAgent(agent.c, b);
        ASSERT_EQ(collect(ha.c, "homeassistant/#").size(), 1u);
        ASSERT_TRUE(ha.c.publish(kDeviceTopic, "", 1, true));
        EXPECT_TRUE(b.waitForLog("stays deleted")) << b.log();
        // Wait until the worker wrote it: the topic is then in the file twice (owned, and deleted).
        auto occurrences = [&] {
            std::ifstream in(b.dir() / "hadiscovery.state");
            const std::string text((std::istreambuf_iterator<char>(in)), {});
            size_t n = 0;
            for (auto pos = text.find(kDeviceTopic); pos != std::string::npos; pos = text.find(kDeviceTopic, pos + 1))
                ++n;
            return n;
        };
        for (int i = 0; i < 100 && occurrences() < 2; ++i) std::this_thread::sleep_for(50ms);
        ASSERT_GE(occurrences(), 2u);
        b.kill9();
    }
    ASSERT_TRUE(b.restart()) << b.log();
    EXPECT_TRUE(b.waitForLog("1 user deletion(s)")) << b.log();
    Client ha(b, "home-assistant");
    ASSERT_TRUE(ha.c.subscribe("homeassistant/#", 1));
    Client agent("agent");
    startAgent(agent.c, b);
    EXPECT_TRUE(collect(ha.c, "homeassistant/#", 1500ms).empty()) << "deleted stays deleted";
}
