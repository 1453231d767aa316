// Internal: hand-written "format" checks (no regex), draft-7 content checks, and the RE2 wrapper
// that turns ECMA 262 schema patterns into linear-time RE2 programs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <re2/re2.h>

namespace mqs::jsonschema::detail {

enum class Format : uint8_t {
    None,  // not a format we check: an annotation only
    DateTime,
    Date,
    Time,
    Email,
    IdnEmail,
    Hostname,
    IdnHostname,
    Ipv4,
    Ipv6,
    Uri,
    UriReference,
    Iri,
    IriReference,
    UriTemplate,
    JsonPointer,
    RelativeJsonPointer,
    Regex,
};

Format formatFromName(std::string_view name);
bool checkFormat(Format format, std::string_view value);

bool isBase64(std::string_view value);
// contentMediaType "application/json", optionally after base64 decoding.
bool isJsonContent(std::string_view value, bool base64);

// Rewrites ECMA 262 pattern syntax into RE2 syntax (\uXXXX, \cX, \s, \p{Letter}, '.', [], [^],
// (?<name>)). Refuses constructs that are not ECMA 262 (\z, \A, inline flags, ...) because RE2 would
// give them a different meaning. Lookaround and backreferences pass through and fail in RE2.
bool translateEcmaPattern(std::string_view pattern, std::string* out, std::string* error);

// Compiles an ECMA 262 pattern with the engine's fixed options (UTF-8, bounded memory, first match).
// Returns nullptr and sets `error` if RE2 refuses it.
std::unique_ptr<RE2> compileRegex(std::string_view pattern, int64_t maxMemory, std::string* error);

}  // namespace mqs::jsonschema::detail
