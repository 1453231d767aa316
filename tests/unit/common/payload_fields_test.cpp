// PayloadFields: a table of payloads and paths (which reader answers, what it answers), the limits,
// and the dedup hashes alerts persists in its state file (their values must never change).
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "common/payload_fields.hpp"

using namespace mqs;

namespace {

struct Case {
    const char* payload;
    const char* path;
    std::optional<double> number;
    std::optional<std::string> string;
    bool has_hash;   // the field exists (any type)
    bool needs_dom;  // the flat scanner could not answer
};

const Case kCases[] = {
    // Flat payloads, top-level keys: the scanner answers, no DOM parse.
    {R"({"ts":1732200000,"temp":23.1,"ok":true,"id":"s1","n":null})", "temp", 23.1, {}, true, false},
    {R"({"ts":1732200000,"temp":23.1,"ok":true,"id":"s1","n":null})", "ts", 1732200000.0, {}, true, false},
    {R"({"ts":1732200000,"temp":23.1,"ok":true,"id":"s1","n":null})", "ok", 1.0, {}, true, false},
    {R"({"ok":false})", "ok", 0.0, {}, true, false},
    {R"({"ts":1732200000,"temp":23.1,"ok":true,"id":"s1","n":null})", "id", {}, "s1", true, false},
    {R"({"ts":1732200000,"temp":23.1,"ok":true,"id":"s1","n":null})", "n", {}, {}, true, false},
    {R"({"ts":1732200000,"temp":23.1})", "missing", {}, {}, false, false},
    {R"({"temp":"23.1"})", "temp", {}, "23.1", true, false},  // wrong type: a string is not a number
    {R"({"temp":-0.5})", "$.temp", -0.5, {}, true, false},    // "$.temp" is the same top-level key
    // Nested paths need the DOM, on flat and nested payloads alike.
    {R"({"a":{"b":[10,{"c":"x"}]},"t":1})", "a.b[0]", 10.0, {}, true, true},
    {R"({"a":{"b":[10,{"c":"x"}]},"t":1})", "a.b[1].c", {}, "x", true, true},
    {R"({"a":{"b":[10,{"c":"x"}]},"t":1})", "a.b[5]", {}, {}, false, true},
    {R"({"a":{"b":[10,{"c":"x"}]},"t":1})", "a", {}, {}, true, true},  // an object: hashable, not a number
    {R"({"t":1})", "t.x", {}, {}, false, true},
    // Top-level keys of payloads the scanner refuses: the DOM answers.
    {R"({"temp":2.5e1,"x":[1]})", "temp", 25.0, {}, true, true},
    {R"({"id":"caf\u00e9"})", "id", {}, "caf\xc3\xa9", true, true},
    {R"({"big":1234567890123456789})", "big", 1234567890123456789.0, {}, true, true},  // 19 digits
    // Out of range: simdjson refuses the integer and 1e400, so the payload is invalid JSON (no non-finite value).
    {R"({"big":123456789012345678901})", "big", {}, {}, false, true},
    {R"({"temp":1e400})", "temp", {}, {}, false, true},
    // Invalid JSON and non-objects.
    {R"({"temp":23.1)", "temp", {}, {}, false, true},
    {"23.1", "temp", {}, {}, false, true},
    {"", "temp", {}, {}, false, true},
    {R"([1,2])", "$", {}, {}, true, true},
};

TEST(PayloadFields, TableOfPayloadsAndPaths) {
    PayloadFields fields;
    for (const Case& c : kCases) {
        const JsonPath path = JsonPath::parse(c.path);
        const std::string payload = c.payload;
        SCOPED_TRACE(std::string(c.payload) + " at " + c.path);
        fields.reset(payload.data(), payload.size());
        EXPECT_EQ(fields.number(path), c.number);
        fields.reset(payload.data(), payload.size());
        auto s = fields.string(path);
        EXPECT_EQ(s ? std::optional<std::string>(std::string(*s)) : std::nullopt, c.string);
        fields.reset(payload.data(), payload.size());
        EXPECT_EQ(fields.hash(path, 7).has_value(), c.has_hash);
        EXPECT_EQ(fields.domParsed(), c.needs_dom);
    }
}

TEST(PayloadFields, ReadersRunAtMostOncePerMessageAndResetStartsOver) {
    PayloadFields fields;
    const std::string nested = R"({"a":{"v":1.5},"t":2})";
    fields.reset(nested.data(), nested.size());
    EXPECT_EQ(fields.number(JsonPath::parse("t")), 2.0);
    EXPECT_TRUE(fields.domParsed());  // "t" is top-level but the scanner refuses the nested object
    simdjson::dom::element first, second;
    ASSERT_TRUE(fields.dom(first));
    EXPECT_EQ(fields.number(JsonPath::parse("a.v")), 1.5);
    ASSERT_TRUE(fields.dom(second));
    EXPECT_EQ(simdjson::minify(first), simdjson::minify(second));
    EXPECT_EQ(fields.flat(), nullptr);

    const std::string flat = R"({"t":3})";
    fields.reset(flat.data(), flat.size());
    EXPECT_FALSE(fields.domParsed());
    ASSERT_NE(fields.flat(), nullptr);
    EXPECT_EQ(fields.number(JsonPath::parse("t")), 3.0);
    EXPECT_FALSE(fields.domParsed());
}

TEST(PayloadFields, SizeAndDepthLimits) {
    PayloadFields fields(JsonLimits{.max_bytes = 16, .max_depth = 3});
    const std::string big = R"({"t":1,"pad":"xxxxxxxx"})";  // flat, but over 16 bytes: neither reader takes it
    fields.reset(big.data(), big.size());
    EXPECT_EQ(fields.flat(), nullptr);
    EXPECT_EQ(fields.number(JsonPath::parse("t")), std::nullopt);
    simdjson::dom::element root;
    EXPECT_FALSE(fields.dom(root));
    EXPECT_NE(fields.domError().find("16"), std::string::npos) << fields.domError();

    const std::string deep = R"({"a":{"b":{"c":1}}})";  // 4 levels > 3
    PayloadFields shallow(JsonLimits{.max_bytes = 1024, .max_depth = 3});
    shallow.reset(deep.data(), deep.size());
    EXPECT_EQ(shallow.number(JsonPath::parse("a.b.c")), std::nullopt);
    EXPECT_FALSE(shallow.domError().empty());
}

TEST(PayloadFields, PlainNumberPayloads) {
    PayloadFields fields;
    const struct {
        const char* text;
        std::optional<double> value;
    } cases[] = {{"21.5", 21.5},          {" -3 \r\n", -3.0},         {"+4", 4.0},
                 {"1e3", 1000.0},         {"", std::nullopt},         {"abc", std::nullopt},
                 {"1e400", std::nullopt}, {"nan", std::nullopt},      {"inf", std::nullopt},
                 {"1 2", std::nullopt},   {"{\"v\":1}", std::nullopt}};
    for (const auto& c : cases) {
        const std::string text = c.text;
        fields.reset(text.data(), text.size());
        EXPECT_EQ(fields.plainNumber(), c.value) << c.text;
    }
    const std::string long_number = "1." + std::string(70, '0');
    fields.reset(long_number.data(), long_number.size());
    EXPECT_EQ(fields.plainNumber(), std::nullopt);
}

// Values pinned from the hashes alerts used before PayloadFields: they are in state files.
TEST(PayloadFields, DedupHashesAreStableAndEqualAcrossReaders) {
    constexpr uint64_t kSeed = 0x5eedf1e1dull;  // alerts' dedup seed
    const struct {
        const char* value;
        uint64_t hash;
    } pinned[] = {
        {"1732200000000", 0x6c51b1584ce0c5fcull},
        {"23.1", 0x81d9f3ee6cbb2aecull},
        {"\"2024-11-21T10:00:00Z\"", 0xd7b908436687b18aull},
        {"true", 0x13467cc0fe9486cbull},
        {"null", 0x8c90f8e1e1ccf443ull},
    };
    PayloadFields fields;
    simdjson::dom::parser dom;
    for (const auto& p : pinned) {
        const std::string flat_payload = std::string(R"({"ts":)") + p.value + "}";
        const std::string nested_payload = std::string(R"({"x":[1],"ts":)") + p.value + "}";  // DOM
        fields.reset(flat_payload.data(), flat_payload.size());
        const auto via_flat = fields.hash(JsonPath::parse("ts"), kSeed);
        EXPECT_FALSE(fields.domParsed());
        fields.reset(nested_payload.data(), nested_payload.size());
        const auto via_dom = fields.hash(JsonPath::parse("ts"), kSeed);
        EXPECT_TRUE(fields.domParsed());
        ASSERT_TRUE(via_flat && via_dom) << p.value;
        EXPECT_EQ(*via_flat, *via_dom) << p.value;
        EXPECT_EQ(*via_flat, p.hash) << p.value << " hashes to " << *via_flat;
    }
    // Objects by their minified text, and the seed matters.
    const std::string a = R"({"ts":{"s": 1}})", b = R"({"ts":{"s":1}})";
    fields.reset(a.data(), a.size());
    const auto ha = fields.hash(JsonPath::parse("ts"), kSeed);
    fields.reset(b.data(), b.size());
    EXPECT_EQ(ha, fields.hash(JsonPath::parse("ts"), kSeed));
    EXPECT_NE(ha, fields.hash(JsonPath::parse("ts"), kSeed + 1));
    EXPECT_EQ(fnv1a("abc"), 0xe16801510db89efdull);  // pinned like the above
}

}  // namespace
