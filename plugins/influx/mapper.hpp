// Turns one MQTT message into one line-protocol line by the first matching rule. Runs on the broker
// thread for every message, so it reuses its parser and buffers and never blocks or touches disk.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "json_payload.hpp"
#include "line_protocol.hpp"
#include "metrics.hpp"
#include "rules.hpp"
#include "timestamp.hpp"

namespace mqs::influx {

struct MapperLimits {
    size_t max_payload_bytes = 256 * 1024;  // larger payloads are skipped unparsed
    size_t max_fields = 1000;               // points with more fields are skipped
    size_t max_line_bytes = 64 * 1024;      // longer lines are skipped
};

enum class MapResult { Mapped, Unmatched, Skipped };

// Thread: one instance, used from the broker thread only. Counters are registry metrics ("mapping/...").
class Mapper {
public:
    Mapper(std::shared_ptr<const Mapping> mapping, Precision precision, MapperLimits limits, MetricsRegistry& metrics);

    // Fills `line` (cleared first, no trailing newline) on Mapped. On Skipped, `reason` says why,
    // for a rate-limited warning; the counter is already bumped. receive_ns: the broker's receive time.
    MapResult map(std::string_view topic, const void* payload, size_t length, int64_t receive_ns, std::string& line,
                  std::string& reason);

    const Mapping& mapping() const { return *mapping_; }

private:
    bool addValue(std::string_view key, simdjson::dom::element value, std::optional<FieldType> type, std::string& reason);
    bool addScalarPayload(const Rule& rule, std::string_view text, std::string& reason);
    bool timestampFrom(const Rule& rule, simdjson::dom::element root, bool is_object, int64_t receive_ns, int64_t& out,
                       std::string& reason);

    std::shared_ptr<const Mapping> mapping_;
    Precision precision_;
    MapperLimits limits_;
    JsonPayloadParser parser_;
    LineBuilder builder_;
    Captures captures_;
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
    } counters_;
};

}  // namespace mqs::influx
