// JSON Schema validator hot path: walks a compiled node tree over a simdjson DOM element.
// Runs on the broker thread for every message, so nothing is allocated unless an error is reported.
#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "jsonschema/json_schema_node.hpp"
#include "jsonschema/json_schema_uri.hpp"

namespace mqs::jsonschema::detail {

using simdjson::dom::element;
using simdjson::dom::element_type;

// ---- Number ------------------------------------------------------------------------------------

Number Number::fromJson(const nlohmann::json& j) {
    if (j.is_number_unsigned()) {
        uint64_t v = j.get<uint64_t>();
        return v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? ofInt(static_cast<int64_t>(v))
                                                                               : ofUInt(v);
    }
    if (j.is_number_integer()) return ofInt(j.get<int64_t>());
    return ofDouble(j.get<double>());
}

double Number::toDouble() const {
    switch (kind) {
        case Kind::Int:
            return static_cast<double>(i);
        case Kind::UInt:
            return static_cast<double>(u);
        case Kind::Double:
        case Kind::BigInt:
            return d;
    }
    return d;
}

bool Number::isIntegral() const {
    return kind != Kind::Double || (std::isfinite(d) && std::trunc(d) == d);
}

std::string Number::toString() const {
    switch (kind) {
        case Kind::Int:
            return std::to_string(i);
        case Kind::UInt:
            return std::to_string(u);
        case Kind::Double:
        case Kind::BigInt: {
            char buffer[32];
            auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
            return std::string(buffer, result.ptr);
        }
    }
    return {};
}

namespace {

constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

// Exact comparison of an integer with a double, without rounding the integer to double.
int compareIntegerWithDouble(const Number& integer, double d) {
    if (d >= kTwoTo64) return -1;
    if (d < -kTwoTo63) return 1;
    double floor = std::floor(d);
    int result = 0;
    if (integer.kind == Number::Kind::UInt) {
        if (floor < 0) return 1;
        auto f = static_cast<uint64_t>(floor);
        result = integer.u < f ? -1 : (integer.u > f ? 1 : 0);
    } else {
        if (floor >= kTwoTo63) return -1;
        auto f = static_cast<int64_t>(floor);
        result = integer.i < f ? -1 : (integer.i > f ? 1 : 0);
    }
    if (result == 0 && d > floor) result = -1;  // same integer part, the double has a fraction
    return result;
}

uint64_t magnitude(const Number& n) {
    if (n.kind == Number::Kind::UInt) return n.u;
    return n.i < 0 ? static_cast<uint64_t>(-(n.i + 1)) + 1 : static_cast<uint64_t>(n.i);
}

}  // namespace

int compareNumbersExact(const Number& a, const Number& b) {
    using Kind = Number::Kind;
    auto isFloating = [](const Number& n) { return n.kind == Kind::Double || n.kind == Kind::BigInt; };
    if (a.kind == Kind::BigInt || b.kind == Kind::BigInt) {
        // Beyond 64 bits: the sign decides against a 64-bit integer, the (rounded) value otherwise.
        if (!isFloating(a)) return b.d > 0 ? -1 : 1;
        if (!isFloating(b)) return a.d > 0 ? 1 : -1;
        return a.d < b.d ? -1 : (a.d > b.d ? 1 : 0);
    }
    if (a.kind == Kind::Double && b.kind == Kind::Double) return a.d < b.d ? -1 : (a.d > b.d ? 1 : 0);
    if (a.kind == Kind::Double) return -compareIntegerWithDouble(b, a.d);
    if (b.kind == Kind::Double) return compareIntegerWithDouble(a, b.d);
    if (a.kind == Kind::Int && b.kind == Kind::Int) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    if (a.kind == Kind::UInt && b.kind == Kind::UInt) return a.u < b.u ? -1 : (a.u > b.u ? 1 : 0);
    if (a.kind == Kind::Int) return a.i < 0 ? -1 : compareNumbersExact(Number::ofUInt(static_cast<uint64_t>(a.i)), b);
    return b.i < 0 ? 1 : compareNumbersExact(a, Number::ofUInt(static_cast<uint64_t>(b.i)));
}

bool isMultipleOf(const Number& value, const Number& divisor) {
    auto asExactInteger = [](const Number& n, Number* out) {
        if (n.kind == Number::Kind::BigInt) return false;  // decided on doubles below
        if (n.kind != Number::Kind::Double) {
            *out = n;
            return true;
        }
        if (!n.isIntegral() || std::fabs(n.d) >= kTwoTo63) return false;
        *out = Number::ofInt(static_cast<int64_t>(n.d));
        return true;
    };
    Number v, d;
    if (asExactInteger(value, &v) && asExactInteger(divisor, &d) && magnitude(d) != 0) {
        return magnitude(v) % magnitude(d) == 0;
    }
    double quotient = value.toDouble() / divisor.toDouble();
    if (!std::isfinite(quotient)) {
        // Overflow (e.g. 1e308 / 0.5): fmod is exact, so a zero remainder is a true multiple.
        return std::fmod(value.toDouble(), divisor.toDouble()) == 0;
    }
    // Decimal divisors such as 0.01 are inexact in binary: accept a quotient a few ulps off an integer.
    return std::fabs(quotient - std::nearbyint(quotient)) <= 4 * DBL_EPSILON * std::fabs(quotient);
}

namespace {

// Validation applies at most this many nested schemas; deeper is reported as an error, not a crash.
constexpr unsigned kMaxDepth = 256;  // sanitizer builds have much larger frames: keep well inside 8 MiB

// One step of the instance path. Steps live on the validator's stack and are only turned into a
// JSON pointer string when an error is reported.
struct Path {
    const Path* parent;
    std::string_view key;
    size_t index;
    bool isIndex;
};

std::string pointerOf(const Path* path) {
    std::vector<const Path*> steps;
    for (; path != nullptr; path = path->parent) steps.push_back(path);
    std::string out;
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
        out += '/';
        out += (*it)->isIndex ? std::to_string((*it)->index) : escapePointerToken((*it)->key);
    }
    return out;
}

// simdjson 4 adds element_type::BIGINT (integers beyond 64 bits, digits kept as text); simdjson 3
// has no such type and fails the parse with NUMBER_ERROR instead. Templates so that the BIGINT
// branches are only compiled where the enum value exists.
template <typename Type>
concept HasBigint = requires {
    Type::BIGINT;
};

template <typename Type = element_type>
constexpr bool isBigint(Type t) {
    if constexpr (HasBigint<Type>) {
        return t == Type::BIGINT;
    } else {
        return false;
    }
}

template <typename Element>
Number bigintOf(Element e) {
    std::string_view digits = e.get_bigint().value_unsafe();
    Number n;
    n.kind = Number::Kind::BigInt;
    // A finite double or +-inf for absurdly long integers: either way the sign is right.
    const char* begin = digits.data() + (!digits.empty() && digits.front() == '-');
    auto [ptr, ec] = std::from_chars(begin, digits.data() + digits.size(), n.d);
    if (ec == std::errc::result_out_of_range || ptr == begin) n.d = std::numeric_limits<double>::infinity();
    if (begin != digits.data()) n.d = -n.d;
    return n;
}

Number numberOf(element e) {
    if constexpr (HasBigint<element_type>) {
        if (isBigint(e.type())) return bigintOf(e);
    }
    switch (e.type()) {
        case element_type::INT64:
            return Number::ofInt(e.get_int64().value_unsafe());
        case element_type::UINT64:
            return Number::ofUInt(e.get_uint64().value_unsafe());
        default:
            return Number::ofDouble(e.get_double().value_unsafe());
    }
}

// By-value accessors: a range-for over get_array().value_unsafe() would keep a reference into a
// destroyed simdjson_result temporary.
simdjson::dom::array arrayOf(element e) {
    return e.get_array().value_unsafe();
}
simdjson::dom::object objectOf(element e) {
    return e.get_object().value_unsafe();
}
std::string_view stringOf(element e) {
    return e.get_string().value_unsafe();
}

bool isNumberType(element_type t) {
    return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE || isBigint(t);
}

size_t countFields(simdjson::dom::object o) {
    size_t n = o.size();
    if (n < 0xFFFFFF) return n;  // simdjson saturates the stored count
    n = 0;
    for ([[maybe_unused]] auto field : o) ++n;
    return n;
}

// ECMA `test` semantics: is there a match anywhere? Calls RE2::Match directly, skipping the
// argument plumbing of PartialMatch. The StringPiece is built from data()+size() because newer RE2
// (absl::string_view) does not accept a std::string_view on every toolchain.
bool searchRegex(const RE2& regex, std::string_view text) {
    const re2::StringPiece piece(text.data(), text.size());
    return regex.Match(piece, 0, piece.size(), RE2::UNANCHORED, nullptr, 0);
}

size_t countCodePoints(std::string_view s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // skip UTF-8 continuation bytes
    return n;
}

// ---- Equality and hashing (enum, const, uniqueItems) ----

bool equalElements(element a, element b);

bool equalObjects(simdjson::dom::object a, simdjson::dom::object b) {
    size_t count = countFields(a);
    if (count != countFields(b)) return false;
    if (count <= 16) {
        for (auto field : a) {
            auto other = b.at_key(field.key);
            if (other.error() || !equalElements(field.value, other.value_unsafe())) return false;
        }
        return true;
    }
    // Large objects: sort both key lists so the comparison is O(n log n), not O(n^2).
    using Field = std::pair<std::string_view, element>;
    auto sorted = [](simdjson::dom::object o) {
        std::vector<Field> fields;
        for (auto field : o) fields.emplace_back(field.key, field.value);
        std::sort(fields.begin(), fields.end(), [](const Field& x, const Field& y) { return x.first < y.first; });
        return fields;
    };
    std::vector<Field> left = sorted(a), right = sorted(b);
    for (size_t i = 0; i < left.size(); ++i) {
        if (left[i].first != right[i].first || !equalElements(left[i].second, right[i].second)) return false;
    }
    return true;
}

bool equalElements(element a, element b) {
    element_type ta = a.type(), tb = b.type();
    if (isNumberType(ta) && isNumberType(tb)) return compareNumbers(numberOf(a), numberOf(b)) == 0;  // 1 == 1.0
    if (ta != tb) return false;
    switch (ta) {
        case element_type::NULL_VALUE:
            return true;
        case element_type::BOOL:
            return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
        case element_type::STRING:
            return stringOf(a) == stringOf(b);
        case element_type::ARRAY: {
            simdjson::dom::array x = arrayOf(a), y = arrayOf(b);
            auto i = x.begin(), j = y.begin();
            for (; i != x.end() && j != y.end(); ++i, ++j) {
                if (!equalElements(*i, *j)) return false;
            }
            return i == x.end() && j == y.end();
        }
        case element_type::OBJECT:
            return equalObjects(objectOf(a), objectOf(b));
        default:
            return false;
    }
}

uint64_t mix(uint64_t h) {  // splitmix64 finaliser
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

// Equal values (by equalElements) must hash equal: numbers hash by double value, objects by an
// order-independent sum.
uint64_t hashElement(element e) {
    switch (e.type()) {
        case element_type::NULL_VALUE:
            return 0x6e756c6cULL;
        case element_type::BOOL:
            return e.get_bool().value_unsafe() ? 0x74727565ULL : 0x66616c73ULL;
        case element_type::STRING:
            return mix(std::hash<std::string_view>{}(stringOf(e)) ^ 0x5354ULL);
        case element_type::ARRAY: {
            uint64_t h = 0x4152ULL;
            for (element item : arrayOf(e)) h = mix(h * 31 + hashElement(item));
            return h;
        }
        case element_type::OBJECT: {
            uint64_t h = 0x4f42ULL;
            for (auto field : objectOf(e)) {
                h += mix(std::hash<std::string_view>{}(field.key) * 0x9e3779b97f4a7c15ULL ^ hashElement(field.value));
            }
            return mix(h);
        }
        default: {
            double d = numberOf(e).toDouble();
            if (d == 0) d = 0;  // -0.0 equals 0
            uint64_t bits = 0;
            std::memcpy(&bits, &d, sizeof bits);
            return mix(bits);
        }
    }
}

// Finds two equal items; `first` < `second` are their indices.
bool findDuplicate(simdjson::dom::array a, size_t count, size_t* first, size_t* second) {
    if (count <= 32) {
        element items[32];
        size_t n = 0;
        for (element item : a) items[n++] = item;
        for (size_t i = 0; i < n; ++i) {
            for (size_t j = i + 1; j < n; ++j) {
                if (equalElements(items[i], items[j])) {
                    *first = i;
                    *second = j;
                    return true;
                }
            }
        }
        return false;
    }
    // Large arrays: hash and sort, then compare only items whose hashes collide.
    std::vector<element> items;
    std::vector<std::pair<uint64_t, size_t>> hashes;
    items.reserve(count);
    hashes.reserve(count);
    for (element item : a) {
        hashes.emplace_back(hashElement(item), items.size());
        items.push_back(item);
    }
    std::sort(hashes.begin(), hashes.end());
    for (size_t i = 0; i < hashes.size(); ++i) {
        for (size_t j = i + 1; j < hashes.size() && hashes[j].first == hashes[i].first; ++j) {
            if (equalElements(items[hashes[i].second], items[hashes[j].second])) {
                *first = std::min(hashes[i].second, hashes[j].second);
                *second = std::max(hashes[i].second, hashes[j].second);
                return true;
            }
        }
    }
    return false;
}

bool equalsJson(element e, const nlohmann::json& j) {
    element_type t = e.type();
    if (isNumberType(t)) return j.is_number() && compareNumbers(numberOf(e), Number::fromJson(j)) == 0;
    switch (t) {
        case element_type::NULL_VALUE:
            return j.is_null();
        case element_type::BOOL:
            return j.is_boolean() && j.get<bool>() == e.get_bool().value_unsafe();
        case element_type::STRING:
            return j.is_string() && j.get_ref<const std::string&>() == stringOf(e);
        case element_type::ARRAY: {
            if (!j.is_array()) return false;
            size_t i = 0;
            for (element item : arrayOf(e)) {
                if (i >= j.size() || !equalsJson(item, j[i])) return false;
                ++i;
            }
            return i == j.size();
        }
        case element_type::OBJECT: {
            if (!j.is_object()) return false;
            auto o = objectOf(e);
            if (countFields(o) != j.size()) return false;
            for (auto field : o) {
                auto it = j.find(field.key);
                if (it == j.end() || !equalsJson(field.value, *it)) return false;
            }
            return true;
        }
        default:
            return false;
    }
}

// ---- Message helpers (error path only) ----

std::string quote(std::string_view s) {
    constexpr size_t kMax = 60;
    std::string out = "\"";
    size_t end = s.size() > kMax ? kMax : s.size();
    while (end < s.size() && end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
        --end;  // whole UTF-8 chars
    for (char c : s.substr(0, end)) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += "\\u00";
            out += "0123456789abcdef"[(c >> 4) & 15];
            out += "0123456789abcdef"[c & 15];
        } else {
            out += c;
        }
    }
    out += end < s.size() ? "\"..." : "\"";
    return out;
}

std::string preview(element e) {
    switch (e.type()) {
        case element_type::NULL_VALUE:
            return "null";
        case element_type::BOOL:
            return e.get_bool().value_unsafe() ? "true" : "false";
        case element_type::STRING:
            return quote(stringOf(e));
        case element_type::ARRAY:
            return "the array";
        case element_type::OBJECT:
            return "the object";
        default:
            return numberOf(e).toString();
    }
}

std::string jsonPreview(const nlohmann::json& j) {
    std::string text = j.dump();
    return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

std::string typeNames(uint8_t types) {
    static constexpr std::pair<uint8_t, const char*> kNames[] = {
        {kTypeObject, "object"},   {kTypeArray, "array"},     {kTypeString, "string"}, {kTypeNumber, "number"},
        {kTypeInteger, "integer"}, {kTypeBoolean, "boolean"}, {kTypeNull, "null"}};
    std::string out;
    for (const auto& [bit, name] : kNames) {
        if (types & bit) out += (out.empty() ? "" : " or ") + std::string(name);
    }
    return out;
}

const char* instanceTypeName(element e) {
    switch (e.type()) {
        case element_type::ARRAY:
            return "array";
        case element_type::OBJECT:
            return "object";
        case element_type::INT64:
        case element_type::UINT64:
            return "integer";
        case element_type::DOUBLE:
            return "number";
        case element_type::STRING:
            return "string";
        case element_type::BOOL:
            return "boolean";
        case element_type::NULL_VALUE:
            return "null";
        default:
            return isBigint(e.type()) ? "integer" : "null";
    }
}

// ---- The validator ----

class Validator {
public:
    Validator(std::vector<SchemaError>* errors, size_t maxErrors, unsigned depth)
        : errors_(errors), maxErrors_(maxErrors), depth_(depth) {}

    bool check(const Node* node, element e, const Path* path) {
        if (node->ref != nullptr) node = node->ref;  // chains were collapsed at compile time
        if (node->trivial) return true;
        if (node->isFalse) {
            report(path, "false", node->location,
                   [] { return std::string("no value is allowed here (the schema is false)"); });
            return false;
        }
        if (depth_ >= kMaxDepth) {
            report(path, "$ref", node->location,
                   [] { return "schema nesting deeper than " + std::to_string(kMaxDepth) + " levels"; });
            return false;
        }
        ++depth_;
        bool valid = checkKeywords(*node, e, path);
        --depth_;
        return valid;
    }

    // propertyNames: validates an object key as if it were a string instance (quiet mode only).
    bool checkName(const Node* node, std::string_view name) {
        if (node->ref != nullptr) node = node->ref;
        if (node->trivial) return true;
        if (node->isFalse || depth_ >= kMaxDepth) return false;
        ++depth_;
        bool valid = checkNameKeywords(*node, name);
        --depth_;
        return valid;
    }

private:
    bool stopped() const { return errors_ == nullptr || added_ >= maxErrors_; }

    // Records an error (building the message only now) and says whether to keep collecting.
    template <typename MakeMessage>
    bool report(const Path* path, const char* keyword, const std::string& location, MakeMessage&& makeMessage) {
        if (errors_ == nullptr) return false;
        errors_->push_back(SchemaError{pointerOf(path), makeMessage(), keyword, location});
        return ++added_ < maxErrors_;
    }

    // `keyword` failed at `path`; the location is only built when someone collects errors.
    template <typename MakeMessage>
    bool fail(const Path* path, const Node& node, const char* keyword, MakeMessage&& makeMessage) {
        if (errors_ == nullptr) return false;
        return report(path, keyword, node.location + "/" + keyword, makeMessage);
    }

    bool quietCheck(const Node* node, element e) const {
        Validator quiet(nullptr, 0, depth_);
        return quiet.check(node, e, nullptr);
    }

    bool checkKeywords(const Node& n, element e, const Path* path) {
        bool valid = true;
        element_type t = e.type();
        if (n.types != 0 && !typeMatches(n, e, t)) {
            valid = false;
            if (!fail(path, n, "type",
                      [&] { return "expected " + typeNames(n.types) + ", got " + instanceTypeName(e); })) {
                return false;
            }
        }
        if (n.hasGeneric && !checkGeneric(n, e, path)) {
            valid = false;
            if (stopped()) return false;
        }
        bool ok = true;
        switch (t) {
            case element_type::OBJECT:
                if (n.hasObject) ok = checkObject(n, e, path);
                break;
            case element_type::ARRAY:
                if (n.hasArray) ok = checkArray(n, arrayOf(e), path);
                break;
            case element_type::STRING:
                if (n.hasString) ok = checkString(n, stringOf(e), path);
                break;
            case element_type::INT64:
            case element_type::UINT64:
            case element_type::DOUBLE:
                if (n.hasNumber) ok = checkNumber(n, e, path);
                break;
            default:
                if (isBigint(t) && n.hasNumber) ok = checkNumber(n, e, path);
                break;
        }
        return valid && ok;
    }

    static bool typeMatches(const Node& n, element e, element_type t) {
        switch (t) {
            case element_type::NULL_VALUE:
                return n.types & kTypeNull;
            case element_type::BOOL:
                return n.types & kTypeBoolean;
            case element_type::OBJECT:
                return n.types & kTypeObject;
            case element_type::ARRAY:
                return n.types & kTypeArray;
            case element_type::STRING:
                return n.types & kTypeString;
            case element_type::INT64:
            case element_type::UINT64:
                return n.types & (kTypeNumber | kTypeInteger);
            case element_type::DOUBLE: {
                if (n.types & kTypeNumber) return true;
                // Draft 4 defines integer lexically ("no fraction or exponent"); 6/7 by value, so 1.0 counts.
                if (!(n.types & kTypeInteger) || n.draft == Draft::Draft4) return false;
                double d = e.get_double().value_unsafe();
                return std::isfinite(d) && std::trunc(d) == d;
            }
            default:
                // A big integer has no fraction: it is an "integer" and a "number" in every draft.
                return isBigint(t) && (n.types & (kTypeNumber | kTypeInteger));
        }
    }

    // Not inlined: keeps checkKeywords, which runs for every value, small.
    [[gnu::noinline]] bool checkGeneric(const Node& n, element e, const Path* path) {
        bool valid = true;
        if (n.hasEnum) {
            bool found = std::any_of(n.enumValues.begin(), n.enumValues.end(),
                                     [&](const nlohmann::json& v) { return equalsJson(e, v); });
            if (!found) {
                valid = false;
                if (!fail(path, n, "enum", [&] {
                        std::string list;
                        for (const nlohmann::json& v : n.enumValues) {
                            if (list.size() > 80) {
                                list += ", ...";
                                break;
                            }
                            list += (list.empty() ? "" : ", ") + jsonPreview(v);
                        }
                        return preview(e) + " is not one of [" + list + "]";
                    })) {
                    return false;
                }
            }
        }
        if (n.hasConst && !(n.constNumber ? isNumberType(e.type()) && compareNumbers(numberOf(e), *n.constNumber) == 0
                                          : equalsJson(e, n.constValue))) {
            valid = false;
            if (!fail(path, n, "const",
                      [&] { return preview(e) + " is not the required value " + jsonPreview(n.constValue); })) {
                return false;
            }
        }
        for (const Node* sub : n.allOf) {
            if (!check(sub, e, path)) {
                valid = false;
                if (stopped()) return false;
            }
        }
        if (!n.anyOf.empty()) {
            bool any = std::any_of(n.anyOf.begin(), n.anyOf.end(), [&](const Node* sub) { return quietCheck(sub, e); });
            if (!any) {
                valid = false;
                if (!fail(path, n, "anyOf", [&] {
                        return preview(e) + " does not match any of the " + std::to_string(n.anyOf.size()) +
                               " anyOf alternatives";
                    })) {
                    return false;
                }
            }
        }
        if (!n.oneOf.empty()) {
            size_t matches = 0, first = 0, second = 0;
            for (size_t i = 0; i < n.oneOf.size() && matches < 2; ++i) {
                if (quietCheck(n.oneOf[i], e)) {
                    (matches == 0 ? first : second) = i;
                    ++matches;
                }
            }
            if (matches != 1) {
                valid = false;
                if (!fail(path, n, "oneOf", [&] {
                        if (matches == 0) {
                            return preview(e) + " does not match any of the " + std::to_string(n.oneOf.size()) +
                                   " oneOf alternatives";
                        }
                        return preview(e) + " matches oneOf alternatives " + std::to_string(first) + " and " +
                               std::to_string(second) + " but must match exactly one";
                    })) {
                    return false;
                }
            }
        }
        if (n.notSchema != nullptr && quietCheck(n.notSchema, e)) {
            valid = false;
            if (!fail(path, n, "not", [&] { return preview(e) + " must not match the \"not\" schema"; })) return false;
        }
        if (n.ifSchema != nullptr) {
            const Node* branch = quietCheck(n.ifSchema, e) ? n.thenSchema : n.elseSchema;
            if (branch != nullptr && !check(branch, e, path)) {
                valid = false;
                if (stopped()) return false;
            }
        }
        return valid;
    }

    bool checkNumber(const Node& n, element e, const Path* path) {
        bool valid = true;
        Number v = numberOf(e);
        if (n.maximum && compareNumbers(v, *n.maximum) > 0) {
            valid = false;
            if (!failNumber(path, n, "maximum", v, *n.maximum, "is greater than the maximum")) return false;
        }
        if (n.exclusiveMaximum && compareNumbers(v, *n.exclusiveMaximum) >= 0) {
            valid = false;
            if (!failNumber(path, n, "exclusiveMaximum", v, *n.exclusiveMaximum,
                            "is not less than the exclusive maximum")) {
                return false;
            }
        }
        if (n.minimum && compareNumbers(v, *n.minimum) < 0) {
            valid = false;
            if (!failNumber(path, n, "minimum", v, *n.minimum, "is less than the minimum")) return false;
        }
        if (n.exclusiveMinimum && compareNumbers(v, *n.exclusiveMinimum) <= 0) {
            valid = false;
            if (!failNumber(path, n, "exclusiveMinimum", v, *n.exclusiveMinimum,
                            "is not greater than the exclusive minimum")) {
                return false;
            }
        }
        if (n.multipleOf && !isMultipleOf(v, *n.multipleOf)) {
            valid = false;
            if (!failNumber(path, n, "multipleOf", v, *n.multipleOf, "is not a multiple of")) return false;
        }
        return valid;
    }

    // Kept out of line so the numeric checks above stay small.
    bool failNumber(const Path* path, const Node& n, const char* keyword, const Number& value, const Number& limit,
                    const char* relation) {
        return fail(path, n, keyword, [&] { return value.toString() + " " + relation + " " + limit.toString(); });
    }

    // Not inlined: keeps checkKeywords, which runs for every value, small.
    [[gnu::noinline]] bool checkString(const Node& n, std::string_view s, const Path* path) {
        bool valid = true;
        if (n.minLength || n.maxLength) {
            size_t length = countCodePoints(s);
            if (n.maxLength && length > *n.maxLength) {
                valid = false;
                if (!fail(path, n, "maxLength", [&] {
                        return "string has " + std::to_string(length) + " characters, more than the maximum " +
                               std::to_string(*n.maxLength);
                    })) {
                    return false;
                }
            }
            if (n.minLength && length < *n.minLength) {
                valid = false;
                if (!fail(path, n, "minLength", [&] {
                        return "string has " + std::to_string(length) + " characters, fewer than the minimum " +
                               std::to_string(*n.minLength);
                    })) {
                    return false;
                }
            }
        }
        if (n.pattern != nullptr && !searchRegex(*n.pattern, s)) {
            valid = false;
            if (!fail(path, n, "pattern",
                      [&] { return quote(s) + " does not match the pattern " + quote(n.patternSource); })) {
                return false;
            }
        }
        if (n.format != Format::None && !checkFormat(n.format, s)) {
            valid = false;
            if (!fail(path, n, "format", [&] { return quote(s) + " is not a valid " + n.formatName; })) return false;
        }
        if (n.contentJson) {
            if (!isJsonContent(s, n.contentBase64)) {
                valid = false;
                if (!fail(path, n, "contentMediaType", [&] {
                        return std::string("the string is not ") + (n.contentBase64 ? "base64-encoded " : "") + "JSON";
                    })) {
                    return false;
                }
            }
        } else if (n.contentBase64 && !isBase64(s)) {
            valid = false;
            if (!fail(path, n, "contentEncoding", [] { return std::string("the string is not valid base64"); }))
                return false;
        }
        return valid;
    }

    // Not inlined: keeps checkKeywords, which runs for every value, small.
    [[gnu::noinline]] bool checkArray(const Node& n, simdjson::dom::array a, const Path* path) {
        bool valid = true;
        bool containsFound = n.contains == nullptr;
        bool extraReported = false;
        size_t count = 0;
        for (element item : a) {
            const Node* schema = n.items;
            if (schema == nullptr) schema = count < n.itemsArray.size() ? n.itemsArray[count] : n.additionalItems;
            Path step{path, {}, count, true};
            if (schema != nullptr) {
                if (schema == n.additionalItems && schema->isFalse) {
                    // One error for the first extra item rather than one per item.
                    valid = false;
                    if (!extraReported && !fail(&step, n, "additionalItems", [&] {
                            return "array has more than the " + std::to_string(n.itemsArray.size()) +
                                   " items allowed (additionalItems is false)";
                        })) {
                        return false;
                    }
                    extraReported = true;
                } else if (!check(schema, item, &step)) {
                    valid = false;
                    if (stopped()) return false;
                }
            }
            if (!containsFound) containsFound = quietCheck(n.contains, item);
            ++count;
        }
        if (n.maxItems && count > *n.maxItems) {
            valid = false;
            if (!fail(path, n, "maxItems", [&] {
                    return "array has " + std::to_string(count) + " items, more than the maximum " +
                           std::to_string(*n.maxItems);
                })) {
                return false;
            }
        }
        if (n.minItems && count < *n.minItems) {
            valid = false;
            if (!fail(path, n, "minItems", [&] {
                    return "array has " + std::to_string(count) + " items, fewer than the minimum " +
                           std::to_string(*n.minItems);
                })) {
                return false;
            }
        }
        size_t first = 0, second = 0;
        if (n.uniqueItems && count > 1 && findDuplicate(a, count, &first, &second)) {
            valid = false;
            if (!fail(path, n, "uniqueItems", [&] {
                    return "items " + std::to_string(first) + " and " + std::to_string(second) +
                           " are equal but must be unique";
                })) {
                return false;
            }
        }
        if (!containsFound) {
            valid = false;
            if (!fail(path, n, "contains", [] { return std::string("no item matches the \"contains\" schema"); }))
                return false;
        }
        return valid;
    }

    bool checkDependency(const Node& n, const Dependency& dependency, simdjson::dom::object o, element e,
                         const Path* path) {
        if (dependency.schema != nullptr) return check(dependency.schema, e, path);
        bool valid = true;
        for (const std::string& name : dependency.required) {
            if (!o.at_key(name).error()) continue;
            valid = false;
            if (!fail(path, n, "dependencies",
                      [&] { return "property " + quote(dependency.name) + " requires property " + quote(name); })) {
                return false;
            }
        }
        return valid;
    }

    // Not inlined: keeps checkKeywords, which runs for every value, small.
    [[gnu::noinline]] bool checkObject(const Node& n, element e, const Path* path) {
        bool valid = true;
        simdjson::dom::object o = objectOf(e);
        uint64_t seenRequired = 0;  // bit i: required[i] is present (the first 64 names)
        size_t count = 0;
        for (auto field : o) {
            ++count;
            std::string_view key = field.key;
            Path step{path, key, 0, false};
            bool matched = false;
            if (const PropertyEntry* entry = n.properties.empty() ? nullptr : n.findProperty(key)) {
                if (entry->requiredSlot >= 0 && entry->requiredSlot < 64)
                    seenRequired |= uint64_t{1} << entry->requiredSlot;
                if (entry->schema != nullptr) {
                    matched = true;
                    if (entry->schema->isFalse) {
                        valid = false;
                        if (!fail(&step, n, "properties",
                                  [&] { return "property " + quote(key) + " is not allowed"; })) {
                            return false;
                        }
                    } else if (!check(entry->schema, field.value, &step)) {
                        valid = false;
                        if (stopped()) return false;
                    }
                }
                if (entry->dependency >= 0 && !checkDependency(n, n.dependencies[entry->dependency], o, e, path)) {
                    valid = false;
                    if (stopped()) return false;
                }
            }
            for (const PatternSchema& p : n.patternProperties) {
                if (!searchRegex(*p.regex, key)) continue;
                matched = true;
                if (!check(p.schema, field.value, &step)) {
                    valid = false;
                    if (stopped()) return false;
                }
            }
            if (!matched && n.additionalProperties != nullptr) {
                if (n.additionalProperties->isFalse) {
                    valid = false;
                    if (!fail(&step, n, "additionalProperties", [&] {
                            return "property " + quote(key) + " is not allowed (additionalProperties is false)";
                        })) {
                        return false;
                    }
                } else if (!check(n.additionalProperties, field.value, &step)) {
                    valid = false;
                    if (stopped()) return false;
                }
            }
            if (n.propertyNames != nullptr) {
                Validator quiet(nullptr, 0, depth_);
                if (!quiet.checkName(n.propertyNames, key)) {
                    valid = false;
                    if (!fail(&step, n, "propertyNames", [&] {
                            return "property name " + quote(key) + " does not match the propertyNames schema";
                        })) {
                        return false;
                    }
                }
            }
        }
        if (n.maxProperties && count > *n.maxProperties) {
            valid = false;
            if (!fail(path, n, "maxProperties", [&] {
                    return "object has " + std::to_string(count) + " properties, more than the maximum " +
                           std::to_string(*n.maxProperties);
                })) {
                return false;
            }
        }
        if (n.minProperties && count < *n.minProperties) {
            valid = false;
            if (!fail(path, n, "minProperties", [&] {
                    return "object has " + std::to_string(count) + " properties, fewer than the minimum " +
                           std::to_string(*n.minProperties);
                })) {
                return false;
            }
        }
        for (size_t slot = 0; slot < n.required.size(); ++slot) {
            bool present = slot < 64 ? ((seenRequired >> slot) & 1) != 0 : !o.at_key(n.required[slot]).error();
            if (present) continue;
            valid = false;
            if (!fail(path, n, "required", [&] { return "missing required property " + quote(n.required[slot]); })) {
                return false;
            }
        }
        return valid;
    }

    bool checkNameKeywords(const Node& n, std::string_view name) {
        if (n.types != 0 && !(n.types & kTypeString)) return false;
        if (n.hasEnum && std::none_of(n.enumValues.begin(), n.enumValues.end(), [&](const nlohmann::json& v) {
                return v.is_string() && v.get_ref<const std::string&>() == name;
            })) {
            return false;
        }
        if (n.hasConst && !(n.constValue.is_string() && n.constValue.get_ref<const std::string&>() == name))
            return false;
        if (n.hasString && !checkString(n, name, nullptr)) return false;
        for (const Node* sub : n.allOf) {
            if (!checkName(sub, name)) return false;
        }
        if (!n.anyOf.empty() &&
            std::none_of(n.anyOf.begin(), n.anyOf.end(), [&](const Node* sub) { return checkName(sub, name); })) {
            return false;
        }
        if (!n.oneOf.empty() &&
            std::count_if(n.oneOf.begin(), n.oneOf.end(), [&](const Node* sub) { return checkName(sub, name); }) != 1) {
            return false;
        }
        if (n.notSchema != nullptr && checkName(n.notSchema, name)) return false;
        if (n.ifSchema != nullptr) {
            const Node* branch = checkName(n.ifSchema, name) ? n.thenSchema : n.elseSchema;
            if (branch != nullptr && !checkName(branch, name)) return false;
        }
        return true;
    }

    std::vector<SchemaError>* errors_;  // nullptr: quiet mode, stop at the first failure
    size_t maxErrors_;
    size_t added_ = 0;
    unsigned depth_;
};

}  // namespace

bool validateInstance(const Node* root, element instance, std::vector<SchemaError>* errors, size_t maxErrors) {
    Validator validator(maxErrors == 0 ? nullptr : errors, maxErrors, 0);
    return validator.check(root, instance, nullptr);
}

}  // namespace mqs::jsonschema::detail
