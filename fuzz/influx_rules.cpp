// Fuzz target: the influx rules file (plugins/influx/rules.*), through parseMapping, the text entry
// point loadMapping uses. A mapping that loads is then used: one message per rule on a topic of its
// filter, so rules that load but fail at mapping time are found too.
#include <cstring>
#include <memory>

#include "fuzz/fuzz_support.hpp"
#include "influx/mapper.hpp"
#include "influx/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs;
    using namespace mqs::influx;
    std::shared_ptr<const Mapping> mapping;
    try {
        mapping =
            std::make_shared<const Mapping>(parseMapping(std::string(fuzz::asText(data, size)), "fuzz-influx.json"));
    } catch (const RulesError&) {
        return 0;
    } catch (const std::exception& e) {
        FUZZ_CHECK(!fuzz::strictErrors(), std::string("not a RulesError: ") + e.what());
        return 0;
    }
    MetricsRegistry metrics;
    Mapper mapper(mapping, Precision::Ns, MapperLimits{}, metrics);
    static const char* payloads[] = {"1.5",
                                     "{\"temp\":21.5,\"hum\":40,\"timestamp\":1732200000,\"s\":\"x\",\"b\":true}",
                                     "{\"a\":{\"b\":[1,2]},\"time\":\"2025-11-22T00:00:00Z\"}", "nope"};
    std::string line, reason;
    for (const auto& rule : mapping->rules) {
        std::string topic = rule.topic.filter();
        for (char& c : topic) {
            if (c == '+' || c == '#') c = 'x';
        }
        for (const char* p : payloads) {
            (void)mapper.map(topic, p, std::strlen(p), int64_t{1'763'769'600'000'000'000}, line, reason);
        }
    }
    return 0;
}
