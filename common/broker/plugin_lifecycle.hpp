// The init/cleanup steps every plugin adapter shares: build the state object, load options, register
// callbacks all-or-none, and undo it all at cleanup. Included only by plugin.cpp files.
#pragma once

#include <exception>
#include <memory>
#include <span>
#include <string>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "broker_glue.hpp"
#include "guard.hpp"

namespace mqs::broker {

struct CallbackRegistration {
    int event;
    MOSQ_FUNC_generic_callback callback;
};

// Registers every callback or none; on failure logs why and returns the broker's code.
int registerCallbacks(mosquitto_plugin_id_t* identifier, std::span<const CallbackRegistration> callbacks,
                      void* user_data, const Logger& logger);
void unregisterCallbacks(mosquitto_plugin_id_t* identifier, std::span<const CallbackRegistration> callbacks);

// For mosquitto_plugin_init. Plugin has members `identifier`, `init_options` and `logger`; `load(Plugin&)`
// reads init_options and may throw: the message is logged (the broker itself only prints a number) and
// the broker refuses to start.
template <typename Plugin, typename Load>
int startPlugin(const char* plugin_name, mosquitto_plugin_id_t* identifier, void** user_data,
                const mosquitto_opt* options, int option_count, std::span<const CallbackRegistration> callbacks,
                Load&& load) noexcept {
    std::unique_ptr<Plugin> plugin;
    try {
        plugin = std::make_unique<Plugin>();
        plugin->identifier = identifier;
        plugin->init_options = toRawOptions(options, option_count);
        load(*plugin);
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "%s: %s", plugin_name, e.what());
        return MOSQ_ERR_INVAL;
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "%s: unknown error while loading", plugin_name);
        return MOSQ_ERR_INVAL;
    }
    int rc = registerCallbacks(identifier, callbacks, plugin.get(), plugin->logger);
    if (rc != MOSQ_ERR_SUCCESS) return rc;
    *user_data = plugin.release();
    return MOSQ_ERR_SUCCESS;
}

// For mosquitto_plugin_cleanup: unregisters, runs `shutdown(Plugin&)` (flush, join threads) guarded,
// and frees the state.
template <typename Plugin, typename Shutdown>
int stopPlugin(void* user_data, std::span<const CallbackRegistration> callbacks, Shutdown&& shutdown) noexcept {
    auto* plugin = static_cast<Plugin*>(user_data);
    if (plugin == nullptr) return MOSQ_ERR_SUCCESS;
    unregisterCallbacks(plugin->identifier, callbacks);
    guardCallback(plugin->logger, "cleanup", MOSQ_ERR_SUCCESS, [&] {
        shutdown(*plugin);
        return MOSQ_ERR_SUCCESS;
    });
    delete plugin;
    return MOSQ_ERR_SUCCESS;
}

}  // namespace mqs::broker
