// Internal: hand-written "format" checks (no regex), draft-7 content checks, and the RE2 wrapper
// that turns ECMA 262 schema patterns into linear-time RE2 programs.
#include "jsonschema/json_schema_format.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jsonschema/json_schema_uri.hpp"

namespace mqs::jsonschema::detail {

namespace {

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isHex(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Reads exactly `count` digits at `pos`; false if any is not a digit.
bool readDigits(std::string_view s, size_t pos, size_t count, int* value) {
    if (pos + count > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + count; ++i) {
        if (!isDigit(s[i])) return false;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return true;
}

bool isLeapYear(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && isLeapYear(year) ? 29 : kDays[month - 1];
}

// RFC 3339 full-date: YYYY-MM-DD.
bool isDate(std::string_view s) {
    int year = 0, month = 0, day = 0;
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    if (!readDigits(s, 0, 4, &year) || !readDigits(s, 5, 2, &month) || !readDigits(s, 8, 2, &day)) return false;
    return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM). A leap second (:60) must fall on 23:59 UTC.
bool isTime(std::string_view s) {
    int hour = 0, minute = 0, second = 0;
    if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
    if (!readDigits(s, 0, 2, &hour) || !readDigits(s, 3, 2, &minute) || !readDigits(s, 6, 2, &second)) return false;
    if (hour > 23 || minute > 59 || second > 60) return false;
    size_t pos = 8;
    if (pos < s.size() && s[pos] == '.') {
        size_t start = ++pos;
        while (pos < s.size() && isDigit(s[pos])) ++pos;
        if (pos == start) return false;
    }
    if (pos >= s.size()) return false;  // the offset is mandatory
    int offsetMinutes = 0;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        if (pos + 1 != s.size()) return false;
    } else if (s[pos] == '+' || s[pos] == '-') {
        int offHour = 0, offMinute = 0;
        if (s.size() != pos + 6 || s[pos + 3] != ':') return false;
        if (!readDigits(s, pos + 1, 2, &offHour) || !readDigits(s, pos + 4, 2, &offMinute)) return false;
        if (offHour > 23 || offMinute > 59) return false;
        offsetMinutes = (offHour * 60 + offMinute) * (s[pos] == '+' ? 1 : -1);
    } else {
        return false;
    }
    if (second == 60) {
        int utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59) return false;
    }
    return true;
}

bool isDateTime(std::string_view s) {
    if (s.size() < 11 || (s[10] != 'T' && s[10] != 't')) return false;
    return isDate(s.substr(0, 10)) && isTime(s.substr(11));
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1-63 each, 253 total.
bool isHostname(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    size_t start = 0;
    while (true) {
        size_t dot = s.find('.', start);
        std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            if (!isAlpha(c) && !isDigit(c) && c != '-') return false;
        }
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

// Decodes UTF-8 (already validated by the JSON parser) into code points.
std::vector<uint32_t> codePointsOf(std::string_view s) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < s.size();) {
        auto b = static_cast<unsigned char>(s[i]);
        int extra = b < 0x80 ? 0 : b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
        uint32_t cp = extra == 0 ? b : extra == 1 ? (b & 0x1F) : extra == 2 ? (b & 0x0F) : (b & 0x07);
        for (int k = 1; k <= extra && i + k < s.size(); ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        out.push_back(cp);
        i += static_cast<size_t>(extra) + 1;
    }
    return out;
}

// Length of the RFC 3492 Punycode encoding of a label (without the "xn--" prefix).
size_t punycodeLength(const std::vector<uint32_t>& input) {
    constexpr uint64_t kBase = 36, kTMin = 1, kTMax = 26, kSkew = 38, kDamp = 700;
    auto adapt = [&](uint64_t delta, uint64_t points, bool first) {
        delta = first ? delta / kDamp : delta / 2;
        delta += delta / points;
        uint64_t k = 0;
        while (delta > ((kBase - kTMin) * kTMax) / 2) {
            delta /= kBase - kTMin;
            k += kBase;
        }
        return k + (kBase - kTMin + 1) * delta / (delta + kSkew);
    };
    size_t length = 0;
    uint64_t basic = 0;
    for (uint32_t c : input) {
        if (c < 0x80) ++basic;
    }
    length = basic + (basic > 0 ? 1 : 0);
    uint64_t n = 128, delta = 0, bias = 72, handled = basic;
    while (handled < input.size()) {
        uint64_t m = UINT64_MAX;
        for (uint32_t c : input) {
            if (c >= n && c < m) m = c;
        }
        delta += (m - n) * (handled + 1);
        n = m;
        for (uint32_t c : input) {
            if (c < n) ++delta;
            if (c == n) {
                uint64_t q = delta;
                for (uint64_t k = kBase;; k += kBase) {
                    uint64_t t = k <= bias ? kTMin : (k >= bias + kTMax ? kTMax : k - bias);
                    if (q < t) break;
                    ++length;
                    q = (q - t) / (kBase - t);
                }
                ++length;
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                ++handled;
            }
        }
        ++delta;
        ++n;
    }
    return length;
}

// IDNA host name, structurally: labels split on the IDNA dots, ASCII labels as in isHostname, and
// non-ASCII labels must fit 63 octets once Punycode-encoded. The IDNA2008 code point tables
// (RFC 5892) are not bundled, so disallowed characters are not detected.
bool isIdnHostname(std::string_view s) {
    std::vector<uint32_t> all = codePointsOf(s);
    if (all.empty()) return false;
    std::vector<uint32_t> label;
    size_t total = 0;
    auto finishLabel = [&]() {
        if (label.empty() || label.size() > 63) return false;
        bool ascii = true;
        for (uint32_t c : label) {
            if (c < 0x80 && !isAlpha(static_cast<char>(c)) && !isDigit(static_cast<char>(c)) && c != '-') return false;
            if (c >= 0x80) ascii = false;
        }
        if (label.front() == '-' || label.back() == '-') return false;
        // RFC 5891 4.2.3.1: "--" in positions 3-4 is reserved for A-labels ("xn--").
        if (label.size() >= 4 && label[2] == '-' && label[3] == '-' &&
            !((label[0] | 0x20) == 'x' && (label[1] | 0x20) == 'n')) {
            return false;
        }
        size_t encoded = ascii ? label.size() : 4 + punycodeLength(label);
        if (encoded > 63) return false;
        total += encoded + 1;
        label.clear();
        return true;
    };
    for (uint32_t c : all) {
        if (c == '.' || c == 0x3002 || c == 0xFF0E || c == 0xFF61) {
            if (!finishLabel()) return false;
        } else {
            label.push_back(c);
        }
    }
    return finishLabel() && total - 1 <= 253;
}

bool isAtext(char c, bool international) {
    if (isAlpha(c) || isDigit(c)) return true;
    if (international && static_cast<unsigned char>(c) >= 0x80) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// RFC 5321 mailbox: dot-atom or quoted local part, then a host name or an address literal.
bool isEmail(std::string_view s, bool international) {
    size_t at = s.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
    std::string_view local = s.substr(0, at);
    std::string_view domain = s.substr(at + 1);
    if (local.size() > 64 && !international) return false;
    if (local.front() == '"') {
        if (local.size() < 2 || local.back() != '"') return false;
        for (size_t i = 1; i + 1 < local.size(); ++i) {
            auto c = static_cast<unsigned char>(local[i]);
            if (c == '\\') {
                if (++i + 1 >= local.size()) return false;
            } else if (c == '"' || (c < 0x20 && c != '\t') || c == 0x7F || (c >= 0x80 && !international)) {
                return false;
            }
        }
    } else {
        if (local.front() == '.' || local.back() == '.') return false;
        for (size_t i = 0; i < local.size(); ++i) {
            if (local[i] == '.') {
                if (local[i + 1] == '.') return false;
            } else if (!isAtext(local[i], international)) {
                return false;
            }
        }
    }
    if (domain.front() == '[') {
        if (domain.back() != ']') return false;
        std::string_view literal = domain.substr(1, domain.size() - 2);
        if (literal.substr(0, 5) == "IPv6:") return isIpv6Address(literal.substr(5));
        return isIpv4Address(literal);
    }
    return international ? isIdnHostname(domain) : isHostname(domain);
}

bool isJsonPointer(std::string_view s) {
    return parsePointer(s).has_value();
}

// draft-handrews-relative-json-pointer: a non-negative integer, then "#" or a JSON pointer.
bool isRelativeJsonPointer(std::string_view s) {
    size_t digits = 0;
    while (digits < s.size() && isDigit(s[digits])) ++digits;
    if (digits == 0 || (digits > 1 && s[0] == '0')) return false;
    std::string_view rest = s.substr(digits);
    return rest == "#" || isJsonPointer(rest);
}

// RFC 6570 URI Template: literals plus {op var[:len|*],...} expressions.
bool isUriTemplate(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '{') {
            size_t close = s.find('}', i);
            if (close == std::string_view::npos) return false;
            std::string_view expr = s.substr(i + 1, close - i - 1);
            if (!expr.empty() && std::string_view("+#./;?&=,!@|").find(expr[0]) != std::string_view::npos) {
                expr.remove_prefix(1);
            }
            // variable-list = varspec *( "," varspec ); varspec = varname [ ":" max-length / "*" ]
            size_t pos = 0;
            while (true) {
                size_t nameStart = pos;
                bool lastWasDot = true;
                while (pos < expr.size()) {
                    char v = expr[pos];
                    if (isAlpha(v) || isDigit(v) || v == '_') {
                        lastWasDot = false;
                        ++pos;
                    } else if (v == '%' && pos + 2 < expr.size() && isHex(expr[pos + 1]) && isHex(expr[pos + 2])) {
                        lastWasDot = false;
                        pos += 3;
                    } else if (v == '.' && !lastWasDot) {
                        lastWasDot = true;
                        ++pos;
                    } else {
                        break;
                    }
                }
                if (pos == nameStart || lastWasDot) return false;
                if (pos < expr.size() && expr[pos] == '*') {
                    ++pos;
                } else if (pos < expr.size() && expr[pos] == ':') {
                    size_t digitStart = ++pos;
                    while (pos < expr.size() && isDigit(expr[pos]) && pos - digitStart < 4) ++pos;
                    if (pos == digitStart || expr[digitStart] == '0') return false;
                }
                if (pos == expr.size()) break;
                if (expr[pos] != ',') return false;
                ++pos;
            }
            i = close;
        } else if (c == '%') {
            if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) return false;
            i += 2;
        } else if (c <= 0x20 || c == 0x7F ||
                   std::string_view("\"<>\\^`|}").find(static_cast<char>(c)) != std::string_view::npos) {
            return false;
        }
    }
    return true;
}

// RE2 options fixed for untrusted input: UTF-8, first match (not POSIX longest), bounded memory.
RE2::Options regexOptions(int64_t maxMemory) {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingUTF8);
    options.set_longest_match(false);
    options.set_max_mem(maxMemory);
    options.set_log_errors(false);
    options.set_never_capture(true);  // we only ask "does it match"
    return options;
}

// ECMA 262 \s: ASCII white space plus the Unicode space separators, NBSP and BOM.
constexpr std::string_view kEcmaSpace =
    "\\t\\n\\v\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}";

int hexValue(char c) {
    return isDigit(c) ? c - '0' : (c >= 'a' ? c - 'a' + 10 : c - 'A' + 10);
}

// Reads `count` hex digits at `pos`; -1 if they are not all there.
long readHex(std::string_view p, size_t pos, size_t count) {
    if (pos + count > p.size()) return -1;
    long v = 0;
    for (size_t k = pos; k < pos + count; ++k) {
        if (!isHex(p[k])) return -1;
        v = v * 16 + hexValue(p[k]);
    }
    return v;
}

std::string hexEscape(long codePoint) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "\\x{%lx}", codePoint);
    return buffer;
}

// ECMA \p{...} accepts long General_Category names and "gc="/"sc=" prefixes; RE2 only the short
// category names and bare script names.
std::string unicodePropertyForRe2(std::string_view name) {
    for (std::string_view prefix : {"General_Category=", "gc=", "Script_Extensions=", "scx=", "Script=", "sc="}) {
        if (name.substr(0, prefix.size()) == prefix) {
            name.remove_prefix(prefix.size());
            break;
        }
    }
    static constexpr std::pair<std::string_view, std::string_view> kCategories[] = {
        {"Letter", "L"},
        {"Uppercase_Letter", "Lu"},
        {"Lowercase_Letter", "Ll"},
        {"Titlecase_Letter", "Lt"},
        {"Modifier_Letter", "Lm"},
        {"Other_Letter", "Lo"},
        {"Mark", "M"},
        {"Combining_Mark", "M"},
        {"Nonspacing_Mark", "Mn"},
        {"Spacing_Mark", "Mc"},
        {"Enclosing_Mark", "Me"},
        {"Number", "N"},
        {"Decimal_Number", "Nd"},
        {"digit", "Nd"},
        {"Letter_Number", "Nl"},
        {"Other_Number", "No"},
        {"Punctuation", "P"},
        {"punct", "P"},
        {"Connector_Punctuation", "Pc"},
        {"Dash_Punctuation", "Pd"},
        {"Open_Punctuation", "Ps"},
        {"Close_Punctuation", "Pe"},
        {"Initial_Punctuation", "Pi"},
        {"Final_Punctuation", "Pf"},
        {"Other_Punctuation", "Po"},
        {"Symbol", "S"},
        {"Math_Symbol", "Sm"},
        {"Currency_Symbol", "Sc"},
        {"Modifier_Symbol", "Sk"},
        {"Other_Symbol", "So"},
        {"Separator", "Z"},
        {"Space_Separator", "Zs"},
        {"Line_Separator", "Zl"},
        {"Paragraph_Separator", "Zp"},
        {"Other", "C"},
        {"Control", "Cc"},
        {"cntrl", "Cc"},
        {"Format", "Cf"},
        {"Surrogate", "Cs"},
        {"Private_Use", "Co"},
    };
    for (const auto& [longName, shortName] : kCategories) {
        if (name == longName) return std::string(shortName);
    }
    return std::string(name);
}

}  // namespace

bool translateEcmaPattern(std::string_view p, std::string* out, std::string* error) {
    out->clear();
    out->reserve(p.size() + 16);
    auto bad = [&](const std::string& what) {
        *error = what + " (the pattern must be ECMA 262 syntax)";
        return false;
    };
    bool inClass = false;
    for (size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 >= p.size()) return bad("the pattern ends with a lone backslash");
            char e = p[++i];
            switch (e) {
                case 'd':
                case 'D':
                case 'w':
                case 'W':
                case 'f':
                case 'n':
                case 'r':
                case 't':
                case 'v':
                    *out += '\\';
                    *out += e;
                    break;
                case 'b':
                    *out += inClass ? "\\x{8}" : "\\b";  // [\b] is backspace
                    break;
                case 'B':
                    if (inClass) return bad("\\B inside a character class");
                    *out += "\\B";
                    break;
                case 's':
                    *out += inClass ? std::string(kEcmaSpace) : "[" + std::string(kEcmaSpace) + "]";
                    break;
                case 'S':
                    // Inside a class RE2's ASCII \S is the closest we can say.
                    *out += inClass ? std::string("\\S") : "[^" + std::string(kEcmaSpace) + "]";
                    break;
                case 'c':
                    if (i + 1 >= p.size() || !isAlpha(p[i + 1])) return bad("\\c must be followed by a letter");
                    *out += hexEscape(p[++i] % 32);
                    break;
                case '0':
                    if (i + 1 < p.size() && isDigit(p[i + 1]))
                        return bad("octal escape \\0" + std::string(1, p[i + 1]));
                    *out += "\\x{0}";
                    break;
                case 'x': {
                    long v = readHex(p, i + 1, 2);
                    if (v < 0) return bad("\\x must be followed by two hex digits");
                    *out += hexEscape(v);
                    i += 2;
                    break;
                }
                case 'u': {
                    long v = -1;
                    if (i + 1 < p.size() && p[i + 1] == '{') {
                        size_t close = p.find('}', i + 2);
                        if (close != std::string_view::npos && close - i - 2 >= 1 && close - i - 2 <= 6) {
                            v = readHex(p, i + 2, close - i - 2);
                            i = close;
                        }
                    } else {
                        v = readHex(p, i + 1, 4);
                        i += 4;
                        // A surrogate pair written as two escapes is one code point.
                        if (v >= 0xD800 && v <= 0xDBFF && p.substr(i + 1, 2) == "\\u") {
                            long low = readHex(p, i + 3, 4);
                            if (low >= 0xDC00 && low <= 0xDFFF) {
                                v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00);
                                i += 6;
                            }
                        }
                    }
                    if (v < 0 || v > 0x10FFFF) return bad("malformed \\u escape");
                    *out += hexEscape(v);
                    break;
                }
                case 'p':
                case 'P': {
                    size_t close = p.find('}', i + 1);
                    if (i + 1 >= p.size() || p[i + 1] != '{' || close == std::string_view::npos) {
                        return bad("\\" + std::string(1, e) + " must be followed by {property}");
                    }
                    *out += '\\';
                    *out += e;
                    *out += '{' + unicodePropertyForRe2(p.substr(i + 2, close - i - 2)) + '}';
                    i = close;
                    break;
                }
                case 'k':  // named backreference: RE2 refuses it below with a clear reason
                    *out += "\\k";
                    break;
                default:
                    // Other letters are not ECMA escapes; RE2 would read some (\A, \z, \Q, \C) differently.
                    if (isAlpha(e)) return bad("\\" + std::string(1, e) + " is not an ECMA 262 escape");
                    *out += '\\';
                    *out += e;
                    break;
            }
            continue;
        }
        if (inClass) {
            if (c == ']') inClass = false;
            *out +=
                c == '[' ? std::string("\\[") : std::string(1, c);  // a literal '[' in ECMA; RE2 would see [:alpha:]
            continue;
        }
        if (c == '[') {
            if (p.substr(i, 2) == "[]") {  // ECMA: matches nothing
                *out += "[^\\x{0}-\\x{10ffff}]";
                ++i;
            } else if (p.substr(i, 3) == "[^]") {  // ECMA: matches any character
                *out += "[\\x{0}-\\x{10ffff}]";
                i += 2;
            } else {
                inClass = true;
                *out += '[';
                if (i + 1 < p.size() && p[i + 1] == '^') {
                    *out += '^';
                    ++i;
                }
            }
        } else if (c == '.') {
            *out += "[^\\n\\r\\x{2028}\\x{2029}]";  // ECMA '.' also excludes CR and the Unicode line separators
        } else if (c == '(' && i + 1 < p.size() && p[i + 1] == '?') {
            char kind = i + 2 < p.size() ? p[i + 2] : '\0';
            if (kind == '<' && i + 3 < p.size() && p[i + 3] != '=' && p[i + 3] != '!') {
                *out += "(?P<";  // ECMA named group; Debian 12's RE2 only knows the Python spelling
                i += 2;
            } else if (kind == ':' || kind == '=' || kind == '!' || kind == '<') {
                *out += '(';  // lookaround is passed on so RE2 refuses it with its own message
            } else {
                return bad("\"(?" + std::string(1, kind) + "\" (inline flags, comments and Python-style groups)");
            }
        } else {
            *out += c;
        }
    }
    if (inClass) return bad("unterminated character class");
    return true;
}

Format formatFromName(std::string_view name) {
    struct Entry {
        std::string_view name;
        Format format;
    };
    static constexpr Entry kFormats[] = {
        {"date-time", Format::DateTime},
        {"date", Format::Date},
        {"time", Format::Time},
        {"email", Format::Email},
        {"idn-email", Format::IdnEmail},
        {"hostname", Format::Hostname},
        {"idn-hostname", Format::IdnHostname},
        {"ipv4", Format::Ipv4},
        {"ipv6", Format::Ipv6},
        {"uri", Format::Uri},
        {"uri-reference", Format::UriReference},
        {"iri", Format::Iri},
        {"iri-reference", Format::IriReference},
        {"uri-template", Format::UriTemplate},
        {"json-pointer", Format::JsonPointer},
        {"relative-json-pointer", Format::RelativeJsonPointer},
        {"regex", Format::Regex},
    };
    for (const Entry& e : kFormats) {
        if (e.name == name) return e.format;
    }
    return Format::None;
}

bool checkFormat(Format format, std::string_view value) {
    switch (format) {
        case Format::None:
            return true;
        case Format::DateTime:
            return isDateTime(value);
        case Format::Date:
            return isDate(value);
        case Format::Time:
            return isTime(value);
        case Format::Email:
            return isEmail(value, false);
        case Format::IdnEmail:
            return isEmail(value, true);
        case Format::Hostname:
            return isHostname(value);
        case Format::IdnHostname:
            return isIdnHostname(value);
        case Format::Ipv4:
            return isIpv4Address(value);
        case Format::Ipv6:
            return isIpv6Address(value);
        case Format::Uri:
            return isUriSyntax(value, true, false);
        case Format::UriReference:
            return isUriSyntax(value, false, false);
        case Format::Iri:
            return isUriSyntax(value, true, true);
        case Format::IriReference:
            return isUriSyntax(value, false, true);
        case Format::UriTemplate:
            return isUriTemplate(value);
        case Format::JsonPointer:
            return isJsonPointer(value);
        case Format::RelativeJsonPointer:
            return isRelativeJsonPointer(value);
        case Format::Regex: {
            std::string error;
            return compileRegex(value, 1 << 20, &error) != nullptr;
        }
    }
    return true;
}

// RFC 4648 base64 with padding; whitespace is not allowed.
bool isBase64(std::string_view value) {
    if (value.size() % 4 != 0) return false;
    size_t padding = 0;
    for (size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c == '=') {
            ++padding;
            if (i + 3 < value.size()) return false;
        } else if (padding > 0 || !(isAlpha(c) || isDigit(c) || c == '+' || c == '/')) {
            return false;
        }
    }
    return padding <= 2;
}

bool isJsonContent(std::string_view value, bool base64) {
    if (!base64) return nlohmann::json::accept(value.begin(), value.end());
    if (!isBase64(value)) return false;
    auto sextet = [](char c) -> uint32_t {
        if (isAlpha(c)) return c <= 'Z' ? static_cast<uint32_t>(c - 'A') : static_cast<uint32_t>(c - 'a' + 26);
        if (isDigit(c)) return static_cast<uint32_t>(c - '0' + 52);
        return c == '+' ? 62u : 63u;
    };
    std::string decoded;
    decoded.reserve(value.size() / 4 * 3);
    for (size_t i = 0; i < value.size(); i += 4) {
        uint32_t bits = 0;
        int chars = 0;
        for (size_t k = i; k < i + 4; ++k) {
            if (value[k] == '=') break;
            bits |= sextet(value[k]) << (18 - 6 * (k - i));
            ++chars;
        }
        decoded.push_back(static_cast<char>((bits >> 16) & 0xFF));
        if (chars > 2) decoded.push_back(static_cast<char>((bits >> 8) & 0xFF));
        if (chars > 3) decoded.push_back(static_cast<char>(bits & 0xFF));
    }
    return nlohmann::json::accept(decoded);
}

std::unique_ptr<RE2> compileRegex(std::string_view pattern, int64_t maxMemory, std::string* error) {
    std::string translated, translateError;
    if (!translateEcmaPattern(pattern, &translated, &translateError)) {
        if (error != nullptr) *error = translateError;
        return nullptr;
    }
    auto regex = std::make_unique<RE2>(translated, regexOptions(maxMemory));
    if (regex->ok()) return regex;
    if (error != nullptr) {
        *error = regex->error();
        if (regex->error_code() == RE2::ErrorBadPerlOp || regex->error_code() == RE2::ErrorBadEscape) {
            *error += " (RE2 guarantees linear-time matching, so it has no lookahead, lookbehind or backreferences)";
        } else if (regex->error_code() == RE2::ErrorPatternTooLarge) {
            *error += " (the compiled pattern exceeds the memory bound)";
        }
    }
    return nullptr;
}

}  // namespace mqs::jsonschema::detail
