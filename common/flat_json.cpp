// Flat JSON object scanner; see flat_json.hpp for the accepted subset and why it exists.
#include "common/flat_json.hpp"

#include <array>
#include <charconv>

namespace mqs {
namespace {

constexpr size_t kMaxIntegerDigits = 18;  // always fits int64_t
constexpr size_t kMaxNumberText = 64;

// Bytes a string may hold as they are: printable ASCII but the quote and the backslash.
constexpr std::array<bool, 256> kPlainStringByte = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<size_t>(c)] = c != '"' && c != '\\';
    return t;
}();

// The scanning functions take and return the read position as a plain pointer (null: refused), so it
// stays in a register: a position kept in a member is reloaded after every write through a reference.
using Pos = const char*;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

Pos skipSpace(Pos p, Pos end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
    return p;
}

// After the opening quote: printable ASCII up to the closing quote; no escapes.
Pos scanString(Pos p, Pos end, std::string_view& out) {
    const Pos start = p;
    while (p < end && kPlainStringByte[static_cast<unsigned char>(*p)]) ++p;
    if (p == end || *p != '"') return nullptr;  // an escape, a control character, non-ASCII, or no end
    out = std::string_view(start, static_cast<size_t>(p - start));
    return p + 1;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)? and nothing else (no exponent).
Pos scanNumber(Pos p, Pos end, FlatJsonMember& m) {
    const Pos start = p;
    if (p < end && *p == '-') ++p;
    const Pos int_start = p;
    if (p == end || !isDigit(*p)) return nullptr;
    if (*p == '0') {
        ++p;
    } else {
        while (p < end && isDigit(*p)) ++p;
    }
    const size_t int_digits = static_cast<size_t>(p - int_start);
    m.kind = FlatJsonMember::Kind::Integer;
    if (p < end && *p == '.') {
        const Pos frac = ++p;
        while (p < end && isDigit(*p)) ++p;
        if (p == frac) return nullptr;
        m.kind = FlatJsonMember::Kind::Decimal;
    }
    if (p < end && (*p == 'e' || *p == 'E' || isDigit(*p))) return nullptr;  // exponents (left to simdjson), "01"
    m.text = std::string_view(start, static_cast<size_t>(p - start));
    if (m.text.size() > kMaxNumberText) return nullptr;
    if (m.kind == FlatJsonMember::Kind::Integer && int_digits > kMaxIntegerDigits) return nullptr;
    return p;
}

Pos scanLiteral(Pos p, Pos end, FlatJsonMember& m, FlatJsonMember::Kind kind, std::string_view word) {
    if (static_cast<size_t>(end - p) < word.size() || std::string_view(p, word.size()) != word) return nullptr;
    m.kind = kind;
    m.text = word;
    return p + word.size();
}

Pos scanValue(Pos p, Pos end, FlatJsonMember& m) {
    if (p == end) return nullptr;
    switch (*p) {
        case '"': m.kind = FlatJsonMember::Kind::String; return scanString(p + 1, end, m.text);
        case 't': return scanLiteral(p, end, m, FlatJsonMember::Kind::True, "true");
        case 'f': return scanLiteral(p, end, m, FlatJsonMember::Kind::False, "false");
        case 'n': return scanLiteral(p, end, m, FlatJsonMember::Kind::Null, "null");
        default: return scanNumber(p, end, m);
    }
}

}  // namespace

int64_t FlatJsonMember::integer() const {
    // The scanner let through only an optional '-' and 1 to 18 digits: no overflow, no checks needed
    // (std::from_chars, with both, was a tenth of the alerts plugin's time per message).
    const char* p = text.data();
    const char* end = p + text.size();
    const bool negative = *p == '-';
    if (negative) ++p;
    int64_t v = 0;
    for (; p < end; ++p) v = v * 10 + (*p - '0');
    return negative ? -v : v;
}

double FlatJsonMember::number() const {
    if (kind == Kind::Integer) return static_cast<double>(integer());
    double v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);  // correctly rounded, like simdjson
    return v;
}

bool FlatJsonObject::scan(std::string_view text) {
    count_ = 0;
    const Pos end = text.data() + text.size();
    Pos p = skipSpace(text.data(), end);
    if (p == end || *p != '{') return false;
    p = skipSpace(p + 1, end);
    if (p < end && *p == '}') {
        ++p;
    } else {
        for (;;) {
            if (count_ == kMaxMembers || p == end || *p != '"') return false;
            FlatJsonMember& m = members_[count_];
            p = scanString(p + 1, end, m.key);
            if (!p) return false;
            p = skipSpace(p, end);
            if (p == end || *p != ':') return false;
            p = scanValue(skipSpace(p + 1, end), end, m);
            if (!p) return false;
            ++count_;
            p = skipSpace(p, end);
            if (p == end) return false;
            if (*p == '}') {
                ++p;
                break;
            }
            if (*p != ',') return false;
            p = skipSpace(p + 1, end);
        }
    }
    return skipSpace(p, end) == end;
}

const FlatJsonMember* FlatJsonObject::find(std::string_view key) const {
    for (size_t i = 0; i < count_; ++i) {
        if (members_[i].key == key) return &members_[i];
    }
    return nullptr;
}

}  // namespace mqs
