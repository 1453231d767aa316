// Field reading over the flat scanner and the DOM; see payload_fields.hpp.
#include "common/payload_fields.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

namespace mqs {

uint64_t fnv1a(std::string_view data, uint64_t seed) {
    uint64_t h = seed;
    for (unsigned char c : data) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

namespace {

// One multiply-xorshift step per 64-bit word (a byte-wise FNV loop showed in the profile).
uint64_t mix64(uint64_t h, uint64_t v) {
    h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

uint64_t doubleBits(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return bits;
}

}  // namespace

uint64_t hashJsonValue(simdjson::dom::element e, uint64_t seed) {
    using T = simdjson::dom::element_type;
    const uint64_t h = mix64(seed, static_cast<uint64_t>(e.type()));
    switch (e.type()) {
        case T::INT64:
            return mix64(h, static_cast<uint64_t>(e.get_int64().value_unsafe()));
        case T::UINT64:
            return mix64(h, e.get_uint64().value_unsafe());
        case T::DOUBLE:
            return mix64(h, doubleBits(e.get_double().value_unsafe()));
        case T::BOOL:
            return mix64(h, e.get_bool().value_unsafe() ? 1 : 0);
        case T::NULL_VALUE:
            return h;
        case T::STRING:
            return fnv1a(e.get_string().value_unsafe(), h);
        default:
            return fnv1a(simdjson::minify(e), h);
    }
}

// The element types are simdjson's, so a flat member hashes as the DOM element it would be.
uint64_t hashFlatValue(const FlatJsonMember& m, uint64_t seed) {
    using T = simdjson::dom::element_type;
    using K = FlatJsonMember::Kind;
    switch (m.kind) {
        case K::Integer:
            return mix64(mix64(seed, static_cast<uint64_t>(T::INT64)), static_cast<uint64_t>(m.integer()));
        case K::Decimal:
            return mix64(mix64(seed, static_cast<uint64_t>(T::DOUBLE)), doubleBits(m.number()));
        case K::String:
            return fnv1a(m.text, mix64(seed, static_cast<uint64_t>(T::STRING)));
        case K::True:
            return mix64(mix64(seed, static_cast<uint64_t>(T::BOOL)), 1);
        case K::False:
            return mix64(mix64(seed, static_cast<uint64_t>(T::BOOL)), 0);
        case K::Null:
            return mix64(seed, static_cast<uint64_t>(T::NULL_VALUE));
    }
    return seed;
}

bool PayloadFields::dom(simdjson::dom::element& root) {
    if (dom_state_ == State::Unknown) {
        dom_state_ = parser_.parse(text_.data(), text_.size(), root_, dom_error_) ? State::Ok : State::Failed;
    }
    root = root_;
    return dom_state_ == State::Ok;
}

std::optional<simdjson::dom::element> PayloadFields::domField(const JsonPath& path) {
    simdjson::dom::element root;
    if (!dom(root)) return std::nullopt;
    return path.resolve(root);
}

std::optional<double> PayloadFields::domNumber(const JsonPath& path) {
    auto field = domField(path);
    if (!field) return std::nullopt;
    double value;
    if (jsonNumber(*field, value)) return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
    bool b;
    if (field->get_bool().get(b) == simdjson::SUCCESS) return b ? 1.0 : 0.0;
    return std::nullopt;
}

std::optional<std::string_view> PayloadFields::domString(const JsonPath& path) {
    auto field = domField(path);
    std::string_view s;
    if (field && field->get_string().get(s) == simdjson::SUCCESS) return s;
    return std::nullopt;
}

std::optional<uint64_t> PayloadFields::domHash(const JsonPath& path, uint64_t seed) {
    auto field = domField(path);
    if (!field) return std::nullopt;
    return hashJsonValue(*field, seed);
}

std::optional<double> PayloadFields::plainNumber() const {
    const char* p = text_.data();
    const char* end = p + text_.size();
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (p < end && blank(*p)) ++p;
    while (end > p && blank(end[-1])) --end;
    if (p == end || end - p > 64) return std::nullopt;
    if (*p == '+') ++p;
    double value;
    auto res = std::from_chars(p, end, value);
    if (res.ec != std::errc() || res.ptr != end || !std::isfinite(value)) return std::nullopt;
    return value;
}

}  // namespace mqs
