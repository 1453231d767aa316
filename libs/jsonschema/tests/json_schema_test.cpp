// Unit tests for the JSON Schema engine (libs/jsonschema/json_schema.*): error pointers and messages,
// regex safety, $ref handling, draft differences, limits, formats and the allocation-free hot path.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "jsonschema/json_schema.hpp"

// Counts heap allocations so a test can prove validate() allocates nothing on the success path.
// A replacement operator new is global by definition, hence this one piece of global state.
// Sanitizer builds keep their own allocator (it tracks new/free pairing), so counting is off there.
#if defined(__SANITIZE_ADDRESS__)
#define JSON_SCHEMA_TEST_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSON_SCHEMA_TEST_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef JSON_SCHEMA_TEST_COUNT_ALLOCATIONS
#define JSON_SCHEMA_TEST_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<size_t> gAllocations{0};
}  // namespace

#if JSON_SCHEMA_TEST_COUNT_ALLOCATIONS
void* operator new(std::size_t size) {
    gAllocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
// GCC flags free() on memory from operator new, not knowing this operator new uses malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop
#endif

namespace {

using mqs::jsonschema::CompiledSchema;
using mqs::jsonschema::CompileOptions;
using mqs::jsonschema::Draft;
using mqs::jsonschema::SchemaError;
using mqs::jsonschema::SchemaLoadError;
using mqs::jsonschema::SchemaStore;
using nlohmann::json;

// Owns a simdjson parser so the element stays valid for the test's lifetime.
class Instance {
public:
    explicit Instance(const std::string& text, size_t maxDepth = simdjson::DEFAULT_MAX_DEPTH) {
        auto error = parser_.allocate(text.size() + simdjson::SIMDJSON_PADDING, maxDepth);
        if (!error) error = parser_.parse(text).get(element_);
        if (error) ADD_FAILURE() << "bad test JSON: " << simdjson::error_message(error) << ": " << text.substr(0, 200);
    }
    simdjson::dom::element element() const { return element_; }

private:
    simdjson::dom::parser parser_;
    simdjson::dom::element element_;
};

std::shared_ptr<const CompiledSchema> compile(const std::string& schema, Draft draft = Draft::Draft7) {
    SchemaStore store;
    CompileOptions options;
    options.defaultDraft = draft;
    return CompiledSchema::compile(json::parse(schema), "file:///test/schema.json", store, options);
}

std::vector<SchemaError> errorsOf(const std::string& schema, const std::string& instance, size_t maxErrors = 10) {
    std::vector<SchemaError> errors;
    Instance doc(instance);
    compile(schema)->validate(doc.element(), &errors, maxErrors);
    return errors;
}

bool isValid(const std::string& schema, const std::string& instance, Draft draft = Draft::Draft7) {
    Instance doc(instance);
    return compile(schema, draft)->validate(doc.element());
}

std::string loadErrorOf(const std::string& schema, Draft draft = Draft::Draft7) {
    try {
        compile(schema, draft);
    } catch (const SchemaLoadError& e) {
        return e.what();
    }
    return "(no error)";
}

template <typename F>
double secondsFor(F&& f) {
    auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

constexpr const char* kWarehouseSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["timestamp", "temp", "hum"],
  "properties": {
    "timestamp": {"type": "integer", "minimum": 0},
    "temp": {"type": "number", "minimum": -40, "maximum": 40},
    "hum": {"type": "number", "minimum": 0, "maximum": 100},
    "alert_level": {"type": "integer", "minimum": 0, "maximum": 3},
    "version": {"type": "integer", "const": 1},
    "sensor": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"}
  },
  "propertyNames": {"pattern": "^[a-z_]+$"},
  "additionalProperties": false
})";

constexpr const char* kWarehousePayload =
    R"({"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";

// ---- Error pointers and messages ---------------------------------------------------------------

struct ErrorCase {
    const char* name;
    const char* schema;
    const char* instance;
    const char* pointer;
    const char* keyword;
    const char* message;  // exact text
};

class ErrorReport : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorReport, PointerKeywordAndMessage) {
    const ErrorCase& c = GetParam();
    std::vector<SchemaError> errors = errorsOf(c.schema, c.instance);
    ASSERT_EQ(errors.size(), 1u) << c.name;
    EXPECT_EQ(errors[0].pointer, c.pointer);
    EXPECT_EQ(errors[0].keyword, c.keyword);
    EXPECT_EQ(errors[0].message, c.message);
}

const ErrorCase kErrorCases[] = {
    {"maximum", R"({"properties":{"temp":{"maximum":40}}})", R"({"temp":45.2})", "/temp", "maximum",
     "45.2 is greater than the maximum 40"},
    {"minimum", R"({"properties":{"temp":{"minimum":-40}}})", R"({"temp":-41})", "/temp", "minimum",
     "-41 is less than the minimum -40"},
    {"exclusiveMaximum", R"({"exclusiveMaximum":40})", "40", "", "exclusiveMaximum",
     "40 is not less than the exclusive maximum 40"},
    {"multipleOf", R"({"multipleOf":0.5})", "1.3", "", "multipleOf", "1.3 is not a multiple of 0.5"},
    {"slash escaped", R"({"properties":{"a/b":{"type":"string"}}})", R"({"a/b":1})", "/a~1b", "type",
     "expected string, got integer"},
    {"tilde escaped", R"({"properties":{"m~n":{"type":"string"}}})", R"({"m~n":true})", "/m~0n", "type",
     "expected string, got boolean"},
    {"array index", R"({"properties":{"items":{"items":{"type":"integer"}}}})", R"({"items":[1,2,3,"x"]})", "/items/3",
     "type", "expected integer, got string"},
    {"nested", R"({"properties":{"a":{"properties":{"b":{"items":{"maxLength":2}}}}}})", R"({"a":{"b":["ok","long"]}})",
     "/a/b/1", "maxLength", "string has 4 characters, more than the maximum 2"},
    {"root type", R"({"type":["object","null"]})", "[]", "", "type", "expected object or null, got array"},
    {"required", R"({"required":["temp"]})", R"({"hum":1})", "", "required", "missing required property \"temp\""},
    {"additionalProperties", R"({"properties":{"a":{}},"additionalProperties":false})", R"({"a":1,"zz":2})", "/zz",
     "additionalProperties", "property \"zz\" is not allowed (additionalProperties is false)"},
    {"pattern", R"({"pattern":"^[a-z]+$"})", R"("Abc")", "", "pattern",
     "\"Abc\" does not match the pattern \"^[a-z]+$\""},
    {"enum", R"({"enum":["red","green"]})", R"("blue")", "", "enum", "\"blue\" is not one of [\"red\", \"green\"]"},
    {"const", R"({"const":1})", "2", "", "const", "2 is not the required value 1"},
    {"minItems", R"({"minItems":2})", "[1]", "", "minItems", "array has 1 items, fewer than the minimum 2"},
    {"uniqueItems", R"({"uniqueItems":true})", "[1,2,1.0]", "", "uniqueItems",
     "items 0 and 2 are equal but must be unique"},
    {"additionalItems", R"({"items":[{},{}],"additionalItems":false})", "[1,2,3,4]", "/2", "additionalItems",
     "array has more than the 2 items allowed (additionalItems is false)"},
    {"contains", R"({"contains":{"type":"string"}})", "[1,2]", "", "contains",
     "no item matches the \"contains\" schema"},
    {"propertyNames", R"({"propertyNames":{"maxLength":3}})", R"({"abcd":1})", "/abcd", "propertyNames",
     "property name \"abcd\" does not match the propertyNames schema"},
    {"dependencies", R"({"dependencies":{"a":["b"]}})", R"({"a":1})", "", "dependencies",
     "property \"a\" requires property \"b\""},
    {"anyOf", R"({"anyOf":[{"type":"string"},{"minimum":5}]})", "3", "", "anyOf",
     "3 does not match any of the 2 anyOf alternatives"},
    {"oneOf twice", R"({"oneOf":[{"minimum":1},{"maximum":9}]})", "5", "", "oneOf",
     "5 matches oneOf alternatives 0 and 1 but must match exactly one"},
    {"not", R"({"not":{"type":"null"}})", "null", "", "not", "null must not match the \"not\" schema"},
    {"false schema", R"({"properties":{"x":false}})", R"({"x":1})", "/x", "properties",
     "property \"x\" is not allowed"},
    {"format", R"({"format":"date-time"})", R"("2024-02-30T10:00:00Z")", "", "format",
     "\"2024-02-30T10:00:00Z\" is not a valid date-time"},
    {"long string is shortened", R"({"maxLength":3})",
     R"("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")", "", "maxLength",
     "string has 74 characters, more than the maximum 3"},
};

INSTANTIATE_TEST_SUITE_P(Keywords, ErrorReport, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& p) {
                             std::string name;
                             for (const char* c = p.param.name; *c; ++c)
                                 name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
                             return name;
                         });

TEST(JsonSchemaErrors, SchemaLocationNamesTheKeyword) {
    std::vector<SchemaError> errors = errorsOf(R"({"properties":{"temp":{"maximum":40}}})", R"({"temp":50})");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].schemaLocation, "file:///test/schema.json#/properties/temp/maximum");
}

TEST(JsonSchemaErrors, RefErrorsPointIntoTheInstanceNotTheSchema) {
    std::vector<SchemaError> errors = errorsOf(
        R"({"definitions":{"reading":{"type":"number"}},"properties":{"list":{"items":{"$ref":"#/definitions/reading"}}}})",
        R"({"list":[1,"x"]})");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].pointer, "/list/1");
    EXPECT_EQ(errors[0].schemaLocation, "file:///test/schema.json#/definitions/reading/type");
}

TEST(JsonSchemaErrors, MaxErrorsIsHonoured) {
    const char* schema = R"({"properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"},
                          "d":{"type":"string"}},"required":["e","f"]})";
    const char* instance = R"({"a":1,"b":2,"c":3,"d":4})";
    EXPECT_EQ(errorsOf(schema, instance, 100).size(), 6u);
    EXPECT_EQ(errorsOf(schema, instance, 2).size(), 2u);
    EXPECT_EQ(errorsOf(schema, instance, 1).size(), 1u);

    Instance doc(instance);
    auto compiled = compile(schema);
    std::vector<SchemaError> errors{{"/existing", "kept", "", ""}};
    EXPECT_FALSE(compiled->validate(doc.element(), &errors, 0));  // yes/no only
    EXPECT_EQ(errors.size(), 1u);
    EXPECT_FALSE(compiled->validate(doc.element(), &errors, 3));  // appends
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[0].message, "kept");
    EXPECT_FALSE(compiled->validate(doc.element(), nullptr, 10));
}

TEST(JsonSchemaErrors, ValidInstanceReportsNothing) {
    std::vector<SchemaError> errors = errorsOf(kWarehouseSchema, kWarehousePayload);
    EXPECT_TRUE(errors.empty());
}

// ---- Regex safety ------------------------------------------------------------------------------

TEST(JsonSchemaRegex, AlternationStarOnOneMegabyteIsLinear) {
    auto schema = compile(R"({"pattern":"^(a|b)*$"})");
    std::string text(1 << 20, 'a');
    for (size_t i = 0; i < text.size(); i += 3) text[i] = 'b';
    Instance ok("\"" + text + "\"");
    Instance bad("\"" + text + "c\"");
    bool okResult = false, badResult = true;
    double seconds = secondsFor([&] {
        okResult = schema->validate(ok.element());
        badResult = schema->validate(bad.element());
    });
    EXPECT_TRUE(okResult);
    EXPECT_FALSE(badResult);
    EXPECT_LT(seconds, 1.0);
}

TEST(JsonSchemaRegex, NestedQuantifierDoesNotBacktrack) {
    auto schema = compile(R"({"pattern":"^(a+)+$"})");
    for (size_t n : {30, 100, 10000}) {
        Instance bad("\"" + std::string(n, 'a') + "!\"");
        Instance ok("\"" + std::string(n, 'a') + "\"");
        double seconds = secondsFor([&] {
            EXPECT_FALSE(schema->validate(bad.element()));
            EXPECT_TRUE(schema->validate(ok.element()));
        });
        EXPECT_LT(seconds, 0.1) << n << " characters";
    }
}

TEST(JsonSchemaRegex, PatternIsAnUnanchoredSearch) {
    EXPECT_TRUE(isValid(R"({"pattern":"b+"})", R"("aaabbbccc")"));
    EXPECT_FALSE(isValid(R"({"pattern":"^b+"})", R"("aaabbbccc")"));
}

struct RefusedPattern {
    const char* schema;
    const char* mustMention;
};

class RefusedPatterns : public ::testing::TestWithParam<RefusedPattern> {};

TEST_P(RefusedPatterns, FailAtCompileTimeNamingThePattern) {
    std::string message = loadErrorOf(GetParam().schema);
    EXPECT_NE(message, "(no error)");
    EXPECT_NE(message.find(GetParam().mustMention), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Unsupported, RefusedPatterns,
    ::testing::Values(RefusedPattern{R"({"pattern":"^(?=.*\\d)\\w+$"})", "\"^(?=.*\\d)\\w+$\""},
                      RefusedPattern{R"({"pattern":"^(?=.*\\d)\\w+$"})", "lookahead"},
                      RefusedPattern{R"({"pattern":"^(?=.*\\d)\\w+$"})", "file:///test/schema.json#/pattern"},
                      RefusedPattern{R"({"properties":{"x":{"pattern":"(a)\\1"}}})", "#/properties/x/pattern"},
                      RefusedPattern{R"({"properties":{"x":{"pattern":"(a)\\1"}}})", "backreferences"},
                      RefusedPattern{R"({"patternProperties":{"(?<=x)y":{}}})", "#/patternProperties/(?<=x)y"},
                      RefusedPattern{R"({"pattern":"abc\\z"})", "\\z is not an ECMA 262 escape"},
                      RefusedPattern{R"({"pattern":"(?i)abc"})", "inline flags"},
                      RefusedPattern{R"({"pattern":"a{1,5000}"})", "a{1,5000}"}));

struct RegexCase {
    const char* pattern;
    const char* text;
    bool matches;
};

class EcmaDialect : public ::testing::TestWithParam<RegexCase> {};

TEST_P(EcmaDialect, MatchesLikeEcma262) {
    const RegexCase& c = GetParam();
    json schema = {{"pattern", c.pattern}};
    EXPECT_EQ(isValid(schema.dump(), json(c.text).dump()), c.matches) << c.pattern << " vs " << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Translation, EcmaDialect,
    ::testing::Values(RegexCase{"^\\d+$", "123", true}, RegexCase{"^\\d+$", "\u0968", false},  // Devanagari two
                      RegexCase{"^\\s$", "\u00a0", true},                                      // ECMA \s has NBSP
                      RegexCase{"^\\S$", "\u2003", false}, RegexCase{"^\\u00e9$", "\u00e9", true},
                      RegexCase{"^\\ud83d\\ude00$", "\U0001F600", true}, RegexCase{"^\\cJ$", "\n", true},
                      RegexCase{"^\\p{Letter}+$", "\u00e9t\u00e9", true}, RegexCase{"^\\p{Lu}$", "a", false},
                      RegexCase{"^.$", "\r", false}, RegexCase{"^.$", "\U0001F600", true},
                      RegexCase{"^[^]$", "\n", true}, RegexCase{"[]", "anything", false},
                      RegexCase{"^(?<year>\\d{4})$", "2024", true}, RegexCase{"^abc$", "abc\n", false},
                      RegexCase{"^[[]$", "[", true}));

// ---- $ref --------------------------------------------------------------------------------------

TEST(JsonSchemaRef, CyclesThatConsumeNoInputAreRejectedAtCompileTime) {
    for (const char* schema : {R"({"$ref":"#"})",
                               R"({"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},
                                 "$ref":"#/definitions/a"})",
                               R"({"allOf":[{"$ref":"#"}]})", R"({"anyOf":[{"type":"null"},{"not":{"$ref":"#"}}]})",
                               R"({"dependencies":{"a":{"$ref":"#"}}})"}) {
        std::string message;
        double seconds = secondsFor([&] { message = loadErrorOf(schema); });
        EXPECT_NE(message.find("cycle"), std::string::npos) << schema << " -> " << message;
        EXPECT_LT(seconds, 1.0);
    }
}

TEST(JsonSchemaRef, RecursionThroughTheInstanceIsFine) {
    auto schema = compile(R"({"type":"object","properties":{"child":{"$ref":"#"},"v":{"type":"integer"}}})");
    std::string deep = R"({"v":1})";
    for (int i = 0; i < 60; ++i) deep = R"({"v":1,"child":)" + deep + "}";
    Instance ok(deep);
    EXPECT_TRUE(schema->validate(ok.element()));
    std::string bad = R"({"v":"x"})";
    for (int i = 0; i < 60; ++i) bad = R"({"child":)" + bad + "}";
    Instance badDoc(bad);
    std::vector<SchemaError> errors;
    EXPECT_FALSE(schema->validate(badDoc.element(), &errors));
    ASSERT_EQ(errors.size(), 1u);
    std::string pointer;
    for (int i = 0; i < 60; ++i) pointer += "/child";
    EXPECT_EQ(errors[0].pointer, pointer + "/v");
}

TEST(JsonSchemaRef, VeryDeepDocumentsHitALimitNotTheStack) {
    auto schema = compile(R"({"items":{"$ref":"#"}})");
    std::string deep = std::string(3000, '[') + std::string(3000, ']');
    Instance doc(deep, 4000);
    std::vector<SchemaError> errors;
    EXPECT_FALSE(schema->validate(doc.element(), &errors));
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors[0].message.find("nesting deeper"), std::string::npos) << errors[0].message;
}

TEST(JsonSchemaRef, PointerEscapesAndPercentEncoding) {
    const char* schema = R"({"defs":{"a/b":{"type":"integer"},"m~n":{"type":"string"},"p%q":{"type":"boolean"}},
    "properties":{"x":{"$ref":"#/defs/a~1b"},"y":{"$ref":"#/defs/m~0n"},"z":{"$ref":"#/defs/p%25q"}}})";
    EXPECT_TRUE(isValid(schema, R"({"x":1,"y":"s","z":true})"));
    EXPECT_FALSE(isValid(schema, R"({"x":"1"})"));
    EXPECT_FALSE(isValid(schema, R"({"y":1})"));
    EXPECT_FALSE(isValid(schema, R"({"z":1})"));
}

TEST(JsonSchemaRef, OtherDocumentsAndRelativeUris) {
    SchemaStore store;
    store.add("file:///etc/schemas/common.json",
              json::parse(R"({"definitions":{"percent":{"type":"number","minimum":0,"maximum":100}}})"));
    store.add("http://example.com/units/temp.json", json::parse(R"({"$id":"http://example.com/units/temp.json",
      "type":"number","minimum":-40,"maximum":85})"));
    json root = json::parse(R"({"properties":{
      "hum":{"$ref":"common.json#/definitions/percent"},
      "temp":{"$ref":"http://example.com/units/temp.json"},
      "nested":{"$id":"http://example.com/units/","properties":{"t":{"$ref":"temp.json"}}}}})");
    auto schema = CompiledSchema::compile(root, "file:///etc/schemas/warehouse.json", store);
    Instance ok(R"({"hum":50,"temp":20,"nested":{"t":0}})");
    Instance bad(R"({"hum":150,"temp":90,"nested":{"t":-50}})");
    EXPECT_TRUE(schema->validate(ok.element()));
    std::vector<SchemaError> errors;
    EXPECT_FALSE(schema->validate(bad.element(), &errors));
    EXPECT_EQ(errors.size(), 3u);
}

TEST(JsonSchemaRef, ReAddingADocumentReplacesItsIds) {
    SchemaStore store;
    store.add("file:///s/a.json",
              json::parse(R"({"definitions":{"x":{"$id":"http://example.com/x","type":"string"}}})"));
    ASSERT_NE(store.find("http://example.com/x"), nullptr);
    store.add("file:///s/a.json", json::parse(R"({"definitions":{"y":{"$id":"http://example.com/y"}}})"));
    EXPECT_EQ(store.find("http://example.com/x"), nullptr);
    EXPECT_NE(store.find("http://example.com/y"), nullptr);
    EXPECT_NE(store.find("file:///s/a.json#"), nullptr);
}

TEST(JsonSchemaRef, MetaSchemasAreBundled) {
    auto schema = compile(R"({"$ref":"http://json-schema.org/draft-07/schema#"})");
    Instance good(R"({"type":"object","properties":{"a":{"minimum":1}}})");
    Instance bad(R"({"type":"objekt"})");
    EXPECT_TRUE(schema->validate(good.element()));
    EXPECT_FALSE(schema->validate(bad.element()));
}

TEST(JsonSchemaRef, UnresolvableRefIsALoadError) {
    std::string message = loadErrorOf(R"({"properties":{"a":{"$ref":"missing.json#/x"}}})");
    EXPECT_NE(message.find("#/properties/a/$ref"), std::string::npos) << message;
    EXPECT_NE(message.find("missing.json"), std::string::npos) << message;
    message = loadErrorOf(R"({"properties":{"a":{"$ref":"#/definitions/nope"}}})");
    EXPECT_NE(message.find("nope"), std::string::npos) << message;
}

// ---- Drafts ------------------------------------------------------------------------------------

TEST(JsonSchemaDrafts, ExclusiveMaximumBooleanInDraft4NumericInDraft7) {
    const char* draft4 =
        R"({"$schema":"http://json-schema.org/draft-04/schema#","maximum":40,"exclusiveMaximum":true})";
    EXPECT_FALSE(isValid(draft4, "40"));
    EXPECT_TRUE(isValid(draft4, "39.9"));
    const char* draft4Inclusive =
        R"({"$schema":"http://json-schema.org/draft-04/schema#","maximum":40,"exclusiveMaximum":false})";
    EXPECT_TRUE(isValid(draft4Inclusive, "40"));
    EXPECT_FALSE(isValid(R"({"exclusiveMaximum":40})", "40"));
    EXPECT_TRUE(isValid(R"({"exclusiveMaximum":40})", "39.9"));
    EXPECT_TRUE(isValid(R"({"exclusiveMinimum":0,"minimum":5})", "5"));

    EXPECT_NE(loadErrorOf(R"({"maximum":40,"exclusiveMaximum":true})").find("draft 4"), std::string::npos);
    EXPECT_NE(loadErrorOf(R"({"exclusiveMaximum":40})", Draft::Draft4).find("boolean"), std::string::npos);
    EXPECT_NE(loadErrorOf(R"({"exclusiveMinimum":true})", Draft::Draft4).find("needs minimum"), std::string::npos);
}

TEST(JsonSchemaDrafts, IntegerMeansZeroFractionExceptInDraft4) {
    EXPECT_TRUE(isValid(R"({"type":"integer"})", "1.0"));
    EXPECT_FALSE(isValid(R"({"type":"integer"})", "1.5"));
    EXPECT_FALSE(isValid(R"({"type":"integer"})", "1.0", Draft::Draft4));
    EXPECT_TRUE(isValid(R"({"type":"integer"})", "1", Draft::Draft4));
    EXPECT_TRUE(isValid(R"({"type":"integer"})", "18446744073709551615"));
}

TEST(JsonSchemaDrafts, SchemaKeywordSelectsTheDraft) {
    EXPECT_EQ(compile(R"({"$schema":"http://json-schema.org/draft-04/schema#"})")->draft(), Draft::Draft4);
    EXPECT_EQ(compile(R"({"$schema":"http://json-schema.org/draft-06/schema"})")->draft(), Draft::Draft6);
    EXPECT_EQ(compile(R"({})")->draft(), Draft::Draft7);
    std::string message = loadErrorOf(R"({"$schema":"https://json-schema.org/draft/2020-12/schema"})");
    EXPECT_NE(message.find("unsupported $schema"), std::string::npos) << message;
}

TEST(JsonSchemaDrafts, KeywordsFromLaterDraftsAreIgnored) {
    EXPECT_TRUE(isValid(R"({"const":1})", "2", Draft::Draft4));
    EXPECT_TRUE(isValid(R"({"if":{"type":"string"},"then":{"minLength":5}})", R"("ab")", Draft::Draft6));
    EXPECT_FALSE(isValid(R"({"if":{"type":"string"},"then":{"minLength":5}})", R"("ab")"));
    EXPECT_NE(loadErrorOf(R"({"items":true})", Draft::Draft4).find("draft 6"), std::string::npos);
    EXPECT_TRUE(isValid(R"({"additionalProperties":false})", "{}", Draft::Draft4));
}

// ---- Keyword semantics -------------------------------------------------------------------------

struct ValidityCase {
    const char* schema;
    const char* instance;
    bool valid;
};

class Semantics : public ::testing::TestWithParam<ValidityCase> {};

TEST_P(Semantics, Validity) {
    const ValidityCase& c = GetParam();
    EXPECT_EQ(isValid(c.schema, c.instance), c.valid) << c.schema << " vs " << c.instance;
}

INSTANTIATE_TEST_SUITE_P(
    Keywords, Semantics,
    ::testing::Values(
        // Lengths count code points, not bytes.
        ValidityCase{R"({"maxLength":5})", R"("h\u00e9llo")", true},
        ValidityCase{R"({"maxLength":1})", R"("\u00e9")", true},
        ValidityCase{R"({"maxLength":2})", "\"\U0001F4A9\U0001F4A9\"", true},
        ValidityCase{R"({"minLength":3})", "\"\U0001F4A9\U0001F4A9\"", false},
        // uniqueItems compares numbers by value and objects regardless of key order.
        ValidityCase{R"({"uniqueItems":true})", "[1, 1.0]", false},
        ValidityCase{R"({"uniqueItems":true})", R"([{"a":1,"b":2},{"b":2,"a":1}])", false},
        ValidityCase{R"({"uniqueItems":true})", R"([[1],[true]])", true},
        ValidityCase{R"({"uniqueItems":true})", "[9007199254740993, 9007199254740992]", true},
        // Exact 64-bit integer comparisons.
        ValidityCase{R"({"maximum":9007199254740992})", "9007199254740993", false},
        ValidityCase{R"({"minimum":-9223372036854775808})", "-9223372036854775808", true},
        ValidityCase{R"({"maximum":18446744073709551615})", "18446744073709551615", true},
        ValidityCase{R"({"multipleOf":0.01})", "19.99", true}, ValidityCase{R"({"multipleOf":0.01})", "19.991", false},
        ValidityCase{R"({"multipleOf":3})", "9007199254740993", true},
        ValidityCase{R"({"enum":[{"a":[1,2]}]})", R"({"a":[1,2.0]})", true},
        ValidityCase{
            R"({"properties":{"a":{}},"patternProperties":{"^x":{"type":"integer"}},"additionalProperties":false})",
            R"({"a":"s","x1":2})", true},
        ValidityCase{R"({"patternProperties":{"^x":{"type":"integer"}},"additionalProperties":false})", R"({"x1":"s"})",
                     false},
        ValidityCase{R"({"dependencies":{"a":{"required":["b"]}}})", R"({"a":1})", false},
        ValidityCase{R"({"propertyNames":{"enum":["a","b"]}})", R"({"a":1,"c":2})", false},
        ValidityCase{R"({"propertyNames":{"anyOf":[{"pattern":"^x"},{"const":"id"}]}})", R"({"x1":1,"id":2})", true},
        ValidityCase{R"({"contentMediaType":"application/json","contentEncoding":"base64"})", R"("eyJhIjoxfQ==")",
                     true},
        ValidityCase{R"({"contentMediaType":"application/json"})", R"("{nope")", false},
        ValidityCase{R"({"format":"made-up-format"})", R"("anything")", true}));

struct FormatCase {
    const char* format;
    const char* value;
    bool valid;
};

class Formats : public ::testing::TestWithParam<FormatCase> {};

TEST_P(Formats, HandWrittenChecks) {
    const FormatCase& c = GetParam();
    json schema = {{"format", c.format}};
    EXPECT_EQ(isValid(schema.dump(), json(c.value).dump()), c.valid) << c.format << ": " << c.value;
}

INSTANTIATE_TEST_SUITE_P(
    Known, Formats,
    ::testing::Values(
        FormatCase{"date-time", "2024-11-21T14:40:00Z", true},
        FormatCase{"date-time", "2024-11-21T14:40:00.123+01:00", true},
        FormatCase{"date-time", "2024-02-29T00:00:00z", true}, FormatCase{"date-time", "2023-02-29T00:00:00Z", false},
        FormatCase{"date-time", "2024-11-21 14:40:00Z", false}, FormatCase{"date-time", "2024-11-21T14:40:00", false},
        FormatCase{"date-time", "1998-12-31T23:59:60Z", true}, FormatCase{"date-time", "1998-12-31T22:59:60Z", false},
        FormatCase{"date", "2024-12-31", true}, FormatCase{"date", "2024-13-01", false},
        FormatCase{"time", "08:30:06.2Z", true}, FormatCase{"time", "24:00:00Z", false},
        FormatCase{"email", "ops@warehouse.example", true}, FormatCase{"email", "\"odd name\"@example.com", true},
        FormatCase{"email", "a..b@example.com", false}, FormatCase{"email", "no-at-sign", false},
        FormatCase{"hostname", "broker-1.lan", true}, FormatCase{"hostname", "-bad.lan", false},
        FormatCase{"hostname", "under_score", false}, FormatCase{"ipv4", "10.0.0.255", true},
        FormatCase{"ipv4", "10.0.0.256", false}, FormatCase{"ipv4", "010.0.0.1", false},
        FormatCase{"ipv6", "fe80::1", true}, FormatCase{"ipv6", "::ffff:192.168.0.1", true},
        FormatCase{"ipv6", "1::2::3", false}, FormatCase{"ipv6", "12345::", false},
        FormatCase{"uri", "mqtt://broker:1883/topic?q=1#f", true}, FormatCase{"uri", "urn:isbn:0451450523", true},
        FormatCase{"uri", "/relative/path", false}, FormatCase{"uri", "http://bad host/", false},
        FormatCase{"uri-reference", "../x#y", true}, FormatCase{"json-pointer", "/a~1b/0", true},
        FormatCase{"json-pointer", "/a~2", false}, FormatCase{"regex", "^[a-z]+$", true},
        FormatCase{"regex", "(unclosed", false}));

TEST(JsonSchemaFormats, CanBeTreatedAsAnnotations) {
    CompileOptions options;
    options.assertFormat = false;
    auto schema = CompiledSchema::compile(json::parse(R"({"format":"ipv4"})"), "", SchemaStore(), options);
    Instance doc(R"("not an address")");
    EXPECT_TRUE(schema->validate(doc.element()));
}

// ---- Store and load errors ---------------------------------------------------------------------

class SchemaDirectory : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("json_schema_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        std::filesystem::create_directories(dir_ / "sub dir");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

    std::filesystem::path dir_;
};

TEST_F(SchemaDirectory, LoadsEveryJsonFileAndResolvesRelativeRefs) {
    write("warehouse.schema.json", R"({"properties":{"hum":{"$ref":"sub%20dir/units.json#/definitions/percent"}}})");
    write("sub dir/units.json", R"({"definitions":{"percent":{"minimum":0,"maximum":100}}})");
    write("notes.txt", "not json, ignored");
    SchemaStore store;
    store.addDirectory(dir_);
    std::string uri = SchemaStore::fileUri(dir_ / "warehouse.schema.json");
    EXPECT_EQ(uri.rfind("file:///", 0), 0u);
    const json* root = store.find(uri);
    ASSERT_NE(root, nullptr);
    ASSERT_NE(store.find(SchemaStore::fileUri(dir_ / "sub dir" / "units.json")), nullptr);
    auto schema = CompiledSchema::compile(*root, uri, store);
    Instance bad(R"({"hum":101})");
    EXPECT_FALSE(schema->validate(bad.element()));
}

TEST_F(SchemaDirectory, BadJsonNamesTheFile) {
    write("broken.json", R"({"type": )");
    SchemaStore store;
    try {
        store.addDirectory(dir_);
        FAIL() << "expected SchemaLoadError";
    } catch (const SchemaLoadError& e) {
        EXPECT_NE(std::string(e.what()).find("broken.json"), std::string::npos) << e.what();
    }
}

TEST(JsonSchemaLoad, InvalidSchemasSayWhereAndWhy) {
    struct Case {
        const char* schema;
        const char* mention;
    };
    for (const Case& c :
         {Case{R"({"properties":{"a":{"minLength":-1}}})", "#/properties/a/minLength"},
          Case{R"({"type":"float"})", "unknown type \"float\""},
          Case{R"({"required":"a"})", "required must be an array"}, Case{R"({"multipleOf":0})", "greater than 0"},
          Case{R"({"allOf":[]})", "non-empty"}, Case{R"({"items":[1]})", "#/items/0"}}) {
        std::string message = loadErrorOf(c.schema);
        EXPECT_NE(message.find(c.mention), std::string::npos) << c.schema << " -> " << message;
    }
}

// ---- Hot path ----------------------------------------------------------------------------------

TEST(JsonSchemaHotPath, WarehousePayloadValidatesWithoutAllocating) {
    if (!JSON_SCHEMA_TEST_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
    auto schema = compile(kWarehouseSchema);
    Instance doc(kWarehousePayload);
    std::vector<SchemaError> errors;
    errors.reserve(10);
    ASSERT_TRUE(schema->validate(doc.element(), &errors));  // warms RE2's lazily built DFA
    size_t before = gAllocations.load();
    for (int i = 0; i < 1000; ++i) {
        schema->validate(doc.element());
        schema->validate(doc.element(), &errors, 10);
    }
    EXPECT_EQ(gAllocations.load() - before, 0u);
    EXPECT_TRUE(errors.empty());
}

TEST(JsonSchemaHotPath, WarehouseRejections) {
    auto schema = compile(kWarehouseSchema);
    struct Case {
        const char* payload;
        const char* pointer;
    };
    for (const Case& c :
         {Case{R"({"timestamp":1,"temp":45.2,"hum":1})", "/temp"},
          Case{R"({"timestamp":1.5,"temp":1,"hum":1})", "/timestamp"},
          Case{R"({"timestamp":1,"temp":1,"hum":1,"sensor":"Bad Name"})", "/sensor"},
          Case{R"({"timestamp":1,"temp":1,"hum":1,"Extra":1})", "/Extra"}, Case{R"({"timestamp":1,"temp":1})", ""}}) {
        Instance doc(c.payload);
        std::vector<SchemaError> errors;
        EXPECT_FALSE(schema->validate(doc.element(), &errors)) << c.payload;
        ASSERT_FALSE(errors.empty()) << c.payload;
        EXPECT_EQ(errors[0].pointer, c.pointer) << c.payload << ": " << errors[0].message;
    }
}

TEST(JsonSchemaHotPath, ConcurrentValidationOfOneSchema) {
    auto schema = compile(kWarehouseSchema);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            Instance ok(kWarehousePayload);
            Instance bad(R"({"timestamp":1,"temp":99,"hum":1})");
            for (int i = 0; i < 2000; ++i) {
                std::vector<SchemaError> errors;
                if (!schema->validate(ok.element()) || schema->validate(bad.element(), &errors) || errors.size() != 1) {
                    ++failures;
                }
            }
        });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
}

TEST(JsonSchemaHotPath, LargeUniqueArraysStayFast) {
    auto schema = compile(R"({"uniqueItems":true})");
    std::string items = "[";
    for (int i = 0; i < 100000; ++i) items += std::to_string(i) + ",";
    std::string unique = items + "-1]";
    std::string duplicate = items + "99999]";
    Instance ok(unique), bad(duplicate);
    double seconds = secondsFor([&] {
        EXPECT_TRUE(schema->validate(ok.element()));
        EXPECT_FALSE(schema->validate(bad.element()));
    });
    EXPECT_LT(seconds, 1.0);
}

}  // namespace

// ---- Integers beyond 64 bits ----

namespace {

template <typename Type>
concept HasBigintType = requires {
    Type::BIGINT;
};

// Parses `text` the way simdjson 4 keeps big integers (element_type::BIGINT); returns the parse error.
template <typename Parser>
simdjson::error_code parseKeepingBigints(Parser& parser, const std::string& text, simdjson::dom::element& out) {
    if constexpr (requires { parser.number_as_string(true); }) parser.number_as_string(true);
    return parser.parse(text).get(out);
}

}  // namespace

// A template so that the simdjson 4 branch, which names Type::BIGINT, is only compiled there.
template <typename Type>
void checkBigIntegers() {
    if constexpr (HasBigintType<Type>) {
        simdjson::dom::parser parser;
        simdjson::dom::element positive, negative;
        ASSERT_EQ(parseKeepingBigints(parser, "123456789012345678901234567890", positive), simdjson::SUCCESS);
        ASSERT_EQ(positive.type(), Type::BIGINT);
        EXPECT_TRUE(compile(R"({"type":"integer"})")->validate(positive));
        EXPECT_TRUE(compile(R"({"type":"integer"})", Draft::Draft4)->validate(positive));
        EXPECT_TRUE(compile(R"({"type":"number","minimum":0})")->validate(positive));
        EXPECT_FALSE(compile(R"({"type":"string"})")->validate(positive));
        EXPECT_FALSE(compile(R"({"maximum":18446744073709551615})")->validate(positive));
        EXPECT_TRUE(compile(R"({"exclusiveMinimum":9223372036854775807})")->validate(positive));
        EXPECT_FALSE(compile(R"({"maximum":1e20})")->validate(positive));
        EXPECT_TRUE(compile(R"({"maximum":1e40})")->validate(positive));
        simdjson::dom::parser parser2;
        ASSERT_EQ(parseKeepingBigints(parser2, "-123456789012345678901234567890", negative), simdjson::SUCCESS);
        ASSERT_EQ(negative.type(), Type::BIGINT);
        EXPECT_FALSE(compile(R"({"minimum":-9223372036854775808})")->validate(negative));
        EXPECT_TRUE(compile(R"({"maximum":0})")->validate(negative));
        std::vector<SchemaError> errors;
        EXPECT_FALSE(compile(R"({"type":"string"})")->validate(negative, &errors));
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_NE(errors[0].message.find("got integer"), std::string::npos) << errors[0].message;
    } else {
        // simdjson 3 has no big-integer type: such a payload is not JSON it can parse, so it is
        // rejected by the JSON check before any schema runs (NUMBER_ERROR in 3.0, BIGINT_ERROR in 3.12).
        for (const char* text : {"18446744073709551616", "-9223372036854775809", "[123456789012345678901234567890]"}) {
            simdjson::dom::parser parser;
            simdjson::dom::element e;
            EXPECT_NE(parser.parse(std::string(text)).get(e), simdjson::SUCCESS) << text;
        }
    }
}

TEST(JsonSchemaBigIntegers, AreIntegersComparedBySign) {
    checkBigIntegers<simdjson::dom::element_type>();
}
