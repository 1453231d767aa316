// The alert state machine: per (rule, device) state, condition evaluation with debounce, hysteresis,
// escalation and cooldown, deadman and other timers on a min-heap, and the alert messages it emits.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/json_payload.hpp"
#include "common/metrics.hpp"
#include "common/payload_fields.hpp"
#include "alerts/rules.hpp"
#include "alerts/state_store.hpp"
#include "common/topic_cache.hpp"

namespace mqs::alerts {

// An alert ready to publish; the broker adapter hands it to mosquitto_broker_publish_copy.
struct AlertMessage {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};

// Who sent a message, as far as retransmission detection needs it (docs/alerts.md, Retransmissions).
// MQTT resends only QoS 1/2 messages, and a conforming client only after reconnecting; the broker
// shows plugins neither the packet id nor the DUP flag. The default reproduces content-only
// detection: QoS 1 from an unknown connection.
struct MessageOrigin {
    uint8_t qos = 1;
    // Identifies the sender's connection: the client id's hash (high 32 bits) and a counter of that
    // id's disconnects (low 32 bits), so it changes when the client reconnects. 0: unknown.
    uint64_t connection = 0;
};

// Per client-id hash, how often a client with that hash disconnected: a fixed 16 KiB table, so
// memory does not grow with clients. A collision only makes a reconnect look likelier, which
// falls back to content-only detection. Broker thread only.
class DisconnectCounts {
public:
    static constexpr size_t kSlots = 4096;
    void onDisconnect(std::string_view client_id) { ++counts_[slotOf(fnv1a(client_id))]; }
    MessageOrigin origin(std::string_view client_id, uint8_t qos) const {
        const uint64_t h = fnv1a(client_id);
        const uint64_t id = (h ^ (h >> 32)) & 0xffffffffull;
        return MessageOrigin{qos, (id << 32 | counts_[slotOf(h)]) | 1ull << 63};  // never 0
    }

private:
    static size_t slotOf(uint64_t h) { return static_cast<size_t>(h % kSlots); }
    uint32_t counts_[kSlots] = {};
};

struct EngineLimits {
    size_t max_devices = 100'000;
    size_t max_key_bytes = 256;  // longer device keys are refused (devices_key_too_long)
    std::chrono::milliseconds idle_expiry{std::chrono::hours(24)};
    std::chrono::milliseconds duplicate_window{2000};
    JsonLimits json;
    size_t max_timers_per_call = 10'000;  // bounds one tick's work; the rest wait for the next tick
};

// Thread: one thread (the broker's). Owns no I/O: alerts go to outbox(), state leaves through
// takeDirty()/exportAll(). Throws only on programming errors; bad payloads are counted, never thrown.
class AlertEngine {
public:
    AlertEngine(std::shared_ptr<const RuleSet> rules, EngineLimits limits, const Clock& clock, MetricsRegistry& metrics);

    // One incoming message; alerts it causes are appended to outbox(). Returns how many rules matched.
    size_t onMessage(std::string_view topic, const void* payload, size_t length);
    // Same, with the time the caller already read (one clock read per broker callback).
    size_t onMessage(std::string_view topic, const void* payload, size_t length, Clock::TimePoint now);
    // Same, with the sender's QoS and connection for retransmission detection.
    size_t onMessage(std::string_view topic, const void* payload, size_t length, Clock::TimePoint now,
                     MessageOrigin origin);
    // Fires due timers (deadman, `for` durations, renotify, idle expiry). Call often (tick and message).
    void onTimers();
    void onTimers(Clock::TimePoint now);

    std::vector<AlertMessage>& outbox() { return outbox_; }

    // Persistence: records of devices changed since the last call (at most max), plus removals.
    std::vector<DeviceRecord> takeDirty(size_t max);
    std::vector<DeviceRecord> exportAll() const;
    // Restores records (from a snapshot, or from the engine a reload replaces). Records of unknown
    // rules are skipped; an active level the rule no longer has is cleared (and a clear published).
    // Returns how many devices were restored.
    // restart: true for a snapshot loaded at start (deadman periods restart), false for a reload.
    size_t importRecords(const std::vector<DeviceRecord>& records, bool restart);
    // Off by default: without persistence nothing would drain the change lists.
    void enableChangeTracking() { track_changes_ = true; }
    void markAllDirty();
    // Republishing the retained message of every active alert (after start-up or a reload, for brokers
    // that do not persist retained messages): startRepublish() arms it, republishSome() appends at most
    // `max_devices` devices' alerts to outbox() per call and returns true once every device was visited.
    void startRepublish() { republish_cursor_ = 0; }
    bool republishPending() const { return republish_cursor_ != SIZE_MAX; }
    bool republishSome(size_t max_devices);

    size_t deviceCount() const { return device_count_; }
    size_t timerCount() const { return timers_.size(); }
    const RuleSet& rules() const { return *rules_; }
    static constexpr size_t deviceStateBytes();

private:
    static constexpr int8_t kNone = -1;
    enum Flags : uint8_t {
        kLive = 1, kHasLast = 2, kDeadmanActive = 4, kInvalidActive = 8, kInHeap = 16, kDirty = 32, kHasHash = 64,
    };
    // Compact on purpose (see docs/alerts.md, memory per device): times are steady-clock ms.
    struct Device {
        const std::string* key = nullptr;  // interned in the rule's index
        uint64_t last_hash = 0;            // retransmission detection
        uint64_t last_connection = 0;      // MessageOrigin::connection of the last accepted message
        double last_value = 0;
        int64_t last_seen = 0;             // last accepted message
        int64_t active_since = 0;          // when the active level's condition began
        int64_t last_notify = 0;           // for renotify
        int64_t cleared_at = INT64_MIN / 2;  // for cooldown
        int64_t scheduled = 0;             // time of this device's earliest heap entry
        int64_t level_since[kMaxLevels] = {};
        uint32_t level_count[kMaxLevels] = {};
        uint32_t rule = 0;
        uint32_t generation = 0;
        uint32_t active_samples = 0;
        int8_t active = kNone;
        uint8_t flags = 0;
    };
    struct Timer {
        int64_t at;
        uint32_t slot;
        uint32_t generation;
        bool operator>(const Timer& o) const { return at > o.at; }
    };
    struct RuleRuntime {
        std::unordered_map<std::string, uint32_t> index;  // device key -> slot
        Metric* evaluated;
        Metric* raised;
        Metric* cleared;
        Metric* active;
        Metric* devices;
        Metric* invalid;
        Metric* duplicates;
    };
    // A device a topic feeds: cached per topic, valid while the slot keeps its generation.
    struct Route {
        uint32_t slot;
        uint32_t generation;
        bool created;  // this message created the device (never true in the cache)
    };
    enum class Transition { Raised, Escalated, DeEscalated, Cleared, Active };
    // What one alert message says; alertPayload() writes it out as docs/alerts.md describes.
    struct AlertEvent {
        const OutputTemplate* topic;  // the rule's alert, deadman or invalid topic
        std::string_view level;
        const char* state;                      // "raised", "cleared", "active", ...
        const std::string* previous = nullptr;  // the level left behind (escalations)
        const double* value = nullptr;
        nlohmann::ordered_json threshold = nullptr;
        std::string_view source_topic;  // empty for timer-fired alerts
        int64_t since = 0;              // steady ms
        uint32_t samples = 0;
        bool is_clear = false;
    };

    int64_t nowMs() const;
    // The devices this topic feeds, in rule order, from the cache or by matching every rule.
    const std::vector<Route>& routesFor(std::string_view topic, int64_t now, size_t& matched);
    // One route of a message: retransmission check, deadman clear, value, timers.
    void onSample(const Route& route, std::string_view topic, int64_t now);
    // The dedup field's hash (by_field set), or else the topic and payload's.
    uint64_t sampleHash(const Rule& rule, std::string_view topic, bool& by_field);
    bool mayBeResent(const Device& d, int64_t now, int64_t window) const;
    // A sample's value, or nullopt when the payload has none (counted, maybe an invalid-data alert).
    void takeValue(Device& d, const Rule& rule, std::optional<double> value, std::string_view topic, int64_t now);
    int64_t toWallMs(int64_t steady_ms) const;
    int64_t fromWallMs(int64_t wall_ms) const;
    std::string deviceKey(const Rule& rule, std::string_view topic, const Captures& captures) const;
    static size_t keyLength(const Rule& rule, std::string_view topic, const Captures& captures);
    uint32_t findOrCreate(uint32_t rule_index, const std::string& key, int64_t now, bool& created);
    void remove(uint32_t slot);
    bool anyActive(const Device& d) const { return d.active != kNone || (d.flags & (kDeadmanActive | kInvalidActive)); }
    void evaluateSample(Device& d, const Rule& rule, double value, std::string_view topic, int64_t now);
    void qualify(Device& d, const Rule& rule, const double* value, std::string_view topic, int64_t now);
    void fireTimer(uint32_t slot, int64_t now);
    void schedule(uint32_t slot, int64_t now);
    void compactTimers();
    int64_t nextDeadline(const Device& d, const Rule& rule) const;
    void touchDirty(uint32_t slot);
    // A threshold transition (Transition as int); spec gives the threshold (null: level no longer exists).
    void emit(Device& d, const Rule& rule, int transition, const std::string& level, const Level* spec,
              const std::string* previous, const double* value, std::string_view topic, int64_t now);
    // Deadman and invalid-data alerts, on their own topics.
    void emitSpecial(Device& d, const Rule& rule, const char* level, bool raised, const double* value,
                     std::string_view topic, int64_t now);
    void publish(const Device& d, const Rule& rule, const AlertEvent& event, int64_t now);
    void republish(const Device& d, const Rule& rule, int64_t now);
    std::string alertPayload(const Device& d, const Rule& rule, const AlertEvent& event, const Captures& captures,
                             int64_t now) const;
    static std::string messageText(const OutputTemplate& message, const AlertEvent& event, const Captures& captures);
    void setActive(Device& d, RuleRuntime& rt, bool before);
    Captures capturesOf(const Rule& rule, const Device& d) const;
    DeviceRecord recordOf(const Device& d) const;

    std::shared_ptr<const RuleSet> rules_;
    EngineLimits limits_;
    const Clock& clock_;
    MetricsRegistry& metrics_;
    PayloadFields fields_;                  // this message's payload
    std::optional<uint64_t> message_hash_;  // this message's topic+payload hash, once needed
    MessageOrigin origin_;                  // this message's sender
    size_t republish_cursor_ = SIZE_MAX;    // next slot to republish; SIZE_MAX: none pending
    std::vector<RuleRuntime> runtime_;
    std::vector<Device> devices_;
    std::vector<uint32_t> free_slots_;
    size_t device_count_ = 0;
    // Min-heap (std::push_heap/pop_heap with greater). Entries made stale by an earlier deadline are
    // skipped when popped; compactTimers() drops them once they outnumber the devices.
    std::vector<Timer> timers_;
    std::vector<uint32_t> dirty_;
    std::vector<DeviceRecord> removed_;  // tombstones for the snapshot
    std::vector<AlertMessage> outbox_;
    bool track_changes_ = false;
    TopicCache<std::vector<Route>> route_cache_;
    std::vector<Route> routes_;  // this message's routes when not cached
    Captures captures_;  // reused per message
    std::string key_;    // reused per message
    Metric& devices_tracked_;
    Metric& devices_rejected_;
    Metric& devices_expired_;
    Metric& devices_key_too_long_;
    Metric& timers_fired_;
};

constexpr size_t AlertEngine::deviceStateBytes() { return sizeof(Device); }

// The hashes moved to payload_fields.hpp with the payload reading; these names stay for alerts' code.
using mqs::fnv1a;
using mqs::hashFlatValue;
using mqs::hashJsonValue;

}  // namespace mqs::alerts
