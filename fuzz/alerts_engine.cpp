// Fuzz target: the alerts engine (plugins/alerts/engine.*) fed arbitrary topics and payloads, with the
// sample rules (conf/alerts/warehouse-alerts.json and dht11-alerts.json). Input: a sequence of
// messages, each "topic NUL payload NUL"; before each, one byte advances the fake clock (0..255 s) and
// also picks the sender (QoS, one of two clients, a disconnect) and, now and then, a republish of active alerts.
// One engine lives for the whole run, so state builds up across inputs like in a broker.
#include <memory>

#include <nlohmann/json.hpp>

#include "alerts/engine.hpp"
#include "fuzz/fuzz_support.hpp"
#include "alerts/rules.hpp"

namespace {

struct World {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    mqs::alerts::DisconnectCounts disconnects;
    std::unique_ptr<mqs::alerts::AlertEngine> engine;

    World() {
        using namespace mqs::alerts;
        nlohmann::json doc = nlohmann::json::parse(mqs::fuzz::readSourceFile("conf/alerts/warehouse-alerts.json"));
        const nlohmann::json more = nlohmann::json::parse(mqs::fuzz::readSourceFile("conf/alerts/dht11-alerts.json"));
        for (const auto& rule : more["rules"]) doc["rules"].push_back(rule);
        auto rules = std::make_shared<const RuleSet>(parseRuleSet(doc.dump(), "fuzz-alerts.json"));
        engine = std::make_unique<AlertEngine>(
            rules, EngineLimits{.max_devices = 1000, .json = {.max_bytes = 4096, .max_depth = 32}}, clock, metrics);
        engine->enableChangeTracking();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static World world;
    auto& engine = *world.engine;
    std::string_view rest = mqs::fuzz::asText(data, size);
    while (!rest.empty()) {
        const auto control = static_cast<unsigned char>(rest[0]);
        world.clock.advance(std::chrono::seconds(control));
        rest.remove_prefix(1);
        const char* client = (control & 4) ? "a" : "b";
        if ((control & 24) == 24) world.disconnects.onDisconnect(client);
        if (control % 31 == 0) engine.startRepublish();
        auto parts = mqs::fuzz::splitParts(rest, 3);
        rest = parts[2];
        if (!mqs::fuzz::isPublishTopic(parts[0])) continue;
        engine.onMessage(parts[0], parts[1].data(), parts[1].size(), world.clock.now(),
                         world.disconnects.origin(client, static_cast<uint8_t>(control % 3)));
        engine.onTimers();
        engine.republishSome(50);
        for (const auto& alert : engine.outbox()) {
            FUZZ_CHECK(!alert.topic.empty(), "alert without a topic");
            FUZZ_CHECK(alert.topic.find_first_of("+#") == std::string::npos, "wildcard in alert topic " + alert.topic);
            FUZZ_CHECK(alert.payload.empty() || nlohmann::json::accept(alert.payload),
                       "alert payload is not JSON: " + alert.payload);
        }
        engine.outbox().clear();
    }
    (void)engine.takeDirty(100);
    return 0;
}
