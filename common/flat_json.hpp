// A strict scanner for the payload shape sensors send most: one JSON object of plain scalars, such as
// {"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0}. It finds the members and the text
// of their values without building a DOM or converting numbers, which on payloads this small costs a
// fraction of simdjson's fixed per-document work (numbers in docs/influx.md, "Performance").
//
// It accepts only a subset of JSON and says no to everything else, so callers fall back to the
// full parser (JsonPayloadParser): nested values, exponents, integers of more than 18 digits,
// strings with escapes, control characters or non-ASCII bytes, more than kMaxMembers members.
// Whatever it accepts is valid JSON that simdjson reads to the same members and values
// (tests/unit/common/flat_json_test.cpp checks this differentially).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mqs {

struct FlatJsonMember {
    enum class Kind : uint8_t { Integer, Decimal, String, True, False, Null };
    std::string_view key;  // without quotes (no escapes: the scanner refuses them)
    std::string_view text; // a number's digits as written, a string's content without quotes, or the literal
    Kind kind;

    bool isNumber() const { return kind == Kind::Integer || kind == Kind::Decimal; }
    // Integer: fits int64_t (at most 18 digits). Decimal: the nearest double, as simdjson reads it.
    int64_t integer() const;
    double number() const;  // either kind as a double
};

// Thread: one instance per thread; scan() overwrites the previous result.
class FlatJsonObject {
public:
    static constexpr size_t kMaxMembers = 32;

    // True when `text` is a JSON object in the subset above; members() then lists them in order.
    bool scan(std::string_view text);
    // The first member with this key (JSON allows duplicates; simdjson's lookup also returns the first).
    const FlatJsonMember* find(std::string_view key) const;
    size_t size() const { return count_; }
    const FlatJsonMember& operator[](size_t i) const { return members_[i]; }

private:
    std::array<FlatJsonMember, kMaxMembers> members_{};
    size_t count_ = 0;
};

}  // namespace mqs
