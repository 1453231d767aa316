// Fuzz target: topic filters, topic templates and output templates (common/topic.*).
// Input: template-or-filter NUL topic NUL output-template. Checks that a parsed template matches
// exactly the topics its equivalent MQTT filter matches, and that captures are single levels.
#include <stdexcept>

#include "fuzz/fuzz_support.hpp"
#include "common/topic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs;
    auto parts = fuzz::splitParts(fuzz::asText(data, size), 3);
    const std::string_view pattern = parts[0], topic = parts[1], output = parts[2];

    const bool filter_ok = checkTopicFilter(pattern).empty();
    if (filter_ok) (void)topicMatchesFilter(pattern, topic);

    try {
        TopicTemplate t = TopicTemplate::parse(pattern);
        FUZZ_CHECK(checkTopicFilter(t.filter()).empty(),
                   "template " + std::string(pattern) + " gave filter " + t.filter());
        Captures captures;
        const bool matched = t.match(topic, &captures);
        FUZZ_CHECK(matched == topicMatchesFilter(t.filter(), topic),
                   "template " + std::string(pattern) + " vs its filter " + t.filter() + " on " + std::string(topic));
        FUZZ_CHECK(matched == t.match(topic), "match with and without captures");
        if (matched) {
            for (const auto& name : t.captureNames()) {
                auto value = captures.get(name);
                FUZZ_CHECK(value.has_value(), "capture " + name + " missing");
                FUZZ_CHECK(value->find('/') == std::string_view::npos, "capture " + name + " spans levels");
            }
        }
        std::vector<std::string> allowed = t.captureNames();
        allowed.push_back("rule");
        captures.set("rule", "r");
        OutputTemplate out = OutputTemplate::parse(output, allowed);
        (void)out.render(captures);
    } catch (const std::invalid_argument&) {
    }
    try {
        OutputTemplate out = OutputTemplate::parse(output, {"a", "b", "topic"});
        Captures values;
        values.set("a", topic);
        (void)out.render(values);  // "b" and "topic" unset: rendered somehow, never a crash
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
