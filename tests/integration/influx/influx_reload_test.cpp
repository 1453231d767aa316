// SIGHUP reloads that change mosquitto_influx.so's sinks, against two VictoriaMetrics servers: where the
// points published before and after the reload end up, and refused reloads leaving the running sinks alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/influx/influx_test_support.hpp"
#include "testing/mqtt_test_client.hpp"
#include "testing/tsdb_servers.hpp"

using namespace mqs::testing;
using namespace mqs::influx::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int64_t kFirstMs = 1732200000000;

json vmSink(const std::string& name, const VictoriaProcess& vm) {
    return {{"name", name}, {"type", "influxdb2"}, {"url", vm.url()}, {"org", "ares"}, {"bucket", "entrepot"},
            {"connect_timeout", "500ms"}, {"request_timeout", "2s"}};
}

// Readings number `first` .. `first + count - 1`, reading i with timestamp kFirstMs + i.
void publishReadings(MqttTestClient& pub, int first, int count) {
    for (int i = first; i < first + count; ++i) {
        ASSERT_TRUE(pub.publish("entrepot/est/s" + std::to_string(i % 10) + "/v1", reading(kFirstMs + i, i % 100 + 0.5), 1))
            << "reading " << i;
    }
}

std::vector<int64_t> timestamps(int first, int count) {
    std::vector<int64_t> out;
    for (int i = first; i < first + count; ++i) out.push_back(kFirstMs + i);
    return out;
}

// Every temperature sample the server holds, sorted; VictoriaMetrics keeps duplicates, so a point
// written twice shows up twice.
std::vector<int64_t> timestampsAt(VictoriaProcess& vm) {
    std::vector<int64_t> out;
    for (const auto& series : vm.exportSeries("{__name__=\"entrepot_temp\"}")) {
        for (const auto& t : series["timestamps"]) out.push_back(t.get<int64_t>());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Waits until `vm` holds exactly `expected`; on failure says how many it holds.
::testing::AssertionResult holdsExactly(VictoriaProcess& vm, const std::vector<int64_t>& expected, std::chrono::milliseconds timeout = 15s) {
    std::vector<int64_t> got;
    if (waitFor([&] { return (got = timestampsAt(vm)) == expected; }, timeout)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "server holds " << got.size() << " sample(s), expected " << expected.size()
                                         << (got.empty() ? "" : ", first " + std::to_string(got.front() - kFirstMs) + ", last " +
                                                                     std::to_string(got.back() - kFirstMs));
}

void reloadWith(BrokerProcess& broker, const json& rules) {
    const size_t before = broker.countInLog("influx: reloaded: forwarding");
    broker.writeFile("rules.json", rules.dump(2));
    broker.reload();
    ASSERT_TRUE(broker.waitForLogCount("influx: reloaded: forwarding", before + 1)) << broker.log();
}

// Points delivered before the reload stay at A; points the sink still held at the reload (spooled during
// an outage of A) go to B with the points published after it; nothing is lost or written twice.
TEST(InfluxReload, ASinkMovedToAnotherServerTakesTheHeldPointsAlong) {
    VictoriaProcess a, b;
    ASSERT_TRUE(a.start()) << a.log();
    ASSERT_TRUE(b.start()) << b.log();
    auto broker = influxBroker(warehouseRules(vmSink("main", a)), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    Metrics metrics(broker->port());
    MqttTestClient pub("mover");
    ASSERT_TRUE(pub.connect(broker->port()));

    publishReadings(pub, 0, 100);
    ASSERT_TRUE(holdsExactly(a, timestamps(0, 100))) << broker->log();
    a.stop();
    publishReadings(pub, 100, 100);
    ASSERT_TRUE(metrics.waitFor("sinks/main/spooled_points_total", [](int64_t v) { return v == 100; }))
        << metrics.value("sinks/main/spooled_points_total") << "\n" << broker->log();

    reloadWith(*broker, warehouseRules(vmSink("main", b)));
    EXPECT_NE(broker->log().find("restarting the sinks"), std::string::npos);
    ASSERT_TRUE(a.start()) << a.log();  // A is back: the old sink must not write there any more
    publishReadings(pub, 200, 100);

    EXPECT_TRUE(holdsExactly(b, timestamps(100, 200), 30s)) << broker->log();
    EXPECT_TRUE(holdsExactly(a, timestamps(0, 100))) << broker->log();
    EXPECT_TRUE(metrics.waitFor("sinks/main/spooled_bytes", [](int64_t v) { return v == 0; }));
}

// The spool belongs to the sink's name: a reload that replaces sink "a" by sink "b" leaves what "a"
// held in <spool_dir>/a (not sent to b) and says so, and a later reload that brings "a" back delivers it.
TEST(InfluxReload, ASinkRenamedByReloadKeepsItsHeldPointsUntilItReturns) {
    VictoriaProcess a, b;  // A stays down until the end
    ASSERT_TRUE(b.start()) << b.log();
    auto broker = influxBroker(warehouseRules(vmSink("a", a)), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    Metrics metrics(broker->port());
    MqttTestClient pub("renamer");
    ASSERT_TRUE(pub.connect(broker->port()));

    publishReadings(pub, 0, 50);
    ASSERT_TRUE(metrics.waitFor("sinks/a/spooled_points_total", [](int64_t v) { return v == 50; })) << broker->log();

    reloadWith(*broker, warehouseRules(vmSink("b", b)));
    publishReadings(pub, 50, 50);
    EXPECT_TRUE(holdsExactly(b, timestamps(50, 50))) << broker->log();
    uintmax_t parked = 0;
    for (const auto& f : std::filesystem::directory_iterator(broker->dir() / "spool" / "a")) {
        if (f.path().extension() == ".seg") parked += f.file_size();
    }
    EXPECT_GT(parked, 0u) << "the points held for 'a' stay in its spool";
    EXPECT_TRUE(broker->waitForLog("sink 'a' is no longer in the rules file")) << broker->log();

    ASSERT_TRUE(a.start()) << a.log();
    reloadWith(*broker, warehouseRules(vmSink("a", a)));
    EXPECT_TRUE(holdsExactly(a, timestamps(0, 50), 30s)) << broker->log();
    EXPECT_TRUE(holdsExactly(b, timestamps(50, 50))) << broker->log();
}

struct RefusedReloadCase {
    std::string name;
    std::string expected_reason;  // in the "reload refused" line
};
std::ostream& operator<<(std::ostream& os, const RefusedReloadCase& c) { return os << c.name; }

class InfluxRefusedReload : public ::testing::TestWithParam<RefusedReloadCase> {};

// Each refused file would move the sink to B; the sink must stay on A, unchanged.
json refusedRules(const std::string& name, const VictoriaProcess& b, BrokerProcess& broker) {
    json rules = warehouseRules(vmSink("main", b));
    if (name == "not_json") return "{ broken";
    if (name == "unknown_sink_type") rules["sinks"][0]["type"] = "influxdb3";
    if (name == "missing_ca_file") rules["sinks"][0]["ca_file"] = "/nonexistent/ca.pem";
    if (name == "unusable_spool_dir") {
        // Parses, but the new sink's spool directory cannot be created: refused only while restarting the sinks.
        rules["sinks"][0]["name"] = "blocked";
        broker.writeFile("spool/blocked", "a file where the directory should be");
    }
    return rules;
}

TEST_P(InfluxRefusedReload, KeepsTheRunningSinks) {
    VictoriaProcess a, b;
    ASSERT_TRUE(a.start()) << a.log();
    ASSERT_TRUE(b.start()) << b.log();
    auto broker = influxBroker(warehouseRules(vmSink("main", a)), "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    MqttTestClient pub("steady");
    ASSERT_TRUE(pub.connect(broker->port()));
    publishReadings(pub, 0, 10);
    ASSERT_TRUE(holdsExactly(a, timestamps(0, 10))) << broker->log();

    json rules = refusedRules(GetParam().name, b, *broker);
    broker->writeFile("rules.json", rules.is_string() ? rules.get<std::string>() : rules.dump(2));
    broker->reload();
    ASSERT_TRUE(broker->waitForLog("influx: reload refused, keeping the previous configuration")) << broker->log();
    EXPECT_NE(broker->log().find(GetParam().expected_reason), std::string::npos) << broker->log();

    publishReadings(pub, 10, 10);
    EXPECT_TRUE(holdsExactly(a, timestamps(0, 20))) << broker->log();
    EXPECT_TRUE(timestampsAt(b).empty());
    EXPECT_EQ(broker->stop(), 0);
    EXPECT_EQ(broker->log().find("point(s) lost"), std::string::npos) << broker->log();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InfluxRefusedReload,
    ::testing::Values(RefusedReloadCase{"not_json", "not valid JSON"},
                      RefusedReloadCase{"unknown_sink_type", "sinks[0].type: 'influxdb3' is not one of: influxdb1, influxdb2"},
                      RefusedReloadCase{"missing_ca_file", "sinks[0].ca_file: cannot open '/nonexistent/ca.pem'"},
                      RefusedReloadCase{"unusable_spool_dir", "cannot create spool directory"}),
    [](const auto& param_info) { return param_info.param.name; });

}  // namespace
