// Line protocol encoding, table-driven: escaping of every position, number formats, sorted keys,
// skipped non-finite values and points without fields.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "influx/line_protocol.hpp"

using namespace mqs::influx;

namespace {

struct KeyCase {
    const char* name;
    std::string input;
    KeyKind kind;
    std::string expected;
    uint64_t control = 0, backslash = 0;
};

std::ostream& operator<<(std::ostream& os, const KeyCase& c) { return os << c.name; }

class EscapeKey : public ::testing::TestWithParam<KeyCase> {};

TEST_P(EscapeKey, MatchesTheProtocol) {
    const auto& c = GetParam();
    std::string out;
    EncodeStats stats;
    appendEscapedKey(out, c.input, c.kind, stats);
    EXPECT_EQ(out, c.expected);
    EXPECT_EQ(stats.control_replaced, c.control);
    EXPECT_EQ(stats.backslash_replaced, c.backslash);
    EXPECT_EQ(stats.hash_replaced, c.expected.rfind("\xEF\xBC\x83", 0) == 0 ? 1u : 0u);
}

const auto M = KeyKind::Measurement;
const auto T = KeyKind::TagOrFieldKey;

INSTANTIATE_TEST_SUITE_P(
    Table, EscapeKey,
    ::testing::Values(KeyCase{"plain", "entrepot", M, "entrepot"},
                      KeyCase{"measurement_space_comma", "a b,c", M, "a\\ b\\,c"},
                      KeyCase{"measurement_keeps_equals", "a=b", M, "a=b"},
                      KeyCase{"tag_space_comma_equals", "a b,c=d", T, "a\\ b\\,c\\=d"},
                      KeyCase{"quotes_are_literal", "say \"hi\"", T, "say\\ \"hi\""},
                      KeyCase{"inner_backslash_literal", "C:\\temp", T, "C:\\temp"},
                      KeyCase{"trailing_backslash", "C:\\", T, "C:\xEF\xBC\xBC", 0, 1},
                      KeyCase{"backslash_before_space", "a\\ b", T, "a\xEF\xBC\xBC\\ b", 0, 1},
                      KeyCase{"backslash_before_equals", "a\\=b", T, "a\xEF\xBC\xBC\\=b", 0, 1},
                      // influxd 1.6.7 stored `\,\=\ ` as a measurement as `＼,=＼ `: the backslash before '='
                      // was read as an escape although a measurement does not escape '='.
                      KeyCase{"backslash_before_equals_measurement", "a\\=b", M, "a\xEF\xBC\xBC=b", 0, 1},
                      KeyCase{"issue_capture_measurement", "\\,\\=\\ ", M, "\xEF\xBC\xBC\\,\xEF\xBC\xBC=\xEF\xBC\xBC\\ ", 0, 3},
                      KeyCase{"backslash_before_quote_measurement", "a\\\"b", M, "a\xEF\xBC\xBC\"b", 0, 1},
                      KeyCase{"backslash_before_quote_key", "a\\\"b", T, "a\xEF\xBC\xBC\"b", 0, 1},
                      KeyCase{"backslash_before_letter_measurement", "a\\b", M, "a\\b"},
                      KeyCase{"leading_hash_measurement", "#hash", M, "\xEF\xBC\x83hash"},
                      KeyCase{"inner_hash_measurement", "a#b", M, "a#b"},
                      KeyCase{"leading_hash_key", "#k", T, "#k"},
                      KeyCase{"double_backslash", "\\\\srv", T, "\xEF\xBC\xBC\\srv", 0, 1},
                      KeyCase{"newline", "a\nb", T, "a\\ b", 1},
                      KeyCase{"cr_tab_nul", std::string("a\r\t\0b", 5), T, "a\\ \\ \\ b", 3},
                      KeyCase{"backslash_before_newline", "a\\\n", T, "a\xEF\xBC\xBC\\ ", 1, 1},
                      KeyCase{"unicode_and_emoji", "z\xC3\xA9ro \xF0\x9F\x98\x80", T, "z\xC3\xA9ro\\ \xF0\x9F\x98\x80"}));

TEST(QuotedString, EscapesQuoteAndBackslashOnly) {
    struct Case {
        std::string in, out;
    } cases[] = {{"plain", "\"plain\""},
                 {"a \"b\"", "\"a \\\"b\\\"\""},
                 {"C:\\", "\"C:\\\\\""},
                 {"a,b=c d", "\"a,b=c d\""},
                 {"line\nnext", "\"line\nnext\""},
                 {"\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""}};
    for (const auto& c : cases) {
        std::string out;
        appendQuotedString(out, c.in);
        EXPECT_EQ(out, c.out) << c.in;
    }
}

TEST(Float, ShortestRoundTrip) {
    struct Case {
        double v;
        const char* out;
    } cases[] = {{20, "20"}, {20.1, "20.1"}, {-0.5, "-0.5"}, {1e20, "1e+20"}, {1.5e-7, "1.5e-07"}, {0.1 + 0.2, "0.30000000000000004"}};
    for (const auto& c : cases) {
        std::string out;
        appendFloat(out, c.v);
        EXPECT_EQ(out, c.out);
    }
}

TEST(LineBuilder, SortsKeysAndFormatsTypes) {
    LineBuilder b;
    b.reset("entrepot");
    b.tag("zone", "nord");
    b.tag("sensor", "s1");
    b.field("temp", 23.1);
    b.field("alert_level", int64_t{2});
    b.field("count", uint64_t{7});
    b.field("ok", true);
    b.field("note", std::string("a \"b\""));
    std::string out;
    EncodeStats stats;
    ASSERT_TRUE(b.finish(out, true, 1732200000000, stats));
    EXPECT_EQ(out, "entrepot,sensor=s1,zone=nord alert_level=2i,count=7u,note=\"a \\\"b\\\"\",ok=true,temp=23.1 1732200000000");
}

TEST(LineBuilder, SkipsNonFiniteAndEmptyTagsAndRefusesPointsWithoutFields) {
    LineBuilder b;
    EncodeStats stats;
    std::string out;
    b.reset("m");
    b.tag("empty", "");
    b.field("a", std::numeric_limits<double>::quiet_NaN());
    b.field("b", std::numeric_limits<double>::infinity());
    b.field("c", 1.0);
    ASSERT_TRUE(b.finish(out, false, 0, stats));
    EXPECT_EQ(out, "m c=1");
    EXPECT_EQ(stats.nonfinite_skipped, 2u);
    EXPECT_EQ(stats.empty_tags_skipped, 1u);

    out = "keep";
    b.reset("m");
    b.field("a", -std::numeric_limits<double>::infinity());
    EXPECT_FALSE(b.finish(out, true, 1, stats));
    EXPECT_EQ(out, "keep") << "nothing appended for a point without fields";
}

TEST(LineBuilder, ReusedAcrossMessagesWithoutLeftovers) {
    LineBuilder b;
    EncodeStats stats;
    std::string out;
    b.reset("m");
    b.tag("t", "1");
    b.field("x", 1.0);
    b.field("y", 2.0);
    ASSERT_TRUE(b.finish(out, true, 5, stats));
    out.clear();
    b.reset("n");
    b.field("z", int64_t{-3});
    ASSERT_TRUE(b.finish(out, true, 6, stats));
    EXPECT_EQ(out, "n z=-3i 6");
}

TEST(LineBuilder, DuplicateKeysKeepOne) {
    LineBuilder b;
    EncodeStats stats;
    std::string out;
    b.reset("m");
    b.tag("t", "a");
    b.tag("t", "b");
    b.field("x", 1.0);
    b.field("x", 2.0);
    ASSERT_TRUE(b.finish(out, false, 0, stats));
    EXPECT_EQ(out.find("t=a"), 2u);
    EXPECT_EQ(out.find("t=b"), std::string::npos);
    EXPECT_EQ(std::count(out.begin(), out.end(), '='), 2);
}

}  // namespace
