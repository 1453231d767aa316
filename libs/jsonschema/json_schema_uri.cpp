// Internal: RFC 3986 URI reference resolution and RFC 6901 JSON pointer helpers used to resolve
// "$ref"/"$id", plus the "uri"/"iri" syntax check used by the format keyword.
#include "jsonschema/json_schema_uri.hpp"

#include <cstdint>

namespace mqs::jsonschema::detail {

namespace {

// The five components of RFC 3986 appendix B; "has*" tells an empty component from a missing one.
struct UriParts {
    std::string_view scheme, authority, path, query, fragment;
    bool hasScheme = false, hasAuthority = false, hasQuery = false, hasFragment = false;
};

bool isAlpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) {
    return c >= '0' && c <= '9';
}
bool isHex(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool isSchemeText(std::string_view s) {
    if (s.empty() || !isAlpha(s[0])) return false;
    for (char c : s) {
        if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.') return false;
    }
    return true;
}

UriParts splitUri(std::string_view s) {
    UriParts p;
    size_t colon = s.find_first_of(":/?#");
    if (colon != std::string_view::npos && s[colon] == ':' && isSchemeText(s.substr(0, colon))) {
        p.hasScheme = true;
        p.scheme = s.substr(0, colon);
        s.remove_prefix(colon + 1);
    }
    if (s.size() >= 2 && s[0] == '/' && s[1] == '/') {
        s.remove_prefix(2);
        size_t end = s.find_first_of("/?#");
        p.hasAuthority = true;
        p.authority = s.substr(0, end);
        s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    }
    size_t end = s.find_first_of("?#");
    p.path = s.substr(0, end);
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    if (!s.empty() && s[0] == '?') {
        s.remove_prefix(1);
        end = s.find('#');
        p.hasQuery = true;
        p.query = s.substr(0, end);
        s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    }
    if (!s.empty() && s[0] == '#') {
        p.hasFragment = true;
        p.fragment = s.substr(1);
    }
    return p;
}

// RFC 3986 section 5.2.4.
std::string removeDotSegments(std::string_view in) {
    std::string out;
    while (!in.empty()) {
        if (in.substr(0, 3) == "../") {
            in.remove_prefix(3);
        } else if (in.substr(0, 2) == "./") {
            in.remove_prefix(2);
        } else if (in.substr(0, 3) == "/./") {
            in.remove_prefix(2);
        } else if (in == "/.") {
            in = "/";
        } else if (in.substr(0, 4) == "/../" || in == "/..") {
            in = in.size() == 3 ? std::string_view("/") : in.substr(3);
            size_t slash = out.rfind('/');
            out.erase(slash == std::string::npos ? 0 : slash);
        } else if (in == "." || in == "..") {
            in = {};
        } else {
            size_t next = in.find('/', in[0] == '/' ? 1 : 0);
            out.append(in.substr(0, next));
            in.remove_prefix(next == std::string_view::npos ? in.size() : next);
        }
    }
    return out;
}

std::string mergePaths(const UriParts& base, std::string_view refPath) {
    if (base.hasAuthority && base.path.empty()) return "/" + std::string(refPath);
    size_t slash = base.path.rfind('/');
    if (slash == std::string_view::npos) return std::string(refPath);
    return std::string(base.path.substr(0, slash + 1)) + std::string(refPath);
}

bool isUnreserved(char c) {
    return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool isSubDelim(char c) {
    switch (c) {
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
            return true;
        default:
            return false;
    }
}

// Checks that every character of `text` is unreserved, a sub-delim, one of `extra`, a valid
// %XX escape, or (for IRIs) a non-ASCII byte; UTF-8 validity was checked by the JSON parser.
bool charsAllowed(std::string_view text, std::string_view extra, bool iri) {
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return false;
            if (!isHex(text[i + 1]) || !isHex(text[i + 2])) return false;
            i += 2;
            continue;
        }
        if (static_cast<unsigned char>(c) >= 0x80) {
            if (!iri) return false;
            continue;
        }
        if (!isUnreserved(c) && !isSubDelim(c) && extra.find(c) == std::string_view::npos) return false;
    }
    return true;
}

bool isAuthority(std::string_view authority, bool iri) {
    std::string_view hostPort = authority;
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        if (!charsAllowed(authority.substr(0, at), ":", iri)) return false;
        hostPort = authority.substr(at + 1);
    }
    std::string_view port;
    if (!hostPort.empty() && hostPort[0] == '[') {
        size_t close = hostPort.find(']');
        if (close == std::string_view::npos) return false;
        std::string_view literal = hostPort.substr(1, close - 1);
        std::string_view rest = hostPort.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return false;
            port = rest.substr(1);
        }
        bool ipFuture = !literal.empty() && (literal[0] == 'v' || literal[0] == 'V');
        if (ipFuture) {
            size_t dot = literal.find('.');
            if (dot == std::string_view::npos || dot < 2 || dot + 1 == literal.size()) return false;
            for (size_t i = 1; i < dot; ++i) {
                if (!isHex(literal[i])) return false;
            }
            if (!charsAllowed(literal.substr(dot + 1), ":", false)) return false;
        } else if (!isIpv6Address(literal)) {
            return false;
        }
    } else {
        size_t colon = hostPort.rfind(':');
        std::string_view host = hostPort.substr(0, colon);
        if (colon != std::string_view::npos) port = hostPort.substr(colon + 1);
        if (!charsAllowed(host, "", iri)) return false;
    }
    for (char c : port) {
        if (!isDigit(c)) return false;
    }
    return true;
}

}  // namespace

std::string resolveUri(std::string_view base, std::string_view reference) {
    UriParts r = splitUri(reference);
    UriParts b = splitUri(base);
    std::string scheme, authority, path, query;
    bool hasScheme = false, hasAuthority = false, hasQuery = false;
    if (r.hasScheme) {
        hasScheme = true;
        scheme = r.scheme;
        hasAuthority = r.hasAuthority;
        authority = r.authority;
        path = removeDotSegments(r.path);
        hasQuery = r.hasQuery;
        query = r.query;
    } else {
        if (r.hasAuthority) {
            hasAuthority = true;
            authority = r.authority;
            path = removeDotSegments(r.path);
            hasQuery = r.hasQuery;
            query = r.query;
        } else {
            if (r.path.empty()) {
                path = b.path;
                hasQuery = r.hasQuery || b.hasQuery;
                query = r.hasQuery ? r.query : b.query;
            } else {
                path = removeDotSegments(r.path[0] == '/' ? std::string(r.path) : mergePaths(b, r.path));
                hasQuery = r.hasQuery;
                query = r.query;
            }
            hasAuthority = b.hasAuthority;
            authority = b.authority;
        }
        hasScheme = b.hasScheme;
        scheme = b.scheme;
    }
    std::string out;
    if (hasScheme) out.append(scheme).append(":");
    if (hasAuthority) out.append("//").append(authority);
    out.append(path);
    if (hasQuery) out.append("?").append(query);
    if (r.hasFragment) out.append("#").append(r.fragment);
    return out;
}

std::pair<std::string, std::string> splitFragment(std::string_view uri) {
    size_t hash = uri.find('#');
    if (hash == std::string_view::npos) return {std::string(uri), std::string()};
    return {std::string(uri.substr(0, hash)), std::string(uri.substr(hash + 1))};
}

std::string stripEmptyFragment(std::string_view uri) {
    if (!uri.empty() && uri.back() == '#') uri.remove_suffix(1);
    return std::string(uri);
}

std::string percentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    auto hexValue = [](char c) { return isDigit(c) ? c - '0' : (c >= 'a' ? c - 'a' + 10 : c - 'A' + 10); };
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && isHex(text[i + 1]) && isHex(text[i + 2])) {
            out.push_back(static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2])));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::string escapePointerToken(std::string_view token) {
    std::string out;
    out.reserve(token.size());
    for (char c : token) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::optional<std::vector<std::string>> parsePointer(std::string_view pointer) {
    std::vector<std::string> tokens;
    if (pointer.empty()) return tokens;
    if (pointer[0] != '/') return std::nullopt;
    std::string current;
    for (size_t i = 1; i <= pointer.size(); ++i) {
        if (i == pointer.size() || pointer[i] == '/') {
            tokens.push_back(std::move(current));
            current.clear();
        } else if (pointer[i] == '~') {
            if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return std::nullopt;
            current.push_back(pointer[i + 1] == '0' ? '~' : '/');
            ++i;
        } else {
            current.push_back(pointer[i]);
        }
    }
    return tokens;
}

bool isIpv4Address(std::string_view s) {
    int parts = 0;
    size_t i = 0;
    while (true) {
        size_t start = i;
        int value = 0;
        while (i < s.size() && isDigit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
        size_t len = i - start;
        if (len == 0 || value > 255 || (len > 1 && s[start] == '0'))
            return false;  // leading zeros read as octal elsewhere
        ++parts;
        if (i == s.size()) break;
        if (s[i] != '.' || parts == 4) return false;
        ++i;
    }
    return parts == 4;
}

bool isIpv6Address(std::string_view s) {
    if (s.empty()) return false;
    int groups = 0;
    bool compressed = false;
    size_t i = 0;
    if (s.substr(0, 2) == "::") {
        compressed = true;
        i = 2;
        if (i == s.size()) return true;
    } else if (s[0] == ':') {
        return false;
    }
    while (true) {
        size_t start = i;
        while (i < s.size() && isHex(s[i])) ++i;
        if (i < s.size() && s[i] == '.') {
            // A trailing embedded IPv4 address stands for two groups.
            if (!isIpv4Address(s.substr(start))) return false;
            groups += 2;
            break;
        }
        size_t len = i - start;
        if (len == 0 || len > 4) return false;
        ++groups;
        if (i == s.size()) break;
        if (s[i] != ':') return false;
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (compressed) return false;
            compressed = true;
            ++i;
            if (i == s.size()) break;
        } else if (i == s.size()) {
            return false;  // a single trailing ':'
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

bool isUriSyntax(std::string_view text, bool requireScheme, bool iri) {
    // Scheme: anything before the first ':' that precedes '/', '?' and '#'.
    size_t colon = text.find_first_of(":/?#");
    bool hasScheme = colon != std::string_view::npos && text[colon] == ':';
    if (hasScheme) {
        if (!isSchemeText(text.substr(0, colon)))
            return false;  // also rejects ":x" and a ':' in a first relative segment
        text.remove_prefix(colon + 1);
    } else if (requireScheme) {
        return false;
    }
    std::string_view rest = text;
    size_t hash = rest.find('#');
    std::string_view fragment;
    if (hash != std::string_view::npos) {
        fragment = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
    }
    size_t question = rest.find('?');
    std::string_view query;
    if (question != std::string_view::npos) {
        query = rest.substr(question + 1);
        rest = rest.substr(0, question);
    }
    if (rest.size() >= 2 && rest[0] == '/' && rest[1] == '/') {
        rest.remove_prefix(2);
        size_t slash = rest.find('/');
        if (!isAuthority(rest.substr(0, slash), iri)) return false;
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash);
    }
    if (!charsAllowed(rest, ":@/", iri)) return false;
    if (!charsAllowed(query, ":@/?", iri)) return false;
    return charsAllowed(fragment, ":@/?", iri);
}

}  // namespace mqs::jsonschema::detail
