// Broker adapter of mosquitto_validate.so: option parsing at init and reload, callback registration,
// and the translation of a MOSQ_EVT_MESSAGE (or of a Will's write check) into a MessageChecker verdict.
#include <memory>
#include <string>

#include "validate/config.hpp"
#include "validate/dead_letter.hpp"
#include "validate/disconnected_clients.hpp"
#include "common/broker/error_text.hpp"
#include "validate/message_checker.hpp"
#include "common/broker/mosquitto_api.hpp"
#include "common/broker/plugin_lifecycle.hpp"

namespace mqs::validate {
namespace {

// The checker's view of a publish (MOSQ_EVT_MESSAGE) or of a Will's write check (MOSQ_EVT_ACL_CHECK).
template <typename Event>
Message messageOf(const Event& event) {
    Message message;
    message.topic = event.topic;
    message.payload = event.payload;
    message.payload_length = event.payloadlen;
    const char* client_id = mosquitto_client_id(event.client);
    const char* username = mosquitto_client_username(event.client);
    message.client_id = client_id ? client_id : "";
    message.username = username ? username : "";
    message.has_username = username != nullptr;
    message.qos = event.qos;
    message.retain = event.retain;
    return message;
}

// One validate instance: its options, the checker built from its rules, its rate-limited rejection log.
struct ValidatePlugin : broker::PluginBase<ValidatePlugin> {
    static constexpr const char* kName = "validate";

    Config config;
    std::unique_ptr<MessageChecker> checker;
    RateLimitedLog rejections{logger, clock};
    Verdict verdict;  // reused for every message
    Metric& dead_letter_publish_failed = metrics.get("dead_letters/publish_failed");
    DisconnectedClients disconnected;  // tells a Will's write check from an ordinary publish's
    Metric& wills_checked = metrics.get("wills/checked");
    Metric& wills_rejected = metrics.get("wills/rejected");
    bool started = false;
    broker::AclPass acl_pass = broker::AclPass::Unregistered;  // decided at init from will_check

    // Loads options and rules; throws ConfigError or RulesError. Used at init and on reload.
    void load(const RawOptions& options) {
        Config next = parseConfig(options);
        auto rules = std::make_shared<const RuleSet>(loadRuleSet(next.rules_file));
        auto next_checker = std::make_unique<MessageChecker>(next, rules, metrics, clock);
        // The ACL_CHECK callback is registered (or not) once, at init: its answer cannot change afterwards.
        if (started && next.will_check != config.will_check) {
            throw ConfigError("will_check", "cannot change on reload; restart the broker to change it");
        }
        // Nothing above touched the live state: swap only now that everything is valid.
        config = next;
        if (!started) {
            started = true;
            acl_pass = broker::aclPassFor(broker_line, config.will_check);
            register_acl_check = acl_pass != broker::AclPass::Unregistered;
            if (config.will_check == broker::AclNeighbours::Auto && acl_pass == broker::AclPass::Unregistered) {
                logger.warning(
                    "Wills are not checked: on Mosquitto 2.0 set plugin_opt_will_check to acl_after (an acl_file, "
                    "dynamic-security or another ACL plugin loaded after validate decides access) or sole_acl (none "
                    "does), or to off to silence this");
            }
        }
        checker = std::move(next_checker);
        scheduleMetrics(config.instance, config.metrics_interval);
        logger.info("loaded " + std::to_string(rules->rules.size()) + " rule(s)" +
                    (rules->default_rule ? " and a default rule" : "") + " from " + quoteForLog(config.rules_file) +
                    ", match_policy " + (rules->match_policy == MatchPolicy::All ? "all" : "any"));
    }

    void logRejection(const Message& message, const Verdict& v, bool shadow) {
        const std::string what = message.will ? "the Will on " : "";
        const auto& failures = shadow ? v.shadow_failures : v.failures;
        if (failures.empty()) return;
        const CheckFailure& first = failures.front();
        std::string line = std::string(shadow ? "shadow rule " : "rule ") + quoteForLog(first.rule) +
                           (shadow ? " would reject " : " rejected ") + what + quoteForLog(message.topic) +
                           (message.will ? " of client " : " from client ") + quoteForLog(message.client_id) + ": " +
                           (first.pointer.empty() ? "" : first.pointer + ": ") + quoteForLog(first.message);
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
        disconnected.endOfDisconnect();
        const Message message = messageOf(*event);

        checker->check(message, verdict);
        if (!verdict.shadow_failures.empty()) logRejection(message, verdict, true);
        if (verdict.outcome == Outcome::Pass) return MOSQ_ERR_SUCCESS;

        logRejection(message, verdict, false);
        if (verdict.outcome == Outcome::DeadLetter) deadLetter(message);
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

    void deadLetter(const Message& message) {
        std::string envelope = buildDeadLetter(message, verdict, clock.wallNow(), config.dead_letter_payload_limit);
        std::string problem =
            broker::publishChecked(verdict.dead_letter_topic, envelope, verdict.deciding_rule->dead_letter_qos, false);
        if (!problem.empty()) {
            dead_letter_publish_failed.add();
            rejections.warning("dead-letter-publish", "could not publish dead letter to " +
                                                          quoteForLog(verdict.dead_letter_topic) + ": " + problem);
        }
    }

    // Timers run from TICK and MESSAGE; either ends the DISCONNECT whose immediate Will could still come.
    void onTimers(Clock::TimePoint) { disconnected.endOfDisconnect(); }

    // An internal error in onAclCheck lets the check pass, as one in onMessage lets the message pass.
    int aclAnswerOnError() const { return broker::aclPassCode(acl_pass); }

    // Registered only when acl_pass says so. Mosquitto sends Wills past MOSQ_EVT_MESSAGE but write-checks them
    // here (src/context.c, context__send_will) once their client has disconnected; an ordinary publish is
    // write-checked while connected and checked again in onMessage, so it is left alone (docs/validate.md, Wills).
    int onAclCheck(const mosquitto_evt_acl_check* event) {
        const int pass = broker::aclPassCode(acl_pass);
        // The hottest callback: reads, subscriptions and connected publishers leave at the first test or two.
        if (event->access != MOSQ_ACL_WRITE || !disconnected.contains(event->client)) {
            disconnected.endOfDisconnect();
            return pass;
        }
        const char* client_id = mosquitto_client_id(event->client);
        if (!disconnected.takeWill(event->client, client_id ? client_id : "")) return pass;

        Message message = messageOf(*event);
        message.will = true;

        wills_checked.add();
        checker->check(message, verdict);
        if (!verdict.shadow_failures.empty()) logRejection(message, verdict, true);
        if (verdict.outcome == Outcome::Pass) return pass;
        wills_rejected.add();
        logRejection(message, verdict, false);
        if (verdict.outcome == Outcome::DeadLetter) deadLetter(message);
        return MOSQ_ERR_ACL_DENIED;  // context__send_will drops the Will
    }

    // A client's repeat-offence counts go with its connection; the context is remembered for its Will.
    void onDisconnect(const mosquitto_evt_disconnect* event) {
        const char* id = mosquitto_client_id(event->client);
        if (id) checker->forgetClient(id);
        // Its Will, if any, is write-checked before the next callback (see DisconnectedClients).
        if (acl_pass != broker::AclPass::Unregistered) disconnected.onDisconnect(event->client, id ? id : "");
    }
};

}  // namespace
}  // namespace mqs::validate

MQS_PLUGIN_ENTRY_POINTS(mqs::validate::ValidatePlugin)
