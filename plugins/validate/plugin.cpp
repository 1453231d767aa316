// Broker adapter of mosquitto_validate.so: option parsing at init and reload, callback registration,
// and the translation of a MOSQ_EVT_MESSAGE into a MessageChecker verdict. The logic lives elsewhere.
#include <memory>
#include <string>

#include "validate/config.hpp"
#include "validate/dead_letter.hpp"
#include "common/broker/error_text.hpp"
#include "validate/message_checker.hpp"
#include "common/broker/mosquitto_api.hpp"
#include "common/broker/plugin_lifecycle.hpp"

namespace mqs::validate {
namespace {

// One validate instance: its options, the checker built from its rules, its rate-limited rejection log.
struct ValidatePlugin : broker::PluginBase<ValidatePlugin> {
    static constexpr const char* kName = "validate";

    Config config;
    std::unique_ptr<MessageChecker> checker;
    RateLimitedLog rejections{logger, clock};
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
        scheduleMetrics(config.instance, config.metrics_interval);
        logger.info("loaded " + std::to_string(rules->rules.size()) + " rule(s)" +
                    (rules->default_rule ? " and a default rule" : "") + " from " + quoteForLog(config.rules_file) +
                    ", match_policy " + (rules->match_policy == MatchPolicy::All ? "all" : "any"));
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
            line += v.outcome == Outcome::DeadLetter ? "; dead-lettered to " + quoteForLog(v.dead_letter_topic)
                                                     : "; dropped";
        }
        rejections.warning(first.rule, line);
    }

    static constexpr const char* kKeptOnRefusedReload = "rules";

    // The options from the skeleton's reload policy, the rules file re-read; swapped in only if valid.
    void reload(const RawOptions& options) { load(options); }

    int onMessage(mosquitto_evt_message* event, Clock::TimePoint) {
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
            std::string problem = broker::publishChecked(verdict.dead_letter_topic, envelope,
                                                         verdict.deciding_rule->dead_letter_qos, false);
            if (!problem.empty()) {
                dead_letter_publish_failed.add();
                rejections.warning("dead-letter-publish", "could not publish dead letter to " +
                                                              quoteForLog(verdict.dead_letter_topic) + ": " + problem);
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

    // A client's repeat-offence counts go with its connection.
    void onDisconnect(const mosquitto_evt_disconnect* event) {
        const char* id = mosquitto_client_id(event->client);
        if (id) checker->forgetClient(id);
    }
};

}  // namespace
}  // namespace mqs::validate

MQS_PLUGIN_ENTRY_POINTS(mqs::validate::ValidatePlugin)
