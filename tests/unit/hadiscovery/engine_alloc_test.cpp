// The engine's hot path: once a device is known and nothing about it changes, a message costs a topic-cache
// lookup and a few field reads, without one heap allocation; so does a message no rule matches and one from a
// device the flood cap just refused. Own binary: it replaces operator new.
#include <gtest/gtest.h>

#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "hadiscovery/engine.hpp"
#include "testing/count_allocations.hpp"


using namespace mqs::hadiscovery;
using namespace std::chrono_literals;

TEST(HaEngineAllocations, NoneForKnownUnchangedDevices) {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    Config config = parseConfig(
        {{"rules_file", std::string(CONF_DIR) + "/hadiscovery/ipwatch-rules.json"}, {"max_new_devices", "1"}});
    DiscoveryEngine engine(std::make_shared<const RuleSet>(loadRuleSet(config.rules_file)), config, clock, metrics,
                           LoadedState{Inventory(1 << 20), UserDeletions(100, 1 << 20)}, 1);
    const std::string topic = "ipwatch/device/10.0.0.5/status", other = "ipwatch/device/10.0.0.6/status",
                      unrelated = "some/other/topic";
    const std::string payload =
        R"({"hostname":"web-1","cpu_percent":12.5,"memory_percent":48.1,"disk_percent":71,"uptime":86400})";
    auto send = [&](const std::string& t, const char* client) {
        engine.onMessage(client, t, payload.data(), payload.size(), false, clock.now());
    };
    send(topic, "agent");
    send(other, "agent-2");  // refused by the cap of 1
    engine.outbox().clear();
    engine.notes().clear();
    const long before = mqs::testing::allocations.load();
    for (int i = 0; i < 200; ++i) {
        clock.advance(2ms);  // within the 1 s a refusal is remembered (then one full match re-asks the cap)
        send(topic, "agent");
        send(other, "agent-2");
        send(unrelated, "x");
    }
    EXPECT_EQ(mqs::testing::allocations.load() - before, 0);
    EXPECT_TRUE(engine.outbox().empty());
    EXPECT_EQ(engine.deviceCount(), 1u);
}

// Many known devices (more than a fixed-size topic cache holds) are still found without allocating.
TEST(HaEngineAllocations, NoneWithManyKnownDevices) {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    Config config = parseConfig(
        {{"rules_file", std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json"}, {"max_new_devices", "100000"}});
    DiscoveryEngine engine(std::make_shared<const RuleSet>(loadRuleSet(config.rules_file)), config, clock, metrics,
                           LoadedState{Inventory(64 << 20), UserDeletions(100, 1 << 20)}, 1);
    const std::string payload = R"({"timestamp":1,"temp":21.4,"hum":55.0,"alert_level":0,"version":1})";
    std::vector<std::string> topics;
    for (int i = 0; i < 5000; ++i)
        topics.push_back("entrepot/z" + std::to_string(i / 50) + "/s" + std::to_string(i % 50) + "/v1");
    for (const auto& t : topics) engine.onMessage("", t, payload.data(), payload.size(), false, clock.now());
    engine.outbox().clear();
    engine.outbox().shrink_to_fit();
    engine.notes().clear();
    engine.notes().shrink_to_fit();
    ASSERT_EQ(engine.deviceCount(), 5000u);
    const long before = mqs::testing::allocations.load();
    for (int round = 0; round < 3; ++round)
        for (const auto& t : topics) engine.onMessage("", t, payload.data(), payload.size(), false, clock.now());
    EXPECT_EQ(mqs::testing::allocations.load() - before, 0);
}

// A device whose payloads never carry the rule's fields builds nothing per message either.
TEST(HaEngineAllocations, NoneForADeviceWithoutItsFields) {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    Config config = parseConfig({{"rules_file", std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json"}});
    DiscoveryEngine engine(std::make_shared<const RuleSet>(loadRuleSet(config.rules_file)), config, clock, metrics,
                           LoadedState{Inventory(1 << 20), UserDeletions(100, 1 << 20)}, 1);
    const std::string topic = "dht11/sensor/data", payload = R"({"status":"booting"})";
    engine.onMessage("", topic, payload.data(), payload.size(), false, clock.now());
    const long before = mqs::testing::allocations.load();
    for (int i = 0; i < 100; ++i) engine.onMessage("", topic, payload.data(), payload.size(), false, clock.now());
    EXPECT_EQ(mqs::testing::allocations.load() - before, 0);
    EXPECT_TRUE(engine.outbox().empty());
    EXPECT_EQ(metrics.get("fields_missing").value(), 101);
}

// Memory per device, measured (glibc's mallinfo2: bytes in use) with 10 000 devices after their configs
// went out: the engine's device, the topic cache slot, the inventory entry, the flood limiter's known set
// and, for IPWatch, the availability map. docs/hadiscovery.md quotes these figures.
size_t heapInUse() {
    return mallinfo2().uordblks;
}

size_t bytesPerDevice(const std::string& rules, const std::string& topic_prefix, const std::string& payload,
                      bool with_clients) {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    Config config = parseConfig({{"rules_file", rules}, {"max_new_devices", "100000"}});
    constexpr int kDevices = 10'000;
    {
        DiscoveryEngine engine(std::make_shared<const RuleSet>(loadRuleSet(config.rules_file)), config, clock, metrics,
                               LoadedState{Inventory(64 << 20), UserDeletions(100, 1 << 20)}, 1);
        const size_t empty = heapInUse();
        for (int i = 0; i < kDevices; ++i) {
            const std::string topic = topic_prefix + std::to_string(i / 100) + "/s" + std::to_string(i % 100) + "/v1";
            engine.onMessage(with_clients ? "client-" + std::to_string(i) : std::string(), topic, payload.data(),
                             payload.size(), false, clock.now());
            engine.outbox().clear();
            engine.notes().clear();
        }
        EXPECT_EQ(engine.deviceCount(), static_cast<size_t>(kDevices));
        return (heapInUse() - empty) / kDevices;
    }
}

TEST(HaEngineMemory, PerDevice) {
    const size_t warehouse =
        bytesPerDevice(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json", "entrepot/zone",
                       R"({"timestamp":1,"temp":21.4,"hum":55.0,"alert_level":0,"version":1})", false);
    std::printf("[memory] warehouse sensor device: %zu bytes\n", warehouse);
    EXPECT_LT(warehouse, 4096u);
}
