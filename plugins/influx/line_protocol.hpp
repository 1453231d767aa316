// InfluxDB line protocol encoding: escaping of measurement, tag and field keys and values, number
// formats, sorted keys. Pure functions and one reusable builder, so the broker thread does not allocate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mqs::influx {

enum class FieldType { Float, Integer, Unsigned, Boolean, String };

const char* fieldTypeName(FieldType type);

using FieldValue = std::variant<double, int64_t, uint64_t, bool, std::string>;

// What the encoder had to change or leave out; the mapper adds these to its counters.
struct EncodeStats {
    uint64_t nonfinite_skipped = 0;    // NaN / +-Inf float fields (line protocol cannot carry them)
    uint64_t control_replaced = 0;     // control characters in names and tag values replaced by a space
    uint64_t backslash_replaced = 0;   // backslashes the protocol cannot express (see escapeKey)
    uint64_t hash_replaced = 0;        // a '#' starting a measurement (the line would be a comment)
    uint64_t empty_tags_skipped = 0;   // tags whose key or value is empty
    uint64_t empty_fields_skipped = 0; // fields whose key is empty
};

enum class KeyKind { Measurement, TagOrFieldKey };

// Appends `text` escaped for a measurement (',' and ' ') or a tag key, tag value or field key
// (',', '=' and ' '). Control characters become a space: no escape exists for a newline there.
// InfluxDB keeps backslashes in these positions literally and cannot express one that ends the text
// or precedes ',', '=', ' ', '"' or another backslash (influxdb#6154; 1.6.7 drops it before '=' in a
// measurement and before '"' in a measurement or field key); such a backslash becomes U+FF3C '＼'.
// A measurement starting with '#' would make the line a comment, which InfluxDB answers with 204 and
// drops; no escape exists ("\#" keeps the backslash), so that '#' becomes U+FF03 '＃'.
void appendEscapedKey(std::string& out, std::string_view text, KeyKind kind, EncodeStats& stats);
// Appends "..." with '"' and '\' escaped; newlines are legal inside quoted strings.
void appendQuotedString(std::string& out, std::string_view text);
// Shortest text that parses back to the same double ("20", "20.1", "1e+20").
void appendFloat(std::string& out, double value);
// Decimal digits, no suffix (timestamps).
void appendInteger(std::string& out, int64_t value);

// Appends a field value: shortest float, 12i, 12u, true/false or a quoted string.
void appendFieldValue(std::string& out, const FieldValue& value);

// Builds one line. Thread: one builder per thread; reuse it across messages to keep its buffers.
class LineBuilder {
public:
    // keys_sorted: the caller adds tags and fields in ascending key order without duplicates (rules
    // from the rules file do), so finish() skips sorting and duplicate checks.
    void reset(std::string_view measurement, bool keys_sorted = false);
    void tag(std::string_view key, std::string_view value);
    void field(std::string_view key, FieldValue value);
    size_t fieldCount() const { return fields_.size(); }
    // Appends the series part only: measurement and tags, escaped (what finish() writes first).
    void appendSeries(std::string& out, EncodeStats& stats);
    // Appends the line (without '\n') to `out`, keys sorted. Returns false, appending nothing,
    // when no field is left (non-finite floats are dropped and counted in `stats`).
    bool finish(std::string& out, bool with_timestamp, int64_t timestamp, EncodeStats& stats);

private:
    std::string measurement_;
    std::vector<std::pair<std::string, std::string>> tags_;
    std::vector<std::pair<std::string, FieldValue>> fields_;
    size_t tag_count_ = 0, field_count_ = 0;  // entries in use (vectors keep capacity across messages)
    bool keys_sorted_ = false;
};

}  // namespace mqs::influx
