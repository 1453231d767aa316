// Fuzz target: the Home Assistant discovery engine (plugins/hadiscovery/engine.*) fed arbitrary topics and
// payloads under the three shipped rule sets (conf/hadiscovery/{ipwatch,warehouse,dht11}-rules.json), one
// engine per rule set and discovery form, living for the whole run. Input: messages "topic NUL payload NUL";
// before each, one control byte advances the fake clock (0..63 s) and picks the engine, the sending client,
// a disconnect, a birth re-publish or a user deletion (an empty retained config on a topic the engine
// published). What a client publishes must never make the plugin publish an invalid topic or a config
// that breaks Home Assistant's contract.
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "hadiscovery/config.hpp"
#include "hadiscovery/engine.hpp"
#include "hadiscovery/rules.hpp"

namespace {

using namespace mqs::hadiscovery;

struct Instance {
    Config config;
    std::unique_ptr<DiscoveryEngine> engine;
    std::vector<std::string> published;  // config topics seen, for user deletions
};

struct World {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    std::vector<Instance> instances;

    World() {
        for (const char* file : {"conf/hadiscovery/ipwatch-rules.json", "conf/hadiscovery/warehouse-rules.json",
                                 "conf/hadiscovery/dht11-rules.json"}) {
            auto rules = std::make_shared<const RuleSet>(parseRuleSet(mqs::fuzz::readSourceFile(file), file));
            for (const char* mode : {"device", "entity"}) {
                Instance in;
                in.config = parseConfig({{"rules_file", mqs::fuzz::sourcePath(file)},
                                         {"discovery_mode", mode},
                                         {"max_new_devices", "20"},
                                         {"max_state_bytes", "65536"}});
                in.engine = std::make_unique<DiscoveryEngine>(
                    rules, in.config, clock, metrics, LoadedState{Inventory(1 << 20), UserDeletions(100, 1 << 16)}, 1);
                instances.push_back(std::move(in));
            }
        }
    }
};

void checkOutbox(Instance& in) {
    for (const auto& out : in.engine->outbox()) {
        FUZZ_CHECK(mqs::fuzz::isPublishTopic(out.topic), "invalid topic published: " + out.topic);
        if (out.topic.rfind(in.config.discovery_prefix + "/", 0) != 0 || out.payload.empty()) continue;
        const auto payload = nlohmann::json::parse(out.payload, nullptr, false);
        FUZZ_CHECK(!payload.is_discarded(), "config is not JSON: " + out.payload);
        const auto problems = checkDiscoveryMessage(in.config.discovery_prefix, out.topic, payload,
                                                    in.config.discovery_mode);
        FUZZ_CHECK(problems.empty(), out.topic + ": " + (problems.empty() ? "" : problems.front()));
        if (in.published.size() < 64) in.published.push_back(out.topic);
    }
    in.engine->outbox().clear();
    in.engine->notes().clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static World world;
    std::string_view rest = mqs::fuzz::asText(data, size);
    while (!rest.empty()) {
        const auto control = static_cast<unsigned char>(rest[0]);
        rest.remove_prefix(1);
        world.clock.advance(std::chrono::seconds(control & 63));
        Instance& in = world.instances[control % world.instances.size()];
        const char* client = (control & 64) ? "agent-a" : "agent-b";
        auto parts = mqs::fuzz::splitParts(rest, 3);
        rest = parts[2];
        const auto now = world.clock.now();
        if ((control & 0xC0) == 0xC0) in.engine->onDisconnect(client);
        if (control % 37 == 0) in.engine->scheduleRepublishAll(now);
        if (control % 29 == 0 && !in.published.empty()) {
            // Home Assistant deletes what it was shown: an empty retained message on a config topic.
            in.engine->onMessage("home-assistant", in.published[control % in.published.size()], "", 0, true, now);
        }
        if (mqs::fuzz::isPublishTopic(parts[0])) {
            in.engine->onMessage(client, parts[0], parts[1].data(), parts[1].size(), (control & 128) != 0, now);
        }
        in.engine->onTimers(now);
        checkOutbox(in);
        (void)in.engine->takeSnapshotIfChanged();
    }
    return 0;
}
