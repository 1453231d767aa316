// Fuzz target: the influx mapping of topic + payload to line protocol (plugins/influx/mapper.*), with
// the sample rules (conf/influx/warehouse-rules.json) plus rules for every other field and timestamp
// form. Input: topic NUL payload. A mapped line stays within the line limit, its series on one line.
#include <memory>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "influx/mapper.hpp"
#include "influx/rules.hpp"

namespace {

// Rules not in the sample: every type pinned, nested paths, payload tags, rfc3339 and unit timestamps.
const char* kExtraRules = R"([
  {"name": "typed", "topic": "t/{zone}/typed", "measurement": "{zone}_m",
   "tags": {"zone": "{zone}", "id": {"path": "id"}},
   "fields": {"i": {"path": "i", "type": "integer"}, "u": {"path": "u", "type": "unsigned"},
              "b": {"path": "b", "type": "boolean"}, "s": {"path": "s", "type": "string"},
              "f": {"path": "f", "type": "float"}, "deep": "a.b[1]"},
   "timestamp": {"path": "ts", "unit": "ms"}},
  {"name": "rfc", "topic": "t/{zone}/rfc", "measurement": "m", "timestamp": {"path": "time", "unit": "rfc3339"}},
  {"name": "all", "topic": "t/#", "measurement": "all", "timestamp": {"path": "ts", "unit": "auto", "when_missing": "receive"}}
])";

mqs::influx::Mapper& mapper() {
    using namespace mqs::influx;
    static mqs::MetricsRegistry metrics;
    static std::unique_ptr<Mapper> instance = [] {
        nlohmann::json doc = nlohmann::json::parse(mqs::fuzz::readSourceFile("conf/influx/warehouse-rules.json"));
        for (auto& rule : nlohmann::json::parse(kExtraRules)) doc["rules"].push_back(rule);
        auto mapping = std::make_shared<const Mapping>(parseMapping(doc.dump(), "fuzz-influx.json"));
        return std::make_unique<Mapper>(
            mapping, Precision::Ns, MapperLimits{.max_payload_bytes = 4096, .max_fields = 50, .max_line_bytes = 2048},
            metrics);
    }();
    return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs::influx;
    auto parts = mqs::fuzz::splitParts(mqs::fuzz::asText(data, size), 2);
    if (!mqs::fuzz::isPublishTopic(parts[0])) return 0;
    std::string line, reason;
    // Twice: the first call learns the topic, the second takes it from the per-topic cache.
    for (int round = 0; round < 2; ++round) {
        MapResult r =
            mapper().map(parts[0], parts[1].data(), parts[1].size(), int64_t{1'763'769'600'000'000'000}, line, reason);
        if (r == MapResult::Mapped) {
            FUZZ_CHECK(!line.empty() && line.size() <= 2048, "line size " + std::to_string(line.size()));
            // Newlines are legal inside quoted string fields, never in the series (measurement and tags).
            size_t series_end = 0;
            while (series_end < line.size() && line[series_end] != ' ') series_end += line[series_end] == '\\' ? 2 : 1;
            FUZZ_CHECK(line.find_first_of("\r\n") >= series_end, "line break in the series: " + line);
        }
    }
    return 0;
}
