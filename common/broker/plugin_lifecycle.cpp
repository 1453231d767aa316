// Callback registration shared by the plugin adapters; see plugin_lifecycle.hpp.
#include "common/broker/plugin_lifecycle.hpp"

#include "common/broker/error_text.hpp"

namespace mqs::broker {

int registerCallbacks(mosquitto_plugin_id_t* identifier, std::span<const CallbackRegistration> callbacks,
                      void* user_data, const Logger& logger) {
    for (size_t i = 0; i < callbacks.size(); ++i) {
        int rc = mosquitto_callback_register(identifier, callbacks[i].event, callbacks[i].callback,
                                             callbacks[i].event_data, user_data);
        if (rc != MOSQ_ERR_SUCCESS) {
            logger.error(std::string("cannot register callback for event ") + std::to_string(callbacks[i].event) +
                         ": " + errorText(rc));
            unregisterCallbacks(identifier, callbacks.first(i));
            return rc;
        }
    }
    return MOSQ_ERR_SUCCESS;
}

void unregisterCallbacks(mosquitto_plugin_id_t* identifier, std::span<const CallbackRegistration> callbacks) {
    for (const auto& c : callbacks) mosquitto_callback_unregister(identifier, c.event, c.callback, c.event_data);
}

}  // namespace mqs::broker
