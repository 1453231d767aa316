// Line protocol escaping and formatting; see line_protocol.hpp. The rules follow the InfluxDB line
// protocol reference and were checked against InfluxDB 1.6.7 and VictoriaMetrics (tests/integration/influx).
#include "influx/line_protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace mqs::influx {

const char* fieldTypeName(FieldType type) {
    switch (type) {
        case FieldType::Float: return "float";
        case FieldType::Integer: return "integer";
        case FieldType::Unsigned: return "unsigned";
        case FieldType::Boolean: return "boolean";
        case FieldType::String: return "string";
    }
    return "?";
}

namespace {

bool needsEscape(char c, KeyKind kind) { return c == ',' || c == ' ' || (c == '=' && kind == KeyKind::TagOrFieldKey); }
bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }
// Characters after which InfluxDB 1.6.7 reads a backslash as an escape in some position, whatever we
// escape there: it drops the backslash before '=' in a measurement and before '"' in a measurement or
// field key, and "\\" is ambiguous (InfluxDB keeps both backslashes, VictoriaMetrics reads one). One
// rule for every position keeps the table in docs/influx.md short.
bool backslashIsRead(char next) {
    return next == ',' || next == ' ' || next == '=' || next == '"' || next == '\\';
}

// Bytes that leave the fast path: bit 0 in measurements, bit 1 in tag keys, tag values and field keys.
constexpr std::array<uint8_t, 256> kSpecial = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        const bool common = c < 0x20 || c == 0x7f || c == ',' || c == ' ' || c == '\\';
        t[static_cast<size_t>(c)] = static_cast<uint8_t>((common ? 3 : 0) | (c == '=' ? 2 : 0));
    }
    return t;
}();

}  // namespace

void appendEscapedKey(std::string& out, std::string_view text, KeyKind kind, EncodeStats& stats) {
    size_t start = 0;
    if (kind == KeyKind::Measurement && !text.empty() && text[0] == '#') {
        ++stats.hash_replaced;
        out += "\xEF\xBC\x83";  // U+FF03 FULLWIDTH NUMBER SIGN
        start = 1;
    }
    // Fast path: most names and tag values need no escaping at all.
    const uint8_t mask = kind == KeyKind::Measurement ? 1 : 2;
    size_t clean = start;
    while (clean < text.size() && !(kSpecial[static_cast<unsigned char>(text[clean])] & mask)) ++clean;
    out.append(text.data() + start, clean - start);
    for (size_t i = clean; i < text.size(); ++i) {
        char c = text[i];
        if (isControl(static_cast<unsigned char>(c))) {
            ++stats.control_replaced;
            c = ' ';
        }
        if (c == '\\') {
            // The next character as it will be written: a control character turns into a space.
            bool last = i + 1 == text.size();
            char next = last ? '\0' : text[i + 1];
            if (!last && isControl(static_cast<unsigned char>(next))) next = ' ';
            if (last || backslashIsRead(next)) {
                ++stats.backslash_replaced;
                out += "\xEF\xBC\xBC";  // U+FF3C FULLWIDTH REVERSE SOLIDUS
                continue;
            }
        }
        if (needsEscape(c, kind)) out += '\\';
        out += c;
    }
}

void appendQuotedString(std::string& out, std::string_view text) {
    out += '"';
    if (text.find_first_of("\"\\") == std::string_view::npos) {
        out.append(text);
        out += '"';
        return;
    }
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

void appendFloat(std::string& out, double value) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    (void)ec;  // 32 bytes always fit the shortest representation of a double
    out.append(buf, end);
}

namespace {

void appendUint(std::string& out, uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

}  // namespace

void appendInteger(std::string& out, int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

void appendFieldValue(std::string& out, const FieldValue& value) {
    switch (value.index()) {
        case 0: appendFloat(out, std::get<double>(value)); break;
        case 1: appendInteger(out, std::get<int64_t>(value)); out += 'i'; break;
        case 2: appendUint(out, std::get<uint64_t>(value)); out += 'u'; break;
        case 3: out += std::get<bool>(value) ? "true" : "false"; break;
        case 4: appendQuotedString(out, std::get<std::string>(value)); break;
    }
}

void LineBuilder::reset(std::string_view measurement, bool keys_sorted) {
    measurement_.assign(measurement);
    keys_sorted_ = keys_sorted;
    tag_count_ = 0;
    field_count_ = 0;
}

void LineBuilder::tag(std::string_view key, std::string_view value) {
    if (tag_count_ == tags_.size()) tags_.emplace_back();
    tags_[tag_count_].first.assign(key);
    tags_[tag_count_].second.assign(value);
    ++tag_count_;
}

void LineBuilder::field(std::string_view key, FieldValue value) {
    if (field_count_ == fields_.size()) fields_.emplace_back();
    fields_[field_count_].first.assign(key);
    fields_[field_count_].second = std::move(value);
    ++field_count_;
}

void LineBuilder::appendSeries(std::string& out, EncodeStats& stats) {
    if (!keys_sorted_) {
        std::sort(tags_.begin(), tags_.begin() + static_cast<std::ptrdiff_t>(tag_count_),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    appendEscapedKey(out, measurement_, KeyKind::Measurement, stats);
    for (size_t i = 0; i < tag_count_; ++i) {
        const auto& [key, value] = tags_[i];
        if (key.empty() || value.empty()) {
            ++stats.empty_tags_skipped;  // line protocol has no empty tag values
            continue;
        }
        // A later duplicate key would make the server reject the line: the first one wins.
        if (!keys_sorted_ && i > 0 && tags_[i - 1].first == key) continue;
        out += ',';
        appendEscapedKey(out, key, KeyKind::TagOrFieldKey, stats);
        out += '=';
        appendEscapedKey(out, value, KeyKind::TagOrFieldKey, stats);
    }
}

bool LineBuilder::finish(std::string& out, bool with_timestamp, int64_t timestamp, EncodeStats& stats) {
    // Sorted keys: InfluxDB sorts tags itself otherwise (extra work per point) and compression is better.
    auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (!keys_sorted_) {
        std::sort(fields_.begin(), fields_.begin() + static_cast<std::ptrdiff_t>(field_count_), by_key);
    }

    const size_t start = out.size();
    appendSeries(out, stats);
    bool first = true;
    for (size_t i = 0; i < field_count_; ++i) {
        const auto& [key, value] = fields_[i];
        if (key.empty()) {
            ++stats.empty_fields_skipped;
            continue;
        }
        if (!keys_sorted_ && i > 0 && fields_[i - 1].first == key) continue;
        if (const double* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
            ++stats.nonfinite_skipped;
            continue;
        }
        out += first ? ' ' : ',';
        first = false;
        appendEscapedKey(out, key, KeyKind::TagOrFieldKey, stats);
        out += '=';
        appendFieldValue(out, value);
    }
    if (first) {
        out.resize(start);
        return false;
    }
    if (with_timestamp) {
        out += ' ';
        appendInteger(out, timestamp);
    }
    return true;
}

}  // namespace mqs::influx
