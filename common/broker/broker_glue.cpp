// Broker-facing helpers shared by the plugin adapters; see broker_glue.hpp.
#include "common/broker/broker_glue.hpp"

#include <dlfcn.h>

#include "common/broker/error_text.hpp"
#include "common/broker/mosquitto_api.hpp"
#include "common/topic.hpp"

namespace mqs::broker {

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

BrokerLine introducePlugin(mosquitto_plugin_id_t* identifier, const char* plugin_name, const char* plugin_version) {
    // RTLD_DEFAULT searches the broker executable, which exports its plugin API in its dynamic symbols.
    const SymbolLookup lookup = [](const char* name) { return dlsym(RTLD_DEFAULT, name); };
    const BrokerLine line = detectBrokerLine(lookup);
    if (line == BrokerLine::V2_1) {
        using SetInfo = int (*)(mosquitto_plugin_id_t*, const char*, const char*);
        reinterpret_cast<SetInfo>(lookup(kSetInfoSymbol))(identifier, plugin_name, plugin_version);
    }
    return line;
}

size_t publishMetrics(MetricsRegistry& metrics, const std::string& plugin, const std::string& instance) {
    auto changed = metrics.takeChanged();
    for (const auto& [name, value] : changed) publishRetained(sysTopic(plugin, instance, name), std::to_string(value));
    return changed.size();
}

int publishRetained(const std::string& topic, std::string_view payload) {
    if (!checkPublishTopic(topic).empty()) return MOSQ_ERR_INVAL;
    return mosquitto_broker_publish_copy(nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 0,
                                         true, nullptr);
}

std::string publishChecked(const std::string& topic, std::string_view payload, int qos, bool retain) {
    std::string problem = checkPublishTopic(topic);
    if (!problem.empty()) return problem;
    int rc = mosquitto_broker_publish_copy(nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                           qos, retain, nullptr);
    return rc == MOSQ_ERR_SUCCESS ? std::string() : errorText(rc);
}

}  // namespace mqs::broker
