// Internal: the compiled form of a JSON Schema, shared by the compiler (json_schema.cpp) and the
// validator (json_schema_validate.cpp). Not part of the public interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "jsonschema/json_schema.hpp"
#include "jsonschema/json_schema_format.hpp"

namespace mqs::jsonschema::detail {

// Bits of Node::types; "number" also admits integers.
enum TypeBit : uint8_t {
    kTypeNull = 1,
    kTypeBoolean = 2,
    kTypeObject = 4,
    kTypeArray = 8,
    kTypeNumber = 16,
    kTypeString = 32,
    kTypeInteger = 64,
};

// A JSON number kept in its exact source form so 64-bit integers compare without rounding.
// BigInt: an integer outside int64/uint64 (simdjson >= 4 element_type::BIGINT); `d` holds its value
// rounded to double, whose sign decides comparisons with any 64-bit integer (docs/schema-engine.md).
struct Number {
    enum class Kind : uint8_t { Int, UInt, Double, BigInt };
    Kind kind = Kind::Int;
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0.0;

    static Number ofInt(int64_t v) {
        Number n;
        n.kind = Kind::Int;
        n.i = v;
        return n;
    }
    static Number ofUInt(uint64_t v) {
        Number n;
        n.kind = Kind::UInt;
        n.u = v;
        return n;
    }
    static Number ofDouble(double v) {
        Number n;
        n.kind = Kind::Double;
        n.d = v;
        return n;
    }
    static Number fromJson(const nlohmann::json& j);  // j must be a number

    double toDouble() const;
    bool isIntegral() const;  // zero fractional part (1.0 counts)
    std::string toString() const;
};

int compareNumbersExact(const Number& a, const Number& b);  // -1, 0, 1; exact across kinds and ranges

// Inline fast path for the common payload cases; anything involving big integers goes exact.
inline int compareNumbers(const Number& a, const Number& b) {
    constexpr int64_t kExactInDouble = int64_t{1} << 53;  // integers up to here convert to double exactly
    if (a.kind == Number::Kind::Double) {
        if (b.kind == Number::Kind::Double) return a.d < b.d ? -1 : (a.d > b.d ? 1 : 0);
        if (b.kind == Number::Kind::Int && b.i >= -kExactInDouble && b.i <= kExactInDouble) {
            double bd = static_cast<double>(b.i);
            return a.d < bd ? -1 : (a.d > bd ? 1 : 0);
        }
    } else if (a.kind == Number::Kind::Int && b.kind == Number::Kind::Int) {
        return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    }
    return compareNumbersExact(a, b);
}
bool isMultipleOf(const Number& value, const Number& divisor);  // divisor > 0

struct Node;

// One name the object keywords care about: a "properties" entry, a "required" name and/or a
// "dependencies" trigger, merged so each instance key is looked up once.
struct PropertyEntry {
    std::string name;
    uint64_t prefix = 0;           // first (up to) 8 bytes of name, zero padded: most lookups end on one compare
    const Node* schema = nullptr;  // from "properties", or nullptr
    int requiredSlot = -1;         // index into Node::required, or -1
    int dependency = -1;           // index into Node::dependencies, or -1
};

struct PatternSchema {
    std::shared_ptr<const RE2> regex;
    std::string source;
    const Node* schema = nullptr;
};

struct Dependency {
    std::string name;
    std::vector<std::string> required;  // array form
    const Node* schema = nullptr;       // schema form
};

struct Node {
    std::string location;  // "<uri>#<pointer>", used in error reports
    Draft draft = Draft::Draft7;
    size_t index = 0;           // position in CompiledSchema::Impl::nodes
    bool isFalse = false;       // the boolean schema false
    bool trivial = false;       // accepts everything (true, {}, or only annotations)
    const Node* ref = nullptr;  // "$ref": every sibling keyword is ignored (drafts 4-7)

    uint8_t types = 0;  // TypeBit mask, 0 = no "type" keyword

    // Keywords for any instance type.
    bool hasEnum = false;
    std::vector<nlohmann::json> enumValues;
    bool hasConst = false;
    nlohmann::json constValue;
    std::optional<Number> constNumber;  // constValue pre-converted when it is a number (common for "version")
    std::vector<const Node*> allOf, anyOf, oneOf;
    const Node* notSchema = nullptr;
    const Node* ifSchema = nullptr;  // only set when "then" or "else" is present
    const Node* thenSchema = nullptr;
    const Node* elseSchema = nullptr;

    // Numbers.
    std::optional<Number> minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf;

    // Strings.
    std::optional<uint64_t> minLength, maxLength;
    std::shared_ptr<const RE2> pattern;
    std::string patternSource;
    Format format = Format::None;
    std::string formatName;
    bool contentBase64 = false;
    bool contentJson = false;

    // Arrays.
    const Node* items = nullptr;            // single-schema form
    std::vector<const Node*> itemsArray;    // array form
    const Node* additionalItems = nullptr;  // only with the array form of items
    std::optional<uint64_t> minItems, maxItems;
    bool uniqueItems = false;
    const Node* contains = nullptr;

    // Objects.
    std::vector<PropertyEntry> properties;  // sorted by name
    std::vector<std::string> required;
    std::vector<PatternSchema> patternProperties;
    const Node* additionalProperties = nullptr;
    std::vector<Dependency> dependencies;
    const Node* propertyNames = nullptr;
    std::optional<uint64_t> minProperties, maxProperties;

    // Summary flags so the validator skips whole keyword groups; set by finalise().
    bool hasGeneric = false;
    bool hasNumber = false;
    bool hasString = false;
    bool hasArray = false;
    bool hasObject = false;

    void finalise();
    const PropertyEntry* findProperty(std::string_view key) const;
    static uint64_t keyPrefix(std::string_view key);
};

// Entry point of json_schema_validate.cpp.
bool validateInstance(const Node* root, simdjson::dom::element instance, std::vector<SchemaError>* errors,
                      size_t maxErrors);

}  // namespace mqs::jsonschema::detail

namespace mqs::jsonschema {

struct CompiledSchema::Impl {
    std::vector<std::unique_ptr<detail::Node>> nodes;
    const detail::Node* root = nullptr;
    Draft draft = Draft::Draft7;
};

}  // namespace mqs::jsonschema
