// JSON payload parsing with limits; see json_payload.hpp.
#include "common/json_payload.hpp"

#include <cstring>

namespace mqs {

JsonPayloadParser::JsonPayloadParser(JsonLimits limits) : limits_(limits) {}

bool JsonPayloadParser::parse(const void* payload, size_t length, simdjson::dom::element& root, std::string& error) {
    if (length > limits_.max_bytes) {
        error = "payload of " + std::to_string(length) + " bytes exceeds the JSON limit of " +
                std::to_string(limits_.max_bytes) + " bytes";
        return false;
    }
    if (padded_.size() < length + simdjson::SIMDJSON_PADDING) padded_.resize(length + simdjson::SIMDJSON_PADDING);
    if (length > 0) std::memcpy(padded_.data(), payload, length);
    std::memset(padded_.data() + length, 0, simdjson::SIMDJSON_PADDING);
    if (parser_.max_depth() != limits_.max_depth || parser_.capacity() < length) {
        // Capacity grows to the largest payload seen; allocate() keeps it for later messages.
        size_t capacity = std::max(length, parser_.capacity());
        if (parser_.allocate(std::max<size_t>(capacity, 4096), limits_.max_depth) != simdjson::SUCCESS) {
            error = "out of memory for JSON parser";
            return false;
        }
    }
    auto result = parser_.parse(padded_.data(), length, false);
    if (result.error() != simdjson::SUCCESS) {
        switch (result.error()) {
            case simdjson::DEPTH_ERROR:
                error = "JSON nesting deeper than " + std::to_string(limits_.max_depth) + " levels";
                break;
            case simdjson::UTF8_ERROR: error = "invalid UTF-8"; break;
            case simdjson::EMPTY: error = "empty payload is not JSON"; break;
            case simdjson::NUMBER_ERROR:
                error = "JSON number out of range or malformed";
                break;
            default: error = std::string("malformed JSON: ") + simdjson::error_message(result.error()); break;
        }
        return false;
    }
    root = result.value_unsafe();
    return true;
}

bool jsonNumber(simdjson::dom::element element, double& out) {
    switch (element.type()) {
        case simdjson::dom::element_type::DOUBLE: out = element.get_double().value_unsafe(); return true;
        case simdjson::dom::element_type::INT64: out = static_cast<double>(element.get_int64().value_unsafe()); return true;
        case simdjson::dom::element_type::UINT64: out = static_cast<double>(element.get_uint64().value_unsafe()); return true;
        default: return false;
    }
}

std::string escapeJsonPointerToken(std::string_view token) {
    std::string out;
    out.reserve(token.size());
    for (char c : token) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

}  // namespace mqs
