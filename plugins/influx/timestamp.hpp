// Point timestamps: epoch numbers in s/ms/us/ns (or guessed from their magnitude), RFC 3339 text,
// and conversion to the write precision. Everything is int64 nanoseconds in between.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqs::influx {

enum class Precision { Ns, Us, Ms, S };
enum class TimeUnit { S, Ms, Us, Ns, Auto, Rfc3339 };

// "ns", "us", "ms", "s": the names InfluxDB 1.x and 2.x both accept. Anything else is refused at load,
// because InfluxDB 1.6.7 silently reads an unknown precision as nanoseconds (points land in 1970).
std::optional<Precision> parsePrecision(std::string_view name);
const char* precisionName(Precision p);
std::optional<TimeUnit> parseTimeUnit(std::string_view name);

// Integer epoch in `unit` to nanoseconds; nullopt when outside what int64 nanoseconds can hold.
// Auto: below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
std::optional<int64_t> epochToNanos(int64_t value, TimeUnit unit);
// Same for a fractional epoch (1732200000.25 s); rounds to the nearest nanosecond.
std::optional<int64_t> epochToNanos(double value, TimeUnit unit);
// "2024-11-21T14:40:00Z", "2024-11-21T14:40:00.123456789+01:00" (also ' ' or 't' for 'T', 'z').
std::optional<int64_t> parseRfc3339(std::string_view text);
// Nanoseconds to the write precision, rounding towards minus infinity.
int64_t toPrecision(int64_t nanos, Precision precision);

}  // namespace mqs::influx
