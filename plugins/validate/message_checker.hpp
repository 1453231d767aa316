// Decides what happens to one publish: which rules match, whether each passes, and the verdict
// (pass, drop, dead-letter, disconnect) with the errors to report. Plain logic, no broker calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "validate/config.hpp"
#include "common/json_payload.hpp"
#include "common/metrics.hpp"
#include "validate/rules.hpp"

namespace mqs::validate {

struct Message {
    std::string_view topic;
    const void* payload = nullptr;
    size_t payload_length = 0;
    std::string_view client_id;
    std::string_view username;  // empty when none
    bool has_username = false;
    int qos = 0;
    bool retain = false;
    bool will = false;  // a client's Will, write-checked when the broker sends it (never a MOSQ_EVT_MESSAGE)
};

struct CheckFailure {
    std::string rule;
    std::string check;  // "size", "utf8", "json", "schema"
    std::string pointer;
    std::string message;
};

enum class Outcome { Pass, Drop, DeadLetter };

struct Verdict {
    Outcome outcome = Outcome::Pass;
    const Rule* deciding_rule = nullptr;  // the first failing enforcing rule, when not Pass
    std::vector<CheckFailure> failures;   // of every failing enforcing rule (for logs and dead letters)
    std::vector<CheckFailure> shadow_failures;
    std::string dead_letter_topic;
    bool disconnect = false;              // the publisher reached disconnect_after
};

// Thread: broker thread only (owns a JSON parser and per-client failure windows).
// Never throws from check(); rule sets are swapped whole on reload and metrics survive by rule name.
class MessageChecker {
public:
    MessageChecker(const Config& config, std::shared_ptr<const RuleSet> rules, MetricsRegistry& metrics,
                   const Clock& clock);
    MessageChecker(const MessageChecker&) = delete;
    MessageChecker& operator=(const MessageChecker&) = delete;

    // Verdict is written into `out` (reused by the caller to avoid allocation on the pass path).
    void check(const Message& message, Verdict& out);

    const RuleSet& rules() const { return *rules_; }
    // Forget the failure windows of a client that disconnected.
    void forgetClient(std::string_view client_id);
    size_t trackedClients() const { return failure_windows_.size(); }
    // Schema validations run so far (diagnostics; tests use it to prove one evaluation per rule and message).
    uint64_t schemaEvaluations() const { return schema_evaluations_; }

private:
    struct RuleMetrics {
        Metric* matched;
        Metric* passed;
        Metric* failed;
        Metric* dropped;
        Metric* dead_lettered;
        Metric* shadow_failed;
        Metric* disconnected;
    };
    struct FailureWindow {
        const Rule* rule;
        Clock::TimePoint start;
        uint32_t count = 0;
    };

    bool evaluateRule(const Rule& rule, const Message& message, std::vector<CheckFailure>* failures);
    bool parseJsonOnce(const Message& message, std::string& error);
    RuleMetrics makeMetrics(const Rule& rule);
    RuleMetrics& metricsFor(const Rule& rule);
    bool recordFailureAndCheckDisconnect(const Rule& rule, std::string_view client_id);

    const Config config_;
    std::shared_ptr<const RuleSet> rules_;
    MetricsRegistry& metrics_;
    const Clock& clock_;
    JsonPayloadParser parser_;
    // Indexed like rules_->rules, the default rule last: no lookup on the hot path.
    std::vector<RuleMetrics> rule_metrics_;
    // Only clients that failed a rule with disconnect_after are here; capped, see kMaxTrackedClients.
    std::unordered_map<std::string, std::vector<FailureWindow>> failure_windows_;
    Clock::TimePoint last_sweep_{};
    Metric& messages_seen_;
    Metric& messages_rejected_;
    Metric& tracked_clients_;
    Metric& tracking_full_;

    // Per-message scratch, reset in check().
    std::vector<const Rule*> matched_;
    Captures captures_;
    bool json_parsed_ = false;
    bool json_ok_ = false;
    std::string json_error_;
    simdjson::dom::element json_root_;
    std::vector<SchemaError> schema_errors_;  // reused so a failing rule does not reallocate it
    uint64_t schema_evaluations_ = 0;
};

}  // namespace mqs::validate
