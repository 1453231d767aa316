// Metrics registry change tracking and the broker-thread interval timer.
#include <gtest/gtest.h>

#include "common/metrics.hpp"
#include "common/tick_watch.hpp"

using namespace mqs;

TEST(MetricsRegistry, PublishesOnlyChangedValues) {
    MetricsRegistry m;
    m.get("rules/a/passed").add(2);
    m.get("rules/a/failed");
    auto first = m.takeChanged();
    EXPECT_EQ(first.size(), 2u);
    EXPECT_TRUE(m.takeChanged().empty());
    m.get("rules/a/failed").add();
    auto second = m.takeChanged();
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0], (std::pair<std::string, int64_t>{"rules/a/failed", 1}));
    EXPECT_EQ(&m.get("rules/a/failed"), &m.get("rules/a/failed"));
}

TEST(IntervalTimer, FiresOncePerInterval) {
    FakeClock clock;
    IntervalTimer timer(std::chrono::seconds(10));
    EXPECT_FALSE(timer.due(clock.now()));
    clock.advance(std::chrono::seconds(9));
    EXPECT_FALSE(timer.due(clock.now()));
    clock.advance(std::chrono::seconds(1));
    EXPECT_TRUE(timer.due(clock.now()));
    EXPECT_FALSE(timer.due(clock.now()));
    IntervalTimer disabled(std::chrono::milliseconds(0));
    clock.advance(std::chrono::hours(1));
    EXPECT_FALSE(disabled.due(clock.now()));
}

TEST(TickWatch, WarnsOnceWhenTicksNeverCome) {
    FakeClock clock;
    TickWatch watch(std::chrono::seconds(5));
    EXPECT_FALSE(watch.shouldWarn(clock.now()));
    clock.advance(std::chrono::seconds(6));
    EXPECT_TRUE(watch.shouldWarn(clock.now()));
    EXPECT_FALSE(watch.shouldWarn(clock.now()));
    TickWatch ticking;
    ticking.onTick();
    clock.advance(std::chrono::hours(1));
    EXPECT_FALSE(ticking.shouldWarn(clock.now()));
}
