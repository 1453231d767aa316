// Internal: RFC 3986 URI reference resolution and RFC 6901 JSON pointer helpers used to resolve
// "$ref"/"$id", plus the "uri"/"iri" syntax check used by the format keyword.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqs::jsonschema::detail {

// Resolves `reference` against `base` (RFC 3986 section 5.2). Works with relative or empty bases.
std::string resolveUri(std::string_view base, std::string_view reference);

// Splits "a#b" into {"a", "b"}; no '#' gives {uri, ""}.
std::pair<std::string, std::string> splitFragment(std::string_view uri);

// Drops a trailing empty fragment: "http://x/y#" -> "http://x/y".
std::string stripEmptyFragment(std::string_view uri);

// Decodes %XX sequences; malformed ones are kept literally.
std::string percentDecode(std::string_view text);

// "~" -> "~0", "/" -> "~1".
std::string escapePointerToken(std::string_view token);

// Splits "/a~1b/0" into {"a/b", "0"}; "" gives {}. nullopt if malformed (no leading '/', bad ~).
std::optional<std::vector<std::string>> parsePointer(std::string_view pointer);

// Dotted-quad IPv4 (no leading zeros) and RFC 4291 text IPv6 (no zone index).
bool isIpv4Address(std::string_view text);
bool isIpv6Address(std::string_view text);

// Syntax check of a URI (absolute) or URI reference; `iri` also admits non-ASCII characters.
bool isUriSyntax(std::string_view text, bool requireScheme, bool iri);

}  // namespace mqs::jsonschema::detail
