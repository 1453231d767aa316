// Broker-thread cost of mosquitto_alerts.so per message (docs/alerts.md, "Performance"): the engine's
// onMessage for the warehouse rules on 30 sensor topics, and the same with the JSON parse alone.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "engine.hpp"
#include "rules.hpp"

namespace {

using namespace mqs;
using namespace mqs::alerts;

struct Workload {
    std::vector<std::string> topics;
    std::vector<std::string> payloads;  // timestamps differ, so no sample is a retransmission
};

Workload warehouse() {
    Workload w;
    for (const char* zone : {"nord", "sud", "est"}) {
        for (int s = 1; s <= 10; ++s) w.topics.push_back(std::string("entrepot/") + zone + "/s" + std::to_string(s) + "/v1");
    }
    for (int i = 0; i < 4096; ++i) {
        w.payloads.push_back(R"({"timestamp":)" + std::to_string(1732200000000LL + i) + R"(,"temp":2)" + std::to_string(i % 10) +
                             R"(.1,"hum":44.0,"alert_level":)" + std::to_string(i % 200 == 0 ? 1 : 0) + R"(,"version":1})");
    }
    return w;
}

void engineOnMessage(benchmark::State& state) {
    MetricsRegistry metrics;
    SystemClock clock;
    auto rules = std::make_shared<const RuleSet>(loadRuleSet(std::string(BENCH_SOURCE_DIR) + "/conf/alerts/warehouse-alerts.json"));
    AlertEngine engine(rules, EngineLimits{}, clock, metrics);
    const Workload w = warehouse();
    size_t i = 0;
    for (auto _ : state) {
        const std::string& p = w.payloads[i % w.payloads.size()];
        auto now = clock.now();
        benchmark::DoNotOptimize(engine.onMessage(w.topics[i % w.topics.size()], p.data(), p.size(), now));
        engine.onTimers(now);
        engine.outbox().clear();
        ++i;
    }
}
BENCHMARK(engineOnMessage);

void parseOnly(benchmark::State& state) {
    JsonPayloadParser parser;
    const Workload w = warehouse();
    simdjson::dom::element root;
    std::string error;
    size_t i = 0;
    for (auto _ : state) {
        const std::string& p = w.payloads[i++ % w.payloads.size()];
        benchmark::DoNotOptimize(parser.parse(p.data(), p.size(), root, error));
    }
}
BENCHMARK(parseOnly);

}  // namespace

BENCHMARK_MAIN();
