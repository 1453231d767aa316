// Broker-thread cost of mosquitto_alerts.so per message (docs/alerts.md, "Performance"): the engine's
// onMessage for the warehouse rules on 30 sensor topics, and the payload reading alone (simdjson's DOM
// parse, and the flat scan the engine uses for such payloads). Counter "instr": user instructions per call.
#include <benchmark/benchmark.h>

#include "bench/instruction_count.hpp"

#include <string>
#include <vector>

#include "alerts/engine.hpp"
#include "alerts/rules.hpp"

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
    mqs::bench::InstructionsPerIteration instructions;
    for (auto _ : state) {
        const std::string& p = w.payloads[i % w.payloads.size()];
        auto now = clock.now();
        benchmark::DoNotOptimize(engine.onMessage(w.topics[i % w.topics.size()], p.data(), p.size(), now));
        engine.onTimers(now);
        engine.outbox().clear();
        ++i;
    }
    instructions.report(state);
}
BENCHMARK(engineOnMessage);

void parseOnly(benchmark::State& state) {
    JsonPayloadParser parser;
    const Workload w = warehouse();
    simdjson::dom::element root;
    std::string error;
    size_t i = 0;
    mqs::bench::InstructionsPerIteration instructions;
    for (auto _ : state) {
        const std::string& p = w.payloads[i++ % w.payloads.size()];
        benchmark::DoNotOptimize(parser.parse(p.data(), p.size(), root, error));
    }
    instructions.report(state);
}
BENCHMARK(parseOnly);

// What the engine uses for these payloads instead of parseOnly (flat_json.hpp).
void flatScanOnly(benchmark::State& state) {
    FlatJsonObject flat;
    const Workload w = warehouse();
    size_t i = 0;
    mqs::bench::InstructionsPerIteration instructions;
    for (auto _ : state) {
        const std::string& p = w.payloads[i++ % w.payloads.size()];
        benchmark::DoNotOptimize(flat.scan(p));
    }
    instructions.report(state);
}
BENCHMARK(flatScanOnly);

}  // namespace

BENCHMARK_MAIN();
