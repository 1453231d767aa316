// Broker-thread cost of mosquitto_influx.so per message (docs/influx.md, "Performance"): mapping the
// warehouse payload to a line, and the whole onMessage (map + enqueue) with the server up and down.
#include <benchmark/benchmark.h>

#include "bench/instruction_count.hpp"

#include <unistd.h>

#include <filesystem>

#include "influx/forwarder.hpp"
#include "influx/mapper.hpp"
#include "influx/rules.hpp"

namespace {

using namespace mqs;
using namespace mqs::influx;

const std::string kPayload = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";

std::shared_ptr<const influx::Mapping> warehouse(const std::string& url) {
    auto m = loadMapping(std::string(BENCH_SOURCE_DIR) + "/conf/influx/warehouse-rules.json");
    m.sinks[0].url = url;
    return std::make_shared<const influx::Mapping>(std::move(m));
}

void mapWarehouseReading(benchmark::State& state) {
    MetricsRegistry metrics;
    Mapper mapper(warehouse("http://127.0.0.1:1"), Precision::Ms, MapperLimits{}, metrics);
    std::string line, reason;
    mqs::bench::InstructionsPerIteration instructions;
    for (auto _ : state) {
        auto r = mapper.map("entrepot/nord/s1/v1", kPayload.data(), kPayload.size(), 1'763'769'600'000'000'000, line, reason);
        benchmark::DoNotOptimize(r);
    }
    instructions.report(state);
}
BENCHMARK(mapWarehouseReading);

// The server is down (nothing listens): the worker spools, the broker thread only maps and enqueues.
// Argument journal:1 hands the line over through the sink's mmap journal (the default), 0 through the
// in-memory LineQueue: the difference is what crash safety costs the broker thread per message.
void onMessageServerDown(benchmark::State& state) {
    MetricsRegistry metrics;
    SystemClock clock;
    Config config;
    config.precision = Precision::Ms;
    config.spool_dir = (std::filesystem::temp_directory_path() / ("influx-bench-" + std::to_string(::getpid()))).string();
    config.pipeline.spool.fsync = FsyncPolicy::Never;
    config.pipeline.queue_lines = 1'000'000;
    config.pipeline.journal = state.range(0) != 0 ? JournalMode::On : JournalMode::Off;
    config.spool_full_policy = SpoolFullPolicy::Drop;
    {
        Forwarder forwarder(config, warehouse("http://127.0.0.1:1"), metrics, clock);
        std::string warning;
        mqs::bench::InstructionsPerIteration instructions;
        for (auto _ : state) {
            auto v = forwarder.onMessage("entrepot/nord/s1/v1", kPayload.data(), kPayload.size(), warning);
            benchmark::DoNotOptimize(v);
        }
        state.counters["dropped"] = static_cast<double>(metrics.get("sinks/entrepot/dropped_full").value());
        forwarder.stop();  // the workers' spooling of these points counts too
        instructions.report(state);
        forwarder.reports().drain([](Report&&) {});
    }
    std::filesystem::remove_all(config.spool_dir);
}
BENCHMARK(onMessageServerDown)->ArgName("journal")->Arg(0)->Arg(1)->Iterations(500000)->Repetitions(5);

}  // namespace

BENCHMARK_MAIN();
