// kill -9 of the real broker at random moments while a QoS 1 publisher sends a few thousand warehouse
// readings per second to mosquitto_influx.so writing to influxd 1.6.7, with the server up and during
// an outage: every PUBACKed reading must be in the database exactly once (issue 11, item 1).
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <random>
#include <thread>

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

constexpr int64_t kFirstTs = 1732200000000;  // ms; reading i has timestamp kFirstTs + i: one point each

json sinkFor(const InfluxdProcess& influxd) {
    return {{"name", "influx1"},      {"type", "influxdb1"},        {"url", influxd.url()},
            {"database", "entrepot"}, {"connect_timeout", "500ms"}, {"request_timeout", "2s"}};
}

int64_t pointCount(InfluxdProcess& influxd) {
    auto rows = influxd.query("entrepot", "SELECT count(temp) FROM entrepot");
    return rows.empty() ? 0 : rows[0]["count"].get<int64_t>();
}

double tempOf(int i) {
    return i % 100 + 0.25;
}

// Publishes reading 0, 1, 2, ... at QoS 1, one at a time, about 4 000 per second, until told to stop. A reading whose
// PUBACK does not come (the broker was killed) is sent again once the broker is back, as a QoS 1 client does: when
// `stop` is seen, readings [0, published()) have all been acknowledged.
class Publisher {
public:
    explicit Publisher(const std::atomic<int>& port) : port_(port), thread_([this] { run(); }) {}
    ~Publisher() { finish(); }
    int finish() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        return acked_;
    }
    int acked() const { return acked_; }
    int resent() const { return resent_; }

private:
    void run() {
        MqttTestClient pub("sensor-kill9");
        bool connected = false;
        int i = 0;
        bool retry = false;
        const auto start = std::chrono::steady_clock::now();
        const auto deadline = start + 120s;
        while (std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_until(start + i * 250us);
            if (!connected) {
                connected = pub.connect(port_.load(), 1s);
                if (!connected) {
                    std::this_thread::sleep_for(20ms);
                    continue;
                }
            }
            if (stop_ && !retry) return;
            const std::string topic = "entrepot/est/s" + std::to_string(i % 10) + "/v1";
            if (pub.publish(topic, reading(kFirstTs + i, tempOf(i)), 1, false, nullptr, 2s)) {
                acked_ = ++i;
                retry = false;
            } else {
                resent_ += 1;
                retry = true;
                connected = false;
                pub.disconnect();
            }
        }
    }
    const std::atomic<int>& port_;
    std::atomic<bool> stop_{false};
    std::atomic<int> acked_{0}, resent_{0};
    std::thread thread_;
};

// Kills the broker `kills` times at random moments 0.3-0.9 s apart, restarting it on the same spool.
void killRepeatedly(BrokerProcess& broker, std::atomic<int>& port, int kills, std::mt19937& rng) {
    for (int k = 0; k < kills; ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 900)(rng)));
        broker.kill9();
        ASSERT_TRUE(broker.restart()) << broker.log();
        port = broker.port();
    }
    std::this_thread::sleep_for(300ms);
}

void expectEveryAckedReadingOnce(InfluxdProcess& influxd, BrokerProcess& broker, int n) {
    ASSERT_GT(n, 1000) << "the publisher should have managed a few thousand readings";
    EXPECT_TRUE(waitFor([&] { return pointCount(influxd) >= n; }, 40s, 200ms))
        << pointCount(influxd) << " of " << n << "\n"
        << broker.log();
    std::this_thread::sleep_for(500ms);  // anything extra would arrive now
    EXPECT_EQ(pointCount(influxd), n) << "0 lost, 0 extra";
    double expected = 0;
    for (int i = 0; i < n; ++i) expected += tempOf(i);
    auto sum = influxd.query("entrepot", "SELECT sum(temp) FROM entrepot");
    ASSERT_EQ(sum.size(), 1u);
    EXPECT_NEAR(sum[0]["sum"].get<double>(), expected, 1e-6 * expected);
    auto last = influxd.query("entrepot", "SELECT last(temp) FROM entrepot");
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0]["time"].get<int64_t>(), (kFirstTs + n - 1) * 1000000)
        << "nothing past the last acknowledged reading";
}

// 200 ms batches: at every kill the journal holds the queue and the batch being filled (what was lost before).
const char* kOptions = "plugin_opt_precision ms\nplugin_opt_flush_interval 200ms\nplugin_opt_journal_bytes 8MiB\n";

TEST(InfluxKill9, RepeatedKillsWithTheServerUpLoseNothingAndDuplicateNothing) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("entrepot");
    auto broker = influxBroker(warehouseRules(sinkFor(influxd)), kOptions);
    ASSERT_TRUE(broker->start()) << broker->log();
    std::atomic<int> port{broker->port()};
    std::mt19937 rng(std::random_device{}());
    Publisher pub(port);
    killRepeatedly(*broker, port, 6, rng);
    const int n = pub.finish();
    std::cout << "[ info ] " << n << " readings acknowledged, " << pub.resent() << " resent after a kill\n";
    EXPECT_GE(pub.resent(), 1) << "some kill should have caught a reading in flight";
    expectEveryAckedReadingOnce(influxd, *broker, n);
    EXPECT_GE(broker->countInLog("found in the journal"), 1u) << broker->log();
}

TEST(InfluxKill9, RepeatedKillsDuringAnOutageLoseNothingOnceTheServerIsBack) {
    InfluxdProcess influxd;
    ASSERT_TRUE(influxd.start()) << influxd.log();
    influxd.createDatabase("entrepot");
    influxd.stop();  // the outage spans every kill
    auto broker = influxBroker(warehouseRules(sinkFor(influxd)), kOptions);
    ASSERT_TRUE(broker->start()) << broker->log();
    std::atomic<int> port{broker->port()};
    std::mt19937 rng(std::random_device{}());
    Publisher pub(port);
    killRepeatedly(*broker, port, 6, rng);
    const int n = pub.finish();
    std::cout << "[ info ] " << n << " readings acknowledged, " << pub.resent() << " resent after a kill\n";
    ASSERT_TRUE(influxd.start()) << influxd.log();
    expectEveryAckedReadingOnce(influxd, *broker, n);
}

}  // namespace
