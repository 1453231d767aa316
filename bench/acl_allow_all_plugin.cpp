// Benchmark-only plugin: answers BASIC_AUTH and ACL_CHECK with "allowed" without looking at anything. Its row
// in bench/instructions_per_message.sh is the floor any access-control plugin pays: the broker's own work to
// build the events and call a plugin for every login, publish and delivery. What dynacl and dynamic-security
// cost above it is their own. Never for production: it lets everyone do everything.
#include "common/broker/mosquitto_api.hpp"

namespace {

mosquitto_plugin_id_t* plugin_id = nullptr;

int allow(int, void*, void*) {
    return MOSQ_ERR_SUCCESS;
}

}  // namespace

#define EXPORT __attribute__((visibility("default")))  // the build hides symbols by default

extern "C" {

EXPORT int mosquitto_plugin_version(int, const int*) {
    return 5;
}

EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void**, struct mosquitto_opt*, int) {
    plugin_id = identifier;
    if (mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, allow, nullptr, nullptr) != MOSQ_ERR_SUCCESS ||
        mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, allow, nullptr, nullptr) != MOSQ_ERR_SUCCESS)
        return MOSQ_ERR_UNKNOWN;
    return MOSQ_ERR_SUCCESS;
}

EXPORT int mosquitto_plugin_cleanup(void*, struct mosquitto_opt*, int) {
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, allow, nullptr);
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, allow, nullptr);
    return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
