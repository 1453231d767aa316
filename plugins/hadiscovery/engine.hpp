// The discovery engine of mosquitto_hadiscovery.so: watches client messages, keeps one Device per
// (rule, capture values), and decides which discovery configs, availability messages and clears go out.
// Plain class: the adapter (plugin.cpp) feeds it events and publishes its outbox.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/payload_fields.hpp"
#include "common/topic_cache.hpp"
#include "hadiscovery/availability_tracker.hpp"
#include "hadiscovery/config.hpp"
#include "hadiscovery/config_builder.hpp"
#include "hadiscovery/device_limiter.hpp"
#include "hadiscovery/inventory.hpp"
#include "hadiscovery/record_pool.hpp"
#include "hadiscovery/republish_queue.hpp"
#include "hadiscovery/rules.hpp"
#include "hadiscovery/topic_index.hpp"
#include "hadiscovery/user_deletions.hpp"

namespace mqs::hadiscovery {

struct Outgoing {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = true;
};

// Observed expire_after (rules with "expire_after": "observed"): 3 x the median of the last
// kObservedIntervals intervals between a device's messages, rounded up to whole seconds (at least 1 s);
// judged after every kObservedIntervals new intervals (not per message: a sort per message showed in the
// benchmark); the config is re-published when the value leaves [published / 2, published x 2].
inline constexpr size_t kObservedIntervals = 5;
int64_t observedExpireAfter(std::array<int64_t, kObservedIntervals> intervals_ms);

// Thread: broker thread only. Bounded: devices and their bytes by max_state_bytes, the inventory,
// deletions and availability map by their own bounds, the topic cache by its slot count.
class DiscoveryEngine {
public:
    DiscoveryEngine(std::shared_ptr<const RuleSet> rules, const Config& config, const Clock& clock,
                    MetricsRegistry& metrics, LoadedState state, uint64_t seed);

    // A client's message (never the plugin's own: the broker does not pass those to plugins). `client_id`
    // is read only when usesClientId(): the adapter may pass it empty otherwise.
    void onMessage(std::string_view client_id, std::string_view topic, const void* payload, size_t length, bool retain,
                   Clock::TimePoint now);
    // True while some rule publishes availability on disconnect (the only use of a message's client id).
    bool usesClientId() const { return uses_client_id_; }
    // A client disconnected: devices it alone fed go offline.
    void onDisconnect(std::string_view client_id);
    // Re-publishing pace, idle expiry; from TICK and MESSAGE.
    void onTimers(Clock::TimePoint now);
    // Home Assistant's birth message, and broker start (`at_start`, the first timer run: devices restored
    // from the state file too, except those saved in the other discovery form): every known device again.
    void scheduleRepublishAll(Clock::TimePoint now, bool at_start = false);
    // New rules (SIGHUP): devices of removed rules lose their configs; the others are re-published.
    void replaceRules(std::shared_ptr<const RuleSet> rules, Clock::TimePoint now);
    // Control: undo a user deletion by discovery topic or device id. Returns what was undone (topics).
    std::vector<std::string> undelete(std::string_view topic_or_device, Clock::TimePoint now);
    std::vector<std::string> deletedList() const { return deletions_.list(); }
    // A $CONTROL/hadiscovery/v1 request: {"commands": [{"command": "listDeleted"},
    // {"command": "undelete", "topic": "<discovery topic>"} or {"command": "undelete", "device": "<id>"}]}.
    // Returns the reply {"responses": [{"command": ..., "data"|"error": ...}]}; `log` gets one line per change.
    std::string handleControl(std::string_view payload, Clock::TimePoint now, std::vector<std::string>& log);

    std::vector<Outgoing>& outbox() { return outbox_; }
    // Lines for the log (dry run, refused configs, refused devices); the adapter rate-limits them.
    std::vector<std::pair<std::string, std::string>>& notes() { return notes_; }  // (key, text)
    // The state file's content when something changed since the last call: a copy to render off the broker
    // thread (takeStateIfChanged), or rendered at once (takeSnapshotIfChanged, tests; empty when unchanged).
    std::optional<StateSnapshot> takeStateIfChanged();
    std::string takeSnapshotIfChanged();
    // The same in two steps, for a writer process that builds the snapshot from its copy-on-write image of
    // the engine instead of the broker thread copying it: true once per change (clears the flag), and the
    // snapshot of the state as it is.
    bool takeStateChanged();
    StateSnapshot currentState() const;

    size_t deviceCount() const { return devices_.size(); }
    const Inventory& inventory() const { return inventory_; }
    const UserDeletions& deletions() const { return deletions_; }
    const DeviceLimiter& limiter() const { return limiter_; }
    size_t deviceBytes() const { return device_bytes_; }

private:
    struct Device;
    // What a known device's message reads and writes (the topic to confirm the index's match, the rule,
    // the entity and interval bookkeeping, the flags), in 128 bytes: two adjacent cache lines, aligned so
    // the pair is one unit of the adjacent-line prefetcher. With 10 000 devices each message misses the
    // cache for its device; a map node, its key, the topic's heap buffer and a 200-byte Device were 4 to 6
    // lines. The records live side by side in a RecordPool; the rest of the device (Device) is read only
    // when something changes.
    struct alignas(128) Hot {
        static constexpr size_t kInlineTopic = 31;
        static constexpr uint8_t kLongTopic = 0xFF;  // topic_size: the topic is only in cold->topic
        Device* cold = nullptr;
        uint64_t entity_mask = 0;
        Clock::TimePoint last_message{};
        Clock::TimePoint touch_due{};  // steady time of the next inventory touch (no wall clock read before)
        int64_t last_touch_ms = 0;     // wall ms of the last touch; 0: not touched in this run
        int64_t expire_after_s = 0;
        std::array<int64_t, kObservedIntervals> intervals{};
        uint32_t rule = 0;
        uint8_t interval_pos = 0;  // the next slot of intervals; back to 0: kObservedIntervals fresh ones
        bool inferred_done = false;
        bool published = false;  // configs went out during this run
        bool online = false;     // the plugin's availability view (publish_on_disconnect rules)
        uint8_t topic_size = kLongTopic;
        char topic[kInlineTopic]{};

        std::string_view topicView() const;  // for TopicIndex
    };
    static_assert(sizeof(Hot) == 128, "the hot record is two cache lines");
    // The rest of a device: names, captures, the client that fed it last.
    struct Device {
        Hot* hot = nullptr;
        std::string topic;
        std::string feeder;  // the last client that fed it (fed() again only when it changes)
        std::string id;
        Captures captures;
        std::string name;
        std::vector<InferredEntity> inferred;
        size_t bytes = 0;
    };
    struct Slot {
        Clock::TimePoint retry_after{};  // a new device on this topic was refused: not retried before
    };

    void restoreDevice(const DeviceRecord& record);
    bool ownsOtherForm(const std::string& id) const;
    Device* deviceFor(std::string_view topic, Clock::TimePoint now, bool& matched);
    Device& addDevice(Device dev);                                           // gives it a hot record
    bool observe(Hot& h, std::string_view client_id, Clock::TimePoint now);  // true: config changed
    void publishDevice(Device& d, bool force);
    void removeDevice(const std::string& id, const char* why);
    void clearTopics(const std::vector<std::string>& topics);
    void emit(std::string topic, std::string payload, int qos, bool retain);
    DeviceView viewOf(const Device& d) const;
    const Rule& ruleOf(const Device& d) const { return rules_->rules[d.hot->rule]; }
    int64_t wallMs() const;
    void updateGauges();

    std::shared_ptr<const RuleSet> rules_;
    Config config_;
    const Clock& clock_;
    BuildOptions build_;
    Inventory inventory_;
    UserDeletions deletions_;
    DeviceLimiter limiter_;
    RepublishQueue republish_;
    AvailabilityTracker availability_;
    std::unordered_map<std::string, Device> devices_;
    size_t device_bytes_ = 0;
    RecordPool<Hot> hot_;                                                            // every device's hot record
    TopicIndex<Hot> by_topic_;                                                       // every device, by topic
    TopicCache<Slot> cache_;                                                         // recent refusals
    PayloadFields fields_;
    std::vector<Outgoing> outbox_;
    std::vector<std::pair<std::string, std::string>> notes_;
    bool state_dirty_ = false;
    bool uses_client_id_ = false;
    std::vector<std::string> orphan_rules_;  // rules of the loaded inventory that no longer exist
    Clock::TimePoint next_idle_check_{};

    Metric& m_devices_;
    Metric& m_entities_;
    Metric& m_published_;
    Metric& m_removed_;
    Metric& m_suppressed_;
    Metric& m_refused_;
    Metric& m_devices_refused_;
    Metric& m_pending_;
    Metric& m_fields_missing_;
    Metric& m_id_collisions_;
    Metric& m_inventory_full_;
    Metric& m_user_deletions_;
    Metric& m_availability_;
};

// Inline: TopicIndex calls it on every lookup. Short topics are compared in the record itself.
inline std::string_view DiscoveryEngine::Hot::topicView() const {
    return topic_size == kLongTopic ? std::string_view(cold->topic) : std::string_view(topic, topic_size);
}

}  // namespace mqs::hadiscovery
