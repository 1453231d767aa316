// Timestamp parsing and conversion; see timestamp.hpp.
// Integer arithmetic with overflow checks: a wild epoch value is refused, never wrapped.
#include "influx/timestamp.hpp"

#include <cmath>
#include <limits>

namespace mqs::influx {

std::optional<Precision> parsePrecision(std::string_view name) {
    if (name == "ns") return Precision::Ns;
    if (name == "us") return Precision::Us;
    if (name == "ms") return Precision::Ms;
    if (name == "s") return Precision::S;
    return std::nullopt;
}

const char* precisionName(Precision p) {
    switch (p) {
        case Precision::Ns: return "ns";
        case Precision::Us: return "us";
        case Precision::Ms: return "ms";
        case Precision::S: return "s";
    }
    return "ns";
}

std::optional<TimeUnit> parseTimeUnit(std::string_view name) {
    if (name == "s") return TimeUnit::S;
    if (name == "ms") return TimeUnit::Ms;
    if (name == "us") return TimeUnit::Us;
    if (name == "ns") return TimeUnit::Ns;
    if (name == "auto") return TimeUnit::Auto;
    if (name == "rfc3339") return TimeUnit::Rfc3339;
    return std::nullopt;
}

namespace {

int64_t unitNanos(TimeUnit unit) {
    switch (unit) {
        case TimeUnit::S: return 1'000'000'000;
        case TimeUnit::Ms: return 1'000'000;
        case TimeUnit::Us: return 1'000;
        default: return 1;
    }
}

TimeUnit guessUnit(double magnitude) {
    if (magnitude < 1e11) return TimeUnit::S;
    if (magnitude < 1e14) return TimeUnit::Ms;
    if (magnitude < 1e17) return TimeUnit::Us;
    return TimeUnit::Ns;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view text, size_t pos, size_t count, int64_t& out) {
    if (pos + count > text.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

}  // namespace

std::optional<int64_t> epochToNanos(int64_t value, TimeUnit unit) {
    if (unit == TimeUnit::Rfc3339) return std::nullopt;
    if (unit == TimeUnit::Auto) unit = guessUnit(std::fabs(static_cast<double>(value)));
    int64_t out = 0;
    if (__builtin_mul_overflow(value, unitNanos(unit), &out)) return std::nullopt;
    return out;
}

std::optional<int64_t> epochToNanos(double value, TimeUnit unit) {
    if (unit == TimeUnit::Rfc3339 || !std::isfinite(value)) return std::nullopt;
    if (unit == TimeUnit::Auto) unit = guessUnit(std::fabs(value));
    const double whole = std::floor(value);
    // Whole and fractional parts apart, so 1732200000.123 s keeps its milliseconds exactly.
    if (std::fabs(whole) > 9.2e18) return std::nullopt;
    auto base = epochToNanos(static_cast<int64_t>(whole), unit);
    if (!base) return std::nullopt;
    const int64_t frac = static_cast<int64_t>(std::llround((value - whole) * static_cast<double>(unitNanos(unit))));
    int64_t out = 0;
    if (__builtin_add_overflow(*base, frac, &out)) return std::nullopt;
    return out;
}

std::optional<int64_t> parseRfc3339(std::string_view t) {
    int64_t year, month, day, hour, minute, second;
    if (!digits(t, 0, 4, year) || t.size() < 20 || t[4] != '-' || !digits(t, 5, 2, month) || t[7] != '-' ||
        !digits(t, 8, 2, day) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(t, 11, 2, hour) ||
        t[13] != ':' || !digits(t, 14, 2, minute) || t[16] != ':' || !digits(t, 17, 2, second)) {
        return std::nullopt;
    }
    static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap) return std::nullopt;
    size_t pos = 19;
    int64_t frac_ns = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        size_t n = 0;
        int64_t scale = 100'000'000;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (n < 9) frac_ns += (t[pos] - '0') * scale;
            scale /= 10;
            ++pos;
            ++n;
        }
        if (n == 0) return std::nullopt;
    }
    if (pos >= t.size()) return std::nullopt;
    int64_t offset_s = 0;
    if (t[pos] == 'Z' || t[pos] == 'z') {
        ++pos;
    } else if (t[pos] == '+' || t[pos] == '-') {
        int64_t oh, om;
        if (!digits(t, pos + 1, 2, oh) || pos + 3 >= t.size() || t[pos + 3] != ':' || !digits(t, pos + 4, 2, om) ||
            oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset_s = (oh * 3600 + om * 60) * (t[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != t.size()) return std::nullopt;
    const int64_t seconds = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                            hour * 3600 + minute * 60 + second - offset_s;
    auto base = epochToNanos(seconds, TimeUnit::S);
    if (!base) return std::nullopt;
    int64_t out = 0;
    if (__builtin_add_overflow(*base, frac_ns, &out)) return std::nullopt;
    return out;
}

int64_t toPrecision(int64_t nanos, Precision precision) {
    int64_t div = 1;
    switch (precision) {
        case Precision::Ns: return nanos;
        case Precision::Us: div = 1'000; break;
        case Precision::Ms: div = 1'000'000; break;
        case Precision::S: div = 1'000'000'000; break;
    }
    int64_t q = nanos / div;
    if (nanos % div != 0 && nanos < 0) --q;
    return q;
}

}  // namespace mqs::influx
