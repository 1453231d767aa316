// Rules file loading (with located errors) and message mapping, table-driven, including the
// warehouse example from conf/influx and hostile payloads.
#include <gtest/gtest.h>

#include <charconv>
#include <map>
#include <memory>
#include <random>

#include "influx/mapper.hpp"
#include "influx/rules.hpp"

using namespace mqs;
using namespace mqs::influx;

namespace {

const std::string kSink = R"({"name":"s","type":"influxdb2","url":"http://127.0.0.1:1","bucket":"b"})";

std::string rulesWith(const std::string& rules) { return R"({"sinks":[)" + kSink + R"(],"rules":[)" + rules + "]}"; }

struct MapCase {
    const char* name;
    std::string rule;
    std::string topic;
    std::string payload;
    MapResult result;
    std::string line;       // expected line when Mapped
    const char* counter;    // metric bumped (when not Mapped), or nullptr
};

std::ostream& operator<<(std::ostream& os, const MapCase& c) { return os << c.name; }

class Mapping : public ::testing::TestWithParam<MapCase> {};

const std::string kAll = R"({"name":"r","topic":"t/{zone}","measurement":"m","tags":{"zone":"{zone}"},
                             "timestamp":{"path":"ts","unit":"auto","when_missing":"receive"}})";
const std::string kTyped = R"({"name":"r","topic":"t/{zone}","measurement":"m",
    "fields":{"i":{"path":"i","type":"integer"},"u":{"path":"u","type":"unsigned"},"b":{"path":"b","type":"boolean"},
              "s":{"path":"s","type":"string"},"f":{"path":"f","type":"float"},"deep":"a.b[1]"},
    "timestamp":{"path":"ts","unit":"s"}})";
const std::string kReceive = R"({"name":"r","topic":"t/{zone}","measurement":"{zone}_m","tags":{"site":"paris","id":{"path":"id"}}})";
const std::string kExplicitEscaped = R"({"name":"r","topic":"t/{zone}","measurement":"m","tags":{"zone":"{zone}"},
    "fields":{"a b":{"path":"v"},"n":{"path":"s","type":"float"}}})";
const std::string kRfc = R"({"name":"r","topic":"t/{zone}","measurement":"m","timestamp":{"path":"time","unit":"rfc3339"}})";

// Receive time in the tests: FakeClock-like constant 2025-11-22T00:00:00Z.
constexpr int64_t kReceiveNs = 1'763'769'600'000'000'000;

TEST_P(Mapping, Table) {
    const auto& c = GetParam();
    MetricsRegistry metrics;
    auto mapping = std::make_shared<const influx::Mapping>(parseMapping(rulesWith(c.rule), "rules.json"));
    Mapper mapper(mapping, Precision::Ns, MapperLimits{.max_payload_bytes = 4096, .max_fields = 50, .max_line_bytes = 2048}, metrics);
    // Twice: the first message on a topic matches the rules, the second comes from the per-topic cache.
    for (int round = 1; round <= 2; ++round) {
        std::string line, reason;
        MapResult r = mapper.map(c.topic, c.payload.data(), c.payload.size(), kReceiveNs, line, reason);
        EXPECT_EQ(r, c.result) << "round " << round << ": " << reason;
        if (c.result == MapResult::Mapped) {
            EXPECT_EQ(line, c.line) << "round " << round << ": " << reason;
        }
        if (c.counter) {
            EXPECT_EQ(metrics.get(c.counter).value(), round) << reason;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, Mapping,
    ::testing::Values(
        MapCase{"default_fields_numbers_are_floats", kAll, "t/nord", R"({"ts":1732200000,"temp":20,"hum":44.5,"on":true,"name":"x","arr":[1]})",
                MapResult::Mapped, "m,zone=nord hum=44.5,on=true,temp=20 1732200000000000000", nullptr},
        MapCase{"plain_number_becomes_value", kAll, "t/sud", "23.1", MapResult::Mapped,
                "m,zone=sud value=23.1 1763769600000000000", nullptr},
        MapCase{"plain_number_with_spaces", kAll, "t/sud", " 42\n", MapResult::Mapped, "m,zone=sud value=42 1763769600000000000", nullptr},
        MapCase{"plain_nan_is_skipped", kAll, "t/sud", "nan", MapResult::Skipped, "", "mapping/nonfinite_skipped"},
        MapCase{"not_json_not_number", kAll, "t/sud", "hello", MapResult::Skipped, "", "mapping/invalid_payload"},
        MapCase{"json_array_is_invalid", kAll, "t/sud", "[1,2]", MapResult::Skipped, "", "mapping/invalid_payload"},
        MapCase{"object_without_numbers", kAll, "t/sud", R"({"a":"x"})", MapResult::Skipped, "", "mapping/no_field"},
        MapCase{"unmatched_topic", kAll, "other/x", "1", MapResult::Unmatched, "", "mapping/unmatched"},
        MapCase{"too_large", kAll, "t/a", std::string(5000, ' ') + "1", MapResult::Skipped, "", "mapping/too_large"},
        MapCase{"typed_fields", kTyped, "t/a", R"({"ts":1732200000,"i":3.0,"u":"17","b":"true","s":12.5,"f":"2.5","a":{"b":[0,9]}})",
                MapResult::Mapped, "m b=true,deep=9,f=2.5,i=3i,s=\"12.5\",u=17u 1732200000000000000", nullptr},
        MapCase{"uncoercible_field_counted_point_kept", kTyped, "t/a", R"({"ts":1732200000,"i":3.5,"f":1})", MapResult::Mapped,
                "m f=1 1732200000000000000", nullptr},
        MapCase{"negative_unsigned_refused", kTyped, "t/a", R"({"ts":1732200000,"u":-1})", MapResult::Skipped, "", "mapping/coerce_failed"},
        MapCase{"missing_timestamp_skips", kTyped, "t/a", R"({"f":1})", MapResult::Skipped, "", "mapping/bad_timestamp"},
        MapCase{"bad_timestamp_skips", kTyped, "t/a", R"({"ts":"soon","f":1})", MapResult::Skipped, "", "mapping/bad_timestamp"},
        MapCase{"receive_time_and_payload_tag", kReceive, "t/est", R"({"id":"dev 1","v":1})", MapResult::Mapped,
                "est_m,id=dev\\ 1,site=paris v=1 1763769600000000000", nullptr},
        MapCase{"capture_with_specials_escaped", kReceive, "t/a b,c", R"({"v":1})", MapResult::Mapped,
                "a\\ b\\,c_m,site=paris v=1 1763769600000000000", nullptr},
        MapCase{"explicit_fields_escape_cached_series_counts_every_time", kExplicitEscaped, "t/x\ny", R"({"v":1,"s":"2"})",
                MapResult::Mapped, "m,zone=x\\ y a\\ b=1,n=2 1763769600000000000", "mapping/control_replaced"},
        MapCase{"explicit_nan_string_skipped_and_counted", kExplicitEscaped, "t/a", R"({"v":1,"s":"nan"})", MapResult::Mapped,
                "m,zone=a a\\ b=1 1763769600000000000", "mapping/nonfinite_skipped"},
        MapCase{"explicit_fields_plain_number_payload", kExplicitEscaped, "t/a", "7", MapResult::Mapped,
                "m,zone=a value=7 1763769600000000000", nullptr},
        MapCase{"rfc3339_timestamp", kRfc, "t/a", R"({"time":"2024-11-21T14:40:00.5Z","v":2})", MapResult::Mapped,
                "m v=2 1732200000500000000", nullptr},
        MapCase{"timestamp_excluded_from_fields", kRfc, "t/a", R"({"time":"2024-11-21T14:40:00Z","v":1,"w":false})",
                MapResult::Mapped, "m v=1,w=false 1732200000000000000", nullptr}));

TEST(MappingWarehouse, ExampleRulesProduceTheDocumentedLines) {
    MetricsRegistry metrics;
    auto mapping = std::make_shared<const influx::Mapping>(loadMapping(std::string(CONF_DIR) + "/influx/warehouse-rules.json"));
    ASSERT_EQ(mapping->sinks.size(), 1u);
    EXPECT_EQ(mapping->sinks[0].org, "ares");
    EXPECT_EQ(mapping->sinks[0].bucket, "entrepot");
    EXPECT_EQ(mapping->sinks[0].token, "dev-token");
    Mapper mapper(mapping, Precision::Ms, MapperLimits{}, metrics);
    std::string line, reason;
    const std::string reading = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";
    ASSERT_EQ(mapper.map("entrepot/nord/s1/v1", reading.data(), reading.size(), kReceiveNs, line, reason), MapResult::Mapped);
    EXPECT_EQ(line, "entrepot,sensor=s1,zone=nord alert_level=0i,hum=44.0,temp=23.1,version=1i 1732200000000");
    const std::string heartbeat = R"({"uptime":3600})";
    ASSERT_EQ(mapper.map("entrepot/heartbeat/sud", heartbeat.data(), heartbeat.size(), kReceiveNs, line, reason), MapResult::Mapped);
    EXPECT_EQ(line, "entrepot_heartbeat,zone=sud uptime=3600 1763769600000");
    ASSERT_EQ(mapper.map("entrepot/heartbeat/sud", "1", 1, kReceiveNs, line, reason), MapResult::Mapped);
    EXPECT_EQ(line, "entrepot_heartbeat,zone=sud value=1 1763769600000");
}

// The flat path (flat JSON, explicit top-level fields) and the general path must write the same
// values and count the same things. A tag from an absent payload key forces the general path
// without changing the line.
std::map<std::string, std::string> fieldsOf(const std::string& line) {
    std::map<std::string, std::string> out;
    const size_t space = line.find(' ');
    const std::string fields = line.substr(space + 1, line.rfind(' ') - space - 1);
    size_t start = 0;
    while (start < fields.size()) {
        size_t comma = fields.find(',', start);
        if (comma == std::string::npos) comma = fields.size();
        const std::string kv = fields.substr(start, comma - start);
        const size_t eq = kv.find('=');
        std::string value = kv.substr(eq + 1);
        const char last = value.empty() ? ' ' : value.back();
        if (last != 'i' && last != 'u' && value != "true" && value != "false" && value[0] != '"') {
            char buf[32];
            value.assign(buf, std::to_chars(buf, buf + sizeof buf, std::stod(value)).ptr);  // a float: values, not spellings
        }
        out[kv.substr(0, eq)] = value;
        start = comma + 1;
    }
    return out;
}

TEST(MappingPaths, FlatAndGeneralPathsAgree) {
    const std::string fields = R"("fields":{"f":"f","i":{"path":"i","type":"integer"},"u":{"path":"u","type":"unsigned"},
        "b":{"path":"b","type":"boolean"},"s":{"path":"s","type":"string"},"x":{"path":"x","type":"float"}},
        "timestamp":{"path":"ts","unit":"auto","when_missing":"receive"})";
    const std::string flat_rule = R"({"name":"r","topic":"t/{zone}","measurement":"m","tags":{"zone":"{zone}"},)" + fields + "}";
    const std::string general_rule =
        R"({"name":"r","topic":"t/{zone}","measurement":"m","tags":{"zone":"{zone}","zz":{"path":"absent"}},)" + fields + "}";
    const char* values[] = {"0", "-0", "7", "-3", "2.5", "44.0", "-0.001", "123456789012345678", "1e5", "true", "false",
                            "null", "\"x\"", "\"3\"", "\"true\"", "1.7976931348623157", "0.1"};
    // Per key, mostly values its type takes as they are; now and then anything at all.
    const std::vector<std::pair<std::string, std::vector<std::string>>> keys = {
        {"f", {"7", "2.5", "-0.001", "44.0"}}, {"i", {"7", "-3", "0"}}, {"u", {"7", "0", "123456789012345678"}},
        {"b", {"true", "false"}},            {"s", {"\"x\"", "\"a b\""}},  {"x", {"0.1", "44.0", "-2"}},
        {"ts", {"1732200000", "1732200000123", "1732200000.5"}}};
    std::mt19937 rng(7);
    int spelled_differently = 0;  // proof that the flat path ran: it keeps "44.0", the general path writes "44"
    for (int round = 0; round < 3000; ++round) {
        std::string payload = "{";
        for (const auto& [key, typical] : keys) {
            if (rng() % 5 == 0) continue;
            const std::string value = rng() % 8 == 0 ? values[rng() % std::size(values)] : typical[rng() % typical.size()];
            payload += (payload.size() > 1 ? "," : "") + ("\"" + key + "\":" + value);
        }
        payload += "}";
        std::string lines[2], reasons[2];
        MapResult results[2];
        int64_t counters[2][4];
        for (int path = 0; path < 2; ++path) {
            MetricsRegistry metrics;
            auto mapping = std::make_shared<const influx::Mapping>(parseMapping(rulesWith(path ? general_rule : flat_rule), "r.json"));
            Mapper mapper(mapping, Precision::Ns, MapperLimits{}, metrics);
            results[path] = mapper.map("t/a", payload.data(), payload.size(), kReceiveNs, lines[path], reasons[path]);
            counters[path][0] = metrics.get("mapping/missing_field").value();
            counters[path][1] = metrics.get("mapping/coerce_failed").value();
            counters[path][2] = metrics.get("mapping/no_field").value();
            counters[path][3] = metrics.get("mapping/bad_timestamp").value();
        }
        ASSERT_EQ(results[0], results[1]) << payload << ": " << reasons[0] << " / " << reasons[1];
        for (int c = 0; c < 4; ++c) ASSERT_EQ(counters[0][c], counters[1][c]) << payload << " counter " << c;
        if (results[0] == MapResult::Mapped) {
            ASSERT_EQ(fieldsOf(lines[0]), fieldsOf(lines[1])) << payload << "\n" << lines[0] << "\n" << lines[1];
            ASSERT_EQ(lines[0].substr(lines[0].rfind(' ')), lines[1].substr(lines[1].rfind(' '))) << payload;
            spelled_differently += lines[0] != lines[1];
        }
    }
    EXPECT_GT(spelled_differently, 50);
}

TEST(MappingHostile, TopicsTooLongToCacheMapAllTheSame) {
    MetricsRegistry metrics;
    auto mapping = std::make_shared<const influx::Mapping>(loadMapping(std::string(CONF_DIR) + "/influx/warehouse-rules.json"));
    Mapper mapper(mapping, Precision::Ms, MapperLimits{}, metrics);
    const std::string sensor(300, 's');
    const std::string topic = "entrepot/nord/" + sensor + "/v1";
    const std::string reading = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";
    for (int round = 0; round < 2; ++round) {
        std::string line, reason;
        ASSERT_EQ(mapper.map(topic, reading.data(), reading.size(), kReceiveNs, line, reason), MapResult::Mapped);
        EXPECT_EQ(line, "entrepot,sensor=" + sensor + ",zone=nord alert_level=0i,hum=44.0,temp=23.1,version=1i 1732200000000");
    }
    std::string line, reason;
    EXPECT_EQ(mapper.map("other/" + sensor, "1", 1, kReceiveNs, line, reason), MapResult::Unmatched);
}

// The series cache is bounded in bytes, not only in slots: topics of the longest cacheable length,
// fed to a rule that repeats the whole topic in its measurement and tags (so each series text is
// several KiB), must leave the cache within slots x (topic + kMaxSeriesBytes), map the same lines,
// and count what was not cached.
TEST(MappingHostile, SeriesCacheStaysWithinItsByteBound) {
    MetricsRegistry metrics;
    auto mapping = std::make_shared<const influx::Mapping>(parseMapping(rulesWith(R"(
        {"name":"big","topic":"big/{a}","measurement":"{topic}","tags":{"t1":"{topic}","t2":"{topic}","t3":"{a}{a}"},
         "fields":{"v":"v"},"timestamp":{"path":"ts","unit":"s"}},
        {"name":"fits","topic":"fits/{a}","measurement":"{topic}","tags":{"a":"{a}","t":"{topic}"},"fields":{"v":"v"},
         "timestamp":{"path":"ts","unit":"s"}})"),
                                                                        "rules.json"));
    Mapper mapper(mapping, Precision::S, MapperLimits{}, metrics);
    const std::string payload = R"({"v":1,"ts":1732200000})";
    constexpr size_t kTopics = 2 * Mapper::kSeriesSlots;
    // Cacheable topics (at the topic limit) whose series text is over kMaxSeriesBytes.
    for (size_t i = 0; i < kTopics; ++i) {
        std::string id = std::to_string(i);
        std::string topic = "big/" + id + std::string(TopicCache<int>::kMaxTopicBytes - 4 - id.size(), ',');
        for (int round = 0; round < 2; ++round) {
            std::string line, reason;
            ASSERT_EQ(mapper.map(topic, payload.data(), payload.size(), kReceiveNs, line, reason), MapResult::Mapped)
                << reason;
            ASSERT_GT(line.size(), Mapper::kMaxSeriesBytes) << "the series text must be over the limit for this test";
            ASSERT_EQ(line.substr(0, 5 + id.size()), "big/" + id + "\\") << line.substr(0, 40);
        }
    }
    EXPECT_EQ(metrics.get("mapping/series_uncached").value(), static_cast<int64_t>(2 * kTopics))
        << "every such message";
    EXPECT_EQ(metrics.get("mapping/mapped").value(), static_cast<int64_t>(2 * kTopics));

    // Series just under the limit are cached (not counted), and the cache stays within the stated bound.
    for (size_t i = 0; i < kTopics; ++i) {
        std::string topic = "fits/" + std::to_string(i) + std::string(240, 'x');
        std::string line, reason;
        ASSERT_EQ(mapper.map(topic, payload.data(), payload.size(), kReceiveNs, line, reason), MapResult::Mapped)
            << reason;
    }
    EXPECT_EQ(metrics.get("mapping/series_uncached").value(), static_cast<int64_t>(2 * kTopics)) << "these are cached";
    const size_t slot_bytes = mapper.seriesCacheBytes() / Mapper::kSeriesSlots;
    EXPECT_GT(slot_bytes, size_t{700}) << "the cache is full of series near the limit";
    // Each slot: the slot itself (under 256 bytes), its topic and its series text, each with its '\0'.
    EXPECT_LE(mapper.seriesCacheBytes(),
              Mapper::kSeriesSlots * (256 + TopicCache<int>::kMaxTopicBytes + 1 + Mapper::kMaxSeriesBytes + 1))
        << slot_bytes << " bytes per slot";
    EXPECT_LE(mapper.seriesCacheBytes(), size_t{3} * 1024 * 1024) << "docs/influx.md states under 3 MiB";
}

TEST(MappingHostile, TenThousandFieldsAreCountedNotWritten) {
    MetricsRegistry metrics;
    auto mapping = std::make_shared<const influx::Mapping>(parseMapping(rulesWith(kAll), "rules.json"));
    Mapper mapper(mapping, Precision::Ns, MapperLimits{.max_payload_bytes = 1 << 20}, metrics);
    std::string payload = "{";
    for (int i = 0; i < 10000; ++i) payload += (i ? "," : "") + ("\"f" + std::to_string(i) + "\":" + std::to_string(i));
    payload += "}";
    std::string line, reason;
    EXPECT_EQ(mapper.map("t/a", payload.data(), payload.size(), kReceiveNs, line, reason), MapResult::Skipped);
    EXPECT_EQ(metrics.get("mapping/too_many_fields").value(), 1);
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    EXPECT_EQ(mapper.map("t/a", deep.data(), deep.size(), kReceiveNs, line, reason), MapResult::Skipped);
    const std::string bad_utf8 = "{\"v\":1,\"s\":\"\xff\"}";
    EXPECT_EQ(mapper.map("t/a", bad_utf8.data(), bad_utf8.size(), kReceiveNs, line, reason), MapResult::Skipped);
}

struct RulesErrorCase {
    const char* name;
    std::string text;
    std::string expected;
};

std::ostream& operator<<(std::ostream& os, const RulesErrorCase& c) { return os << c.name; }

class RulesErrors : public ::testing::TestWithParam<RulesErrorCase> {};

TEST_P(RulesErrors, NameTheLocation) {
    try {
        parseMapping(GetParam().text, "rules.json");
        FAIL() << "accepted";
    } catch (const RulesError& e) {
        EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RulesErrors,
    ::testing::Values(
        RulesErrorCase{"not_json", "{", "rules.json: not valid JSON"},
        RulesErrorCase{"no_sinks", R"({"rules":[]})", "rules.json: sinks: is required"},
        RulesErrorCase{"bad_sink_type", R"({"sinks":[{"name":"a","type":"influxdb3","url":"http://x"}],"rules":[]})",
                       "sinks[0].type: 'influxdb3' is not one of"},
        RulesErrorCase{"v1_needs_database", R"({"sinks":[{"name":"a","type":"influxdb1","url":"http://x"}],"rules":[]})",
                       "sinks[0].database: is required"},
        RulesErrorCase{"token_on_v1", R"({"sinks":[{"name":"a","type":"influxdb1","url":"http://x","database":"d","token":"t"}],"rules":[]})",
                       "sinks[0].token: only applies to type influxdb2"},
        RulesErrorCase{"bad_url", R"({"sinks":[{"name":"a","type":"influxdb2","url":"x","bucket":"b"}],"rules":[]})",
                       "sinks[0].url: 'x' must start with http"},
        RulesErrorCase{"bad_sink_name", R"({"sinks":[{"name":"../x","type":"influxdb2","url":"http://x","bucket":"b"}],"rules":[]})",
                       "sinks[0].name"},
        RulesErrorCase{"no_rules", rulesWith("").c_str(), "rules.json: rules: must not be empty"},
        RulesErrorCase{"rules_missing", R"({"sinks":[{"name":"a","type":"influxdb2","url":"http://x","bucket":"b"}]})",
                       "rules.json: rules: is required (an array)"},
        RulesErrorCase{"rules_not_array", R"({"sinks":[{"name":"a","type":"influxdb2","url":"http://x","bucket":"b"}],"rules":"r"})",
                       "rules.json: rules: must be an array (not a string)"},
        RulesErrorCase{"unknown_top_key", R"({"sinks":[],"rules":[],"colour":1})", "rules.json: colour: unknown key (known: sinks, rules)"},
        RulesErrorCase{"bad_rule_name", rulesWith(R"({"name":"a/b","topic":"a","measurement":"m"})"),
                       "rules.json: rules[0].name: 'a/b' must not contain '/', '+', '#' or control characters"},
        RulesErrorCase{"gzip_not_bool", R"({"sinks":[{"name":"a","type":"influxdb2","url":"http://x","bucket":"b","gzip":"yes"}],"rules":[]})",
                       "rules.json: sinks[0].gzip: must be true or false (not a string)"},
        RulesErrorCase{"zero_timeout", R"({"sinks":[{"name":"a","type":"influxdb2","url":"http://x","bucket":"b","request_timeout":"0s"}],"rules":[]})",
                       "rules.json: sinks[0].request_timeout: '0s' is not a positive duration"},
        RulesErrorCase{"quoted_tag_key", rulesWith(R"({"name":"r","topic":"a","measurement":"m","tags":{"room name":3}})"),
                       "rules.json: rules[0].tags[\"room name\"]: must be a string"},
        RulesErrorCase{"bad_when_missing", rulesWith(R"({"name":"r","topic":"a","measurement":"m","timestamp":{"path":"t","when_missing":"drop"}})"),
                       "rules.json: rules[0].timestamp.when_missing: 'drop' is not one of: skip, receive"},
        RulesErrorCase{"unknown_capture", rulesWith(R"({"name":"r","topic":"a/{x}","measurement":"{y}"})"), "rules[0].measurement"},
        RulesErrorCase{"bad_type", rulesWith(R"({"name":"r","topic":"a","measurement":"m","fields":{"v":{"path":"v","type":"double"}}})"),
                       "rules[0].fields.v.type: 'double' is not one of"},
        RulesErrorCase{"bad_unit", rulesWith(R"({"name":"r","topic":"a","measurement":"m","timestamp":{"path":"t","unit":"n"}})"),
                       "rules[0].timestamp.unit: 'n' is not one of"},
        RulesErrorCase{"unknown_key", rulesWith(R"({"name":"r","topic":"a","measurement":"m","tag":{}})"), "rules[0].tag: unknown key"},
        RulesErrorCase{"bad_path", rulesWith(R"({"name":"r","topic":"a","measurement":"m","fields":{"v":"a[x"}})"), "rules[0].fields.v"}));

}  // namespace
