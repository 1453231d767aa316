// Option table: parsing, defaults, unknown and duplicate keys, value notations.
#include <gtest/gtest.h>

#include "common/options.hpp"

using namespace mqs;

namespace {

OptionTable sampleTable() {
    OptionTable t;
    t.add({.key = "rules_file", .type = OptionType::String, .default_value = std::nullopt, .description = "rules", .required = true});
    t.add({.key = "interval", .type = OptionType::Duration, .default_value = "10s", .description = "d", .min = 0, .max = 3'600'000});
    t.add({.key = "count", .type = OptionType::Integer, .default_value = "3", .description = "n", .min = 1, .max = 10});
    t.add({.key = "mode", .type = OptionType::Enum, .default_value = "all", .description = "m", .choices = {"all", "any"}});
    t.add({.key = "limit", .type = OptionType::Size, .default_value = "1MiB", .description = "s"});
    t.add({.key = "flag", .type = OptionType::Bool, .default_value = "false", .description = "b"});
    return t;
}

std::string errorOf(const RawOptions& given) {
    try {
        sampleTable().parse(given);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Options, DefaultsAndPrefixedKeys) {
    auto v = sampleTable().parse({{"plugin_opt_rules_file", "/x.json"}});
    EXPECT_EQ(v.string("rules_file"), "/x.json");
    EXPECT_EQ(v.duration("interval"), std::chrono::seconds(10));
    EXPECT_EQ(v.integer("count"), 3);
    EXPECT_EQ(v.string("mode"), "all");
    EXPECT_EQ(v.bytes("limit"), 1024u * 1024u);
    EXPECT_FALSE(v.boolean("flag"));
}

struct BadOptionCase {
    RawOptions given;
    std::string expected;
};

std::ostream& operator<<(std::ostream& os, const BadOptionCase& c) { return os << c.expected; }

class BadOptions : public ::testing::TestWithParam<BadOptionCase> {};

TEST_P(BadOptions, NamesTheOptionAndProblem) {
    EXPECT_EQ(errorOf(GetParam().given), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadOptions,
    ::testing::Values(
        BadOptionCase{{}, "plugin_opt_rules_file: is required"},
        BadOptionCase{{{"rules_file", "a"}, {"colour", "red"}},
                      "plugin_opt_colour: unknown option (known options: rules_file, interval, count, mode, limit, flag)"},
        BadOptionCase{{{"rules_file", "a"}, {"rules_file", "b"}}, "plugin_opt_rules_file: given more than once"},
        BadOptionCase{{{"rules_file", "a"}, {"count", "11"}}, "plugin_opt_count: '11' is out of range [1, 10]"},
        BadOptionCase{{{"rules_file", "a"}, {"count", "3x"}}, "plugin_opt_count: '3x' is not an integer"},
        BadOptionCase{{{"rules_file", "a"}, {"mode", "some"}}, "plugin_opt_mode: 'some' is not one of: all, any"},
        BadOptionCase{{{"rules_file", "a"}, {"interval", "10 parsecs"}},
                      "plugin_opt_interval: '10 parsecs' is not a duration (examples: 500ms, 10s, 5m, 1h)"},
        BadOptionCase{{{"rules_file", "a"}, {"interval", "2h"}},
                      "plugin_opt_interval: '2h' is out of range [0, 3600000] milliseconds"},
        BadOptionCase{{{"rules_file", "a"}, {"limit", "12 apples"}},
                      "plugin_opt_limit: '12 apples' is not a size (examples: 4096, 64KiB, 10MB)"},
        BadOptionCase{{{"rules_file", "a"}, {"flag", "maybe"}}, "plugin_opt_flag: 'maybe' is not a boolean (true/false)"}));

TEST(Options, PathMustExist) {
    OptionTable t;
    t.add({.key = "file", .type = OptionType::Path, .default_value = std::nullopt, .description = "f", .required = true});
    EXPECT_THROW(t.parse({{"file", "/nonexistent/rules.json"}}), ConfigError);
    EXPECT_NO_THROW(t.parse({{"file", "/"}}));
}

TEST(Options, CustomCheck) {
    OptionTable t;
    t.add({.key = "name", .type = OptionType::String, .default_value = "x", .description = "n",
           .check = [](const std::string& v) { return v.find('/') != std::string::npos ? std::string("no slashes") : std::string(); }});
    try {
        t.parse({{"name", "a/b"}});
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.option(), "name");
        EXPECT_STREQ(e.what(), "plugin_opt_name: no slashes");
    }
}

TEST(Options, Notations) {
    EXPECT_EQ(parseDuration("250ms"), std::chrono::milliseconds(250));
    EXPECT_EQ(parseDuration("30"), std::chrono::seconds(30));
    EXPECT_EQ(parseDuration("5m"), std::chrono::minutes(5));
    EXPECT_EQ(parseDuration("1h"), std::chrono::hours(1));
    EXPECT_FALSE(parseDuration("-1s"));
    EXPECT_FALSE(parseDuration(""));
    EXPECT_EQ(parseSize("64KiB"), 65536u);
    EXPECT_EQ(parseSize("10MB"), 10'000'000u);
    EXPECT_FALSE(parseSize("99999999999999999999GiB"));
    EXPECT_EQ(parseBool("on"), true);
    EXPECT_EQ(parseInteger("-12"), -12);
}

TEST(Options, MarkdownListsEveryOption) {
    std::string md = sampleTable().markdown();
    EXPECT_NE(md.find("| `plugin_opt_rules_file` | string | required | rules |"), std::string::npos) << md;
    EXPECT_NE(md.find("| `plugin_opt_mode` | enum (all, any) | `all` | m |"), std::string::npos) << md;
}
