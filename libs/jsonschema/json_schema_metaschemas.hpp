// Internal: the official draft-04, draft-06 and draft-07 meta-schemas, bundled so that
// "$ref": "http://json-schema.org/draft-07/schema#" works without network access.
#pragma once

#include <string_view>
#include <vector>

namespace mqs::jsonschema::detail {

struct BundledSchema {
    std::string_view uri;
    std::string_view text;
};

std::vector<BundledSchema> bundledMetaschemas();

}  // namespace mqs::jsonschema::detail
