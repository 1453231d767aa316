// Republish pacing: a random start within the jitter, then at most rate x elapsed, each device once.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "hadiscovery/republish_queue.hpp"

using namespace mqs::hadiscovery;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

Strings ids(int n, const std::string& prefix = "d") {
    Strings out;
    for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
    return out;
}

TEST(StateRepublishQueue, StartsWithinTheJitterAndIsSeedable) {
    std::set<int64_t> starts;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        mqs::FakeClock clock;
        RepublishQueue a(10s, 100, seed), b(10s, 100, seed);
        a.scheduleAll(ids(3), clock.now());
        b.scheduleAll(ids(3), clock.now());
        EXPECT_EQ(a.startsAt(), b.startsAt()) << "same seed, same start";
        EXPECT_GE(a.startsAt(), clock.now());
        EXPECT_LE(a.startsAt(), clock.now() + 10s);
        starts.insert((a.startsAt() - clock.now()).count());
        EXPECT_TRUE(a.due(a.startsAt() - 1ns).empty()) << "nothing before the start";
    }
    EXPECT_GT(starts.size(), 10u) << "the start is random";
}

TEST(StateRepublishQueue, RateLimited) {
    mqs::FakeClock clock;
    RepublishQueue q(0s, 10, 1);  // no jitter: starts now; 10 per second
    q.scheduleAll(ids(35), clock.now());
    struct Step {
        std::chrono::milliseconds advance;
        size_t expected;
    };
    const std::vector<Step> steps = {
        {0ms, 0},    {100ms, 1},   {50ms, 0},    {50ms, 1},
        {800ms, 8},  {1000ms, 10}, {5000ms, 10},  // a late tick gets one second's worth, not five
        {1000ms, 5},                              // the rest
        {1000ms, 0},
    };
    Strings all;
    for (size_t i = 0; i < steps.size(); ++i) {
        clock.advance(steps[i].advance);
        const Strings got = q.due(clock.now());
        EXPECT_EQ(got.size(), steps[i].expected) << "step " << i;
        all.insert(all.end(), got.begin(), got.end());
    }
    EXPECT_EQ(all, ids(35)) << "in scheduling order, each once";
    EXPECT_TRUE(q.empty());
}

TEST(StateRepublishQueue, NeverMoreThanRateTimesElapsed) {
    for (const double rate : {0.5, 3.0, 50.0}) {
        mqs::FakeClock clock;
        RepublishQueue q(2s, rate, 7);
        q.scheduleAll(ids(200), clock.now());
        const auto start = q.startsAt();
        size_t total = 0;
        for (int tick = 0; tick < 400; ++tick) {
            clock.advance(37ms);
            total += q.due(clock.now()).size();
            if (clock.now() > start) {
                const double allowed = rate * std::chrono::duration<double>(clock.now() - start).count();
                EXPECT_LE(static_cast<double>(total), allowed + 1e-9) << "rate " << rate << " tick " << tick;
            } else {
                EXPECT_EQ(total, 0u);
            }
        }
        EXPECT_GT(total, 0u);
    }
}

TEST(StateRepublishQueue, DeduplicatesAndAppendsDuringARun) {
    mqs::FakeClock clock;
    RepublishQueue q(0s, 1, 3);
    q.scheduleAll({"a", "b", "a", "c"}, clock.now());
    EXPECT_EQ(q.size(), 3u);
    clock.advance(1s);
    EXPECT_EQ(q.due(clock.now()), Strings{"a"});
    q.scheduleAll({"c", "b", "a", "d"}, clock.now());  // a birth during the run: a was sent before it
    EXPECT_EQ(q.size(), 4u);                           // b, c, a, d
    Strings rest;
    for (int i = 0; i < 10; ++i) {
        clock.advance(1s);
        for (auto& d : q.due(clock.now())) rest.push_back(d);
    }
    EXPECT_EQ(rest, (Strings{"b", "c", "a", "d"}));
    EXPECT_TRUE(q.empty());
}

TEST(StateRepublishQueue, NoRateLimitAndRemove) {
    mqs::FakeClock clock;
    RepublishQueue q(0s, 0, 1);
    q.scheduleAll(ids(5), clock.now());
    q.remove("d2");
    q.remove("absent");
    EXPECT_EQ(q.due(clock.now()), (Strings{"d0", "d1", "d3", "d4"}));
    EXPECT_TRUE(q.empty());
    EXPECT_TRUE(q.due(clock.now()).empty());
    q.scheduleAll({}, clock.now());
    EXPECT_TRUE(q.empty());
    q.scheduleAll(ids(2), clock.now());
    q.clear();
    EXPECT_TRUE(q.empty());
    EXPECT_TRUE(q.due(clock.now() + 1h).empty());
}

TEST(StateRepublishQueue, ANewRunAfterTheLastOneEndedGetsAFreshJitter) {
    mqs::FakeClock clock;
    RepublishQueue q(5s, 100, 11);
    q.scheduleAll({"a"}, clock.now());
    clock.advance(6s);
    EXPECT_EQ(q.due(clock.now()), Strings{"a"});
    clock.advance(1h);
    q.scheduleAll({"a"}, clock.now());
    EXPECT_GE(q.startsAt(), clock.now());
    EXPECT_TRUE(q.due(q.startsAt() - 1ns).empty());
    // No credit saved from the idle hour: one second's worth at most.
    EXPECT_EQ(q.due(q.startsAt() + 10ms).size(), 1u);
}

}  // namespace
