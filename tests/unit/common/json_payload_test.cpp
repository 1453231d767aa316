// Payload parsing limits: size, depth, UTF-8, numbers out of range — never a crash.
#include <gtest/gtest.h>

#include "common/json_payload.hpp"

using namespace mqs;

namespace {
std::string parseError(JsonPayloadParser& parser, const std::string& text) {
    simdjson::dom::element root;
    std::string error;
    return parser.parse(text.data(), text.size(), root, error) ? "" : error;
}
}  // namespace

TEST(JsonPayload, ParsesWarehousePayload) {
    JsonPayloadParser parser;
    std::string payload = R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";
    simdjson::dom::element root;
    std::string error;
    ASSERT_TRUE(parser.parse(payload.data(), payload.size(), root, error)) << error;
    double temp = 0;
    ASSERT_TRUE(jsonNumber(root["temp"].value(), temp));
    EXPECT_DOUBLE_EQ(temp, 23.1);
}

TEST(JsonPayload, RejectsBadInputWithReasons) {
    JsonPayloadParser parser(JsonLimits{1000, 8});
    // Our prefix, then simdjson's own words, which change between releases.
    EXPECT_EQ(parseError(parser, "{\"a\":").rfind("malformed JSON: ", 0), 0u);
    EXPECT_GT(parseError(parser, "{\"a\":").size(), std::string("malformed JSON: ").size());
    EXPECT_EQ(parseError(parser, "\"\xff\xfe\""), "invalid UTF-8");
    EXPECT_EQ(parseError(parser, std::string(20, '[') + std::string(20, ']')), "JSON nesting deeper than 8 levels");
    EXPECT_EQ(parseError(parser, std::string(1001, ' ')), "payload of 1001 bytes exceeds the JSON limit of 1000 bytes");
    EXPECT_EQ(parseError(parser, "1e400"), "JSON number out of range or malformed");
    EXPECT_EQ(parseError(parser, ""), "empty payload is not JSON");
}

TEST(JsonPayload, HundredThousandLevelsDoNotCrash) {
    JsonPayloadParser parser(JsonLimits{1 << 20, 64});
    std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    EXPECT_EQ(parseError(parser, deep), "JSON nesting deeper than 64 levels");
    EXPECT_EQ(parseError(parser, "[1]"), "");  // the parser is still usable afterwards
}

TEST(JsonPayload, PointerTokenEscaping) {
    EXPECT_EQ(escapeJsonPointerToken("a/b~c"), "a~1b~0c");
}
