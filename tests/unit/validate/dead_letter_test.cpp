// Dead-letter envelope: fields, error pointers, text vs base64 payload, truncation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "validate/dead_letter.hpp"

using namespace mqs::validate;

namespace {

nlohmann::json envelopeFor(const std::string& payload, size_t limit = 1 << 20, bool will = false) {
    static Rule rule;
    rule.name = "telemetry";
    Message m;
    m.topic = "entrepot/nord/s1/v1";
    m.payload = payload.data();
    m.payload_length = payload.size();
    m.client_id = "sensor-1";
    m.qos = 1;
    m.will = will;
    Verdict v;
    v.outcome = Outcome::DeadLetter;
    v.deciding_rule = &rule;
    v.failures.push_back({"telemetry", "schema", "/temp", "\"hot\" is not of type number"});
    auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'732'200'000'123));
    return nlohmann::json::parse(buildDeadLetter(m, v, t, limit));
}

}  // namespace

TEST(DeadLetter, CarriesOriginAndErrors) {
    auto e = envelopeFor(R"({"temp":"hot"})");
    EXPECT_EQ(e["topic"], "entrepot/nord/s1/v1");
    EXPECT_EQ(e["client_id"], "sensor-1");
    EXPECT_TRUE(e["username"].is_null());
    EXPECT_EQ(e["rule"], "telemetry");
    EXPECT_EQ(e["received_at"], "2024-11-21T14:40:00.123Z");
    EXPECT_EQ(e["qos"], 1);
    EXPECT_EQ(e["errors"][0]["pointer"], "/temp");
    EXPECT_EQ(e["errors"][0]["check"], "schema");
    EXPECT_EQ(e["payload_encoding"], "utf8");
    EXPECT_EQ(e["payload"], R"({"temp":"hot"})");
    EXPECT_EQ(e["payload_truncated"], false);
    EXPECT_EQ(e["payload_size"], 14);
}

TEST(DeadLetter, BinaryPayloadIsBase64) {
    auto e = envelopeFor(std::string("\xff\x00\x01", 3));
    EXPECT_EQ(e["payload_encoding"], "base64");
    EXPECT_EQ(e["payload"], "/wAB");
}

TEST(DeadLetter, TruncatesAtCharacterBoundary) {
    auto e = envelopeFor("ab\xc3\xa9xyz", 3);  // the cut falls inside 'é'
    EXPECT_EQ(e["payload_encoding"], "utf8");
    EXPECT_EQ(e["payload"], "ab");
    EXPECT_EQ(e["payload_truncated"], true);
    EXPECT_EQ(e["payload_size"], 7);
}

TEST(DeadLetter, Base64Vectors) {
    EXPECT_EQ(base64Encode("", 0), "");
    EXPECT_EQ(base64Encode("f", 1), "Zg==");
    EXPECT_EQ(base64Encode("foobar", 6), "Zm9vYmFy");
}

TEST(DeadLetter, SaysWhetherTheMessageWasAWill) {
    EXPECT_EQ(envelopeFor("x")["will"], false);
    EXPECT_EQ(envelopeFor("x", 1 << 20, true)["will"], true);
}
