// Every row of the escaping table in docs/influx.md ("Line protocol"), in every position it names, by a
// round trip through the real broker, the plugin and influxd 1.6.7: what influxd stores must be what the table says.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"
#include "testing/tsdb_servers.hpp"
#include "tests/integration/influx/influx_test_support.hpp"

using namespace mqs::testing;
using namespace mqs::influx::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kFullwidthBackslash = "\xEF\xBC\xBC";  // U+FF3C, the table's replacement for a backslash

// One row of the table: published text, and what influxd 1.6.7 must give back.
struct Row {
    std::string id;  // letters and '_' only: it goes into topics, tags and measurement names
    std::string input;
    std::string stored;
};

// Rows for measurements, tag keys, tag values and field keys.
std::vector<Row> nameRows() {
    const std::string W = kFullwidthBackslash;
    return {
        {"comma_space", "a,b c", "a,b c"},            // escaped, stored as published
        {"equals", "a=b", "a=b"},                     // escaped in keys and tag values, literal in measurements
        {"quote", "say \"hi\"", "say \"hi\""},        // never escaped
        {"inner_backslash", "C:\\temp", "C:\\temp"},  // a backslash elsewhere is kept
        {"trailing_backslash", "C:\\", "C:" + W},     // influxdb#6154
        {"backslash_comma", "a\\,b", "a" + W + ",b"},
        {"backslash_equals", "a\\=b", "a" + W + "=b"},
        {"backslash_space", "a\\ b", "a" + W + " b"},
        {"backslash_quote", "a\\\"b", "a" + W + "\"b"},
        {"double_backslash", "\\\\srv\\share", W + "\\srv\\share"},
        {"issue_capture", "\\,\\=\\ ", W + "," + W + "=" + W + " "},  // issue 11: came back as `＼,=＼ `
        {"utf8", "z\xC3\xA9ro \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80",
         "z\xC3\xA9ro \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80"},
    };
}

// Mosquitto refuses control characters in topics, so this row reaches the measurement through the
// rule's text; it reaches tag keys (rules file), tag values and field keys (payload) as data.
const Row kControlRow{"control", "multi\nline\ttab\r", "multi line tab "};

// String field values: only '"' and '\' are escaped, and everything comes back as published.
std::vector<Row> stringRows() {
    std::vector<Row> rows;
    for (const Row& r : nameRows()) rows.push_back({r.id, r.input, r.input});
    rows.push_back({"control", "multi\nline\ttab\r\x01", "multi\nline\ttab\r\x01"});
    rows.push_back({"two_trailing_backslashes", "end\\\\", "end\\\\"});
    rows.push_back({"quote_at_end", "end\"", "end\""});
    return rows;
}

json v1Sink(const InfluxdProcess& influxd) {
    return {{"name", "influx1"}, {"type", "influxdb1"},        {"url", influxd.url()},
            {"database", "esc"}, {"connect_timeout", "500ms"}, {"request_timeout", "2s"}};
}

// "<id>|<text>": the row id in front lets the test find each row's name among what influxd returns.
std::string tagged(const Row& r, const std::string& text) {
    return r.id + "|" + text;
}

std::map<std::string, std::string> byRowId(const std::vector<json>& rows, const std::string& column) {
    std::map<std::string, std::string> out;
    for (const auto& row : rows) {
        const std::string text = row[column].get<std::string>();
        const auto bar = text.find('|');
        if (bar != std::string::npos) out[text.substr(0, bar)] = text.substr(bar + 1);
    }
    return out;
}

TEST(InfluxEscaping, EveryRowOfTheTableRoundTripsThroughInfluxd167) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("esc");

    std::vector<Row> names = nameRows();
    std::vector<Row> with_control = names;
    with_control.push_back(kControlRow);

    json tag_keys = json::object();
    for (const Row& r : with_control) tag_keys[tagged(r, r.input)] = "x";
    json rules = {
        {"sinks", json::array({v1Sink(influxd)})},
        {"rules",
         json::array({
             {{"name", "measurement"},
              {"topic", "esc/m/{row}/{m}"},
              {"measurement", "{row}|{m}"},
              {"fields", {{"n", "n"}}}},
             {{"name", "measurement-control"},
              {"topic", "esc/mc/{row}"},
              {"measurement", "{row}|" + kControlRow.input},
              {"fields", {{"n", "n"}}}},
             // A line starting with '#' is a comment to InfluxDB: it answered 204 and stored nothing.
             {{"name", "measurement-hash"}, {"topic", "esc/mh"}, {"measurement", "#hash"}, {"fields", {{"n", "n"}}}},
             {{"name", "tag-keys"},
              {"topic", "esc/tk"},
              {"measurement", "esc_tag_keys"},
              {"tags", tag_keys},
              {"fields", {{"n", "n"}}}},
             {{"name", "tag-values"},
              {"topic", "esc/tv/{row}"},
              {"measurement", "esc_tag_values"},
              {"tags", {{"row", "{row}"}, {"v", {{"path", "v"}}}}},
              {"fields", {{"n", "n"}}}},
             {{"name", "field-keys"},
              {"topic", "esc/fk"},
              {"measurement", "esc_field_keys"}},  // every top-level number
             {{"name", "strings"},
              {"topic", "esc/sv/{row}"},
              {"measurement", "esc_strings"},
              {"tags", {{"row", "{row}"}}},
              {"fields", {{"s", {{"path", "s"}, {"type", "string"}}}}}},
         })}};
    auto broker = influxBroker(rules);
    ASSERT_TRUE(broker->start()) << broker->log();
    MqttTestClient pub("esc-pub");
    ASSERT_TRUE(pub.connect(broker->port()));

    json field_keys = json::object();
    for (const Row& r : with_control) field_keys[tagged(r, r.input)] = 1;
    for (const Row& r : names) ASSERT_TRUE(pub.publish("esc/m/" + r.id + "/" + r.input, R"({"n":1})", 1)) << r.id;
    ASSERT_TRUE(pub.publish("esc/mc/" + kControlRow.id, R"({"n":1})", 1));
    ASSERT_TRUE(pub.publish("esc/tk", R"({"n":1})", 1));
    ASSERT_TRUE(pub.publish("esc/mh", R"({"n":1})", 1));
    for (const Row& r : with_control)
        ASSERT_TRUE(pub.publish("esc/tv/" + r.id, json{{"v", r.input}, {"n", 1}}.dump(), 1));
    ASSERT_TRUE(pub.publish("esc/tv/empty", json{{"v", ""}, {"n", 1}}.dump(), 1));
    ASSERT_TRUE(pub.publish("esc/fk", field_keys.dump(), 1));
    const std::vector<Row> strings = stringRows();
    for (const Row& r : strings) ASSERT_TRUE(pub.publish("esc/sv/" + r.id, json{{"s", r.input}}.dump(), 1));

    Metrics metrics(broker->port());
    const int64_t messages =
        static_cast<int64_t>(names.size() + 1 + 1 + 1 + with_control.size() + 1 + 1 + strings.size());
    ASSERT_TRUE(metrics.waitFor("sinks/influx1/written", [&](int64_t v) { return v == messages; }))
        << metrics.value("sinks/influx1/written") << " of " << messages << "\n"
        << broker->log() << influxd.log();

    // Measurements (names from topic captures, the control row from the rule's literal).
    auto measurements = byRowId(influxd.query("esc", "SHOW MEASUREMENTS"), "name");
    for (const Row& r : with_control) {
        ASSERT_TRUE(measurements.count(r.id)) << "measurement row " << r.id << " missing";
        EXPECT_EQ(measurements[r.id], r.stored) << "measurement, row " << r.id;
    }

    bool hash_found = false;
    for (const auto& row : influxd.query("esc", "SHOW MEASUREMENTS")) hash_found |= row["name"] == "\xEF\xBC\x83hash";
    EXPECT_TRUE(hash_found) << "a measurement starting with '#' is stored as '\xEF\xBC\x83'";

    auto tag_key_rows = byRowId(influxd.query("esc", "SHOW TAG KEYS FROM esc_tag_keys"), "tagKey");
    for (const Row& r : with_control) {
        ASSERT_TRUE(tag_key_rows.count(r.id)) << "tag key row " << r.id << " missing";
        EXPECT_EQ(tag_key_rows[r.id], r.stored) << "tag key, row " << r.id;
    }

    std::map<std::string, json> tag_values;
    for (const auto& row : influxd.query("esc", "SELECT * FROM esc_tag_values"))
        tag_values[row["row"].get<std::string>()] = row["v"];
    for (const Row& r : with_control) {
        ASSERT_TRUE(tag_values.count(r.id) && tag_values[r.id].is_string()) << "tag value row " << r.id << " missing";
        EXPECT_EQ(tag_values[r.id].get<std::string>(), r.stored) << "tag value, row " << r.id;
    }
    ASSERT_TRUE(tag_values.count("empty")) << "a point with an empty tag value is written";
    EXPECT_TRUE(tag_values["empty"].is_null())
        << "an empty tag value leaves the tag out: " << tag_values["empty"].dump();

    auto field_key_rows = byRowId(influxd.query("esc", "SHOW FIELD KEYS FROM esc_field_keys"), "fieldKey");
    for (const Row& r : with_control) {
        ASSERT_TRUE(field_key_rows.count(r.id)) << "field key row " << r.id << " missing";
        EXPECT_EQ(field_key_rows[r.id], r.stored) << "field key, row " << r.id;
    }

    std::map<std::string, std::string> string_values;
    for (const auto& row : influxd.query("esc", "SELECT * FROM esc_strings")) string_values[row["row"]] = row["s"];
    for (const Row& r : strings) {
        ASSERT_TRUE(string_values.count(r.id)) << "string row " << r.id << " missing";
        EXPECT_EQ(string_values[r.id], r.stored) << "string field value, row " << r.id;
    }
}

}  // namespace
