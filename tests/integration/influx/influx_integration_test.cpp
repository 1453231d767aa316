// mosquitto_influx.so inside the real broker, writing to real servers: influxd 1.6.7 over /write and
// VictoriaMetrics over /api/v2/write; escaping round trip, outage and kill -9 with exactly-once counts,
// spool-full policies, hostile payloads, quarantine of conflicting lines, refusal of bad options.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"
#include "tests/integration/influx/influx_test_support.hpp"
#include "testing/tsdb_servers.hpp"

using namespace mqs::testing;
using namespace mqs::influx::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json v1Sink(const InfluxdProcess& influxd, const std::string& db = "entrepot") {
    return {{"name", "influx1"}, {"type", "influxdb1"}, {"url", influxd.url()}, {"database", db},
            {"connect_timeout", "500ms"}, {"request_timeout", "2s"}};
}

int64_t countOf(InfluxdProcess& influxd, const std::string& db, const std::string& q) {
    auto rows = influxd.query(db, q);
    if (rows.empty()) return 0;
    for (const auto& [k, v] : rows[0].items()) {
        if (k != "time" && v.is_number()) return v.get<int64_t>();
    }
    return 0;
}

TEST(InfluxIntegration, WarehouseReadingsReachInfluxdb1WithTheirOwnTimestamps) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("entrepot");
    auto broker = influxBroker(warehouseRules(v1Sink(influxd)), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    EXPECT_TRUE(broker->waitForLog("influx: forwarding 2 rule(s)")) << broker->log();

    MqttTestClient pub("sensor-nord-1");
    ASSERT_TRUE(pub.connect(broker->port()));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(pub.publish("entrepot/nord/s" + std::to_string(i) + "/v1", reading(1732200000 + i, 20 + i, i), 1));
    ASSERT_TRUE(pub.publish("entrepot/heartbeat/nord", "1", 1));

    ASSERT_TRUE(waitFor([&] { return influxd.query("entrepot", "SELECT * FROM entrepot").size() == 3; })) << broker->log();
    auto rows = influxd.query("entrepot", "SELECT * FROM entrepot ORDER BY time");
    for (int i = 0; i < 3; ++i) {
        const auto& row = rows[static_cast<size_t>(i)];
        EXPECT_EQ(row["time"].get<int64_t>(), (1732200000 + i) * 1'000'000'000ll) << "never 1970: " << row.dump();
        EXPECT_EQ(row["zone"], "nord");
        EXPECT_EQ(row["sensor"], "s" + std::to_string(i));
        EXPECT_EQ(row["temp"].get<double>(), 20 + i);
        EXPECT_EQ(row["alert_level"].get<int>(), i);
    }
    auto types = influxd.query("entrepot", "SHOW FIELD KEYS FROM entrepot");
    std::map<std::string, std::string> field_types;
    for (const auto& t : types) field_types[t["fieldKey"]] = t["fieldType"];
    EXPECT_EQ(field_types["temp"], "float");
    EXPECT_EQ(field_types["alert_level"], "integer");

    ASSERT_TRUE(waitFor([&] { return influxd.query("entrepot", "SELECT * FROM entrepot_heartbeat").size() == 1; }));
    auto hb = influxd.query("entrepot", "SELECT * FROM entrepot_heartbeat")[0];
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LT(std::abs(hb["time"].get<int64_t>() - now_ns), 60'000'000'000ll) << "receive time, ms precision: " << hb.dump();
    EXPECT_EQ(hb["value"].get<double>(), 1.0);
}

TEST(InfluxIntegration, TagAndFieldValuesRoundTripThroughInfluxd) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("rt");
    json rules = {{"sinks", json::array({v1Sink(influxd, "rt")})},
                  {"rules", json::array({{{"name", "roundtrip"},
                                          {"topic", "rt/{id}"},
                                          {"measurement", "rt m,x=1"},
                                          {"tags", {{"id", "{id}"}, {"label", {{"path", "label"}}}}},
                                          {"fields", {{"text", {{"path", "text"}, {"type", "string"}}}, {"n", {{"path", "n"}, {"type", "integer"}}}}},
                                          {"timestamp", {{"path", "ts"}, {"unit", "ns"}}}}})}};
    auto broker = influxBroker(rules);
    ASSERT_TRUE(broker->start()) << broker->log();
    const std::vector<std::string> values = {
        "with space", "comma,here", "equals=sign", "quote\"d", "back\\slash", "trailing\\", "both\\ ,=\"",
        "unicode \xC3\xA9\xC3\xA8 \xE4\xB8\xAD\xE6\x96\x87", "emoji \xF0\x9F\x98\x80\xF0\x9F\x8F\xAD", "  lead and trail  ",
        "\\\\server\\share", "multi\nline"};
    MqttTestClient pub("rt-pub");
    ASSERT_TRUE(pub.connect(broker->port()));
    for (size_t i = 0; i < values.size(); ++i) {
        json payload = {{"label", values[i]}, {"text", values[i]}, {"n", i}, {"ts", 1732200000000000000ll + static_cast<int64_t>(i)}};
        ASSERT_TRUE(pub.publish("rt/case " + std::to_string(i), payload.dump(), 1));
    }
    ASSERT_TRUE(waitFor([&] { return influxd.query("rt", "SELECT * FROM \"rt m,x=1\"").size() == values.size(); }))
        << broker->log() << influxd.log();
    auto rows = influxd.query("rt", "SELECT * FROM \"rt m,x=1\" ORDER BY time");
    for (const auto& row : rows) {
        const size_t i = static_cast<size_t>(row["n"].get<int64_t>());
        ASSERT_LT(i, values.size());
        EXPECT_EQ(row["text"].get<std::string>(), values[i]) << "string fields are exact, case " << i;
        EXPECT_EQ(row["id"].get<std::string>(), "case " + std::to_string(i));
        EXPECT_EQ(row["time"].get<int64_t>(), 1732200000000000000ll + static_cast<int64_t>(i));
        // Tag values are exact, except what line protocol cannot carry in a tag (docs/influx.md):
        // a backslash at the end or before an escaped character or another backslash, and control characters.
        std::string expected = values[i];
        if (values[i] == "trailing\\") expected = "trailing\xEF\xBC\xBC";
        if (values[i] == "both\\ ,=\"") expected = "both\xEF\xBC\xBC ,=\"";
        if (values[i] == "\\\\server\\share") expected = "\xEF\xBC\xBC\\server\\share";
        if (values[i] == "multi\nline") expected = "multi line";
        EXPECT_EQ(row["label"].get<std::string>(), expected) << "tag value, case " << i;
    }
}

TEST(InfluxIntegration, WarehouseReadingsReachVictoriaMetricsOverV2Write) {
    VictoriaProcess vm;
    ASSERT_TRUE(vm.start()) << vm.log();
    std::ifstream in(std::string(CONF_DIR) + "/influx/warehouse-rules.json");
    json sink = json::parse(in)["sinks"][0];  // the example's 2.x sink: org ares, bucket entrepot, token
    sink["url"] = vm.url();
    sink["gzip"] = true;  // the real server inflates what libcurl's caller deflated
    auto broker = influxBroker(warehouseRules(sink), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    MqttTestClient pub("sensor-sud-1");
    ASSERT_TRUE(pub.connect(broker->port()));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(pub.publish("entrepot/sud/s1/v1", reading(1732200000000 + i * 1000, 21.5 + i), 1));
    std::vector<json> series;
    ASSERT_TRUE(waitFor([&] {
        series = vm.exportSeries("{__name__=\"entrepot_temp\"}");
        return series.size() == 1 && series[0]["values"].size() == 5;
    })) << broker->log();
    EXPECT_EQ(series[0]["metric"]["zone"], "sud");
    EXPECT_EQ(series[0]["metric"]["sensor"], "s1");
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(series[0]["timestamps"][static_cast<size_t>(i)].get<int64_t>(), 1732200000000 + i * 1000);
        EXPECT_EQ(series[0]["values"][static_cast<size_t>(i)].get<double>(), 21.5 + i);
    }
}

// Publishes `count` readings on 10 sensors with distinct millisecond timestamps from `first`.
void publishReadings(MqttTestClient& pub, int first, int count) {
    for (int i = first; i < first + count; ++i) {
        ASSERT_TRUE(pub.publish("entrepot/est/s" + std::to_string(i % 10) + "/v1", reading(1732200000000 + i, i % 100 + 0.5), 1))
            << "message " << i;
    }
}

double expectedTempSum(int count) {
    double sum = 0;
    for (int i = 0; i < count; ++i) sum += i % 100 + 0.5;
    return sum;
}

TEST(InfluxIntegration, OutageUnderLoadDeliversEveryPointExactlyOnce) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("entrepot");
    auto broker = influxBroker(warehouseRules(v1Sink(influxd)), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    Metrics metrics(broker->port());
    MqttTestClient pub("sensor-est");
    ASSERT_TRUE(pub.connect(broker->port()));

    publishReadings(pub, 0, 1000);
    influxd.stop();
    publishReadings(pub, 1000, 1000);
    ASSERT_TRUE(metrics.waitFor("sinks/influx1/spooled_points_total", [](int64_t v) { return v > 0; })) << broker->log();
    EXPECT_TRUE(metrics.waitFor("sinks/influx1/retried", [](int64_t v) { return v >= 2; }));
    ASSERT_TRUE(influxd.start()) << influxd.log();
    publishReadings(pub, 2000, 1000);

    ASSERT_TRUE(waitFor([&] { return countOf(influxd, "entrepot", "SELECT count(temp) FROM entrepot") == 3000; }, 30s))
        << countOf(influxd, "entrepot", "SELECT count(temp) FROM entrepot") << "\n" << broker->log();
    auto sum = influxd.query("entrepot", "SELECT sum(temp) FROM entrepot");
    ASSERT_EQ(sum.size(), 1u);
    EXPECT_DOUBLE_EQ(sum[0]["sum"].get<double>(), expectedTempSum(3000));
    EXPECT_TRUE(metrics.waitFor("sinks/influx1/spooled_bytes", [](int64_t v) { return v == 0; }));
    EXPECT_TRUE(broker->waitForLog("server reachable again")) << broker->log();
}

TEST(InfluxIntegration, Kill9DuringAnOutageLosesNothingAndDuplicatesNothing) {
    InfluxdProcess influxd;  // not started yet: the outage begins before the first point
    auto broker = influxBroker(warehouseRules(v1Sink(influxd)), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    {
        Metrics metrics(broker->port());
        MqttTestClient pub("sensor-est");
        ASSERT_TRUE(pub.connect(broker->port()));
        publishReadings(pub, 0, 2000);
        // Every acknowledged point has reached the spool (sealed batches are written there during an outage).
        ASSERT_TRUE(metrics.waitFor("sinks/influx1/spooled_points_total", [](int64_t v) { return v == 2000; }))
            << metrics.value("sinks/influx1/spooled_points_total") << "\n" << broker->log();
    }
    broker->kill9();
    ASSERT_TRUE(broker->restart()) << broker->log();
    EXPECT_TRUE(broker->waitForLog("found in the spool")) << broker->log();

    // The server comes back without the database first: 404 keeps the data and says so loudly.
    ASSERT_TRUE(influxd.start()) << influxd.log();
    EXPECT_TRUE(broker->waitForLog("database not found")) << broker->log();
    influxd.createDatabase("entrepot");
    ASSERT_TRUE(waitFor([&] { return countOf(influxd, "entrepot", "SELECT count(temp) FROM entrepot") == 2000; }, 30s))
        << countOf(influxd, "entrepot", "SELECT count(temp) FROM entrepot") << "\n" << broker->log();
    auto sum = influxd.query("entrepot", "SELECT sum(temp) FROM entrepot");
    EXPECT_DOUBLE_EQ(sum.at(0)["sum"].get<double>(), expectedTempSum(2000));
}

TEST(InfluxIntegration, TypeConflictIsQuarantinedWithTheServersMessage) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("q");
    json rules = {{"sinks", json::array({v1Sink(influxd, "q")})},
                  {"rules", json::array({{{"name", "loose"}, {"topic", "loose/{id}"}, {"measurement", "loose"},
                                          {"fields", {{"v", "v"}}}, {"timestamp", {{"path", "ts"}, {"unit", "s"}}}}})}};
    auto broker = influxBroker(rules, "plugin_opt_batch_size 100\nplugin_opt_flush_interval 500ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    MqttTestClient pub("loose");
    ASSERT_TRUE(pub.connect(broker->port()));
    // One batch: a float, then a string for the same field (conflict), then more floats.
    for (int i = 0; i < 10; ++i) {
        json p = {{"ts", 1732200000 + i}, {"v", i == 4 ? json("text") : json(i * 1.5)}};
        ASSERT_TRUE(pub.publish("loose/a", p.dump(), 1));
    }
    ASSERT_TRUE(waitFor([&] { return countOf(influxd, "q", "SELECT count(v) FROM loose") == 9; })) << broker->log();
    ASSERT_TRUE(broker->waitForLog("quarantined")) << broker->log();
    std::ifstream q(broker->dir() / "spool" / "influx1" / "quarantine.lp");
    std::stringstream text;
    text << q.rdbuf();
    EXPECT_NE(text.str().find("field type conflict"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("loose v=\"text\" 1732200004"), std::string::npos) << text.str();
}

TEST(InfluxIntegration, HostilePayloadsAreCountedAndTheBrokerCarriesOn) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("entrepot");
    auto broker = influxBroker(warehouseRules(v1Sink(influxd)), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    Metrics metrics(broker->port());
    MqttTestClient pub("bad-sensor");
    ASSERT_TRUE(pub.connect(broker->port()));
    std::string many = "{";
    for (int i = 0; i < 10000; ++i) many += (i ? "," : "") + ("\"f" + std::to_string(i) + "\":" + std::to_string(i));
    many += "}";
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", "not json at all", 1));
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", R"({"timestamp":1732200000,"version":"one"})", 1));
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", R"({"timestamp":1732200000,"temp":"hot"})", 1));
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", R"({"temp":20})", 1));
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", "{\"timestamp\":1732200000,\"temp\":" + std::string(300000, '1') + "}", 1));
    ASSERT_TRUE(pub.publish("entrepot/heartbeat/nord", many, 1));
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", reading(1732200009, 22.5), 1));
    ASSERT_TRUE(waitFor([&] { return influxd.query("entrepot", "SELECT * FROM entrepot").size() == 1; })) << broker->log();
    for (const char* name : {"mapping/invalid_payload", "mapping/coerce_failed", "mapping/no_field", "mapping/bad_timestamp",
                             "mapping/too_large", "mapping/too_many_fields"}) {
        EXPECT_TRUE(metrics.waitFor(name, [](int64_t v) { return v >= 1; })) << name;
    }
    EXPECT_TRUE(broker->isRunning());
    EXPECT_TRUE(pub.isConnected());
    EXPECT_TRUE(broker->waitForLog("influx: rule 'warehouse-telemetry'")) << "skips are reported in the log";
}

TEST(InfluxIntegration, ReloadSwapsRulesAndRefusesABrokenFile) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("entrepot");
    json rules = warehouseRules(v1Sink(influxd));
    auto broker = influxBroker(rules, "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    MqttTestClient pub("reloader");
    ASSERT_TRUE(pub.connect(broker->port()));

    rules["rules"][1]["measurement"] = "entrepot_v2";
    broker->writeFile("rules.json", rules.dump(2));
    broker->reload();
    ASSERT_TRUE(broker->waitForLog("influx: reloaded: forwarding 2 rule(s)")) << broker->log();
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", reading(1732200000, 20), 1));
    EXPECT_TRUE(waitFor([&] { return influxd.query("entrepot", "SELECT * FROM entrepot_v2").size() == 1; })) << broker->log();

    const std::string refused = "influx: reload refused, keeping the previous configuration: ";
    const std::string file = (broker->dir() / "rules.json").string();
    broker->writeFile("rules.json", "{ broken");
    broker->reload();
    ASSERT_TRUE(broker->waitForLog(refused + file + ": not valid JSON")) << broker->log();
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", reading(1732200001, 21), 1));
    EXPECT_TRUE(waitFor([&] { return influxd.query("entrepot", "SELECT * FROM entrepot_v2").size() == 2; })) << broker->log();

    // Issue 11: the file and the JSON path are separate (`<file>: colour:`, never `rules.json.colour`).
    json coloured = rules;
    coloured["colour"] = "blue";
    broker->writeFile("rules.json", coloured.dump(2));
    broker->reload();
    EXPECT_TRUE(broker->waitForLog(refused + file + ": colour: unknown key")) << broker->log();
    // A vanished file: the reload re-reads the options first, so the option names it, with the path and
    // the reason (which is not asserted: system wording).
    std::filesystem::remove(file);
    broker->reload();
    ASSERT_TRUE(broker->waitForLog(refused + "plugin_opt_rules_file: cannot open '" + file + "': ")) << broker->log();
    EXPECT_TRUE(broker->isRunning());
    ASSERT_TRUE(pub.publish("entrepot/nord/s1/v1", reading(1732200002, 22), 1));
    EXPECT_TRUE(waitFor([&] { return influxd.query("entrepot", "SELECT * FROM entrepot_v2").size() == 3; }))
        << broker->log();
}

struct PolicyCase {
    std::string policy;
};
std::ostream& operator<<(std::ostream& os, const PolicyCase& c) { return os << c.policy; }

class InfluxSpoolFull : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(InfluxSpoolFull, AppliesTheConfiguredPolicy) {
    InfluxdProcess influxd;  // never started: every write fails
    auto broker = influxBroker(warehouseRules(v1Sink(influxd)),
                               "plugin_opt_queue_size 1000\nplugin_opt_batch_size 10\nplugin_opt_memory_limit 0\n"
                               "plugin_opt_spool_max_bytes 4096\nplugin_opt_spool_full_policy " + GetParam().policy + "\n" +
                                   // The journal is the queue: a small one fills after a few hundred points.
                                   "plugin_opt_journal_bytes 64KiB\nplugin_opt_max_line_bytes 1KiB\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    Metrics metrics(broker->port());
    MqttTestClient pub("flood", MqttTestClient::Protocol::V311);
    ASSERT_TRUE(pub.connect(broker->port()));
    int sent = 0;
    bool cut_off = false;
    for (int i = 0; i < 3000; ++i) {
        if (!pub.publish("entrepot/ouest/s1/v1", reading(1732200000000 + i, 20), 1, false, nullptr, 2s)) {
            cut_off = true;
            break;
        }
        ++sent;
    }
    if (GetParam().policy == "disconnect") {
        EXPECT_TRUE(cut_off) << "the publisher is disconnected before its PUBACK once everything is full";
        EXPECT_FALSE(pub.isConnected());
        EXPECT_TRUE(metrics.waitFor("sinks/influx1/refused_full", [](int64_t v) { return v >= 1; }));
    } else {
        EXPECT_FALSE(cut_off);
        EXPECT_EQ(sent, 3000);
        EXPECT_TRUE(metrics.waitFor("sinks/influx1/dropped_full", [](int64_t v) { return v >= 1; }));
    }
    EXPECT_LE(metrics.value("sinks/influx1/spooled_bytes"), 4096);
    EXPECT_TRUE(broker->waitForLog("spool is full")) << broker->log();
    MqttTestClient other("other");
    EXPECT_TRUE(other.connect(broker->port())) << "the broker itself is unaffected";
}

INSTANTIATE_TEST_SUITE_P(Policies, InfluxSpoolFull, ::testing::Values(PolicyCase{"disconnect"}, PolicyCase{"drop"}));

struct BadOptionCase {
    std::string name;
    std::string options;
    std::string expected_log;
};
std::ostream& operator<<(std::ostream& os, const BadOptionCase& c) { return os << c.name; }

class InfluxBadOptions : public ::testing::TestWithParam<BadOptionCase> {};

TEST_P(InfluxBadOptions, StopTheBrokerNamingTheProblem) {
    BrokerProcess broker("", "influx-bad");
    broker.writeFile("bad-rules.json", R"({"sinks":[{"name":"a","type":"influxdb1","url":"http://127.0.0.1:1"}],"rules":[]})");
    std::string body = std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_INFLUX + "\n" + GetParam().options;
    if (GetParam().options.find("plugin_opt_spool_dir") == std::string::npos) {
        body += "plugin_opt_spool_dir " + (broker.dir() / "spool").string() + "\n";
    }
    for (std::string::size_type p; (p = body.find("@DIR@")) != std::string::npos;) body.replace(p, 5, broker.dir().string());
    broker.updateConfig(body);
    EXPECT_FALSE(broker.start());
    // Non-zero exit (3 on 2.0.11, the code the plugin returned; not asserted, it is the broker's choice).
    auto status = broker.waitExit(10s);
    ASSERT_TRUE(status);
    EXPECT_NE(*status, 0);
    EXPECT_NE(broker.log().find(GetParam().expected_log), std::string::npos) << broker.log();
    RecordProperty("exit_status", *status);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InfluxBadOptions,
    ::testing::Values(
        BadOptionCase{"unknown_precision", "plugin_opt_rules_file " CONF_DIR "/influx/warehouse-rules.json\nplugin_opt_precision n\n",
                      "influx: plugin_opt_precision: 'n' is not one of: ns, us, ms, s"},
        BadOptionCase{"missing_rules_file", "plugin_opt_rules_file /nonexistent/rules.json\n", "influx: plugin_opt_rules_file: cannot open '/nonexistent/rules.json'"},
        BadOptionCase{"bad_rules", "plugin_opt_rules_file @DIR@/bad-rules.json\n", "bad-rules.json: sinks[0].database: is required"},
        BadOptionCase{"unusable_spool_dir", "plugin_opt_rules_file " CONF_DIR "/influx/warehouse-rules.json\nplugin_opt_spool_dir /dev/null/spool\n",
                      "influx: plugin_opt_spool_dir: cannot create spool directory '/dev/null/spool/entrepot'"},
        BadOptionCase{"journal_smaller_than_lines",
                      "plugin_opt_rules_file " CONF_DIR "/influx/warehouse-rules.json\nplugin_opt_journal_bytes 128KiB\n",
                      "influx: plugin_opt_journal_bytes: must be at least 4 x max_line_bytes"},
        BadOptionCase{"unknown_option", "plugin_opt_rules_file " CONF_DIR "/influx/warehouse-rules.json\nplugin_opt_bucket x\n",
                      "influx: plugin_opt_bucket: unknown option"}),
    [](const auto& param_info) { return param_info.param.name; });

}  // namespace
