// Turns one MQTT message into one line-protocol line by the first matching rule. Runs on the broker
// thread for every message, so it reuses its parser and buffers and never blocks or touches disk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/json_payload.hpp"
#include "influx/line_protocol.hpp"
#include "common/metrics.hpp"
#include "common/payload_fields.hpp"
#include "influx/rules.hpp"
#include "influx/timestamp.hpp"
#include "common/topic_cache.hpp"

namespace mqs::influx {

struct MapperLimits {
    size_t max_payload_bytes = 256 * 1024;  // larger payloads are skipped unparsed
    size_t max_fields = 1000;               // points with more fields are skipped
    size_t max_line_bytes = 64 * 1024;      // longer lines are skipped
};

enum class MapResult { Mapped, Unmatched, Skipped };

// The broker's receive time of a message: a fixed value (tests), or the clock, read at most once and
// only when a point needs it (payloads with their own timestamps never do; a read costs ~0.04 µs here).
class ReceiveTime {
public:
    ReceiveTime(int64_t fixed_ns) : ns_(fixed_ns), known_(true) {}  // NOLINT: implicit on purpose
    explicit ReceiveTime(const Clock& clock) : clock_(&clock) {}
    int64_t ns() {
        if (!known_) {
            ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->wallNow().time_since_epoch()).count();
            known_ = true;
        }
        return ns_;
    }

private:
    const Clock* clock_ = nullptr;
    int64_t ns_ = 0;
    bool known_ = false;
};

// Thread: one instance, used from the broker thread only. Counters are registry metrics ("mapping/...").
class Mapper {
public:
    Mapper(std::shared_ptr<const Mapping> mapping, Precision precision, MapperLimits limits, MetricsRegistry& metrics);

    // Fills `line` (cleared first, no trailing newline) on Mapped. On Skipped, `reason` says why,
    // for a rate-limited warning; the counter is already bumped.
    MapResult map(std::string_view topic, const void* payload, size_t length, ReceiveTime receive, std::string& line,
                  std::string& reason);

    const Mapping& mapping() const { return *mapping_; }

    // Per-topic cache of measurement and tags, bounded in bytes as well as in slots: a topic longer
    // than TopicCache::kMaxTopicBytes, or whose escaped measurement and tags exceed kMaxSeriesBytes,
    // is worked out for every message instead (counted in mapping/series_uncached). So the cache holds
    // at most slots x (topic + series text), about 2.7 MiB, whatever the topics and the rules.
    static constexpr size_t kMaxSeriesBytes = 1024;
    static constexpr size_t kSeriesSlots = 2048;
    // Heap bytes of the cache now (walks every slot; tests).
    size_t seriesCacheBytes() const;

private:
    static constexpr uint32_t kNoRule = UINT32_MAX;
    // What a topic maps to, remembered per topic (TopicCache).
    struct Series {
        uint32_t rule = kNoRule;  // kNoRule: no rule matches the topic
        bool fast = false;        // mapFlat may take it: `prefix` starts every line
        std::string prefix;       // escaped measurement and tags
        EncodeStats prefix_stats;
    };
    struct EscapedKey {
        std::string text;
        EncodeStats stats;
    };
    Series& learnTopic(std::string_view topic, size_t hash);
    // The common case in microseconds' worth less: a flat JSON object (flat_json.hpp) on a rule with
    // explicit top-level fields. Returns Unmatched to hand the message to mapGeneral.
    MapResult mapFlat(const Rule& rule, const Series& series, ReceiveTime& receive, std::string& line, std::string& reason);
    // Both read the message through fields_ (reset by map()), so its DOM is parsed at most once.
    MapResult mapGeneral(const Rule& rule, std::string_view topic, ReceiveTime& receive, std::string& line,
                         std::string& reason);
    void countEncoding(const EncodeStats& stats);
    bool addValue(std::string_view key, simdjson::dom::element value, std::optional<FieldType> type, std::string& reason);
    bool addScalarPayload(const Rule& rule, std::string_view text, std::string& reason);
    bool timestampFrom(const Rule& rule, simdjson::dom::element root, bool is_object, ReceiveTime& receive, int64_t& out,
                       std::string& reason);

    std::shared_ptr<const Mapping> mapping_;
    Precision precision_;
    MapperLimits limits_;
    PayloadFields fields_;              // this message's payload
    JsonPayloadParser scalar_parser_;  // a plain-number payload coerced to a pinned type
    LineBuilder builder_;
    Captures captures_;
    TopicCache<Series> series_{kSeriesSlots};
    Series uncached_;  // for topics that are not cached: the series being learnt, then used once
    std::vector<std::vector<EscapedKey>> field_keys_;  // per rule, per explicit field
    std::string scratch_;
    FieldValue value_;  // reused for every field
    EncodeStats encode_stats_;

    struct Counters {
        Metric& mapped;
        Metric& unmatched;
        Metric& invalid_payload;
        Metric& too_large;
        Metric& too_many_fields;
        Metric& no_field;
        Metric& bad_timestamp;
        Metric& coerce_failed;
        Metric& missing_field;
        Metric& nonfinite;
        Metric& control_replaced;
        Metric& backslash_replaced;
        Metric& series_uncached;
        Metric& hash_replaced;
    } counters_;
};

}  // namespace mqs::influx
