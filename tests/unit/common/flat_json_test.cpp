// FlatJsonObject: what it accepts and refuses, and a differential check against simdjson: whatever
// the scanner accepts, simdjson parses to the same members, types and values.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/flat_json.hpp"
#include "common/json_payload.hpp"

using namespace mqs;
using Kind = FlatJsonMember::Kind;

namespace {

TEST(FlatJson, ReadsTheWarehousePayload) {
    FlatJsonObject obj;
    ASSERT_TRUE(obj.scan(R"( {"timestamp":1732200000000, "temp" : 23.1,"hum":44.0,"alert_level":0,"on":true,"off":false,"x":null,"s":"nord"} )"));
    ASSERT_EQ(obj.size(), 8u);
    EXPECT_EQ(obj.find("timestamp")->kind, Kind::Integer);
    EXPECT_EQ(obj.find("timestamp")->integer(), 1732200000000);
    EXPECT_EQ(obj.find("temp")->kind, Kind::Decimal);
    EXPECT_EQ(obj.find("temp")->text, "23.1");
    EXPECT_EQ(obj.find("temp")->number(), 23.1);
    EXPECT_EQ(obj.find("hum")->text, "44.0");
    EXPECT_EQ(obj.find("on")->kind, Kind::True);
    EXPECT_EQ(obj.find("off")->kind, Kind::False);
    EXPECT_EQ(obj.find("x")->kind, Kind::Null);
    EXPECT_EQ(obj.find("s")->text, "nord");
    EXPECT_EQ(obj.find("nope"), nullptr);
    ASSERT_TRUE(obj.scan("{}"));
    EXPECT_EQ(obj.size(), 0u);
    ASSERT_TRUE(obj.scan(R"({"a":1,"a":2})"));
    EXPECT_EQ(obj.find("a")->integer(), 1) << "first of duplicates, like simdjson";
    ASSERT_TRUE(obj.scan(R"({"n":-0.5,"m":-7,"z":0})"));
    EXPECT_EQ(obj.find("n")->number(), -0.5);
    EXPECT_EQ(obj.find("m")->integer(), -7);
}

TEST(FlatJson, RefusesWhatItLeavesToSimdjson) {
    FlatJsonObject obj;
    for (const char* text : {
             "", "23.1", "[1]", "\"s\"", R"({"a":{"b":1}})", R"({"a":[1]})", R"({"a":1e3})", R"({"a":1E3})",
             R"({"a":"x\"y"})", R"({"a\n":1})", "{\"a\":\"caf\xc3\xa9\"}", R"({"a":1,})", R"({"a":01})", R"({"a":.5})",
             R"({"a":1.})", R"({"a":+1})", R"({"a":1234567890123456789})", R"({"a":1} x)", R"({"a" 1})", R"({a:1})",
             R"({"a":tru})", R"({"a":nulls})", "{\"a\":\"tab\there\"}", R"({"a":1)", R"({"a":-})"}) {
        EXPECT_FALSE(obj.scan(text)) << text;
    }
    std::string many = "{";
    for (size_t i = 0; i <= FlatJsonObject::kMaxMembers; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
    EXPECT_FALSE(obj.scan(many + "}")) << "more than kMaxMembers";
}

// Random flat objects, then random byte edits of them: every text the scanner accepts must be read
// by simdjson to the same members.
std::string randomPayload(std::mt19937& rng) {
    static const char* values[] = {"0", "-0", "12", "-3", "23.1", "44.0", "-0.001", "123456789012345678", "1e5", "true",
                                   "false", "null", "\"nord\"", "\"\"", "\"a b,c=d\"", "{}", "[]", "1.7976931348623157",
                                   "0.30000000000000004", "99999999999999999.5"};
    static const char* keys[] = {"t", "temp", "hum", "alert_level", "", "a b", "t"};
    std::string s = rng() % 4 == 0 ? " {" : "{";
    const int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
        if (i) s += rng() % 3 == 0 ? " , " : ",";
        s += "\"" + std::string(keys[rng() % std::size(keys)]) + "\":" + values[rng() % std::size(values)];
    }
    s += "}";
    const int edits = static_cast<int>(rng() % 3);
    static const char alphabet[] = "{}[]\",:.-+0123456789eEtrufalsn \\\n\x01\xc3";
    for (int e = 0; e < edits && !s.empty(); ++e) {
        const size_t at = rng() % s.size();
        switch (rng() % 3) {
            case 0: s.erase(at, 1); break;
            case 1: s.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
            default: s[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        }
    }
    return s;
}

TEST(FlatJson, AcceptsOnlyWhatSimdjsonReadsTheSameWay) {
    std::mt19937 rng(20261122);
    JsonPayloadParser parser;
    FlatJsonObject obj;
    int accepted = 0;
    for (int i = 0; i < 200'000; ++i) {
        const std::string text = randomPayload(rng);
        if (!obj.scan(text)) continue;
        ++accepted;
        simdjson::dom::element root;
        std::string error;
        ASSERT_TRUE(parser.parse(text.data(), text.size(), root, error)) << text << ": " << error;
        ASSERT_TRUE(root.is_object()) << text;
        simdjson::dom::object o = root.get_object().value_unsafe();
        ASSERT_EQ(o.size(), obj.size()) << text;
        size_t k = 0;
        for (auto [key, value] : o) {
            const FlatJsonMember& m = obj[k++];
            ASSERT_EQ(m.key, key) << text;
            using T = simdjson::dom::element_type;
            switch (m.kind) {
                case Kind::Integer:
                    ASSERT_EQ(value.type(), T::INT64) << text;
                    ASSERT_EQ(m.integer(), value.get_int64().value_unsafe()) << text;
                    break;
                case Kind::Decimal: {
                    ASSERT_EQ(value.type(), T::DOUBLE) << text;
                    const double a = m.number(), b = value.get_double().value_unsafe();
                    ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0) << text;
                    break;
                }
                case Kind::String: ASSERT_EQ(m.text, value.get_string().value_unsafe()) << text; break;
                case Kind::True: ASSERT_TRUE(value.is_bool() && value.get_bool().value_unsafe()) << text; break;
                case Kind::False: ASSERT_TRUE(value.is_bool() && !value.get_bool().value_unsafe()) << text; break;
                case Kind::Null: ASSERT_TRUE(value.is_null()) << text; break;
            }
        }
    }
    EXPECT_GT(accepted, 20'000) << "the generator must exercise the accepting side too";
}

}  // namespace
