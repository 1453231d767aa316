// Benchmark-only plugin that does nothing on the events it registers: BASIC_AUTH and ACL_CHECK answered
// "allowed" without looking (the default), or, with `plugin_opt_events message`, MESSAGE passed through
// untouched. Its rows in bench/instructions_per_message.sh (acl-allow-all, message-noop) are the floor any
// plugin of that kind pays: the broker's own work to build the events and call a plugin for every login,
// check or message. What dynacl, hadiscovery, ... cost above it is their own. Never for production.
#include <cstring>

#include "common/broker/mosquitto_api.hpp"

namespace {

mosquitto_plugin_id_t* plugin_id = nullptr;
bool on_message = false;

int allow(int, void*, void*) {
    return MOSQ_ERR_SUCCESS;
}

}  // namespace

#define EXPORT __attribute__((visibility("default")))  // the build hides symbols by default

extern "C" {

EXPORT int mosquitto_plugin_version(int, const int*) {
    return 5;
}

EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void**, struct mosquitto_opt* options,
                                 int option_count) {
    plugin_id = identifier;
    for (int i = 0; i < option_count; ++i)
        if (std::strcmp(options[i].key, "events") == 0) on_message = std::strcmp(options[i].value, "message") == 0;
    if (on_message) return mosquitto_callback_register(plugin_id, MOSQ_EVT_MESSAGE, allow, nullptr, nullptr);
    if (mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, allow, nullptr, nullptr) != MOSQ_ERR_SUCCESS ||
        mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, allow, nullptr, nullptr) != MOSQ_ERR_SUCCESS)
        return MOSQ_ERR_UNKNOWN;
    return MOSQ_ERR_SUCCESS;
}

EXPORT int mosquitto_plugin_cleanup(void*, struct mosquitto_opt*, int) {
    if (on_message) return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_MESSAGE, allow, nullptr);
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, allow, nullptr);
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, allow, nullptr);
    return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
