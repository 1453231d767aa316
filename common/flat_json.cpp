// Flat JSON object scanner; see flat_json.hpp for the accepted subset and why it exists.
#include "flat_json.hpp"

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

class Cursor {
public:
    explicit Cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    void skipSpace() {
        // Compact payloads have none: one compare in the common case.
        while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
               (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
            ++p_;
        }
    }
    bool atEnd() const { return p_ == end_; }
    bool take(char c) {
        if (p_ < end_ && *p_ == c) {
            ++p_;
            return true;
        }
        return false;
    }
    bool takeLiteral(std::string_view word) {
        if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
        p_ += word.size();
        return true;
    }
    // After the opening quote: printable ASCII up to the closing quote; no escapes.
    bool string(std::string_view& out) {
        const char* start = p_;
        while (p_ < end_ && kPlainStringByte[static_cast<unsigned char>(*p_)]) ++p_;
        if (p_ == end_ || *p_ != '"') return false;  // an escape, a control character, non-ASCII, or no end
        out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
    }
    // -?(0|[1-9][0-9]*)(\.[0-9]+)? and nothing else (no exponent).
    bool number(FlatJsonMember& m) {
        const char* start = p_;
        take('-');
        const char* int_start = p_;
        if (p_ == end_ || !isDigit(*p_)) return false;
        if (*p_ == '0') {
            ++p_;
        } else {
            while (p_ < end_ && isDigit(*p_)) ++p_;
        }
        const size_t int_digits = static_cast<size_t>(p_ - int_start);
        m.kind = FlatJsonMember::Kind::Integer;
        if (take('.')) {
            const char* frac = p_;
            while (p_ < end_ && isDigit(*p_)) ++p_;
            if (p_ == frac) return false;
            m.kind = FlatJsonMember::Kind::Decimal;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) return false;  // exponents: left to simdjson
        if (p_ < end_ && isDigit(*p_)) return false;                 // "01"
        m.text = std::string_view(start, static_cast<size_t>(p_ - start));
        if (m.text.size() > kMaxNumberText) return false;
        return m.kind == FlatJsonMember::Kind::Decimal || int_digits <= kMaxIntegerDigits;
    }
    bool value(FlatJsonMember& m) {
        if (p_ == end_) return false;
        switch (*p_) {
            case '"':
                ++p_;
                m.kind = FlatJsonMember::Kind::String;
                return string(m.text);
            case 't': m.kind = FlatJsonMember::Kind::True; return literal(m, "true");
            case 'f': m.kind = FlatJsonMember::Kind::False; return literal(m, "false");
            case 'n': m.kind = FlatJsonMember::Kind::Null; return literal(m, "null");
            default: return number(m);
        }
    }

private:
    static bool isDigit(char c) { return c >= '0' && c <= '9'; }
    bool literal(FlatJsonMember& m, std::string_view word) {
        m.text = word;
        return takeLiteral(word);
    }

    const char* p_;
    const char* end_;
};

}  // namespace

int64_t FlatJsonMember::integer() const {
    int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);  // the scanner checked the syntax and the length
    return v;
}

double FlatJsonMember::number() const {
    if (kind == Kind::Integer) return static_cast<double>(integer());
    double v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);  // correctly rounded, like simdjson
    return v;
}

bool FlatJsonObject::scan(std::string_view text) {
    count_ = 0;
    Cursor c(text);
    c.skipSpace();
    if (!c.take('{')) return false;
    c.skipSpace();
    if (!c.take('}')) {
        for (;;) {
            if (count_ == kMaxMembers) return false;
            FlatJsonMember& m = members_[count_];
            if (!c.take('"') || !c.string(m.key)) return false;
            c.skipSpace();
            if (!c.take(':')) return false;
            c.skipSpace();
            if (!c.value(m)) return false;
            ++count_;
            c.skipSpace();
            if (c.take('}')) break;
            if (!c.take(',')) return false;
            c.skipSpace();
        }
    }
    c.skipSpace();
    return c.atEnd();
}

const FlatJsonMember* FlatJsonObject::find(std::string_view key) const {
    for (size_t i = 0; i < count_; ++i) {
        if (members_[i].key == key) return &members_[i];
    }
    return nullptr;
}

}  // namespace mqs
