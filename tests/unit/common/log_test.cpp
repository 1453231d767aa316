// Logger prefixes and the per-key rate limiter.
#include <gtest/gtest.h>

#include <vector>

#include "common/log.hpp"

using namespace mqs;

TEST(Logger, PrefixesPluginName) {
    std::vector<std::string> lines;
    Logger logger("validate", [&](LogLevel, const std::string& l) { lines.push_back(l); });
    logger.warning("rule 'x' failed");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "validate: rule 'x' failed");
}

TEST(RateLimitedLog, SuppressesFloodsAndReportsCount) {
    std::vector<std::string> lines;
    Logger logger("p", [&](LogLevel, const std::string& l) { lines.push_back(l); });
    FakeClock clock;
    RateLimitedLog limited(logger, clock, std::chrono::seconds(10), 3);
    for (int i = 0; i < 100; ++i) limited.warning("rule-a", "bad " + std::to_string(i));
    EXPECT_EQ(lines.size(), 3u);
    EXPECT_TRUE(limited.warning("rule-b", "other key"));  // keys are independent
    EXPECT_EQ(limited.suppressedTotal(), 97u);
    clock.advance(std::chrono::seconds(11));
    limited.warning("rule-a", "again");
    EXPECT_EQ(lines.back(), "p: again (97 similar lines suppressed)");
}

TEST(QuoteForLog, EscapesAndCuts) {
    EXPECT_EQ(quoteForLog("a'b\n"), "'a\\'b\\x0a'");
    EXPECT_EQ(quoteForLog(std::string(10, 'x'), 4), "'xxxx...'");
}
