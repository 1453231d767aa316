// Fuzz target: the alerts rules file (plugins/alerts/rules.*), through parseRuleSet, the text entry
// point loadRuleSet uses. A rule set that loads is then run: one message on a topic of each rule's
// filter, then its timers, so rules that load but misbehave at run time are found too.
#include <cstring>
#include <memory>

#include "alerts/engine.hpp"
#include "fuzz/fuzz_support.hpp"
#include "alerts/rules.hpp"

namespace {

// A topic the filter matches: '+' and '#' levels become "x".
std::string topicFor(const std::string& filter) {
    std::string topic;
    size_t start = 0;
    while (true) {
        size_t end = filter.find('/', start);
        std::string level = filter.substr(start, end == std::string::npos ? std::string::npos : end - start);
        topic += (level == "+" || level == "#") ? "x" : level;
        if (end == std::string::npos) break;
        topic += '/';
        start = end + 1;
    }
    return topic;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs;
    using namespace mqs::alerts;
    std::shared_ptr<const RuleSet> rules;
    try {
        rules =
            std::make_shared<const RuleSet>(parseRuleSet(std::string(fuzz::asText(data, size)), "fuzz-alerts.json"));
    } catch (const RulesError&) {
        return 0;
    } catch (const std::exception& e) {
        FUZZ_CHECK(!fuzz::strictErrors(), std::string("not a RulesError: ") + e.what());
        return 0;
    }
    FakeClock clock;
    MetricsRegistry metrics;
    AlertEngine engine(rules, EngineLimits{.max_devices = 100}, clock, metrics);
    static const char* payloads[] = {"1", "{\"value\":50,\"timestamp\":1}", "{\"temp\":40,\"alert_level\":2}", "oops"};
    for (const auto& rule : rules->rules) {
        for (const auto& t : rule.topics) {
            const std::string topic = topicFor(t.filter());
            for (const char* p : payloads) {
                engine.onMessage(topic, p, std::strlen(p));
                clock.advance(std::chrono::seconds(61));
                engine.onTimers();
            }
        }
    }
    clock.advance(std::chrono::hours(48));
    engine.onTimers();
    (void)engine.exportAll();
    return 0;
}
