// Fuzz target: the flat JSON scanner (common/flat_json.*) against simdjson. Whatever the scanner
// accepts, simdjson must read to the same members in the same order with bit-identical values.
#include <cstring>

#include "common/flat_json.hpp"
#include "fuzz/fuzz_support.hpp"
#include "common/json_payload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs;
    using Kind = FlatJsonMember::Kind;
    static JsonPayloadParser parser;
    static FlatJsonObject flat;
    const std::string text(fuzz::asText(data, size));
    if (!flat.scan(text)) return 0;

    simdjson::dom::element root;
    std::string error;
    FUZZ_CHECK(parser.parse(text.data(), text.size(), root, error), "simdjson refuses what the scanner took: " + error);
    FUZZ_CHECK(root.is_object(), "not an object for simdjson");
    simdjson::dom::object object = root.get_object().value_unsafe();
    FUZZ_CHECK(object.size() == flat.size(), "member count");
    size_t i = 0;
    for (auto [key, value] : object) {
        const FlatJsonMember& m = flat[i++];
        FUZZ_CHECK(m.key == key, "key " + std::string(m.key) + " vs " + std::string(key));
        using T = simdjson::dom::element_type;
        switch (m.kind) {
            case Kind::Integer: {
                FUZZ_CHECK(value.type() == T::INT64, "integer " + std::string(m.text));
                FUZZ_CHECK(m.integer() == value.get_int64().value_unsafe(), "integer value " + std::string(m.text));
                const double a = m.number(), b = static_cast<double>(value.get_int64().value_unsafe());
                FUZZ_CHECK(std::memcmp(&a, &b, sizeof a) == 0, "integer as double " + std::string(m.text));
                break;
            }
            case Kind::Decimal: {
                FUZZ_CHECK(value.type() == T::DOUBLE, "decimal " + std::string(m.text));
                const double a = m.number(), b = value.get_double().value_unsafe();
                FUZZ_CHECK(std::memcmp(&a, &b, sizeof a) == 0, "decimal value " + std::string(m.text));
                break;
            }
            case Kind::String:
                FUZZ_CHECK(value.is_string() && m.text == value.get_string().value_unsafe(),
                           "string " + std::string(m.text));
                break;
            case Kind::True:
                FUZZ_CHECK(value.is_bool() && value.get_bool().value_unsafe(), "true");
                break;
            case Kind::False:
                FUZZ_CHECK(value.is_bool() && !value.get_bool().value_unsafe(), "false");
                break;
            case Kind::Null:
                FUZZ_CHECK(value.is_null(), "null");
                break;
        }
    }
    // find() returns the first member of a key, like simdjson's lookup.
    for (size_t k = 0; k < flat.size(); ++k) {
        const FlatJsonMember* first = flat.find(flat[k].key);
        FUZZ_CHECK(first != nullptr && first <= &flat[k] && first->key == flat[k].key, "find");
    }
    return 0;
}
