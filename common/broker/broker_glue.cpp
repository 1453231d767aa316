// Broker-facing helpers shared by the plugin adapters; see broker_glue.hpp.
#include "broker_glue.hpp"

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

namespace mqs::broker {

int negotiatePluginVersion(int supported_version_count, const int* supported_versions) {
    for (int i = 0; i < supported_version_count; ++i) {
        if (supported_versions[i] == 5) return 5;
    }
    return -1;
}

RawOptions toRawOptions(const mosquitto_opt* options, int count) {
    RawOptions out;
    for (int i = 0; i < count; ++i) {
        out.emplace_back(options[i].key ? options[i].key : "", options[i].value ? options[i].value : "");
    }
    return out;
}

LogSink logSink() {
    return [](LogLevel level, const std::string& line) {
        int mosq_level = MOSQ_LOG_INFO;
        switch (level) {
            case LogLevel::Debug: mosq_level = MOSQ_LOG_DEBUG; break;
            case LogLevel::Info: mosq_level = MOSQ_LOG_INFO; break;
            case LogLevel::Notice: mosq_level = MOSQ_LOG_NOTICE; break;
            case LogLevel::Warning: mosq_level = MOSQ_LOG_WARNING; break;
            case LogLevel::Error: mosq_level = MOSQ_LOG_ERR; break;
        }
        mosquitto_log_printf(mosq_level, "%s", line.c_str());
    };
}

size_t publishMetrics(MetricsRegistry& metrics, const std::string& plugin, const std::string& instance) {
    auto changed = metrics.takeChanged();
    const std::string prefix = "$SYS/plugins/" + plugin + "/" + instance + "/";
    for (const auto& [name, value] : changed) {
        std::string topic = prefix + name;
        std::string payload = std::to_string(value);
        mosquitto_broker_publish_copy(nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 0,
                                      true, nullptr);
    }
    return changed.size();
}

}  // namespace mqs::broker
