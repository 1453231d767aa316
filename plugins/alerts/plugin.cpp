// Broker adapter of mosquitto_alerts.so: options and rules at init and reload, callback registration,
// MESSAGE/TICK events handed to the AlertEngine, its alerts published and its state handed to the writer.
#include <memory>
#include <string>

#include "alerts/config.hpp"
#include "alerts/engine.hpp"
#include "common/broker/error_text.hpp"
#include "common/broker/mosquitto_api.hpp"
#include "common/broker/plugin_lifecycle.hpp"
#include "alerts/state_store.hpp"

namespace mqs::alerts {
namespace {

// Bounds the broker thread's share of persistence: at most this many records copied per flush.
constexpr size_t kMaxRecordsPerFlush = 50'000;
// Bounds the broker thread's share of republishing active alerts after start-up or a reload.
constexpr size_t kRepublishDevicesPerTimer = 2'000;

EngineLimits limitsOf(const Config& c) {
    EngineLimits l;
    l.max_devices = c.max_devices;
    l.max_key_bytes = c.max_key_bytes;
    l.idle_expiry = c.idle_expiry;
    l.duplicate_window = c.duplicate_window;
    l.json.max_bytes = c.max_json_bytes;
    l.json.max_depth = c.max_json_depth;
    return l;
}

// One alerts instance: its options, the engine with its rules, the writer of its state file.
struct AlertsPlugin : broker::PluginBase<AlertsPlugin> {
    static constexpr const char* kName = "alerts";

    Config config;
    std::unique_ptr<AlertEngine> engine;
    std::unique_ptr<StateWriter> writer;  // null without state_file
    RateLimitedLog warnings{logger, clock};
    IntervalTimer state_timer{std::chrono::milliseconds(0)};
    Metric& publish_failed = metrics.get("publish_failed");
    Metric& state_writes = metrics.get("state_writes");
    Metric& state_write_failures = metrics.get("state_write_failures");
    DisconnectCounts disconnects;  // outlives reloads: tells a client's reconnect from a repeated reading

    // Init: options, rules and the saved state. Throws ConfigError, RulesError.
    void load(const RawOptions& options) {
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
            writer = std::make_unique<StateWriter>(config.state_file, config.state_interval,
                                                   2 * config.max_devices + 10'000, engine->exportAll());
            engine->takeDirty(SIZE_MAX);  // the writer starts from exactly this state
        }
        // Not from init (the broker is not running yet): the first TICK/MESSAGE republishes the retained
        // message of every restored active alert, for brokers that do not persist retained messages.
        engine->startRepublish();
        scheduleMetrics(config.instance, config.metrics_interval);
        state_timer = IntervalTimer(config.state_interval);
        logger.info("loaded " + std::to_string(rules->rules.size()) + " rule(s) from " +
                    quoteForLog(config.rules_file) + restored);
    }

    static constexpr const char* kKeptOnRefusedReload = "rules";

    // Reload: the rules file re-read; the options stay those of init (they shape the engine's limits and
    // the state store, which a restart changes). State is carried over by rule and level name.
    void reload(const RawOptions&) {
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
        flushOutbox();             // clears of levels the new rules no longer have
        engine->startRepublish();  // from the next TICK/MESSAGE, like at start-up
        logger.info("reloaded " + std::to_string(rules->rules.size()) + " rule(s) from " +
                    quoteForLog(config.rules_file) + ", kept state of " + std::to_string(n) + " device(s)");
    }

    void flushOutbox() {
        auto& outbox = engine->outbox();
        for (const auto& m : outbox) {
            std::string problem = broker::publishChecked(m.topic, m.payload, m.qos, m.retain);
            if (!problem.empty()) {
                publish_failed.add();
                warnings.warning("publish", "cannot publish alert to " + quoteForLog(m.topic) + ": " + problem);
            }
        }
        outbox.clear();
    }

    // The skeleton runs this from TICK and MESSAGE, then publishes the metrics.
    void onTimers(Clock::TimePoint now) {
        engine->onTimers(now);
        if (engine->republishPending()) engine->republishSome(kRepublishDevicesPerTimer);
        flushOutbox();
        if (writer && state_timer.due(now)) {
            if (writer->needsResync()) engine->markAllDirty();
            writer->submit(engine->takeDirty(kMaxRecordsPerFlush));
            state_writes.set(static_cast<int64_t>(writer->writes()));
            state_write_failures.set(static_cast<int64_t>(writer->failures()));
            std::string error = writer->takeError();
            if (!error.empty()) warnings.warning("state", "cannot write the state file: " + error);
        }
    }

    int onMessage(const mosquitto_evt_message* event, Clock::TimePoint now) {
        const char* id = mosquitto_client_id(event->client);
        engine->onMessage(event->topic, event->payload, event->payloadlen, now,
                          disconnects.origin(id ? std::string_view(id) : std::string_view(), event->qos));
        flushOutbox();            // an alert this message raised goes out now, not at the next tick
        return MOSQ_ERR_SUCCESS;  // alerts watch; they never drop a message
    }

    void onDisconnect(const mosquitto_evt_disconnect* event) {
        const char* id = mosquitto_client_id(event->client);
        if (id) disconnects.onDisconnect(id);
    }

    void shutdown() {
        if (!writer) return;
        writer->submit(engine->takeDirty(SIZE_MAX));
        writer->stop();  // final write, then join
    }
};

}  // namespace
}  // namespace mqs::alerts

MQS_PLUGIN_ENTRY_POINTS(mqs::alerts::AlertsPlugin)
