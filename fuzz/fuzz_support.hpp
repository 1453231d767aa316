// Helpers the fuzz targets share: cutting one input into parts, reading the sample configs of the
// source tree, and a property check that aborts (so libFuzzer and the replay driver both report it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#ifndef MQS_SOURCE_DIR
#error "MQS_SOURCE_DIR must name the source tree (set by fuzz/CMakeLists.txt)"
#endif

#define FUZZ_CHECK(cond, what)                                                                      \
    do {                                                                                            \
        if (!(cond)) {                                                                              \
            std::fprintf(stderr, "fuzz check failed at %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, \
                         std::string(what).c_str());                                                \
            std::abort();                                                                           \
        }                                                                                           \
    } while (0)

namespace mqs::fuzz {

inline std::string_view asText(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Splits at the first max_parts-1 occurrences of `sep`; the last part keeps the rest (separators too).
inline std::vector<std::string_view> splitParts(std::string_view text, size_t max_parts, char sep = '\0') {
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < max_parts) {
        size_t at = text.find(sep);
        if (at == std::string_view::npos) break;
        parts.push_back(text.substr(0, at));
        text.remove_prefix(at + 1);
    }
    parts.push_back(text);
    parts.resize(max_parts);  // missing parts are empty
    return parts;
}

// A topic the broker would pass to a plugin: PUBLISH topic names are UTF-8 without wildcards or NUL
// (mosquitto refuses others before any plugin sees them), so targets skip the rest.
inline bool isPublishTopic(std::string_view topic) {
    return !topic.empty() && topic.find_first_of(std::string_view("+#\0", 3)) == std::string_view::npos &&
           simdjson::validate_utf8(topic.data(), topic.size());
}

// A file of the source tree, e.g. "conf/alerts/warehouse-alerts.json"; aborts when unreadable (a broken build).
inline std::string sourcePath(const char* relative) {
    return std::string(MQS_SOURCE_DIR) + "/" + relative;
}
inline std::string readSourceFile(const char* relative) {
    std::ifstream in(sourcePath(relative), std::ios::binary);
    FUZZ_CHECK(in.good(), std::string("cannot read ") + sourcePath(relative));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// MQS_FUZZ_STRICT=1: a loader that throws anything but its own error type (whose message names the
// file and the location) aborts, to list the inputs that would log a message without a location.
inline bool strictErrors() {
    static const bool strict = [] {
        const char* v = std::getenv("MQS_FUZZ_STRICT");
        return v && *v == '1';
    }();
    return strict;
}

}  // namespace mqs::fuzz
