// The shared pieces of every broker adapter that touch Mosquitto's API: options, log routing and
// metrics publishing. Only plugin.cpp files and this library include mosquitto headers.
#pragma once

#include <string>

#include "log.hpp"
#include "metrics.hpp"
#include "options.hpp"

struct mosquitto_opt;

// Plugin entry points are the only symbols a module exports (everything else is hidden, so two of
// our plugins loaded side by side never bind to each other's copy of common code).
#define MQS_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

namespace mqs::broker {

// Answer to mosquitto_plugin_version(): we speak plugin API version 5 (Mosquitto 2.0), or refuse.
int negotiatePluginVersion(int supported_version_count, const int* supported_versions);

RawOptions toRawOptions(const mosquitto_opt* options, int count);

// Sink for Logger that writes through mosquitto_log_printf. Broker thread only.
LogSink logSink();

// Publishes changed metrics as retained QoS 0 messages "$SYS/plugins/<plugin>/<instance>/<name>".
// Broker thread only. Returns how many were published.
size_t publishMetrics(MetricsRegistry& metrics, const std::string& plugin, const std::string& instance);

}  // namespace mqs::broker
