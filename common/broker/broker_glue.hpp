// The shared pieces of every broker adapter that touch Mosquitto's API: options, log routing, metrics
// publishing and the broker's version. Only plugin.cpp files and this library include mosquitto headers.
#pragma once

#include <string>
#include <string_view>

#include "common/broker/broker_version.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/options.hpp"

struct mosquitto_opt;
struct mosquitto_plugin_id_t;

// Plugin entry points are the only symbols a module exports (everything else is hidden, so two of
// our plugins loaded side by side never bind to each other's copy of common code).
#define MQS_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

namespace mqs::broker {

RawOptions toRawOptions(const mosquitto_opt* options, int count);

// Sink for Logger that writes through mosquitto_log_printf. Broker thread only.
LogSink logSink();

// Finds out which broker line hosts us (see broker_version.hpp) and, on 2.1, names the plugin to the
// broker with mosquitto_plugin_set_info, looked up at run time because 2.0's headers do not declare it.
BrokerLine introducePlugin(mosquitto_plugin_id_t* identifier, const char* plugin_name, const char* plugin_version);

// Publishes changed metrics as retained QoS 0 messages sysTopic(plugin, instance, <name>).
// Broker thread only. Returns how many were published.
size_t publishMetrics(MetricsRegistry& metrics, const std::string& plugin, const std::string& instance);

// Publishes one retained QoS 0 message from the broker; returns the broker's code. Broker thread only.
int publishRetained(const std::string& topic, std::string_view payload);

// Every message a plugin builds goes out through here: the topic is held to checkPublishTopic first,
// so a topic MQTT cannot carry (over 65 535 bytes, invalid UTF-8, wildcards, NUL) is never sent
// truncated or on another topic. Returns empty when queued, else why not (for the caller's count and log).
std::string publishChecked(const std::string& topic, std::string_view payload, int qos, bool retain);

}  // namespace mqs::broker
