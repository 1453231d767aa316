// Fuzz target: validate's dead-letter envelope (plugins/validate/dead_letter.*), built both from the
// verdict of the sample rules (conf/validate/warehouse-rules.json) and from failures made of the
// input. Input: limit byte, topic NUL client id NUL username NUL error text NUL payload. The
// envelope must be valid JSON whose payload is a prefix of the original, as text or base64.
#include <memory>

#include <nlohmann/json.hpp>

#include "validate/dead_letter.hpp"
#include "fuzz/fuzz_support.hpp"
#include "validate/message_checker.hpp"

namespace {

struct World {
    mqs::FakeClock clock;
    mqs::MetricsRegistry metrics;
    mqs::validate::Config config;
    std::unique_ptr<mqs::validate::MessageChecker> checker;

    World() {
        using namespace mqs::validate;
        const std::string rules = mqs::fuzz::sourcePath("conf/validate/warehouse-rules.json");
        config = parseConfig({{"rules_file", rules}, {"max_json_bytes", "64KiB"}, {"max_json_depth", "32"}});
        checker = std::make_unique<MessageChecker>(config, std::make_shared<const RuleSet>(loadRuleSet(rules)), metrics,
                                                   clock);
    }
};

std::string decodeBase64(const std::string& text) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        if (c == '=') break;
        size_t v = alphabet.find(c);
        FUZZ_CHECK(v != std::string::npos, "not base64: " + text);
        bits = (bits << 6) | static_cast<uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> count) & 0xFF));
        }
    }
    return out;
}

void checkEnvelope(const std::string& envelope, const mqs::validate::Message& m, size_t limit) {
    nlohmann::json doc = nlohmann::json::parse(envelope, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(!doc.is_discarded() && doc.is_object(), "envelope is not a JSON object: " + envelope);
    FUZZ_CHECK(doc["payload_size"] == m.payload_length, "payload_size");
    const std::string payload = doc["payload"].get<std::string>();
    const std::string copied = doc["payload_encoding"] == "base64" ? decodeBase64(payload) : payload;
    const std::string_view original(static_cast<const char*>(m.payload), m.payload_length);
    FUZZ_CHECK(copied.size() <= limit && original.substr(0, copied.size()) == copied,
               "payload is not a prefix of the original");
    FUZZ_CHECK(doc["payload_truncated"] == (copied.size() < m.payload_length), "payload_truncated");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs::validate;
    static World world;
    if (size == 0) return 0;
    const size_t limit = data[0] % 64;  // small limits cut payloads, also inside multi-byte characters
    auto parts = mqs::fuzz::splitParts(mqs::fuzz::asText(data + 1, size - 1), 5);
    if (!mqs::fuzz::isPublishTopic(parts[0])) return 0;

    Message m;
    m.topic = parts[0];
    m.client_id = parts[1];
    m.username = parts[2];
    m.has_username = !parts[2].empty();
    m.payload = parts[4].data();
    m.payload_length = parts[4].size();
    m.qos = data[0] % 3;
    m.retain = data[0] & 0x80;
    const auto received = world.clock.wallNow();

    Verdict verdict;
    world.checker->check(m, verdict);
    if (verdict.outcome == Outcome::DeadLetter) checkEnvelope(buildDeadLetter(m, verdict, received, limit), m, limit);

    Verdict made;
    made.outcome = Outcome::DeadLetter;
    made.deciding_rule = &world.checker->rules().rules.front();
    made.failures.push_back({std::string(parts[1]), "schema", std::string(parts[3]), std::string(parts[3])});
    checkEnvelope(buildDeadLetter(m, made, received, limit), m, limit);
    world.checker->forgetClient(m.client_id);
    return 0;
}
