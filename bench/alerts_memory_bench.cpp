// Memory per tracked device of mosquitto_alerts' AlertEngine: feeds N distinct warehouse sensors
// through the shipped warehouse rules and reports heap bytes (mallinfo2) and RSS growth per device.
// --key-bytes N pads the sensor names so each device key (zone/sensor) is N bytes: memory as a function of key length.
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "alerts/engine.hpp"
#include "common/metrics.hpp"
#include "alerts/rules.hpp"
#include "alerts/state_store.hpp"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif

namespace {

long rssKb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return 0;
}

size_t heapBytes() {
    malloc_trim(0);
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;  // large vectors are mmapped: hblkhd, not uordblks
}

}  // namespace

int main(int argc, char** argv) {
    size_t devices = 100'000;
    std::string rules_file = std::string(BENCH_SOURCE_DIR) + "/conf/alerts/warehouse-alerts.json";
    double max_bytes = 0;  // 0: report only
    size_t key_bytes = 0;  // 0: natural keys (z<n>/sensor-<i>, 10-16 bytes)
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--devices")) devices = std::strtoull(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--rules")) rules_file = argv[i + 1];
        else if (!std::strcmp(argv[i], "--max-bytes")) max_bytes = std::strtod(argv[i + 1], nullptr);
        else if (!std::strcmp(argv[i], "--key-bytes")) key_bytes = std::strtoull(argv[i + 1], nullptr, 10);
        else {
            std::fprintf(stderr,
                         "usage: %s [--devices N] [--rules warehouse-alerts.json] [--max-bytes B] [--key-bytes N]\n",
                         argv[0]);
            return 2;
        }
    }
    using namespace mqs;
    auto rules = std::make_shared<const alerts::RuleSet>(alerts::loadRuleSet(rules_file));
    FakeClock clock;
    MetricsRegistry metrics;
    alerts::EngineLimits limits;
    limits.max_devices = devices;
    limits.max_key_bytes = std::max<size_t>(key_bytes, limits.max_key_bytes);
    // Build everything that exists regardless of device count first, so the delta is per-device state.
    auto engine = std::make_unique<alerts::AlertEngine>(rules, limits, clock, metrics);
    engine->enableChangeTracking();  // as with plugin_opt_state_file: the dirty list is part of the cost
    std::string topic, payload = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";
    engine->onMessage("entrepot/warmup/s0/v1", payload.data(), payload.size());
    engine->onMessage("entrepot/heartbeat/warmup", "ok", 2);

    const size_t heap_before = heapBytes();
    const long rss_before = rssKb();
    // Each warehouse sensor is tracked by two rules (alert_level and temp); zones by the heartbeat rule.
    size_t i = 0;
    while (engine->deviceCount() < devices) {
        std::string zone = "z" + std::to_string(i % 1000), sensor = "sensor-" + std::to_string(i);
        const size_t natural = zone.size() + 1 + sensor.size();
        if (key_bytes > natural) sensor.insert(0, key_bytes - natural, 'x');
        topic = "entrepot/" + zone + "/" + sensor + "/v1";
        engine->onMessage(topic, payload.data(), payload.size());
        ++i;
    }
    const size_t tracked = engine->deviceCount();
    const size_t heap_after = heapBytes();
    const long rss_after = rssKb();
    const double per_heap = static_cast<double>(heap_after - heap_before) / static_cast<double>(tracked);
    const double per_rss = static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(tracked);
    std::printf("alerts memory: %zu tracked (rule, device) pairs from %zu sensors, %u rules\n", tracked, i,
                static_cast<unsigned>(rules->rules.size()));
    std::printf("  fixed state struct: %zu bytes\n", alerts::AlertEngine::deviceStateBytes());
    if (key_bytes) std::printf("  sensor device keys: %zu bytes\n", key_bytes);
    std::printf("  heap (mallinfo2):   %.1f bytes per device\n", per_heap);
    std::printf("  RSS growth:         %.1f bytes per device\n", per_rss);
    std::printf("  timer heap entries: %zu\n", engine->timerCount());
    // With plugin_opt_state_file the writer thread keeps its own copy of every record (keys included).
    const size_t heap_before_writer = heapBytes();
    {
        alerts::StateWriter writer("/tmp/alerts_memory_bench.state", std::chrono::hours(1), 2 * devices + 10'000,
                                   engine->exportAll());
        const double per_writer =
            static_cast<double>(heapBytes() - heap_before_writer) / static_cast<double>(tracked);
        std::printf("  state writer copy:  %.1f bytes per device (with state_file)\n", per_writer);
        writer.stop();
    }
    if (max_bytes > 0 && per_heap > max_bytes) {
        std::fprintf(stderr, "alerts memory: %.1f bytes per device exceeds the %.0f-byte budget\n", per_heap, max_bytes);
        return 1;
    }
    return 0;
}
