// The adapter skeleton every plugin shares: its common state (PluginBase), init and cleanup, the callback
// trampolines and table (message, tick, reload, disconnect, basic auth, acl check, control) and the three
// exported entry points. A plugin.cpp keeps only its own state and its load/reload/event logic. Included
// only by plugin.cpp.
#pragma once

#include <array>
#include <chrono>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/broker/broker_glue.hpp"
#include "common/broker/broker_version.hpp"
#include "common/clock.hpp"
#include "common/guard.hpp"
#include "common/metrics.hpp"
#include "common/broker/mosquitto_api.hpp"
#include "common/tick_watch.hpp"

#ifndef MQS_SUITE_VERSION
#define MQS_SUITE_VERSION "unknown"
#endif

namespace mqs::broker {

// What every plugin instance has. A plugin's state struct derives from it as
// `struct FooPlugin : broker::PluginBase<FooPlugin>`, names itself with `static constexpr const char* kName`
// and hangs off the broker's user_data pointer (no globals, so two instances of one plugin coexist).
// Broker thread only.
template <typename Self>
struct PluginBase {
    PluginBase() : logger(Self::kName, logSink()) {}
    PluginBase(const PluginBase&) = delete;
    PluginBase& operator=(const PluginBase&) = delete;

    mosquitto_plugin_id_t* identifier = nullptr;
    BrokerLine broker_line = BrokerLine::V2_0;  // decided at init, see broker_version.hpp
    Logger logger;
    SystemClock clock;
    MetricsRegistry metrics;
    RawOptions init_options;  // Mosquitto 2.0 passes no options with MOSQ_EVT_RELOAD: reuse these
    TickWatch tick_watch;
    // For a Plugin with onAclCheck: load() may set it to false (before registration) to leave ACL_CHECK
    // unregistered, as a watcher must on 2.0 when it cannot answer safely (aclPassFor). Fixed at init.
    bool register_acl_check = true;

    // From load and reload, once the instance name and interval are known: metrics are published every
    // `interval` under sysTopic("<name>").
    void scheduleMetrics(const std::string& instance, std::chrono::milliseconds interval) {
        instance_ = instance;
        metrics_timer_ = IntervalTimer(interval);
    }
    // "$SYS/plugins/<plugin>/<instance>/<suffix>" for this instance.
    std::string sysTopic(std::string_view suffix) const { return mqs::sysTopic(Self::kName, instance_, suffix); }

    // Periodic work, run from both TICK and MESSAGE (2.0.11 sends no tick with per_listener_settings
    // true): the plugin's own timers first (`void onTimers(now)` if it has one), then metrics.
    void runTimers(Clock::TimePoint now) {
        auto& self = static_cast<Self&>(*this);
        if constexpr (requires { self.onTimers(now); }) self.onTimers(now);
        if (metrics_timer_.due(now)) publishMetrics(metrics, Self::kName, instance_);
    }

private:
    std::string instance_;
    IntervalTimer metrics_timer_{std::chrono::milliseconds(0)};
};

inline constexpr const char* kMissingTickWarning =
    "no MOSQ_EVT_TICK received for 5 s (Mosquitto 2.0.11 sends none with per_listener_settings true); timers and "
    "metrics now run only when a message arrives";

struct CallbackRegistration {
    int event;
    MOSQ_FUNC_generic_callback callback;
    const char* event_data = nullptr;  // MOSQ_EVT_CONTROL: the $CONTROL topic the callback owns
};

// Registers every callback or none; on failure logs why and returns the broker's code.
int registerCallbacks(mosquitto_plugin_id_t* identifier, std::span<const CallbackRegistration> callbacks,
                      void* user_data, const Logger& logger);
void unregisterCallbacks(mosquitto_plugin_id_t* identifier, std::span<const CallbackRegistration> callbacks);

// 2.1's MOSQ_ERR_PLUGIN_IGNORE; the 2.0 headers we build against do not define it, and a 2.0 broker never
// receives it (aclPassFor gives Ignore only on 2.1).
inline constexpr int kPluginIgnore = 32;

inline int aclPassCode(AclPass pass) {
    switch (pass) {
        case AclPass::Ignore:
            return kPluginIgnore;
        case AclPass::Allow:
            return MOSQ_ERR_SUCCESS;
        default:
            return MOSQ_ERR_PLUGIN_DEFER;
    }
}

// The callbacks of `all` this instance registers: ACL_CHECK only if register_acl_check.
struct ActiveCallbacks {
    std::array<CallbackRegistration, 10> items{};
    size_t count = 0;
    std::span<const CallbackRegistration> span() const { return {items.data(), count}; }
};
// Mosquitto 2.1's MOSQ_EVT_CLIENT_OFFLINE (not in the 2.0 headers): 2.1 sends it instead of
// MOSQ_EVT_DISCONNECT when a client with a session expiry interval goes away (src/context.c,
// context__disconnect), at the same point, before its Will. Its event data has the layout of
// mosquitto_evt_disconnect (future, client, reason, future2[4]), so onDisconnect handles both.
inline constexpr int kClientOfflineEvent = 28;

inline ActiveCallbacks activeCallbacks(std::span<const CallbackRegistration> all, bool register_acl_check,
                                       BrokerLine line) {
    ActiveCallbacks active;
    for (const auto& c : all) {
        if (c.event == MOSQ_EVT_ACL_CHECK && !register_acl_check) continue;
        if (c.event == kClientOfflineEvent && line != BrokerLine::V2_1) continue;  // 2.0 refuses unknown events
        if (active.count < active.items.size()) active.items[active.count++] = c;
    }
    return active;
}

// For mosquitto_plugin_init: builds the Plugin, introduces it to the broker (2.1), runs
// `load(const RawOptions&)`, which may throw: the message is logged (the broker itself only prints a
// number) and the broker refuses to start. Then registers the callbacks, all or none.
template <typename Plugin>
int startPlugin(mosquitto_plugin_id_t* identifier, void** user_data, const mosquitto_opt* options, int option_count,
                std::span<const CallbackRegistration> callbacks) noexcept {
    std::unique_ptr<Plugin> plugin;
    try {
        plugin = std::make_unique<Plugin>();
        plugin->identifier = identifier;
        plugin->broker_line = introducePlugin(identifier, Plugin::kName, MQS_SUITE_VERSION);
        plugin->init_options = toRawOptions(options, option_count);
        plugin->load(plugin->init_options);
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "%s: %s", Plugin::kName, e.what());
        return MOSQ_ERR_INVAL;
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "%s: unknown error while loading", Plugin::kName);
        return MOSQ_ERR_INVAL;
    }
    int rc = registerCallbacks(identifier, activeCallbacks(callbacks, plugin->register_acl_check, plugin->broker_line).span(), plugin.get(),
                               plugin->logger);
    if (rc != MOSQ_ERR_SUCCESS) return rc;
    *user_data = plugin.release();
    return MOSQ_ERR_SUCCESS;
}

// For mosquitto_plugin_cleanup: unregisters, runs `shutdown()` (flush, join threads) if the Plugin has
// one, guarded, and frees the state.
template <typename Plugin>
int stopPlugin(void* user_data, std::span<const CallbackRegistration> callbacks) noexcept {
    auto* plugin = static_cast<Plugin*>(user_data);
    if (plugin == nullptr) return MOSQ_ERR_SUCCESS;
    unregisterCallbacks(plugin->identifier,
                        activeCallbacks(callbacks, plugin->register_acl_check, plugin->broker_line).span());
    if constexpr (requires { plugin->shutdown(); }) {
        guardCallback(plugin->logger, "cleanup", MOSQ_ERR_SUCCESS, [&] {
            plugin->shutdown();
            return MOSQ_ERR_SUCCESS;
        });
    }
    delete plugin;
    return MOSQ_ERR_SUCCESS;
}

// Callback trampolines every adapter registers; user_data is the Plugin, and no exception crosses
// into the broker. On an internal error a message passes (every plugin here fails open).
// One order for every plugin: the missing-tick warning, then the due timers, then the plugin's
// `int onMessage(mosquitto_evt_message*, Clock::TimePoint now)` (one clock read per message).
template <typename Plugin>
int messageCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "message", MOSQ_ERR_SUCCESS, [&] {
        const auto now = plugin->clock.now();
        if (plugin->tick_watch.shouldWarn(now)) plugin->logger.warning(kMissingTickWarning);
        plugin->runTimers(now);
        return plugin->onMessage(static_cast<mosquitto_evt_message*>(event_data), now);
    });
}

template <typename Plugin>
int tickCallback(int, void*, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "tick", MOSQ_ERR_SUCCESS, [&] {
        plugin->tick_watch.onTick();
        plugin->runTimers(plugin->clock.now());
        return MOSQ_ERR_SUCCESS;
    });
}

// The one reload policy: the Plugin's `reload(const RawOptions&)` gets the options the broker passed
// with the event or, when it passed none (every 2.0.x release, src/security.c), the init options; it
// re-reads its files and throws to refuse, which keeps the previous state and logs why, naming
// `kKeptOnRefusedReload` ("rules", "configuration"). The return code depends on the broker line
// (reloadAnswerFor in broker_version.hpp): DEFER on 2.0 so the next plugin's reload runs, SUCCESS on
// 2.1, where any other code makes the broker exit.
template <typename Plugin>
int reloadCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    const int answer =
        reloadAnswerFor(plugin->broker_line) == ReloadAnswer::Success ? MOSQ_ERR_SUCCESS : MOSQ_ERR_PLUGIN_DEFER;
    return guardCallback(plugin->logger, "reload", answer, [&] {
        const auto* event = static_cast<const mosquitto_evt_reload*>(event_data);
        try {
            if (event != nullptr && event->option_count > 0) {
                plugin->reload(toRawOptions(event->options, event->option_count));
            } else {
                plugin->reload(plugin->init_options);
            }
        } catch (const std::exception& e) {
            plugin->logger.error(std::string("reload refused, keeping the previous ") + Plugin::kKeptOnRefusedReload +
                                 ": " + e.what());
        }
        return answer;
    });
}

// For a Plugin with `void onDisconnect(const mosquitto_evt_disconnect*)`.
template <typename Plugin>
int disconnectCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "disconnect", MOSQ_ERR_SUCCESS, [&] {
        plugin->onDisconnect(static_cast<const mosquitto_evt_disconnect*>(event_data));
        return MOSQ_ERR_SUCCESS;
    });
}

// For a Plugin with `int onBasicAuth(const mosquitto_evt_basic_auth*)`. An internal error refuses the login.
template <typename Plugin>
int basicAuthCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "basic auth", MOSQ_ERR_AUTH,
                         [&] { return plugin->onBasicAuth(static_cast<const mosquitto_evt_basic_auth*>(event_data)); });
}

// For a Plugin with `int onAclCheck(const mosquitto_evt_acl_check*)`. The hottest callback (every publish,
// subscription and delivery): no timers here, and onAclCheck returns at once for what it does not look at.
// An internal error denies (an access-control plugin fails closed) unless the Plugin has
// `int aclAnswerOnError() const` (a watcher such as validate passes: aclPassCode).
template <typename Plugin>
int aclCheckCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    int on_error = MOSQ_ERR_ACL_DENIED;
    if constexpr (requires(const Plugin& p) { p.aclAnswerOnError(); }) on_error = plugin->aclAnswerOnError();
    return guardCallback(plugin->logger, "acl check", on_error, [&] {
        return plugin->onAclCheck(static_cast<const mosquitto_evt_acl_check*>(event_data));
    });
}

// For a Plugin with `int onControl(mosquitto_evt_control*)` and `static constexpr const char* kControlTopic`.
template <typename Plugin>
int controlCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<Plugin*>(user_data);
    return guardCallback(plugin->logger, "control", MOSQ_ERR_SUCCESS,
                         [&] { return plugin->onControl(static_cast<mosquitto_evt_control*>(event_data)); });
}

// The callbacks a Plugin registers: TICK and RELOAD always; MESSAGE if it has onMessage, DISCONNECT (and
// on 2.1 CLIENT_OFFLINE) if it has onDisconnect, BASIC_AUTH, ACL_CHECK and CONTROL if it has onBasicAuth, onAclCheck, onControl (ACL_CHECK
// only while register_acl_check is true, see activeCallbacks).
template <typename Plugin>
constexpr auto callbacksOf() {
    constexpr bool has_message = requires(Plugin & p, mosquitto_evt_message * e, Clock::TimePoint t) {
        p.onMessage(e, t);
    };
    constexpr bool has_disconnect = requires(Plugin & p, const mosquitto_evt_disconnect* e) {
        p.onDisconnect(e);
    };
    constexpr bool has_basic_auth = requires(Plugin & p, const mosquitto_evt_basic_auth* e) {
        p.onBasicAuth(e);
    };
    constexpr bool has_acl_check = requires(Plugin & p, const mosquitto_evt_acl_check* e) {
        p.onAclCheck(e);
    };
    constexpr bool has_control = requires(Plugin & p, mosquitto_evt_control * e) {
        p.onControl(e);
    };
    std::array<CallbackRegistration, 2 + has_message + 2 * has_disconnect + has_basic_auth + has_acl_check + has_control>
        out{};
    size_t i = 0;
    if constexpr (has_message) out[i++] = {MOSQ_EVT_MESSAGE, messageCallback<Plugin>};
    out[i++] = {MOSQ_EVT_TICK, tickCallback<Plugin>};
    out[i++] = {MOSQ_EVT_RELOAD, reloadCallback<Plugin>};
    if constexpr (has_disconnect) {
        out[i++] = {MOSQ_EVT_DISCONNECT, disconnectCallback<Plugin>};
        out[i++] = {kClientOfflineEvent, disconnectCallback<Plugin>};  // registered on 2.1 only
    }
    if constexpr (has_basic_auth) out[i++] = {MOSQ_EVT_BASIC_AUTH, basicAuthCallback<Plugin>};
    if constexpr (has_acl_check) out[i++] = {MOSQ_EVT_ACL_CHECK, aclCheckCallback<Plugin>};
    if constexpr (has_control) out[i++] = {MOSQ_EVT_CONTROL, controlCallback<Plugin>, Plugin::kControlTopic};
    return out;
}

template <typename Plugin>
inline constexpr auto kCallbacksOf = callbacksOf<Plugin>();

}  // namespace mqs::broker

// Defines the three functions the broker looks up in a plugin module, for state type `Plugin`.
// Use once, at file scope, in plugin.cpp.
#define MQS_PLUGIN_ENTRY_POINTS(Plugin)                                                                          \
    MQS_PLUGIN_EXPORT int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) { \
        return ::mqs::broker::negotiatePluginVersion(supported_version_count, supported_versions);               \
    }                                                                                                            \
    MQS_PLUGIN_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** user_data,             \
                                                struct mosquitto_opt* options, int option_count) {               \
        return ::mqs::broker::startPlugin<Plugin>(identifier, user_data, options, option_count,                  \
                                                  ::mqs::broker::kCallbacksOf<Plugin>);                          \
    }                                                                                                            \
    MQS_PLUGIN_EXPORT int mosquitto_plugin_cleanup(void* user_data, struct mosquitto_opt*, int) {                \
        return ::mqs::broker::stopPlugin<Plugin>(user_data, ::mqs::broker::kCallbacksOf<Plugin>);                \
    }
