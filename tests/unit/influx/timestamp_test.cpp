// Timestamps, table-driven: epoch units and their guessing, RFC 3339 forms, precision conversion.
// All values are checked against hand-computed epochs (e.g. 1732200000 = 2024-11-21T14:40:00Z).
#include <gtest/gtest.h>

#include "influx/timestamp.hpp"

using namespace mqs::influx;

TEST(Timestamp, EpochUnits) {
    struct Case {
        int64_t v;
        TimeUnit unit;
        std::optional<int64_t> ns;
    } cases[] = {
        {1732200000, TimeUnit::S, 1732200000000000000},
        {1732200000, TimeUnit::Auto, 1732200000000000000},
        {1732200000123, TimeUnit::Auto, 1732200000123000000},
        {1732200000123456, TimeUnit::Auto, 1732200000123456000},
        {1732200000123456789, TimeUnit::Auto, 1732200000123456789},
        {1732200000123, TimeUnit::Ms, 1732200000123000000},
        {1732200000123, TimeUnit::Us, 1732200000123000},
        {5, TimeUnit::Ns, 5},
        {1732200000000, TimeUnit::S, std::nullopt},  // beyond year 2262
    };
    for (const auto& c : cases) EXPECT_EQ(epochToNanos(c.v, c.unit), c.ns) << c.v;
    EXPECT_EQ(epochToNanos(1732200000.25, TimeUnit::S), 1732200000250000000);
    EXPECT_EQ(epochToNanos(1732200000123.5, TimeUnit::Auto), 1732200000123500000);
}

TEST(Timestamp, Rfc3339) {
    struct Case {
        const char* text;
        std::optional<int64_t> ns;
    } cases[] = {
        {"2024-11-21T14:40:00Z", 1732200000000000000},
        {"2024-11-21T14:40:00.123Z", 1732200000123000000},
        {"2024-11-21T14:40:00.123456789Z", 1732200000123456789},
        {"2024-11-21T15:40:00+01:00", 1732200000000000000},
        {"2024-11-21 14:40:00z", 1732200000000000000},
        {"1970-01-01T00:00:00Z", 0},
        {"2024-02-29T00:00:00Z", 1709164800000000000},
        {"2023-02-29T00:00:00Z", std::nullopt},
        {"2024-11-21T14:40:00", std::nullopt},
        {"2024-13-01T00:00:00Z", std::nullopt},
        {"2024-11-21T14:40:00.Z", std::nullopt},
        {"yesterday", std::nullopt},
    };
    for (const auto& c : cases) EXPECT_EQ(parseRfc3339(c.text), c.ns) << c.text;
}

TEST(Timestamp, PrecisionNamesAndConversion) {
    EXPECT_EQ(parsePrecision("ms"), Precision::Ms);
    EXPECT_FALSE(parsePrecision("n"));  // 1.6.7 would treat it as ns: refused at load
    EXPECT_FALSE(parsePrecision("seconds"));
    EXPECT_EQ(toPrecision(1732200000123456789, Precision::Ms), 1732200000123);
    EXPECT_EQ(toPrecision(1732200000123456789, Precision::S), 1732200000);
    EXPECT_EQ(toPrecision(-1, Precision::S), -1);
    EXPECT_EQ(toPrecision(7, Precision::Ns), 7);
}
