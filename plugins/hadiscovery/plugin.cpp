// Broker adapter of mosquitto_hadiscovery.so: options, rules and the saved state at init, rules at reload,
// MESSAGE/DISCONNECT/TICK events handed to the DiscoveryEngine, its outbox published, its snapshot
// handed to a forked writer process, $CONTROL/hadiscovery/v1 answered to the asking client.
#include <memory>
#include <random>
#include <string>

#include "common/broker/mosquitto_api.hpp"
#include "common/broker/plugin_lifecycle.hpp"
#include "hadiscovery/config.hpp"
#include "hadiscovery/engine.hpp"
#include "hadiscovery/state_file_writer.hpp"

namespace mqs::hadiscovery {
namespace {

constexpr size_t kMaxDeletions = 100'000;
constexpr const char* kResponseTopic = "$CONTROL/hadiscovery/v1/response";
constexpr std::chrono::milliseconds kTimersEvery{10};

struct HaDiscoveryPlugin : broker::PluginBase<HaDiscoveryPlugin> {
    static constexpr const char* kName = "hadiscovery";
    static constexpr const char* kControlTopic = "$CONTROL/hadiscovery/v1";
    static constexpr const char* kKeptOnRefusedReload = "rules";

    Config config;
    std::unique_ptr<DiscoveryEngine> engine;
    std::unique_ptr<StateFileWriter> writer;  // null without state_file; after engine: destroyed first
    RateLimitedLog warnings{logger, clock};
    IntervalTimer state_timer{std::chrono::milliseconds(0)};
    bool started = false;
    Clock::TimePoint next_timers{};
    Metric& publish_failed = metrics.get("publish_failed");
    Metric& state_writes = metrics.get("state_writes");
    Metric& state_write_failures = metrics.get("state_write_failures");

    // Init: options, rules, the saved state. Throws ConfigError, RulesError, SnapshotError (a corrupt
    // state file stops the broker: starting without it would re-create what users deleted).
    void load(const RawOptions& options) {
        config = parseConfig(options);
        auto rules = std::make_shared<const RuleSet>(loadRuleSet(config.rules_file));
        LoadedState state =
            config.state_file.empty()
                ? LoadedState{Inventory(config.max_state_bytes), UserDeletions(kMaxDeletions, config.max_state_bytes)}
                : loadStateFile(config.state_file, config.max_state_bytes, kMaxDeletions, config.max_state_bytes);
        const size_t owned = state.inventory.configCount(), deleted = state.deletions.count();
        engine =
            std::make_unique<DiscoveryEngine>(rules, config, clock, metrics, std::move(state), std::random_device{}());
        if (!config.state_file.empty()) writer = std::make_unique<StateFileWriter>(config.state_file);
        scheduleMetrics(config.instance, config.metrics_interval);
        state_timer = IntervalTimer(config.state_interval);
        logger.info("loaded " + std::to_string(rules->rules.size()) + " rule(s) from " +
                    quoteForLog(config.rules_file) + "; " + std::to_string(owned) + " owned config(s), " +
                    std::to_string(deleted) + " user deletion(s); discovery_mode " +
                    (config.discovery_mode == DiscoveryForm::Device ? "device" : "entity") +
                    (config.dry_run ? " (dry run: nothing is published)" : ""));
    }

    // Reload: the rules file re-read (a bad one throws and the running rules stay); options stay.
    void reload(const RawOptions&) {
        auto rules = std::make_shared<const RuleSet>(loadRuleSet(config.rules_file));
        engine->replaceRules(rules, clock.now());
        flushOutbox();
        logger.info("reloaded " + std::to_string(rules->rules.size()) + " rule(s) from " +
                    quoteForLog(config.rules_file));
    }

    void flushOutbox() {
        for (auto& [key, text] : engine->notes()) {
            if (key == "dry-run" || key == "removed" || key == "deleted")
                logger.info(text);
            else
                warnings.warning(key, text);
        }
        engine->notes().clear();
        for (const auto& m : engine->outbox()) {
            std::string problem = broker::publishChecked(m.topic, m.payload, m.qos, m.retain);
            if (!problem.empty()) {
                publish_failed.add();
                warnings.warning("publish", "cannot publish to " + quoteForLog(m.topic) + ": " + problem);
            }
        }
        engine->outbox().clear();
    }

    void saveState(bool final) {
        if (!writer) return;
        // Built, serialized and written by a forked child from its copy-on-write image of the engine (at the
        // fork: this instant, or later when a previous child is still writing), so the broker thread neither
        // copies nor renders the state (state_file_writer.hpp). The writer is destroyed before the engine.
        if (engine->takeStateChanged()) writer->submit([engine = engine.get()] { return engine->currentState().render(); });
        if (final) writer->flush();
        for (const auto& e : writer->takeErrors()) warnings.warning("state", "cannot write the state file: " + e);
        state_writes.set(static_cast<int64_t>(writer->writes()));
        state_write_failures.set(static_cast<int64_t>(writer->failures()));
    }

    // The skeleton runs this from TICK and MESSAGE, then publishes the metrics. At most once per
    // kTimersEvery: the broker ticks about once per message under load, and a full run (republish pace,
    // idle check, gauges, outbox) per message and per tick was a fifth of the plugin's cost per message;
    // every timer here is 1 s or coarser, and the outbox of a message is flushed by onMessage itself.
    void onTimers(Clock::TimePoint now) {
        if (now < next_timers) return;
        next_timers = now + kTimersEvery;
        if (!started) {  // broker start: re-publish what this run knows, paced
            started = true;
            engine->scheduleRepublishAll(now, true);
        }
        engine->onTimers(now);
        flushOutbox();
        if (writer) writer->poll();  // a finished writer process, and the snapshot waiting for it
        if (state_timer.due(now)) saveState(false);
    }

    int onMessage(const mosquitto_evt_message* event, Clock::TimePoint now) {
        // The client id (a call and a strlen) only for rules that need it.
        const char* id = engine->usesClientId() ? mosquitto_client_id(event->client) : nullptr;
        engine->onMessage(id ? std::string_view(id) : std::string_view(), event->topic, event->payload,
                          event->payloadlen, event->retain, now);
        if (!engine->outbox().empty() || !engine->notes().empty()) flushOutbox();
        return MOSQ_ERR_SUCCESS;  // discovery watches; it never drops a message
    }

    void onDisconnect(const mosquitto_evt_disconnect* event) {
        const char* id = mosquitto_client_id(event->client);
        if (id == nullptr) return;
        engine->onDisconnect(id);
        flushOutbox();
    }

    int onControl(mosquitto_evt_control* event) {
        const char* id = mosquitto_client_id(event->client);
        std::vector<std::string> log;
        std::string reply = engine->handleControl(
            std::string_view(static_cast<const char*>(event->payload), event->payloadlen), clock.now(), log);
        for (const auto& line : log) logger.info(quoteForLog(id ? id : "") + " | " + line);
        flushOutbox();
        if (id != nullptr) {
            const int rc = mosquitto_broker_publish_copy(id, kResponseTopic, static_cast<int>(reply.size()),
                                                         reply.data(), event->qos > 0 ? 1 : 0, false, nullptr);
            if (rc != MOSQ_ERR_SUCCESS) logger.warning("cannot send the reply to client " + quoteForLog(id));
        }
        return MOSQ_ERR_SUCCESS;
    }

    void shutdown() {
        saveState(true);
        writer.reset();  // waits for the writer process and writes what is pending
    }
};

}  // namespace
}  // namespace mqs::hadiscovery

MQS_PLUGIN_ENTRY_POINTS(mqs::hadiscovery::HaDiscoveryPlugin)
