// Rules file parsing and checking; the format is documented in docs/influx.md ("Rules file").
// Every error names the file and the JSON location, in the format all plugins share (common/rules_reader.hpp).
#include "influx/rules.hpp"

#include <fstream>
#include <set>

namespace mqs::influx {
namespace {

FieldType parseType(const RulesNode& v) {
    return v.choice<FieldType>({{"float", FieldType::Float},
                                {"integer", FieldType::Integer},
                                {"unsigned", FieldType::Unsigned},
                                {"boolean", FieldType::Boolean},
                                {"string", FieldType::String}});
}

SinkConfig parseSink(const RulesNode& s) {
    s.checkObject({"name", "type", "url", "database", "retention_policy", "username", "password", "org", "bucket",
                   "token", "gzip", "connect_timeout", "request_timeout", "ca_file", "tls_verify"});
    SinkConfig sink;
    const RulesNode name = s.get("name");
    sink.name = name.string();
    if (sink.name.empty() ||
        sink.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
            std::string::npos) {
        name.fail("'" + sink.name + "' must be non-empty letters, digits, '_' or '-' (it names a spool directory)");
    }
    sink.kind = s.get("type").choice<SinkKind>({{"influxdb1", SinkKind::V1}, {"influxdb2", SinkKind::V2}});
    const RulesNode url = s.get("url");
    sink.url = url.string();
    if (sink.url.rfind("http://", 0) != 0 && sink.url.rfind("https://", 0) != 0) {
        url.fail("'" + sink.url + "' must start with http:// or https://");
    }
    while (!sink.url.empty() && sink.url.back() == '/') sink.url.pop_back();
    auto only = [&](const char* key, SinkKind kind) {
        if (s.has(key) && sink.kind != kind) {
            s.get(key).fail(std::string("only applies to type ") + (kind == SinkKind::V1 ? "influxdb1" : "influxdb2"));
        }
    };
    for (const char* k : {"database", "retention_policy", "username", "password"}) only(k, SinkKind::V1);
    for (const char* k : {"org", "bucket", "token"}) only(k, SinkKind::V2);
    auto optionalString = [&](const char* key) { return s.has(key) ? s.get(key).string() : std::string(); };
    if (sink.kind == SinkKind::V1) {
        sink.database = s.get("database").string();
        sink.retention_policy = optionalString("retention_policy");
        sink.username = optionalString("username");
        sink.password = optionalString("password");
        if (sink.database.empty()) s.get("database").fail("must not be empty");
    } else {
        sink.org = optionalString("org");
        sink.bucket = s.get("bucket").string();
        sink.token = optionalString("token");
        if (sink.bucket.empty()) s.get("bucket").fail("must not be empty");
    }
    if (auto v = s.find("gzip")) sink.gzip = v->boolean();
    if (auto v = s.find("connect_timeout")) sink.connect_timeout = v->positiveDuration();
    if (auto v = s.find("request_timeout")) sink.request_timeout = v->positiveDuration();
    sink.ca_file = optionalString("ca_file");
    if (!sink.ca_file.empty()) {
        std::ifstream probe(sink.ca_file);
        if (!probe) s.get("ca_file").fail("cannot open '" + sink.ca_file + "'");
    }
    if (auto v = s.find("tls_verify")) sink.tls_verify = v->boolean();
    return sink;
}

Rule parseRule(const RulesNode& r) {
    r.checkObject({"name", "topic", "measurement", "tags", "fields", "types", "exclude", "timestamp"});
    Rule rule;
    rule.name = r.get("name").ruleName();
    rule.topic = r.get("topic").topicTemplate();
    std::vector<std::string> placeholders = rule.topic.captureNames();
    placeholders.push_back("topic");
    const RulesNode measurement = r.get("measurement");
    rule.measurement = measurement.outputTemplate(placeholders);
    if (rule.measurement.text().empty()) measurement.fail("must not be empty");

    if (auto tags = r.find("tags")) {
        if (!tags->json().is_object()) {
            tags->fail("must be an object: tag key -> \"text with {capture}\" or {\"path\": ...}");
        }
        for (const auto& [key, spec] : tags->members()) {
            if (key.empty()) spec.fail("tag keys must not be empty");
            TagSpec tag{.key = key};
            if (spec.json().is_string()) {
                tag.text = spec.outputTemplate(placeholders);
            } else if (spec.json().is_object() && spec.json().size() == 1 && spec.has("path") &&
                       spec.get("path").json().is_string()) {
                tag.path = spec.get("path").jsonPath();
            } else {
                spec.fail("must be a string (literal or \"{capture}\") or {\"path\": \"payload.field\"}");
            }
            rule.tags.push_back(std::move(tag));
        }
    }
    if (auto fields = r.find("fields")) {
        if (!fields->json().is_object() || fields->json().empty()) {
            fields->fail(
                "must be a non-empty object: field key -> \"json.path\" or {\"path\": ..., \"type\": ...}; omit it to "
                "take every numeric and boolean top-level field");
        }
        rule.all_fields = false;
        for (const auto& [key, spec] : fields->members()) {
            if (key.empty()) spec.fail("field keys must not be empty");
            FieldSpec field{.key = key, .path = JsonPath::parse("")};
            if (spec.json().is_string()) {
                field.path = spec.jsonPath();
            } else if (spec.json().is_object()) {
                spec.checkObject({"path", "type"});
                field.path = spec.has("path") ? spec.get("path").jsonPath() : JsonPath::parse(key);
                if (auto t = spec.find("type")) field.type = parseType(*t);
            } else {
                spec.fail("must be a JSON path string or {\"path\": ..., \"type\": ...}");
            }
            rule.fields.push_back(std::move(field));
        }
    }
    if (auto types = r.find("types")) {
        for (const auto& [key, t] : types->members()) rule.types[key] = parseType(t);
    }
    if (auto exclude = r.find("exclude")) {
        const auto keys = exclude->elements();
        if (!rule.all_fields) exclude->fail("only applies when \"fields\" is omitted");
        for (const auto& e : keys) rule.exclude.push_back(e.string());
    }
    if (auto t = r.find("timestamp")) {
        if (t->json().is_string() && t->json().get<std::string>() == "receive") {
            rule.timestamp.from_payload = false;
        } else if (t->json().is_object()) {
            t->checkObject({"path", "unit", "when_missing"});
            rule.timestamp.from_payload = true;
            rule.timestamp.path = t->get("path").jsonPath();
            if (auto u = t->find("unit")) {
                std::string unit = u->string();
                auto parsed = parseTimeUnit(unit);
                if (!parsed) u->fail("'" + unit + "' is not one of: s, ms, us, ns, auto, rfc3339");
                rule.timestamp.unit = *parsed;
            }
            if (auto m = t->find("when_missing")) {
                rule.timestamp.receive_when_missing = m->choice<bool>({{"skip", false}, {"receive", true}});
            }
        } else {
            t->fail("must be \"receive\" or {\"path\": ..., \"unit\": ..., \"when_missing\": ...}");
        }
    }
    return rule;
}

Mapping parseMapping(const RulesFile& file) {
    const RulesNode doc = file.root();
    doc.checkObject({"sinks", "rules"});
    Mapping mapping;
    const RulesNode sinks = doc.get("sinks");
    const auto sink_specs = sinks.elements();
    if (sink_specs.empty()) sinks.fail("must not be empty: give at least one InfluxDB server");
    std::set<std::string> names;
    for (const auto& s : sink_specs) {
        mapping.sinks.push_back(parseSink(s));
        if (!names.insert(mapping.sinks.back().name).second) {
            s.get("name").fail("'" + mapping.sinks.back().name + "' is used twice");
        }
    }
    const RulesNode rules = doc.get("rules");
    const auto rule_specs = rules.elements();
    if (rule_specs.empty()) rules.fail("must not be empty: give at least one mapping rule");
    std::set<std::string> rule_names;
    for (const auto& r : rule_specs) {
        mapping.rules.push_back(parseRule(r));
        if (!rule_names.insert(mapping.rules.back().name).second) {
            r.get("name").fail("'" + mapping.rules.back().name + "' is used twice");
        }
    }
    return mapping;
}

}  // namespace

Mapping parseMapping(const std::string& text, const std::string& where) {
    return parseMapping(RulesFile::parse(text, where));
}

Mapping loadMapping(const std::filesystem::path& file) {
    Mapping m = parseMapping(RulesFile::read(file));
    m.source = file;
    return m;
}

}  // namespace mqs::influx
