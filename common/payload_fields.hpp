// One message's payload, read field by field: the reading alerts and influx share. A field at a
// top-level key of a flat object (flat_json.hpp) is answered by the flat scanner; anything else (a
// nested path, a payload the scanner refuses) by simdjson's DOM (json_payload.hpp). Both are lazy:
// the scan runs at most once per message and only if a top-level key is asked for, the DOM parse at
// most once and only if a question needs it. Whatever the scanner accepts, the DOM reads the same way
// (flat_json_test.cpp checks it differentially), so the answer does not depend on which reader gave it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "common/flat_json.hpp"
#include "common/json_path.hpp"
#include "common/json_payload.hpp"

namespace mqs {

// FNV-1a 64: stable across builds, so hashes survive a restart.
uint64_t fnv1a(std::string_view data, uint64_t seed = 1469598103934665603ull);
// PayloadFields::hash of one value, by reader: the same value hashes to the same number either way.
uint64_t hashJsonValue(simdjson::dom::element value, uint64_t seed);
uint64_t hashFlatValue(const FlatJsonMember& value, uint64_t seed);

// Thread: one instance per thread. Views returned (string_view, members, the DOM root) stay valid
// until the next reset(); the payload must outlive them too.
class PayloadFields {
public:
    explicit PayloadFields(JsonLimits limits = {}) : parser_(limits) {}

    // Starts a new message; reads nothing yet. Does not allocate.
    void reset(const void* payload, size_t length) {
        text_ = std::string_view(static_cast<const char*>(payload), length);
        flat_state_ = State::Unknown;
        dom_state_ = State::Unknown;
        hashed_member_ = nullptr;
    }
    std::string_view text() const { return text_; }
    const JsonLimits& limits() const { return parser_.limits(); }

    // A number (integers converted to double; finite by construction on the flat path, checked on the
    // DOM path), or a boolean as 1/0. Nothing for a missing field, null, a string, an array, an object,
    // a non-finite number or a payload that is not JSON.
    std::optional<double> number(const JsonPath& path) {
        bool answered;
        const FlatJsonMember* m = flatMember(path, answered);
        if (!answered) return domNumber(path);
        if (m == nullptr ||
            !(m->isNumber() || m->kind == FlatJsonMember::Kind::True || m->kind == FlatJsonMember::Kind::False)) {
            return std::nullopt;
        }
        return m->isNumber() ? m->number()
                             : (m->kind == FlatJsonMember::Kind::True ? 1.0 : 0.0);  // no exponent: finite
    }
    // A string's content (unescaped). Nothing for any other type, a missing field or invalid JSON.
    std::optional<std::string_view> string(const JsonPath& path) {
        bool answered;
        const FlatJsonMember* m = flatMember(path, answered);
        if (!answered) return domString(path);
        if (m == nullptr || m->kind != FlatJsonMember::Kind::String) return std::nullopt;
        return m->text;  // the scanner passes no escapes
    }
    // A stable hash of the field's value (retransmission detection; alerts persists it in its state
    // file, so the values must never change): scalars by type and value, arrays and objects by their
    // minified text. Nothing for a missing field or invalid JSON. Both readers hash a value alike.
    std::optional<uint64_t> hash(const JsonPath& path, uint64_t seed) {
        bool answered;
        const FlatJsonMember* m = flatMember(path, answered);
        if (!answered) return domHash(path, seed);
        if (m == nullptr) return std::nullopt;
        if (m != hashed_member_ || seed != hashed_seed_) {
            hashed_member_ = m;
            hashed_seed_ = seed;
            hashed_value_ = hashFlatValue(*m, seed);
        }
        return hashed_value_;
    }

    // The whole payload as a plain number ("21.5", " -3 "), what simple sensors publish: optional
    // '+', blanks around, at most 64 characters, finite.
    std::optional<double> plainNumber() const;

    // The readers themselves, for callers that need more than one value (influx writes numbers as
    // their text). flat(): the scanned object, or null when the payload is larger than the size limit
    // or not a flat object. dom(): false when the payload is not valid JSON within the limits;
    // domError() then says why.
    const FlatJsonObject* flat() {
        if (flat_state_ == State::Unknown) {
            flat_state_ = text_.size() <= parser_.limits().max_bytes && flat_.scan(text_) ? State::Ok : State::Failed;
        }
        return flat_state_ == State::Ok ? &flat_ : nullptr;
    }
    bool dom(simdjson::dom::element& root);
    const std::string& domError() const { return dom_error_; }
    // Whether this message has needed the DOM so far (the flat path spares it; tests check that).
    bool domParsed() const { return dom_state_ != State::Unknown; }

private:
    enum class State : uint8_t { Unknown, Ok, Failed };
    // The flat member for a top-level path when the scanner accepted the payload; `answered` false
    // when the question needs the DOM (a nested path, or the scanner refused the payload).
    const FlatJsonMember* flatMember(const JsonPath& path, bool& answered) {
        const std::string* key = path.topLevelKey();
        answered = key && flat();
        return answered ? flat_.find(*key) : nullptr;
    }
    std::optional<simdjson::dom::element> domField(const JsonPath& path);
    // The same questions when the DOM must answer them.
    std::optional<double> domNumber(const JsonPath& path);
    std::optional<std::string_view> domString(const JsonPath& path);
    std::optional<uint64_t> domHash(const JsonPath& path, uint64_t seed);

    std::string_view text_;
    FlatJsonObject flat_;
    JsonPayloadParser parser_;
    simdjson::dom::element root_;
    std::string dom_error_;
    State flat_state_ = State::Unknown;
    State dom_state_ = State::Unknown;
    // Several rules usually hash the same field (a message timestamp): hash a member once.
    const FlatJsonMember* hashed_member_ = nullptr;
    uint64_t hashed_seed_ = 0;
    uint64_t hashed_value_ = 0;
};

}  // namespace mqs
