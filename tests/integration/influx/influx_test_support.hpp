// Helpers shared by the influx integration test files: condition polling, the warehouse rules with a
// chosen sink, a broker running the plugin with short timers, and a watcher of the plugin's $SYS metrics.
#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/broker_process.hpp"
#include "testing/http_client.hpp"
#include "testing/mqtt_test_client.hpp"
#include "testing/tsdb_servers.hpp"

namespace mqs::influx::testing {

using namespace std::chrono_literals;

template <typename Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout = 15s, std::chrono::milliseconds step = 50ms) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(step);
    }
    return pred();
}

// conf/influx/warehouse-rules.json with its sinks replaced by `sink`.
inline nlohmann::json warehouseRules(const nlohmann::json& sink) {
    std::ifstream in(std::string(CONF_DIR) + "/influx/warehouse-rules.json");
    nlohmann::json rules = nlohmann::json::parse(in);
    rules["sinks"] = nlohmann::json::array({sink});
    return rules;
}

// A broker with the plugin, its rules file and spool in the broker's own directory. Short timers
// unless `options` sets them itself.
inline std::unique_ptr<mqs::testing::BrokerProcess> influxBroker(const nlohmann::json& rules, const std::string& options = "") {
    auto broker = std::make_unique<mqs::testing::BrokerProcess>("", "influx");
    broker->writeFile("rules.json", rules.dump(2));
    std::string body = std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_INFLUX + "\n" + "plugin_opt_rules_file " +
                       (broker->dir() / "rules.json").string() + "\n" + "plugin_opt_spool_dir " +
                       (broker->dir() / "spool").string() + "\n" + options;
    for (const char* line : {"metrics_interval 100ms", "flush_interval 50ms", "retry_initial 100ms", "retry_max 400ms"}) {
        const std::string key = std::string("plugin_opt_") + std::string(line).substr(0, std::string(line).find(' ') + 1);
        if (options.find(key) == std::string::npos) body += std::string("plugin_opt_") + line + "\n";
    }
    broker->updateConfig(body);
    return broker;
}

// Latest values of the plugin's $SYS metrics.
class Metrics {
public:
    explicit Metrics(int port) : client_("metrics-watch") {
        EXPECT_TRUE(client_.connect(port));
        EXPECT_TRUE(client_.subscribe("$SYS/plugins/influx/#", 0));
    }
    int64_t value(const std::string& name) {
        pump(0ms);
        auto it = values_.find(name);
        return it == values_.end() ? 0 : std::stoll(it->second);
    }
    template <typename Pred>
    bool waitFor(const std::string& name, Pred pred, std::chrono::milliseconds timeout = 15s) {
        auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            if (pred(value(name))) return true;
            pump(100ms);
        }
        return pred(value(name));
    }
    std::string text(const std::string& name) {
        pump(0ms);
        return values_[name];
    }
    // For text metrics such as sinks/<sink>/last_error.
    template <typename Pred>
    bool waitForText(const std::string& name, Pred pred, std::chrono::milliseconds timeout = 15s) {
        auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            if (pred(text(name))) return true;
            pump(100ms);
        }
        return pred(text(name));
    }

private:
    void pump(std::chrono::milliseconds wait) {
        while (auto m = client_.waitForMessage(wait)) {
            values_[m->topic.substr(std::string("$SYS/plugins/influx/influx/").size())] = m->payload;
            wait = 0ms;
        }
    }
    mqs::testing::MqttTestClient client_;
    std::map<std::string, std::string> values_;
};

// A warehouse reading; `ts` in the unit the rule's "auto" infers from its magnitude.
inline std::string reading(int64_t ts, double temp, int alert = 0) {
    return nlohmann::json{{"timestamp", ts}, {"temp", temp}, {"hum", 40.5}, {"alert_level", alert}, {"version", 1}}.dump();
}

}  // namespace mqs::influx::testing
