// Parses MQTT payloads as JSON with simdjson, with bounded size and depth, reusing one padded buffer
// so the hot path does not allocate. Each plugin owns one parser (see docs/validate.md for why no cache).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

namespace mqs {

struct JsonLimits {
    size_t max_bytes = 1024 * 1024;  // larger payloads are not parsed
    size_t max_depth = 64;           // deeper nesting is an error, not a stack overflow
};

// Thread: one instance per thread (simdjson parsers are not shareable). The element returned by
// parse() stays valid until the next parse() on the same instance.
class JsonPayloadParser {
public:
    explicit JsonPayloadParser(JsonLimits limits = {});

    // On failure returns false and sets `error` to a short reason ("invalid UTF-8", "nesting deeper
    // than 64 levels", ...). Never throws.
    bool parse(const void* payload, size_t length, simdjson::dom::element& root, std::string& error);

    const JsonLimits& limits() const { return limits_; }

private:
    JsonLimits limits_;
    simdjson::dom::parser parser_;
    std::vector<char> padded_;  // payload copied here with SIMDJSON_PADDING zero bytes after it
};

// Number value of a JSON element as double (integers converted); false if not a number.
bool jsonNumber(simdjson::dom::element element, double& out);

// A JSON pointer (RFC 6901) segment, escaped: "~" -> "~0", "/" -> "~1".
std::string escapeJsonPointerToken(std::string_view token);

}  // namespace mqs
