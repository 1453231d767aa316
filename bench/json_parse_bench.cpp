// Micro-benchmarks behind the "one parser per plugin, no shared parse cache" decision and the
// per-message cost of mosquitto_validate.so's logic (docs/validate.md, "Performance").
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "common/json_payload.hpp"
#include "validate/message_checker.hpp"

namespace {

const std::string kPayload = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";

void simdjsonParse(benchmark::State& state) {
    mqs::JsonPayloadParser parser;
    simdjson::dom::element root;
    std::string error;
    for (auto _ : state) {
        bool ok = parser.parse(kPayload.data(), kPayload.size(), root, error);
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(simdjsonParse);

void simdjsonParseAndReadFields(benchmark::State& state) {
    mqs::JsonPayloadParser parser;
    simdjson::dom::element root;
    std::string error;
    for (auto _ : state) {
        parser.parse(kPayload.data(), kPayload.size(), root, error);
        double temp = 0, hum = 0;
        mqs::jsonNumber(root["temp"].value_unsafe(), temp);
        mqs::jsonNumber(root["hum"].value_unsafe(), hum);
        benchmark::DoNotOptimize(temp + hum);
    }
}
BENCHMARK(simdjsonParseAndReadFields);

void nlohmannParse(benchmark::State& state) {
    for (auto _ : state) {
        auto doc = nlohmann::json::parse(kPayload);
        benchmark::DoNotOptimize(doc);
    }
}
BENCHMARK(nlohmannParse);

void schemaValidateWarehouse(benchmark::State& state) {
    using namespace mqs::validate;
    RuleSet rules = loadRuleSet(std::string(CONF_DIR) + "/validate/warehouse-rules.json");
    mqs::JsonPayloadParser parser;
    simdjson::dom::element root;
    std::string error;
    parser.parse(kPayload.data(), kPayload.size(), root, error);
    for (auto _ : state) {
        bool ok = rules.rules[0].schema->validate(root, nullptr, 0);
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(schemaValidateWarehouse);

// The whole per-message decision of the validate plugin on the warehouse rules: topic matching,
// parse, JSON Schema validation, metrics. What the broker thread pays per publish.
void validateWarehouseMessage(benchmark::State& state) {
    using namespace mqs::validate;
    Config config = parseConfig({{"rules_file", std::string(CONF_DIR) + "/validate/warehouse-rules.json"}});
    mqs::MetricsRegistry metrics;
    mqs::SystemClock clock;
    MessageChecker checker(config, std::make_shared<const RuleSet>(loadRuleSet(config.rules_file)), metrics, clock);
    Message message;
    message.topic = "entrepot/nord/s1/v1";
    message.payload = kPayload.data();
    message.payload_length = kPayload.size();
    message.client_id = "sensor-nord-1";
    Verdict verdict;
    for (auto _ : state) {
        checker.check(message, verdict);
        benchmark::DoNotOptimize(verdict.outcome);
    }
    if (verdict.outcome != Outcome::Pass) state.SkipWithError("the warehouse reading should pass");
}
BENCHMARK(validateWarehouseMessage);

}  // namespace

BENCHMARK_MAIN();
