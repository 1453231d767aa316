// JSON path selectors: table of paths against one document, and refused syntax.
#include <gtest/gtest.h>

#include "common/json_path.hpp"

using namespace mqs;

TEST(JsonPath, ResolvesKeysIndexesAndRoot) {
    simdjson::dom::parser parser;
    auto root = parser.parse(std::string(R"({"temp":23.1,"a":{"b":[10,{"c":"x"}]},"dotted.key":1})")).value();
    EXPECT_EQ(JsonPath::parse("temp").resolve(root)->get_double().value(), 23.1);
    EXPECT_EQ(JsonPath::parse("$.temp").resolve(root)->get_double().value(), 23.1);
    EXPECT_EQ(JsonPath::parse("a.b[0]").resolve(root)->get_int64().value(), 10);
    EXPECT_EQ(std::string_view(JsonPath::parse("a.b[1].c").resolve(root)->get_string().value()), "x");
    EXPECT_TRUE(JsonPath::parse("$").resolve(root)->is_object());
    EXPECT_TRUE(JsonPath::parse("$").isRoot());
    EXPECT_FALSE(JsonPath::parse("missing").resolve(root));
    EXPECT_FALSE(JsonPath::parse("a.b[5]").resolve(root));
    EXPECT_FALSE(JsonPath::parse("temp.x").resolve(root));
    EXPECT_FALSE(JsonPath::parse("a[0]").resolve(root));
}

TEST(JsonPath, RefusesBadSyntax) {
    for (const char* bad : {"a.", ".a", "a..b", "a[1", "a[x]", "a[]", "a[0]b"}) {
        EXPECT_THROW(JsonPath::parse(bad), std::invalid_argument) << bad;
    }
}
