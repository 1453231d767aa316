// Broker adapter of mosquitto_validate.so: option parsing at init and reload, callback registration,
// and the translation of a MOSQ_EVT_MESSAGE into a MessageChecker verdict. The logic lives elsewhere.
#include <memory>
#include <string>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "broker_glue.hpp"
#include "plugin_lifecycle.hpp"
#include "config.hpp"
#include "dead_letter.hpp"
#include "guard.hpp"
#include "message_checker.hpp"
#include "tick_watch.hpp"

namespace mqs::validate {
namespace {

constexpr const char* kPluginName = "validate";

// Everything one plugin instance owns; hangs off the broker's user_data pointer.
struct ValidatePlugin {
    mosquitto_plugin_id_t* identifier = nullptr;
    Logger logger{kPluginName, broker::logSink()};
    SystemClock clock;
    MetricsRegistry metrics;
    RawOptions init_options;  // Mosquitto 2.0 passes no options with MOSQ_EVT_RELOAD: reuse these
    Config config;
    std::unique_ptr<MessageChecker> checker;
    RateLimitedLog rejections{logger, clock};
    IntervalTimer metrics_timer{std::chrono::milliseconds(0)};
    TickWatch tick_watch;
    Verdict verdict;  // reused for every message
    Metric& dead_letter_publish_failed = metrics.get("dead_letters/publish_failed");

    // Loads options and rules; throws ConfigError or RulesError. Used at init and on reload.
    void load(const RawOptions& options) {
        Config next = parseConfig(options);
        auto rules = std::make_shared<const RuleSet>(loadRuleSet(next.rules_file));
        auto next_checker = std::make_unique<MessageChecker>(next, rules, metrics, clock);
        // Nothing above touched the live state: swap only now that everything is valid.
        config = next;
        checker = std::move(next_checker);
        metrics_timer = IntervalTimer(config.metrics_interval);
        logger.info("loaded " + std::to_string(rules->rules.size()) + " rule(s)" +
                    (rules->default_rule ? " and a default rule" : "") + " from " + quoteForLog(config.rules_file) +
                    ", match_policy " + (rules->match_policy == MatchPolicy::All ? "all" : "any"));
    }

    // Periodic work, driven by both TICK and MESSAGE (2.0.11 sends no tick with per_listener_settings).
    void runTimers(Clock::TimePoint now) {
        if (metrics_timer.due(now)) broker::publishMetrics(metrics, kPluginName, config.instance);
    }

    void logRejection(const Message& message, const Verdict& v, bool shadow) {
        const auto& failures = shadow ? v.shadow_failures : v.failures;
        if (failures.empty()) return;
        const CheckFailure& first = failures.front();
        std::string line = std::string(shadow ? "shadow rule " : "rule ") + quoteForLog(first.rule) +
                           (shadow ? " would reject " : " rejected ") + quoteForLog(message.topic) + " from client " +
                           quoteForLog(message.client_id) + ": " + (first.pointer.empty() ? "" : first.pointer + ": ") +
                           quoteForLog(first.message);
        if (failures.size() > 1) line += " (+" + std::to_string(failures.size() - 1) + " more)";
        if (!shadow && v.deciding_rule) {
            line += v.outcome == Outcome::DeadLetter ? "; dead-lettered to " + quoteForLog(v.dead_letter_topic) : "; dropped";
        }
        rejections.warning(first.rule, line);
    }

    static constexpr const char* kKeptOnRefusedReload = "rules";

    // Mosquitto 2.0 passes no options with a reload (the init options then); a later broker might.
    void reload(const mosquitto_evt_reload* event) {
        load(event->option_count > 0 ? broker::toRawOptions(event->options, event->option_count) : init_options);
    }

    int onMessage(mosquitto_evt_message* event) {
        const auto now = clock.now();
        runTimers(now);
        if (tick_watch.shouldWarn(now)) {
            logger.warning("no MOSQ_EVT_TICK received for 5 s (Mosquitto 2.0.11 sends none with per_listener_settings true); metrics are published from message callbacks instead");
        }
        Message message;
        message.topic = event->topic;
        message.payload = event->payload;
        message.payload_length = event->payloadlen;
        const char* client_id = mosquitto_client_id(event->client);
        const char* username = mosquitto_client_username(event->client);
        message.client_id = client_id ? client_id : "";
        message.username = username ? username : "";
        message.has_username = username != nullptr;
        message.qos = event->qos;
        message.retain = event->retain;

        checker->check(message, verdict);
        if (!verdict.shadow_failures.empty()) logRejection(message, verdict, true);
        if (verdict.outcome == Outcome::Pass) return MOSQ_ERR_SUCCESS;

        logRejection(message, verdict, false);
        if (verdict.outcome == Outcome::DeadLetter) {
            std::string envelope = buildDeadLetter(message, verdict, clock.wallNow(), config.dead_letter_payload_limit);
            int rc = mosquitto_broker_publish_copy(nullptr, verdict.dead_letter_topic.c_str(), static_cast<int>(envelope.size()),
                                                   envelope.data(), verdict.deciding_rule->dead_letter_qos, false, nullptr);
            if (rc != MOSQ_ERR_SUCCESS) {
                dead_letter_publish_failed.add();
                rejections.warning("dead-letter-publish", "could not publish dead letter to " + quoteForLog(verdict.dead_letter_topic) +
                                                              ": " + mosquitto_strerror(rc));
            }
        }
        if (verdict.disconnect) {
            logger.warning("disconnecting client " + quoteForLog(message.client_id) + ": rule " +
                           quoteForLog(verdict.deciding_rule->name) + " failed " +
                           std::to_string(verdict.deciding_rule->disconnect_after.failures) + " time(s) within " +
                           std::to_string(verdict.deciding_rule->disconnect_after.window.count()) + " ms");
            // The broker's own error path disconnects the publisher at once, on this thread.
            return MOSQ_ERR_ADMINISTRATIVE_ACTION;
        }
        return MOSQ_ERR_ACL_DENIED;
    }
};

int onDisconnectCallback(int, void* event_data, void* user_data) {
    auto* plugin = static_cast<ValidatePlugin*>(user_data);
    return guardCallback(plugin->logger, "disconnect", MOSQ_ERR_SUCCESS, [&] {
        const char* id = mosquitto_client_id(static_cast<mosquitto_evt_disconnect*>(event_data)->client);
        if (id) plugin->checker->forgetClient(id);
        return MOSQ_ERR_SUCCESS;
    });
}

constexpr broker::CallbackRegistration kCallbacks[] = {
    {MOSQ_EVT_MESSAGE, broker::messageCallback<ValidatePlugin>},
    {MOSQ_EVT_TICK, broker::tickCallback<ValidatePlugin>},
    {MOSQ_EVT_RELOAD, broker::reloadCallback<ValidatePlugin>},
    {MOSQ_EVT_DISCONNECT, onDisconnectCallback},
};

}  // namespace
}  // namespace mqs::validate

using mqs::validate::ValidatePlugin;

MQS_PLUGIN_EXPORT int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
    return mqs::broker::negotiatePluginVersion(supported_version_count, supported_versions);
}

MQS_PLUGIN_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** user_data,
                                            struct mosquitto_opt* options, int option_count) {
    return mqs::broker::startPlugin<ValidatePlugin>(
        mqs::validate::kPluginName, identifier, user_data, options, option_count, mqs::validate::kCallbacks,
        [](ValidatePlugin& plugin) { plugin.load(plugin.init_options); });
}

MQS_PLUGIN_EXPORT int mosquitto_plugin_cleanup(void* user_data, struct mosquitto_opt*, int) {
    return mqs::broker::stopPlugin<ValidatePlugin>(user_data, mqs::validate::kCallbacks, [](ValidatePlugin&) {});
}
