// Internal: the draft-04, draft-06 and draft-07 meta-schemas as published on json-schema.org, kept as
// data in metaschemas/*.json and embedded at build time (cmake/embed_text.cmake) so schemas can $ref
// them without network access (and the conformance suite needs them).
#include "jsonschema/json_schema_metaschemas.hpp"

namespace mqs::jsonschema::detail {

// Defined in the generated metaschema_draft_*.cpp.
std::string_view metaschemaDraft04();
std::string_view metaschemaDraft06();
std::string_view metaschemaDraft07();

std::vector<BundledSchema> bundledMetaschemas() {
    return {
        {"http://json-schema.org/draft-04/schema", metaschemaDraft04()},
        {"http://json-schema.org/draft-06/schema", metaschemaDraft06()},
        {"http://json-schema.org/draft-07/schema", metaschemaDraft07()},
    };
}

}  // namespace mqs::jsonschema::detail
