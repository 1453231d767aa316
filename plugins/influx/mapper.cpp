// Message-to-line mapping; see mapper.hpp and docs/influx.md ("Mapping").
// Hot path: the parser, the line builder and the capture buffers are reused across messages.
#include "influx/mapper.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace mqs::influx {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

std::optional<double> parseDouble(std::string_view s) {
    s = trim(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

template <typename Int>
std::optional<Int> parseInt(std::string_view s) {
    s = trim(s);
    Int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

template <typename T>
bool assign(FieldValue& out, T&& value) {
    out = std::forward<T>(value);
    return true;
}

// Coerces a JSON value to the pinned type into `out`; false when it cannot be done without losing meaning.
// (An out-parameter rather than optional<variant>: GCC 12 reports a false maybe-uninitialized on the latter.)
bool coerce(element v, std::optional<FieldType> type, FieldValue& out) {
    const element_type t = v.type();
    if (!type) {
        switch (t) {
            case element_type::DOUBLE: return assign(out, v.get_double().value_unsafe());
            case element_type::INT64: return assign(out, static_cast<double>(v.get_int64().value_unsafe()));
            case element_type::UINT64: return assign(out, static_cast<double>(v.get_uint64().value_unsafe()));
            case element_type::BOOL: return assign(out, v.get_bool().value_unsafe());
            case element_type::STRING: return assign(out, std::string(v.get_string().value_unsafe()));
            default: return false;
        }
    }
    switch (*type) {
        case FieldType::Float:
            if (t == element_type::DOUBLE) return assign(out, v.get_double().value_unsafe());
            if (t == element_type::INT64) return assign(out, static_cast<double>(v.get_int64().value_unsafe()));
            if (t == element_type::UINT64) return assign(out, static_cast<double>(v.get_uint64().value_unsafe()));
            if (t == element_type::STRING) {
                if (auto d = parseDouble(v.get_string().value_unsafe())) return assign(out, *d);
            }
            return false;
        case FieldType::Integer:
            if (t == element_type::INT64) return assign(out, v.get_int64().value_unsafe());
            if (t == element_type::UINT64) {
                uint64_t u = v.get_uint64().value_unsafe();
                if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return assign(out, static_cast<int64_t>(u));
                return false;
            }
            if (t == element_type::DOUBLE) {
                double d = v.get_double().value_unsafe();
                if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) return assign(out, static_cast<int64_t>(d));
                return false;
            }
            if (t == element_type::STRING) {
                if (auto i = parseInt<int64_t>(v.get_string().value_unsafe())) return assign(out, *i);
            }
            return false;
        case FieldType::Unsigned:
            if (t == element_type::UINT64) return assign(out, v.get_uint64().value_unsafe());
            if (t == element_type::INT64) {
                int64_t i = v.get_int64().value_unsafe();
                if (i >= 0) return assign(out, static_cast<uint64_t>(i));
                return false;
            }
            if (t == element_type::DOUBLE) {
                double d = v.get_double().value_unsafe();
                if (std::isfinite(d) && d == std::trunc(d) && d >= 0 && d < 1.8e19) return assign(out, static_cast<uint64_t>(d));
                return false;
            }
            if (t == element_type::STRING) {
                if (auto u = parseInt<uint64_t>(v.get_string().value_unsafe())) return assign(out, *u);
            }
            return false;
        case FieldType::Boolean:
            if (t == element_type::BOOL) return assign(out, v.get_bool().value_unsafe());
            if (t == element_type::STRING) {
                std::string_view s = v.get_string().value_unsafe();
                if (s == "true") return assign(out, true);
                if (s == "false") return assign(out, false);
            }
            return false;
        case FieldType::String:
            if (t == element_type::STRING) return assign(out, std::string(v.get_string().value_unsafe()));
            if (t == element_type::BOOL) return assign(out, std::string(v.get_bool().value_unsafe() ? "true" : "false"));
            if (t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE) {
                return assign(out, simdjson::minify(v));
            }
            return false;
    }
    return false;
}

// Text of a JSON scalar for a tag value.
std::optional<std::string> tagText(element v) {
    switch (v.type()) {
        case element_type::STRING: return std::string(v.get_string().value_unsafe());
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE: return simdjson::minify(v);
        case element_type::BOOL: return std::string(v.get_bool().value_unsafe() ? "true" : "false");
        default: return std::nullopt;
    }
}

std::string cannotWrite(std::string_view key, std::optional<FieldType> type, element value) {
    return "field '" + std::string(key) + "' cannot be written as " + (type ? fieldTypeName(*type) : "a field") + ": " +
           simdjson::minify(value).substr(0, 60);
}

// How the flat path writes a member as a field of this type: numbers as the publisher wrote them
// (the same value as the shortest form; the scanner passes only plain decimals), booleans and
// strings as they are. Nothing when the general path must decide: coercions, refusals, and -0,
// which the general path writes as 0.
struct FlatValue {
    std::string_view suffix;  // "", "i" or "u" after the text
    bool quoted = false;
};
std::optional<FlatValue> flatValue(const FlatJsonMember& m, std::optional<FieldType> type) {
    using K = FlatJsonMember::Kind;
    if (m.isNumber() && m.text != "-0") {
        if (!type || *type == FieldType::Float) return FlatValue{"", false};
        if (m.kind == K::Integer && *type == FieldType::Integer) return FlatValue{"i", false};
        if (m.kind == K::Integer && *type == FieldType::Unsigned && m.text[0] != '-') return FlatValue{"u", false};
    }
    if ((m.kind == K::True || m.kind == K::False) && (!type || *type == FieldType::Boolean)) return FlatValue{"", false};
    if (m.kind == K::String && (!type || *type == FieldType::String)) return FlatValue{"", true};
    return std::nullopt;
}

std::optional<FieldType> pinned(const Rule& rule, std::string_view key) {
    auto it = rule.types.find(key);
    if (it == rule.types.end()) return std::nullopt;
    return it->second;
}

}  // namespace

Mapper::Mapper(std::shared_ptr<const Mapping> mapping, Precision precision, MapperLimits limits,
               MetricsRegistry& metrics)
    : mapping_(std::move(mapping)),
      precision_(precision),
      limits_(limits),
      fields_(JsonLimits{.max_bytes = limits.max_payload_bytes, .max_depth = 64}),
      counters_{metrics.get("mapping/mapped"),           metrics.get("mapping/unmatched"),
                metrics.get("mapping/invalid_payload"),  metrics.get("mapping/too_large"),
                metrics.get("mapping/too_many_fields"),  metrics.get("mapping/no_field"),
                metrics.get("mapping/bad_timestamp"),    metrics.get("mapping/coerce_failed"),
                metrics.get("mapping/missing_field"),    metrics.get("mapping/nonfinite_skipped"),
                metrics.get("mapping/control_replaced"), metrics.get("mapping/backslash_replaced"),
                metrics.get("mapping/series_uncached"),  metrics.get("mapping/hash_replaced")} {
    for (const auto& rule : mapping_->rules) {
        std::vector<EscapedKey> keys;
        for (const auto& f : rule.fields) {
            EscapedKey k;
            appendEscapedKey(k.text, f.key, KeyKind::TagOrFieldKey, k.stats);
            keys.push_back(std::move(k));
        }
        field_keys_.push_back(std::move(keys));
    }
}

bool Mapper::addValue(std::string_view key, element value, std::optional<FieldType> type, std::string& reason) {
    if (value.type() == element_type::NULL_VALUE) {
        counters_.missing_field.add();
        return false;
    }
    if (!coerce(value, type, value_)) {
        counters_.coerce_failed.add();
        reason = cannotWrite(key, type, value);
        return false;
    }
    builder_.field(key, std::move(value_));
    return true;
}

bool Mapper::addScalarPayload(const Rule& rule, std::string_view text, std::string& reason) {
    std::optional<FieldType> type = pinned(rule, "value");
    for (const auto& f : rule.fields) {
        if (f.key == "value" && f.type) type = f.type;
    }
    auto d = parseDouble(text);
    if (!d) return false;
    if (!type || *type == FieldType::Float) {
        builder_.field("value", *d);
        return true;
    }
    // Pinned non-float: coerce through the same rules as JSON numbers.
    scratch_.assign(trim(text));
    simdjson::dom::element root;
    std::string error;
    if (scalar_parser_.parse(scratch_.data(), scratch_.size(), root, error)) return addValue("value", root, type, reason);
    counters_.coerce_failed.add();
    reason = "payload " + std::string(trim(text)).substr(0, 40) + " cannot be written as " + fieldTypeName(*type);
    return false;
}

bool Mapper::timestampFrom(const Rule& rule, element root, bool is_object, ReceiveTime& receive, int64_t& out,
                           std::string& reason) {
    const TimestampSpec& ts = rule.timestamp;
    if (!ts.from_payload) {
        out = receive.ns();
        return true;
    }
    std::optional<element> v;
    if (is_object) v = ts.path.resolve(root);
    if (!v || v->type() == element_type::NULL_VALUE) {
        if (ts.receive_when_missing) {
            out = receive.ns();
            return true;
        }
        reason = "no timestamp at '" + ts.path.text() + "'";
        return false;
    }
    std::optional<int64_t> ns;
    switch (v->type()) {
        case element_type::INT64: ns = epochToNanos(v->get_int64().value_unsafe(), ts.unit); break;
        case element_type::UINT64: {
            uint64_t u = v->get_uint64().value_unsafe();
            if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) ns = epochToNanos(static_cast<int64_t>(u), ts.unit);
            break;
        }
        case element_type::DOUBLE: ns = epochToNanos(v->get_double().value_unsafe(), ts.unit); break;
        case element_type::STRING: {
            std::string_view s = v->get_string().value_unsafe();
            if (ts.unit == TimeUnit::Rfc3339 || ts.unit == TimeUnit::Auto) ns = parseRfc3339(s);
            if (!ns && ts.unit != TimeUnit::Rfc3339) {
                if (auto i = parseInt<int64_t>(s)) ns = epochToNanos(*i, ts.unit);
            }
            break;
        }
        default: break;
    }
    if (!ns) {
        reason = "timestamp at '" + ts.path.text() + "' is not usable: " + simdjson::minify(*v).substr(0, 60);
        return false;
    }
    out = *ns;
    return true;
}

MapResult Mapper::map(std::string_view topic, const void* payload, size_t length, ReceiveTime receive, std::string& line,
                      std::string& reason) {
    line.clear();
    const size_t hash = TopicCache<Series>::hashOf(topic);
    Series* series = series_.find(topic, hash);
    bool captured = false;  // captures_ holds this topic's captures
    if (series == nullptr) {
        series = &learnTopic(topic, hash);
        captured = true;
    }
    if (series->rule == kNoRule) {
        counters_.unmatched.add();
        return MapResult::Unmatched;
    }
    const Rule& rule = mapping_->rules[series->rule];
    fields_.reset(payload, length);
    if (series->fast) {
        MapResult r = mapFlat(rule, *series, receive, line, reason);
        if (r != MapResult::Unmatched) return r;  // Unmatched here: declined, the general path decides
    }
    if (!captured) rule.topic.match(topic, &captures_);
    return mapGeneral(rule, topic, receive, line, reason);
}

Mapper::Series& Mapper::learnTopic(std::string_view topic, size_t hash) {
    // Captures are not cleared: set() reuses their buffers, and a match overwrites every name its rule uses.
    uint32_t found = kNoRule;
    for (uint32_t i = 0; i < mapping_->rules.size(); ++i) {
        if (mapping_->rules[i].topic.match(topic, &captures_)) {
            found = i;
            break;
        }
    }
    // Worked out in uncached_ first, cached only when it fits: a long topic, or a template that
    // repeats its captures, must not make every slot as large (per-series state is bounded in bytes).
    Series& series = uncached_;
    if (series.prefix.capacity() > kMaxSeriesBytes) series.prefix = std::string();  // let a huge one go
    series.rule = found;
    series.fast = false;
    series.prefix.clear();
    series.prefix_stats = EncodeStats{};
    if (found != kNoRule) {
        const Rule& rule = mapping_->rules[found];
        captures_.set("topic", topic);
        // The flat path: explicit fields and timestamp at top-level keys, tags from the topic only.
        bool flat = !rule.all_fields;
        for (const auto& tag : rule.tags) flat = flat && tag.text;
        for (const auto& f : rule.fields) flat = flat && f.path.topLevelKey();
        if (rule.timestamp.from_payload) flat = flat && rule.timestamp.path.topLevelKey();
        series.fast = flat;
        if (series.fast) {
            // Measurement and tags depend on the topic alone: escape them once per topic, not per message.
            builder_.reset(rule.measurement.render(captures_), true);
            for (const auto& tag : rule.tags) builder_.tag(tag.key, tag.text->render(captures_));
            builder_.appendSeries(series.prefix, series.prefix_stats);
        }
    }
    Series* cached = series.prefix.size() <= kMaxSeriesBytes ? series_.store(topic, hash) : nullptr;
    if (cached == nullptr) {
        counters_.series_uncached.add();
        return series;
    }
    cached->rule = series.rule;
    cached->fast = series.fast;
    cached->prefix_stats = series.prefix_stats;
    // Exact-size copy: assign() may leave up to twice the size reserved, which the bound would not cover.
    if (series.prefix.size() <= cached->prefix.capacity())
        cached->prefix.assign(series.prefix);
    else
        cached->prefix = std::string(series.prefix);
    return *cached;
}

size_t Mapper::seriesCacheBytes() const {
    return series_.heapBytes([](const Series& s) { return TopicCache<Series>::heapCapacity(s.prefix); });
}

MapResult Mapper::mapFlat(const Rule& rule, const Series& series, ReceiveTime& receive, std::string& line,
                          std::string& reason) {
    // Declines (Unmatched) whenever the general path might decide differently: the payload is not a
    // flat object, or a value needs a coercion this path does not do. The general path is the reference.
    if (rule.fields.size() > limits_.max_fields) return MapResult::Unmatched;
    const FlatJsonObject* flat = fields_.flat();  // null when larger than max_payload_bytes or not flat
    if (flat == nullptr) return MapResult::Unmatched;
    const std::vector<EscapedKey>& keys = field_keys_[series.rule];
    EncodeStats stats = series.prefix_stats;
    line.assign(series.prefix);
    bool first = true;
    size_t missing = 0;
    for (size_t i = 0; i < rule.fields.size(); ++i) {
        const FieldSpec& f = rule.fields[i];
        const FlatJsonMember* m = flat->find(*f.path.topLevelKey());
        if (m == nullptr || m->kind == FlatJsonMember::Kind::Null) {
            ++missing;
            continue;
        }
        const std::optional<FlatValue> value = flatValue(*m, f.type);
        if (!value) {
            line.clear();
            return MapResult::Unmatched;  // a coercion or a refusal: the general path counts and explains it
        }
        if (keys[i].text.empty()) {
            ++stats.empty_fields_skipped;
            continue;
        }
        line += first ? ' ' : ',';
        first = false;
        line += keys[i].text;
        stats.control_replaced += keys[i].stats.control_replaced;
        stats.backslash_replaced += keys[i].stats.backslash_replaced;
        line += '=';
        if (value->quoted) {
            appendQuotedString(line, m->text);
        } else {
            line += m->text;
            line += value->suffix;
        }
    }
    int64_t ts_ns = 0;
    if (!rule.timestamp.from_payload) {
        ts_ns = receive.ns();
    } else {
        const FlatJsonMember* m = flat->find(*rule.timestamp.path.topLevelKey());
        std::optional<int64_t> ns;
        if (m && m->kind == FlatJsonMember::Kind::Integer) ns = epochToNanos(m->integer(), rule.timestamp.unit);
        else if (m && m->kind == FlatJsonMember::Kind::Decimal) ns = epochToNanos(m->number(), rule.timestamp.unit);
        else if ((!m || m->kind == FlatJsonMember::Kind::Null) && rule.timestamp.receive_when_missing) ns = receive.ns();
        if (!ns) {
            line.clear();
            return MapResult::Unmatched;  // RFC 3339 text, or a timestamp problem the general path reports
        }
        ts_ns = *ns;
    }
    if (missing) counters_.missing_field.add(static_cast<int64_t>(missing));
    countEncoding(stats);
    auto skip = [&](Metric& counter, const char* why) {
        line.clear();
        counter.add();
        reason = "rule '" + rule.name + "': " + why;
        return MapResult::Skipped;
    };
    if (first) return skip(counters_.no_field, "no field to write");
    line += ' ';
    appendInteger(line, toPrecision(ts_ns, precision_));
    if (line.size() > limits_.max_line_bytes) return skip(counters_.too_large, "line longer than max_line_bytes");
    counters_.mapped.add();
    return MapResult::Mapped;
}

void Mapper::countEncoding(const EncodeStats& stats) {
    counters_.nonfinite.add(static_cast<int64_t>(stats.nonfinite_skipped));
    if (stats.control_replaced) counters_.control_replaced.add(static_cast<int64_t>(stats.control_replaced));
    if (stats.backslash_replaced) counters_.backslash_replaced.add(static_cast<int64_t>(stats.backslash_replaced));
    if (stats.hash_replaced) counters_.hash_replaced.add(static_cast<int64_t>(stats.hash_replaced));
}

// The general path: any rule, any payload (plain numbers, all-fields mode, payload tags).
MapResult Mapper::mapGeneral(const Rule& rule_ref, std::string_view topic, ReceiveTime& receive, std::string& line,
                             std::string& reason) {
    line.clear();
    const Rule* rule = &rule_ref;
    auto skip = [&](Metric& counter, std::string why) {
        counter.add();
        reason = "rule '" + rule->name + "': " + std::move(why);
        return MapResult::Skipped;
    };
    const std::string_view text = fields_.text();
    if (text.size() > limits_.max_payload_bytes) {
        return skip(counters_.too_large, "payload of " + std::to_string(text.size()) + " bytes is larger than max_payload_bytes");
    }
    captures_.set("topic", topic);
    // Tags and explicit fields come from JSON objects of the rules file, so they arrive sorted and unique.
    builder_.reset(rule->measurement.render(captures_), !rule->all_fields);

    simdjson::dom::element root;
    const bool is_json = fields_.dom(root);
    const bool is_object = is_json && root.type() == element_type::OBJECT;
    std::string field_reason;

    for (const auto& tag : rule->tags) {
        if (tag.text) {
            builder_.tag(tag.key, tag.text->render(captures_));
        } else if (is_object) {
            if (auto v = tag.path->resolve(root)) {
                if (auto value = tagText(*v)) builder_.tag(tag.key, *value);
            }
        }
    }

    if (!is_json || root.type() == element_type::DOUBLE || root.type() == element_type::INT64 ||
        root.type() == element_type::UINT64) {
        // Plain numeric payloads such as "23.1" (JSON numbers included) become the field "value".
        if (!addScalarPayload(*rule, text, field_reason)) {
            if (!field_reason.empty()) return skip(counters_.no_field, field_reason);
            return skip(counters_.invalid_payload, is_json ? "payload is not an object or a number"
                                                           : "payload is neither JSON nor a number (" + fields_.domError() + ")");
        }
    } else if (!is_object) {
        return skip(counters_.invalid_payload, "payload is JSON but neither an object nor a number");
    } else if (rule->all_fields) {
        simdjson::dom::object obj = root.get_object().value_unsafe();
        if (obj.size() > limits_.max_fields) {
            return skip(counters_.too_many_fields, "payload has more than " + std::to_string(limits_.max_fields) + " fields");
        }
        for (auto [key, value] : obj) {
            const element_type t = value.type();
            auto type = pinned(*rule, key);
            if (!type && t != element_type::DOUBLE && t != element_type::INT64 && t != element_type::UINT64 &&
                t != element_type::BOOL) {
                continue;  // by default only numbers and booleans are fields
            }
            if (rule->timestamp.from_payload && rule->timestamp.path.text() == key) continue;
            if (std::find(rule->exclude.begin(), rule->exclude.end(), key) != rule->exclude.end()) continue;
            bool is_tag = false;
            for (const auto& tag : rule->tags) is_tag = is_tag || (tag.path && tag.path->text() == key);
            if (is_tag) continue;
            addValue(key, value, type, field_reason);
        }
    } else {
        if (rule->fields.size() > limits_.max_fields) {
            return skip(counters_.too_many_fields, "rule has more than " + std::to_string(limits_.max_fields) + " fields");
        }
        for (const auto& f : rule->fields) {
            auto v = f.path.resolve(root);
            if (!v) {
                counters_.missing_field.add();
                continue;
            }
            addValue(f.key, *v, f.type, field_reason);
        }
    }
    if (builder_.fieldCount() > limits_.max_fields) {
        return skip(counters_.too_many_fields, "point has more than " + std::to_string(limits_.max_fields) + " fields");
    }

    int64_t ts_ns = 0;
    std::string ts_reason;
    if (!timestampFrom(*rule, root, is_object, receive, ts_ns, ts_reason)) return skip(counters_.bad_timestamp, ts_reason);

    EncodeStats stats;
    const bool has_field = builder_.finish(line, true, toPrecision(ts_ns, precision_), stats);
    countEncoding(stats);
    if (!has_field) {
        return skip(counters_.no_field, field_reason.empty() ? "no field to write" : "no field to write; " + field_reason);
    }
    if (line.size() > limits_.max_line_bytes) {
        line.clear();
        return skip(counters_.too_large, "line longer than max_line_bytes");
    }
    if (!field_reason.empty()) reason = "rule '" + rule->name + "': " + field_reason;  // written, but a field was dropped
    counters_.mapped.add();
    return MapResult::Mapped;
}

}  // namespace mqs::influx
