// Rule evaluation for one message; the semantics are documented in docs/validate.md ("Behaviour").
#include "validate/message_checker.hpp"

#include <simdjson.h>

namespace mqs::validate {
namespace {

// disconnect_after tracks at most this many clients; at the cap expired windows are swept (at most
// once a second) and, if still full, new clients are not tracked (counted in clients/tracking_full).
constexpr size_t kMaxTrackedClients = 100'000;

std::string sizeText(uint64_t n) { return std::to_string(n) + " bytes"; }

}  // namespace

MessageChecker::MessageChecker(const Config& config, std::shared_ptr<const RuleSet> rules, MetricsRegistry& metrics,
                               const Clock& clock)
    : config_(config),
      rules_(std::move(rules)),
      metrics_(metrics),
      clock_(clock),
      parser_(JsonLimits{config.max_json_bytes, config.max_json_depth}),
      messages_seen_(metrics.get("messages/checked")),
      messages_rejected_(metrics.get("messages/rejected")),
      tracked_clients_(metrics.get("clients/tracked")),
      tracking_full_(metrics.get("clients/tracking_full")) {
    for (const auto& rule : rules_->rules) rule_metrics_.push_back(makeMetrics(rule));
    if (rules_->default_rule) rule_metrics_.push_back(makeMetrics(*rules_->default_rule));
    metrics.get("rules/count").set(static_cast<int64_t>(rules_->rules.size()));
}

MessageChecker::RuleMetrics MessageChecker::makeMetrics(const Rule& rule) {
    const std::string p = "rules/" + rule.name + "/";
    return RuleMetrics{&metrics_.get(p + "matched"),       &metrics_.get(p + "passed"),
                       &metrics_.get(p + "failed"),        &metrics_.get(p + "dropped"),
                       &metrics_.get(p + "dead_lettered"), &metrics_.get(p + "shadow_failed"),
                       &metrics_.get(p + "disconnected")};
}

MessageChecker::RuleMetrics& MessageChecker::metricsFor(const Rule& rule) {
    const auto& rules = rules_->rules;
    if (!rules.empty() && &rule >= &rules.front() && &rule <= &rules.back()) return rule_metrics_[static_cast<size_t>(&rule - &rules.front())];
    return rule_metrics_.back();  // the default rule
}

void MessageChecker::forgetClient(std::string_view client_id) {
    if (failure_windows_.empty()) return;
    failure_windows_.erase(std::string(client_id));
    tracked_clients_.set(static_cast<int64_t>(failure_windows_.size()));
}

bool MessageChecker::parseJsonOnce(const Message& message, std::string& error) {
    if (!json_parsed_) {
        json_parsed_ = true;
        json_ok_ = parser_.parse(message.payload, message.payload_length, json_root_, json_error_);
    }
    if (!json_ok_) error = json_error_;
    return json_ok_;
}

bool MessageChecker::evaluateRule(const Rule& rule, const Message& message, std::vector<CheckFailure>* failures) {
    auto failWith = [&](const char* check, std::string pointer, std::string text) {
        if (failures) failures->push_back({rule.name, check, std::move(pointer), std::move(text)});
        return false;
    };
    const uint64_t size = message.payload_length;
    if (rule.max_size && size > *rule.max_size) {
        return failWith("size", "", "payload is " + sizeText(size) + ", more than max_size " + sizeText(*rule.max_size));
    }
    if (rule.min_size && size < *rule.min_size) {
        return failWith("size", "", "payload is " + sizeText(size) + ", less than min_size " + sizeText(*rule.min_size));
    }
    if (rule.require_json) {
        std::string error;
        // simdjson validates UTF-8 while parsing, so a JSON check covers the utf8 check too.
        if (!parseJsonOnce(message, error)) return failWith(error == "invalid UTF-8" ? "utf8" : "json", "", error);
        if (rule.schema) {
            // One evaluation gives the verdict and the errors: on a passing message collecting costs
            // nothing (errors are only built when a keyword fails) and schema_errors_ keeps its capacity.
            ++schema_evaluations_;
            schema_errors_.clear();
            if (rule.schema->validate(json_root_, failures ? &schema_errors_ : nullptr, config_.max_errors)) {
                return true;
            }
            if (!failures) return false;
            if (schema_errors_.empty()) return failWith("schema", "", "does not match the schema");
            for (auto& e : schema_errors_) {
                failures->push_back({rule.name, "schema", std::move(e.pointer), std::move(e.message)});
            }
            return false;
        }
    } else if (rule.require_utf8) {
        if (!simdjson::validate_utf8(static_cast<const char*>(message.payload), message.payload_length)) {
            return failWith("utf8", "", "payload is not valid UTF-8");
        }
    }
    return true;
}

bool MessageChecker::recordFailureAndCheckDisconnect(const Rule& rule, std::string_view client_id) {
    if (rule.disconnect_after.failures == 0) return false;
    const auto now = clock_.now();
    auto it = failure_windows_.find(std::string(client_id));
    if (it == failure_windows_.end()) {
        if (failure_windows_.size() >= kMaxTrackedClients && now - last_sweep_ >= std::chrono::seconds(1)) {
            last_sweep_ = now;
            for (auto entry = failure_windows_.begin(); entry != failure_windows_.end();) {
                std::erase_if(entry->second, [&](const FailureWindow& w) { return now - w.start > w.rule->disconnect_after.window; });
                entry = entry->second.empty() ? failure_windows_.erase(entry) : std::next(entry);
            }
        }
        if (failure_windows_.size() >= kMaxTrackedClients) {
            tracking_full_.add();
            return false;
        }
        it = failure_windows_.try_emplace(std::string(client_id)).first;
    }
    auto& windows = it->second;
    FailureWindow* w = nullptr;
    for (auto& candidate : windows) {
        if (candidate.rule == &rule) w = &candidate;
    }
    if (w == nullptr) w = &windows.emplace_back(FailureWindow{&rule, now, 0});
    if (now - w->start > rule.disconnect_after.window) *w = FailureWindow{&rule, now, 0};
    ++w->count;
    bool disconnect = w->count >= rule.disconnect_after.failures;
    if (disconnect) failure_windows_.erase(it);
    tracked_clients_.set(static_cast<int64_t>(failure_windows_.size()));
    return disconnect;
}

void MessageChecker::check(const Message& message, Verdict& out) {
    out.outcome = Outcome::Pass;
    out.deciding_rule = nullptr;
    out.failures.clear();
    out.shadow_failures.clear();
    out.dead_letter_topic.clear();
    out.disconnect = false;
    matched_.clear();
    captures_.clear();
    json_parsed_ = false;
    messages_seen_.add();

    const RuleSet& set = *rules_;
    for (const auto& rule : set.rules) {
        if (rule.matches(message.topic, nullptr)) matched_.push_back(&rule);
    }
    if (matched_.empty() && set.default_rule) matched_.push_back(&*set.default_rule);
    if (matched_.empty()) return;

    size_t enforcing = 0, enforcing_passed = 0;
    const Rule* first_failed = nullptr;
    for (const Rule* rule : matched_) {
        RuleMetrics& m = metricsFor(*rule);
        m.matched->add();
        bool shadow = rule->action == FailureAction::Shadow;
        // Each rule is evaluated once; its errors (if it fails) go straight into the verdict.
        bool passed = evaluateRule(*rule, message, shadow ? &out.shadow_failures : &out.failures);
        (passed ? m.passed : m.failed)->add();
        if (shadow) {
            if (!passed) m.shadow_failed->add();
            continue;
        }
        ++enforcing;
        if (passed) {
            ++enforcing_passed;
        } else if (!first_failed) {
            first_failed = rule;
        }
    }
    bool accepted = enforcing == 0 || (set.match_policy == MatchPolicy::All ? enforcing_passed == enforcing
                                                                             : enforcing_passed > 0);
    if (accepted) {
        // Under "any", failures of the rules that lost are not reported: the message is valid.
        out.failures.clear();
        return;
    }
    messages_rejected_.add();
    out.deciding_rule = first_failed;
    RuleMetrics& m = metricsFor(*first_failed);
    if (first_failed->action == FailureAction::DeadLetter) {
        out.outcome = Outcome::DeadLetter;
        m.dead_lettered->add();
        first_failed->matches(message.topic, &captures_);
        captures_.set("rule", first_failed->name);
        captures_.set("topic", message.topic);
        captures_.set("client_id", message.client_id);
        captures_.set("username", message.username);
        out.dead_letter_topic = first_failed->dead_letter_topic->render(captures_);
    } else {
        out.outcome = Outcome::Drop;
        m.dropped->add();
    }
    // A Will's client is already gone: nothing to count towards disconnect_after, nobody to disconnect.
    if (!message.will && recordFailureAndCheckDisconnect(*first_failed, message.client_id)) {
        out.disconnect = true;
        m.disconnected->add();
    }
}

}  // namespace mqs::validate
