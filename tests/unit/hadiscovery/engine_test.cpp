// DiscoveryEngine with a fake clock: configs once per device and on change, missing fields, user deletions
// and undo, availability on disconnect, the flood cap, idle removal, migration between discovery forms,
// observed expire_after, the birth message, id collisions, dry run and the snapshot.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "hadiscovery/engine.hpp"

using namespace mqs::hadiscovery;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kIp = std::string(CONF_DIR) + "/hadiscovery/ipwatch-rules.json";
const std::string kStatus =
    R"({"hostname":"web-1","cpu_percent":12.5,"memory_percent":48.1,"disk_percent":71,"uptime":86400})";
const std::string kDeviceTopic = "homeassistant/device/ipwatch_10_0_0_5/config";

struct Harness {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    Config config;
    std::unique_ptr<DiscoveryEngine> engine;

    explicit Harness(const std::string& rules = kIp, mqs::RawOptions extra = {}, LoadedState* state = nullptr) {
        extra.push_back({"rules_file", rules});
        config = parseConfig(extra);
        LoadedState fresh{Inventory(config.max_state_bytes), UserDeletions(1000, config.max_state_bytes)};
        engine = std::make_unique<DiscoveryEngine>(std::make_shared<const RuleSet>(loadRuleSet(rules)), config, clock,
                                                   metrics, state ? std::move(*state) : std::move(fresh), 42);
    }
    void send(const std::string& topic, const std::string& payload, const std::string& client = "agent-1",
              bool retain = false) {
        engine->onMessage(client, topic, payload.data(), payload.size(), retain, clock.now());
    }
    std::vector<Outgoing> take() {
        auto out = engine->outbox();
        engine->outbox().clear();
        engine->notes().clear();
        return out;
    }
    int64_t metric(const std::string& name) { return metrics.get(name).value(); }
};

TEST(HaEngine, PublishesOnceRetainedQos1AndAgainOnChange) {
    Harness h;
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    auto out = h.take();
    // The agent is fed by a client: `online` on the availability topic, then the config.
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].topic, "ipwatch/device/10.0.0.5/availability");
    EXPECT_EQ(out[0].payload, "online");
    EXPECT_EQ(out[1].topic, kDeviceTopic);
    EXPECT_EQ(out[1].qos, 1);
    EXPECT_TRUE(out[1].retain);
    json p = json::parse(out[1].payload);
    EXPECT_EQ(p["device"]["name"], "web-1");
    EXPECT_EQ(p["components"].size(), 7u);
    h.clock.advance(1s);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    EXPECT_TRUE(h.take().empty()) << "nothing changed: nothing published";
    std::string renamed = kStatus;
    renamed.replace(renamed.find("web-1"), 5, "web-2");
    h.send("ipwatch/device/10.0.0.5/status", renamed);
    out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, kDeviceTopic) << "a new display name keeps the ids";
    EXPECT_EQ(json::parse(out[0].payload)["device"]["name"], "web-2");
    EXPECT_EQ(h.metric("configs_published"), 2);
    EXPECT_EQ(h.metric("devices"), 1);
    EXPECT_EQ(h.metric("entities"), 7);
}

TEST(HaEngine, MissingFieldsCreateNoEntityAndAreCounted) {
    Harness h;
    h.send("ipwatch/device/10.0.0.5/status", R"({"cpu_percent":"high"})");
    auto out = h.take();
    ASSERT_EQ(out.size(), 2u);
    json p = json::parse(out[1].payload);
    EXPECT_FALSE(p["components"].contains("cpu")) << "a string is not the number a % sensor needs";
    EXPECT_TRUE(p["components"].contains("connectivity"));
    EXPECT_EQ(h.metric("fields_missing"), 1);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(json::parse(out[0].payload)["components"].contains("cpu"));
}

TEST(HaEngine, UserDeletionStaysDeletedUntilUndone) {
    Harness h;
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    h.take();
    // Not ours: ignored.
    h.send("homeassistant/device/other/config", "", "home-assistant", true);
    EXPECT_EQ(h.engine->deletions().count(), 0u);
    h.send(kDeviceTopic, "", "home-assistant", true);
    EXPECT_EQ(h.engine->deletions().count(), 1u);
    EXPECT_EQ(h.metric("user_deletions"), 1);
    std::string renamed = kStatus;
    renamed.replace(renamed.find("web-1"), 5, "web-9");
    h.send("ipwatch/device/10.0.0.5/status", renamed);
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.metric("configs_suppressed"), 1);
    // The snapshot carries the deletion.
    std::string snap = h.engine->takeSnapshotIfChanged();
    ASSERT_FALSE(snap.empty());
    LoadedState loaded = parseState(snap, "test", 1 << 20, 100, 1 << 20);
    EXPECT_TRUE(loaded.deletions.isDeleted(kDeviceTopic));
    EXPECT_TRUE(loaded.inventory.owns(kDeviceTopic));
    // Undo through the control command.
    std::vector<std::string> log;
    std::string reply = h.engine->handleControl(R"({"commands":[{"command":"listDeleted"},
        {"command":"undelete","device":"ipwatch_10_0_0_5"},{"command":"bogus"}]})",
                                                h.clock.now(), log);
    json r = json::parse(reply);
    EXPECT_EQ(r["responses"][0]["data"]["deleted"][0], kDeviceTopic);
    EXPECT_EQ(r["responses"][1]["data"]["undeleted"][0], kDeviceTopic);
    EXPECT_TRUE(r["responses"][2].contains("error"));
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, kDeviceTopic);
    EXPECT_EQ(h.engine->deletions().count(), 0u);
}

TEST(HaEngine, DisconnectOfTheFeedingClientPublishesOffline) {
    Harness h;
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    h.take();
    h.engine->onDisconnect("someone-else");
    EXPECT_TRUE(h.take().empty());
    h.engine->onDisconnect("agent-1");
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, "ipwatch/device/10.0.0.5/availability");
    EXPECT_EQ(out[0].payload, "offline");
    EXPECT_TRUE(out[0].retain);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "online");
}

TEST(HaEngine, FloodCapRefusesAndCountsNewDevices) {
    Harness h(kIp, {{"max_new_devices", "3"}, {"new_device_window", "1m"}});
    for (int i = 0; i < 10; ++i)
        h.send("ipwatch/device/10.0.0." + std::to_string(i) + "/status", kStatus, "a" + std::to_string(i));
    h.engine->onTimers(h.clock.now());
    EXPECT_EQ(h.engine->deviceCount(), 3u);
    EXPECT_EQ(h.metric("devices_refused"), 7);
    EXPECT_EQ(h.engine->limiter().refused("ipwatch"), 7u);
    // Known devices still go through; after the window new ones are admitted again.
    h.take();
    h.clock.advance(61s);
    h.send("ipwatch/device/10.0.0.9/status", kStatus, "a9");
    EXPECT_EQ(h.engine->deviceCount(), 4u);
}

TEST(HaEngine, IdleDevicesLoseTheirConfigs) {
    Harness h(kIp, {{"device_idle_timeout", "10s"}});
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    h.take();
    h.clock.advance(5s);
    h.engine->onTimers(h.clock.now());
    EXPECT_TRUE(h.take().empty());
    h.clock.advance(6s);
    h.engine->onTimers(h.clock.now());
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, kDeviceTopic);
    EXPECT_EQ(out[0].payload, "");
    EXPECT_TRUE(out[0].retain);
    EXPECT_EQ(h.metric("configs_removed"), 1);
    EXPECT_EQ(h.engine->deviceCount(), 0u);
    EXPECT_FALSE(h.engine->inventory().owns(kDeviceTopic));
}

// The inventory's last seen of a known device advances at most once a minute, judged per message by the
// steady clock (the wall clock is read only when a touch is due): a per-message shortcut must keep it moving.
TEST(HaEngine, KnownDeviceTouchesTheInventoryOncePerMinute) {
    Harness h;
    auto seen = [&] { return h.engine->inventory().find(kDeviceTopic)->last_seen_ms; };
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    h.take();
    ASSERT_NE(h.engine->inventory().find(kDeviceTopic), nullptr);
    const int64_t t0 = seen();
    h.clock.advance(30s);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    EXPECT_EQ(seen(), t0) << "not touched again within the minute";
    h.clock.advance(31s);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    EXPECT_EQ(seen(), t0 + 61'000);
    h.clock.advance(59s);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    EXPECT_EQ(seen(), t0 + 61'000);
    h.clock.advance(1s);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    EXPECT_EQ(seen(), t0 + 121'000);
    EXPECT_TRUE(h.take().empty());
}

// A device fed more often than device_idle_timeout stays for as long as it is fed (the idle walk and the
// per-message touch share the bookkeeping), and goes once it stops.
TEST(HaEngine, RegularlyFedDeviceOutlivesTheIdleTimeout) {
    Harness h(kIp, {{"device_idle_timeout", "90s"}});
    for (int i = 0; i < 30; ++i) {  // 10 minutes, a message every 20 s, the timers every 5 s
        h.send("ipwatch/device/10.0.0.5/status", kStatus);
        for (int k = 0; k < 4; ++k) {
            h.clock.advance(5s);
            h.engine->onTimers(h.clock.now());
        }
    }
    h.take();
    EXPECT_EQ(h.engine->deviceCount(), 1u);
    EXPECT_EQ(h.metric("configs_removed"), 0);
    for (int k = 0; k < 15; ++k) {  // 75 s more without a message: 95 s since the last one
        h.clock.advance(5s);
        h.engine->onTimers(h.clock.now());
    }
    EXPECT_EQ(h.engine->deviceCount(), 0u);
    EXPECT_EQ(h.metric("configs_removed"), 1);
}

TEST(HaEngine, SwitchingToEntityModeMigratesWithoutDuplicates) {
    std::string snap;
    {
        Harness h;
        h.send("ipwatch/device/10.0.0.5/status", kStatus);
        h.take();
        snap = h.engine->takeSnapshotIfChanged();
    }
    LoadedState state = parseState(snap, "test", 64 << 20, 1000, 64 << 20);
    Harness h(kIp, {{"discovery_mode", "entity"}}, &state);
    h.engine->scheduleRepublishAll(h.clock.now(), true);
    h.clock.advance(10s);
    h.engine->onTimers(h.clock.now());
    EXPECT_TRUE(h.take().empty()) << "migrated at its first message (Home Assistant connected), not at start";
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u + 1 + 7 + 1);  // online, migrate marker, 7 entity configs, clear of the device topic
    EXPECT_EQ(out[1].topic, kDeviceTopic);
    EXPECT_EQ(out[1].payload, R"({"migrate_discovery":true})");
    for (size_t i = 2; i < 9; ++i) {
        EXPECT_NE(out[i].topic.find("/ipwatch_10_0_0_5/"), std::string::npos);
        EXPECT_EQ(json::parse(out[i].payload)["unique_id"].get<std::string>().rfind("ipwatch_10_0_0_5_", 0), 0u)
            << "same unique_ids as before: Home Assistant re-binds the entities";
    }
    EXPECT_EQ(out[9].topic, kDeviceTopic);
    EXPECT_EQ(out[9].payload, "");
    EXPECT_FALSE(h.engine->inventory().owns(kDeviceTopic));
    EXPECT_EQ(h.engine->inventory().configCount(), 7u);
    // And back.
    snap = h.engine->takeSnapshotIfChanged();
    LoadedState again = parseState(snap, "test", 64 << 20, 1000, 64 << 20);
    Harness back(kIp, {}, &again);
    back.send("ipwatch/device/10.0.0.5/status", kStatus);
    out = back.take();
    ASSERT_EQ(out.size(), 1u + 7 + 1 + 7);
    EXPECT_EQ(out[8].topic, kDeviceTopic);
    EXPECT_EQ(back.engine->inventory().configCount(), 1u);
}

TEST(HaEngine, DeletedDeviceStaysDeletedAcrossAModeSwitch) {
    std::string snap;
    {
        Harness h;
        h.send("ipwatch/device/10.0.0.5/status", kStatus);
        h.send(kDeviceTopic, "", "home-assistant", true);
        h.take();
        snap = h.engine->takeSnapshotIfChanged();
    }
    LoadedState state = parseState(snap, "test", 64 << 20, 1000, 64 << 20);
    Harness h(kIp, {{"discovery_mode", "entity"}}, &state);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    for (const auto& o : h.take()) EXPECT_EQ(o.topic.find("homeassistant/"), std::string::npos) << o.topic;
}

TEST(HaEngine, EntityDeletedPerEntityStaysOutOfTheDeviceConfig) {
    std::string snap;
    {
        Harness h(kIp, {{"discovery_mode", "entity"}});
        h.send("ipwatch/device/10.0.0.5/status", kStatus);
        h.take();
        h.send("homeassistant/button/ipwatch_10_0_0_5/shutdown/config", "", "home-assistant", true);
        snap = h.engine->takeSnapshotIfChanged();
    }
    LoadedState state = parseState(snap, "test", 64 << 20, 1000, 64 << 20);
    Harness h(kIp, {}, &state);
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u + 6 + 1 + 6) << "online, 6 markers (not on the deleted topic), device config, 6 clears";
    json p = json::parse(out[7].payload);
    EXPECT_EQ(out[7].topic, kDeviceTopic);
    EXPECT_FALSE(p["components"].contains("shutdown"));
    EXPECT_EQ(p["components"].size(), 6u);
    // Undoing it by device brings the entity back into the device config.
    std::vector<std::string> log;
    h.engine->handleControl(R"({"commands":[{"command":"undelete","device":"ipwatch_10_0_0_5"}]})", h.clock.now(), log);
    out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(json::parse(out[0].payload)["components"].contains("shutdown"));
}

TEST(HaEngine, ObservedExpireAfter) {
    EXPECT_EQ(observedExpireAfter({10'000, 10'000, 10'000, 10'000, 10'000}), 30);
    EXPECT_EQ(observedExpireAfter({1'000, 60'000, 10'000, 11'000, 9'000}), 30) << "the median ignores outliers";
    EXPECT_EQ(observedExpireAfter({100, 100, 100, 100, 100}), 1);
    Harness h(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json");
    const std::string reading = R"({"timestamp":1,"temp":21.4,"hum":55.0,"alert_level":0,"version":1})";
    h.send("entrepot/nord/s1/v1", reading, "");
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(json::parse(out[0].payload)["components"]["temperature"].contains("expire_after"));
    for (int i = 0; i < 5; ++i) {
        h.clock.advance(10s);
        h.send("entrepot/nord/s1/v1", reading, "");
    }
    out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(json::parse(out[0].payload)["components"]["temperature"]["expire_after"], 30);
    EXPECT_EQ(json::parse(out[0].payload)["device"]["suggested_area"], "nord");
    // Small changes do not republish; a period four times longer does.
    for (int i = 0; i < 5; ++i) {
        h.clock.advance(12s);
        h.send("entrepot/nord/s1/v1", reading, "");
    }
    EXPECT_TRUE(h.take().empty());
    for (int i = 0; i < 5; ++i) {
        h.clock.advance(40s);
        h.send("entrepot/nord/s1/v1", reading, "");
    }
    out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(json::parse(out[0].payload)["components"]["temperature"]["expire_after"], 120);
}

// A known device's message reads only its hot record, which keeps the topic inline up to 31 bytes and
// otherwise compares with the device's own copy: topics on either side of that bound, and long topics
// that differ only past it, are each their own device and keep their own interval bookkeeping.
TEST(HaEngine, TopicsLongerThanTheInlinePartAreStillTheirOwnDevices) {
    Harness h(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json");
    const std::string reading = R"({"timestamp":1,"temp":21.4,"hum":55.0,"alert_level":0,"version":1})";
    const std::string long_name(40, 's');
    const std::vector<std::string> topics = {
        "entrepot/nord/" + std::string(14, 'a') + "/v1",  // 31 bytes: inline
        "entrepot/nord/" + std::string(15, 'a') + "/v1",  // 32 bytes: only in the cold record
        "entrepot/nord/" + long_name + "x/v1",
        "entrepot/nord/" + long_name + "y/v1",  // the same first 55 bytes as the one before
    };
    ASSERT_EQ(topics[0].size(), 31u);
    for (const auto& t : topics) h.send(t, reading, "");
    EXPECT_EQ(h.take().size(), topics.size()) << "one config per device";
    EXPECT_EQ(h.engine->deviceCount(), topics.size());
    // Every device learns its own period: 10 s for the first two, 20 s for the others.
    for (int i = 1; i <= 10; ++i) {
        h.clock.advance(10s);
        for (size_t k = 0; k < topics.size(); ++k)
            if (k < 2 || i % 2 == 0) h.send(topics[k], reading, "");
    }
    std::map<std::string, int> expire;
    for (const auto& o : h.take()) {
        const json p = json::parse(o.payload);
        expire[p["device"]["identifiers"][0].get<std::string>()] = p["components"]["temperature"]["expire_after"];
    }
    ASSERT_EQ(expire.size(), topics.size());
    EXPECT_EQ(expire["entrepot_sensor_nord_" + std::string(14, 'a')], 30);
    EXPECT_EQ(expire["entrepot_sensor_nord_" + std::string(15, 'a')], 30);
    EXPECT_EQ(expire["entrepot_sensor_nord_" + long_name + "x"], 60);
    EXPECT_EQ(expire["entrepot_sensor_nord_" + long_name + "y"], 60);
    EXPECT_EQ(h.engine->deviceCount(), topics.size());
}

// Removed devices give their hot records back for reuse: a device admitted (or re-admitted) into a reused
// record starts afresh (its config published again, no learned expire_after), and the devices that stay,
// across several chunks of records, keep theirs.
TEST(HaEngine, ReusedHotRecordsStartAfreshAndOthersKeepTheirState) {
    Harness h(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json",
              {{"device_idle_timeout", "15s"}, {"max_new_devices", "100000"}});
    const std::string reading = R"({"timestamp":1,"temp":21.4,"hum":55.0,"alert_level":0,"version":1})";
    auto topic = [](const std::string& zone, int i) {  // short and long topics alternate
        return "entrepot/" + zone + "/" + (i % 4 < 2 ? "s" : std::string(30, 'l')) + std::to_string(i) + "/v1";
    };
    auto expireAfter = [](const Outgoing& o) {
        const json c = json::parse(o.payload)["components"]["temperature"];
        return c.contains("expire_after") ? c["expire_after"].get<int>() : 0;
    };
    constexpr int kDevices = 600;  // more than two chunks of the record pool
    for (int i = 0; i < kDevices; ++i) h.send(topic("nord", i), reading, "");
    EXPECT_EQ(h.take().size(), size_t(kDevices));
    h.clock.advance(8s);
    for (int i = 1; i < kDevices; i += 2) h.send(topic("nord", i), reading, "");
    h.clock.advance(8s);
    h.engine->onTimers(h.clock.now());  // the even ones, silent for 16 s, are removed
    EXPECT_EQ(h.engine->deviceCount(), size_t(kDevices / 2));
    EXPECT_EQ(h.metric("configs_removed"), kDevices / 2);
    h.take();

    // New devices and a re-admitted one take the freed records: fresh state.
    for (int i = 0; i < kDevices / 2; ++i) h.send(topic("sud", i), reading, "");
    h.send(topic("nord", 0), reading, "");
    h.send(topic("nord", 2), reading, "");
    auto out = h.take();
    ASSERT_EQ(out.size(), size_t(kDevices / 2 + 2));
    for (const auto& o : out) EXPECT_EQ(expireAfter(o), 0) << o.topic;
    EXPECT_EQ(h.engine->deviceCount(), size_t(kDevices + 2));

    // The survivors kept their first interval (8 s): four more (16 s, then 8 s each) complete their window,
    // median 8 s.
    for (int k = 0; k < 4; ++k) {
        h.clock.advance(8s);
        for (int i = 1; i < kDevices; i += 2) h.send(topic("nord", i), reading, "");
    }
    out = h.take();
    ASSERT_EQ(out.size(), size_t(kDevices / 2));
    for (const auto& o : out) EXPECT_EQ(expireAfter(o), 24) << o.topic;
    // A known device whose record was reused by someone else is not found through its old topic.
    h.send(topic("nord", 4), reading, "");
    ASSERT_EQ(h.take().size(), 1u) << "admitted again as a new device";
    EXPECT_EQ(h.engine->deviceCount(), size_t(kDevices + 3));
}

TEST(HaEngine, ObservedExpireAfterIsThreeTimesTheMedianForAnyOrder) {
    std::mt19937_64 rng(13);
    for (int n = 0; n < 2000; ++n) {
        std::array<int64_t, kObservedIntervals> v{};
        for (auto& x : v) x = static_cast<int64_t>(rng() % (n % 2 ? 5 : 200'000));  // with and without ties
        auto sorted = v;
        std::sort(sorted.begin(), sorted.end());
        ASSERT_EQ(observedExpireAfter(v), std::max<int64_t>(1, (3 * sorted[2] + 999) / 1000));
    }
}

TEST(HaEngine, BirthMessageRepublishesPaced) {
    Harness h(kIp, {{"republish_jitter", "2s"}, {"republish_rate", "2"}});
    for (int i = 0; i < 4; ++i)
        h.send("ipwatch/device/10.0.0." + std::to_string(i) + "/status", kStatus, "c" + std::to_string(i));
    h.take();
    h.send("homeassistant/status", "offline", "home-assistant");
    h.engine->onTimers(h.clock.now());
    EXPECT_TRUE(h.take().empty());
    h.send("homeassistant/status", "online", "home-assistant");
    EXPECT_EQ(h.metric("pending"), 4);
    size_t total = 0;
    for (int i = 0; i < 50; ++i) {
        h.clock.advance(100ms);
        h.engine->onTimers(h.clock.now());
        total += h.take().size();
    }
    EXPECT_EQ(total, 4u) << "each device once, rate 2/s after at most 2 s of jitter";
    EXPECT_EQ(h.metric("pending"), 0);
}

TEST(HaEngine, CaptureValuesThatSanitizeAlikeDoNotShareADevice) {
    Harness h;
    h.send("ipwatch/device/10.0.0.5/status", kStatus, "a");
    h.take();
    h.send("ipwatch/device/10_0_0_5/status", kStatus, "b");
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.metric("id_collisions"), 1);
}

TEST(HaEngine, DryRunLogsInsteadOfPublishing) {
    Harness h(kIp, {{"dry_run", "true"}});
    h.send("ipwatch/device/10.0.0.5/status", kStatus);
    EXPECT_TRUE(h.engine->outbox().empty());
    bool logged = false;
    for (const auto& [k, text] : h.engine->notes())
        logged |= k == "dry-run" && text.find(kDeviceTopic) != std::string::npos;
    EXPECT_TRUE(logged);
}

TEST(HaEngine, InferenceAddsTableFieldsOnce) {
    Harness h(std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json");
    h.send("dht11/sensor/data", R"({"temperature":21,"humidity":40,"battery":88,"mystery":3})", "");
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    json c = json::parse(out[0].payload)["components"];
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c["auto_battery"]["device_class"], "battery");
    EXPECT_FALSE(c.contains("auto_mystery"));
}

// The adapter skips the broker's client id lookup unless a rule publishes availability on disconnect.
TEST(HaEngine, UsesTheClientIdOnlyForAvailabilityOnDisconnect) {
    Harness ip;
    EXPECT_TRUE(ip.engine->usesClientId());
    Harness warehouse(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json");
    EXPECT_FALSE(warehouse.engine->usesClientId());
    warehouse.engine->replaceRules(std::make_shared<const RuleSet>(loadRuleSet(kIp)), warehouse.clock.now());
    EXPECT_TRUE(warehouse.engine->usesClientId()) << "follows the rules at reload";
    ip.engine->replaceRules(
        std::make_shared<const RuleSet>(loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json")),
        ip.clock.now());
    EXPECT_FALSE(ip.engine->usesClientId());
}

TEST(HaEngine, RemovedRuleClearsItsDevicesAtReload) {
    Harness h(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json");
    h.send("entrepot/heartbeat/nord", R"({"timestamp":1})", "");
    h.send("entrepot/nord/s1/v1", R"({"temp":1,"hum":2,"alert_level":0})", "");
    ASSERT_EQ(h.take().size(), 2u);
    auto fewer = std::make_shared<RuleSet>(loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json"));
    fewer->rules.pop_back();  // the zone heartbeat rule goes
    h.engine->replaceRules(fewer, h.clock.now());
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, "homeassistant/device/entrepot_zone_nord/config");
    EXPECT_EQ(out[0].payload, "");
}

TEST(HaEngine, ReloadPublishesOnlyWhatChanged) {
    Harness h(std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json");
    h.send("dht11/sensor/data", R"({"temperature":21,"humidity":40})", "");
    ASSERT_EQ(h.take().size(), 1u);
    auto same = std::make_shared<RuleSet>(loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json"));
    h.engine->replaceRules(same, h.clock.now());
    EXPECT_TRUE(h.take().empty()) << "same rules: nothing to publish";
    auto renamed = std::make_shared<RuleSet>(loadRuleSet(std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json"));
    renamed->rules[0].entities[0].name = "Air temperature";
    std::swap(renamed->rules[0].entities[0], renamed->rules[0].entities[1]);  // order changes, ids stay
    h.engine->replaceRules(renamed, h.clock.now());
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    json p = json::parse(out[0].payload);
    EXPECT_EQ(p["components"]["temperature"]["name"], "Air temperature");
    EXPECT_EQ(p["components"].size(), 2u);
}

TEST(HaEngine, RuleRemovedWhileTheBrokerWasDownClearsItsConfigsAtStart) {
    std::string snap;
    {
        Harness h(std::string(CONF_DIR) + "/hadiscovery/warehouse-rules.json");
        h.send("entrepot/nord/s1/v1", R"({"temp":1,"hum":2,"alert_level":0})", "");
        h.take();
        snap = h.engine->takeSnapshotIfChanged();
    }
    LoadedState state = parseState(snap, "test", 64 << 20, 1000, 64 << 20);
    Harness h(kIp, {}, &state);  // the warehouse rules are gone
    h.engine->onTimers(h.clock.now());
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, "homeassistant/device/entrepot_sensor_nord_s1/config");
    EXPECT_EQ(out[0].payload, "");
    EXPECT_EQ(h.engine->inventory().configCount(), 0u);
}

// Broker start: a device saved in the state file gets its configs again from the start-up pass, before it
// speaks (the broker may have lost the retained copies), with the name its payload gave and the entities
// and inferred sensors it had; its first message afterwards publishes nothing new.
TEST(HaEngine, SavedDevicesAreRepublishedAtStartBeforeTheySpeak) {
    std::string snap, published_ip, published_dht;
    {
        Harness h;
        h.send("ipwatch/device/10.0.0.5/status", R"({"hostname":"web-1","cpu_percent":12.5})");
        auto out = h.take();
        ASSERT_EQ(out.size(), 2u);
        published_ip = out[1].payload;
        snap = h.engine->takeSnapshotIfChanged();
    }
    {
        Harness h(std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json");
        h.send("dht11/sensor/data", R"({"temperature":21.5,"humidity":40,"pressure":1013.2})", "dht");
        auto out = h.take();
        ASSERT_EQ(out.size(), 1u);
        published_dht = out[0].payload;
        ASSERT_NE(published_dht.find("pressure"), std::string::npos) << "inferred from the field name";
        const std::string dht_snap = h.engine->takeSnapshotIfChanged();
        LoadedState state = parseState(dht_snap, "test", 64 << 20, 1000, 64 << 20);
        ASSERT_EQ(state.devices.size(), 1u);
        Harness again(std::string(CONF_DIR) + "/hadiscovery/dht11-rules.json", {{"republish_jitter", "0s"}}, &state);
        again.engine->scheduleRepublishAll(again.clock.now(), true);
        again.clock.advance(1s);
        again.engine->onTimers(again.clock.now());
        out = again.take();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].payload, published_dht) << "inferred sensors restored";
    }
    LoadedState state = parseState(snap, "test", 64 << 20, 1000, 64 << 20);
    ASSERT_EQ(state.devices.size(), 1u);
    EXPECT_EQ(state.devices[0].name, "web-1");
    Harness h(kIp, {{"republish_jitter", "0s"}}, &state);
    EXPECT_EQ(h.engine->deviceCount(), 1u);
    EXPECT_EQ(h.metric("devices"), 1);
    EXPECT_TRUE(h.take().empty()) << "nothing before the first timer run";
    h.engine->scheduleRepublishAll(h.clock.now(), true);
    h.clock.advance(1s);
    h.engine->onTimers(h.clock.now());
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, kDeviceTopic);
    EXPECT_TRUE(out[0].retain);
    EXPECT_EQ(out[0].payload, published_ip) << "same config as before the restart, name from the old payload";
    h.send("ipwatch/device/10.0.0.5/status", R"({"hostname":"web-1","cpu_percent":13})");
    out = h.take();
    ASSERT_EQ(out.size(), 1u) << "only the availability: the config went out already";
    EXPECT_EQ(out[0].payload, "online");
}

// Saved devices follow the current rules file: a record whose rule is gone or whose topic no longer gives
// its id is not restored; a rule's renamed entity set keeps the ids that still exist.
TEST(HaEngine, SavedDevicesFollowTheCurrentRules) {
    LoadedState state{Inventory(1 << 20), UserDeletions(10, 1 << 16)};
    state.devices.push_back({"ipwatch_10_0_0_5", "ipwatch", "ipwatch/device/10.0.0.5/status", "web-1",
                             {"cpu", "no-such-entity"}, {}, 0});
    state.devices.push_back({"ipwatch_10_0_0_6", "gone-rule", "ipwatch/device/10.0.0.6/status", "", {"cpu"}, {}, 0});
    state.devices.push_back({"not_the_id", "ipwatch", "ipwatch/device/10.0.0.7/status", "", {"cpu"}, {}, 0});
    Harness h(kIp, {{"republish_jitter", "0s"}}, &state);
    EXPECT_EQ(h.engine->deviceCount(), 1u);
    h.engine->scheduleRepublishAll(h.clock.now(), true);
    h.clock.advance(1s);
    h.engine->onTimers(h.clock.now());
    auto out = h.take();
    ASSERT_EQ(out.size(), 1u);
    json p = json::parse(out[0].payload);
    EXPECT_EQ(p["device"]["name"], "web-1");
    EXPECT_TRUE(p["components"].contains("cpu"));
    EXPECT_FALSE(p["components"].contains("memory")) << "not shown by the device before";
}

}  // namespace
