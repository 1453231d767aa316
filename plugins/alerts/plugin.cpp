// Broker adapter of mosquitto_alerts.so: options and rules at init and reload, callback registration,
// MESSAGE/TICK events handed to the AlertEngine, its alerts published and its state handed to the writer.
#include <memory>
#include <string>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "broker_glue.hpp"
#include "plugin_lifecycle.hpp"
#include "config.hpp"
#include "engine.hpp"
#include "guard.hpp"
#include "state_store.hpp"
#include "tick_watch.hpp"

namespace mqs::alerts {
namespace {

constexpr const char* kPluginName = "alerts";
// Bounds the broker thread's share of persistence: at most this many records copied per flush.
constexpr size_t kMaxRecordsPerFlush = 50'000;

EngineLimits limitsOf(const Config& c) {
    EngineLimits l;
    l.max_devices = c.max_devices;
    l.idle_expiry = c.idle_expiry;
    l.duplicate_window = c.duplicate_window;
    l.json.max_bytes = c.max_json_bytes;
    l.json.max_depth = c.max_json_depth;
    return l;
}

// Everything one plugin instance owns; hangs off the broker's user_data pointer.
struct AlertsPlugin {
    mosquitto_plugin_id_t* identifier = nullptr;
    Logger logger{kPluginName, broker::logSink()};
    SystemClock clock;
    MetricsRegistry metrics;
    RawOptions init_options;  // Mosquitto 2.0 passes no options with MOSQ_EVT_RELOAD: reuse these
    Config config;
    std::unique_ptr<AlertEngine> engine;
    std::unique_ptr<StateWriter> writer;  // null without state_file
    RateLimitedLog warnings{logger, clock};
    IntervalTimer metrics_timer{std::chrono::milliseconds(0)};
    IntervalTimer state_timer{std::chrono::milliseconds(0)};
    TickWatch tick_watch;
    Metric& publish_failed = metrics.get("publish_failed");
    Metric& state_writes = metrics.get("state_writes");
    Metric& state_write_failures = metrics.get("state_write_failures");

    // Init: options, rules and the saved state. Throws ConfigError, RulesError.
    void init(const RawOptions& options) {
        config = parseConfig(options);
        auto rules = std::make_shared<const RuleSet>(loadRuleSet(config.rules_file));
        engine = std::make_unique<AlertEngine>(rules, limitsOf(config), clock, metrics);
        std::string restored;
        if (!config.state_file.empty()) {
            engine->enableChangeTracking();
            std::vector<DeviceRecord> records;
            try {
                records = loadSnapshot(config.state_file);
            } catch (const StateError& e) {
                // State is a cache of what alerts were active: start without it rather than not at all.
                logger.warning(std::string("ignoring unreadable state file: ") + e.what());
            }
            size_t n = engine->importRecords(records, true);
            restored = "; restored " + std::to_string(n) + " device(s) from " + quoteForLog(config.state_file);
            writer = std::make_unique<StateWriter>(config.state_file, config.state_interval, 2 * config.max_devices + 10'000,
                                                   engine->exportAll());
            engine->takeDirty(SIZE_MAX);  // the writer starts from exactly this state
        }
        metrics_timer = IntervalTimer(config.metrics_interval);
        state_timer = IntervalTimer(config.state_interval);
        logger.info("loaded " + std::to_string(rules->rules.size()) + " rule(s) from " + quoteForLog(config.rules_file) + restored);
    }

    static constexpr const char* kKeptOnRefusedReload = "rules";

    // Reload: new rules, same options (Mosquitto 2.0 passes none); state carried over by rule and level name.
    void reload(const mosquitto_evt_reload*) {
        auto rules = std::make_shared<const RuleSet>(loadRuleSet(config.rules_file));
        auto next = std::make_unique<AlertEngine>(rules, limitsOf(config), clock, metrics);
        if (writer) next->enableChangeTracking();
        size_t n = next->importRecords(engine->exportAll(), false);
        flushOutbox();  // anything the old engine still holds goes out before it is replaced
        engine = std::move(next);
        if (writer) {
            writer->replaceAll(engine->exportAll());
            engine->takeDirty(SIZE_MAX);
        }
        flushOutbox();  // clears of levels the new rules no longer have
        logger.info("reloaded " + std::to_string(rules->rules.size()) + " rule(s) from " + quoteForLog(config.rules_file) +
                    ", kept state of " + std::to_string(n) + " device(s)");
    }

    void flushOutbox() {
        auto& outbox = engine->outbox();
        for (const auto& m : outbox) {
            int rc = mosquitto_broker_publish_copy(nullptr, m.topic.c_str(), static_cast<int>(m.payload.size()), m.payload.data(),
                                                   m.qos, m.retain, nullptr);
            if (rc != MOSQ_ERR_SUCCESS) {
                publish_failed.add();
                warnings.warning("publish", "cannot publish alert to " + quoteForLog(m.topic) + ": " + mosquitto_strerror(rc));
            }
        }
        outbox.clear();
    }

    // Periodic work, driven by both TICK and MESSAGE (2.0.11 sends no tick with per_listener_settings true).
    void runTimers(Clock::TimePoint now) {
        engine->onTimers(now);
        flushOutbox();
        if (writer && state_timer.due(now)) {
            if (writer->needsResync()) engine->markAllDirty();
            writer->submit(engine->takeDirty(kMaxRecordsPerFlush));
            state_writes.set(static_cast<int64_t>(writer->writes()));
            state_write_failures.set(static_cast<int64_t>(writer->failures()));
            std::string error = writer->takeError();
            if (!error.empty()) warnings.warning("state", "cannot write the state file: " + error);
        }
        if (metrics_timer.due(now)) broker::publishMetrics(metrics, kPluginName, config.instance);
    }

    int onMessage(const mosquitto_evt_message* event) {
        const auto now = clock.now();  // one clock read per message: it shows in the profile
        if (tick_watch.shouldWarn(now)) {
            logger.warning("no MOSQ_EVT_TICK received for 5 s (Mosquitto 2.0.11 sends none with per_listener_settings true); deadman and other timers now fire only when a message arrives");
        }
        engine->onMessage(event->topic, event->payload, event->payloadlen, now);
        runTimers(now);
        return MOSQ_ERR_SUCCESS;  // alerts watch; they never drop a message
    }

    void shutdown() {
        if (!writer) return;
        writer->submit(engine->takeDirty(SIZE_MAX));
        writer->stop();  // final write, then join
    }
};

constexpr broker::CallbackRegistration kCallbacks[] = {
    {MOSQ_EVT_MESSAGE, broker::messageCallback<AlertsPlugin>},
    {MOSQ_EVT_TICK, broker::tickCallback<AlertsPlugin>},
    {MOSQ_EVT_RELOAD, broker::reloadCallback<AlertsPlugin>},
};

}  // namespace
}  // namespace mqs::alerts

using mqs::alerts::AlertsPlugin;

MQS_PLUGIN_EXPORT int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
    return mqs::broker::negotiatePluginVersion(supported_version_count, supported_versions);
}

MQS_PLUGIN_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** user_data,
                                            struct mosquitto_opt* options, int option_count) {
    return mqs::broker::startPlugin<AlertsPlugin>(mqs::alerts::kPluginName, identifier, user_data, options, option_count,
                                                  mqs::alerts::kCallbacks,
                                                  [](AlertsPlugin& plugin) { plugin.init(plugin.init_options); });
}

MQS_PLUGIN_EXPORT int mosquitto_plugin_cleanup(void* user_data, struct mosquitto_opt*, int) {
    return mqs::broker::stopPlugin<AlertsPlugin>(user_data, mqs::alerts::kCallbacks,
                                                 [](AlertsPlugin& plugin) { plugin.shutdown(); });
}
