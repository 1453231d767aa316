// Rules file parsing and checking; the format is documented in docs/influx.md ("Rules file").
// Every error names the file and the JSON location, like the validate plugin's rules.
#include "rules.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "options.hpp"

namespace mqs::influx {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw RulesError(where + ": " + what); }

void onlyKeys(const json& obj, const std::set<std::string>& known, const std::string& where) {
    for (const auto& [key, value] : obj.items()) {
        if (!known.count(key)) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            fail(where + "." + key, "unknown key (known: " + list + ")");
        }
    }
}

std::string stringField(const json& obj, const char* key, const std::string& where, bool required,
                        const std::string& fallback = "") {
    if (!obj.contains(key)) {
        if (required) fail(where + "." + key, "is required");
        return fallback;
    }
    if (!obj[key].is_string()) fail(where + "." + key, "must be a string");
    return obj[key].get<std::string>();
}

bool boolField(const json& obj, const char* key, bool fallback, const std::string& where) {
    if (!obj.contains(key)) return fallback;
    if (!obj[key].is_boolean()) fail(where + "." + key, "must be true or false");
    return obj[key].get<bool>();
}

std::chrono::milliseconds durationField(const json& obj, const char* key, std::chrono::milliseconds fallback,
                                        const std::string& where) {
    if (!obj.contains(key)) return fallback;
    if (!obj[key].is_string()) fail(where + "." + key, "must be a duration string such as \"5s\"");
    auto d = parseDuration(obj[key].get<std::string>());
    if (!d || d->count() <= 0) fail(where + "." + key, "'" + obj[key].get<std::string>() + "' is not a positive duration");
    return *d;
}

FieldType parseType(const json& v, const std::string& where) {
    if (!v.is_string()) fail(where, "must be one of: float, integer, unsigned, boolean, string");
    std::string t = v.get<std::string>();
    if (t == "float") return FieldType::Float;
    if (t == "integer") return FieldType::Integer;
    if (t == "unsigned") return FieldType::Unsigned;
    if (t == "boolean") return FieldType::Boolean;
    if (t == "string") return FieldType::String;
    fail(where, "'" + t + "' is not one of: float, integer, unsigned, boolean, string");
}

JsonPath parsePath(const std::string& text, const std::string& where) {
    try {
        return JsonPath::parse(text);
    } catch (const std::invalid_argument& e) {
        fail(where, e.what());
    }
}

SinkConfig parseSink(const json& s, const std::string& where) {
    if (!s.is_object()) fail(where, "must be an object");
    onlyKeys(s, {"name", "type", "url", "database", "retention_policy", "username", "password", "org", "bucket", "token",
                 "gzip", "connect_timeout", "request_timeout", "ca_file", "tls_verify"},
             where);
    SinkConfig sink;
    sink.name = stringField(s, "name", where, true);
    if (sink.name.empty() || sink.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
                                 std::string::npos) {
        fail(where + ".name", "'" + sink.name + "' must be non-empty letters, digits, '_' or '-' (it names a spool directory)");
    }
    std::string type = stringField(s, "type", where, true);
    if (type == "influxdb1") sink.kind = SinkKind::V1;
    else if (type == "influxdb2") sink.kind = SinkKind::V2;
    else fail(where + ".type", "'" + type + "' is not one of: influxdb1, influxdb2");
    sink.url = stringField(s, "url", where, true);
    if (sink.url.rfind("http://", 0) != 0 && sink.url.rfind("https://", 0) != 0) {
        fail(where + ".url", "'" + sink.url + "' must start with http:// or https://");
    }
    while (!sink.url.empty() && sink.url.back() == '/') sink.url.pop_back();
    auto only = [&](const char* key, SinkKind kind) {
        if (s.contains(key) && sink.kind != kind) {
            fail(where + "." + key, std::string("only applies to type ") + (kind == SinkKind::V1 ? "influxdb1" : "influxdb2"));
        }
    };
    for (const char* k : {"database", "retention_policy", "username", "password"}) only(k, SinkKind::V1);
    for (const char* k : {"org", "bucket", "token"}) only(k, SinkKind::V2);
    if (sink.kind == SinkKind::V1) {
        sink.database = stringField(s, "database", where, true);
        sink.retention_policy = stringField(s, "retention_policy", where, false);
        sink.username = stringField(s, "username", where, false);
        sink.password = stringField(s, "password", where, false);
        if (sink.database.empty()) fail(where + ".database", "must not be empty");
    } else {
        sink.org = stringField(s, "org", where, false);
        sink.bucket = stringField(s, "bucket", where, true);
        sink.token = stringField(s, "token", where, false);
        if (sink.bucket.empty()) fail(where + ".bucket", "must not be empty");
    }
    sink.gzip = boolField(s, "gzip", false, where);
    sink.connect_timeout = durationField(s, "connect_timeout", sink.connect_timeout, where);
    sink.request_timeout = durationField(s, "request_timeout", sink.request_timeout, where);
    sink.ca_file = stringField(s, "ca_file", where, false);
    if (!sink.ca_file.empty()) {
        std::ifstream probe(sink.ca_file);
        if (!probe) fail(where + ".ca_file", "cannot open '" + sink.ca_file + "'");
    }
    sink.tls_verify = boolField(s, "tls_verify", true, where);
    return sink;
}

Rule parseRule(const json& r, const std::string& where) {
    if (!r.is_object()) fail(where, "must be an object");
    onlyKeys(r, {"name", "topic", "measurement", "tags", "fields", "types", "exclude", "timestamp"}, where);
    Rule rule;
    rule.name = stringField(r, "name", where, true);
    if (rule.name.empty()) fail(where + ".name", "must not be empty");
    try {
        rule.topic = TopicTemplate::parse(stringField(r, "topic", where, true));
    } catch (const std::invalid_argument& e) {
        fail(where + ".topic", e.what());
    }
    std::vector<std::string> placeholders = rule.topic.captureNames();
    placeholders.push_back("topic");
    try {
        rule.measurement = OutputTemplate::parse(stringField(r, "measurement", where, true), placeholders);
    } catch (const std::invalid_argument& e) {
        fail(where + ".measurement", e.what());
    }
    if (rule.measurement.text().empty()) fail(where + ".measurement", "must not be empty");

    if (r.contains("tags")) {
        const json& tags = r["tags"];
        if (!tags.is_object()) fail(where + ".tags", "must be an object: tag key -> \"text with {capture}\" or {\"path\": ...}");
        for (const auto& [key, spec] : tags.items()) {
            std::string twhere = where + ".tags." + key;
            if (key.empty()) fail(twhere, "tag keys must not be empty");
            TagSpec tag{.key = key};
            if (spec.is_string()) {
                try {
                    tag.text = OutputTemplate::parse(spec.get<std::string>(), placeholders);
                } catch (const std::invalid_argument& e) {
                    fail(twhere, e.what());
                }
            } else if (spec.is_object() && spec.contains("path") && spec["path"].is_string() && spec.size() == 1) {
                tag.path = parsePath(spec["path"].get<std::string>(), twhere + ".path");
            } else {
                fail(twhere, "must be a string (literal or \"{capture}\") or {\"path\": \"payload.field\"}");
            }
            rule.tags.push_back(std::move(tag));
        }
    }
    if (r.contains("fields")) {
        const json& fields = r["fields"];
        if (!fields.is_object() || fields.empty()) {
            fail(where + ".fields", "must be a non-empty object: field key -> \"json.path\" or {\"path\": ..., \"type\": ...}; omit it to take every numeric and boolean top-level field");
        }
        rule.all_fields = false;
        for (const auto& [key, spec] : fields.items()) {
            std::string fwhere = where + ".fields." + key;
            if (key.empty()) fail(fwhere, "field keys must not be empty");
            FieldSpec field{.key = key, .path = JsonPath::parse("")};
            if (spec.is_string()) {
                field.path = parsePath(spec.get<std::string>(), fwhere);
            } else if (spec.is_object()) {
                onlyKeys(spec, {"path", "type"}, fwhere);
                field.path = parsePath(stringField(spec, "path", fwhere, false, key), fwhere + ".path");
                if (spec.contains("type")) field.type = parseType(spec["type"], fwhere + ".type");
            } else {
                fail(fwhere, "must be a JSON path string or {\"path\": ..., \"type\": ...}");
            }
            rule.fields.push_back(std::move(field));
        }
    }
    if (r.contains("types")) {
        if (!r["types"].is_object()) fail(where + ".types", "must be an object: field key -> type");
        for (const auto& [key, t] : r["types"].items()) rule.types[key] = parseType(t, where + ".types." + key);
    }
    if (r.contains("exclude")) {
        if (!r["exclude"].is_array()) fail(where + ".exclude", "must be an array of top-level keys");
        if (!rule.all_fields) fail(where + ".exclude", "only applies when \"fields\" is omitted");
        for (const auto& e : r["exclude"]) {
            if (!e.is_string()) fail(where + ".exclude", "must contain strings");
            rule.exclude.push_back(e.get<std::string>());
        }
    }
    if (r.contains("timestamp")) {
        const json& t = r["timestamp"];
        std::string twhere = where + ".timestamp";
        if (t.is_string() && t.get<std::string>() == "receive") {
            rule.timestamp.from_payload = false;
        } else if (t.is_object()) {
            onlyKeys(t, {"path", "unit", "when_missing"}, twhere);
            rule.timestamp.from_payload = true;
            rule.timestamp.path = parsePath(stringField(t, "path", twhere, true), twhere + ".path");
            std::string unit = stringField(t, "unit", twhere, false, "auto");
            auto u = parseTimeUnit(unit);
            if (!u) fail(twhere + ".unit", "'" + unit + "' is not one of: s, ms, us, ns, auto, rfc3339");
            rule.timestamp.unit = *u;
            std::string missing = stringField(t, "when_missing", twhere, false, "skip");
            if (missing == "receive") rule.timestamp.receive_when_missing = true;
            else if (missing != "skip") fail(twhere + ".when_missing", "'" + missing + "' is not one of: skip, receive");
        } else {
            fail(twhere, "must be \"receive\" or {\"path\": ..., \"unit\": ..., \"when_missing\": ...}");
        }
    }
    return rule;
}

}  // namespace

Mapping parseMapping(const std::string& text, const std::string& where) {
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::parse_error& e) {
        fail(where, std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object()) fail(where, "must be a JSON object with \"sinks\" and \"rules\" arrays");
    onlyKeys(doc, {"sinks", "rules"}, where);
    Mapping mapping;
    if (!doc.contains("sinks") || !doc["sinks"].is_array() || doc["sinks"].empty()) {
        fail(where + ": sinks", "is required: a non-empty array of InfluxDB servers");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < doc["sinks"].size(); ++i) {
        std::string swhere = where + ": sinks[" + std::to_string(i) + "]";
        mapping.sinks.push_back(parseSink(doc["sinks"][i], swhere));
        if (!names.insert(mapping.sinks.back().name).second) fail(swhere + ".name", "'" + mapping.sinks.back().name + "' is used twice");
    }
    if (!doc.contains("rules") || !doc["rules"].is_array() || doc["rules"].empty()) {
        fail(where + ": rules", "is required: a non-empty array of mapping rules");
    }
    std::set<std::string> rule_names;
    for (size_t i = 0; i < doc["rules"].size(); ++i) {
        std::string rwhere = where + ": rules[" + std::to_string(i) + "]";
        mapping.rules.push_back(parseRule(doc["rules"][i], rwhere));
        if (!rule_names.insert(mapping.rules.back().name).second) fail(rwhere + ".name", "'" + mapping.rules.back().name + "' is used twice");
    }
    return mapping;
}

Mapping loadMapping(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) fail(file.string(), "cannot open rules file");
    std::stringstream text;
    text << in.rdbuf();
    Mapping m = parseMapping(text.str(), file.string());
    m.source = file;
    return m;
}

}  // namespace mqs::influx
