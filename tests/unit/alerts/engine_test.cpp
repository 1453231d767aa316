// AlertEngine with a FakeClock: every condition type, hysteresis, debounce (count and `for`),
// escalation, cooldown, renotify, deadman, retransmissions, invalid data, caps and state round trips.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "alerts/engine.hpp"

using namespace mqs;
using namespace mqs::alerts;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

class EngineTest : public ::testing::Test {
protected:
    void load(const std::string& rules_json, EngineLimits limits = {}) {
        limits_ = limits;
        rules_ = std::make_shared<const RuleSet>(parseRuleSet(rules_json, "test.json"));
        engine_ = std::make_unique<AlertEngine>(rules_, limits_, clock_, metrics_);
        engine_->enableChangeTracking();
    }
    // Sends a message and returns the alerts it caused, parsed (empty payloads as null).
    std::vector<json> send(const std::string& topic, const std::string& payload) {
        engine_->onMessage(topic, payload.data(), payload.size());
        return take();
    }
    // Same, from a sender at this QoS on this connection (MessageOrigin::connection).
    std::vector<json> sendFrom(const std::string& topic, const std::string& payload, MessageOrigin origin) {
        engine_->onMessage(topic, payload.data(), payload.size(), clock_.now(), origin);
        return take();
    }
    std::vector<json> advance(std::chrono::milliseconds by) {
        clock_.advance(by);
        engine_->onTimers();
        return take();
    }
    std::vector<json> take() {
        std::vector<json> out;
        for (auto& m : engine_->outbox()) {
            json j = m.payload.empty() ? json(nullptr) : json::parse(m.payload);
            if (j.is_object()) {
                j["_topic"] = m.topic;
                j["_retain"] = m.retain;
                j["_qos"] = m.qos;
            }
            out.push_back(j);
        }
        raw_.insert(raw_.end(), engine_->outbox().begin(), engine_->outbox().end());
        engine_->outbox().clear();
        return out;
    }
    // "-" for no alert, else the states joined by ','.
    static std::string states(const std::vector<json>& alerts) {
        if (alerts.empty()) return "-";
        std::string s;
        for (const auto& a : alerts) s += (s.empty() ? "" : ",") + (a.is_null() ? std::string("<empty>") : a["state"].get<std::string>());
        return s;
    }
    int64_t metric(const std::string& name) { return metrics_.get(name).value(); }

    FakeClock clock_;
    MetricsRegistry metrics_;
    EngineLimits limits_;
    std::shared_ptr<const RuleSet> rules_;
    std::unique_ptr<AlertEngine> engine_;
    std::vector<AlertMessage> raw_;
};

const char* kDht11 = R"J({"rules":[{
  "name": "dht11-temperature", "topic": "dht11/{device}/temperature", "value": "$",
  "levels": [{"name": "warning", "below": 5, "clear": 6, "count": 5},
             {"name": "critical", "below": 0, "clear": 1}],
  "alert_topic": "dht11/alerts/{device}/temperature", "qos": 1, "retain": true,
  "message": "{device}: {value} ({level} {state})"}]})J";

}  // namespace

TEST_F(EngineTest, Dht11ScenarioDebouncesEscalatesAndClearsOnce) {
    load(kDht11);
    for (const char* v : {"4.5", "4", "3.5", "3"}) {
        EXPECT_EQ(states(send("dht11/kitchen/temperature", v)), "-") << v;
        clock_.advance(2s);
    }
    auto raised = send("dht11/kitchen/temperature", "2.5");
    ASSERT_EQ(states(raised), "raised");
    EXPECT_EQ(raised[0]["level"], "warning");
    EXPECT_EQ(raised[0]["samples"], 5);
    EXPECT_EQ(raised[0]["value"], 2.5);
    EXPECT_EQ(raised[0]["threshold"], 5.0);
    EXPECT_EQ(raised[0]["device"], "kitchen");
    EXPECT_EQ(raised[0]["captures"]["device"], "kitchen");
    EXPECT_EQ(raised[0]["topic"], "dht11/kitchen/temperature");
    EXPECT_EQ(raised[0]["since"], "2025-11-22T00:00:00.000Z") << "since the first reading below 5";
    EXPECT_EQ(raised[0]["message"], "kitchen: 2.5 (warning raised)");
    EXPECT_EQ(raised[0]["_topic"], "dht11/alerts/kitchen/temperature");
    EXPECT_EQ(raised[0]["_retain"], true);
    EXPECT_EQ(raised[0]["_qos"], 1);

    EXPECT_EQ(states(send("dht11/kitchen/temperature", "3")), "-") << "still a warning";
    auto escalated = send("dht11/kitchen/temperature", "-1");
    ASSERT_EQ(states(escalated), "escalated");
    EXPECT_EQ(escalated[0]["level"], "critical");
    EXPECT_EQ(escalated[0]["previous"], "warning");
    EXPECT_EQ(states(send("dht11/kitchen/temperature", "0.5")), "-") << "critical holds until above 1";
    auto down = send("dht11/kitchen/temperature", "5.5");
    ASSERT_EQ(states(down), "de-escalated") << "warning holds until above 6";
    EXPECT_EQ(down[0]["level"], "warning");
    auto cleared = send("dht11/kitchen/temperature", "7");
    ASSERT_EQ(states(cleared), "cleared");
    EXPECT_EQ(cleared[0]["level"], "warning");
    EXPECT_EQ(cleared[0]["threshold"], 6.0) << "the clear threshold";
    EXPECT_EQ(states(send("dht11/kitchen/temperature", "8")), "-");
    EXPECT_EQ(metric("rules/dht11-temperature/raised"), 1);
    EXPECT_EQ(metric("rules/dht11-temperature/cleared"), 1);
    EXPECT_EQ(metric("rules/dht11-temperature/active"), 0);
    EXPECT_EQ(metric("rules/dht11-temperature/evaluated"), 11);
}

TEST_F(EngineTest, DebounceRestartsWhenASampleBreaksTheRun) {
    load(kDht11);
    for (const char* v : {"4", "4.1", "4.2", "4.3", "9", "4", "4.1", "4.2", "4.3"}) {
        EXPECT_EQ(states(send("dht11/d/temperature", v)), "-") << v;
    }
    EXPECT_EQ(states(send("dht11/d/temperature", "4.4")), "raised");
}

TEST_F(EngineTest, DirectJumpToCriticalRaisesCritical) {
    load(kDht11);
    auto a = send("dht11/d/temperature", "-3");
    ASSERT_EQ(states(a), "raised");
    EXPECT_EQ(a[0]["level"], "critical");
    EXPECT_EQ(states(send("dht11/d/temperature", "10")), "cleared");
}

namespace {
struct ConditionCase {
    const char* name;
    const char* level;                  // one level's JSON
    std::vector<std::string> values;    // payloads in order
    std::vector<std::string> expected;  // states after each value
};
std::ostream& operator<<(std::ostream& os, const ConditionCase& c) { return os << c.name; }

class EngineConditionTable : public EngineTest, public ::testing::WithParamInterface<ConditionCase> {};
}  // namespace

TEST_P(EngineConditionTable, StatesFollowTheValues) {
    const auto& c = GetParam();
    load(std::string(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[)") + c.level + "]}]}");
    ASSERT_EQ(c.values.size(), c.expected.size());
    for (size_t i = 0; i < c.values.size(); ++i) {
        EXPECT_EQ(states(send("s/x", c.values[i])), c.expected[i]) << "step " << i << ", value " << c.values[i];
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, EngineConditionTable,
    ::testing::Values(
        ConditionCase{"AboveWithHysteresis", R"({"name":"w","above":30,"clear":28})",
                      {"29", "31", "29", "28", "27.9", "30.5"}, {"-", "raised", "-", "-", "cleared", "raised"}},
        ConditionCase{"AboveWithoutHysteresis", R"({"name":"w","above":30})", {"31", "30", "31"}, {"raised", "cleared", "raised"}},
        ConditionCase{"Below", R"({"name":"w","below":5})", {"6", "4", "6"}, {"-", "raised", "cleared"}},
        ConditionCase{"AtLeast", R"({"name":"w","at_least":1})", {"0", "1", "2", "0"}, {"-", "raised", "-", "cleared"}},
        ConditionCase{"AtMost", R"({"name":"w","at_most":1})", {"2", "1", "1.5"}, {"-", "raised", "cleared"}},
        ConditionCase{"Outside", R"({"name":"w","outside":[10,20],"clear":[11,19]})",
                      {"15", "21", "19.5", "18", "9"}, {"-", "raised", "-", "cleared", "raised"}},
        ConditionCase{"Inside", R"({"name":"w","inside":[10,20],"clear":[9,21]})",
                      {"5", "15", "20.5", "22"}, {"-", "raised", "-", "cleared"}},
        ConditionCase{"Equals", R"({"name":"w","equals":3})", {"1", "3", "3.0", "2"}, {"-", "raised", "-", "cleared"}},
        ConditionCase{"NotEquals", R"({"name":"w","not_equals":0})", {"0", "1", "0"}, {"-", "raised", "cleared"}},
        ConditionCase{"ChangeWithHysteresis", R"({"name":"w","change":5,"clear":1})",
                      {"10", "20", "22", "22.5"}, {"-", "raised", "-", "cleared"}},
        ConditionCase{"CountDebounce", R"({"name":"w","above":1,"count":3})",
                      {"2", "3", "0", "2", "3", "4", "5"}, {"-", "-", "-", "-", "-", "raised", "-"}},
        ConditionCase{"NonNumericIgnored", R"({"name":"w","above":1,"count":2})",
                      {"2", "hot", "", "3"}, {"-", "-", "-", "raised"}}),
    [](const ::testing::TestParamInfo<ConditionCase>& p) { return std::string(p.param.name); });

TEST_F(EngineTest, ForDurationRaisesFromTheTimerWithoutNewSamples) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","value":"t",
             "levels":[{"name":"w","above":30,"for":"10s"}]}]})");
    EXPECT_EQ(states(send("s/x", R"({"t":31})")), "-");
    clock_.advance(5s);
    EXPECT_EQ(states(send("s/x", R"({"t":32})")), "-");
    EXPECT_EQ(states(advance(4900ms)), "-");
    auto a = advance(100ms);
    ASSERT_EQ(states(a), "raised") << "10 s after the condition began, with no message";
    EXPECT_EQ(a[0]["value"], 32.0);
    EXPECT_EQ(a[0]["topic"], "s/x") << "rendered from the rule's topic";
}

TEST_F(EngineTest, ForDurationIsResetByASampleThatBreaksTheCondition) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[{"name":"w","above":30,"for":"10s"}]}]})");
    send("s/x", "31");
    clock_.advance(6s);
    send("s/x", "20");
    EXPECT_EQ(states(advance(10s)), "-");
}

TEST_F(EngineTest, EscalationAndDeEscalationWithHysteresisPerLevel) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[
             {"name":"warning","above":30,"clear":28},{"name":"critical","above":35,"clear":33},
             {"name":"fatal","above":40,"count":2}]}]})");
    EXPECT_EQ(states(send("s/x", "31")), "raised");
    EXPECT_EQ(states(send("s/x", "36")), "escalated");
    EXPECT_EQ(states(send("s/x", "41")), "-") << "fatal needs two samples";
    auto f = send("s/x", "42");
    ASSERT_EQ(states(f), "escalated");
    EXPECT_EQ(f[0]["level"], "fatal");
    EXPECT_EQ(f[0]["previous"], "critical");
    auto d = send("s/x", "34");
    ASSERT_EQ(states(d), "de-escalated");
    EXPECT_EQ(d[0]["level"], "critical");
    auto w = send("s/x", "29");
    ASSERT_EQ(states(w), "de-escalated");
    EXPECT_EQ(w[0]["level"], "warning");
    EXPECT_EQ(states(send("s/x", "27")), "cleared");
}

TEST_F(EngineTest, CooldownHoldsBackANewRaiseThenTheTimerRaises) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","cooldown":"60s",
             "levels":[{"name":"w","above":30}]}]})");
    EXPECT_EQ(states(send("s/x", "31")), "raised");
    EXPECT_EQ(states(send("s/x", "20")), "cleared");
    clock_.advance(10s);
    EXPECT_EQ(states(send("s/x", "31")), "-") << "within the cooldown";
    EXPECT_EQ(states(advance(49s)), "-");
    EXPECT_EQ(states(advance(1s)), "raised") << "condition still held when the cooldown ended";
}

TEST_F(EngineTest, RenotifyRepeatsAnActiveAlert) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","renotify":"5m",
             "levels":[{"name":"w","above":30}]}]})");
    send("s/x", "31");
    EXPECT_EQ(states(advance(299s)), "-");
    auto a = advance(1s);
    ASSERT_EQ(states(a), "active");
    EXPECT_EQ(a[0]["level"], "w");
    EXPECT_EQ(states(advance(5min)), "active");
    send("s/x", "20");
    EXPECT_EQ(states(advance(10min)), "-") << "no reminder once cleared";
}

TEST_F(EngineTest, DeadmanFiresFromTimersAndClearsWhenDataResumes) {
    load(R"({"rules":[{"name":"hb","topic":"entrepot/heartbeat/{zone}","deadman":"90s",
             "alert_topic":"entrepot/alerts/{zone}/heartbeat","on_clear":"empty"}]})");
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(states(send("entrepot/heartbeat/nord", "alive " + std::to_string(i))), "-");
        EXPECT_EQ(states(advance(30s)), "-");
    }
    EXPECT_LE(engine_->timerCount(), 2u) << "messages do not pile up timer entries";
    EXPECT_EQ(states(advance(59s)), "-");
    auto a = advance(1s);
    ASSERT_EQ(states(a), "raised");
    EXPECT_EQ(a[0]["level"], "deadman");
    EXPECT_EQ(a[0]["threshold"], 90.0);
    EXPECT_EQ(a[0]["topic"], "entrepot/heartbeat/nord");
    EXPECT_EQ(a[0]["_topic"], "entrepot/alerts/nord/heartbeat");
    EXPECT_EQ(states(advance(10min)), "-") << "raised once";
    auto c = send("entrepot/heartbeat/nord", "back");
    ASSERT_EQ(states(c), "cleared,<empty>") << "clear message, then the retained alert deleted";
    EXPECT_FALSE(raw_[raw_.size() - 2].retain);
    EXPECT_TRUE(raw_.back().retain);
    EXPECT_EQ(metric("rules/hb/active"), 0);
}

TEST_F(EngineTest, ManyDevicesOnlyDueTimersRun) {
    load(R"({"rules":[{"name":"hb","topic":"hb/{id}","deadman":"90s","alert_topic":"a/{id}"}]})");
    for (int i = 0; i < 1000; ++i) send("hb/" + std::to_string(i), "x");
    clock_.advance(60s);
    for (int i = 0; i < 500; ++i) send("hb/" + std::to_string(i), "y");
    EXPECT_EQ(advance(30s).size(), 500u) << "the 500 silent devices";
    // 500 deadman alerts + 500 entries of talking devices lazily re-armed (messages never touch the heap).
    EXPECT_EQ(metric("timers_fired"), 1000);
    EXPECT_EQ(advance(60s).size(), 500u) << "then the others";
}

TEST_F(EngineTest, RetransmissionsDoNotCountTwice) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[{"name":"w","below":5,"count":3}]}]})",
         EngineLimits{.duplicate_window = 2s});
    EXPECT_EQ(states(send("s/x", "4")), "-");
    EXPECT_EQ(states(send("s/x", "4")), "-") << "a retransmission";
    clock_.advance(500ms);
    EXPECT_EQ(states(send("s/x", "4")), "-") << "still within the window";
    EXPECT_EQ(metric("rules/r/duplicates"), 2);
    EXPECT_EQ(states(send("s/x", "3")), "-") << "second sample";
    clock_.advance(3s);
    EXPECT_EQ(states(send("s/x", "3")), "raised") << "same value after the window is a new reading";
}

TEST_F(EngineTest, DedupFieldDecidesRegardlessOfTime) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","value":"v","dedup_field":"ts",
             "levels":[{"name":"w","below":5,"count":2}]}]})");
    send("s/x", R"({"ts":1,"v":4})");
    clock_.advance(1h);
    EXPECT_EQ(states(send("s/x", R"({"ts":1, "v":4})")), "-") << "same timestamp: a retransmission, even an hour later";
    EXPECT_EQ(states(send("s/x", R"({"ts":2,"v":4})")), "raised") << "new timestamp, same payload otherwise";
}

TEST_F(EngineTest, InvalidValuesAreCountedOrAlerted) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","value":"t","invalid":"alert",
             "levels":[{"name":"w","above":30}]}]})");
    auto a = send("s/x", R"({"t":"hot"})");
    ASSERT_EQ(states(a), "raised");
    EXPECT_EQ(a[0]["level"], "invalid");
    EXPECT_EQ(a[0]["_topic"], "a/x/invalid");
    EXPECT_EQ(states(send("s/x", "not json")), "-") << "raised once";
    EXPECT_EQ(states(send("s/x", R"({"other":1})")), "-") << "missing field";
    EXPECT_EQ(states(send("s/x", R"({"t":1e999})")), "-") << "not finite";
    auto c = send("s/x", R"({"t":20})");
    ASSERT_EQ(states(c), "cleared");
    EXPECT_EQ(c[0]["level"], "invalid");
    EXPECT_EQ(metric("rules/r/invalid"), 4);
    EXPECT_EQ(states(send("s/x", R"({"t":true})")), "-") << "booleans read as 1/0";
}

TEST_F(EngineTest, DeviceCapIsCountedAndIdleDevicesExpire) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[{"name":"w","above":30}]}]})",
         EngineLimits{.max_devices = 2, .idle_expiry = 1h});
    send("s/a", "31");
    send("s/b", "1");
    send("s/c", "40");
    EXPECT_TRUE(take().empty()) << "c is not tracked";
    EXPECT_EQ(metric("devices_rejected"), 1);
    EXPECT_EQ(engine_->deviceCount(), 2u);
    advance(1h);
    EXPECT_EQ(engine_->deviceCount(), 1u) << "b expired; a keeps its active alert";
    EXPECT_EQ(metric("devices_expired"), 1);
    EXPECT_EQ(metric("rules/r/devices"), 1);
    EXPECT_EQ(states(send("s/c", "40")), "raised") << "room again";
}

TEST_F(EngineTest, ATopicSeenBeforeFindsItsOwnDeviceAfterExpiryAndSlotReuse) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[{"name":"w","above":30}]}]})",
         EngineLimits{.idle_expiry = 1h});
    send("s/a", "1");  // a's route is now cached
    advance(1h);
    ASSERT_EQ(engine_->deviceCount(), 0u);
    auto b = send("s/b", "31");  // b takes the slot a had
    ASSERT_EQ(states(b), "raised");
    EXPECT_EQ(b[0]["device"], "b");
    auto a = send("s/a", "31");
    ASSERT_EQ(states(a), "raised") << "the stale cached route must not feed b";
    EXPECT_EQ(a[0]["device"], "a");
    EXPECT_EQ(engine_->deviceCount(), 2u);
    EXPECT_EQ(states(send("s/b", "31")), "-") << "b still active, not re-raised";
}

TEST_F(EngineTest, StateSurvivesARestartThroughRecords) {
    load(kDht11);
    for (const char* v : {"4", "3", "2"}) send("dht11/a/temperature", v);
    for (int i = 0; i < 5; ++i) send("dht11/b/temperature", std::to_string(4 - i * 0.1));
    ASSERT_EQ(raw_.size(), 1u);
    auto dirty = engine_->takeDirty(SIZE_MAX);
    EXPECT_EQ(dirty.size(), 2u);
    std::string text = "{\"format\":\"mosquitto_alerts-state\",\"version\":1}\n";
    for (const auto& r : engine_->exportAll()) text += serializeRecord(r) + "\n";

    clock_.advance(10min);  // broker down
    MetricsRegistry fresh;
    AlertEngine restarted(rules_, limits_, clock_, fresh);
    EXPECT_EQ(restarted.importRecords(parseSnapshot(text, "snap"), true), 2u);
    EXPECT_EQ(fresh.get("rules/dht11-temperature/active").value(), 1);
    auto send2 = [&](const std::string& topic, const std::string& v) {
        restarted.onMessage(topic, v.data(), v.size());
        auto out = std::move(restarted.outbox());
        restarted.outbox().clear();
        return out;
    };
    EXPECT_TRUE(send2("dht11/a/temperature", "1.5").empty()) << "4th sample";
    auto raised = send2("dht11/a/temperature", "1");
    ASSERT_EQ(raised.size(), 1u) << "debounce carried across the restart";
    EXPECT_EQ(json::parse(raised[0].payload)["samples"], 5);
    auto cleared = send2("dht11/b/temperature", "20");
    ASSERT_EQ(cleared.size(), 1u);
    EXPECT_EQ(json::parse(cleared[0].payload)["state"], "cleared") << "the active alert survived";
}

TEST_F(EngineTest, ReloadKeepsStateByNameAndClearsVanishedLevels) {
    load(kDht11);
    send("dht11/a/temperature", "-5");
    take();
    auto records = engine_->exportAll();
    // New rules: the critical level is gone.
    auto next_rules = std::make_shared<const RuleSet>(parseRuleSet(R"({"rules":[{
      "name": "dht11-temperature", "topic": "dht11/{device}/temperature",
      "levels": [{"name": "warning", "below": 5, "count": 5}], "alert_topic": "dht11/alerts/{device}/temperature"}]})", "r2"));
    AlertEngine next(next_rules, limits_, clock_, metrics_);
    EXPECT_EQ(next.importRecords(records, false), 1u);
    ASSERT_EQ(next.outbox().size(), 1u);
    auto c = json::parse(next.outbox()[0].payload);
    EXPECT_EQ(c["state"], "cleared");
    EXPECT_EQ(c["level"], "critical");
    EXPECT_TRUE(c["threshold"].is_null());
}

TEST_F(EngineTest, TakeDirtyReportsChangesAndRemovals) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[{"name":"w","above":30}]}]})",
         EngineLimits{.idle_expiry = 1min});
    send("s/a", "1");
    send("s/b", "1");
    EXPECT_EQ(engine_->takeDirty(1).size(), 1u) << "bounded per call";
    EXPECT_EQ(engine_->takeDirty(10).size(), 1u);
    EXPECT_TRUE(engine_->takeDirty(10).empty());
    advance(2min);
    auto gone = engine_->takeDirty(10);
    ASSERT_EQ(gone.size(), 2u);
    EXPECT_TRUE(gone[0].removed);
}

TEST_F(EngineTest, RuleWithoutCapturesKeysDevicesByTopicAndMultipleRulesShareAMessage) {
    load(R"({"rules":[
        {"name":"t","topic":"w/+/v1","value":"temp","alert_topic":"a/t","levels":[{"name":"w","above":30}]},
        {"name":"l","topic":"w/{s}/v1","value":"level","alert_topic":"a/{s}/l","levels":[{"name":"w","at_least":1}]}]})");
    auto a = send("w/s1/v1", R"({"temp":31,"level":2})");
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0]["device"], "w/s1/v1");
    EXPECT_EQ(a[1]["_topic"], "a/s1/l");
    EXPECT_EQ(engine_->deviceCount(), 2u);
}

TEST_F(EngineTest, FlappingDevicesDoNotGrowTheTimerHeapWithoutBound) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[{"name":"w","above":30,"for":"1s"}]}]})");
    for (int i = 0; i < 3000; ++i) {
        send("s/x", "31");        // a `for` deadline earlier than the idle one: a new entry
        ASSERT_EQ(states(advance(1s)), "raised");
        ASSERT_EQ(states(send("s/x", "20")), "cleared");
    }
    EXPECT_LE(engine_->timerCount(), 2u * 1 + 1024 + 1) << "stale entries are compacted";
    EXPECT_EQ(states(send("s/x", "31")), "-");
    EXPECT_EQ(states(advance(1s)), "raised") << "and the live entry survived compaction";
}

TEST(AlertEngineLayout, DeviceStateIsCompact) {
    EXPECT_LE(AlertEngine::deviceStateBytes(), 160u);
}

TEST(RetransmissionHash, FlatAndDomReadersHashAValueAlike) {
    JsonPayloadParser parser;
    FlatJsonObject flat;
    for (const std::string value : {"1732200000000", "-3", "23.1", "44.0", "\"abc\"", "\"\"", "true", "false", "null", "0"}) {
        const std::string text = "{\"v\":" + value + "}";
        simdjson::dom::element root;
        std::string error;
        ASSERT_TRUE(parser.parse(text.data(), text.size(), root, error)) << text;
        ASSERT_TRUE(flat.scan(text)) << text;
        EXPECT_EQ(hashJsonValue(root["v"].value_unsafe(), 42), hashFlatValue(*flat.find("v"), 42)) << text;
    }
}

TEST_F(EngineTest, ARetransmissionIsCaughtWhicheverReaderReadsIt) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","value":"t","dedup_field":"ts","alert_topic":"a/{id}",
                       "levels":[{"name":"w","above":30,"count":2}]}]})");
    EXPECT_EQ(states(send("s/x", R"({"ts":1,"t":31})")), "-");                    // flat
    EXPECT_EQ(states(send("s/x", R"({"ts":1,"t":31,"extra":{"a":1}})")), "-");   // nested: simdjson, same ts
    EXPECT_EQ(metric("rules/r/duplicates"), 1);
    EXPECT_EQ(states(send("s/x", R"({"ts":2,"t":31,"extra":[1]})")), "raised") << "second sample counts";
    EXPECT_EQ(states(send("s/x", R"({"ts":2,"t":31})")), "-");
    EXPECT_EQ(metric("rules/r/duplicates"), 2);
}

TEST_F(EngineTest, TopicsTooLongToCacheAreTrackedAllTheSame) {
    load(R"({"rules":[{"name":"r","topic":"s/{id}","alert_topic":"a/{id}","levels":[{"name":"w","above":30,"count":2}]}]})");
    const std::string topic = "s/" + std::string(TopicCache<int>::kMaxTopicBytes, 'x');
    EXPECT_EQ(states(send(topic, "31")), "-");
    EXPECT_EQ(states(send(topic, "32")), "raised") << "the second sample found the same device";
    EXPECT_EQ(engine_->deviceCount(), 1u);
}

// Issue 11 item 6: a sensor that repeats a value quickly is not a retransmission.
TEST_F(EngineTest, IdenticalQos0ReadingsAreNeverRetransmissions) {
    load(kDht11, EngineLimits{.duplicate_window = 1s});
    DisconnectCounts disconnects;
    const MessageOrigin qos0 = disconnects.origin("dht11-board", 0);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(states(sendFrom("dht11/sensor/temperature", "3", qos0)), "-") << i;
        clock_.advance(200ms);
    }
    EXPECT_EQ(states(sendFrom("dht11/sensor/temperature", "3", qos0)), "raised") << "QoS 0 is never resent by MQTT";
    EXPECT_EQ(metric("rules/dht11-temperature/duplicates"), 0);
}

TEST_F(EngineTest, IdenticalQos1ReadingsOnOneConnectionAreNewReadings) {
    load(kDht11, EngineLimits{.duplicate_window = 1s});
    DisconnectCounts disconnects;
    for (int qos : {1, 2}) {
        const std::string topic = "dht11/q" + std::to_string(qos) + "/temperature";
        const MessageOrigin origin = disconnects.origin("board-" + std::to_string(qos), static_cast<uint8_t>(qos));
        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(states(sendFrom(topic, "3", origin)), "-") << i;
            clock_.advance(200ms);
        }
        EXPECT_EQ(states(sendFrom(topic, "3", origin)), "raised") << "a client resends only after reconnecting";
    }
    EXPECT_EQ(metric("rules/dht11-temperature/duplicates"), 0);
}

TEST_F(EngineTest, IdenticalQos1MessageAfterTheSendersReconnectIsARetransmission) {
    load(kDht11, EngineLimits{.duplicate_window = 1s});
    DisconnectCounts disconnects;
    for (const char* v : {"4.5", "4", "3.5", "3"}) {
        sendFrom("dht11/sensor/temperature", v, disconnects.origin("board", 1));
    }
    disconnects.onDisconnect("other-client");
    EXPECT_EQ(states(sendFrom("dht11/sensor/temperature", "3", disconnects.origin("board", 1))), "raised")
        << "another client's reconnect does not make this a retransmission (unless the ids' hashes collide)";
    load(kDht11, EngineLimits{.duplicate_window = 1s});
    for (const char* v : {"4.5", "4", "3.5", "3"}) {
        sendFrom("dht11/sensor/temperature", v, disconnects.origin("board", 1));
    }
    disconnects.onDisconnect("board");  // PUBACK lost, the board reconnects and resends
    EXPECT_EQ(states(sendFrom("dht11/sensor/temperature", "3", disconnects.origin("board", 1))), "-");
    EXPECT_EQ(metric("rules/dht11-temperature/duplicates"), 1);
    EXPECT_EQ(states(sendFrom("dht11/sensor/temperature", "2.5", disconnects.origin("board", 1))), "raised");
    // Another client sending the same content is never its retransmission.
    load(kDht11, EngineLimits{.duplicate_window = 1s});
    for (const char* v : {"4.5", "4", "3.5", "3"}) {
        sendFrom("dht11/sensor/temperature", v, disconnects.origin("board", 1));
    }
    EXPECT_EQ(states(sendFrom("dht11/sensor/temperature", "3", disconnects.origin("replacement-board", 1))), "raised");
}

TEST_F(EngineTest, RetransmissionAfterARestartIsRecognisedByContent) {
    load(kDht11, EngineLimits{.duplicate_window = 1s});
    DisconnectCounts disconnects;
    for (const char* v : {"4.5", "4", "3.5", "3"}) {
        sendFrom("dht11/sensor/temperature", v, disconnects.origin("board", 1));
    }
    MetricsRegistry fresh;
    AlertEngine restarted(rules_, limits_, clock_, fresh);
    restarted.importRecords(engine_->exportAll(), true);
    DisconnectCounts after_restart;  // the broker's counters start again from zero
    const std::string v = "3";
    restarted.onMessage("dht11/sensor/temperature", v.data(), v.size(), clock_.now(), after_restart.origin("board", 1));
    EXPECT_TRUE(restarted.outbox().empty());
    EXPECT_EQ(fresh.get("rules/dht11-temperature/duplicates").value(), 1) << "every client reconnected after a restart";
}

TEST(DisconnectCountsTest, AClientsConnectionChangesOnlyWithItsDisconnects) {
    DisconnectCounts d;
    const auto a1 = d.origin("a", 1), b1 = d.origin("b", 1);
    EXPECT_NE(a1.connection, 0u);
    EXPECT_NE(a1.connection >> 32, b1.connection >> 32);
    EXPECT_EQ(d.origin("a", 1).connection, a1.connection);
    d.onDisconnect("a");
    const auto a2 = d.origin("a", 1);
    EXPECT_NE(a2.connection, a1.connection);
    EXPECT_EQ(a2.connection >> 32, a1.connection >> 32) << "same client id";
    EXPECT_EQ(d.origin("b", 1).connection, b1.connection);
    EXPECT_EQ(d.origin("a", 0).qos, 0);
}

// Issue 11 item 4: a device key's bytes are bounded, not only the number of devices.
TEST_F(EngineTest, DeviceKeysLongerThanMaxKeyBytesAreRefusedAndCounted) {
    load(R"({"rules":[{"name":"r","topic":"s/{zone}/{id}","alert_topic":"a/{zone}/{id}","levels":[{"name":"w","above":30}]},
                      {"name":"t","topic":"t/#","alert_topic":"alerts/t","levels":[{"name":"w","above":30}]}]})",
         EngineLimits{.max_key_bytes = 8});
    EXPECT_EQ(states(send("s/abc/1234", "31")), "raised") << "key abc/1234: 8 bytes";
    EXPECT_EQ(states(send("s/abc/12345", "31")), "-") << "9 bytes";
    EXPECT_EQ(states(send("s/abc/12345", "31")), "-");
    EXPECT_EQ(states(send("s/" + std::string(60'000, 'z') + "/1", "31")), "-");
    EXPECT_EQ(metric("devices_key_too_long"), 3) << "each refused message";
    EXPECT_EQ(states(send("t/abcdef", "31")), "raised") << "a rule without captures keys by topic: 8 bytes";
    EXPECT_EQ(states(send("t/abcdefg", "31")), "-");
    EXPECT_EQ(metric("devices_key_too_long"), 4);
    EXPECT_EQ(engine_->deviceCount(), 2u);

    DeviceRecord long_record;
    long_record.rule = "t";
    long_record.device = "t/abcdefgh";
    MetricsRegistry fresh;
    AlertEngine restarted(rules_, limits_, clock_, fresh);
    EXPECT_EQ(restarted.importRecords({long_record}, true), 0u) << "a state file from a larger limit is bounded too";
    EXPECT_EQ(fresh.get("devices_key_too_long").value(), 1);
}

// Issue 11 item 5: after a restart (or reload) the retained message of every active alert is published again.
TEST_F(EngineTest, RepublishesTheRetainedMessageOfEveryActiveAlert) {
    load(R"({"rules":[
      {"name":"t","topic":"s/{id}","value":"t","invalid":"alert","alert_topic":"a/{id}",
       "levels":[{"name":"w","above":30},{"name":"c","above":40}],"message":"{id} {level} {state}"},
      {"name":"hb","topic":"hb/{id}","deadman":"10s","alert_topic":"hb-alerts/{id}"},
      {"name":"quiet","topic":"s/{id}","value":"t","retain":false,"alert_topic":"q/{id}","levels":[{"name":"w","above":30}]}]})");
    send("s/hot", R"({"t":41})");
    send("s/bad", R"({"t":"x"})");
    send("s/ok", R"({"t":20})");
    send("hb/z1", "x");
    advance(11s);
    raw_.clear();

    MetricsRegistry fresh;
    AlertEngine restarted(rules_, limits_, clock_, fresh);
    restarted.importRecords(engine_->exportAll(), true);
    EXPECT_TRUE(restarted.outbox().empty()) << "nothing before startRepublish";
    EXPECT_FALSE(restarted.republishPending());
    restarted.startRepublish();
    EXPECT_TRUE(restarted.republishPending());
    size_t calls = 1;
    while (!restarted.republishSome(1)) ++calls;
    EXPECT_GE(calls, restarted.deviceCount()) << "bounded work per call";
    EXPECT_FALSE(restarted.republishPending());
    std::map<std::string, json> by_topic;
    for (const auto& m : restarted.outbox()) {
        EXPECT_TRUE(m.retain) << m.topic;
        by_topic[m.topic] = json::parse(m.payload);
    }
    ASSERT_EQ(by_topic.size(), 3u) << "threshold, invalid and deadman alerts; not the non-retained rule's";
    EXPECT_EQ(by_topic["a/hot"]["level"], "c");
    EXPECT_EQ(by_topic["a/hot"]["state"], "active");
    EXPECT_EQ(by_topic["a/hot"]["value"], 41.0);
    EXPECT_EQ(by_topic["a/hot"]["message"], "hot c active");
    EXPECT_EQ(by_topic["a/bad/invalid"]["level"], "invalid");
    EXPECT_EQ(by_topic["hb-alerts/z1"]["level"], "deadman");
    EXPECT_EQ(by_topic["hb-alerts/z1"]["state"], "active");
    restarted.outbox().clear();
    EXPECT_TRUE(restarted.republishSome(100));
    EXPECT_TRUE(restarted.outbox().empty()) << "once per startRepublish";
}
