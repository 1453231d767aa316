// Fuzz target: JSON Schema compile and validate (plugins/validate/json_schema*).
// Input: schema NUL instance. The schema is compiled as an inline schema would be (its draft from
// "$schema", draft 7 otherwise); a compiled schema then validates the instance twice, with and
// without an error list, and both answers must agree.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "common/json_payload.hpp"
#include "jsonschema/json_schema.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs;
    using namespace mqs::jsonschema;
    auto parts = fuzz::splitParts(fuzz::asText(data, size), 2);
    nlohmann::json schema = nlohmann::json::parse(parts[0], nullptr, /*allow_exceptions=*/false);
    if (schema.is_discarded()) return 0;

    static const SchemaStore store;  // the meta-schemas only, as for a rules file without schema_dir
    std::shared_ptr<const CompiledSchema> compiled;
    try {
        compiled = CompiledSchema::compile(schema, "file:///fuzz/inline.schema.json", store);
    } catch (const SchemaLoadError&) {
        return 0;
    }
    (void)compiled->nodeCount();

    static JsonPayloadParser parser(JsonLimits{.max_bytes = 64 * 1024, .max_depth = 64});
    simdjson::dom::element root;
    std::string error;
    if (!parser.parse(parts[1].data(), parts[1].size(), root, error)) return 0;
    std::vector<SchemaError> errors;
    const bool valid = compiled->validate(root, &errors, 10);
    FUZZ_CHECK(valid == errors.empty(), "valid but errors listed, or invalid without an error");
    FUZZ_CHECK(errors.size() <= 10, "more errors than asked for");
    FUZZ_CHECK(compiled->validate(root) == valid, "yes/no answer differs from the one with errors");
    return 0;
}
