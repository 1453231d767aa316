// The shared rules-file reader: every getter's wrong-type, missing and bad-value message (table-driven),
// unknown keys, nested paths, and file problems (missing file with its errno text, invalid JSON's position).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "common/rules_reader.hpp"

using namespace mqs;

namespace {

// The message of the RulesError that `read` throws on the root of `text`, or "accepted".
std::string errorOf(const std::string& text, const std::function<void(const RulesNode&)>& read) {
    try {
        RulesFile file = RulesFile::parse(text, "r.json");
        read(file.root());
        return "accepted";
    } catch (const RulesError& e) {
        return e.what();
    }
}

enum class Colour { Red, Green };

struct GetterCase {
    const char* name;
    const char* text;                           // the document; the getter reads its member "v"
    std::function<void(const RulesNode&)> get;  // reads root.get("v") with one getter
    const char* error;                          // the whole message, or "accepted"
};

std::ostream& operator<<(std::ostream& os, const GetterCase& c) {
    return os << c.name;
}

class Getters : public ::testing::TestWithParam<GetterCase> {};

TEST_P(Getters, ReportLocatedProblems) {
    EXPECT_EQ(errorOf(GetParam().text, GetParam().get), GetParam().error);
}

void str(const RulesNode& n) {
    n.get("v").string();
}
void boolean(const RulesNode& n) {
    n.get("v").boolean();
}
void qos(const RulesNode& n) {
    n.get("v").integer(0, 2);
}
void number(const RulesNode& n) {
    n.get("v").number();
}
void duration(const RulesNode& n) {
    n.get("v").duration();
}
void positive(const RulesNode& n) {
    n.get("v").positiveDuration();
}
void bytes(const RulesNode& n) {
    n.get("v").bytes();
}
void colour(const RulesNode& n) {
    n.get("v").choice<Colour>({{"red", Colour::Red}, {"green", Colour::Green}});
}
void name(const RulesNode& n) {
    n.get("v").ruleName();
}
void filter(const RulesNode& n) {
    n.get("v").topicFilter();
}
void topicTemplate(const RulesNode& n) {
    n.get("v").topicTemplate();
}
void outputTopic(const RulesNode& n) {
    n.get("v").outputTopic({"zone"});
}
void outputTemplate(const RulesNode& n) {
    n.get("v").outputTemplate({"zone"});
}
void path(const RulesNode& n) {
    n.get("v").jsonPath();
}
void array(const RulesNode& n) {
    n.get("v").elements();
}
void object(const RulesNode& n) {
    n.get("v").members();
}

INSTANTIATE_TEST_SUITE_P(
    Table, Getters,
    ::testing::Values(
        GetterCase{"StringOk", R"({"v":"x"})", str, "accepted"},
        GetterCase{"StringMissing", R"({})", str, "r.json: v: is required (a string)"},
        GetterCase{"StringWrongType", R"({"v":1})", str, "r.json: v: must be a string (not a whole number)"},
        GetterCase{"BoolOk", R"({"v":false})", boolean, "accepted"},
        GetterCase{"BoolWrongType", R"({"v":"true"})", boolean, "r.json: v: must be true or false (not a string)"},
        GetterCase{"IntegerOk", R"({"v":2})", qos, "accepted"},
        GetterCase{"IntegerAbove", R"({"v":3})", qos, "r.json: v: 3 is not a whole number from 0 to 2"},
        GetterCase{"IntegerBelow", R"({"v":-1})", qos, "r.json: v: -1 is not a whole number from 0 to 2"},
        GetterCase{"IntegerHuge", R"({"v":18446744073709551615})", qos,
                   "r.json: v: 18446744073709551615 is not a whole number from 0 to 2"},
        GetterCase{"IntegerFraction", R"({"v":1.5})", qos, "r.json: v: 1.5 is not a whole number from 0 to 2"},
        GetterCase{"IntegerWrongType", R"({"v":"1"})", qos,
                   "r.json: v: must be a whole number from 0 to 2 (not a string)"},
        GetterCase{"IntegerMissing", R"({})", qos, "r.json: v: is required (a whole number from 0 to 2)"},
        GetterCase{"NumberOk", R"({"v":-2.5e3})", number, "accepted"},
        GetterCase{"NumberWrongType", R"({"v":"30"})", number, "r.json: v: must be a number (not a string)"},
        GetterCase{"NumberNull", R"({"v":null})", number, "r.json: v: must be a number (not null)"},
        GetterCase{"DurationOk", R"({"v":"0s"})", duration, "accepted"},
        GetterCase{"DurationBadText", R"({"v":"soon"})", duration,
                   "r.json: v: 'soon' is not a duration such as 90s or 5m"},
        GetterCase{"DurationWrongType", R"({"v":90})", duration,
                   "r.json: v: must be a duration such as \"90s\" or \"5m\" (not a whole number)"},
        GetterCase{"PositiveDurationOk", R"({"v":"250ms"})", positive, "accepted"},
        GetterCase{"PositiveDurationZero", R"({"v":"0s"})", positive,
                   "r.json: v: '0s' is not a positive duration such as 90s or 5m"},
        GetterCase{"BytesNumber", R"({"v":4096})", bytes, "accepted"},
        GetterCase{"BytesText", R"({"v":"64KiB"})", bytes, "accepted"},
        GetterCase{"BytesBadText", R"({"v":"big"})", bytes,
                   "r.json: v: 'big' is not a byte count such as 4096 or 64KiB"},
        GetterCase{"BytesNegative", R"({"v":-1})", bytes,
                   "r.json: v: must be a byte count such as 4096 or \"64KiB\" (not a whole number)"},
        GetterCase{"ChoiceOk", R"({"v":"green"})", colour, "accepted"},
        GetterCase{"ChoiceUnknown", R"({"v":"blue"})", colour, "r.json: v: 'blue' is not one of: red, green"},
        GetterCase{"ChoiceWrongType", R"({"v":1})", colour,
                   "r.json: v: must be one of: red, green (not a whole number)"},
        GetterCase{"NameOk", R"({"v":"dht11-temp_1"})", name, "accepted"},
        GetterCase{"NameEmpty", R"({"v":""})", name, "r.json: v: must not be empty"},
        GetterCase{"NameSlash", R"({"v":"a/b"})", name,
                   "r.json: v: 'a/b' must not contain '/', '+', '#' or control characters (it names metric topics)"},
        GetterCase{"NamePlus", R"({"v":"a+"})", name,
                   "r.json: v: 'a+' must not contain '/', '+', '#' or control characters (it names metric topics)"},
        GetterCase{
            "NameNewline", R"({"v":"a\nb"})", name,
            "r.json: v: 'a\\x0ab' must not contain '/', '+', '#' or control characters (it names metric topics)"},
        GetterCase{"NameWrongType", R"({"v":["a"]})", name, "r.json: v: must be a string (not an array)"},
        GetterCase{"FilterOk", R"({"v":"a/+/#"})", filter, "accepted"},
        GetterCase{"FilterBad", R"({"v":"a/#/b"})", filter, "r.json: v: '#' must be the last level in 'a/#/b'"},
        GetterCase{"TemplateOk", R"({"v":"a/{zone}/+"})", topicTemplate, "accepted"},
        GetterCase{"TemplateWrongType", R"({"v":{}})", topicTemplate,
                   "r.json: v: must be a topic filter or template (not an object)"},
        GetterCase{"OutputTopicOk", R"({"v":"alerts/{zone}"})", outputTopic, "accepted"},
        GetterCase{"OutputTopicWildcard", R"({"v":"alerts/#"})", outputTopic,
                   "r.json: v: 'alerts/#' must be a non-empty topic without wildcards or a leading '$'"},
        GetterCase{"OutputTopicSys", R"({"v":"$SYS/x"})", outputTopic,
                   "r.json: v: '$SYS/x' must be a non-empty topic without wildcards or a leading '$'"},
        GetterCase{"OutputTemplateOk", R"({"v":"{zone} is hot"})", outputTemplate, "accepted"},
        GetterCase{"PathOk", R"({"v":"a.b[2]"})", path, "accepted"},
        GetterCase{"ArrayWrongType", R"({"v":"a/b"})", array, "r.json: v: must be an array (not a string)"},
        GetterCase{"ArrayMissing", R"({})", array, "r.json: v: is required (an array)"},
        GetterCase{"ObjectWrongType", R"({"v":[]})", object, "r.json: v: must be an object (not an array)"}),
    [](const ::testing::TestParamInfo<GetterCase>& p) { return std::string(p.param.name); });

// Messages from the template and path parsers are theirs; the reader only has to locate them.
TEST(RulesReader, ParserProblemsAreLocated) {
    EXPECT_EQ(errorOf(R"({"v":"{room}"})", outputTemplate).rfind("r.json: v: ", 0), 0u);
    EXPECT_EQ(errorOf(R"({"v":"a/{x"})", topicTemplate).rfind("r.json: v: ", 0), 0u);
    EXPECT_EQ(errorOf(R"({"v":"a[x"})", path).rfind("r.json: v: ", 0), 0u);
}

TEST(RulesReader, GettersReturnTheValues) {
    RulesFile file = RulesFile::parse(
        R"({"s":"x","b":true,"i":7,"n":2.5,"d":"5m","z":"64KiB","c":"green","t":"a/{zone}","o":"o/{zone}","p":"a.b"})",
        "r.json");
    RulesNode r = file.root();
    EXPECT_EQ(r.get("s").string(), "x");
    EXPECT_TRUE(r.get("b").boolean());
    EXPECT_EQ(r.get("i").integer(0, 10), 7);
    EXPECT_EQ(r.get("n").number(), 2.5);
    EXPECT_EQ(r.get("d").duration(), std::chrono::minutes(5));
    EXPECT_EQ(r.get("z").bytes(), 65536u);
    EXPECT_EQ(r.get("c").choice<Colour>({{"red", Colour::Red}, {"green", Colour::Green}}), Colour::Green);
    EXPECT_EQ(r.get("t").topicTemplate().captureNames(), std::vector<std::string>{"zone"});
    Captures captures;
    captures.set("zone", "nord");
    EXPECT_EQ(r.get("o").outputTopic({"zone"}).render(captures), "o/nord");
    EXPECT_EQ(r.get("p").jsonPath().text(), "a.b");
    EXPECT_TRUE(r.has("s"));
    EXPECT_FALSE(r.find("absent").has_value());
}

TEST(RulesReader, UnknownKeyIsRefusedListingTheKnownOnes) {
    auto check = [](const RulesNode& r) { r.checkObject({"rules", "match_policy"}); };
    EXPECT_EQ(errorOf(R"({"rules":[],"colour":1})", check), "r.json: colour: unknown key (known: rules, match_policy)");
    EXPECT_EQ(errorOf(R"({"rules":[]})", check), "accepted");
    EXPECT_EQ(errorOf(R"([])", check), "r.json: must be an object (not an array)");
}

TEST(RulesReader, NestedPathsAreNamed) {
    const char* text = R"({"rules":[{"levels":[]},{"levels":[{"above":1},{"above":"30"}]}]})";
    auto read = [](const RulesNode& r) {
        for (const auto& rule : r.get("rules").elements()) {
            for (const auto& level : rule.get("levels").elements()) level.get("above").number();
        }
    };
    EXPECT_EQ(errorOf(text, read), "r.json: rules[1].levels[1].above: must be a number (not a string)");
    auto unknown = [](const RulesNode& r) {
        r.get("rules").elements()[1].get("levels").elements()[0].checkObject({"below"});
    };
    EXPECT_EQ(errorOf(text, unknown), "r.json: rules[1].levels[0].above: unknown key (known: below)");
}

TEST(RulesReader, KeysThatAreNotPlainNamesAreQuoted) {
    auto read = [](const RulesNode& r) {
        for (const auto& [key, tag] : r.get("tags").members()) tag.string();
    };
    EXPECT_EQ(errorOf(R"({"tags":{"room name":1}})", read),
              "r.json: tags[\"room name\"]: must be a string (not a whole number)");
    EXPECT_EQ(errorOf(R"({"tags":{"a.b":1}})", read), "r.json: tags[\"a.b\"]: must be a string (not a whole number)");
    EXPECT_EQ(errorOf(R"({"tags":{"room_2-b":1}})", read),
              "r.json: tags.room_2-b: must be a string (not a whole number)");
}

TEST(RulesReader, BelowAnAbsentNodeEverythingIsAbsent) {
    auto read = [](const RulesNode& r) { r.get("disconnect_after").get("window").duration(); };
    EXPECT_EQ(errorOf("{}", read),
              "r.json: disconnect_after.window: is required (a duration such as \"90s\" or \"5m\")");
}

TEST(RulesReader, FailAtTheRootNamesOnlyTheFile) {
    EXPECT_EQ(errorOf("{}", [](const RulesNode& r) { r.fail("has no rules"); }), "r.json: has no rules");
}

TEST(RulesReader, ErrorKeepsItsParts) {
    try {
        RulesFile file = RulesFile::parse(R"({"rules":[{"qos":9}]})", "r.json");
        file.root().get("rules").elements()[0].get("qos").integer(0, 2);
        FAIL();
    } catch (const RulesError& e) {
        EXPECT_EQ(e.file(), "r.json");
        EXPECT_EQ(e.path(), "rules[0].qos");
        EXPECT_EQ(e.problem(), "9 is not a whole number from 0 to 2");
    }
}

struct FileCase {
    const char* name;
    const char* text;
    const char* error;  // the expected beginning of the message
};

std::ostream& operator<<(std::ostream& os, const FileCase& c) {
    return os << c.name;
}

class InvalidJson : public ::testing::TestWithParam<FileCase> {};

TEST_P(InvalidJson, NamesLineAndColumn) {
    std::string error = errorOf(GetParam().text, [](const RulesNode&) {});
    EXPECT_EQ(error.rfind(GetParam().error, 0), 0u) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidJson,
    ::testing::Values(FileCase{"Empty", "", "r.json: not valid JSON at line 1, column 1: "},
                      FileCase{"Truncated", "{", "r.json: not valid JSON at line 1, column 2: "},
                      FileCase{"ThirdLine", "{\n  \"a\": 1,\n  x}", "r.json: not valid JSON at line 3, column 3: "},
                      FileCase{"TrailingComma", "{\"rules\": [1,]\n}", "r.json: not valid JSON at line 1, column 14: "},
                      FileCase{"NumberOverflow", "{\"a\": 1e999}", "r.json: not valid JSON: "}),
    [](const ::testing::TestParamInfo<FileCase>& p) { return std::string(p.param.name); });

class TempFile {
public:
    TempFile() {
        std::string pattern = (std::filesystem::temp_directory_path() / "rules-reader-XXXXXX").string();
        dir_ = mkdtemp(pattern.data());
    }
    ~TempFile() { std::filesystem::remove_all(dir_); }
    std::filesystem::path write(const std::string& text) const {
        std::ofstream(dir_ / "rules.json") << text;
        return dir_ / "rules.json";
    }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

std::string readError(const std::filesystem::path& file) {
    try {
        RulesFile::read(file);
        return "accepted";
    } catch (const RulesError& e) {
        return e.what();
    }
}

TEST(RulesReader, MissingFileNamesThePathAndTheErrnoText) {
    EXPECT_EQ(readError("/nonexistent/rules.json"), "/nonexistent/rules.json: cannot open: No such file or directory");
}

TEST(RulesReader, DirectoryIsNotAFile) {
    TempFile tmp;
    EXPECT_EQ(readError(tmp.dir()), tmp.dir().string() + ": cannot read: Is a directory");
}

TEST(RulesReader, ReadsAFile) {
    TempFile tmp;
    auto path = tmp.write("{\"rules\": [\n  {\"name\": \"a\"}\n]}");
    RulesFile file = RulesFile::read(path);
    EXPECT_EQ(file.file(), path.string());
    EXPECT_EQ(file.root().get("rules").elements()[0].get("name").ruleName(), "a");
}

TEST(RulesReader, InvalidJsonInAFileNamesTheFileAndLine) {
    TempFile tmp;
    auto path = tmp.write("{\"rules\": [\n  {\"name\": \"a\",}\n]}");
    EXPECT_EQ(readError(path).rfind(path.string() + ": not valid JSON at line 2, column 16: ", 0), 0u)
        << readError(path);
}

}  // namespace
