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

// Callback trampolines every adapter registers; user_data is the Plugin, and no exception crosses
// into the broker. On an internal error a message passes (every plugin here fails open).
template <typename Plugin>
int messageCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "message", MOSQ_ERR_SUCCESS,
                         [&] { return plugin->onMessage(static_cast<mosquitto_evt_message*>(event_data)); });
}

// Plugin has `tick_watch`, `clock` and `runTimers(now)`.
template <typename Plugin>
int tickCallback(int, void*, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "tick", MOSQ_ERR_SUCCESS, [&] {
        plugin->tick_watch.onTick();
        plugin->runTimers(plugin->clock.now());
        return MOSQ_ERR_SUCCESS;
    });
}

// Plugin has `reload(const mosquitto_evt_reload*)`, which throws to refuse, and `kKeptOnRefusedReload`
// ("rules", "configuration") for the log line.
template <typename Plugin>
int reloadCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "reload", MOSQ_ERR_PLUGIN_DEFER, [&] {
        try {
            plugin->reload(static_cast<const mosquitto_evt_reload*>(event_data));
        } catch (const std::exception& e) {
            plugin->logger.error(std::string("reload refused, keeping the previous ") + Plugin::kKeptOnRefusedReload + ": " +
                                 e.what());
        }
        // Any other code stops the broker from calling the next plugin's reload callback.
        return MOSQ_ERR_PLUGIN_DEFER;
    });
}

}  // namespace mqs::broker
